// ObjectService's batch verbs: createAll and bindAll answer each object as create() and bind()
// would, and write the accepted ones together.
#include "engine/server/object_service.h"

#include <QtTest>
#include <set>

#include "tests/engine/controllers/test_cluster.h"

using kd::json;
using kd::server::ObjectService;
using kd::testing::TestCluster;

namespace {

const auto& pods() {
  return TestCluster::kind("pods");
}

json pod(const std::string& name) {
  return {{"metadata", {{"name", name}}},
          {"spec", {{"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}};
}

std::string nodeOf(TestCluster& c, const std::string& name) {
  return c.get(pods(), "default", name)["spec"].value("nodeName", "");
}

}  // namespace

class ObjectServiceTest : public QObject {
  Q_OBJECT

 private slots:
  // Five generated characters of 27 give 14.3 million names. 20,000 names drawn in one batch
  // hold ~14 pairs that are the same, and 10,000 more drawn against those 20,000 ~14 that are
  // taken; each must be drawn again (Kubernetes 1.32, RetryGenerateName), not answered with 409.
  void generatedNamesThatAreTakenAreDrawnAgain() {
    TestCluster c;
    c.createNamespace("default");
    const auto& configMaps = TestCluster::kind("configmaps");
    std::vector<ObjectService::NewObject> objects;
    for (int i = 0; i < 20000; ++i) {
      objects.push_back({"default", {{"metadata", {{"generateName", "cm-"}}}}});
    }
    std::set<std::string> names;
    for (auto& r : c.objects().createAll(configMaps, std::move(objects), {})) {
      QVERIFY2(r.ok(), r.ok() ? "" : r.status().message().c_str());
      names.insert(r->object["metadata"]["name"].get<std::string>());
    }
    QCOMPARE(names.size(), size_t(20000));
    for (int i = 0; i < 10000; ++i) {  // create() draws through the same code
      auto r =
          c.objects().create(configMaps, "default", {{"metadata", {{"generateName", "cm-"}}}}, {});
      QVERIFY2(r.ok(), r.ok() ? "" : r.status().message().c_str());
    }
  }

  void createAllAnswersEachObjectAsCreateWould() {
    TestCluster c;
    c.createNamespace("default");
    c.create(pods(), "default", pod("taken"));
    std::vector<ObjectService::NewObject> batch;
    batch.push_back({"default", pod("a")});
    batch.push_back({"default", pod("taken")});
    batch.push_back(
        {"default", {{"metadata", {{"name", "no-containers"}}}, {"spec", json::object()}}});
    batch.push_back({"nowhere", pod("b")});
    batch.push_back(
        {"default", {{"metadata", {{"generateName", "web-"}}}, {"spec", pod("x")["spec"]}}});
    auto results = c.objects().createAll(pods(), std::move(batch), {});
    QCOMPARE(results.size(), size_t(5));
    QVERIFY(results[0].ok());
    QVERIFY(results[0]->created);
    QCOMPARE(results[1].status().code(), 409);
    QCOMPARE(results[1].status().message(), std::string("pods \"taken\" already exists"));
    QCOMPARE(results[2].status().code(), 422);
    QCOMPARE(results[3].status().code(), 404);
    QCOMPARE(results[3].status().message(), std::string("namespaces \"nowhere\" not found"));
    QVERIFY(results[4].ok());
    const std::string generated = results[4]->object["metadata"]["name"].get<std::string>();
    QVERIFY(generated.starts_with("web-") && generated.size() == 9);
    // What the answer says is what was stored, defaults, uid and resourceVersion included.
    for (int i : {0, 4}) {
      const json& answered = results[i]->object;
      const json stored = c.get(pods(), "default", answered["metadata"]["name"].get<std::string>());
      QCOMPARE(stored, answered);
      QVERIFY(!stored["metadata"].value("uid", "").empty());
      QCOMPARE(stored["spec"]["restartPolicy"], json("Always"));
    }
    QVERIFY(!c.exists(pods(), "default", "no-containers"));

    // A dry run answers the same way and writes nothing.
    kd::server::WriteOptions dryRun;
    dryRun.dryRun = true;
    std::vector<ObjectService::NewObject> tried;
    tried.push_back({"default", pod("taken")});
    tried.push_back({"default", pod("new")});
    auto dry = c.objects().createAll(pods(), std::move(tried), dryRun);
    QCOMPARE(dry[0].status().code(), 409);
    QVERIFY(dry[1].ok());
    QVERIFY(!c.exists(pods(), "default", "new"));

    // The engine's own bodies: the answer is the stored metadata only; what is stored is the
    // whole object, as without the option.
    kd::server::WriteOptions engine;
    engine.engineBuilt = true;
    std::vector<ObjectService::NewObject> own;
    own.push_back({"default", pod("own")});
    own.push_back({"default", pod("taken")});
    auto answered = c.objects().createAll(pods(), std::move(own), engine);
    QVERIFY(answered[0].ok());
    QCOMPARE(answered[1].status().code(), 409);
    const json stored = c.get(pods(), "default", "own");
    QCOMPARE(answered[0]->object, json({{"metadata", stored["metadata"]}}));
    QCOMPARE(stored["spec"]["restartPolicy"], json("Always"));
  }

  void bindAllBindsEachPodOnceAndSaysWhyNot() {
    TestCluster c;
    c.createNamespace("default");
    const json fresh = c.create(pods(), "default", pod("fresh"));
    const json stale = c.create(pods(), "default", pod("stale"));
    c.create(pods(), "default", pod("bound"));
    QVERIFY(c.objects().bind("default", "bound", {{"target", {{"name", "n0"}}}}).ok());
    // "stale" changes after the caller saw it: its copy must not be what gets written.
    json relabeled = c.get(pods(), "default", "stale");
    relabeled["metadata"]["labels"] = {{"tier", "web"}};
    QVERIFY(c.objects().update(pods(), "default", "stale", relabeled, {}).ok());

    auto results = c.objects().bindAll({
        {"default", "fresh", "n1", std::make_shared<const json>(fresh)},
        {"default", "stale", "n2", std::make_shared<const json>(stale)},
        {"default", "bound", "n3", nullptr},
        {"default", "missing", "n1", nullptr},
        {"default", "fresh", "n4", nullptr},  // bound by the first entry already
        {"default", "fresh", "", nullptr},
    });
    QCOMPARE(results.size(), size_t(6));
    QVERIFY(results[0].isOk());
    QVERIFY(results[1].isOk());
    QCOMPARE(results[2].code(), 409);
    QCOMPARE(results[2].message(),
             std::string("Operation cannot be fulfilled on pods/binding \"bound\": pod bound is "
                         "already assigned to node \"n0\""));
    QCOMPARE(results[3].code(), 404);
    QCOMPARE(results[4].code(), 409);
    QCOMPARE(results[5].code(), 422);
    QCOMPARE(nodeOf(c, "fresh"), std::string("n1"));
    QCOMPARE(nodeOf(c, "stale"), std::string("n2"));
    QCOMPARE(nodeOf(c, "bound"), std::string("n0"));
    // The relabel written after the caller's copy survives the bind.
    QCOMPARE(c.get(pods(), "default", "stale")["metadata"]["labels"]["tier"], json("web"));
  }

  // As Kubernetes' binding storage: the bound pod says PodScheduled=True, replacing a False
  // condition the scheduler wrote (its reason and message go with it).
  void bindingSetsPodScheduled() {
    TestCluster c;
    c.createNamespace("default");
    c.create(pods(), "default", pod("failed-before"));
    c.create(pods(), "default", pod("plain"));
    kd::server::WriteOptions status;
    status.subresource = "status";
    const json failed = {{"status",
                          {{"conditions",
                            {{{"type", "PodScheduled"},
                              {"status", "False"},
                              {"lastProbeTime", nullptr},
                              {"lastTransitionTime", "2026-01-01T00:00:00Z"},
                              {"reason", "SchedulerError"},
                              {"message", "database is locked"}}}}}}};
    QVERIFY(c.objects()
                .patch(pods(), "default", "failed-before", kd::api::PatchType::StrategicMerge,
                       failed, status)
                .ok());
    QVERIFY(c.objects().bind("default", "failed-before", {{"target", {{"name", "n1"}}}}).ok());
    auto results = c.objects().bindAll({{"default", "plain", "n1", nullptr}});
    QVERIFY(results[0].isOk());
    for (const char* name : {"failed-before", "plain"}) {
      std::vector<json> scheduled;
      const json bound = c.get(pods(), "default", name);
      for (const auto& cond : bound["status"]["conditions"]) {
        if (cond["type"] == "PodScheduled") scheduled.push_back(cond);
      }
      QCOMPARE(scheduled.size(), size_t(1));
      QCOMPARE(scheduled[0]["status"], json("True"));
      QVERIFY(!scheduled[0].contains("reason"));
      QVERIFY(!scheduled[0].contains("message"));
      QVERIFY(kd::server::parseTime(scheduled[0].value("lastTransitionTime", "")).has_value());
      QVERIFY(scheduled[0]["lastTransitionTime"] != json("2026-01-01T00:00:00Z"));
    }
  }
};

QTEST_GUILESS_MAIN(ObjectServiceTest)
#include "object_service_test.moc"
