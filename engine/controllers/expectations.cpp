#include "engine/controllers/expectations.h"

namespace kd::controllers {

bool ControllerExpectations::satisfied(const std::string& key,
                                       std::chrono::steady_clock::time_point now,
                                       std::chrono::seconds timeout) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return true;
  const Entry& e = it->second;
  return (e.adds <= 0 && e.deletes.empty()) || now - e.setAt > timeout;
}

void ControllerExpectations::expectCreations(const std::string& key, int n) {
  std::lock_guard lock(mu_);
  entries_[key] = Entry{n, {}, std::chrono::steady_clock::now()};
}

void ControllerExpectations::expectDeletions(const std::string& key,
                                             const std::vector<std::string>& podKeys) {
  std::lock_guard lock(mu_);
  entries_[key] = Entry{0, {podKeys.begin(), podKeys.end()}, std::chrono::steady_clock::now()};
}

void ControllerExpectations::creationObserved(const std::string& key, int n) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) it->second.adds -= n;
}

void ControllerExpectations::deletionObserved(const std::string& key, const std::string& podKey) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) it->second.deletes.erase(podKey);
}

void ControllerExpectations::erase(const std::string& key) {
  std::lock_guard lock(mu_);
  entries_.erase(key);
}

}  // namespace kd::controllers
