#include "engine/client/cli/logs.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <ostream>
#include <thread>

#include "engine/api/selectors.h"
#include "engine/client/cli/commands.h"
#include "engine/client/cli/describe_parts.h"
#include "engine/client/cli/pod_target.h"

namespace kd::cli {

using describe::asArray;
using describe::at;
using describe::str;

Result<LogOptions> logOptions(const ParsedArgs& args, bool bySelector) {
  LogOptions o;
  o.container = args.value("container");
  o.follow = args.boolean("follow");
  o.previous = args.boolean("previous");
  o.timestamps = args.boolean("timestamps");
  if (args.has("tail")) {
    try {
      o.tailLines = std::stoll(args.value("tail"));
    } catch (...) {
      return Status::badRequest("invalid argument \"" + args.value("tail") +
                                "\" for \"--tail\" flag: strconv.ParseInt: parsing \"" +
                                args.value("tail") + "\": invalid syntax");
    }
  } else if (bySelector) {
    o.tailLines = 10;
  }
  if (o.tailLines && *o.tailLines < 0) o.tailLines.reset();
  if (args.has("since") && args.has("since-time")) {
    return Status::badRequest("at most one of `sinceTime` or `sinceSeconds` may be specified");
  }
  if (args.has("since")) {
    auto d = parseDuration(args.value("since"));
    if (!d.ok()) return d.status();
    o.sinceSeconds = static_cast<int64_t>(std::ceil(double(d->count()) / 1000.0));
  }
  o.sinceTime = args.value("since-time");
  return o;
}

Result<std::vector<std::string>> logContainers(const json& pod, const std::string& wanted, bool all,
                                               std::string& notice) {
  std::vector<std::string> init, main;
  for (const json& c : asArray(at(pod, "spec.initContainers"))) init.push_back(str(c, "name"));
  for (const json& c : asArray(at(pod, "spec.containers"))) main.push_back(str(c, "name"));
  if (all) {
    init.insert(init.end(), main.begin(), main.end());
    return init;
  }
  if (!wanted.empty()) {
    if (std::find(main.begin(), main.end(), wanted) == main.end() &&
        std::find(init.begin(), init.end(), wanted) == init.end()) {
      return Status::badRequest("container " + wanted + " is not valid for pod " +
                                str(pod, "metadata.name"));
    }
    return std::vector<std::string>{wanted};
  }
  if (main.empty()) return Status::badRequest("pod has no containers");
  const json annotations = describe::asObject(at(pod, "metadata.annotations"));
  std::string chosen = annotations.value("kubectl.kubernetes.io/default-container", "");
  if (std::find(main.begin(), main.end(), chosen) == main.end()) chosen = main[0];
  if (main.size() + init.size() > 1 && chosen == main[0] &&
      !annotations.contains("kubectl.kubernetes.io/default-container")) {
    std::string list;
    for (const auto& n : main) list += (list.empty() ? "" : ", ") + n;
    if (!init.empty()) {
      std::string inits;
      for (const auto& n : init) inits += (inits.empty() ? "" : ", ") + n;
      list += ", " + inits + " (init)";
    }
    notice = "Defaulted container \"" + chosen + "\" out of: " + list + "\n";
  }
  return std::vector<std::string>{chosen};
}

std::string prefixLines(const std::string& text, const std::string& prefix) {
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    const size_t end = nl == std::string::npos ? text.size() : nl + 1;
    out += prefix + text.substr(start, end - start);
    start = end;
  }
  return out;
}

namespace {

const api::KindInfo& podsKind() {
  return *api::KindsRegistry::builtin().resolve("pods");
}

// The pods a logs command line names: pod NAME, TYPE/NAME of a workload or Service (its first
// pod), or every pod a selector matches.
Result<json> targetPods(Invocation& inv, client::ApiClient& c, const std::string& word) {
  const std::string ns = inv.namespaceName();
  if (word.empty()) {
    client::ListOptions o;
    o.labelSelector = inv.args.value("selector");
    auto list = c.list(podsKind(), inv.allNamespaces() ? "" : ns, o);
    if (!list.ok()) return list.status();
    return list->value("items", json::array());
  }
  auto items = podsOf(inv, word);
  if (!items.ok()) {
    if (items.status().code() != 404) return items.status();
    const auto slash = word.find('/');
    auto kind = slash == std::string::npos ? Result<api::KindInfo>(podsKind())
                                           : inv.resolveKind(word.substr(0, slash));
    if (!kind.ok()) return items.status();
    return Status::notFound("error from server (NotFound): " + kind->resource + " \"" +
                            word.substr(slash == std::string::npos ? 0 : slash + 1) +
                            "\" not found in namespace \"" + ns + "\"");
  }
  if (items->empty()) return Status::notFound("timed out waiting for the condition");
  if (items->size() > 1) {
    inv.err << "Found " << items->size() << " pods, using pod/" << str((*items)[0], "metadata.name")
            << "\n";
  }
  return json::array({(*items)[0]});
}

}  // namespace

int runLogs(Invocation& inv) {
  const std::vector<std::string> words(inv.args.words.begin() + 1, inv.args.words.end());
  const bool bySelector = inv.args.has("selector");
  if (words.empty() && !bySelector) {
    return inv.usageError(
        "expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\n"
        "POD or TYPE/NAME is a required argument for the logs command\n"
        "See 'kdctl logs -h' for help and examples");
  }
  auto options = logOptions(inv.args, bySelector);
  if (!options.ok()) return inv.usageError(options.status().message());
  auto c = inv.client();
  if (!c.ok()) return inv.fail(c.status());
  auto pods = targetPods(inv, **c, bySelector ? "" : words[0]);
  if (!pods.ok()) {
    return pods.status().message().starts_with("error from server")
               ? inv.usageError(pods.status().message())
               : inv.fail(pods.status());
  }
  struct Stream {
    std::string path, tag;
  };
  std::vector<Stream> streams;
  for (const json& pod : *pods) {
    std::string notice;
    auto containers =
        logContainers(pod, options->container, inv.args.boolean("all-containers"), notice);
    if (!containers.ok()) return inv.usageError(containers.status().message());
    inv.err << notice;
    for (const auto& container : *containers) {
      LogOptions o = *options;
      o.container = container;
      streams.push_back(
          {client::logPath(str(pod, "metadata.namespace"), str(pod, "metadata.name"), o),
           inv.args.boolean("prefix") ? "[pod/" + str(pod, "metadata.name") + "/" + container + "] "
                                      : ""});
    }
  }
  // Followed streams never end, so several are read at once, as kubectl does.
  const bool together = options->follow && streams.size() > 1;
  const int64_t maxRequests =
      inv.args.has("max-log-requests") ? std::atoll(inv.args.value("max-log-requests").c_str()) : 5;
  if (together && static_cast<int64_t>(streams.size()) > maxRequests) {
    return inv.usageError("you are attempting to follow " + std::to_string(streams.size()) +
                          " log streams, but maximum allowed concurrency is " +
                          std::to_string(maxRequests) +
                          ", use --max-log-requests to increase the limit");
  }
  std::mutex outMu;
  auto pump = [&](const Stream& s) {
    // Whole lines only when streams share the terminal or lines get a prefix.
    const bool byLine = together || !s.tag.empty();
    std::string partial;
    auto emit = [&](std::string_view text) {
      std::lock_guard lock(outMu);
      inv.out << (s.tag.empty() ? std::string(text) : prefixLines(std::string(text), s.tag))
              << std::flush;
    };
    Status st = (*c)->streamGet(s.path, [&](std::string_view data) {
      if (!byLine) return emit(data);
      partial += data;
      const size_t end = partial.rfind('\n');
      if (end == std::string::npos) return;
      emit(std::string_view(partial).substr(0, end + 1));
      partial.erase(0, end + 1);
    });
    if (!partial.empty()) emit(partial);
    return st;
  };
  if (!together) {
    for (const auto& s : streams) {
      if (Status st = pump(s); !st.isOk()) return inv.fail(st);
    }
    return 0;
  }
  std::vector<Status> results(streams.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < streams.size(); ++i)
    threads.emplace_back([&, i] { results[i] = pump(streams[i]); });
  for (auto& t : threads) t.join();
  for (const auto& st : results) {
    if (!st.isOk()) return inv.fail(st);
  }
  return 0;
}

}  // namespace kd::cli
