#pragma once
// The kubelet's service account token manager: the tokens of projected serviceAccountToken
// volume sources, asked of the API server (POST serviceaccounts/<name>/token, bound to the pod;
// the node authorizer lets a node ask only for pods bound to it) and cached per pod, account,
// audience and duration. A cached token is asked for again once it is older than 80% of its
// lifetime or than 24 hours, as the kubelet does; if that fails, the old token is served
// while it is still valid. Entries whose tokens expired are dropped, so the cache follows the
// pods that still ask. Thread safe.

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "engine/api/status.h"
#include "engine/client/api_client.h"

namespace kd::node {

class ServiceAccountTokenManager {
 public:
  using TimePoint = std::chrono::system_clock::time_point;
  // Sends `tokenRequest` (an authentication.k8s.io/v1 TokenRequest) for the account
  // `ns`/`account`; returns the server's answer.
  using Requester = std::function<Result<json>(const std::string& ns, const std::string& account,
                                               const json& tokenRequest)>;

  explicit ServiceAccountTokenManager(
      Requester request, std::function<TimePoint()> now = std::chrono::system_clock::now);

  // The token for `projection` (a projected volume's serviceAccountToken source: audience,
  // expirationSeconds) of `pod`, which runs as spec.serviceAccountName.
  Result<std::string> token(const json& pod, const json& projection);
  // Drops the tokens of the pod with `uid`, once it is torn down (as the kubelet's
  // DeleteServiceAccountToken); without this they stayed until they expired (an hour by default).
  void forgetPod(const std::string& uid);

 private:
  struct Entry {
    std::string token;
    TimePoint issued;
    TimePoint expires;
  };
  Result<Entry> fetch(const json& pod, const json& projection) const;
  bool needsRefresh(const Entry& entry) const;

  Requester request_;
  std::function<TimePoint()> now_;
  std::mutex mu_;
  std::map<std::string, Entry> cache_;
};

// The Requester of a node agent: POST .../namespaces/<ns>/serviceaccounts/<account>/token.
ServiceAccountTokenManager::Requester apiTokenRequester(client::ApiClient& api);

}  // namespace kd::node
