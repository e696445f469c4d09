#include "engine/server/service_account_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>

#include "engine/api/base64.h"

namespace kd::server {
namespace {

using Seconds = std::chrono::seconds;

constexpr int64_t kDefaultExpirationSeconds = 3600;
constexpr int64_t kMinExpirationSeconds = 600;
constexpr int64_t kMaxExpirationSeconds = int64_t{1} << 32;
constexpr Seconds kDeletedPodGrace{60};
constexpr std::string_view kKeyLabel = "kubedesk service account tokens v1";

std::string hmacSha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(), &size);
  return std::string(reinterpret_cast<const char*>(mac.data()), size);
}

std::string base64Url(std::string_view in) {
  std::string out = api::base64Encode(in);
  while (!out.empty() && out.back() == '=') out.pop_back();
  std::replace(out.begin(), out.end(), '+', '-');
  std::replace(out.begin(), out.end(), '/', '_');
  return out;
}

std::optional<std::string> fromBase64Url(std::string_view in) {
  if (in.find_first_of("+/=") != std::string_view::npos) return std::nullopt;
  std::string text(in);
  std::replace(text.begin(), text.end(), '-', '+');
  std::replace(text.begin(), text.end(), '_', '/');
  text.append((4 - text.size() % 4) % 4, '=');
  return api::base64Decode(text);
}

// A random version-4 UUID, the token's jti.
std::string randomUuid() {
  std::array<unsigned char, 16> b{};
  RAND_bytes(b.data(), static_cast<int>(b.size()));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kDigits[b[i] >> 4];
    out += kDigits[b[i] & 0xf];
  }
  return out;
}

const api::KindInfo& coreKind(const ObjectService& objects, std::string_view resource) {
  return *objects.kinds().byResource("", "v1", resource);
}

std::string uidOf(const json& object) {
  return object.value("metadata", json::object()).value("uid", "");
}

int64_t secondsSinceEpoch(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<Seconds>(t.time_since_epoch()).count();
}

// kube-apiserver: `TokenRequest.authentication.k8s.io "x" is invalid: spec.expirationSeconds:
// Invalid value: 60: may not specify a duration less than 10 minutes`.
Status invalidExpiration(const std::string& name, int64_t seconds, const std::string& why) {
  const std::string field = "spec.expirationSeconds";
  const std::string message = "Invalid value: " + std::to_string(seconds) + ": " + why;
  return Status::invalid("TokenRequest.authentication.k8s.io \"" + name +
                             "\" is invalid: " + field + ": " + message,
                         {{"FieldValueInvalid", message, field}})
      .withDetails(name, "authentication.k8s.io", "TokenRequest");
}

Result<std::vector<std::string>> audiencesOf(const json& spec) {
  const json audiences = spec.value("audiences", json::array());
  if (!audiences.is_array()) return Status::badRequest("spec.audiences must be a list of strings");
  std::vector<std::string> out;
  for (const auto& a : audiences) {
    if (!a.is_string()) return Status::badRequest("spec.audiences must be a list of strings");
    out.push_back(a.get<std::string>());
  }
  if (out.empty()) out.emplace_back(kServiceAccountIssuer);
  return out;
}

}  // namespace

std::string signJwt(std::string_view key, const json& claims) {
  const std::string header = base64Url(json{{"alg", "HS256"}, {"typ", "JWT"}}.dump());
  const std::string signingInput = header + "." + base64Url(claims.dump());
  return signingInput + "." + base64Url(hmacSha256(key, signingInput));
}

std::optional<json> verifyJwt(std::string_view key, std::string_view token) {
  const size_t first = token.find('.');
  const size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  const auto header = fromBase64Url(token.substr(0, first));
  const auto payload = fromBase64Url(token.substr(first + 1, second - first - 1));
  const auto signature = fromBase64Url(token.substr(second + 1));
  if (!header || !payload || !signature) return std::nullopt;
  const json head = json::parse(*header, nullptr, false);
  if (!head.is_object() || head.value("alg", json()) != "HS256") return std::nullopt;
  const std::string expected = hmacSha256(key, token.substr(0, second));
  if (signature->size() != expected.size() ||
      CRYPTO_memcmp(signature->data(), expected.data(), expected.size()) != 0) {
    return std::nullopt;
  }
  json claims = json::parse(*payload, nullptr, false);
  if (!claims.is_object()) return std::nullopt;
  return claims;
}

ServiceAccountTokens::ServiceAccountTokens(const ObjectService& objects,
                                           std::string_view profileKey)
    : objects_(objects), key_(hmacSha256(profileKey, kKeyLabel)) {}

Result<json> ServiceAccountTokens::issue(const std::string& ns, const std::string& name,
                                         const json& request) const {
  if (!request.is_object() || request.value("kind", "TokenRequest") != "TokenRequest") {
    return Status::badRequest("the body of serviceaccounts/token must be a TokenRequest");
  }
  json spec = request.value("spec", json::object());
  if (!spec.is_object()) return Status::badRequest("spec must be an object");
  const json expiration = spec.value("expirationSeconds", json(kDefaultExpirationSeconds));
  if (!expiration.is_number_integer()) {
    return Status::badRequest("spec.expirationSeconds must be an integer");
  }
  const int64_t seconds = expiration.get<int64_t>();
  if (seconds < kMinExpirationSeconds) {
    return invalidExpiration(name, seconds, "may not specify a duration less than 10 minutes");
  }
  if (seconds > kMaxExpirationSeconds) {
    return invalidExpiration(name, seconds, "may not specify a duration larger than 2^32 seconds");
  }
  auto audiences = audiencesOf(spec);
  if (!audiences.ok()) return audiences.status();
  auto account = objects_.get(coreKind(objects_, "serviceaccounts"), ns, name);
  if (!account.ok()) return account.status();

  json kubernetes = {{"namespace", ns},
                     {"serviceaccount", {{"name", name}, {"uid", uidOf((*account)->parse())}}}};
  const json ref = spec.value("boundObjectRef", json());
  if (ref.is_object()) {
    auto bound = boundPodClaims(ns, name, ref);
    if (!bound.ok()) return bound.status();
    kubernetes.update(*bound);
  }
  const int64_t now = secondsSinceEpoch(objects_.now());
  const json claims = {{"aud", *audiences},   {"exp", now + seconds},
                       {"iat", now},          {"iss", kServiceAccountIssuer},
                       {"jti", randomUuid()}, {"kubernetes.io", kubernetes},
                       {"nbf", now},          {"sub", "system:serviceaccount:" + ns + ":" + name}};
  json out = request;
  out["apiVersion"] = "authentication.k8s.io/v1";
  out["kind"] = "TokenRequest";
  if (!out.contains("metadata") || !out["metadata"].is_object()) out["metadata"] = json::object();
  out["metadata"]["name"] = name;
  out["metadata"]["namespace"] = ns;
  out["metadata"]["creationTimestamp"] = nullptr;
  spec["audiences"] = *audiences;
  spec["expirationSeconds"] = seconds;
  if (!ref.is_object()) spec["boundObjectRef"] = nullptr;
  out["spec"] = spec;
  out["status"] = {{"token", signJwt(key_, claims)},
                   {"expirationTimestamp",
                    formatTime(std::chrono::system_clock::time_point(Seconds(now + seconds)))}};
  return out;
}

// The "pod" and "node" claims of a token bound to the pod `ref` names, after kube-apiserver's
// checks.
Result<json> ServiceAccountTokens::boundPodClaims(const std::string& ns, const std::string& account,
                                                  const json& ref) const {
  const std::string kind = ref.value("kind", ""), apiVersion = ref.value("apiVersion", "");
  if (kind != "Pod" || (!apiVersion.empty() && apiVersion != "v1")) {
    return Status::badRequest("cannot bind token to object of type " +
                              (apiVersion.empty() ? "" : apiVersion + ", ") + "Kind=" + kind +
                              ": only Pod is supported");
  }
  const std::string podName = ref.value("name", "");
  auto stored = objects_.get(coreKind(objects_, "pods"), ns, podName);
  if (!stored.ok()) return stored.status();
  const json pod = (*stored)->parse();
  const json podSpec = pod.value("spec", json::object());
  if (podSpec.value("serviceAccountName", "") != account) {
    return Status::badRequest("cannot bind token for serviceaccount \"" + account +
                              "\" to pod running with different serviceaccount name.");
  }
  const std::string uid = ref.value("uid", "");
  if (!uid.empty() && uid != uidOf(pod)) {
    return Status::conflict("Operation cannot be fulfilled on Pod \"" + podName +
                            "\": the UID in the bound object reference (" + uid +
                            ") does not match the UID in record. The object might have been "
                            "deleted and then recreated")
        .withDetails(podName, "", "Pod");
  }
  json claims = {{"pod", {{"name", podName}, {"uid", uidOf(pod)}}}};
  const std::string nodeName = podSpec.value("nodeName", "");
  if (!nodeName.empty()) {
    auto node = objects_.get(coreKind(objects_, "nodes"), "", nodeName);
    claims["node"] = {{"name", nodeName}, {"uid", node.ok() ? uidOf((*node)->parse()) : ""}};
  }
  return claims;
}

bool ServiceAccountTokens::boundObjectsLive(const json& claims) const {
  const json k = claims.value("kubernetes.io", json::object());
  const std::string ns = k.value("namespace", "");
  const json account = k.value("serviceaccount", json::object());
  auto stored = objects_.get(coreKind(objects_, "serviceaccounts"), ns, account.value("name", ""));
  if (!stored.ok() || uidOf((*stored)->parse()) != account.value("uid", "")) return false;
  if (!k.contains("pod")) return true;
  const json podClaim = k.value("pod", json::object());
  auto pod = objects_.get(coreKind(objects_, "pods"), ns, podClaim.value("name", ""));
  if (!pod.ok()) return false;
  const json object = (*pod)->parse();
  if (uidOf(object) != podClaim.value("uid", "")) return false;
  const auto deleted =
      parseTime(object.value("metadata", json::object()).value("deletionTimestamp", ""));
  return !deleted || *deleted >= objects_.now() - kDeletedPodGrace;
}

std::optional<UserInfo> ServiceAccountTokens::authenticate(std::string_view token) const {
  auto claims = verifyJwt(key_, token);
  if (!claims) return std::nullopt;
  try {
    if (claims->value("iss", "") != kServiceAccountIssuer) return std::nullopt;
    const json aud = claims->value("aud", json::array());
    if (std::find(aud.begin(), aud.end(), kServiceAccountIssuer) == aud.end()) {
      return std::nullopt;
    }
    const int64_t now = secondsSinceEpoch(objects_.now());
    if (now >= claims->value("exp", int64_t{0}) || now < claims->value("nbf", int64_t{0})) {
      return std::nullopt;
    }
    if (!boundObjectsLive(*claims)) return std::nullopt;
    const json k = (*claims)["kubernetes.io"];
    const std::string ns = k.value("namespace", "");
    const std::string name = k.value("serviceaccount", json::object()).value("name", "");
    if (ns.empty() || name.empty()) return std::nullopt;
    return UserInfo{
        "system:serviceaccount:" + ns + ":" + name,
        {"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}};
  } catch (const json::exception&) {
    return std::nullopt;  // a claim of the wrong type: not one of our tokens
  }
}

}  // namespace kd::server
