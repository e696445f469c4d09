// End to end: kubectl port-forward reaches a pod's ports through the reverse tunnel. A real
// kubedesk-engine, the real kubedesk-node agent running busybox httpd under the real runc, and
// the real kubectl: 1.32 (WebSocket-tunnelled SPDY, falling back to SPDY) and 1.27 (SPDY
// only). Every connection the test makes goes to 127.0.0.1. Needs root.

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <QElapsedTimer>
#include <QProcess>
#include <QRegularExpression>
#include <QTcpSocket>
#include <QtTest>
#include <memory>

#include "../../e2e/node_agent_process.h"

namespace {

const QString kPod = "pf-web";
const QString kIndex = "hello from the pod\n";
// `seq 1 600000`: about 3.9 MB the test can recompute.
constexpr int kBigLines = 600000;
const QStringList kHttpd = {
    "sh", "-c",
    "mkdir -p /www && echo 'hello from the pod' > /www/index.html && "
    "seq 1 600000 > /www/big && (nc -ll -p 82 -e cat &) && exec httpd -f -p 80 -h /www"};

QByteArray bigFile() {
  QByteArray out;
  out.reserve(4200000);
  for (int i = 1; i <= kBigLines; ++i) out += QByteArray::number(i) + '\n';
  return out;
}

// An HTTP/1.0 GET in flight to 127.0.0.1:port (httpd closes the connection after the body).
class Get {
 public:
  Get(int port, const QString& path) {
    socket_.connectToHost("127.0.0.1", quint16(port));
    if (socket_.waitForConnected(5000)) {
      socket_.write("GET " + path.toUtf8() + " HTTP/1.0\r\nHost: localhost\r\n\r\n");
    }
  }
  // Reads what is there; true once the server closed the connection.
  bool poll() {
    socket_.waitForReadyRead(20);
    reply_ += socket_.readAll();
    return socket_.state() == QAbstractSocket::UnconnectedState;
  }
  QByteArray reply() const { return reply_; }
  QByteArray body() const {
    const qsizetype end = reply_.indexOf("\r\n\r\n");
    return end < 0 ? QByteArray() : reply_.mid(end + 4);
  }
  int status() const { return reply_.startsWith("HTTP/1.") ? reply_.mid(9, 3).toInt() : 0; }

 private:
  QTcpSocket socket_;
  QByteArray reply_;
};

// Runs the GETs to completion (30 s at most); false if some did not finish.
bool finish(std::vector<std::unique_ptr<Get>>& gets) {
  QElapsedTimer timer;
  timer.start();
  for (;;) {
    bool done = true;
    for (auto& g : gets) done = g->poll() && done;
    if (done) return true;
    if (timer.elapsed() > 30000) return false;
  }
}

// Sends `payload` to 127.0.0.1:port while reading what comes back, half-closes once all is
// sent, and returns everything read up to the server's end of file (20 s at most).
QByteArray echoed(int port, const QByteArray& payload) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(quint16(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  QByteArray got;
  qsizetype sent = 0;
  QElapsedTimer timer;
  timer.start();
  while (timer.elapsed() < 20000) {
    pollfd p{fd, short(POLLIN | (sent < payload.size() ? POLLOUT : 0)), 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    if ((p.revents & POLLOUT) && sent < payload.size()) {
      const ssize_t n =
          ::send(fd, payload.constData() + sent, size_t(payload.size() - sent), MSG_NOSIGNAL);
      if (n > 0 && (sent += n) == payload.size()) ::shutdown(fd, SHUT_WR);
    }
    if (p.revents & (POLLIN | POLLHUP)) {
      char buf[65536];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, n);
    }
  }
  ::close(fd);
  return got;
}

// The open sockets and the threads of process `pid`.
int sockets(const QString& pid) {
  int n = 0;
  for (const QFileInfo& fd : QDir("/proc/" + pid + "/fd").entryInfoList(QDir::System))
    n += fd.symLinkTarget().contains("socket:");
  return n;
}
int threads(const QString& pid) {
  return int(QDir("/proc/" + pid + "/task").entryList(QDir::Dirs | QDir::NoDotAndDotDot).size());
}

int kubectlProcesses() {
  const CommandResult r = runProgram("pgrep", {"-f", "port-forward pod/" + kPod});
  return r.out.split('\n', Qt::SkipEmptyParts).size();
}

}  // namespace

class PortForwardE2eTest : public QObject {
  Q_OBJECT
  EngineProcess engine_;
  NodeAgentProcess agent_{engine_};
  QString agentPid_;
  int baseSockets_ = 0, baseThreads_ = 0;  // the agent's, before any port-forward

  CommandResult k(const QStringList& args, const QByteArray& input = {}) {
    return engine_.kubectl(args, input);
  }

  // A running `kubectl port-forward` and the local ports it printed, in the order asked.
  struct Forwarder {
    std::unique_ptr<QProcess> process;
    QList<int> ports;
    QString out, err;
    void drain() {
      out += QString::fromUtf8(process->readAllStandardOutput());
      err += QString::fromUtf8(process->readAllStandardError());
    }
  };

  Forwarder startForwarder(const QString& kubectl, const QStringList& ports) {
    Forwarder f;
    f.process.reset(
        engine_.startKubectl(QStringList{"port-forward", "pod/" + kPod} + ports, kubectl));
    static const QRegularExpression kLine("Forwarding from 127\\.0\\.0\\.1:(\\d+) -> (\\d+)");
    waitFor(
        [&] {
          f.process->waitForReadyRead(100);
          f.drain();
          return f.out.count(kLine) >= ports.filter(QRegularExpression("^:")).size() ||
                 f.process->state() == QProcess::NotRunning;
        },
        20000);
    for (auto it = kLine.globalMatch(f.out); it.hasNext();)
      f.ports << it.next().captured(1).toInt();
    return f;
  }

  void stopForwarder(Forwarder& f) {
    f.process->terminate();
    if (!f.process->waitForFinished(5000)) f.process->kill();
    f.process->waitForFinished(5000);
  }

 private slots:
  void initTestCase() {
    if (::geteuid() != 0) QSKIP("kubedesk-node needs root");
    KD_VERIFY2(engine_.start(), qPrintable(engine_.log()));
    QVERIFY(agent_.start());
    CMD_OK(k({"apply", "-f", "-"}, busyboxPod(kPod, "n1", "Always", kHttpd)));
    KD_VERIFY2(
        waitFor(
            [&] {
              return k({"get", "pod", kPod, "-o", "jsonpath={.status.phase}"}).out == "Running";
            },
            60000),
        qPrintable(k({"get", "pod", kPod, "-o", "yaml"}).out + agent_.log()));
    // httpd answers once the big file is written.
    KD_VERIFY2(waitFor(
                   [&] {
                     return k({"exec", kPod, "--", "wget", "-q", "-O", "/dev/null",
                               "http://127.0.0.1/big"})
                                .exitCode == 0;
                   },
                   30000),
               qPrintable(k({"logs", kPod}).out + agent_.log()));
    agentPid_ = runProgram("pgrep", {"-f", "--", "--state-dir " + agent_.stateDir()}).out.trimmed();
    KD_VERIFY2(!agentPid_.isEmpty() && !agentPid_.contains('\n'), qPrintable(agentPid_));
    baseSockets_ = sockets(agentPid_);
    baseThreads_ = threads(agentPid_);
  }

  void forwards_data() {
    QTest::addColumn<QString>("kubectl");
    QTest::addColumn<bool>("websocket");  // kubectl must not fall back to plain SPDY
    QTest::newRow("kubectl 1.32 (WebSocket, SPDY tunnelled)") << "/usr/bin/kubectl" << true;
    QTest::newRow("kubectl 1.27 (SPDY)") << "/usr/lib/google-cloud-sdk/bin/kubectl.1.27" << false;
  }
  // The page, a 3.9 MB file intact, and many connections at once over one port-forward.
  void forwards() {
    QFETCH(QString, kubectl);
    QFETCH(bool, websocket);
    if (!QFile::exists(kubectl)) QSKIP("kubectl version not installed");
    // -v=4 makes kubectl log which dialer it ended up with.
    Forwarder f = startForwarder(kubectl, {":80", "-v=4"});
    KD_VERIFY2(f.ports.size() == 1, qPrintable(f.out + f.err));
    if (websocket) {
      KD_VERIFY2(f.err.contains("negotiated protocol: portforward.k8s.io") &&
                     !f.err.contains("fallback to secondary dialer"),
                 qPrintable(f.err));
    }

    std::vector<std::unique_ptr<Get>> page;
    page.push_back(std::make_unique<Get>(f.ports[0], "/index.html"));
    QVERIFY(finish(page));
    QCOMPARE(page[0]->status(), 200);
    QCOMPARE(QString::fromUtf8(page[0]->body()), kIndex);

    const QByteArray expected = bigFile();
    QElapsedTimer timer;
    timer.start();
    std::vector<std::unique_ptr<Get>> big;
    big.push_back(std::make_unique<Get>(f.ports[0], "/big"));
    QVERIFY(finish(big));
    const qint64 ms = timer.elapsed();
    QCOMPARE(big[0]->body().size(), expected.size());
    QVERIFY(big[0]->body() == expected);
    qInfo("%s: %.1f MB in %lld ms", qPrintable(kubectl), expected.size() / 1e6, ms);

    std::vector<std::unique_ptr<Get>> many;
    for (int i = 0; i < 6; ++i)
      many.push_back(std::make_unique<Get>(f.ports[0], i % 2 ? "/big" : "/index.html"));
    QVERIFY(finish(many));
    for (int i = 0; i < 6; ++i) {
      KD_VERIFY2(many[i]->body() == (i % 2 ? expected : kIndex.toUtf8()),
                 qPrintable(QString("connection %1: %2 bytes").arg(i).arg(many[i]->body().size())));
    }
    f.drain();
    KD_VERIFY2(f.process->state() == QProcess::Running, qPrintable(f.err));
    stopForwarder(f);
    QVERIFY(waitFor([] { return kubectlProcesses() == 0; }, 5000));
  }

  void echoesUploads_data() { forwards_data(); }
  // 3.9 MB up and back through `cat` at once: both directions under back-pressure, and the
  // client's half-close reaching the pod (cat ends on it, which ends the connection).
  void echoesUploads() {
    QFETCH(QString, kubectl);
    if (!QFile::exists(kubectl)) QSKIP("kubectl version not installed");
    Forwarder f = startForwarder(kubectl, {":82"});
    KD_VERIFY2(f.ports.size() == 1, qPrintable(f.out + f.err));
    const QByteArray payload = bigFile();
    QElapsedTimer timer;
    timer.start();
    const QByteArray back = echoed(f.ports[0], payload);
    qInfo("%s: %.1f MB up and back in %lld ms", qPrintable(kubectl), payload.size() / 1e6,
          timer.elapsed());
    QCOMPARE(back.size(), payload.size());
    QVERIFY(back == payload);
    stopForwarder(f);
  }

  void refusedPort_data() { forwards_data(); }
  // Port 81 has no listener: kubectl prints the kubelet's message for that connection (and,
  // as against a real kubelet, then gives up with "lost connection to pod"), while the same
  // session's port 80 worked before and a new port-forward works after.
  void refusedPort() {
    QFETCH(QString, kubectl);
    QFETCH(bool, websocket);
    Q_UNUSED(websocket);
    if (!QFile::exists(kubectl)) QSKIP("kubectl version not installed");
    Forwarder f = startForwarder(kubectl, {":80", ":81"});
    KD_VERIFY2(f.ports.size() == 2, qPrintable(f.out + f.err));
    std::vector<std::unique_ptr<Get>> good;
    good.push_back(std::make_unique<Get>(f.ports[0], "/index.html"));
    QVERIFY(finish(good));
    QCOMPARE(QString::fromUtf8(good[0]->body()), kIndex);

    std::vector<std::unique_ptr<Get>> bad;
    bad.push_back(std::make_unique<Get>(f.ports[1], "/"));
    QVERIFY(finish(bad));
    QVERIFY(bad[0]->reply().isEmpty());
    KD_VERIFY2(waitFor(
                   [&] {
                     f.process->waitForReadyRead(100);
                     f.drain();
                     return f.err.contains("error forwarding port 81 to pod default/" + kPod);
                   },
                   10000),
               qPrintable(f.err));
    KD_VERIFY2(f.err.contains("connect: connection refused"), qPrintable(f.err));
    // As against a real kubelet, kubectl then ends the whole port-forward.
    KD_VERIFY2(f.process->waitForFinished(10000), qPrintable(f.err));
    f.drain();
    KD_VERIFY2(f.err.contains("lost connection to pod"), qPrintable(f.err));
    qInfo("%s", qPrintable(f.err.trimmed()));
    stopForwarder(f);

    Forwarder next = startForwarder(kubectl, {":80"});
    KD_VERIFY2(next.ports.size() == 1, qPrintable(next.out + next.err));
    std::vector<std::unique_ptr<Get>> after;
    after.push_back(std::make_unique<Get>(next.ports[0], "/index.html"));
    QVERIFY(finish(after));
    QCOMPARE(QString::fromUtf8(after[0]->body()), kIndex);
    stopForwarder(next);
    QVERIFY(waitFor([] { return kubectlProcesses() == 0; }, 5000));
  }

  // Every session ended with its kubectl: the agent holds no socket or thread more than before.
  void agentReleasedEverything() {
    KD_VERIFY2(waitFor(
                   [&] {
                     return sockets(agentPid_) <= baseSockets_ &&
                            threads(agentPid_) <= baseThreads_;
                   },
                   10000),
               qPrintable(QString("sockets %1 (before %2), threads %3 (before %4)")
                              .arg(sockets(agentPid_))
                              .arg(baseSockets_)
                              .arg(threads(agentPid_))
                              .arg(baseThreads_)));
  }

  void cleanupTestCase() {
    if (engine_.url().isEmpty()) return;
    k({"delete", "pods", "--all", "--grace-period=1", "--timeout=30s"});
    const QStringList left = agent_.cleanUp();
    KD_VERIFY2(left.isEmpty(), qPrintable(left.join(',')));
    QCOMPARE(kubectlProcesses(), 0);
  }
};

QTEST_GUILESS_MAIN(PortForwardE2eTest)
#include "port_forward_e2e_test.moc"
