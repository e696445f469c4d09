// End to end: kdctl exec, attach and port-forward against a real kubedesk-engine and the real
// kubedesk-node agent running busybox under the real runc, through the agent's reverse tunnel.
// Every connection the test makes goes to 127.0.0.1. Needs root.

#include <unistd.h>

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTcpSocket>
#include <QTemporaryFile>
#include <QtTest>
#include <thread>

#include "node_agent_process.h"

namespace {

const QString kKdctl = QStringLiteral(KD_BINARY_DIR "/bin/kdctl");

const QStringList kSleeper = {"sh", "-c", "while true; do sleep 1; done"};
const QStringList kHttpd = {"sh", "-c",
                            "mkdir -p /www && echo 'hello from the pod' > /www/index.html && "
                            "exec httpd -f -p 80 -h /www"};

// Runs argv[1:] on a fresh 30x100 pseudo-terminal; once the terminal shows "30 100" it
// becomes 40x120 (the kernel sends SIGWINCH). Prints what the terminal showed, then "RESTORED"
// when the terminal's line discipline (ECHO, ICANON) is back after the child exited, else
// "RAW"; exits with the child's exit code.
const char* kPtyDriver =
    "import fcntl, os, pty, select, struct, sys, termios, time\n"
    "pid, fd = pty.fork()\n"
    "if pid == 0:\n"
    "    os.execvp(sys.argv[1], sys.argv[1:])\n"
    "fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 30, 100, 0, 0))\n"
    "out = b''\n"
    "resized = False\n"
    "deadline = time.time() + 60\n"
    "while time.time() < deadline:\n"
    "    if not resized and b'30 100' in out:\n"
    "        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 40, 120, 0, 0))\n"
    "        resized = True\n"
    "    r, _, _ = select.select([fd], [], [], 0.5)\n"
    "    if not r:\n"
    "        continue\n"
    "    try:\n"
    "        data = os.read(fd, 4096)\n"
    "    except OSError:\n"
    "        break\n"
    "    if not data:\n"
    "        break\n"
    "    out += data\n"
    "else:\n"
    "    os.kill(pid, 9)\n"
    "code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])\n"
    "lflag = termios.tcgetattr(fd)[3]\n"
    "ok = (lflag & termios.ECHO) and (lflag & termios.ICANON)\n"
    "sys.stdout.write(out.decode(errors='replace') + ('RESTORED' if ok else 'RAW'))\n"
    "sys.exit(code)\n";

// An HTTP/1.0 GET to 127.0.0.1:port; the whole reply (httpd closes after the body).
QByteArray httpGet(int port, const QString& path = "/") {
  QTcpSocket socket;
  socket.connectToHost("127.0.0.1", quint16(port));
  if (!socket.waitForConnected(5000)) return {};
  socket.write("GET " + path.toUtf8() + " HTTP/1.0\r\nHost: localhost\r\n\r\n");
  QByteArray reply;
  QElapsedTimer timer;
  timer.start();
  while (timer.elapsed() < 20000 && socket.state() != QAbstractSocket::UnconnectedState) {
    socket.waitForReadyRead(50);
    reply += socket.readAll();
  }
  return reply + socket.readAll();
}

// A deterministic, non-text payload of `size` bytes.
QByteArray payload(int size) {
  QByteArray out(size, '\0');
  quint32 x = 2463534242u;
  for (int i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    out[i] = char(x & 0xff);
  }
  return out;
}

}  // namespace

class KdctlStreamingE2eTest : public QObject {
  Q_OBJECT
  EngineProcess engine_;
  NodeAgentProcess agent_{engine_};

  CommandResult k(const QStringList& args, const QByteArray& input = {}) {
    return engine_.kubectl(args, input);
  }
  QProcessEnvironment env() {
    QProcessEnvironment e = QProcessEnvironment::systemEnvironment();
    e.insert("KUBECONFIG", engine_.kubeconfig());
    return e;
  }
  CommandResult kdctl(const QStringList& args, int timeoutMs = 60000) {
    return runWithEnvironment(kKdctl, args, env(), timeoutMs);
  }
  QString phase(const QString& pod) {
    return k({"get", "pod", pod, "-o", "jsonpath={.status.phase}"}).out.trimmed();
  }
  void applyPod(const QJsonObject& pod) {
    CMD_OK(k({"apply", "-f", "-"}, QJsonDocument(pod).toJson()));
    const QString name = pod["metadata"].toObject()["name"].toString();
    KD_VERIFY2(waitFor([&] { return phase(name) == "Running"; }, 60000), qPrintable(agent_.log()));
  }
  // busyboxPod with `edit` applied to its container and `labels` on it.
  QJsonObject pod(const QString& name, const QStringList& command, const QJsonObject& extra = {},
                  const QJsonObject& labels = {}) {
    QJsonObject p = QJsonDocument::fromJson(busyboxPod(name, "n1", "Never", command)).object();
    QJsonObject spec = p["spec"].toObject();
    QJsonObject container = spec["containers"].toArray()[0].toObject();
    for (auto it = extra.begin(); it != extra.end(); ++it) container[it.key()] = it.value();
    spec["containers"] = QJsonArray{container};
    p["spec"] = spec;
    if (!labels.isEmpty()) p["metadata"] = QJsonObject{{"name", name}, {"labels", labels}};
    return p;
  }

  // Starts `kdctl port-forward args...` and waits for its first "Forwarding from" line; the
  // local port, or 0 (the process is left to the caller either way).
  int startForward(QProcess& process, const QStringList& args) {
    process.setProcessEnvironment(env());
    process.start(kKdctl, QStringList{"port-forward"} + args);
    QRegularExpression line("Forwarding from 127\\.0\\.0\\.1:(\\d+) -> (\\d+)");
    QString seen;
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < 20000) {
      process.waitForReadyRead(100);
      seen += QString::fromUtf8(process.readAllStandardOutput());
      if (auto m = line.match(seen); m.hasMatch()) return m.captured(1).toInt();
      if (process.state() == QProcess::NotRunning) break;
    }
    qWarning("port-forward printed: %s / %s", qPrintable(seen),
             qPrintable(process.readAllStandardError()));
    return 0;
  }
  static void stopProcess(QProcess& process) {
    process.terminate();
    if (!process.waitForFinished(5000)) process.kill();
    process.waitForFinished(5000);
  }

 private slots:
  void initTestCase() {
    if (::geteuid() != 0) QSKIP("kubedesk-node needs root");
    KD_VERIFY2(engine_.start(), qPrintable(engine_.log()));
    QVERIFY(agent_.start());
    applyPod(pod("box", kSleeper));
    applyPod(pod("web", kHttpd, {}, QJsonObject{{"app", "web"}}));
    const QJsonObject service{
        {"apiVersion", "v1"},
        {"kind", "Service"},
        {"metadata", QJsonObject{{"name", "web"}}},
        {"spec",
         QJsonObject{{"selector", QJsonObject{{"app", "web"}}},
                     {"ports", QJsonArray{QJsonObject{{"port", 8080}, {"targetPort", 80}}}}}}};
    CMD_OK(k({"apply", "-f", "-"}, QJsonDocument(service).toJson()));
  }

  void cleanupTestCase() {
    if (engine_.url().isEmpty()) return;
    k({"delete", "pods", "--all", "--grace-period=1", "--timeout=30s"});
    const QStringList left = agent_.cleanUp();
    KD_VERIFY2(left.isEmpty(), qPrintable(left.join(',')));
  }

  void execSplitsStreamsAndExitCodes_data() {
    QTest::addColumn<QString>("script");
    QTest::addColumn<int>("code");
    QTest::addColumn<QString>("out");
    QTest::addColumn<QString>("err");  // what stderr must contain
    QTest::newRow("success") << "echo out; echo err >&2" << 0 << "out\n"
                             << "err\n";
    QTest::newRow("exit 3") << "echo out; echo err >&2; exit 3" << 3 << "out\n"
                            << "err\ncommand terminated with exit code 3\n";
    QTest::newRow("exit 130") << "exit 130" << 130 << ""
                              << "command terminated with exit code 130\n";
  }
  void execSplitsStreamsAndExitCodes() {
    QFETCH(QString, script);
    QFETCH(int, code);
    QFETCH(QString, out);
    QFETCH(QString, err);
    const auto r = kdctl({"exec", "box", "--", "sh", "-c", script});
    QCOMPARE(r.exitCode, code);
    QCOMPARE(r.out, out);
    KD_VERIFY2(r.err.contains(err), qPrintable(r.err));
  }

  void execByWorkloadAndNamespace() {
    // deploy/NAME-style addressing: the service's pod, and -n.
    const auto r = kdctl({"exec", "-n", "default", "svc/web", "--", "cat", "/www/index.html"});
    QCOMPARE(r.exitCode, 0);
    QCOMPARE(r.out, QString("hello from the pod\n"));
    const auto missing = kdctl({"exec", "nothere", "--", "true"});
    QCOMPARE(missing.exitCode, 1);
    KD_VERIFY2(missing.err.contains("not found"), qPrintable(missing.err));
  }

  void execPipesStdinByteExact() {
    const QByteArray data = payload(1024 * 1024);
    QTemporaryFile input;
    QVERIFY(input.open());
    input.write(data);
    input.flush();
    QProcess p;
    p.setProcessEnvironment(env());
    p.setStandardInputFile(input.fileName());
    QElapsedTimer timer;
    timer.start();
    p.start(kKdctl, {"exec", "-i", "box", "--", "cat"});
    QVERIFY(p.waitForFinished(60000));
    const QByteArray got = p.readAllStandardOutput();
    qInfo("1 MiB through exec -i cat: %lld ms", timer.elapsed());
    QCOMPARE(p.exitCode(), 0);
    QCOMPARE(got.size(), data.size());
    QVERIFY(got == data);
  }

  void execWithTerminal() {
    const auto r = runWithEnvironment("python3",
                                      {"-c", kPtyDriver, kKdctl, "exec", "-it", "box", "--", "sh",
                                       "-c", "stty size; sleep 2; stty size; exit 4"},
                                      env(), 60000);
    KD_VERIFY2(r.out.contains("30 100"), qPrintable(r.out + r.err));
    KD_VERIFY2(r.out.contains("40 120"), qPrintable(r.out));
    KD_VERIFY2(r.out.endsWith("RESTORED"), qPrintable(r.out));
    QCOMPARE(r.exitCode, 4);
  }

  void attachFeedsStdin() {
    applyPod(pod("reader", {"sh", "-c", "echo ready; cat; echo done"},
                 QJsonObject{{"stdin", true}, {"stdinOnce", true}}));
    QProcess p;
    p.setProcessEnvironment(env());
    p.start(kKdctl, {"attach", "-i", "reader"});
    p.write("hello from stdin\n");
    p.closeWriteChannel();
    QVERIFY(p.waitForFinished(30000));
    QCOMPARE(p.exitCode(), 0);
    QCOMPARE(QString(p.readAllStandardOutput()), QString("hello from stdin\ndone\n"));
    QVERIFY(waitFor([&] { return phase("reader") == "Succeeded"; }, 20000));
  }

  void portForwardServesParallelConnections() {
    QProcess forward;
    const int port = startForward(forward, {"web", ":80"});
    QVERIFY(port > 0);
    QByteArray first, second;
    std::thread other([&] { second = httpGet(port); });
    first = httpGet(port);
    other.join();
    for (const auto& reply : {first, second}) {
      KD_VERIFY2(reply.startsWith("HTTP/1.") && reply.endsWith("hello from the pod\n"),
                 reply.constData());
    }
    QCOMPARE(forward.state(), QProcess::Running);
    stopProcess(forward);
    QVERIFY(forward.readAllStandardOutput().contains("Handling connection for"));
  }

  void portForwardToServiceTargetPort() {
    QProcess forward;
    const int port = startForward(forward, {"svc/web", ":8080", "--address", "127.0.0.1"});
    QVERIFY(port > 0);
    QVERIFY(httpGet(port).endsWith("hello from the pod\n"));
    stopProcess(forward);
  }

  void portForwardToClosedPortGivesUp() {
    // kubectl's behaviour: the connection is closed, the error printed, and port-forward ends.
    QProcess forward;
    const int port = startForward(forward, {"web", ":81"});
    QVERIFY(port > 0);
    QCOMPARE(httpGet(port), QByteArray());
    QVERIFY(forward.waitForFinished(20000));
    QCOMPARE(forward.exitCode(), 1);
    const QString err = forward.readAllStandardError();
    KD_VERIFY2(err.contains("an error occurred forwarding " + QString::number(port) + " -> 81"),
               qPrintable(err));
    KD_VERIFY2(err.contains("error: lost connection to pod"), qPrintable(err));
  }
};

QTEST_GUILESS_MAIN(KdctlStreamingE2eTest)
#include "kdctl_streaming_e2e_test.moc"
