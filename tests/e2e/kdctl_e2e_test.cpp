// End to end: kdctl against a real kubedesk-engine process, compared with the real kubectl on
// the same objects; and kdctl's cluster lifecycle on a throwaway profile.

#include <signal.h>

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

#include "engine_process.h"

namespace {

const QString kKdctl = QStringLiteral(KD_BINARY_DIR "/bin/kdctl");

QString manifest(const QString& name) {
  return QStringLiteral(KD_SOURCE_DIR "/tests/e2e/manifests/") + name;
}

#define CMD_OK(result)                                                                       \
  QVERIFY2((result).exitCode == 0, qPrintable("exit " + QString::number((result).exitCode) + \
                                              "\n" + (result).err + (result).out))

CommandResult run(const QString& program, const QStringList& args, const QProcessEnvironment& env) {
  QProcess p;
  p.setProcessEnvironment(env);
  p.start(program, args);
  CommandResult r;
  if (!p.waitForStarted(5000)) return r;
  p.closeWriteChannel();
  if (!p.waitForFinished(90000)) {
    p.kill();
    p.waitForFinished(2000);
    return r;
  }
  r.exitCode = p.exitCode();
  r.out = QString::fromUtf8(p.readAllStandardOutput());
  r.err = QString::fromUtf8(p.readAllStandardError());
  return r;
}

bool writeFile(const QString& path, const QByteArray& text) {
  QFile f(path);
  return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(text) == text.size();
}

// Alive and not a zombie waiting for a parent that never reaps it.
bool alive(pid_t pid) {
  if (pid <= 0 || ::kill(pid, 0) != 0) return false;
  QFile stat(QString("/proc/%1/stat").arg(pid));
  if (!stat.open(QIODevice::ReadOnly)) return false;
  const QByteArray text = stat.readAll();
  const int close = text.lastIndexOf(')');
  return close < 0 || text.mid(close + 2, 1) != "Z";
}

QJsonObject jsonOf(const QString& text) {
  return QJsonDocument::fromJson(text.toUtf8()).object();
}

}  // namespace

class KdctlE2eTest : public QObject {
  Q_OBJECT
  EngineProcess engine_;
  QTemporaryDir tmp_;

  CommandResult kd(const QStringList& args, const QByteArray& input = {}) {
    return engine_.kubectl(args, input, kKdctl);
  }
  CommandResult k(const QStringList& args, const QByteArray& input = {}) {
    return engine_.kubectl(args, input);
  }

 private slots:
  void initTestCase() {
    QVERIFY2(engine_.start(), qPrintable(engine_.log()));
    CMD_OK(k({"apply", "-f", manifest("shop.yaml")}));
    CMD_OK(k({"create", "namespace", "empty"}));
  }

  // Printed tables must equal kubectl's byte for byte; a run straddling a second boundary can
  // change an AGE cell, so a few attempts are allowed.
  void tablesMatchKubectl_data() {
    QTest::addColumn<QStringList>("args");
    QTest::newRow("deployments") << QStringList{"get", "deploy", "-n", "shop"};
    QTest::newRow("short name, wide") << QStringList{"get", "deploy", "-n", "shop", "-o", "wide"};
    QTest::newRow("configmaps with labels")
        << QStringList{"get", "cm", "-n", "shop", "--show-labels"};
    QTest::newRow("all namespaces") << QStringList{"get", "configmaps", "-A"};
    QTest::newRow("cluster scoped") << QStringList{"get", "ns"};
    QTest::newRow("all") << QStringList{"get", "all", "-n", "shop"};
    QTest::newRow("two kinds") << QStringList{"get", "deploy,svc", "-n", "shop"};
    QTest::newRow("by name") << QStringList{"get", "deployment", "web", "-n", "shop"};
    QTest::newRow("slash form") << QStringList{"get", "deploy/web", "-n", "shop"};
    QTest::newRow("label selector") << QStringList{"get", "deploy", "-A", "-l", "app=web"};
    QTest::newRow("no headers") << QStringList{"get", "svc", "-n", "shop", "--no-headers"};
    QTest::newRow("empty namespace") << QStringList{"get", "pods", "-n", "empty"};
    QTest::newRow("not found") << QStringList{"get", "deploy", "nope", "-n", "shop"};
    QTest::newRow("name output") << QStringList{"get", "cm", "-n", "shop", "-o", "name"};
    QTest::newRow("jsonpath") << QStringList{
        "get", "deploy",
        "-n",  "shop",
        "-o",  "jsonpath={range .items[*]}{.metadata.name}={.spec.replicas}{\"\\n\"}{end}"};
    QTest::newRow("json of one object")
        << QStringList{"get", "deploy", "web", "-n", "shop", "-o", "json"};
    QTest::newRow("json of a list") << QStringList{"get", "cm", "-n", "shop", "-o", "json"};
  }

  void tablesMatchKubectl() {
    QFETCH(QStringList, args);
    CommandResult mine, theirs;
    for (int attempt = 0; attempt < 3; ++attempt) {
      mine = kd(args);
      theirs = k(args);
      if (mine.out == theirs.out && mine.err == theirs.err) break;
    }
    QCOMPARE(mine.exitCode, theirs.exitCode);
    QCOMPARE(mine.err, theirs.err);
    QCOMPARE(mine.out, theirs.out);
  }

  void applyInteroperatesWithKubectl_data() {
    QTest::addColumn<bool>("kdctlFirst");
    QTest::newRow("kdctl then kubectl") << true;
    QTest::newRow("kubectl then kdctl") << false;
  }

  // The second tool must delete what the first applied and the file no longer holds, keep
  // what someone else set, and add what is new: the three-way merge.
  void applyInteroperatesWithKubectl() {
    QFETCH(bool, kdctlFirst);
    const QString name = kdctlFirst ? "merge-a" : "merge-b";
    const QString file = tmp_.filePath(name + ".yaml");
    const QByteArray head = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name.toUtf8() +
                            "\n  namespace: shop\n";
    auto first = [&](const QStringList& a) { return kdctlFirst ? kd(a) : k(a); };
    auto second = [&](const QStringList& a) { return kdctlFirst ? k(a) : kd(a); };

    QVERIFY(writeFile(file, head + "  labels:\n    keep: \"yes\"\n    drop: \"yes\"\n"
                                   "data:\n  a: \"1\"\n  b: \"2\"\n"));
    auto created = first({"apply", "-f", file});
    CMD_OK(created);
    QCOMPARE(created.out, "configmap/" + name + " created\n");
    CMD_OK(k({"label", "cm", name, "-n", "shop", "other=set-by-hand"}));

    QVERIFY(
        writeFile(file, head + "  labels:\n    keep: \"yes\"\ndata:\n  a: \"1\"\n  c: \"3\"\n"));
    auto configured = second({"apply", "-f", file});
    CMD_OK(configured);
    QCOMPARE(configured.out, "configmap/" + name + " configured\n");

    auto live = k({"get", "cm", name, "-n", "shop", "-o", "json"});
    CMD_OK(live);
    const QJsonObject obj = jsonOf(live.out);
    const QJsonObject data = obj["data"].toObject();
    QCOMPARE(data.keys(), (QStringList{"a", "c"}));
    const QJsonObject labels = obj["metadata"].toObject()["labels"].toObject();
    QCOMPARE(labels.keys(), (QStringList{"keep", "other"}));

    auto again = first({"apply", "-f", file});
    CMD_OK(again);
    QCOMPARE(again.out, "configmap/" + name + " unchanged\n");
  }

  void lastAppliedAnnotationMatchesKubectls() {
    const QString file = tmp_.filePath("annot.yaml");
    QVERIFY(writeFile(file,
                      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: annot-NAME\n"
                      "data:\n  html: \"<b>&</b>\"\n"));
    QFile f(file);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QByteArray text = f.readAll();
    f.close();
    QVERIFY(writeFile(file, QByteArray(text).replace("NAME", "kd")));
    CMD_OK(kd({"apply", "-f", file}));
    QVERIFY(writeFile(file, QByteArray(text).replace("NAME", "k")));
    CMD_OK(k({"apply", "-f", file}));
    const QString path =
        "jsonpath={.metadata.annotations.kubectl\\.kubernetes\\.io/last-applied-configuration}";
    auto mine = k({"get", "cm", "annot-kd", "-o", path});
    auto theirs = k({"get", "cm", "annot-k", "-o", path});
    QCOMPARE(QString(mine.out).replace("annot-kd", "X"),
             QString(theirs.out).replace("annot-k", "X"));
  }

  void verbsPrintLikeKubectl() {
    auto scaled = kd({"scale", "deploy/web", "-n", "shop", "--replicas=3"});
    CMD_OK(scaled);
    QCOMPARE(scaled.out, QString("deployment.apps/web scaled\n"));
    QCOMPARE(k({"get", "deploy", "web", "-n", "shop", "-o", "jsonpath={.spec.replicas}"}).out,
             QString("3"));

    auto labeled = kd({"label", "deploy", "web", "-n", "shop", "tier=front"});
    CMD_OK(labeled);
    QCOMPARE(labeled.out, QString("deployment.apps/web labeled\n"));
    auto clash = kd({"label", "deploy", "web", "-n", "shop", "tier=back"});
    QCOMPARE(clash.exitCode, 1);
    QVERIFY2(clash.err.contains("--overwrite is false"), qPrintable(clash.err));
    CMD_OK(kd({"label", "deploy", "web", "-n", "shop", "tier-"}));

    auto annotated = kd({"annotate", "cm", "web-config", "-n", "shop", "owner=me"});
    CMD_OK(annotated);
    QCOMPARE(annotated.out, QString("configmap/web-config annotated\n"));

    auto patched = kd({"patch", "cm", "web-config", "-n", "shop", "--type", "merge", "-p",
                       "{\"data\":{\"MODE\":\"dev\"}}"});
    CMD_OK(patched);
    QCOMPARE(patched.out, QString("configmap/web-config patched\n"));
    auto same = kd({"patch", "cm", "web-config", "-n", "shop", "--type", "merge", "-p",
                    "{\"data\":{\"MODE\":\"dev\"}}"});
    QCOMPARE(same.out, QString("configmap/web-config patched (no change)\n"));
  }

  void createAndDelete() {
    const QString file = tmp_.filePath("del.yaml");
    QVERIFY(writeFile(file,
                      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: del-a\n"
                      "  labels: {group: del}\n---\napiVersion: v1\nkind: ConfigMap\n"
                      "metadata:\n  name: del-b\n  labels: {group: del}\n"));
    auto created = kd({"create", "-f", file});
    CMD_OK(created);
    QCOMPARE(created.out, QString("configmap/del-a created\nconfigmap/del-b created\n"));
    auto exists = kd({"create", "-f", file});
    QCOMPARE(exists.exitCode, 1);
    QVERIFY2(exists.err.contains("Error from server (AlreadyExists): error when creating"),
             qPrintable(exists.err));

    auto one = kd({"delete", "cm", "del-a"});
    CMD_OK(one);
    QCOMPARE(one.out, QString("configmap \"del-a\" deleted\n"));
    auto bySelector = kd({"delete", "cm", "-l", "group=del"});
    CMD_OK(bySelector);
    QCOMPARE(bySelector.out, QString("configmap \"del-b\" deleted\n"));
    auto missing = kd({"delete", "cm", "del-a"});
    auto missingK = k({"delete", "cm", "del-a"});
    QCOMPARE(missing.exitCode, 1);
    QCOMPARE(missing.err, missingK.err);
    CMD_OK(kd({"delete", "cm", "del-a", "--ignore-not-found"}));
  }

  void getPodsIsFast() {
    QElapsedTimer t;
    const int runs = 10;
    t.start();
    for (int i = 0; i < runs; ++i) CMD_OK(kd({"get", "pods", "-n", "shop"}));
    const double mine = double(t.elapsed()) / runs;
    t.restart();
    for (int i = 0; i < runs; ++i) CMD_OK(k({"get", "pods", "-n", "shop"}));
    const double theirs = double(t.elapsed()) / runs;
    qInfo("get pods: kdctl %.1f ms, kubectl %.1f ms (mean of %d)", mine, theirs, runs);
    QVERIFY(mine < theirs);
  }

  // start/status/stop/delete on a profile of its own, with every path the CLI writes inside a
  // temporary directory.
  void lifecycle() {
    QTemporaryDir dir;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("XDG_DATA_HOME", dir.filePath("data"));
    env.insert("HOME", dir.filePath("home"));
    env.insert("KUBECONFIG", dir.filePath("kubeconfig"));
    const QStringList profile{"--profile", "e2e"};
    // Whatever fails below, no engine outlives the test.
    struct Cleanup {
      QProcessEnvironment env;
      ~Cleanup() { run(kKdctl, {"delete", "--profile", "e2e"}, env); }
    } cleanup{env};

    auto started = run(kKdctl, QStringList{"start"} + profile, env);
    CMD_OK(started);
    QVERIFY2(started.out.contains("Done! kubectl is now configured to use \"e2e\" cluster"),
             qPrintable(started.out));
    auto state = QJsonDocument::fromJson([&] {
                   QFile f(dir.filePath("data/kubedesk/e2e/engine.json"));
                   f.open(QIODevice::ReadOnly);
                   return f.readAll();
                 }())
                     .object();
    const pid_t pid = state["pid"].toInt();
    QVERIFY(pid > 0 && alive(pid));

    auto again = run(kKdctl, QStringList{"start"} + profile, env);
    CMD_OK(again);
    QCOMPARE(QJsonDocument::fromJson([&] {
               QFile f(dir.filePath("data/kubedesk/e2e/engine.json"));
               f.open(QIODevice::ReadOnly);
               return f.readAll();
             }())
                 .object()["pid"]
                 .toInt(),
             int(pid));  // the running engine is reused

    auto status = run(kKdctl, QStringList{"status"} + profile, env);
    CMD_OK(status);
    QVERIFY2(status.out.contains("host: Running") && status.out.contains("apiserver: Running") &&
                 status.out.contains("kubeconfig: Configured"),
             qPrintable(status.out));
    auto viaKubectl = run("/usr/bin/kubectl", {"get", "ns", "default", "-o", "name"}, env);
    CMD_OK(viaKubectl);
    QCOMPARE(viaKubectl.out, QString("namespace/default\n"));
    auto list = run(kKdctl, {"profile", "list"}, env);
    CMD_OK(list);
    QVERIFY(list.out.contains(QRegularExpression("e2e\\s+Running")));

    CMD_OK(run(kKdctl, QStringList{"stop"} + profile, env));
    QVERIFY(!alive(pid));
    auto stopped = run(kKdctl, QStringList{"status"} + profile, env);
    QCOMPARE(stopped.exitCode, 7);
    QVERIFY(stopped.out.contains("host: Stopped"));

    CMD_OK(run(kKdctl, QStringList{"start"} + profile, env));
    const pid_t second = QJsonDocument::fromJson([&] {
                           QFile f(dir.filePath("data/kubedesk/e2e/engine.json"));
                           f.open(QIODevice::ReadOnly);
                           return f.readAll();
                         }())
                             .object()["pid"]
                             .toInt();
    QVERIFY(second != pid && alive(second));
    CMD_OK(run(kKdctl, {"delete", "-p", "e2e"}, env));
    QVERIFY(!alive(second));
    QVERIFY(!QDir(dir.filePath("data/kubedesk/e2e")).exists());
    QFile kubeconfig(dir.filePath("kubeconfig"));
    QVERIFY(kubeconfig.open(QIODevice::ReadOnly));
    QVERIFY(!kubeconfig.readAll().contains("e2e"));
  }
};

QTEST_GUILESS_MAIN(KdctlE2eTest)
#include "kdctl_e2e_test.moc"
