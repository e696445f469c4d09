#pragma once
// Service account tokens, as kube-apiserver issues them through serviceaccounts/<name>/token
// (an authentication.k8s.io/v1 TokenRequest) and accepts them as bearer tokens.
//
// A token is a JWT (RFC 7519) signed with HS256 under a key derived from the profile's
// node-token key (pki/node-token.key), so deleting that file revokes these tokens with the
// node tokens. Its claims are kube-apiserver's: iss and the default audience
// "https://kubernetes.default.svc.cluster.local", sub "system:serviceaccount:<ns>:<name>",
// aud, iat, nbf, exp, jti, and "kubernetes.io" naming the namespace, the service account
// (name, uid) and, for a token bound to a pod, the pod (name, uid) and its node.
//
// A token authenticates as the user "system:serviceaccount:<ns>:<name>" in the groups
// system:serviceaccounts, system:serviceaccounts:<ns> and system:authenticated while its
// signature holds, the API server's audience is among its audiences, it has not expired, the
// service account still exists with the uid it was issued for, and its bound pod (if any)
// still exists with its uid and was not marked deleted more than 60 s ago (kube-apiserver's
// grace for a terminating pod's containers). Thread safe: it only reads the store.

#include <optional>
#include <string>
#include <string_view>

#include "engine/api/status.h"
#include "engine/server/api_handler.h"
#include "engine/server/object_service.h"

namespace kd::server {

// The issuer of our tokens and the audience the API server accepts.
inline constexpr const char* kServiceAccountIssuer = "https://kubernetes.default.svc.cluster.local";

// A compact JWS over `claims` with HS256 under `key`.
std::string signJwt(std::string_view key, const json& claims);
// The claims of a JWT signed under `key` with HS256; nullopt for anything else (malformed,
// another algorithm, a wrong signature). Says nothing about expiry or audience.
std::optional<json> verifyJwt(std::string_view key, std::string_view token);

class ServiceAccountTokens {
 public:
  // `profileKey` is the profile's node-token key; the signing key is derived from it.
  ServiceAccountTokens(const ObjectService& objects, std::string_view profileKey);

  // Answers POST serviceaccounts/<name>/token in `ns`: `request` is the TokenRequest sent;
  // returns it with its spec defaulted (expirationSeconds 3600, the API server's audience)
  // and status.token / status.expirationTimestamp filled. Errors as kube-apiserver words them
  // (NotFound for the account or the bound pod, Invalid for a duration under 10 minutes,
  // BadRequest for a pod of another account or a kind other than Pod, Conflict on a uid
  // that no longer matches).
  Result<json> issue(const std::string& ns, const std::string& name, const json& request) const;

  // The service account `token` stands for now; nullopt when it does not authenticate.
  std::optional<UserInfo> authenticate(std::string_view token) const;

 private:
  Result<json> boundPodClaims(const std::string& ns, const std::string& account,
                              const json& ref) const;
  bool boundObjectsLive(const json& claims) const;

  const ObjectService& objects_;
  std::string key_;
};

}  // namespace kd::server
