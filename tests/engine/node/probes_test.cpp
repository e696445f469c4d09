// Probe scheduling and thresholds with an injected clock, and the network checks against a
// local listener.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <QtTest>
#include <thread>

#include "engine/node/probes.h"

using kd::json;
using kd::node::Clock;
using kd::node::ProbeKind;
using kd::node::ProbeResult;
using kd::node::ProbeTracker;

namespace {

const Clock::time_point kStart = Clock::time_point(std::chrono::seconds(1'700'000'000));

// A one-shot HTTP server on 127.0.0.1 answering `status`; returns its port.
int serveOnce(int status, std::thread& thread) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::listen(fd, 1);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  thread = std::thread([fd, status] {
    const int c = ::accept(fd, nullptr, nullptr);
    char buf[1024];
    (void)::recv(c, buf, sizeof buf, 0);
    const std::string reply =
        "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 0\r\n\r\n";
    (void)::send(c, reply.data(), reply.size(), 0);
    ::close(c);
    ::close(fd);
  });
  return ntohs(addr.sin_port);
}

}  // namespace

class ProbesTest : public QObject {
  Q_OBJECT
 private slots:
  // Each step: seconds after the container started, and the check's outcome ("+", "-", or
  // "." for no check expected); then the result expected after it.
  void schedule_data() {
    QTest::addColumn<int>("kind");
    QTest::addColumn<QString>("probe");
    QTest::addColumn<QString>("steps");  // "t:outcome:result,..."
    QTest::newRow("readiness starts failed, one success makes it ready")
        << int(ProbeKind::Readiness) << "{\"periodSeconds\": 5}"
        << "0:+:Success,3:.:Success,5:-:Success,10:-:Success,15:-:Failure,20:+:Success";
    QTest::newRow("initial delay holds the first probe")
        << int(ProbeKind::Readiness) << "{\"initialDelaySeconds\": 10, \"periodSeconds\": 2}"
        << "0:.:Failure,9:.:Failure,10:+:Success";
    QTest::newRow("liveness needs failureThreshold failures")
        << int(ProbeKind::Liveness) << "{\"periodSeconds\": 1, \"failureThreshold\": 2}"
        << "0:-:Success,1:+:Success,2:-:Success,3:-:Failure";
    QTest::newRow("successThreshold")
        << int(ProbeKind::Readiness)
        << "{\"periodSeconds\": 1, \"successThreshold\": 3, \"failureThreshold\": 1}"
        << "0:+:Failure,1:+:Failure,2:+:Success,3:-:Failure,4:+:Failure";
    QTest::newRow("startup is unknown until it succeeds")
        << int(ProbeKind::Startup) << "{\"periodSeconds\": 1, \"failureThreshold\": 3}"
        << "0:-:Unknown,1:-:Unknown,2:+:Success";
    QTest::newRow("startup fails after the threshold")
        << int(ProbeKind::Startup) << "{\"periodSeconds\": 1, \"failureThreshold\": 2}"
        << "0:-:Unknown,1:-:Failure";
  }
  void schedule() {
    QFETCH(int, kind);
    QFETCH(QString, probe);
    QFETCH(QString, steps);
    ProbeTracker t(static_cast<ProbeKind>(kind),
                   kd::node::ProbeSettings::fromJson(json::parse(probe.toStdString())), kStart);
    for (const auto& step : steps.split(',')) {
      const QStringList p = step.split(':');
      const auto now = kStart + std::chrono::seconds(p[0].toInt());
      QCOMPARE(t.due(now), p[1] != ".");
      if (p[1] != ".") t.record(p[1] == "+", "boom", now);
      QCOMPARE(QString(kd::node::resultName(t.result())), p[2]);
    }
  }

  void statusJsonCarriesTheLatestFailure() {
    ProbeTracker t(ProbeKind::Liveness, kd::node::ProbeSettings::fromJson(json::object()), kStart);
    QVERIFY(!t.record(false, "HTTP probe failed with statuscode: 500", kStart));
    const json s = t.statusJson();
    QCOMPARE(s["result"], json("Success"));
    QCOMPARE(s["consecutiveFailures"], json(1));
    QCOMPARE(s["lastFailureMessage"], json("HTTP probe failed with statuscode: 500"));
    QCOMPARE(s["lastProbeTime"], json("2023-11-14T22:13:20Z"));
  }

  void httpAndTcpChecks_data() {
    QTest::addColumn<int>("status");
    QTest::addColumn<bool>("success");
    QTest::addColumn<QString>("message");
    QTest::newRow("200") << 200 << true << "";
    QTest::newRow("302") << 302 << true << "";
    QTest::newRow("500") << 500 << false << "HTTP probe failed with statuscode: 500";
  }
  void httpAndTcpChecks() {
    QFETCH(int, status);
    QFETCH(bool, success);
    QFETCH(QString, message);
    std::thread server;
    const int port = serveOnce(status, server);
    auto settings =
        kd::node::ProbeSettings::fromJson({{"httpGet", {{"path", "/healthz"}, {"port", "web"}}}});
    const kd::node::ProbeTarget target{
        nullptr, "", "", {{"ports", {{{"name", "web"}, {"containerPort", port}}}}}};
    const auto outcome = kd::node::runProbe(settings, target);
    server.join();
    QCOMPARE(outcome.success, success);
    QCOMPARE(QString::fromStdString(outcome.message), message);
  }

  void refusedConnectionsReadLikeTheKubelets() {
    std::thread server;
    const int port = serveOnce(200, server);
    {  // use the port once so nothing listens there afterwards
      auto ok = kd::node::runProbe(
          kd::node::ProbeSettings::fromJson({{"tcpSocket", {{"port", port}}}}), {});
      QVERIFY(ok.success);
    }
    server.join();
    const std::string where = "127.0.0.1:" + std::to_string(port);
    auto tcp = kd::node::runProbe(
        kd::node::ProbeSettings::fromJson({{"tcpSocket", {{"port", port}}}}), {});
    QVERIFY(!tcp.success);
    QCOMPARE(tcp.message, "dial tcp " + where + ": connect: connection refused");
    auto http = kd::node::runProbe(
        kd::node::ProbeSettings::fromJson({{"httpGet", {{"path", "/x"}, {"port", port}}}}), {});
    QCOMPARE(http.message,
             "Get \"http://" + where + "/x\": dial tcp " + where + ": connect: connection refused");
  }
};

QTEST_GUILESS_MAIN(ProbesTest)
#include "probes_test.moc"
