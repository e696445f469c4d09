#include "engine/client/cli/pod_target.h"

#include <algorithm>

#include "engine/api/selectors.h"
#include "engine/client/cli/describe_parts.h"

namespace kd::cli {
namespace {

using describe::at;
using describe::str;

const api::KindInfo& podsKind() {
  return *api::KindsRegistry::builtin().resolve("pods");
}

// A workload's selector (meta/v1 LabelSelector) or a Service's / ReplicationController's plain
// label map.
Result<api::LabelSelector> selectorOf(const json& object, const std::string& what) {
  const json& selector = at(object, "spec.selector");
  if (!selector.is_object() || selector.empty()) {
    return Status::badRequest("invalid " + what + ": it is defined without a selector");
  }
  const bool labelSelector =
      selector.contains("matchLabels") || selector.contains("matchExpressions");
  return api::LabelSelector::fromJson(labelSelector ? selector : json{{"matchLabels", selector}});
}

}  // namespace

Result<json> podsOf(Invocation& inv, const std::string& word) {
  auto c = inv.client();
  if (!c.ok()) return c.status();
  const std::string ns = inv.namespaceName();
  const auto slash = word.find('/');
  auto kind = slash == std::string::npos ? Result<api::KindInfo>(podsKind())
                                         : inv.resolveKind(word.substr(0, slash));
  if (!kind.ok()) return kind.status();
  const std::string name = slash == std::string::npos ? word : word.substr(slash + 1);
  auto object = (*c)->get(*kind, ns, name);
  if (!object.ok()) return object.status();
  if (kind->resource == "pods") return json::array({*object});
  auto selector = selectorOf(*object, kind->resource + " \"" + name + "\"");
  if (!selector.ok()) return selector.status();
  client::ListOptions options;
  options.labelSelector = selector->toString();
  auto pods = (*c)->list(podsKind(), ns, options);
  if (!pods.ok()) return pods.status();
  json items = pods->value("items", json::array());
  std::stable_sort(items.begin(), items.end(), [](const json& a, const json& b) {
    return (str(a, "status.phase") == "Running") > (str(b, "status.phase") == "Running");
  });
  return items;
}

Result<json> attachablePod(Invocation& inv, const std::string& word) {
  auto pods = podsOf(inv, word);
  if (!pods.ok()) return pods.status();
  if (pods->empty()) return Status::notFound("no pods found for " + word);
  return (*pods)[0];
}

}  // namespace kd::cli
