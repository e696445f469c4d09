#include "engine/server/metrics_store.h"

namespace kd::server {
namespace {

Usage usageOf(const json& j) {
  return {j.at("cpuNanoCores").get<int64_t>(), j.at("memoryBytes").get<int64_t>()};
}

std::string podKey(const std::string& ns, const std::string& name) {
  return ns + "/" + name;
}

}  // namespace

Usage PodMetricsSample::total() const {
  Usage sum;
  for (const auto& c : containers) {
    sum.cpuNanoCores += c.usage.cpuNanoCores;
    sum.memoryBytes += c.usage.memoryBytes;
  }
  return sum;
}

MetricsStore::MetricsStore(std::function<TimePoint()> clock, MetricsStoreOptions options)
    : clock_(std::move(clock)), options_(options) {}

void MetricsStore::append(std::deque<UsagePoint>& history, UsagePoint point) const {
  history.push_back(point);
  const TimePoint oldest = point.timestamp - options_.retention;
  while (!history.empty() &&
         (history.size() > options_.maxPoints || history.front().timestamp < oldest)) {
    history.pop_front();
  }
}

void MetricsStore::dropStale(TimePoint now) const {
  for (auto it = nodes_.begin(); it != nodes_.end();) {
    const bool stale = now - it->second.latest.timestamp > options_.staleAfter;
    it = stale ? nodes_.erase(it) : std::next(it);
  }
}

Status MetricsStore::report(const std::string& node, const json& body) {
  const TimePoint now = clock_();
  NodeMetricsSample sample{now, {}, {}};
  std::map<std::string, PodMetricsSample> pods;
  try {
    sample.window = std::chrono::milliseconds(
        static_cast<int64_t>(body.at("windowSeconds").get<double>() * 1000.0 + 0.5));
    sample.usage = usageOf(body.at("node"));
    for (const auto& p : body.value("pods", json::array())) {
      PodMetricsSample pod{p.value("uid", ""), now, sample.window, {}};
      for (const auto& c : p.at("containers")) {
        pod.containers.push_back({c.at("name").get<std::string>(), usageOf(c)});
      }
      pods[podKey(p.at("namespace").get<std::string>(), p.at("name").get<std::string>())] =
          std::move(pod);
    }
  } catch (const std::exception& e) {
    return Status::badRequest(std::string("invalid metrics report: ") + e.what());
  }

  std::lock_guard lock(mu_);
  NodeEntry& entry = nodes_[node];
  entry.latest = sample;
  append(entry.history, {now, sample.usage});
  std::map<std::string, PodEntry> kept;
  for (auto& [key, pod] : pods) {
    PodEntry& e = kept[key];
    auto old = entry.pods.find(key);
    // A pod recreated under the same name starts a new history.
    if (old != entry.pods.end() && old->second.latest.uid == pod.uid) {
      e.history = std::move(old->second.history);
    }
    append(e.history, {now, pod.total()});
    e.latest = std::move(pod);
  }
  entry.pods = std::move(kept);
  dropStale(now);
  return {};
}

std::optional<NodeMetricsSample> MetricsStore::node(const std::string& name) const {
  std::lock_guard lock(mu_);
  dropStale(clock_());
  auto it = nodes_.find(name);
  if (it == nodes_.end()) return std::nullopt;
  return it->second.latest;
}

const MetricsStore::PodEntry* MetricsStore::findPod(const std::string& ns,
                                                    const std::string& name) const {
  dropStale(clock_());
  const PodEntry* found = nullptr;
  for (const auto& [node, entry] : nodes_) {
    auto it = entry.pods.find(podKey(ns, name));
    if (it == entry.pods.end()) continue;
    // Two nodes may briefly both know a recreated pod; the newer report wins.
    if (!found || it->second.latest.timestamp > found->latest.timestamp) found = &it->second;
  }
  return found;
}

std::optional<PodMetricsSample> MetricsStore::pod(const std::string& ns,
                                                  const std::string& name) const {
  std::lock_guard lock(mu_);
  const PodEntry* e = findPod(ns, name);
  if (!e) return std::nullopt;
  return e->latest;
}

std::vector<UsagePoint> MetricsStore::nodeHistory(const std::string& name) const {
  std::lock_guard lock(mu_);
  dropStale(clock_());
  auto it = nodes_.find(name);
  if (it == nodes_.end()) return {};
  return {it->second.history.begin(), it->second.history.end()};
}

std::vector<UsagePoint> MetricsStore::podHistory(const std::string& ns,
                                                 const std::string& name) const {
  std::lock_guard lock(mu_);
  const PodEntry* e = findPod(ns, name);
  if (!e) return {};
  return {e->history.begin(), e->history.end()};
}

size_t MetricsStore::nodeCount() const {
  std::lock_guard lock(mu_);
  dropStale(clock_());
  return nodes_.size();
}

size_t MetricsStore::podCount() const {
  std::lock_guard lock(mu_);
  dropStale(clock_());
  size_t n = 0;
  for (const auto& [node, entry] : nodes_) n += entry.pods.size();
  return n;
}

}  // namespace kd::server
