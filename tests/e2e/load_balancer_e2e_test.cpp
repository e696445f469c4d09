// End to end: a Service of type LoadBalancer made reachable on 127.0.0.1 by the engine's load
// balancer proxy. A real kubedesk-engine, the real kubedesk-node running a Deployment of two
// busybox httpd pods under the real runc, the real kubectl 1.32, and real HTTP requests to
// 127.0.0.1:<port> that travel through the agent's reverse tunnel to the pods. Every
// connection the test makes goes to 127.0.0.1; the pods' network (which gives them the IPs
// endpoints need) lives in a network namespace the test makes, as the local driver makes one
// per node. Needs root.

#include <unistd.h>

#include <QElapsedTimer>
#include <QRegularExpression>
#include <QTcpServer>
#include <QTcpSocket>
#include <QtTest>

#include "node_agent_process.h"

namespace {

// Each pod answers with its own name.
const char* const kWeb = R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: busybox
        command: ["sh", "-c", "mkdir -p /www && echo $POD_NAME > /www/index.html && exec httpd -f -p 8080 -h /www"]
        env:
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        ports:
        - name: http
          containerPort: 8080
        readinessProbe:
          tcpSocket:
            port: 8080
          periodSeconds: 1
)";

QByteArray service(const QString& name, quint16 port) {
  return QStringLiteral(R"(apiVersion: v1
kind: Service
metadata:
  name: %1
spec:
  type: LoadBalancer
  selector:
    app: web
  ports:
  - name: http
    port: %2
    targetPort: http
)")
      .arg(name)
      .arg(port)
      .toUtf8();
}

quint16 freePort() {
  QTcpServer server;
  server.listen(QHostAddress::LocalHost, 0);
  return server.serverPort();
}

// GET / on 127.0.0.1:port over HTTP/1.0; the body, or "" when the request failed.
QString get(quint16 port) {
  QTcpSocket socket;
  socket.connectToHost(QHostAddress::LocalHost, port);
  if (!socket.waitForConnected(5000)) return {};
  socket.write("GET / HTTP/1.0\r\nHost: localhost\r\n\r\n");
  QByteArray reply;
  QElapsedTimer timer;
  timer.start();
  while (socket.state() != QAbstractSocket::UnconnectedState && timer.elapsed() < 20000) {
    socket.waitForReadyRead(100);
    reply += socket.readAll();
  }
  reply += socket.readAll();
  if (!reply.startsWith("HTTP/1.") || reply.mid(9, 3) != "200") return {};
  return QString::fromUtf8(reply.mid(reply.indexOf("\r\n\r\n") + 4)).trimmed();
}

bool refused(quint16 port) {
  QTcpSocket socket;
  socket.connectToHost(QHostAddress::LocalHost, port);
  return !socket.waitForConnected(3000);
}

}  // namespace

class LoadBalancerE2eTest : public QObject {
  Q_OBJECT
  EngineProcess engine_;
  NodeAgentProcess agent_{engine_};
  const quint16 port_ = freePort();
  const QString netns_ = "kd-lbe2e-" + QString::number(::getpid());

  CommandResult k(const QStringList& args, const QByteArray& input = {}) {
    return engine_.kubectl(args, input);
  }
  QStringList readyPods() {
    auto r = k({"get", "pods", "-l", "app=web", "-o",
                "jsonpath={range .items[?(@.status.containerStatuses[0].ready==true)]}"
                "{.metadata.name}{\"\\n\"}{end}"});
    return r.out.split('\n', Qt::SkipEmptyParts);
  }
  QString jsonpath(const QString& service, const QString& path) {
    return k({"get", "svc", service, "-o", "jsonpath=" + path}).out;
  }

 private slots:
  void initTestCase() {
    if (::geteuid() != 0) QSKIP("kubedesk-node needs root");
    KD_VERIFY2(engine_.start(), qPrintable(engine_.log()));
    // Pod networking on, in a node namespace of the test's own (vm/local/local_network.cpp).
    const CommandResult added = runProgram("ip", {"netns", "add", netns_});
    KD_VERIFY2(added.exitCode == 0, qPrintable(added.err));
    QVERIFY(QDir().mkpath(agent_.stateDir() + "/network"));
    QFile nodeJson(agent_.stateDir() + "/network/node.json");
    QVERIFY(nodeJson.open(QIODevice::WriteOnly));
    nodeJson.write("{\"netns\":\"" + netns_.toUtf8() + "\"}\n");
    nodeJson.close();
    QVERIFY(agent_.start());
    CMD_OK(k({"apply", "-f", "-"}, kWeb));
    CMD_OK(k({"apply", "-f", "-"}, service("web", port_)));
    KD_VERIFY2(waitFor([&] { return readyPods().size() == 2; }, 90000),
               qPrintable(k({"get", "pods", "-o", "wide"}).out + agent_.log()));
    // The proxy picks from the EndpointSlice, which follows the pods' readiness.
    KD_VERIFY2(waitFor(
                   [&] {
                     return k({"get", "endpointslices", "-l", "kubernetes.io/service-name=web",
                               "-o", "jsonpath={.items[*].endpoints[*].conditions.ready}"})
                                .out.split(' ', Qt::SkipEmptyParts)
                                .count("true") == 2;
                   },
                   30000),
               qPrintable(k({"get", "endpointslices,pods", "-o", "yaml"}).out));
  }

  void kubectlShowsTheExternalIp() {
    KD_VERIFY2(
        waitFor(
            [&] { return jsonpath("web", "{.status.loadBalancer.ingress[0].ip}") == "127.0.0.1"; },
            30000),
        qPrintable(k({"get", "svc", "web", "-o", "yaml"}).out));
    QCOMPARE(jsonpath("web", "{.status.loadBalancer.ingress[0].ipMode}"), QString("VIP"));
    const CommandResult r = k({"get", "svc", "web"});
    CMD_OK(r);
    const QRegularExpression row("^web\\s+LoadBalancer\\s+10\\.\\S+\\s+127\\.0\\.0\\.1\\s+" +
                                     QString::number(port_) + ":3\\d{4}/TCP\\s",
                                 QRegularExpression::MultilineOption);
    KD_VERIFY2(row.match(r.out).hasMatch(), qPrintable(r.out));
    const CommandResult events = k({"get", "events", "--field-selector=involvedObject.name=web"});
    KD_VERIFY2(events.out.contains("EnsuredLoadBalancer"), qPrintable(events.out));
  }

  void requestsSpreadOverBothReplicas() {
    const QStringList pods = readyPods();
    QCOMPARE(pods.size(), 2);
    QMap<QString, int> answered;
    for (int i = 0; i < 10; ++i) {
      const QString body = get(port_);
      KD_VERIFY2(pods.contains(body), qPrintable("answer " + body + "\n" + engine_.log()));
      ++answered[body];
    }
    // Round robin: five each.
    QCOMPARE(answered.value(pods[0]), 5);
    QCOMPARE(answered.value(pods[1]), 5);
  }

  void concurrentConnectionsAllAnswer() {
    std::vector<std::unique_ptr<QTcpSocket>> sockets;
    for (int i = 0; i < 8; ++i) {
      auto s = std::make_unique<QTcpSocket>();
      s->connectToHost(QHostAddress::LocalHost, port_);
      QVERIFY(s->waitForConnected(5000));
      sockets.push_back(std::move(s));
    }
    for (auto& s : sockets) s->write("GET / HTTP/1.0\r\n\r\n");
    for (auto& s : sockets) {
      QByteArray reply;
      QVERIFY(waitFor(
          [&] {
            s->waitForReadyRead(50);
            reply += s->readAll();
            return s->state() == QAbstractSocket::UnconnectedState;
          },
          20000));
      KD_VERIFY2(reply.startsWith("HTTP/1.0 200") || reply.startsWith("HTTP/1.1 200"),
                 reply.constData());
    }
  }

  void aTakenPortIsReported() {
    QTcpServer holder;
    QVERIFY(holder.listen(QHostAddress::LocalHost, 0));
    CMD_OK(k({"apply", "-f", "-"}, service("clash", holder.serverPort())));
    KD_VERIFY2(waitFor(
                   [&] {
                     return jsonpath("clash", "{.status.loadBalancer.ingress[0].ports[0].error}") ==
                            "kubedesk.io/PortInUse";
                   },
                   30000),
               qPrintable(k({"get", "svc", "clash", "-o", "yaml"}).out));
    const CommandResult events =
        k({"get", "events", "--field-selector=involvedObject.name=clash,type=Warning"});
    KD_VERIFY2(
        events.out.contains("SyncLoadBalancerFailed") && events.out.contains("is already in use"),
        qPrintable(events.out));
    CMD_OK(k({"delete", "svc", "clash"}));
  }

  void switchingToClusterIpClosesThePort() {
    CMD_OK(k({"patch", "svc", "web", "-p", R"({"spec":{"type":"ClusterIP"}})"}));
    KD_VERIFY2(waitFor([&] { return refused(port_); }, 30000), "the port is still open");
    KD_VERIFY2(
        waitFor([&] { return jsonpath("web", "{.status.loadBalancer.ingress}").isEmpty(); }, 30000),
        qPrintable(k({"get", "svc", "web", "-o", "yaml"}).out));
    const CommandResult r = k({"get", "svc", "web"});
    KD_VERIFY2(QRegularExpression("^web\\s+ClusterIP\\s+10\\.\\S+\\s+<none>\\s+" +
                                      QString::number(port_) + "/TCP\\s",
                                  QRegularExpression::MultilineOption)
                   .match(r.out)
                   .hasMatch(),
               qPrintable(r.out));
  }

  void cleanupTestCase() {
    if (engine_.url().isEmpty()) return;
    k({"delete", "svc", "web", "clash", "--ignore-not-found"});
    k({"delete", "deployment", "web", "--timeout=30s"});
    waitFor([&] { return k({"get", "pods", "-o", "name"}).out.trimmed().isEmpty(); }, 30000);
    const QStringList left = agent_.cleanUp();
    agent_.stop();
    runProgram("ip", {"netns", "del", netns_});
    KD_VERIFY2(left.isEmpty(), qPrintable(left.join(',')));
  }
};

QTEST_GUILESS_MAIN(LoadBalancerE2eTest)
#include "load_balancer_e2e_test.moc"
