#include "engine/client/api_client.h"

#include <atomic>
#include <thread>

#include <QTemporaryDir>
#include <QtTest>

#include "engine/api/kinds.h"
#include "engine/server/control_plane.h"
#include "engine/server/pki.h"
#include "tests/support/settle.h"

using kd::json;
using kd::Status;
using kd::client::ApiClient;
using kd::client::ClusterAccess;
using kd::client::ListOptions;
using kd::client::PatchType;
using kd::client::WatchEvent;

namespace {

using namespace std::chrono_literals;

const kd::api::KindInfo& kindOf(const char* resource) {
  const auto* kind = kd::api::KindsRegistry::builtin().resolve(resource);
  Q_ASSERT(kind);
  return *kind;
}

json configMap(const std::string& name, json labels = json::object(), json data = {{"k", "v"}}) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"labels", std::move(labels)}}},
          {"data", std::move(data)}};
}

std::string nameOf(const json& object) {
  return object["metadata"]["name"].get<std::string>();
}

}  // namespace

class ApiClientTest : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase();
  void cleanupTestCase();
  void statusFromResponse_data();
  void statusFromResponse();
  void resourcePaths();
  void crudRoundTrip();
  void conflictAndAlreadyExists();
  void notFound();
  void invalidCarriesCauses();
  void listWithLabelSelectorAndTable();
  void watchDeliversEventsInOrder();
  void watchCallbackAndCancel();
  void watchRefusedIsStatus();
  void concurrentRequests();
  void discoveryAndVersion();
  void wrongCaFailsClearly();
  void insecureSkipVerifyAcceptsAnyCa();
  void noCredentialsIsUnauthorized();
  void reconnectsAfterEngineRestart();

 private:
  std::unique_ptr<ApiClient> clientFor(const ClusterAccess& access) {
    auto client = ApiClient::create(access);
    if (!client) qFatal("%s", client.status().message().c_str());
    return std::move(*client);
  }
  Status startEngine() {
    kd::server::ControlPlaneOptions options;
    options.dataDir = dir_.filePath("engine").toStdString();
    options.writeKubeconfig = false;
    options.port = port_;
    plane_ = std::make_unique<kd::server::ControlPlane>(options);
    Status st = plane_->start();
    port_ = plane_->port();
    return st;
  }

  QTemporaryDir dir_;
  uint16_t port_ = 0;
  std::unique_ptr<kd::server::ControlPlane> plane_;
  ClusterAccess access_;
  std::unique_ptr<ApiClient> client_;
};

void ApiClientTest::initTestCase() {
  QVERIFY(dir_.isValid());
  Status st = startEngine();
  QVERIFY2(st.isOk(), st.message().c_str());
  auto access = kd::client::loadClusterAccess(plane_->standaloneKubeconfig(), "");
  QVERIFY2(access.ok(), access.status().message().c_str());
  access_ = *access;
  client_ = clientFor(access_);
}

void ApiClientTest::cleanupTestCase() {
  client_.reset();
  if (plane_) plane_->stop();
}

void ApiClientTest::statusFromResponse_data() {
  QTest::addColumn<int>("http");
  QTest::addColumn<QString>("body");
  QTest::addColumn<int>("code");
  QTest::addColumn<QString>("reason");
  QTest::addColumn<QString>("message");
  QTest::newRow("status body")
      << 404
      << R"({"kind":"Status","code":404,"reason":"NotFound","message":"pods \"x\" not found"})"
      << 404 << "NotFound"
      << R"(pods "x" not found)";
  QTest::newRow("already exists")
      << 409 << R"({"kind":"Status","code":409,"reason":"AlreadyExists","message":"m"})" << 409
      << "AlreadyExists"
      << "m";
  QTest::newRow("unknown reason keeps code")
      << 503 << R"({"kind":"Status","code":503,"reason":"Whatever","message":"m"})" << 503
      << "ServiceUnavailable"
      << "m";
  QTest::newRow("not a status") << 502 << "<html>bad gateway</html>" << 500 << "InternalError"
                                << "the server answered HTTP 502: <html>bad gateway</html>";
  QTest::newRow("empty 403") << 403 << "" << 403 << "Forbidden"
                             << "the server answered HTTP 403: (no body)";
}

void ApiClientTest::statusFromResponse() {
  QFETCH(int, http);
  QFETCH(QString, body);
  QFETCH(int, code);
  QFETCH(QString, reason);
  QFETCH(QString, message);
  Status st = kd::client::statusFromResponse(http, body.toStdString());
  QCOMPARE(st.code(), code);
  QCOMPARE(QString::fromStdString(st.reason()), reason);
  QCOMPARE(QString::fromStdString(st.message()), message);
}

void ApiClientTest::resourcePaths() {
  QCOMPARE(ApiClient::resourcePath(kindOf("pods"), "ns1", "p", "status"),
           std::string("/api/v1/namespaces/ns1/pods/p/status"));
  QCOMPARE(ApiClient::resourcePath(kindOf("deployments"), "", ""),
           std::string("/apis/apps/v1/deployments"));
  QCOMPARE(ApiClient::resourcePath(kindOf("namespaces"), "ignored", "n"),
           std::string("/api/v1/namespaces/n"));
  ListOptions o;
  o.labelSelector = "app in (a,b)";
  o.limit = 5;
  QCOMPARE(ApiClient::listQuery(o, true),
           std::string("?labelSelector=app%20in%20%28a%2Cb%29&limit=5&watch=true"));
}

void ApiClientTest::crudRoundTrip() {
  const auto& cm = kindOf("configmaps");
  auto created = client_->create(cm, "default", configMap("crud"));
  QVERIFY2(created.ok(), created.status().message().c_str());
  QVERIFY(!(*created)["metadata"]["resourceVersion"].get<std::string>().empty());

  auto got = client_->get(cm, "", "crud");  // "" = the context's namespace, "default"
  QVERIFY(got.ok());
  QCOMPARE((*got)["data"]["k"], json("v"));

  json changed = *got;
  changed["data"]["k"] = "v2";
  auto updated = client_->update(cm, "default", changed);
  QVERIFY2(updated.ok(), updated.status().message().c_str());
  QCOMPARE((*updated)["data"]["k"], json("v2"));

  auto patched = client_->patch(cm, "default", "crud", PatchType::Merge, R"({"data":{"p":"1"}})");
  QVERIFY2(patched.ok(), patched.status().message().c_str());
  QCOMPARE((*patched)["data"], json({{"k", "v2"}, {"p", "1"}}));

  auto removed = client_->remove(cm, "default", "crud");
  QVERIFY2(removed.ok(), removed.status().message().c_str());
  QCOMPARE(client_->get(cm, "default", "crud").status().code(), 404);
}

void ApiClientTest::conflictAndAlreadyExists() {
  const auto& cm = kindOf("configmaps");
  auto created = client_->create(cm, "default", configMap("conflict"));
  QVERIFY(created.ok());
  json stale = *created;
  QVERIFY(
      client_->patch(cm, "default", "conflict", PatchType::Merge, R"({"data":{"a":"b"}})").ok());

  auto conflict = client_->update(cm, "default", stale);
  QVERIFY(!conflict.ok());
  QCOMPARE(conflict.status().code(), 409);
  QCOMPARE(conflict.status().reason(), std::string("Conflict"));
  QVERIFY(!conflict.status().message().empty());

  auto again = client_->create(cm, "default", configMap("conflict"));
  QCOMPARE(again.status().code(), 409);
  QCOMPARE(again.status().reason(), std::string("AlreadyExists"));
  QCOMPARE(again.status().detailName(), std::string("conflict"));
}

void ApiClientTest::notFound() {
  auto missing = client_->get(kindOf("pods"), "default", "no-such-pod");
  QCOMPARE(missing.status().code(), 404);
  QCOMPARE(missing.status().reason(), std::string("NotFound"));
  QVERIFY(missing.status().message().find("no-such-pod") != std::string::npos);
  QCOMPARE(client_->remove(kindOf("configmaps"), "default", "nope").status().code(), 404);
}

void ApiClientTest::invalidCarriesCauses() {
  json deploy = {{"apiVersion", "apps/v1"},
                 {"kind", "Deployment"},
                 {"metadata", {{"name", "bad"}}},
                 {"spec",
                  {{"replicas", -1},
                   {"selector", {{"matchLabels", {{"app", "x"}}}}},
                   {"template",
                    {{"metadata", {{"labels", {{"app", "x"}}}}},
                     {"spec", {{"containers", {{{"name", "c"}, {"image", "nginx"}}}}}}}}}}};
  auto result = client_->create(kindOf("deployments"), "default", deploy);
  QCOMPARE(result.status().code(), 422);
  QCOMPARE(result.status().reason(), std::string("Invalid"));
  const auto& causes = result.status().causes();
  QVERIFY(!causes.empty());
  QVERIFY(std::any_of(causes.begin(), causes.end(),
                      [](const auto& c) { return c.field == "spec.replicas"; }));
}

void ApiClientTest::listWithLabelSelectorAndTable() {
  const auto& cm = kindOf("configmaps");
  QVERIFY(client_->create(cm, "kube-public", configMap("sel-a", {{"tier", "web"}})).ok());
  QVERIFY(client_->create(cm, "kube-public", configMap("sel-b", {{"tier", "db"}})).ok());
  ListOptions o;
  o.labelSelector = "tier=web";
  auto list = client_->list(cm, "kube-public", o);
  QVERIFY2(list.ok(), list.status().message().c_str());
  QCOMPARE((*list)["items"].size(), size_t(1));
  QCOMPARE(nameOf((*list)["items"][0]), std::string("sel-a"));

  auto everywhere = client_->list(cm, "", o);  // all namespaces
  QVERIFY(everywhere.ok());
  QCOMPARE((*everywhere)["items"].size(), size_t(1));

  auto table = client_->table(cm, "kube-public", {});
  QVERIFY2(table.ok(), table.status().message().c_str());
  QCOMPARE((*table)["kind"], json("Table"));
  // The two made here and kube-root-ca.crt, which every namespace has.
  QCOMPARE((*table)["rows"].size(), size_t(3));
  QVERIFY(!(*table)["columnDefinitions"].empty());
}

void ApiClientTest::watchDeliversEventsInOrder() {
  const auto& cm = kindOf("configmaps");
  auto watch = client_->watch(cm, "kube-system");
  QVERIFY2(watch.ok(), watch.status().message().c_str());
  QVERIFY(client_->create(cm, "kube-system", configMap("w")).ok());
  QVERIFY(client_->patch(cm, "kube-system", "w", PatchType::Merge, R"({"data":{"x":"y"}})").ok());
  QVERIFY(client_->remove(cm, "kube-system", "w").ok());

  std::vector<std::string> types;
  while (types.size() < 3) {
    auto ev = (*watch)->next(5s);
    QVERIFY2(ev.has_value(), "watch event did not arrive");
    // A watch from now starts with the existing objects (kube-root-ca.crt) as ADDED.
    if (ev->type == "BOOKMARK" || nameOf(ev->object) != "w") continue;
    types.push_back(ev->type);
  }
  QCOMPARE(types, (std::vector<std::string>{"ADDED", "MODIFIED", "DELETED"}));
  (*watch)->cancel();
  QVERIFY((*watch)->ended());
  QVERIFY((*watch)->endStatus().isOk());
}

void ApiClientTest::watchCallbackAndCancel() {
  const auto& cm = kindOf("configmaps");
  std::mutex mu;
  std::condition_variable cv;
  std::vector<WatchEvent> seen;
  kd::client::WatchHandlers handlers;
  handlers.onEvent = [&](WatchEvent ev) {
    std::lock_guard lock(mu);
    seen.push_back(std::move(ev));
    cv.notify_all();
  };
  std::atomic<bool> closed{false};
  handlers.onClosed = [&](const Status&) { closed = true; };
  ListOptions o;
  o.labelSelector = "cb=yes";
  auto watch = client_->watch(cm, "", o, handlers);
  QVERIFY(watch.ok());
  QVERIFY(client_->create(cm, "default", configMap("cb-no")).ok());
  QVERIFY(client_->create(cm, "default", configMap("cb-yes", {{"cb", "yes"}})).ok());
  {
    std::unique_lock lock(mu);
    QVERIFY(cv.wait_for(lock, 5s, [&] { return !seen.empty(); }));
    QCOMPARE(seen.size(), size_t(1));
    QCOMPARE(nameOf(seen[0].object), std::string("cb-yes"));
  }
  (*watch)->cancel();
  QVERIFY(!closed);  // cancel is not a close the caller must react to
}

void ApiClientTest::watchRefusedIsStatus() {
  ClusterAccess anonymous = access_;
  anonymous.clientCertPem.clear();
  anonymous.clientKeyPem.clear();
  auto watch = clientFor(anonymous)->watch(kindOf("pods"), "");
  QVERIFY(!watch.ok());
  QVERIFY2(watch.status().code() == 401, watch.status().message().c_str());
}

void ApiClientTest::concurrentRequests() {
  const auto& cm = kindOf("configmaps");
  constexpr int kThreads = 8, kPerThread = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        json obj =
            configMap("conc-" + std::to_string(t) + "-" + std::to_string(i), {{"conc", "1"}});
        if (!client_->create(cm, "default", obj).ok()) ++failures;
        if (!client_->get(cm, "default", nameOf(obj)).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  QCOMPARE(failures.load(), 0);
  ListOptions o;
  o.labelSelector = "conc=1";
  auto list = client_->list(cm, "default", o);
  QVERIFY2(list.ok(), list.status().message().c_str());
  QCOMPARE((*list)["items"].size(), size_t(kThreads * kPerThread));
}

void ApiClientTest::discoveryAndVersion() {
  auto version = client_->serverVersion();
  QVERIFY2(version.ok(), version.status().message().c_str());
  QVERIFY(version->contains("gitVersion"));

  auto found = client_->discover();
  QVERIFY2(found.ok(), found.status().message().c_str());
  auto has = [&](const std::string& group, const std::string& resource) {
    return std::any_of(found->kinds.begin(), found->kinds.end(),
                       [&](const auto& k) { return k.group == group && k.resource == resource; });
  };
  QVERIFY(has("", "pods"));
  QVERIFY(has("apps", "deployments"));
  for (const auto& k : found->kinds) {
    if (k.group == "apps" && k.resource == "deployments") {
      QCOMPARE(k.kind, std::string("Deployment"));
      QVERIFY(k.namespaced);
      QVERIFY(k.hasSubresource("scale"));
    }
  }
  QVERIFY(!found->preferredVersions.empty());
}

void ApiClientTest::wrongCaFailsClearly() {
  auto otherPki = kd::server::loadOrCreatePki((dir_.filePath("other-pki")).toStdString());
  QVERIFY(otherPki.ok());
  ClusterAccess wrong = access_;
  wrong.caPem = otherPki->caCertPem;
  auto result = clientFor(wrong)->get(kindOf("namespaces"), "", "default");
  QVERIFY(!result.ok());
  QCOMPARE(result.status().code(), 503);
  QVERIFY2(result.status().message().find("certificate verification failed") != std::string::npos,
           result.status().message().c_str());
}

void ApiClientTest::insecureSkipVerifyAcceptsAnyCa() {
  auto otherPki = kd::server::loadOrCreatePki((dir_.filePath("other-pki")).toStdString());
  QVERIFY(otherPki.ok());
  ClusterAccess insecure = access_;
  insecure.caPem = otherPki->caCertPem;
  insecure.insecureSkipTlsVerify = true;
  auto result = clientFor(insecure)->get(kindOf("namespaces"), "", "default");
  QVERIFY2(result.ok(), result.status().message().c_str());
}

void ApiClientTest::noCredentialsIsUnauthorized() {
  ClusterAccess anonymous = access_;
  anonymous.clientCertPem.clear();
  anonymous.clientKeyPem.clear();
  auto result = clientFor(anonymous)->list(kindOf("pods"), "default");
  QCOMPARE(result.status().code(), 401);
  QCOMPARE(result.status().reason(), std::string("Unauthorized"));

  anonymous.token = "not-a-token";
  QCOMPARE(clientFor(anonymous)->list(kindOf("pods"), "default").status().code(), 401);
}

void ApiClientTest::reconnectsAfterEngineRestart() {
  const auto& cm = kindOf("configmaps");
  QVERIFY(client_->create(cm, "default", configMap("before-restart")).ok());  // pools a connection
  auto watch = client_->watch(cm, "default");
  QVERIFY(watch.ok());

  plane_->stop();
  plane_.reset();
  KD_TRY_VERIFY((*watch)->ended());
  QVERIFY(!(*watch)->endStatus().isOk());
  QCOMPARE(client_->get(cm, "default", "before-restart").status().code(), 503);

  Status st = startEngine();
  QVERIFY2(st.isOk(), st.message().c_str());
  auto got = client_->get(cm, "default", "before-restart");
  QVERIFY2(got.ok(), got.status().message().c_str());
  QVERIFY(client_->create(cm, "default", configMap("after-restart")).ok());
}

QTEST_GUILESS_MAIN(ApiClientTest)
#include "api_client_test.moc"
