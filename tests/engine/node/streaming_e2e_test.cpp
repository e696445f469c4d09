// End to end: kubectl logs and exec reach containers through the reverse tunnel. A real
// kubedesk-engine, the real kubedesk-node agent (which dials the engine back) running busybox
// under the real runc, and the real kubectl. Needs root.

#include <unistd.h>

#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QThread>
#include <QtTest>

#include "../../e2e/node_agent_process.h"

namespace {

// Prints three lines, then one more each time /tmp/go appears (made through exec).
const QStringList kTalker = {
    "sh", "-c",
    "echo one; echo two; echo three; "
    "while true; do if [ -f /tmp/go ]; then rm /tmp/go; echo after; fi; sleep 0.2; done"};

// Runs argv[2:] on a fresh 100x30 pseudo-terminal, types argv[1] into it once the remote shell
// shows its prompt (typed earlier, the local terminal would still echo it), and prints everything
// the terminal showed; exits with the child's exit code.
const char* kPtyDriver =
    "import fcntl, os, pty, select, struct, sys, termios, time\n"
    "pid, fd = pty.fork()\n"
    "if pid == 0:\n"
    "    os.execvp(sys.argv[2], sys.argv[2:])\n"
    "fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 30, 100, 0, 0))\n"
    "out = b''\n"
    "sent = False\n"
    "deadline = time.time() + 30\n"
    "while time.time() < deadline:\n"
    "    if not sent and b'# ' in out:\n"
    "        os.write(fd, sys.argv[1].encode())\n"
    "        sent = True\n"
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
    "sys.stdout.write(out.decode(errors='replace'))\n"
    "sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))\n";

// kubectl 1.29 and older speak exec and attach over plain SPDY/3.1; 1.30 and newer over
// WebSocket, for comparison.
const char* const kSpdyKubectls[] = {"1.27", "1.28", "1.29"};
const char* const kAllKubectls[] = {"1.27", "1.28", "1.29", "1.32"};

QString kubectlBinary(const QString& version) {
  return "/usr/lib/google-cloud-sdk/bin/kubectl." + version;
}

// One container per SPDY kubectl to attach to: stdin that closes when the client leaves.
QByteArray attachTargetsPod() {
  QJsonArray containers;
  for (const char* version : kSpdyKubectls) {
    containers.append(QJsonObject{{"name", "r" + QString(version).remove('.')},
                                  {"image", "busybox"},
                                  {"command", QJsonArray{"sh", "-c", "cat; echo done"}},
                                  {"stdin", true},
                                  {"stdinOnce", true}});
  }
  const QJsonObject pod{{"apiVersion", "v1"},
                        {"kind", "Pod"},
                        {"metadata", QJsonObject{{"name", "readers"}}},
                        {"spec", QJsonObject{{"nodeName", "n1"},
                                             {"restartPolicy", "Never"},
                                             {"terminationGracePeriodSeconds", 1},
                                             {"containers", containers}}}};
  return QJsonDocument(pod).toJson();
}

}  // namespace

class StreamingE2eTest : public QObject {
  Q_OBJECT
  EngineProcess engine_;
  // Small logs, so rotation shows within a test.
  NodeAgentProcess agent_{
      engine_, "n1", {"--container-log-max-size", "4Ki", "--container-log-max-files", "3"}};

  CommandResult k(const QStringList& args, const QByteArray& input = {}) {
    return engine_.kubectl(args, input);
  }
  QString jsonpath(const QString& kind, const QString& name, const QString& path) {
    return k({"get", kind, name, "-o", "jsonpath=" + path}).out.trimmed();
  }
  QString agentLog() { return agent_.log(); }
  QProcessEnvironment kubectlEnv() {
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("KUBECONFIG", engine_.kubeconfig());
    return env;
  }
  void runPod(const QString& name, const QString& policy, const QStringList& command) {
    CMD_OK(k({"apply", "-f", "-"}, busyboxPod(name, "n1", policy, command)));
    KD_VERIFY2(
        waitFor([&] { return jsonpath("pod", name, "{.status.phase}") == "Running"; }, 60000),
        qPrintable(k({"get", "pod", name, "-o", "yaml"}).out + agentLog()));
  }

 private slots:
  void initTestCase() {
    if (::geteuid() != 0) QSKIP("kubedesk-node needs root");
    KD_VERIFY2(engine_.start(), qPrintable(engine_.log()));
    QVERIFY(agent_.start());
    runPod("talker", "Always", kTalker);
    KD_VERIFY2(waitFor(
                   [&] {
                     return k({"logs", "talker"}).out.contains("three");
                   },
                   20000),
               qPrintable(k({"logs", "talker"}).err + agentLog()));
  }

  void logs_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("pattern");  // the whole output must match
    QTest::newRow("all") << QStringList{} << "one\ntwo\nthree\n";
    QTest::newRow("tail") << QStringList{"--tail=2"} << "two\nthree\n";
    QTest::newRow("tail 0") << QStringList{"--tail=0"} << "";
    QTest::newRow("limit bytes") << QStringList{"--limit-bytes=6"} << "one\ntw";
    QTest::newRow("timestamps") << QStringList{"--timestamps", "--tail=1"}
                                << "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d+Z three\n";
    QTest::newRow("since") << QStringList{"--since=1h"} << "one\ntwo\nthree\n";
  }
  void logs() {
    QFETCH(QStringList, args);
    QFETCH(QString, pattern);
    auto r = k(QStringList{"logs", "talker"} + args);
    CMD_OK(r);
    KD_VERIFY2(QRegularExpression("\\A" + pattern + "\\z").match(r.out).hasMatch(),
               qPrintable(r.out));
  }

  void followSeesNewLines_data() {
    QTest::addColumn<QString>("binary");
    QTest::newRow("kubectl") << QString("/usr/bin/kubectl");
    QTest::newRow("kdctl") << QString(KD_BINARY_DIR "/bin/kdctl");
  }
  void followSeesNewLines() {
    QFETCH(QString, binary);
    const qsizetype before = k({"logs", "talker"}).out.count("after");
    QProcess* follow = engine_.startKubectl({"logs", "-f", "talker"}, binary);
    QVERIFY(waitFor([&] { return follow->waitForReadyRead(100) || follow->bytesAvailable() > 0; },
                    10000));
    QString seen;
    KD_VERIFY2(waitFor(
                   [&] {
                     // waitFor() runs no event loop: QProcess reads kubectl's later writes
                     // only when asked to wait for them.
                     follow->waitForReadyRead(100);
                     seen += QString::fromUtf8(follow->readAll());
                     return seen.contains("three");
                   },
                   10000),
               qPrintable("saw: " + seen + "\nstderr: " + follow->readAllStandardError() +
                          "\nstate: " + QString::number(follow->state())));
    CMD_OK(k({"exec", "talker", "--", "touch", "/tmp/go"}));
    KD_VERIFY2(waitFor(
                   [&] {
                     follow->waitForReadyRead(100);
                     seen += QString::fromUtf8(follow->readAll());
                     return seen.count("after") > before;
                   },
                   10000),
               qPrintable(seen));
    QCOMPARE(follow->state(), QProcess::Running);  // -f keeps following a running container
    follow->kill();
    follow->waitForFinished(5000);
    delete follow;
  }

  void followContinuesAcrossRotation() {
    // ~60-byte numbered lines: a 4 KiB file rotates about every 65 lines.
    runPod("chatty", "Always",
           {"sh", "-c",
            "i=0; while true; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; "
            "i=$((i+1)); sleep 0.02; done"});
    QProcess* follow = engine_.startKubectl({"logs", "-f", "chatty"});
    QString seen;
    const QRegularExpression number("line-(\\d+)-");
    auto lastNumber = [&] {
      auto it = number.globalMatch(seen);
      int last = -1;
      while (it.hasNext()) last = it.next().captured(1).toInt();
      return last;
    };
    KD_VERIFY2(waitFor(
                   [&] {
                     follow->waitForReadyRead(100);
                     seen += QString::fromUtf8(follow->readAll());
                     return lastNumber() >= 300;
                   },
                   60000),
               qPrintable(seen.right(500)));
    follow->kill();
    follow->waitForFinished(5000);
    delete follow;
    // Every line from the first one shown to the last, none lost when the file moved.
    auto it = number.globalMatch(seen);
    int expected = -1;
    while (it.hasNext()) {
      const int n = it.next().captured(1).toInt();
      KD_VERIFY2(expected < 0 || n == expected,
                 qPrintable(QString("line %1 after %2").arg(n).arg(expected - 1)));
      expected = n + 1;
    }
    // The live file plus at most two rotated ones; `logs` shows only the live file's tail.
    const QString uid = jsonpath("pod", "chatty", "{.metadata.uid}");
    const QDir dir(agent_.stateDir() + "/logs/default_chatty_" + uid + "/main");
    KD_VERIFY2(dir.entryList(QDir::Files).size() <= 3, qPrintable(dir.entryList().join(',')));
    KD_VERIFY2(dir.entryList(QDir::Files).size() >= 2, qPrintable(dir.entryList().join(',')));
    const auto now = k({"logs", "chatty"});
    QVERIFY(!now.out.startsWith("line-0-"));
    QVERIFY(now.out.size() <= 4096);
    CMD_OK(k({"delete", "pod", "chatty", "--grace-period=1", "--timeout=30s"}));
  }

  void previousAfterRestart() {
    runPod("restarter", "Always",
           {"sh", "-c", "echo run $(cat /proc/sys/kernel/random/uuid); sleep 1; exit 1"});
    KD_VERIFY2(waitFor(
                   [&] {
                     return jsonpath("pod", "restarter",
                                     "{.status.containerStatuses[0].restartCount}")
                                .toInt() >= 1;
                   },
                   60000),
               qPrintable(k({"get", "pod", "restarter", "-o", "yaml"}).out));
    auto previous = k({"logs", "-p", "restarter"});
    CMD_OK(previous);
    KD_VERIFY2(previous.out.startsWith("run "), qPrintable(previous.out));
    auto current = k({"logs", "restarter"});
    QVERIFY(waitFor(
        [&] {
          current = k({"logs", "restarter"});
          return current.out.startsWith("run ");
        },
        15000));
    KD_VERIFY2(current.out != previous.out, qPrintable(current.out + previous.out));
    // A container that never restarted has no previous instance.
    auto none = k({"logs", "-p", "talker"});
    QCOMPARE(none.exitCode, 1);
    KD_VERIFY2(
        none.err.contains("previous terminated container \"main\" in pod \"talker\" not found"),
        qPrintable(none.err));
  }

  void exec_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<QString>("out");
    QTest::addColumn<int>("exitCode");
    QTest::newRow("output") << QStringList{"--", "cat", "/etc/hostname"} << QByteArray()
                            << "talker\n"
                            << 0;
    QTest::newRow("exit code") << QStringList{"--", "sh", "-c", "exit 3"} << QByteArray() << ""
                               << 3;
    QTest::newRow("stderr") << QStringList{"--", "sh", "-c", "echo oops >&2; echo fine"}
                            << QByteArray() << "fine\n"
                            << 0;
    QTest::newRow("stdin") << QStringList{"-i", "--", "sh", "-c", "tr a-z A-Z"}
                           << QByteArray("hello\nworld\n") << "HELLO\nWORLD\n"
                           << 0;
  }
  void exec() {
    QFETCH(QStringList, args);
    QFETCH(QByteArray, input);
    QFETCH(QString, out);
    QFETCH(int, exitCode);
    auto r = k(QStringList{"exec", "talker"} + args, input);
    KD_VERIFY2(r.exitCode == exitCode, qPrintable(QString::number(r.exitCode) + r.err + r.out));
    QCOMPARE(r.out, out);
  }

  void execWithTerminal() {
    QProcess p;
    p.setProcessEnvironment(kubectlEnv());
    p.start("python3", {"-c", kPtyDriver, "echo hi$((40+2))\rexit 5\r", "/usr/bin/kubectl", "exec",
                        "-it", "talker", "--", "sh"});
    QVERIFY(p.waitForFinished(40000));
    const QString shown = QString::fromUtf8(p.readAllStandardOutput());
    // The shell ran the command (hi42, not just the echoed input) and its exit code came back.
    KD_VERIFY2(
        shown.contains(QRegularExpression("^hi42\\r?$", QRegularExpression::MultilineOption)),
        qPrintable(shown + p.readAllStandardError()));
    QCOMPARE(p.exitCode(), 5);
  }

  void attachFeedsStdinOnce() {
    // stdinOnce: the container's stdin closes when the first attached client leaves.
    QJsonObject pod =
        QJsonDocument::fromJson(
            busyboxPod("reader", "n1", "Never", {"sh", "-c", "echo ready; cat; echo done"}))
            .object();
    QJsonObject spec = pod["spec"].toObject();
    QJsonObject container = spec["containers"].toArray()[0].toObject();
    container["stdin"] = true;
    container["stdinOnce"] = true;
    spec["containers"] = QJsonArray{container};
    pod["spec"] = spec;
    CMD_OK(k({"apply", "-f", "-"}, QJsonDocument(pod).toJson()));
    KD_VERIFY2(
        waitFor([&] { return jsonpath("pod", "reader", "{.status.phase}") == "Running"; }, 60000),
        qPrintable(agentLog()));
    const auto attached = k({"attach", "-i", "reader"}, "hello from stdin\n");
    CMD_OK(attached);
    QCOMPARE(attached.out, QString("hello from stdin\ndone\n"));
    QVERIFY(waitFor([&] { return jsonpath("pod", "reader", "{.status.phase}") == "Succeeded"; },
                    20000));
    QCOMPARE(k({"logs", "reader"}).out, QString("ready\nhello from stdin\ndone\n"));
  }

  void runWithTerminal() {
    // `kubectl run -it --rm`: a pod with stdin and tty, attached at once, deleted afterwards.
    QProcess p;
    p.setProcessEnvironment(kubectlEnv());
    p.start("python3",
            {"-c", kPtyDriver, "echo hi$((40+2))\rtty\rexit 7\r", "/usr/bin/kubectl", "run", "-it",
             "--rm", "shell", "--image=busybox", "--restart=Never",
             "--overrides={\"spec\":{\"nodeName\":\"n1\",\"terminationGracePeriodSeconds\":1}}",
             "--", "sh"});
    QVERIFY(p.waitForFinished(60000));
    const QString shown = QString::fromUtf8(p.readAllStandardOutput());
    KD_VERIFY2(
        shown.contains(QRegularExpression("^hi42\\r?$", QRegularExpression::MultilineOption)),
        qPrintable(shown + p.readAllStandardError() + agentLog()));
    KD_VERIFY2(shown.contains("/dev/pts/0"), qPrintable(shown));  // the container's own terminal
    QCOMPARE(p.exitCode(), 7);
    QVERIFY(waitFor([&] { return k({"get", "pod", "shell"}).exitCode != 0; }, 30000));
  }

  void execAcrossKubectlVersions_data() {
    QTest::addColumn<QString>("binary");
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<QString>("out");
    QTest::addColumn<QString>("err");  // a substring of stderr
    QTest::addColumn<int>("exitCode");
    for (const char* version : kAllKubectls) {
      const QString binary = kubectlBinary(version);
      QTest::addRow("%s split output", version)
          << binary << QStringList{"--", "sh", "-c", "echo out; echo err >&2; exit 3"}
          << QByteArray() << "out\n"
          << "err\ncommand terminated with exit code 3" << 3;
      QTest::addRow("%s stdin", version)
          << binary << QStringList{"-i", "--", "cat"} << QByteArray("line one\nline two\n")
          << "line one\nline two\n"
          << "" << 0;
      QTest::addRow("%s missing container", version)
          << binary << QStringList{"-c", "nosuch", "--", "true"} << QByteArray() << ""
          << "container nosuch is not valid for pod talker" << 1;
    }
  }
  void execAcrossKubectlVersions() {
    QFETCH(QString, binary);
    QFETCH(QStringList, args);
    QFETCH(QByteArray, input);
    QFETCH(QString, out);
    QFETCH(QString, err);
    QFETCH(int, exitCode);
    const auto r = engine_.kubectl(QStringList{"exec", "talker"} + args, input, binary);
    KD_VERIFY2(r.exitCode == exitCode, qPrintable(QString::number(r.exitCode) + r.err + r.out));
    QCOMPARE(r.out, out);
    KD_VERIFY2(r.err.contains(err), qPrintable(r.err));
  }

  void execWithTerminalAcrossKubectlVersions_data() {
    QTest::addColumn<QString>("binary");
    for (const char* version : kAllKubectls) QTest::addRow("%s", version) << kubectlBinary(version);
  }
  void execWithTerminalAcrossKubectlVersions() {
    QFETCH(QString, binary);
    QProcess p;
    p.setProcessEnvironment(kubectlEnv());
    p.start("python3", {"-c", kPtyDriver, "echo hi$((40+2)) $(stty size)\rexit 5\r", binary, "exec",
                        "-it", "talker", "--", "sh"});
    QVERIFY(p.waitForFinished(40000));
    // The command ran (hi42, not the echoed input) on a terminal of the local size (resize).
    // Lines end in "\r\n", or in "\r\r\n" when kubectl's local terminal is still in cooked
    // mode as the output arrives (seen once under load, with every line so).
    const QString shown = QString::fromUtf8(p.readAllStandardOutput());
    KD_VERIFY2(shown.contains(
                   QRegularExpression("^hi42 30 100\\r*$", QRegularExpression::MultilineOption)),
               qPrintable(shown + p.readAllStandardError()));
    QCOMPARE(p.exitCode(), 5);
  }

  void attachAcrossKubectlVersions_data() {
    QTest::addColumn<QString>("binary");
    QTest::addColumn<QString>("container");
    for (const char* version : kSpdyKubectls) {
      QTest::addRow("%s", version) << kubectlBinary(version) << "r" + QString(version).remove('.');
    }
  }
  void attachAcrossKubectlVersions() {
    QFETCH(QString, binary);
    QFETCH(QString, container);
    if (jsonpath("pod", "readers", "{.metadata.name}").isEmpty()) {
      CMD_OK(k({"apply", "-f", "-"}, attachTargetsPod()));
      KD_VERIFY2(waitFor([&] { return jsonpath("pod", "readers", "{.status.phase}") == "Running"; },
                         60000),
                 qPrintable(agentLog()));
    }
    const auto attached = engine_.kubectl({"attach", "-i", "readers", "-c", container},
                                          "hello from " + container.toUtf8() + "\n", binary);
    CMD_OK(attached);
    QCOMPARE(attached.out, "hello from " + container + "\ndone\n");
    const QString state =
        "{.status.containerStatuses[?(@.name==\"" + container + "\")].state.terminated.exitCode}";
    KD_VERIFY2(waitFor([&] { return jsonpath("pod", "readers", state) == "0"; }, 20000),
               qPrintable(k({"get", "pod", "readers", "-o", "yaml"}).out));
  }

  void noAgentIsServiceUnavailable() {
    CMD_OK(k({"apply", "-f", "-"}, busyboxPod("stranded", "ghost", "Never", {"true"})));
    for (const auto& args :
         {QStringList{"logs", "stranded"}, QStringList{"exec", "stranded", "--", "true"}}) {
      auto r = k(args);
      QVERIFY(r.exitCode != 0);
      KD_VERIFY2(r.err.contains("no node agent of node \"ghost\" is connected"), qPrintable(r.err));
    }
    auto raw = k({"get", "--raw", "/api/v1/namespaces/default/pods/stranded/log"});
    KD_VERIFY2(raw.err.contains("ServiceUnavailable") || raw.err.contains("503"),
               qPrintable(raw.err));
    k({"delete", "pod", "stranded", "--grace-period=0", "--force"});
  }

  void cleanupTestCase() {
    if (engine_.url().isEmpty()) return;
    k({"delete", "pods", "--all", "--grace-period=1", "--timeout=30s"});
    const QStringList left = agent_.cleanUp();
    KD_VERIFY2(left.isEmpty(), qPrintable(left.join(',')));
  }
};

QTEST_GUILESS_MAIN(StreamingE2eTest)
#include "streaming_e2e_test.moc"
