// The dashboard's port-forwards against a real kubedesk-engine and a real kubedesk-node
// running busybox httpd under runc, on the offscreen platform: a forward to a Service's port
// (translated to the pod's named targetPort) serves the pod's page on 127.0.0.1, the main
// window's "Open in browser" opens that address once it listens, stopping closes the port, and
// a pod that is not running is refused with kubectl's message; a LoadBalancer Service opens at
// the address the engine's load balancer gives it, without a forward. Needs root.

#include <unistd.h>

#include <QSignalSpy>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTableView>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTreeWidget>
#include <QtTest>

#include "dashboard/cluster_session.h"
#include "dashboard/main_window.h"
#include "dashboard/port_forwards.h"
#include "tests/dashboard/node_session.h"
#include "tests/e2e/node_agent_process.h"

using kd::dashboard::ClusterSession;
using kd::dashboard::MainWindow;
using kd::dashboard::PortForwards;

namespace {

const char* const kWeb =
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata: {name: web, namespace: default, labels: {app: web}}\n"
    "spec:\n"
    "  nodeName: n1\n"
    "  terminationGracePeriodSeconds: 1\n"
    "  containers:\n"
    "  - name: httpd\n"
    "    image: busybox\n"
    "    command: [sh, -c, 'mkdir -p /www && echo hello from web > /www/index.html && "
    "exec httpd -f -p 8080 -h /www']\n"
    "    ports: [{name: http, containerPort: 8080}]\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Service\n"
    "metadata: {name: web, namespace: default}\n"
    "spec:\n"
    "  selector: {app: web}\n"
    "  ports: [{port: 80, targetPort: http}]\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata: {name: parked, namespace: default}\n"
    "spec:\n"
    "  nodeName: nowhere\n"
    "  containers: [{name: c, image: busybox, ports: [{containerPort: 80}]}]\n";

const kd::api::KindInfo& kind(const char* resource) {
  return *kd::api::KindsRegistry::builtin().resolve(resource);
}

// The body of GET / from 127.0.0.1:`port`, or the socket's error.
QString fetch(uint16_t port) {
  QTcpSocket socket;
  socket.connectToHost("127.0.0.1", port);
  if (!socket.waitForConnected(5000)) return "connect: " + socket.errorString();
  socket.write("GET / HTTP/1.0\r\nHost: localhost\r\n\r\n");
  QByteArray reply;
  while (socket.waitForReadyRead(5000)) reply += socket.readAll();
  reply += socket.readAll();
  return QString::fromUtf8(reply.mid(reply.indexOf("\r\n\r\n") + 4));
}

// True once some table of `window` has a row showing both `a` and `b`.
bool tableShows(QWidget& window, const QString& a, const QString& b) {
  for (auto* view : window.findChildren<QTableView*>()) {
    const QAbstractItemModel* model = view->model();
    for (int row = 0; model && row < model->rowCount(); ++row) {
      QStringList cells;
      for (int col = 0; col < model->columnCount(); ++col) {
        cells << model->index(row, col).data().toString();
      }
      if (cells.contains(a) && cells.contains(b)) return true;
    }
  }
  return false;
}

}  // namespace

class PortForwardsTest : public QObject {
  Q_OBJECT
  EngineProcess engine_;
  NodeAgentProcess agent_{engine_};
  std::unique_ptr<ClusterSession> session_;

  kd::json object(const char* resource, const char* name) {
    auto r = session_->client().get(kind(resource), "default", name);
    if (!r.ok()) qWarning("get %s %s: %s", resource, name, r.status().message().c_str());
    return r.ok() ? *r : kd::json();
  }

 private slots:
  void initTestCase() {
    if (::geteuid() != 0) QSKIP("kubedesk-node needs root");
    QStandardPaths::setTestModeEnabled(true);
    QString why;
    session_ = startNodeSession(engine_, agent_, &why);
    KD_VERIFY2(session_, qPrintable(why));
    CMD_OK(engine_.kubectl({"apply", "-f", "-"}, kWeb));
    KD_VERIFY2(
        waitFor(
            [&] {
              return engine_.kubectl({"get", "pod", "web", "-o", "jsonpath={.status.phase}"}).out ==
                     "Running";
            },
            60000),
        qPrintable(agent_.log()));
  }

  void cleanupTestCase() {
    session_.reset();
    if (engine_.url().isEmpty()) return;
    engine_.kubectl({"delete", "pods", "--all", "--grace-period=1", "--timeout=30s"});
    const QStringList left = agent_.cleanUp();
    KD_VERIFY2(left.isEmpty(), qPrintable(left.join(',')));
  }

  void forwardsServicePortToPodAndStops() {
    PortForwards forwards(session_->clientPtr());
    QSignalSpy started(&forwards, &PortForwards::started);
    QSignalSpy failed(&forwards, &PortForwards::failed);
    const int id = forwards.start(kind("services"), object("services", "web"), "80");
    KD_VERIFY2(started.wait(20000) || !started.isEmpty(),
               failed.isEmpty() ? "no outcome" : qPrintable(failed.at(0).at(1).toString()));
    const auto forward = started.at(0).at(0).value<PortForwards::Forward>();
    QCOMPARE(forward.id, id);
    QCOMPARE(forward.remote, uint16_t(8080));  // service port 80 -> targetPort "http" -> 8080
    QVERIFY(forward.local != 0);
    QCOMPARE(forwards.active().size(), size_t(1));
    QCOMPARE(fetch(forward.local), QString("hello from web\n"));
    QCOMPARE(fetch(forward.local), QString("hello from web\n"));  // one connection each
    forwards.stop(id);
    QVERIFY(forwards.active().empty());
    QTRY_VERIFY_WITH_TIMEOUT(fetch(forward.local).startsWith("connect:"), 10000);
    QVERIFY(failed.isEmpty());
  }

  void notRunningPodIsRefused() {
    PortForwards forwards(session_->clientPtr());
    QSignalSpy failed(&forwards, &PortForwards::failed);
    forwards.start(kind("pods"), object("pods", "parked"), "80");
    QVERIFY(failed.wait(20000) || !failed.isEmpty());
    QCOMPARE(failed.at(0).at(1).toString(),
             QString("unable to forward port because pod is not running. Current "
                     "status=Pending"));
  }

  void openInBrowserOpensForwardedAddress() {
    MainWindow window(session_.get());
    QList<QUrl> opened;
    kd::dashboard::Prompts prompts;
    prompts.confirm = [](QWidget*, const QString&) { return true; };
    prompts.openUrl = [&opened](const QUrl& url) { opened << url; };
    window.setPrompts(prompts);
    window.show();
    QVERIFY(window.showSection("services"));
    QTRY_VERIFY_WITH_TIMEOUT(window.selectKey("default/web"), 15000);
    window.openInBrowser();
    QTRY_COMPARE_WITH_TIMEOUT(opened.size(), 1, 20000);
    const QUrl url = opened.front();
    QCOMPARE(url.host(), QString("127.0.0.1"));
    QCOMPARE(fetch(uint16_t(url.port())), QString("hello from web\n"));
    // The forward is listed in the Port forwards panel with its address.
    auto* list = window.findChild<QTreeWidget*>("portForwards");
    QVERIFY(list);
    QTRY_COMPARE_WITH_TIMEOUT(list->topLevelItemCount(), 1, 5000);
    QCOMPARE(list->topLevelItem(0)->text(1), url.toString());
    QCOMPARE(list->topLevelItem(0)->text(0), QString("default/services/web"));
  }

  void openInBrowserUsesLoadBalancerAddress() {
    QTcpServer free;
    QVERIFY(free.listen(QHostAddress::LocalHost, 0));
    const quint16 port = free.serverPort();
    free.close();
    CMD_OK(engine_.kubectl(
        {"apply", "-f", "-"},
        QStringLiteral(
            "apiVersion: v1\nkind: Service\nmetadata: {name: web-lb, namespace: default}\n"
            "spec:\n  type: LoadBalancer\n  selector: {app: web}\n"
            "  ports: [{port: %1, targetPort: http}]\n")
            .arg(port)
            .toUtf8()));
    MainWindow window(session_.get());
    QList<QUrl> opened;
    kd::dashboard::Prompts prompts;
    prompts.openUrl = [&opened](const QUrl& url) { opened << url; };
    window.setPrompts(prompts);
    window.show();
    QVERIFY(window.showSection("services"));
    // The row shows the ingress address once the window's cache has it.
    QTRY_VERIFY_WITH_TIMEOUT(tableShows(window, "web-lb", "127.0.0.1"), 30000);
    QVERIFY(window.selectKey("default/web-lb"));
    window.openInBrowser();
    QCOMPARE(opened, QList<QUrl>{QUrl("http://127.0.0.1:" + QString::number(port) + "/")});
    // The engine listens there. (This agent runs without pod networking, so the pod has no IP
    // and no endpoint: the proxy closes the connection; tests/e2e/load_balancer_e2e_test.cpp
    // reaches pods through it.)
    QTcpSocket socket;
    socket.connectToHost("127.0.0.1", port);
    QVERIFY(socket.waitForConnected(5000));
    auto* list = window.findChild<QTreeWidget*>("portForwards");
    QVERIFY(list);
    QCOMPARE(list->topLevelItemCount(), 0);
    CMD_OK(engine_.kubectl({"delete", "service", "web-lb"}));
  }
};

QTEST_MAIN(PortForwardsTest)
#include "port_forwards_test.moc"
