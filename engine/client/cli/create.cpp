#include "engine/client/cli/create.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <random>
#include <sstream>

#include "engine/api/base64.h"
#include "engine/api/yaml_json.h"
#include "engine/client/cli/commands.h"
#include "engine/client/cli/workload_actions.h"

namespace kd::cli {

namespace {

// Generators build objects in Go's struct field order, since kubectl prints a client-side
// object (--dry-run=client -o json) in that order; maps (labels, data) stay sorted.
using ojson = nlohmann::ordered_json;
using Strings = std::vector<std::string>;

// What a generator reads besides the flags: NAME and the command after "--".
struct Request {
  std::string name;
  Strings command;
};

using Build = Result<ojson> (*)(Invocation&, const Request&);

struct Generator {
  std::vector<std::string_view> words;  // "deployment", "deploy"
  std::string_view subWord;             // "generic" for `create secret generic`
  std::string_view helpName;            // "deployment", "secret generic"
  bool namespaced;
  std::string_view failPrefix;  // kubectl's words before a server error
  Build build;
};

ojson typeMeta(std::string_view kind, std::string_view apiVersion, ojson metadata) {
  return {{"kind", kind}, {"apiVersion", apiVersion}, {"metadata", std::move(metadata)}};
}

// kubectl sets metadata.namespace only when -n was given (EnforceNamespace).
ojson objectMeta(Invocation& inv, const std::string& name, bool namespaced) {
  ojson meta = ojson::object();
  meta["name"] = name;
  if (namespaced && inv.args.has("namespace")) meta["namespace"] = inv.namespaceName();
  meta["creationTimestamp"] = nullptr;
  return meta;
}

Result<int64_t> intFlag(Invocation& inv, const std::string& flag, const std::string& spelled,
                        int64_t fallback) {
  if (!inv.args.has(flag)) return fallback;
  const std::string text = inv.args.value(flag);
  try {
    size_t used = 0;
    const int64_t v = std::stoll(text, &used);
    if (used == text.size()) return v;
  } catch (const std::exception&) {
  }
  return Status::badRequest("invalid argument \"" + text + "\" for \"" + spelled +
                            "\" flag: strconv.ParseInt: parsing \"" + text + "\": invalid syntax");
}

// The container name kubectl derives from an image: the last path element without tag or
// digest; a name with '_' or '.' gets them made '-' and a random suffix, as kubectl does.
std::string containerName(const std::string& image) {
  std::string name = image.substr(image.rfind('/') + 1);
  name = name.substr(0, name.find(':'));
  name = name.substr(0, name.find('@'));
  if (name.find_first_of("_.") == std::string::npos) return name;
  std::replace(name.begin(), name.end(), '_', '-');
  std::replace(name.begin(), name.end(), '.', '-');
  static const std::string kAlphabet = "bcdfghjklmnpqrstvwxz2456789";
  std::random_device rd;
  std::string suffix;
  for (int i = 0; i < 5; ++i) suffix += kAlphabet[rd() % kAlphabet.size()];
  return name + "-" + suffix;
}

ojson container(const std::string& name, const std::string& image, const Strings& command) {
  ojson c = {{"name", name}, {"image", image}};
  if (!command.empty()) c["command"] = command;
  return c;
}

Result<ojson> buildDeployment(Invocation& inv, const Request& r) {
  const Strings& images = inv.args.values("image");
  if (images.empty()) return Status::badRequest("required flag(s) \"image\" not set");
  if (images.size() > 1 && !r.command.empty()) {
    return Status::badRequest("cannot specify multiple --image options and command");
  }
  auto replicas = intFlag(inv, "replicas", "-r, --replicas", 1);
  if (!replicas.ok()) return replicas.status();
  auto port = intFlag(inv, "port", "--port", -1);
  if (!port.ok()) return port.status();
  ojson containers = ojson::array();
  for (const auto& image : images) {
    ojson c = container(containerName(image), image, r.command);
    if (containers.empty() && *port >= 0) c["ports"] = {{{"containerPort", *port}}};
    c["resources"] = ojson::object();
    containers.push_back(std::move(c));
  }
  const ojson labels = {{"app", r.name}};
  ojson meta = objectMeta(inv, r.name, true);
  meta["labels"] = labels;
  ojson d = typeMeta("Deployment", "apps/v1", std::move(meta));
  d["spec"] = {{"replicas", *replicas},
               {"selector", {{"matchLabels", labels}}},
               {"template",
                {{"metadata", {{"creationTimestamp", nullptr}, {"labels", labels}}},
                 {"spec", {{"containers", containers}}}}},
               {"strategy", ojson::object()}};
  d["status"] = ojson::object();
  return d;
}

// `--from=cronjob/NAME`: the CronJob's job template, marked as a manual run and owned by it.
Result<ojson> jobFromCronJob(Invocation& inv, const Request& r) {
  const std::string from = inv.args.value("from");
  const auto slash = from.find('/');
  if (slash == std::string::npos) {
    return Status::badRequest("from must be of the form <resource>/<name>");
  }
  auto kind = inv.resolveKind(from.substr(0, slash));
  if (!kind.ok()) return kind.status();
  if (kind->kind != "CronJob") return Status::badRequest("unknown object type *v1." + kind->kind);
  auto c = inv.client();
  if (!c.ok()) return c.status();
  auto cronJob = (*c)->get(*kind, inv.namespaceName(), from.substr(slash + 1));
  if (!cronJob.ok()) return cronJob.status();
  return manualJobFromCronJob(*cronJob, objectMeta(inv, r.name, true));
}

Result<ojson> buildJob(Invocation& inv, const Request& r) {
  const bool image = inv.args.has("image"), from = inv.args.has("from");
  if (image == from) return Status::badRequest("either --image or --from must be specified");
  if (from && !r.command.empty()) return Status::badRequest("cannot specify --from and command");
  if (from) return jobFromCronJob(inv, r);
  ojson c = container(r.name, inv.args.value("image"), r.command);
  c["resources"] = ojson::object();
  ojson job = typeMeta("Job", "batch/v1", objectMeta(inv, r.name, true));
  job["spec"] = {{"template",
                  {{"metadata", {{"creationTimestamp", nullptr}}},
                   {"spec", {{"containers", {c}}, {"restartPolicy", "Never"}}}}}};
  job["status"] = ojson::object();
  return job;
}

Result<ojson> buildNamespace(Invocation& inv, const Request& r) {
  ojson ns = typeMeta("Namespace", "v1", objectMeta(inv, r.name, false));
  ns["spec"] = ojson::object();
  ns["status"] = ojson::object();
  return ns;
}

// --- configmap and secret sources ----------------------------------------------------------

// ConfigMap data holds UTF-8 text; anything else goes to binaryData, as kubectl decides.
bool validUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t extra = 0;
    if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
    } else if (c >= 0xE0) {
      extra = c <= 0xEF ? 2 : 9;
    } else if (c >= 0xC2) {
      extra = 1;
    } else if (c >= 0x80) {
      return false;
    }
    if (extra == 9 || (extra > 0 && i + extra >= s.size())) return false;
    for (size_t k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

// The keys of ConfigMap and Secret data: [-._a-zA-Z0-9]+, at most 253 characters.
bool validDataKey(std::string_view key) {
  return !key.empty() && key.size() <= 253 && key != "." && key != ".." &&
         std::all_of(key.begin(), key.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
         });
}

bool validEnvName(std::string_view key) {
  return !key.empty() && !std::isdigit(static_cast<unsigned char>(key[0])) &&
         std::all_of(key.begin(), key.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
         });
}

// Collects key → bytes from --from-file, --from-literal and --from-env-file, with kubectl's
// checks and messages.
class DataSources {
 public:
  DataSources(std::string kind, std::string name)
      : kind_(std::move(kind)), name_(std::move(name)) {}

  Status add(const std::string& key, std::string value) {
    if (!validDataKey(key)) {
      return Status::badRequest(
          "\"" + key + "\" is not a valid key name for a " + kind_ +
          ": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "
          "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "
          "'[-._a-zA-Z0-9]+')");
    }
    if (data_.contains(key)) {
      return Status::badRequest("cannot add key \"" + key +
                                "\", another key by that name already exists in Data for " + kind_ +
                                " \"" + name_ + "\"");
    }
    data_[key] = std::move(value);
    return Status::ok();
  }

  Status readAll(Invocation& inv) {
    if (inv.args.has("from-env-file") &&
        (inv.args.has("from-file") || inv.args.has("from-literal"))) {
      return Status::badRequest("from-env-file cannot be combined with from-file or from-literal");
    }
    for (const auto& source : inv.args.values("from-file")) {
      if (Status st = addFile(source); !st.isOk()) return st;
    }
    for (const auto& literal : inv.args.values("from-literal")) {
      const auto eq = literal.find('=');
      if (eq == std::string::npos || eq == 0) {
        return Status::badRequest("invalid literal source " + literal + ", expected key=value");
      }
      if (Status st = add(literal.substr(0, eq), literal.substr(eq + 1)); !st.isOk()) return st;
    }
    for (const auto& file : inv.args.values("from-env-file")) {
      if (Status st = addEnvFile(file); !st.isOk()) return st;
    }
    return Status::ok();
  }

  const std::map<std::string, std::string>& data() const { return data_; }

 private:
  static Result<std::string> readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Status::badRequest("error reading " + path + ": no such file or directory");
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

  Status addFile(const std::string& source) {
    std::string key, path = source;
    if (const auto eq = source.find('='); eq != std::string::npos) {
      key = source.substr(0, eq);
      path = source.substr(eq + 1);
      if (key.empty() || path.empty()) {
        return Status::badRequest("key names or file paths cannot be empty");
      }
    }
    std::error_code ec;
    if (key.empty() && std::filesystem::is_directory(path, ec)) {
      for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
        if (!entry.is_regular_file()) continue;
        auto text = readFile(entry.path().string());
        if (!text.ok()) return text.status();
        if (Status st = add(entry.path().filename().string(), *text); !st.isOk()) return st;
      }
      return Status::ok();
    }
    auto text = readFile(path);
    if (!text.ok()) return text.status();
    return add(key.empty() ? std::filesystem::path(path).filename().string() : key, *text);
  }

  // KEY=VALUE lines; blank lines and '#' comments skipped, leading space trimmed, and a KEY
  // alone takes its value from the environment.
  Status addEnvFile(const std::string& path) {
    auto text = readFile(path);
    if (!text.ok()) return text.status();
    std::istringstream lines(*text);
    std::string line;
    for (int n = 0; std::getline(lines, line); ++n) {
      if (n == 0 && line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      line.erase(0, line.find_first_not_of(" \t\v\f"));
      if (line.empty() || line[0] == '#') continue;
      const auto eq = line.find('=');
      const std::string key = line.substr(0, eq);
      if (!validEnvName(key)) {
        return Status::badRequest(
            "\"" + key +
            "\" is not a valid key name: a valid environment variable name must consist of "
            "alphabetic characters, digits, '_', '-', or '.', and must not start with a digit "
            "(e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for "
            "validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')");
      }
      const char* env = std::getenv(key.c_str());
      std::string value = eq != std::string::npos ? line.substr(eq + 1) : env ? env : "";
      if (Status st = add(key, std::move(value)); !st.isOk()) return st;
    }
    return Status::ok();
  }

  std::string kind_, name_;
  std::map<std::string, std::string> data_;
};

Result<ojson> buildConfigMap(Invocation& inv, const Request& r) {
  DataSources sources("ConfigMap", r.name);
  if (Status st = sources.readAll(inv); !st.isOk()) return st;
  json data = json::object(), binary = json::object();
  for (const auto& [k, v] : sources.data()) {
    if (validUtf8(v)) {
      data[k] = v;
    } else {
      binary[k] = api::base64Encode(v);
    }
  }
  ojson cm = typeMeta("ConfigMap", "v1", objectMeta(inv, r.name, true));
  if (!data.empty()) cm["data"] = data;
  if (!binary.empty()) cm["binaryData"] = binary;
  return cm;
}

Result<ojson> buildSecret(Invocation& inv, const Request& r) {
  DataSources sources("Secret", r.name);
  if (Status st = sources.readAll(inv); !st.isOk()) return st;
  json data = json::object();
  for (const auto& [k, v] : sources.data()) data[k] = api::base64Encode(v);
  ojson secret = typeMeta("Secret", "v1", objectMeta(inv, r.name, true));
  if (!data.empty()) secret["data"] = data;
  if (inv.args.has("type")) secret["type"] = inv.args.value("type");
  return secret;
}

const std::vector<Generator>& generators() {
  static const std::vector<Generator> kGenerators = {
      {{"deployment", "deploy"},
       "",
       "deployment",
       true,
       "failed to create deployment: ",
       buildDeployment},
      {{"job"}, "", "job", true, "failed to create job: ", buildJob},
      {{"namespace", "ns"}, "", "namespace", false, "", buildNamespace},
      {{"configmap", "cm"}, "", "configmap", true, "failed to create configmap: ", buildConfigMap},
      {{"secret"}, "generic", "secret generic", true, "failed to create secret ", buildSecret},
  };
  return kGenerators;
}

const Generator* findGenerator(std::string_view word) {
  for (const auto& g : generators()) {
    if (std::find(g.words.begin(), g.words.end(), word) != g.words.end()) return &g;
  }
  return nullptr;
}

// Go's encoding/json escapes <, > and &; kubectl's JSON printer shows them that way.
std::string goJsonOrdered(const ojson& object) {
  std::string out;
  for (char ch : object.dump(4)) {
    if (ch == '<' || ch == '>' || ch == '&') {
      out += ch == '<' ? "\\u003c" : ch == '>' ? "\\u003e" : "\\u0026";
    } else {
      out += ch;
    }
  }
  return out;
}

// Prints the created (or would-be) object per -o, else "deployment.apps/web created".
int report(Invocation& inv, const ojson& typedObject, const json& object,
           const std::string& dryRun) {
  const std::string format = inv.args.value("output");
  if (format == "json" && dryRun == "client") {
    inv.out << goJsonOrdered(typedObject) << "\n";
    return 0;
  }
  if (!format.empty()) return printObjects(inv, object, format);
  const auto* kind = api::KindsRegistry::builtin().byKind(object.value("apiVersion", ""),
                                                          object.value("kind", ""));
  inv.out << (kind ? kindPrefix(*kind) : object.value("kind", "")) << "/"
          << object["metadata"].value("name", "") << " created"
          << (dryRun == "client"   ? " (dry run)"
              : dryRun == "server" ? " (server dry run)"
                                   : "")
          << "\n";
  return 0;
}

}  // namespace

bool isCreateGenerator(std::string_view word) {
  return findGenerator(word) != nullptr;
}

int runCreateGenerator(Invocation& inv) {
  const auto& words = inv.args.words;
  const Generator& g = *findGenerator(words[1]);
  const size_t first = g.subWord.empty() ? 2 : 3;  // index of NAME
  if (!g.subWord.empty() && (words.size() < 3 || words[2] != g.subWord)) {
    return inv.usageError(
        "kdctl create secret supports only the \"generic\" type\n"
        "See 'kdctl create --help' for usage.");
  }
  const size_t before =
      inv.args.argsLenAtDash < 0 ? words.size() : static_cast<size_t>(inv.args.argsLenAtDash);
  if (before < first || before - first != 1) {
    return inv.usageError(
        "exactly one NAME is required, got " + std::to_string(before < first ? 0 : before - first) +
        "\nSee 'kdctl create " + std::string(g.helpName) + " -h' for help and examples");
  }
  const std::string dryRun = inv.args.value("dry-run", "none");
  if (dryRun != "none" && dryRun != "client" && dryRun != "server") {
    return inv.usageError("Invalid dry-run value (" + dryRun +
                          "). Must be \"none\", \"server\", or \"client\".");
  }
  Request request{words[first], Strings(words.begin() + static_cast<long>(before), words.end())};
  auto c = inv.client();  // for the context's namespace, even on a client dry run
  if (!c.ok() && dryRun != "client") return inv.fail(c.status());
  auto built = g.build(inv, request);
  if (!built.ok()) {
    return built.status().reason().empty() || built.status().code() == 400
               ? inv.failLocal(built.status())
               : inv.fail(built.status());
  }
  json object = json::parse(built->dump());
  if (dryRun == "client") return report(inv, *built, object, dryRun);
  const auto* kind = api::KindsRegistry::builtin().byKind(object["apiVersion"].get<std::string>(),
                                                          object["kind"].get<std::string>());
  client::WriteOptions write;
  write.dryRun = dryRun == "server";
  auto created = (*c)->create(*kind, g.namespaced ? inv.namespaceName() : "", object, write);
  if (!created.ok()) {
    if (g.failPrefix.empty()) return inv.fail(created.status());
    inv.err << "error: " << g.failPrefix << created.status().message() << "\n";
    return 1;
  }
  return report(inv, *built, *created, dryRun);
}

}  // namespace kd::cli
