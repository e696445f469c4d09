// `kdctl describe`: fetches the objects a command line names plus what each layout needs
// (describe.h), and prints them as kubectl does: separated by two blank lines, or, when
// "TYPE NAME" names nothing, every object whose name starts with NAME.

#include <ostream>

#include "engine/api/selectors.h"
#include "engine/client/cli/commands.h"
#include "engine/client/cli/describe.h"

namespace kd::cli {

namespace {

const api::KindInfo& builtin(std::string_view resource) {
  return *api::KindsRegistry::builtin().resolve(resource);
}

json itemsOf(Result<json> list) {
  return list.ok() ? list->value("items", json::array()) : json::array();
}

std::string meta(const json& object, const char* field) {
  return object.value("/metadata"_json_pointer, json::object()).value(field, "");
}

std::string selectorOf(const json& object) {
  const json sel = object.value("/spec/selector"_json_pointer, json());
  if (!sel.is_object()) return "";
  auto parsed = api::LabelSelector::fromJson(sel);
  return parsed.ok() ? parsed->toString() : "";
}

// The Events kubectl shows for an object: matched by name, namespace, kind (not for pods,
// whose events may name a mirror) and uid.
json eventsAbout(client::ApiClient& c, const api::KindInfo& kind, const json& object) {
  client::ListOptions o;
  const std::string ns = meta(object, "namespace");
  o.fieldSelector = "involvedObject.name=" + meta(object, "name") +
                    ",involvedObject.namespace=" + ns +
                    (kind.resource == "pods" ? "" : ",involvedObject.kind=" + kind.kind) +
                    ",involvedObject.uid=" + meta(object, "uid");
  return itemsOf(c.list(builtin("events"), ns, o));
}

json podsFor(client::ApiClient& c, const api::KindInfo& kind, const json& object) {
  client::ListOptions o;
  if (kind.resource == "nodes") {
    o.fieldSelector =
        "spec.nodeName=" + meta(object, "name") + ",status.phase!=Succeeded,status.phase!=Failed";
    return itemsOf(c.list(builtin("pods"), "", o));
  }
  if (kind.resource != "persistentvolumeclaims") o.labelSelector = selectorOf(object);
  return itemsOf(c.list(builtin("pods"), meta(object, "namespace"), o));
}

DescribeContext contextFor(client::ApiClient& c, const api::KindInfo& kind, const json& object) {
  const DescribeNeeds needs = describeNeeds(kind);
  DescribeContext ctx;
  if (needs.events) ctx.events = eventsAbout(c, kind, object);
  if (needs.pods) ctx.pods = podsFor(c, kind, object);
  const std::string ns = meta(object, "namespace");
  if (needs.replicaSets) {
    client::ListOptions o;
    o.labelSelector = selectorOf(object);
    ctx.replicaSets = itemsOf(c.list(builtin("replicasets"), ns, o));
  }
  if (needs.endpointSlices) {
    client::ListOptions o;
    o.labelSelector = "kubernetes.io/service-name=" + meta(object, "name");
    ctx.endpointSlices = itemsOf(c.list(builtin("endpointslices"), ns, o));
  }
  if (needs.lease) {
    auto lease = c.get(builtin("leases"), "kube-node-lease", meta(object, "name"));
    if (lease.ok()) ctx.lease = std::move(lease).value();
  }
  ctx.now = std::chrono::system_clock::now();
  return ctx;
}

struct Printer {
  Invocation& inv;
  bool first = true;
  void print(const std::string& text) {
    inv.out << (first ? "" : "\n\n") << text;
    first = false;
  }
};

// "TYPE NAME" with no such object: describe every object whose name starts with NAME.
int describePrefix(Invocation& inv, client::ApiClient& c, const api::KindInfo& kind,
                   const std::string& prefix, const Status& notFound) {
  auto list = c.list(kind, kind.namespaced ? inv.namespaceName() : "");
  bool found = false;
  for (const json& item : itemsOf(std::move(list))) {
    if (!meta(item, "name").starts_with(prefix)) continue;
    found = true;
    inv.out << describeObject(kind, item, contextFor(c, kind, item)) << "\n";
  }
  return found ? 0 : inv.fail(notFound);
}

int describeSelection(Invocation& inv, client::ApiClient& c, const ResourceSelection& sel,
                      Printer& printer) {
  const std::string ns = inv.allNamespaces() ? "" : inv.namespaceName();
  if (sel.names.empty()) {
    client::ListOptions o;
    o.labelSelector = inv.args.value("selector");
    auto list = c.list(sel.kind, ns, o);
    if (!list.ok()) return inv.fail(list.status());
    const json all = itemsOf(std::move(list));
    if (all.empty()) {
      inv.err << (inv.allNamespaces() || !sel.kind.namespaced
                      ? std::string("No resources found\n")
                      : "No resources found in " + ns + " namespace.\n");
    }
    for (const json& item : all) {
      printer.print(describeObject(sel.kind, item, contextFor(c, sel.kind, item)));
    }
    return 0;
  }
  int rc = 0;
  for (const auto& name : sel.names) {
    auto object = c.get(sel.kind, inv.namespaceName(), name);
    if (object.ok()) {
      printer.print(describeObject(sel.kind, *object, contextFor(c, sel.kind, *object)));
    } else if (object.status().code() == 404 && inv.args.words.size() == 3) {
      rc = describePrefix(inv, c, sel.kind, name, object.status());
    } else {
      rc = inv.fail(object.status());
    }
  }
  return rc;
}

}  // namespace

int runDescribe(Invocation& inv) {
  const std::vector<std::string> words(inv.args.words.begin() + 1, inv.args.words.end());
  if (words.empty()) {
    return inv.usageError(
        "You must specify the type of resource to describe. Use \"kdctl api-resources\" for a "
        "complete list of supported resources.");
  }
  auto c = inv.client();
  if (!c.ok()) return inv.fail(c.status());
  auto sels = selectResources(inv, words);
  if (!sels.ok()) return inv.failLocal(sels.status());
  for (const auto& sel : *sels) {
    if (!sel.names.empty() && inv.args.has("selector")) {
      return inv.usageError("name cannot be provided when a selector is specified");
    }
  }
  Printer printer{inv};
  int rc = 0;
  for (const auto& sel : *sels) rc = std::max(rc, describeSelection(inv, **c, sel, printer));
  return rc;
}

}  // namespace kd::cli
