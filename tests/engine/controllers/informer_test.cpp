#include "engine/controllers/informer.h"

#include <QtTest>
#include <mutex>

#include "tests/engine/controllers/test_cluster.h"
#include "tests/support/settle.h"

using kd::json;
using kd::controllers::CachedObject;
using kd::controllers::Informer;
using kd::testing::TestCluster;
using namespace std::chrono_literals;

namespace {

// What the handlers saw, as "add:ns/name", "update:ns/name", "delete:ns/name".
struct Recorder {
  std::mutex mu;
  std::vector<std::string> events;

  kd::controllers::EventHandlers handlers() {
    auto rec = [this](const char* what, const CachedObject& o) {
      std::lock_guard lock(mu);
      events.push_back(std::string(what) + ":" + kd::controllers::objectKey(*o));
    };
    return {[=](const CachedObject& o) { rec("add", o); },
            [=](const CachedObject&, const CachedObject& o) { rec("update", o); },
            [=](const CachedObject& o) { rec("delete", o); }};
  }
  bool saw(const std::string& e) {
    std::lock_guard lock(mu);
    return std::find(events.begin(), events.end(), e) != events.end();
  }
};

}  // namespace

class InformerTest : public QObject {
  Q_OBJECT

 private slots:
  void seesAddsUpdatesAndDeletesAcrossNamespaces() {
    TestCluster c;
    c.createNamespace("a");
    c.createNamespace("b");
    c.configMap("a", "before");
    const auto& cms = TestCluster::kind("configmaps");
    Informer inf(c.objects(), cms);
    Recorder rec;
    inf.addHandlers(rec.handlers());
    inf.start();
    QVERIFY(inf.waitForSync(5s));
    QVERIFY(rec.saw("add:a/before"));
    QVERIFY(inf.get("a", "before") != nullptr);

    c.configMap("b", "later");
    KD_TRY_VERIFY(rec.saw("add:b/later"));
    json cm = c.get(cms, "b", "later");
    cm["data"]["k"] = "changed";
    QVERIFY(c.objects().update(cms, "b", "later", cm, {}).ok());
    KD_TRY_VERIFY(rec.saw("update:b/later"));
    QCOMPARE((*inf.get("b/later"))["data"]["k"], json("changed"));
    QVERIFY(c.objects().remove(cms, "a", "before", {}).ok());
    KD_TRY_VERIFY(rec.saw("delete:a/before"));
    QVERIFY(inf.get("a/before") == nullptr);
    QCOMPARE(inf.list("b").size(), size_t(1));
    QCOMPARE(inf.list().size(), size_t(1));
  }

  // Live events hand the informer the writer's parsed object; a relist parses stored text.
  // Both must give the same cached objects, in either view.
  void liveEventsCacheWhatARelistCaches() {
    for (auto view :
         {kd::controllers::InformerView::Full, kd::controllers::InformerView::Metadata}) {
      TestCluster c;
      c.createNamespace("a");
      const auto& cms = TestCluster::kind("configmaps");
      Informer live(c.objects(), cms, 5min, view);
      live.start();
      QVERIFY(live.waitForSync(5s));
      json cm = {{"apiVersion", "v1"},
                 {"kind", "ConfigMap"},
                 {"metadata",
                  {{"name", "rich"},
                   {"namespace", "a"},
                   {"labels", {{"app", "x"}}},
                   {"annotations",
                    {{"kubectl.kubernetes.io/last-applied-configuration", "{}"}, {"note", "kept"}}},
                   {"managedFields", json::array({{{"manager", "kubectl"}}})}}},
                 {"data", {{"k", "v"}, {"n", "1.5"}}}};
      QVERIFY(c.objects().create(cms, "a", cm, {}).ok());
      KD_TRY_VERIFY(live.get("a/rich") != nullptr);
      Informer relisted(c.objects(), cms, 5min, view);
      relisted.start();
      QVERIFY(relisted.waitForSync(5s));
      QCOMPARE(live.get("a/rich")->dump(), relisted.get("a/rich")->dump());
      const json& meta = (*live.get("a/rich"))["metadata"];
      QCOMPARE(meta["annotations"].dump(), view == kd::controllers::InformerView::Full
                                               ? cm["metadata"]["annotations"].dump()
                                               : json({{"note", "kept"}}).dump());
      QCOMPARE(live.get("a/rich")->contains("data"), view == kd::controllers::InformerView::Full);
    }
  }

  // A big list is parsed on two threads: every object must still land under its own key,
  // each seen once by the handlers.
  void cachesEveryObjectOfABigList() {
    TestCluster c;
    c.createNamespace("a");
    const auto& cms = TestCluster::kind("configmaps");
    constexpr int kCount = 4001;  // above the split, odd so the halves differ
    std::vector<kd::server::ObjectService::NewObject> objects;
    for (int i = 0; i < kCount; ++i) {
      const std::string name = "cm-" + std::to_string(i);
      objects.push_back({"a", {{"metadata", {{"name", name}}}, {"data", {{"name", name}}}}});
    }
    for (const auto& r : c.objects().createAll(cms, std::move(objects), {})) QVERIFY(r.ok());
    Informer inf(c.objects(), cms);
    Recorder rec;
    inf.addHandlers(rec.handlers());
    inf.start();
    QVERIFY(inf.waitForSync(30s));
    QCOMPARE(inf.list().size(), size_t(kCount));
    for (int i = 0; i < kCount; i += 250) {
      const std::string name = "cm-" + std::to_string(i);
      const CachedObject cm = inf.get("a", name);
      QVERIFY(cm != nullptr);
      QCOMPARE((*cm)["data"]["name"], json(name));
    }
    QCOMPARE((*inf.get("a", "cm-4000"))["data"]["name"], json("cm-4000"));
    std::lock_guard lock(rec.mu);
    QCOMPARE(rec.events.size(), size_t(kCount));
  }

  void clusterScopedKeysHaveNoNamespace() {
    TestCluster c;
    Informer inf(c.objects(), TestCluster::kind("namespaces"));
    inf.start();
    QVERIFY(inf.waitForSync(5s));
    c.createNamespace("solo");
    KD_TRY_VERIFY(inf.get("solo") != nullptr);
    QVERIFY(inf.get("ignored-namespace", "solo") != nullptr);
  }

  void relistsAfterCompactionAndKeepsWorking() {
    TestCluster c;
    c.createNamespace("a");
    c.configMap("a", "one");
    const auto& cms = TestCluster::kind("configmaps");
    Informer inf(c.objects(), cms, 50ms);
    Recorder rec;
    inf.addHandlers(rec.handlers());
    inf.start();
    QVERIFY(inf.waitForSync(5s));
    QCOMPARE(inf.listCount(), 1);
    // Writes elsewhere move the revision on; compaction then leaves the configmap watch's
    // last revision behind, so its next resume gets 410 Gone and must list again.
    for (int i = 0; i < 5; ++i) {
      c.create(TestCluster::kind("secrets"), "a",
               {{"metadata", {{"name", "s" + std::to_string(i)}}}});
    }
    QVERIFY(c.store().compact(c.store().currentRevision()).isOk());
    KD_TRY_VERIFY(inf.listCount() >= 2);
    QVERIFY(inf.get("a/one") != nullptr);
    QVERIFY(!rec.saw("delete:a/one"));  // a relist reporting no change reports nothing

    c.configMap("a", "two");
    QVERIFY(c.objects().remove(cms, "a", "one", {}).ok());
    KD_TRY_VERIFY(rec.saw("add:a/two") && rec.saw("delete:a/one"));
    QCOMPARE(inf.list().size(), size_t(1));
  }

  void stopLeavesNoThreadAndIsIdempotent() {
    TestCluster c;
    auto inf = std::make_unique<Informer>(c.objects(), TestCluster::kind("configmaps"));
    inf->start();
    QVERIFY(inf->waitForSync(5s));
    inf->stop();
    inf->stop();
    inf.reset();
    c.createNamespace("after");  // writes after the informer is gone reach no dangling callback
    QVERIFY(c.exists(TestCluster::kind("namespaces"), "", "after"));
  }
};

QTEST_GUILESS_MAIN(InformerTest)
#include "informer_test.moc"
