#include "engine/client/cli/args.h"

#include <algorithm>

namespace kd::cli {

const std::vector<FlagSpec>& knownFlags() {
  using A = Arity;
  static const std::vector<FlagSpec> kFlags = {
      {"namespace", 'n', A::Value},
      {"context", 0, A::Value},
      {"kubeconfig", 0, A::Value},
      {"profile", 0, A::Value},
      {"all-namespaces", 'A', A::Switch},
      {"output", 'o', A::Value},
      {"selector", 'l', A::Value},
      {"field-selector", 0, A::Value},
      {"show-labels", 0, A::Switch},
      {"sort-by", 0, A::Value},
      {"no-headers", 0, A::Switch},
      {"watch", 'w', A::Switch},
      {"watch-only", 0, A::Switch},
      {"filename", 'f', A::Value},
      {"recursive", 'R', A::Switch},
      {"all", 0, A::Switch},
      {"grace-period", 0, A::Value},
      {"cascade", 0, A::InlineValue, "background"},
      {"wait", 0, A::Switch},
      {"timeout", 0, A::Value},
      {"force", 0, A::Switch},
      {"now", 0, A::Switch},
      {"ignore-not-found", 0, A::Switch},
      {"replicas", 0, A::Value},
      {"overwrite", 0, A::Switch},
      // -p is --patch for `kdctl patch` and --profile elsewhere (see parseArgs).
      {"patch", 'p', A::Value},
      {"type", 0, A::Value},
      {"dry-run", 0, A::InlineValue, "client"},
      {"for", 0, A::Value},
      {"client", 0, A::Switch},
      {"simulated-nodes", 0, A::Value},
      {"driver", 0, A::Value},
      {"nodes", 0, A::Value},
      {"cpus", 0, A::Value},
      {"memory", 0, A::Value},
      {"revision", 0, A::Value},
      {"to-revision", 0, A::Value},
      {"types", 0, A::Value},
      {"follow", 'f', A::Switch},
      {"previous", 0, A::Switch},
      {"tail", 0, A::Value},
      {"since", 0, A::Value},
      {"since-time", 0, A::Value},
      {"timestamps", 0, A::Switch},
      {"container", 'c', A::Value},
      {"all-containers", 0, A::Switch},
      {"prefix", 0, A::Switch},
      {"max-log-requests", 0, A::Value},
      {"containers", 0, A::Switch},
      // create generators
      {"image", 0, A::Value},
      {"port", 0, A::Value},
      {"from", 0, A::Value},
      {"from-literal", 0, A::Value},
      {"from-file", 0, A::Value},
      {"from-env-file", 0, A::Value},
      // image ls|load|pull|rm
      {"format", 0, A::Value},
      {"node", 0, A::Value},
      // exec, attach, port-forward
      {"stdin", 'i', A::Switch},
      {"tty", 't', A::Switch},
      {"quiet", 'q', A::Switch},
      {"address", 0, A::Value},
      {"pod-running-timeout", 0, A::Value},
      {"help", 'h', A::Switch},
  };
  return kFlags;
}

std::string ParsedArgs::value(std::string_view flag, std::string_view fallback) const {
  auto it = flags.find(flag);
  return it == flags.end() || it->second.empty() ? std::string(fallback) : it->second.back();
}

const std::vector<std::string>& ParsedArgs::values(std::string_view flag) const {
  static const std::vector<std::string> kNone;
  auto it = flags.find(flag);
  return it == flags.end() ? kNone : it->second;
}

bool ParsedArgs::boolean(std::string_view flag, bool fallback) const {
  if (!has(flag)) return fallback;
  return value(flag) != "false";
}

namespace {

const FlagSpec* findFlag(const std::vector<FlagSpec>& spec, std::string_view longName,
                         char shortName) {
  auto it = std::find_if(spec.begin(), spec.end(), [&](const FlagSpec& f) {
    return shortName ? f.shortName == shortName : f.name == longName;
  });
  return it == spec.end() ? nullptr : &*it;
}

// Reads one flag starting at argv[i]; advances i past a consumed value.
Status readFlag(const std::vector<std::string>& argv, size_t& i, const std::vector<FlagSpec>& spec,
                ParsedArgs& out) {
  const std::string& arg = argv[i];
  const bool isLong = arg.starts_with("--");
  std::string_view body = std::string_view(arg).substr(isLong ? 2 : 1);
  std::string_view name = body;
  std::optional<std::string> inlineValue;
  if (isLong) {
    if (auto eq = body.find('='); eq != std::string_view::npos) {
      name = body.substr(0, eq);
      inlineValue = std::string(body.substr(eq + 1));
    }
  } else {
    name = body.substr(0, 1);
    std::string_view rest = body.substr(1);
    if (!rest.empty()) inlineValue = std::string(rest.starts_with('=') ? rest.substr(1) : rest);
  }
  const FlagSpec* flag = isLong ? findFlag(spec, name, 0) : findFlag(spec, {}, name[0]);
  // `logs -f` follows and `logs -p` reads the previous container; elsewhere they name a file
  // and a profile.
  static const std::vector<std::pair<char, const char*>> kLogsShorthands = {{'f', "follow"},
                                                                            {'p', "previous"}};
  for (const auto& [shorthand, longName] : kLogsShorthands) {
    if (!isLong && name[0] == shorthand && !out.words.empty() && out.words[0] == "logs") {
      flag = findFlag(spec, longName, 0);
    }
  }
  if (!flag) {
    return Status::badRequest(isLong ? "unknown flag: --" + std::string(name)
                                     : "unknown shorthand flag: '" + std::string(name) + "' in " +
                                           arg);
  }
  // pflag groups shorthand switches: "-it" is "-i -t".
  if (!isLong && flag->arity == Arity::Switch && body.size() > 1 && body[1] != '=') {
    out.flags[flag->name].push_back(flag->bareValue);
    const std::vector<std::string> rest{"-" + std::string(body.substr(1))};
    size_t next = 0;
    return readFlag(rest, next, spec, out);
  }
  std::string value;
  if (inlineValue) {
    value = *inlineValue;
  } else if (flag->arity != Arity::Value) {
    value = flag->bareValue;
  } else if (i + 1 < argv.size()) {
    value = argv[++i];
  } else {
    return Status::badRequest("flag needs an argument: " + arg);
  }
  if (flag->arity == Arity::Switch && value != "true" && value != "false") {
    return Status::badRequest("invalid argument \"" + value + "\" for \"" + arg +
                              "\" flag: strconv.ParseBool: parsing \"" + value +
                              "\": invalid syntax");
  }
  out.flags[flag->name].push_back(std::move(value));
  return Status::ok();
}

}  // namespace

Result<ParsedArgs> parseArgs(const std::vector<std::string>& argv,
                             const std::vector<FlagSpec>& spec) {
  ParsedArgs out;
  bool flagsEnded = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (flagsEnded || arg == "-" || arg.size() < 2 || arg[0] != '-') {
      out.words.push_back(arg);
    } else if (arg == "--") {
      flagsEnded = true;
      out.argsLenAtDash = static_cast<int>(out.words.size());
    } else if (Status st = readFlag(argv, i, spec, out); !st.isOk()) {
      return st;
    }
  }
  // minikube's -p names the profile; only `patch` reads it as the patch body.
  if (out.has("patch") && (out.words.empty() || out.words[0] != "patch")) {
    auto& profile = out.flags["profile"];
    for (auto& v : out.flags["patch"]) profile.push_back(v);
    out.flags.erase("patch");
  }
  return out;
}

Result<std::chrono::milliseconds> parseDuration(std::string_view text) {
  static const std::vector<std::pair<std::string_view, double>> kUnits = {
      {"ns", 1e-6}, {"us", 1e-3}, {"µs", 1e-3}, {"ms", 1}, {"s", 1e3}, {"m", 6e4}, {"h", 3.6e6}};
  const Status bad = Status::badRequest("time: invalid duration \"" + std::string(text) + "\"");
  if (text.empty()) return bad;
  if (text == "0") return std::chrono::milliseconds(0);
  if (text.find_first_not_of("0123456789") == std::string_view::npos) {
    return std::chrono::milliseconds(std::stoll(std::string(text)) * 1000);
  }
  double total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t end = text.find_first_not_of("0123456789.", i);
    if (end == i || end == std::string_view::npos) return bad;
    const double number = std::stod(std::string(text.substr(i, end - i)));
    size_t unitEnd = text.find_first_of("0123456789.", end);
    if (unitEnd == std::string_view::npos) unitEnd = text.size();
    const std::string_view unit = text.substr(end, unitEnd - end);
    auto it =
        std::find_if(kUnits.begin(), kUnits.end(), [&](const auto& u) { return u.first == unit; });
    if (it == kUnits.end()) return bad;
    total += number * it->second;
    i = unitEnd;
  }
  return std::chrono::milliseconds(static_cast<int64_t>(total));
}

std::vector<std::string> splitList(std::string_view text, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(sep, start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) parts.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

}  // namespace kd::cli
