#include "engine/node/service_account_tokens.h"

#include "engine/node/timestamps.h"

namespace kd::node {
namespace {

constexpr int64_t kDefaultExpirationSeconds = 3600;
constexpr std::chrono::hours kMaxTokenAge{24};

std::string cacheKey(const json& pod, const json& projection) {
  const json meta = pod.value("metadata", json::object());
  return meta.value("uid", "") + "/" + projection.value("audience", "") + "/" +
         std::to_string(projection.value("expirationSeconds", kDefaultExpirationSeconds));
}

}  // namespace

ServiceAccountTokenManager::ServiceAccountTokenManager(Requester request,
                                                       std::function<TimePoint()> now)
    : request_(std::move(request)), now_(std::move(now)) {}

Result<ServiceAccountTokenManager::Entry> ServiceAccountTokenManager::fetch(
    const json& pod, const json& projection) const {
  const json meta = pod.value("metadata", json::object());
  const std::string account =
      pod.value("spec", json::object()).value("serviceAccountName", "default");
  json spec = {
      {"expirationSeconds", projection.value("expirationSeconds", kDefaultExpirationSeconds)},
      {"boundObjectRef",
       {{"apiVersion", "v1"},
        {"kind", "Pod"},
        {"name", meta.value("name", "")},
        {"uid", meta.value("uid", "")}}}};
  const std::string audience = projection.value("audience", "");
  spec["audiences"] = audience.empty() ? json::array() : json::array({audience});
  const json request = {
      {"apiVersion", "authentication.k8s.io/v1"}, {"kind", "TokenRequest"}, {"spec", spec}};
  auto answer = request_(meta.value("namespace", ""), account, request);
  if (!answer.ok()) return answer.status();
  const json status = answer->value("status", json::object());
  const std::string token = status.value("token", "");
  const TimePoint expires = parseTime(status.value("expirationTimestamp", ""));
  if (token.empty() || expires == TimePoint{}) {
    return Status::internal("the API server answered a TokenRequest without a token");
  }
  // As the kubelet: the token's lifetime is what was granted, counted back from its expiry.
  const json answered = answer->value("spec", json::object()).value("expirationSeconds", json());
  const auto granted =
      std::chrono::seconds(answered.is_number_integer() ? answered.get<int64_t>()
                                                        : spec["expirationSeconds"].get<int64_t>());
  return Entry{token, expires - granted, expires};
}

bool ServiceAccountTokenManager::needsRefresh(const Entry& entry) const {
  const TimePoint now = now_();
  const auto lifetime = entry.expires - entry.issued;
  return now >= entry.issued + lifetime * 8 / 10 || now >= entry.issued + kMaxTokenAge;
}

Result<std::string> ServiceAccountTokenManager::token(const json& pod, const json& projection) {
  const std::string key = cacheKey(pod, projection);
  std::lock_guard lock(mu_);
  std::erase_if(cache_, [now = now_()](const auto& e) { return e.second.expires <= now; });
  auto cached = cache_.find(key);
  if (cached != cache_.end() && !needsRefresh(cached->second)) return cached->second.token;
  auto fresh = fetch(pod, projection);
  if (!fresh.ok()) {
    if (cached != cache_.end()) return cached->second.token;  // still valid: erased otherwise
    return Status::badRequest("failed to fetch token: " + fresh.status().message());
  }
  cache_[key] = *fresh;
  return fresh->token;
}

void ServiceAccountTokenManager::forgetPod(const std::string& uid) {
  const std::string prefix = uid + "/";
  std::lock_guard lock(mu_);
  std::erase_if(cache_, [&](const auto& e) { return e.first.starts_with(prefix); });
}

ServiceAccountTokenManager::Requester apiTokenRequester(client::ApiClient& api) {
  return [&api](const std::string& ns, const std::string& account,
                const json& tokenRequest) -> Result<json> {
    const api::KindInfo& accounts =
        *api::KindsRegistry::builtin().byResource("", "v1", "serviceaccounts");
    auto response =
        api.request("POST", client::ApiClient::resourcePath(accounts, ns, account, "token"),
                    tokenRequest.dump(), "application/json");
    if (!response.ok()) return response.status();
    if (!response->ok()) return client::statusFromResponse(response->status, response->body);
    json answer = json::parse(response->body, nullptr, false);
    if (!answer.is_object()) return Status::internal("the TokenRequest answer is not JSON");
    return answer;
  };
}

}  // namespace kd::node
