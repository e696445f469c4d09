#include "engine/node/lifecycle_hooks.h"

#include <thread>

namespace kd::node {

namespace {

std::string joined(const json& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w.get<std::string>();
  return out;
}

// Go's %q of a string, enough for command output: quotes, backslashes and control characters.
std::string goQuoted(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\')
      out += std::string("\\") + c;
    else if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else
      out += c;
  }
  return out + "\"";
}

ProbeSettings settingsFor(const json& handler, std::chrono::seconds timeout) {
  ProbeSettings s;
  s.timeoutSeconds = std::max<int>(1, static_cast<int>(timeout.count()));
  s.handler = handler;
  return s;
}

std::string execHook(const json& handler, const HookContext& ctx, std::chrono::seconds timeout) {
  const ProbeOutcome out = runProbe(settingsFor(handler, timeout), ctx.target);
  if (out.success) return "";
  const json command = handler["exec"].value("command", json::array());
  const std::string error = out.exitCode >= 0 ? "command '" + joined(command) + "' exited with " +
                                                    std::to_string(out.exitCode) + ": "
                                              : out.message;
  return "Exec lifecycle hook ([" + joined(command) + "]) for Container \"" + ctx.containerName +
         "\" in Pod \"" + ctx.podDescription + "\" failed - error: " + error +
         ", message: " + goQuoted(out.exitCode >= 0 ? out.message : "");
}

std::string httpHook(const json& handler, const HookContext& ctx, std::chrono::seconds timeout) {
  const ProbeOutcome out = runProbe(settingsFor(handler, timeout), ctx.target);
  if (out.success) return "";
  return "HTTP lifecycle hook (" + handler["httpGet"].value("path", "") + ") for Container \"" +
         ctx.containerName + "\" in Pod \"" + ctx.podDescription +
         "\" failed - error: " + out.message;
}

}  // namespace

std::string runLifecycleHook(const json& handler, const HookContext& ctx,
                             std::chrono::seconds timeout) {
  if (!handler.is_object()) return "";
  if (handler.contains("exec")) return execHook(handler, ctx, timeout);
  if (handler.contains("httpGet")) return httpHook(handler, ctx, timeout);
  if (handler.contains("sleep")) {
    const auto wanted = std::chrono::seconds(handler["sleep"].value("seconds", int64_t{0}));
    std::this_thread::sleep_for(std::min(wanted, timeout));
  }
  return "";
}

}  // namespace kd::node
