#include "engine/controllers/garbage_collector.h"

#include <QtTest>

#include "engine/controllers/controller_manager.h"
#include "tests/engine/controllers/test_cluster.h"
#include "tests/support/settle.h"

using kd::json;
using kd::controllers::ControllerManager;
using kd::controllers::GarbageCollector;
using kd::server::DeleteOptions;
using kd::testing::TestCluster;

namespace {

json pod(const std::string& name, const json& owner) {
  return {{"metadata", {{"name", name}, {"ownerReferences", {TestCluster::ownerRef(owner, true)}}}},
          {"spec", {{"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}};
}

json replicaSet(const std::string& name) {
  json labels = {{"app", name}};
  return {{"metadata", {{"name", name}}},
          {"spec",
           {{"selector", {{"matchLabels", labels}}},
            {"template",
             {{"metadata", {{"labels", labels}}},
              {"spec", {{"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}}}}}};
}

DeleteOptions propagation(const char* policy) {
  DeleteOptions o;
  o.propagationPolicy = policy;
  return o;
}

}  // namespace

class GarbageCollectorTest : public QObject {
  Q_OBJECT

  std::unique_ptr<TestCluster> c_;
  std::unique_ptr<ControllerManager> manager_;
  GarbageCollector* gc_ = nullptr;
  const kd::api::KindInfo& cms_ = TestCluster::kind("configmaps");

 private slots:
  void init() {
    c_ = std::make_unique<TestCluster>();
    c_->createNamespace("ns");
    manager_ = std::make_unique<ControllerManager>(c_->objects());
    auto gc = std::make_unique<GarbageCollector>(c_->objects());
    gc_ = gc.get();
    manager_->add(std::move(gc));
    QVERIFY(manager_->start().isOk());
  }
  void cleanup() {
    manager_.reset();
    c_.reset();
  }

  void backgroundDeletesAReplicaSetsPods() {
    const auto& rsKind = TestCluster::kind("replicasets", "apps");
    const auto& pods = TestCluster::kind("pods");
    json rs = c_->create(rsKind, "ns", replicaSet("web"));
    QVERIFY(!rs.is_null());
    for (const char* p : {"web-1", "web-2"}) QVERIFY(!c_->create(pods, "ns", pod(p, rs)).is_null());
    QVERIFY(!c_->create(pods, "ns",
                        {{"metadata", {{"name", "loner"}}},
                         {"spec", {{"containers", {{{"name", "c"}, {"image", "b"}}}}}}})
                 .is_null());
    KD_TRY_COMPARE(gc_->dependentsOf(rs["metadata"]["uid"]).size(), size_t(2));

    QVERIFY(c_->objects().remove(rsKind, "ns", "web", propagation("Background"))->deletedNow);
    KD_TRY_VERIFY(!c_->exists(pods, "ns", "web-1") && !c_->exists(pods, "ns", "web-2"));
    QVERIFY(c_->exists(pods, "ns", "loner"));
  }

  void foregroundDeletesDependentsFirstThenTheOwner() {
    json owner = c_->configMap("ns", "owner");
    json child = c_->configMap("ns", "child", {TestCluster::ownerRef(owner, true)});
    // A grandchild held by a finalizer keeps the whole chain waiting.
    QVERIFY(!c_->create(cms_, "ns",
                        {{"metadata",
                          {{"name", "grandchild"},
                           {"finalizers", {"example.com/hold"}},
                           {"ownerReferences", {TestCluster::ownerRef(child, true)}}}}})
                 .is_null());
    KD_TRY_COMPARE(gc_->dependentsOf(child["metadata"]["uid"]).size(), size_t(1));

    auto r = c_->objects().remove(cms_, "ns", "owner", propagation("Foreground"));
    QVERIFY(r.ok() && !r->deletedNow);
    KD_TRY_VERIFY(c_->get(cms_, "ns", "grandchild")["metadata"].contains("deletionTimestamp"));
    QVERIFY(c_->exists(cms_, "ns", "owner"));
    QVERIFY(c_->exists(cms_, "ns", "child"));
    QCOMPARE(c_->get(cms_, "ns", "child")["metadata"]["finalizers"],
             json::array({"foregroundDeletion"}));

    json gc = c_->get(cms_, "ns", "grandchild");
    gc["metadata"]["finalizers"] = json::array();
    QVERIFY(c_->objects().update(cms_, "ns", "grandchild", gc, {}).ok());
    KD_TRY_VERIFY(!c_->exists(cms_, "ns", "owner"));
    QVERIFY(!c_->exists(cms_, "ns", "child"));
    QVERIFY(!c_->exists(cms_, "ns", "grandchild"));
  }

  void foregroundOwnerWithoutBlockingDependentsGoesAtOnce() {
    json owner = c_->configMap("ns", "owner");
    c_->configMap("ns", "loose", {TestCluster::ownerRef(owner, false)});
    KD_TRY_COMPARE(gc_->dependentsOf(owner["metadata"]["uid"]).size(), size_t(1));
    QVERIFY(c_->objects().remove(cms_, "ns", "owner", propagation("Foreground")).ok());
    KD_TRY_VERIFY(!c_->exists(cms_, "ns", "owner") && !c_->exists(cms_, "ns", "loose"));
  }

  void orphanKeepsDependentsAndStripsTheReference() {
    json owner = c_->configMap("ns", "owner");
    json other = c_->configMap("ns", "other");
    c_->configMap("ns", "child",
                  {TestCluster::ownerRef(owner, true), TestCluster::ownerRef(other, false)});
    KD_TRY_COMPARE(gc_->dependentsOf(owner["metadata"]["uid"]).size(), size_t(1));
    QVERIFY(c_->objects().remove(cms_, "ns", "owner", propagation("Orphan")).ok());
    KD_TRY_VERIFY(!c_->exists(cms_, "ns", "owner"));
    json child = c_->get(cms_, "ns", "child");
    QVERIFY(!child.is_null());
    QCOMPARE(child["metadata"]["ownerReferences"].size(), size_t(1));
    QCOMPARE(child["metadata"]["ownerReferences"][0]["name"], json("other"));
  }

  void dependentWithAnotherLiveOwnerSurvives() {
    json a = c_->configMap("ns", "a");
    json b = c_->configMap("ns", "b");
    c_->configMap("ns", "shared", {TestCluster::ownerRef(a), TestCluster::ownerRef(b)});
    c_->configMap("ns", "only-a", {TestCluster::ownerRef(a)});
    KD_TRY_COMPARE(gc_->dependentsOf(a["metadata"]["uid"]).size(), size_t(2));
    QVERIFY(c_->objects().remove(cms_, "ns", "a", propagation("Background")).ok());
    KD_TRY_VERIFY(!c_->exists(cms_, "ns", "only-a"));
    KD_TRY_COMPARE(c_->get(cms_, "ns", "shared")["metadata"]["ownerReferences"].size(), size_t(1));
    QCOMPARE(c_->get(cms_, "ns", "shared")["metadata"]["ownerReferences"][0]["name"], json("b"));
  }

  void ownerReplacedUnderTheSameNameCountsAsGone() {
    json old = c_->configMap("ns", "owner");
    QVERIFY(c_->objects().remove(cms_, "ns", "owner", {}).ok());
    c_->configMap("ns", "owner");  // same name, new uid
    c_->configMap("ns", "stale-child", {TestCluster::ownerRef(old)});
    KD_TRY_VERIFY(!c_->exists(cms_, "ns", "stale-child"));
    QVERIFY(c_->exists(cms_, "ns", "owner"));
  }
};

QTEST_GUILESS_MAIN(GarbageCollectorTest)
#include "garbage_collector_test.moc"
