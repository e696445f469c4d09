#pragma once
// What every kdctl verb works with: the parsed command line, the streams, and a lazily
// created API client for the chosen kubeconfig context.

#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "engine/api/kinds.h"
#include "engine/client/api_client.h"
#include "engine/client/cli/args.h"

namespace kd::cli {

class Invocation {
 public:
  Invocation(ParsedArgs args, std::istream& in, std::ostream& out, std::ostream& err)
      : args(std::move(args)), in(in), out(out), err(err) {}

  const ParsedArgs args;
  std::istream& in;
  std::ostream& out;
  std::ostream& err;

  // The client for --kubeconfig/--context (else $KUBECONFIG / ~/.kube/config, current
  // context); created on first use, one keep-alive connection reused by every call.
  Result<client::ApiClient*> client();
  // -n, else the context's namespace, else "default". Needs client() to have succeeded.
  std::string namespaceName();
  bool allNamespaces() const { return args.boolean("all-namespaces"); }

  // Prints `status` as kubectl does and returns the exit code 1.
  int fail(const Status& status);
  // Prints "error: <message>" and returns 1.
  int usageError(const std::string& message);
  // A failure found on this side (bad arguments, unknown type): "error: <message>", 1.
  int failLocal(const Status& status) { return usageError(status.message()); }

  // Resolves a resource type word as kubectl does: built-in names and short names first, then
  // the server's discovery (CRDs). Unknown: 404 "the server doesn't have a resource type".
  Result<api::KindInfo> resolveKind(std::string_view word);

 private:
  std::unique_ptr<client::ApiClient> client_;
  std::unique_ptr<client::DiscoveredResources> discovered_;
};

// "deployment.apps" / "pod": how kubectl names a kind in "deployment.apps/web".
std::string kindPrefix(const api::KindInfo& kind);

// The objects a get/delete/scale... command line names: "pods", "pods a b", "deploy/web svc/x",
// "pods,svc", "all" (the kinds in the "all" category, in kubectl's order).
struct ResourceSelection {
  api::KindInfo kind;
  std::vector<std::string> names;  // empty: every object that matches the selectors
};
Result<std::vector<ResourceSelection>> selectResources(Invocation& inv,
                                                       const std::vector<std::string>& words);

}  // namespace kd::cli
