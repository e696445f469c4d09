// The engine's load balancer (engine/server/load_balancer_proxy.h) in a real control plane: a
// real store and API server on loopback, Services written through the real API client, and
// real TCP peers on 127.0.0.1 — the test's clients, and a listener of the test's own that takes
// a port first. No node agent runs here: reaching pods is tests/e2e/load_balancer_e2e_test.cpp.

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <QTemporaryDir>
#include <QtTest>
#include <memory>

#include "engine/api/kinds.h"
#include "engine/client/api_client.h"
#include "engine/client/kubeconfig.h"
#include "engine/server/control_plane.h"
#include "tests/support/loopback.h"
#include "tests/support/settle.h"

using kd::json;
using kd::client::ApiClient;
using kd::client::PatchType;
using kd::testing::freePort;
using kd::testing::listenOnLoopback;
using kd::testing::loopback;

namespace {

const kd::api::KindInfo& kindOf(const char* resource) {
  const auto* kind = kd::api::KindsRegistry::builtin().resolve(resource);
  Q_ASSERT(kind);
  return *kind;
}

// A TCP listener of the test's own on 127.0.0.1, at a free port.
class PortHolder {
 public:
  PortHolder() : fd_(listenOnLoopback(&port_)) {
    if (fd_ < 0) qFatal("cannot listen on 127.0.0.1");
  }
  ~PortHolder() { release(); }
  void release() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  uint16_t port() const { return port_; }

 private:
  uint16_t port_ = 0;
  int fd_ = -1;
};

enum class Peer { Refused, ClosedAtOnce, Open };

// Connects to 127.0.0.1:port and says what the other side did within two seconds.
Peer probe(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = loopback(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return Peer::Refused;
  }
  pollfd p{fd, POLLIN, 0};
  char byte;
  const bool ended = ::poll(&p, 1, 2000) == 1 && ::recv(fd, &byte, 1, 0) <= 0;
  ::close(fd);
  return ended ? Peer::ClosedAtOnce : Peer::Open;
}

json service(const std::string& name, json ports, json extraSpec = json::object()) {
  json spec = {{"type", "LoadBalancer"}, {"selector", {{"app", name}}}, {"ports", ports}};
  spec.merge_patch(extraSpec);
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", {{"name", name}}},
          {"spec", std::move(spec)}};
}

json tcpPort(uint16_t port, const std::string& name = "") {
  json p = {{"port", port}, {"protocol", "TCP"}, {"targetPort", 80}};
  if (!name.empty()) p["name"] = name;
  return p;
}

}  // namespace

class LoadBalancerProxyTest : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase();
  void cleanupTestCase();
  void listensAndWritesIngress();
  void closesConnectionsWithoutReadyEndpoints();
  void reportsTakenPortUntilFreed();
  void reportsUdpPorts();
  void typeChangeClosesPortAndClearsStatus();
  void leavesOtherLoadBalancerClassesAlone();
  void allocatesNoNodePortsWhenAskedNot();
  void deletionClosesPort();
  void listenersComeBackAfterRestart();

 private:
  kd::Status startEngine() {
    kd::server::ControlPlaneOptions options;
    options.dataDir = dir_.filePath("engine").toStdString();
    options.writeKubeconfig = false;
    options.port = apiPort_;
    plane_ = std::make_unique<kd::server::ControlPlane>(options);
    kd::Status st = plane_->start();
    if (!st.isOk()) return st;
    apiPort_ = plane_->port();
    auto access = kd::client::loadClusterAccess(plane_->standaloneKubeconfig(), "");
    if (!access.ok()) return access.status();
    auto client = ApiClient::create(*access);
    if (!client.ok()) return client.status();
    client_ = std::move(client).value();
    return {};
  }

  json get(const std::string& name) {
    auto got = client_->get(kindOf("services"), "default", name);
    return got.ok() ? *got : json();
  }
  json ingress(const std::string& name) {
    return get(name).value("/status/loadBalancer/ingress"_json_pointer, json());
  }
  // The error of the Service's port `i` in its first ingress; "" when there is none (yet).
  std::string portError(const std::string& name, int i) {
    const json::json_pointer at("/status/loadBalancer/ingress/0/ports/" + std::to_string(i) +
                                "/error");
    return get(name).value(at, "");
  }
  // The messages of the Service's events with `reason`.
  QStringList events(const std::string& name, const std::string& reason) {
    auto list = client_->list(kindOf("events"), "default");
    QStringList out;
    if (!list.ok()) return out;
    for (const auto& e : (*list)["items"]) {
      if (e.value("/involvedObject/name"_json_pointer, "") == name &&
          e.value("reason", "") == reason) {
        out << QString::fromStdString(e.value("message", ""));
      }
    }
    return out;
  }
  void create(const json& object) {
    auto created = client_->create(kindOf("services"), "default", object);
    QVERIFY2(created.ok(), created.status().message().c_str());
  }

  QTemporaryDir dir_;
  uint16_t apiPort_ = 0;
  std::unique_ptr<kd::server::ControlPlane> plane_;
  std::unique_ptr<ApiClient> client_;
};

void LoadBalancerProxyTest::initTestCase() {
  QVERIFY(dir_.isValid());
  kd::Status st = startEngine();
  QVERIFY2(st.isOk(), st.message().c_str());
}

void LoadBalancerProxyTest::cleanupTestCase() {
  client_.reset();
  plane_.reset();
}

void LoadBalancerProxyTest::listensAndWritesIngress() {
  const uint16_t a = freePort(), b = freePort();
  create(service("web", {tcpPort(a, "http"), tcpPort(b, "alt")}));
  const json expected = {
      {{"ip", "127.0.0.1"},
       {"ipMode", "VIP"},
       {"ports", {{{"port", a}, {"protocol", "TCP"}}, {{"port", b}, {"protocol", "TCP"}}}}}};
  KD_TRY_COMPARE(ingress("web"), expected);
  // Written once the listeners are up: both ports answer now.
  QVERIFY(probe(a) != Peer::Refused);
  QVERIFY(probe(b) != Peer::Refused);
  KD_TRY_COMPARE(events("web", "EnsuredLoadBalancer"), QStringList{"Ensured load balancer"});
  QCOMPARE(events("web", "EnsuringLoadBalancer"), QStringList{"Ensuring load balancer"});
  // kubectl get svc prints the address from the same Table.
  auto table = client_->table(kindOf("services"), "default", {}, "web");
  QVERIFY2(table.ok(), table.status().message().c_str());
  const json& cells = (*table)["rows"][0]["cells"];
  QCOMPARE(cells[3], json("127.0.0.1"));
}

void LoadBalancerProxyTest::closesConnectionsWithoutReadyEndpoints() {
  const uint16_t port = freePort();
  create(service("empty", {tcpPort(port)}));
  KD_TRY_VERIFY(!ingress("empty").is_null());
  // Nothing matches the selector: accepted, then closed at once.
  QCOMPARE(probe(port), Peer::ClosedAtOnce);
  QCOMPARE(probe(port), Peer::ClosedAtOnce);
}

void LoadBalancerProxyTest::reportsTakenPortUntilFreed() {
  auto holder = std::make_unique<PortHolder>();
  const uint16_t taken = holder->port(), free = freePort();
  create(service("clash", {tcpPort(taken, "taken"), tcpPort(free, "free")}));
  const json expected = {
      {{"ip", "127.0.0.1"},
       {"ipMode", "VIP"},
       {"ports",
        {{{"port", taken}, {"protocol", "TCP"}, {"error", "kubedesk.io/PortInUse"}},
         {{"port", free}, {"protocol", "TCP"}}}}}};
  KD_TRY_COMPARE(ingress("clash"), expected);
  QVERIFY(probe(free) != Peer::Refused);
  KD_TRY_VERIFY(!events("clash", "SyncLoadBalancerFailed").isEmpty());
  const QString message = events("clash", "SyncLoadBalancerFailed").front();
  QVERIFY2(message.startsWith("Error syncing load balancer: failed to ensure load balancer: ") &&
               message.contains("127.0.0.1:" + QString::number(taken) + " is already in use"),
           qPrintable(message));
  // Once the port is free again the retry (5 s back-off) takes it and clears the error.
  holder.reset();
  QTRY_VERIFY_WITH_TIMEOUT(portError("clash", 0).empty() && probe(taken) != Peer::Refused, 30000);
}

void LoadBalancerProxyTest::reportsUdpPorts() {
  const uint16_t port = freePort();
  create(service("dns", {{{"port", port}, {"protocol", "UDP"}, {"name", "dns"}}}));
  KD_TRY_COMPARE(portError("dns", 0), std::string("kubedesk.io/ProtocolNotSupported"));
  KD_TRY_VERIFY(!events("dns", "SyncLoadBalancerFailed").isEmpty());
  QVERIFY(events("dns", "SyncLoadBalancerFailed").front().contains("forwards TCP only"));
}

void LoadBalancerProxyTest::typeChangeClosesPortAndClearsStatus() {
  const uint16_t port = freePort();
  create(service("switch", {tcpPort(port)}));
  KD_TRY_VERIFY(!ingress("switch").is_null());
  QVERIFY(!get("switch")["spec"]["ports"][0].value("nodePort", json()).is_null());
  // As kubectl patch sends it: the node ports stay in the body and are dropped by the server.
  auto patched = client_->patch(kindOf("services"), "default", "switch", PatchType::StrategicMerge,
                                R"({"spec":{"type":"ClusterIP"}})");
  QVERIFY2(patched.ok(), patched.status().message().c_str());
  QVERIFY(!(*patched)["spec"]["ports"][0].contains("nodePort"));
  KD_TRY_VERIFY(ingress("switch").is_null());
  QCOMPARE(probe(port), Peer::Refused);
  KD_TRY_COMPARE(events("switch", "DeletedLoadBalancer"), QStringList{"Deleted load balancer"});
  // And back: the port opens again.
  patched = client_->patch(kindOf("services"), "default", "switch", PatchType::Merge,
                           R"({"spec":{"type":"LoadBalancer"}})");
  QVERIFY2(patched.ok(), patched.status().message().c_str());
  KD_TRY_VERIFY(!ingress("switch").is_null());
  QVERIFY(probe(port) != Peer::Refused);
}

void LoadBalancerProxyTest::leavesOtherLoadBalancerClassesAlone() {
  const uint16_t port = freePort();
  create(service("classy", {tcpPort(port)}, {{"loadBalancerClass", "example.com/other"}}));
  // A Service created after it is handled, so by then this one was looked at too.
  const uint16_t marker = freePort();
  create(service("after-classy", {tcpPort(marker)}));
  KD_TRY_VERIFY(!ingress("after-classy").is_null());
  QVERIFY(ingress("classy").is_null());
  QCOMPARE(probe(port), Peer::Refused);
  QVERIFY(events("classy", "EnsuringLoadBalancer").isEmpty());
}

void LoadBalancerProxyTest::allocatesNoNodePortsWhenAskedNot() {
  const uint16_t port = freePort();
  create(service("no-node-ports", {tcpPort(port)}, {{"allocateLoadBalancerNodePorts", false}}));
  const json spec = get("no-node-ports")["spec"];
  QCOMPARE(spec["allocateLoadBalancerNodePorts"], json(false));
  QVERIFY(!spec["ports"][0].contains("nodePort"));
  KD_TRY_VERIFY(!ingress("no-node-ports").is_null());
  QVERIFY(probe(port) != Peer::Refused);
}

void LoadBalancerProxyTest::deletionClosesPort() {
  const uint16_t port = freePort();
  create(service("gone", {tcpPort(port)}));
  KD_TRY_VERIFY(!ingress("gone").is_null());
  auto removed = client_->remove(kindOf("services"), "default", "gone");
  QVERIFY2(removed.ok(), removed.status().message().c_str());
  KD_TRY_COMPARE(probe(port), Peer::Refused);
}

void LoadBalancerProxyTest::listenersComeBackAfterRestart() {
  const uint16_t port = freePort();
  create(service("durable", {tcpPort(port)}));
  KD_TRY_VERIFY(!ingress("durable").is_null());
  client_.reset();
  plane_.reset();
  QCOMPARE(probe(port), Peer::Refused);
  kd::Status st = startEngine();
  QVERIFY2(st.isOk(), st.message().c_str());
  KD_TRY_VERIFY(probe(port) != Peer::Refused);
  QVERIFY(!ingress("durable").is_null());
  QCOMPARE(portError("durable", 0), std::string());
}

QTEST_GUILESS_MAIN(LoadBalancerProxyTest)
#include "load_balancer_proxy_test.moc"
