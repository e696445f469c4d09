// End to end: kdctl's `create` generators and `edit` against a real kubedesk-engine process,
// each compared with the real kubectl doing the same thing in a namespace of its own.

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

#include "engine_process.h"

namespace {

const QString kKdctl = QStringLiteral(KD_BINARY_DIR "/bin/kdctl");
// The temporary file an editor session keeps after a failed save.
const QRegularExpression kTempFile("\"[^\"]*-edit-[^\"]*\"");

bool writeFile(const QString& path, const QByteArray& text, bool executable = false) {
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(text) != text.size()) {
    return false;
  }
  f.close();
  return !executable || f.setPermissions(f.permissions() | QFile::ExeOwner);
}

QByteArray readFile(const QString& path) {
  QFile f(path);
  return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

// What two creations of the same thing differ in: identity, time, and the namespace.
void dropVolatile(QJsonObject& object) {
  QJsonObject meta = object["metadata"].toObject();
  for (const char* key : {"uid", "resourceVersion", "creationTimestamp", "managedFields",
                          "namespace", "generation"}) {
    meta.remove(key);
  }
  object["metadata"] = meta;
  object.remove("status");
}

// The object kubectl or kdctl printed, comparable: uids (the object's own, the owner's, and
// the labels a Job derives from its uid) become UID, and the namespace names NS.
QJsonObject comparable(QString text, const QStringList& namespaces) {
  static const QRegularExpression kUid(
      "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
  text.replace(kUid, "UID");
  for (const auto& ns : namespaces) text.replace("\"" + ns + "\"", "\"NS\"");
  QJsonObject object = QJsonDocument::fromJson(text.toUtf8()).object();
  dropVolatile(object);
  return object;
}

}  // namespace

class KdctlCreateE2eTest : public QObject {
  Q_OBJECT
  EngineProcess engine_{{}, {"--simulated-nodes", "1"}};
  QTemporaryDir tmp_;
  const QString nsK_ = "gen-kubectl", nsKd_ = "gen-kdctl";

  CommandResult kd(const QStringList& args, const QByteArray& input = {}) {
    return engine_.kubectl(args, input, kKdctl);
  }
  CommandResult k(const QStringList& args, const QByteArray& input = {}) {
    return engine_.kubectl(args, input);
  }
  QString file(const QString& name) const { return tmp_.filePath(name); }

  // The same deployment in both namespaces, available (so both show the same status).
  void createDeployments(const QString& name) {
    for (const auto& ns : {nsK_, nsKd_}) {
      CMD_OK(k({"create", "deployment", name, "--image=nginx", "-n", ns}));
    }
    for (const auto& ns : {nsK_, nsKd_}) {
      CMD_OK(k({"wait", "--for=condition=Available", "deploy/" + name, "-n", ns, "--timeout=60s"}));
    }
  }

  // An editor script that counts its turns in $KD_EDIT_STATE, keeps a copy of what it was
  // given in each turn, and runs `first` on turn 1 and `second` after.
  static QByteArray editorWithTurns(const QByteArray& first, const QByteArray& second) {
    return "n=$(cat \"$KD_EDIT_STATE/turn\" 2>/dev/null || echo 0); n=$((n + 1))\n"
           "echo $n > \"$KD_EDIT_STATE/turn\"\ncp \"$1\" \"$KD_EDIT_STATE/seen-$n\"\n"
           "if [ $n = 1 ]; then\n" +
           first + "else\n" + second + "fi\n";
  }

  QString stateDir(bool kdctl) const { return file(kdctl ? "turns-kdctl" : "turns-kubectl"); }

  CommandResult runWithTurns(bool kdctl, const QStringList& args) {
    QDir(stateDir(kdctl)).removeRecursively();
    QDir().mkpath(stateDir(kdctl));
    qputenv("KD_EDIT_STATE", stateDir(kdctl).toUtf8());
    return kdctl ? kd(args) : k(args);
  }

  // What the editor was given in `turn`, with what differs between the two namespaces'
  // objects (names, uids, times, versions) masked.
  QString seen(bool kdctl, int turn) const {
    return masked(QString::fromUtf8(readFile(stateDir(kdctl) + "/seen-" + QString::number(turn))),
                  kdctl);
  }

  QString masked(QString text, bool kdctl) const {
    static const QRegularExpression kVolatile(
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|"
        "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ|\"resourceVersion\": \"\\d+\"");
    return text.replace(kVolatile, "X").replace(kdctl ? nsKd_ : nsK_, "NS");
  }

  // Sets KUBE_EDITOR to a shell script (the body runs with the file as $1) for both CLIs.
  void useEditor(const QString& name, const QByteArray& body) {
    const QString path = file(name);
    QVERIFY(writeFile(path, "#!/bin/sh\nset -e\n" + body, true));
    qputenv("KUBE_EDITOR", path.toUtf8());
  }

 private slots:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    KD_VERIFY2(engine_.start(), qPrintable(engine_.log()));
    QVERIFY(writeFile(file("app.conf"), "mode=dev\nlevel=2\n"));
    QVERIFY(writeFile(file("blob.bin"), QByteArray("\xff\xfe\x00\x01", 4)));
    QVERIFY(QDir(tmp_.path()).mkpath("dir"));
    QVERIFY(writeFile(file("dir/one"), "1"));
    QVERIFY(writeFile(file("dir/two.txt"), "<two & more>"));
    QVERIFY(
        writeFile(file("app.env"),
                  "\xEF\xBB\xBF# settings\n\n  MODE=dev\nSPACED= a b \nEMPTY=\nKD_E2E_FROM_ENV\n"));
    qputenv("KD_E2E_FROM_ENV", "from the environment");
    qputenv("TMPDIR", tmp_.path().toUtf8());
    const QByteArray cronJob =
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: report}\nspec:\n"
        "  schedule: \"0 0 1 1 *\"\n  jobTemplate:\n"
        "    metadata: {labels: {team: a}, annotations: {note: kept}}\n"
        "    spec:\n      backoffLimit: 2\n      template:\n"
        "        spec:\n          restartPolicy: OnFailure\n"
        "          containers: [{name: c, image: busybox, command: [echo, hi]}]\n";
    for (const auto& ns : {nsK_, nsKd_}) {
      CMD_OK(k({"create", "namespace", ns}));
      CMD_OK(k({"apply", "-n", ns, "-f", "-"}, cronJob));
    }
  }

  // Each generator makes the object kubectl's makes: the client-side dry run prints the same
  // text, the created objects are the same, and so are the lines printed on creation.
  void generatorsMatchKubectl_data() {
    QTest::addColumn<QStringList>("generator");  // words before NAME
    QTest::addColumn<QString>("name");
    QTest::addColumn<QStringList>("rest");  // flags and the command after NAME
    const QString dir = tmp_.path() + "/";
    QTest::newRow("deployment") << QStringList{"deployment"} << "web"
                                << QStringList{"--image=nginx:1.25"};
    QTest::newRow("deployment: replicas, port, command, image name from a digest")
        << QStringList{"deploy"} << "sleeper"
        << QStringList{"--image=registry.local:5000/team/my-app@sha256:0123",
                       "--replicas=3",
                       "--port=8080",
                       "--",
                       "sleep",
                       "3600"};
    QTest::newRow("deployment: two images")
        << QStringList{"deployment"} << "pair"
        << QStringList{"--image=nginx", "--image=library/busybox:1.36"};
    QTest::newRow("job with a command")
        << QStringList{"job"} << "once" << QStringList{"--image=busybox", "--", "echo", "hi"};
    QTest::newRow("job from a cron job")
        << QStringList{"job"} << "manual" << QStringList{"--from=cronjob/report"};
    QTest::newRow("config map: literals, files, a directory, an env file")
        << QStringList{"configmap"} << "settings"
        << QStringList{"--from-literal=a=1", "--from-literal=url=http://x?a=b&c=<d>",
                       "--from-file=" + dir + "app.conf", "--from-file=raw=" + dir + "blob.bin",
                       "--from-file=" + dir + "dir"};
    QTest::newRow("config map from an env file")
        << QStringList{"cm"} << "env" << QStringList{"--from-env-file=" + dir + "app.env"};
    QTest::newRow("empty config map") << QStringList{"configmap"} << "empty" << QStringList{};
    QTest::newRow("secret generic")
        << QStringList{"secret", "generic"} << "creds"
        << QStringList{"--from-literal=user=admin", "--from-file=" + dir + "blob.bin"};
    QTest::newRow("secret generic from an env file")
        << QStringList{"secret", "generic"} << "env-creds"
        << QStringList{"--from-env-file=" + dir + "app.env"};
    QTest::newRow("secret generic with a type")
        << QStringList{"secret", "generic"} << "typed"
        << QStringList{"--type=example.com/kind", "--from-literal=k=v"};
  }

  void generatorsMatchKubectl() {
    QFETCH(QStringList, generator);
    QFETCH(QString, name);
    QFETCH(QStringList, rest);
    const QStringList namespaces{nsK_, nsKd_};
    auto args = [&](const QString& ns, const QString& n, const QStringList& extra) {
      return QStringList{"create"} + generator + QStringList{n} + extra + QStringList{"-n", ns} +
             rest;
    };
    // JSON here; kdctl_yaml_e2e_test compares YAML printing.
    const QStringList dryRun{"--dry-run=client", "-o", "json"};
    const auto dryK = k(args(nsK_, name, dryRun)), dryKd = kd(args(nsK_, name, dryRun));
    CMD_OK(dryK);
    QCOMPARE(dryKd.err, dryK.err);
    // A cron job's template comes from the server: kubectl prints it decoded into Go types
    // (field order, empty structs); the created objects are compared below.
    if (!generator.contains("job") || !rest.join(' ').contains("--from")) {
      QCOMPARE(dryKd.out, dryK.out);
    }

    const auto madeK = k(args(nsK_, name, {"-o", "json"}));
    const auto madeKd = kd(args(nsKd_, name, {"-o", "json"}));
    CMD_OK(madeK);
    CMD_OK(madeKd);
    QCOMPARE(comparable(madeKd.out, namespaces), comparable(madeK.out, namespaces));

    const auto lineK = k(args(nsK_, name + "-2", {}));
    const auto lineKd = kd(args(nsKd_, name + "-2", {}));
    QCOMPARE(lineKd.exitCode, lineK.exitCode);
    QCOMPARE(lineKd.out, lineK.out);
    QCOMPARE(lineKd.err, lineK.err);
  }

  // Cluster-scoped: the two namespaces need names of their own.
  void namespaceMatchesKubectl() {
    const auto madeK = k({"create", "namespace", "made-by-kubectl", "-o", "json"});
    const auto madeKd = kd({"create", "namespace", "made-by-kdctl", "-o", "json"});
    CMD_OK(madeK);
    CMD_OK(madeKd);
    const QStringList names{"made-by-kubectl", "made-by-kdctl"};
    QJsonObject mine = comparable(madeKd.out, names), theirs = comparable(madeK.out, names);
    QCOMPARE(mine, theirs);
    QCOMPARE(kd({"create", "ns", "line-kdctl"}).out, QString("namespace/line-kdctl created\n"));
    QCOMPARE(kd({"create", "ns", "x", "--dry-run=client", "-o", "json"}).out,
             k({"create", "ns", "x", "--dry-run=client", "-o", "json"}).out);
  }

  // Outputs that kubectl prints in other forms: -o name, dry runs, JSON in Go's field order.
  void outputsMatchKubectl_data() {
    QTest::addColumn<QStringList>("args");
    QTest::newRow("-o name") << QStringList{"create",        "deployment", "named",
                                            "--image=nginx", "-o",         "name"};
    QTest::newRow("client dry run line")
        << QStringList{"create", "job", "dry", "--image=busybox", "--dry-run=client"};
    QTest::newRow("server dry run line")
        << QStringList{"create", "cm", "dry", "--from-literal=a=b", "--dry-run=server"};
    QTest::newRow("client dry run as json") << QStringList{
        "create", "deploy", "j", "--image=nginx", "--port=80", "--dry-run=client", "-o", "json"};
    QTest::newRow("client dry run secret as json")
        << QStringList{"create",           "secret", "generic", "s", "--from-literal=a=<b>",
                       "--dry-run=client", "-o",     "json"};
    QTest::newRow("client dry run, -o name")
        << QStringList{"create", "secret", "generic", "s", "--dry-run=client", "-o", "name"};
  }

  void outputsMatchKubectl() {
    QFETCH(QStringList, args);
    const auto mine = kd(args + QStringList{"-n", nsKd_});
    const auto theirs = k(args + QStringList{"-n", nsK_});
    QCOMPARE(mine.exitCode, theirs.exitCode);
    QCOMPARE(mine.err, theirs.err);
    QCOMPARE(QString(mine.out).replace(nsKd_, "NS"), QString(theirs.out).replace(nsK_, "NS"));
  }

  // Refusals: same message, same exit code.
  void errorsMatchKubectl_data() {
    QTest::addColumn<QStringList>("args");
    QTest::newRow("two names") << QStringList{"create", "deployment", "a", "b", "--image=x"};
    QTest::newRow("no name") << QStringList{"create", "secret", "generic"};
    QTest::newRow("several images and a command")
        << QStringList{"create", "deployment", "a", "--image=x", "--image=y", "--", "sleep", "1"};
    QTest::newRow("job: image and from")
        << QStringList{"create", "job", "j", "--image=x", "--from=cronjob/report"};
    QTest::newRow("job: neither image nor from") << QStringList{"create", "job", "j"};
    QTest::newRow("job: from a missing cron job")
        << QStringList{"create", "job", "j", "--from=cronjob/nope"};
    QTest::newRow("literal without =")
        << QStringList{"create", "cm", "c", "--from-literal=x", "--dry-run=client"};
    QTest::newRow("duplicate key")
        << QStringList{"create", "cm", "c", "--from-literal=x=1", "--from-literal=x=2"};
    QTest::newRow("env file and literals")
        << QStringList{"create", "cm", "c", "--from-literal=x=1", "--from-env-file=/x"};
    QTest::newRow("bad key") << QStringList{"create", "cm", "c", "--from-literal=a/b=1"};
    QTest::newRow("missing file") << QStringList{"create", "cm", "c", "--from-file=/nonexistent"};
    QTest::newRow("job already exists") << QStringList{"create", "job", "dup", "--image=x"};
    QTest::newRow("invalid replicas")
        << QStringList{"create", "deployment", "neg", "--image=x", "--replicas=-1"};
    QTest::newRow("invalid name") << QStringList{"create", "configmap", "Bad_Name"};
    QTest::newRow("secret already exists") << QStringList{"create", "secret", "generic", "dup"};
    QTest::newRow("config map already exists") << QStringList{"create", "cm", "dup"};
  }

  void errorsMatchKubectl() {
    QFETCH(QStringList, args);
    if (QString(QTest::currentDataTag()).endsWith("already exists")) {
      k(args + QStringList{"-n", nsK_});
      kd(args + QStringList{"-n", nsKd_});
    }
    const auto mine = kd(args + QStringList{"-n", nsKd_});
    const auto theirs = k(args + QStringList{"-n", nsK_});
    QCOMPARE(mine.exitCode, theirs.exitCode);
    QCOMPARE(QString(mine.err).replace(nsKd_, "NS"),
             QString(theirs.err).replace(nsK_, "NS").replace("'kubectl ", "'kdctl "));
    QCOMPARE(mine.out, theirs.out);
  }

  // A changed file goes back as a patch: both CLIs print the same and the change lands.
  void editSavesChanges_data() {
    QTest::addColumn<QStringList>("format");
    QTest::addColumn<QByteArray>("script");
    QTest::addColumn<QString>("expectedReplicas");
    QTest::newRow("yaml") << QStringList{}
                          << QByteArray("sed -i '0,/replicas: 1/s//replicas: 2/' \"$1\"\n") << "2";
    QTest::newRow("json") << QStringList{"-o", "json"}
                          << QByteArray(
                                 "sed -i '0,/\"replicas\": 1,/s//\"replicas\": 4,/' \"$1\"\n")
                          << "4";
    QTest::newRow("no change") << QStringList{} << QByteArray(":\n") << "1";
  }

  void editSavesChanges() {
    QFETCH(QStringList, format);
    QFETCH(QByteArray, script);
    QFETCH(QString, expectedReplicas);
    const QString name = "edit-" + QString(QTest::currentDataTag()).replace(' ', '-');
    createDeployments(name);
    useEditor("editor.sh", script);
    const auto mine = kd(QStringList{"edit", "deployment/" + name, "-n", nsKd_} + format);
    const auto theirs = k(QStringList{"edit", "deployment", name, "-n", nsK_} + format);
    QCOMPARE(mine.exitCode, theirs.exitCode);
    QCOMPARE(mine.err, theirs.err);
    QCOMPARE(masked(mine.out, true), masked(theirs.out, false));
    for (const auto& ns : {nsK_, nsKd_}) {
      QCOMPARE(k({"get", "deploy", name, "-n", ns, "-o", "jsonpath={.spec.replicas}"}).out,
               expectedReplicas);
    }
  }

  // An invalid object reopens the editor with the server's causes on top; the next save
  // wins. A syntax error reopens it too, and leaving it unchanged gives up.
  void editReopensOnErrors_data() {
    QTest::addColumn<QByteArray>("secondEdit");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QString>("replicas");
    QTest::newRow("invalid, then fixed")
        << QByteArray("sed -i '0,/\"replicas\": -1,/s//\"replicas\": 3,/' \"$1\"\n") << 0 << "3";
    QTest::newRow("invalid, then unchanged") << QByteArray(":\n") << 1 << "1";
  }

  void editReopensOnErrors() {
    QFETCH(QByteArray, secondEdit);
    QFETCH(int, exitCode);
    QFETCH(QString, replicas);
    const QString name =
        QString(QTest::currentDataTag()).endsWith("fixed") ? "reopen-fixed" : "reopen-kept";
    createDeployments(name);
    useEditor(
        "reopen.sh",
        editorWithTurns("sed -i '0,/\"replicas\": 1,/s//\"replicas\": -1,/' \"$1\"\n", secondEdit));
    const auto mine = runWithTurns(true, {"edit", "deploy", name, "-n", nsKd_, "-o", "json"});
    const auto theirs = runWithTurns(false, {"edit", "deploy", name, "-n", nsK_, "-o", "json"});
    QCOMPARE(mine.exitCode, exitCode);
    QCOMPARE(mine.exitCode, theirs.exitCode);
    QCOMPARE(QString(mine.err).replace(kTempFile, "FILE"),
             QString(theirs.err).replace(kTempFile, "FILE"));
    QCOMPARE(masked(mine.out, true), masked(theirs.out, false));
    for (int turn = 1; turn <= 2; ++turn) {
      QCOMPARE(seen(true, turn), seen(false, turn));
    }
    QVERIFY(mine.err.startsWith("error: deployments.apps \"" + name + "\" is invalid\n"));
    QCOMPARE(k({"get", "deploy", name, "-n", nsKd_, "-o", "jsonpath={.spec.replicas}"}).out,
             replicas);
  }

  void editGivesUpOnAnUnchangedSyntaxError() {
    createDeployments("syntax");
    useEditor("syntax.sh", editorWithTurns("printf 'spec: [\\n' > \"$1\"\n", ":\n"));
    const auto mine = runWithTurns(true, {"edit", "deploy/syntax", "-n", nsKd_});
    const auto theirs = runWithTurns(false, {"edit", "deploy/syntax", "-n", nsK_});
    QCOMPARE(mine.exitCode, 1);
    QCOMPARE(mine.exitCode, theirs.exitCode);
    QCOMPARE(QString(mine.err).replace(kTempFile, "FILE"),
             QString(theirs.err).replace(kTempFile, "FILE"));
    KD_VERIFY2(seen(true, 2).contains("\n# The edited file had a syntax error: "),
               qPrintable(seen(true, 2)));
    for (bool kdctl : {true, false}) QVERIFY(seen(kdctl, 2).endsWith("\nspec: [\n"));
  }
};

QTEST_GUILESS_MAIN(KdctlCreateE2eTest)
#include "kdctl_create_e2e_test.moc"
