#pragma once
// Kubernetes' ControllerExpectations: what a controller has just created or deleted and its
// informer has not shown yet, per owner key. A controller that manages an owner only when its
// expectations are satisfied (or stale past a timeout) never acts twice on informer lag:
// no duplicate pod creations, no double deletions. Thread-safe.

#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace kd::controllers {

class ControllerExpectations {
 public:
  // True when nothing is outstanding for `key`, or the expectations were set more than
  // `timeout` before `now` (a lost event must not wedge the owner).
  bool satisfied(const std::string& key, std::chrono::steady_clock::time_point now,
                 std::chrono::seconds timeout);
  // Replace what is expected for `key`.
  void expectCreations(const std::string& key, int n);
  void expectDeletions(const std::string& key, const std::vector<std::string>& podKeys);
  // The informer showed (or the write failed, so it never will) what was expected.
  void creationObserved(const std::string& key, int n = 1);
  void deletionObserved(const std::string& key, const std::string& podKey);
  void erase(const std::string& key);

 private:
  struct Entry {
    int adds = 0;
    std::set<std::string> deletes;
    std::chrono::steady_clock::time_point setAt;
  };
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace kd::controllers
