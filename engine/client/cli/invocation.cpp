#include "engine/client/cli/invocation.h"

#include <algorithm>
#include <cctype>
#include <ostream>

#include "engine/client/cli/cli.h"

namespace kd::cli {

namespace {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool kindAnswersTo(const api::KindInfo& k, std::string_view word) {
  std::string_view name = word, group;
  if (auto dot = word.find('.'); dot != std::string_view::npos) {
    name = word.substr(0, dot);
    group = word.substr(dot + 1);
    if (!equalsIgnoreCase(group, k.group)) return false;
  }
  if (equalsIgnoreCase(name, k.resource) || equalsIgnoreCase(name, k.singular) ||
      equalsIgnoreCase(name, k.kind)) {
    return true;
  }
  return std::any_of(k.shortNames.begin(), k.shortNames.end(),
                     [&](const std::string& s) { return equalsIgnoreCase(name, s); });
}

// The kinds of the `all` category in discovery order, which is the order kubectl prints them
// in (it expands the category from the server's discovery).
std::vector<api::KindInfo> allCategory() {
  std::vector<api::KindInfo> out;
  for (const auto& k : api::KindsRegistry::builtin().all()) {
    if (std::find(k.categories.begin(), k.categories.end(), "all") != k.categories.end()) {
      out.push_back(k);
    }
  }
  return out;
}

std::string causesText(const json& causes) {
  std::vector<std::string> lines;
  for (const json& c : causes) {
    std::string line = c.value("field", "") + ": " + c.value("message", "");
    if (std::find(lines.begin(), lines.end(), line) == lines.end()) lines.push_back(line);
  }
  if (lines.size() == 1) return lines[0];
  std::string out;
  for (const auto& l : lines) out += "\n* " + l;
  return out;
}

}  // namespace

std::string formatError(const Status& status) {
  const std::string& msg = status.message();
  if (msg.starts_with("unable to connect to the server")) return "U" + msg.substr(1);
  const json s = status.toJson();
  const json details = s.value("details", json::object());
  if (status.reason() == "Invalid" && !details.empty()) {
    std::string head =
        "The " + details.value("kind", "") + " \"" + details.value("name", "") + "\" is invalid";
    const json causes = details.value("causes", json::array());
    if (causes.empty()) return head;
    std::string text = causesText(causes);
    return head + ": " + text;
  }
  if (status.reason() == "Unauthorized") {
    return "error: You must be logged in to the server (" + msg + ")";
  }
  if (status.reason().empty()) return "Error from server: " + msg;
  return "Error from server (" + status.reason() + "): " + msg;
}

std::string kindPrefix(const api::KindInfo& kind) {
  std::string k = kind.kind;
  for (char& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return kind.group.empty() ? k : k + "." + kind.group;
}

Result<client::ApiClient*> Invocation::client() {
  if (client_) return client_.get();
  std::optional<std::filesystem::path> file;
  if (args.has("kubeconfig")) file = args.value("kubeconfig");
  auto access = client::loadClusterAccess(file, args.value("context"));
  if (!access.ok()) return access.status();
  client::ClientOptions options;
  options.userAgent = "kdctl";
  options.maxIdleConnections = 2;
  auto created = client::ApiClient::create(*access, options);
  if (!created.ok()) return created.status();
  client_ = std::move(created).value();
  return client_.get();
}

std::string Invocation::namespaceName() {
  if (args.has("namespace")) return args.value("namespace");
  return client_ ? client_->defaultNamespace() : "default";
}

int Invocation::fail(const Status& status) {
  const std::string text = formatError(status);
  const bool bare = text.starts_with("Error") || text.starts_with("error") ||
                    text.starts_with("The ") || text.starts_with("Unable");
  err << (bare ? "" : "error: ") << text << "\n";
  return 1;
}

int Invocation::usageError(const std::string& message) {
  err << "error: " << message << "\n";
  return 1;
}

Result<api::KindInfo> Invocation::resolveKind(std::string_view word) {
  if (const auto* k = api::KindsRegistry::builtin().resolve(word)) return *k;
  // Only names this build does not know cost a discovery round trip.
  if (!discovered_) {
    auto c = client();
    if (!c.ok()) return c.status();
    auto found = (*c)->discover();
    if (!found.ok()) return found.status();
    discovered_ = std::make_unique<client::DiscoveredResources>(std::move(found).value());
  }
  for (const auto& k : discovered_->kinds) {
    if (k.resource.find('/') == std::string::npos && kindAnswersTo(k, word)) return k;
  }
  return Status::notFound("the server doesn't have a resource type \"" + std::string(word) + "\"");
}

Result<std::vector<ResourceSelection>> selectResources(Invocation& inv,
                                                       const std::vector<std::string>& words) {
  std::vector<ResourceSelection> out;
  if (words.empty()) return out;
  const bool slashForm = words[0].find('/') != std::string::npos;
  if (slashForm) {
    for (const auto& w : words) {
      auto slash = w.find('/');
      if (slash == std::string::npos) {
        return Status::badRequest(
            "there is no need to specify a resource type as a separate argument when passing "
            "arguments in resource/name form (e.g. 'kdctl get resource/<resource_name>' instead "
            "of 'kdctl get resource resource/<resource_name>'");
      }
      auto kind = inv.resolveKind(w.substr(0, slash));
      if (!kind.ok()) return kind.status();
      if (!out.empty() && out.back().kind.resource == kind->resource &&
          out.back().kind.group == kind->group) {
        out.back().names.push_back(w.substr(slash + 1));
      } else {
        out.push_back({*kind, {w.substr(slash + 1)}});
      }
    }
    return out;
  }
  const std::vector<std::string> names(words.begin() + 1, words.end());
  for (const auto& type : splitList(words[0])) {
    if (type == "all") {
      for (auto& k : allCategory()) out.push_back({std::move(k), names});
      continue;
    }
    auto kind = inv.resolveKind(type);
    if (!kind.ok()) return kind.status();
    out.push_back({*kind, names});
  }
  return out;
}

}  // namespace kd::cli
