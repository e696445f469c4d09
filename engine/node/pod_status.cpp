#include "engine/node/pod_status.h"

namespace kd::node {

namespace {

json terminationJson(const Termination& t) {
  json j = {{"exitCode", t.exitCode},
            {"reason", t.reason()},
            {"startedAt", t.startedAt},
            {"finishedAt", t.finishedAt}};
  if (!t.containerId.empty()) j["containerID"] = t.containerId;
  if (!t.startError.empty()) j["message"] = t.startError;
  return j;
}

bool succeeded(const ContainerView& c) {
  return c.state == ContainerView::State::Terminated && c.terminated && c.terminated->exitCode == 0;
}

std::string namesNot(const std::vector<ContainerView>& cs, bool (*pred)(const ContainerView&)) {
  std::string names;
  for (const auto& c : cs) {
    if (!pred(c)) names += (names.empty() ? "" : " ") + c.name;
  }
  return names;
}

bool running(const ContainerView& c) {
  return c.state == ContainerView::State::Running;
}

bool isReady(const ContainerView& c) {
  return running(c) && c.probeReady && c.probeStarted;
}

json condition(const std::string& type, bool ok, const std::string& reason,
               const std::string& message, const json& previous, Clock::time_point now) {
  std::string since = formatTime(now);
  const char* status = ok ? "True" : "False";
  for (const auto& p : previous) {
    if (p.value("type", "") == type && p.value("status", "") == status) {
      since = p.value("lastTransitionTime", since);
    }
  }
  json c = {{"type", type},
            {"status", status},
            {"lastProbeTime", nullptr},
            {"lastTransitionTime", since}};
  if (!ok && !reason.empty()) {
    c["reason"] = reason;
    if (!message.empty()) c["message"] = message;
  }
  return c;
}

}  // namespace

std::string Termination::reason() const {
  if (!startError.empty()) return "StartError";
  if (oomKilled) return "OOMKilled";
  return exitCode == 0 ? "Completed" : "Error";
}

json containerStatusJson(const ContainerView& c) {
  json state;
  switch (c.state) {
    case ContainerView::State::Running:
      state = {{"running", {{"startedAt", c.startedAt}}}};
      break;
    case ContainerView::State::Terminated:
      state = {{"terminated", terminationJson(*c.terminated)}};
      break;
    case ContainerView::State::Waiting:
      state = {{"waiting", {{"reason", c.waitingReason}}}};
      if (!c.waitingMessage.empty()) state["waiting"]["message"] = c.waitingMessage;
      break;
  }
  json s = {
      {"name", c.name},
      {"image", c.image},
      {"imageID", c.imageId},
      {"ready", isReady(c)},
      {"started", running(c) && c.probeStarted},
      {"restartCount", c.restartCount},
      {"state", state},
      {"lastState", c.last ? json{{"terminated", terminationJson(*c.last)}} : json::object()}};
  if (!c.containerId.empty()) s["containerID"] = c.containerId;
  return s;
}

std::string podPhase(const std::vector<ContainerView>& init, const std::vector<ContainerView>& app,
                     const std::string& restartPolicy) {
  for (const auto& c : init) {
    if (succeeded(c)) continue;
    const bool failed = c.state == ContainerView::State::Terminated;
    return failed && restartPolicy == "Never" ? "Failed" : "Pending";
  }
  int runningCount = 0, waiting = 0, stopped = 0, ok = 0;
  for (const auto& c : app) {
    if (running(c)) {
      ++runningCount;
    } else if (c.state == ContainerView::State::Terminated) {
      ++stopped;
      if (c.terminated->exitCode == 0) ++ok;
    } else if (c.last) {
      ++stopped;  // waiting to be restarted
      if (c.last->exitCode == 0) ++ok;
    } else {
      ++waiting;
    }
  }
  if (waiting > 0) return "Pending";
  if (runningCount > 0) return "Running";
  if (stopped == 0) return "Pending";
  if (restartPolicy == "Always") return "Running";
  if (ok == stopped) return "Succeeded";
  return restartPolicy == "OnFailure" ? "Running" : "Failed";
}

json podConditions(const std::vector<ContainerView>& init, const std::vector<ContainerView>& app,
                   const std::string& phase, bool sandboxReady, const json& previous,
                   Clock::time_point now) {
  const bool finished = phase == "Succeeded" || phase == "Failed";
  const std::string notInit = namesNot(init, succeeded);
  const bool initialized = notInit.empty() || (finished && phase == "Succeeded");
  const std::string notReady = namesNot(app, isReady);
  const bool ready = notReady.empty() && !finished;
  const std::string readyReason = finished ? "PodCompleted" : "ContainersNotReady";
  const std::string readyMessage =
      finished ? "" : "containers with unready status: [" + notReady + "]";
  return json::array(
      {condition("PodReadyToStartContainers", sandboxReady && !finished, "", "", previous, now),
       condition("Initialized", initialized, "ContainersNotInitialized",
                 "containers with incomplete status: [" + notInit + "]", previous, now),
       condition("Ready", ready, readyReason, readyMessage, previous, now),
       condition("ContainersReady", ready, readyReason, readyMessage, previous, now),
       condition("PodScheduled", true, "", "", previous, now)});
}

}  // namespace kd::node
