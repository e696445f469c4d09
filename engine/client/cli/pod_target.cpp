#include "engine/client/cli/pod_target.h"

#include "engine/client/log_stream.h"

namespace kd::cli {
namespace {

const api::KindInfo& podsKind() {
  return *api::KindsRegistry::builtin().resolve("pods");
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
  // The pod itself, or the pods a workload's or Service's selector matches, running first.
  return client::podsSelectedBy(**c, *kind, *object);
}

Result<json> attachablePod(Invocation& inv, const std::string& word) {
  auto pods = podsOf(inv, word);
  if (!pods.ok()) return pods.status();
  if (pods->empty()) return Status::notFound("no pods found for " + word);
  return (*pods)[0];
}

}  // namespace kd::cli
