#pragma once
// A real store and ObjectService in a temporary directory, for controller tests.

#include <QTemporaryDir>
#include <QtTest>
#include <memory>

#include "engine/api/kinds.h"
#include "engine/api/schema.h"
#include "engine/server/object_service.h"
#include "engine/store/sqlite_store.h"

namespace kd::testing {

class TestCluster {
 public:
  TestCluster() {
    auto opened = store::SqliteStore::open(dir_.filePath("store.db").toStdString());
    if (!opened.ok()) qFatal("cannot open store: %s", opened.status().message().c_str());
    store_ = std::move(opened).value();
    objects_ = std::make_unique<server::ObjectService>(
        *store_, api::KindsRegistry::builtin(), api::SchemaRegistry::builtin(),
        [] { return std::chrono::system_clock::now(); });
  }

  server::ObjectService& objects() { return *objects_; }
  std::string dbPath() const { return dir_.filePath("store.db").toStdString(); }
  store::SqliteStore& store() { return *store_; }

  static const api::KindInfo& kind(const char* resource, const char* group = "") {
    const auto* k = api::KindsRegistry::builtin().byResource(group, "v1", resource);
    if (!k) qFatal("no kind %s", resource);
    return *k;
  }

  // Creates an object; fails the test (returns null json) on error.
  json create(const api::KindInfo& kind, const std::string& ns, json body) {
    auto r = objects_->create(kind, ns, std::move(body), {});
    if (!r.ok()) {
      qWarning("create %s failed: %s", kind.resource.c_str(), r.status().message().c_str());
      return nullptr;
    }
    return r->object;
  }

  json createNamespace(const std::string& name) {
    return create(kind("namespaces"), "", {{"metadata", {{"name", name}}}});
  }

  json configMap(const std::string& ns, const std::string& name, json ownerRefs = nullptr) {
    json meta = {{"name", name}};
    if (!ownerRefs.is_null()) meta["ownerReferences"] = std::move(ownerRefs);
    return create(kind("configmaps"), ns, {{"metadata", meta}, {"data", {{"k", "v"}}}});
  }

  bool exists(const api::KindInfo& kind, const std::string& ns, const std::string& name) const {
    return objects_->get(kind, ns, name).ok();
  }

  json get(const api::KindInfo& kind, const std::string& ns, const std::string& name) const {
    auto r = objects_->get(kind, ns, name);
    return r.ok() ? (*r)->parse() : json();
  }

  static json ownerRef(const json& owner, bool block = false) {
    return {{"apiVersion", owner["apiVersion"]},
            {"kind", owner["kind"]},
            {"name", owner["metadata"]["name"]},
            {"uid", owner["metadata"]["uid"]},
            {"blockOwnerDeletion", block}};
  }

 private:
  QTemporaryDir dir_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<server::ObjectService> objects_;
};

}  // namespace kd::testing
