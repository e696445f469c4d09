// kdctl without a server: error text as kubectl prints it, help, usage errors and exit codes.

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>
#include <sstream>

#include "engine/client/cli/cli.h"
#include "engine/client/cli/commands.h"
#include "engine/client/cli/sort_by.h"

using kd::Status;
using kd::StatusCause;

namespace {

struct Run {
  int rc;
  QString out, err;
};

Run kdctl(const std::vector<std::string>& args) {
  std::istringstream in;
  std::ostringstream out, err;
  int rc = kd::cli::runKdctl(args, in, out, err);
  return {rc, QString::fromStdString(out.str()), QString::fromStdString(err.str())};
}

}  // namespace

class CliTest : public QObject {
  Q_OBJECT

 private slots:
  // kdctl diff exits as kubectl diff: 0 same, 1 different, >1 the diff program failed.
  void diffExitCodes_data() {
    QTest::addColumn<int>("program");
    QTest::addColumn<int>("exitCode");
    QTest::newRow("no differences") << 0 << 0;
    QTest::newRow("differences") << 1 << 1;
    QTest::newRow("diff failed") << 2 << 2;
    QTest::newRow("other failure") << 127 << 127;
    QTest::newRow("could not run") << -1 << 2;
  }
  void diffExitCodes() {
    QFETCH(int, program);
    QFETCH(int, exitCode);
    QCOMPARE(kd::cli::diffExitCode(program), exitCode);
  }

  void formatsErrors_data() {
    QTest::addColumn<int>("which");
    QTest::addColumn<QString>("expected");
    QTest::newRow("not found") << 0
                               << "Error from server (NotFound): deployments.apps \"x\" not found";
    QTest::newRow("invalid, one cause")
        << 1 << "The Deployment \"web\" is invalid: spec.replicas: Invalid value: -1: must be >= 0";
    QTest::newRow("invalid, two causes") << 2
                                         << "The Deployment \"web\" is invalid: \n"
                                            "* spec.replicas: bad\n* metadata.name: Required value";
    QTest::newRow("transport") << 3 << "Unable to connect to the server: connection refused";
  }

  void formatsErrors() {
    QFETCH(int, which);
    QFETCH(QString, expected);
    std::vector<Status> cases = {
        Status::notFound("deployments.apps \"x\" not found")
            .withDetails("x", "apps", "deployments"),
        Status::invalid("Deployment.apps \"web\" is invalid: ...",
                        {{"FieldValueInvalid", "Invalid value: -1: must be >= 0", "spec.replicas"}})
            .withDetails("web", "apps", "Deployment"),
        Status::invalid("Deployment.apps \"web\" is invalid: ...",
                        {{"FieldValueInvalid", "bad", "spec.replicas"},
                         {"FieldValueRequired", "Required value", "metadata.name"}})
            .withDetails("web", "apps", "Deployment"),
        Status::serviceUnavailable("unable to connect to the server: connection refused"),
    };
    QCOMPARE(QString::fromStdString(kd::cli::formatError(cases[which])), expected);
  }

  void helpForEveryVerbHasExamples_data() {
    QTest::addColumn<QString>("verb");
    for (const char* v :
         {"start", "stop", "status", "delete", "profile", "kubeconfig", "update-context", "version",
          "get", "apply", "create", "scale", "label", "annotate", "patch", "completion"}) {
      QTest::newRow(v) << v;
    }
  }

  void helpForEveryVerbHasExamples() {
    QFETCH(QString, verb);
    Run r = kdctl({verb.toStdString(), "--help"});
    QCOMPARE(r.rc, 0);
    QVERIFY2(r.out.contains("Examples:") && r.out.contains("kdctl " + verb), qPrintable(r.out));
  }

  void usageErrorsExitOne_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("err");
    QTest::newRow("unknown command") << QStringList{"frobnicate"} << "unknown command";
    QTest::newRow("unknown flag") << QStringList{"get", "pods", "--nope"} << "unknown flag: --nope";
    QTest::newRow("get without type") << QStringList{"get"} << "Required resource not specified";
    QTest::newRow("apply without -f") << QStringList{"apply"} << "must specify one of -f";
    QTest::newRow("scale without replicas") << QStringList{"scale", "deploy/web"} << "replicas";
    QTest::newRow("patch without -p") << QStringList{"patch", "deploy", "web"} << "must specify -p";
    QTest::newRow("missing file") << QStringList{"apply", "-f", "/nonexistent/x.yaml"}
                                  << "does not exist";
  }

  void usageErrorsExitOne() {
    QFETCH(QStringList, args);
    QFETCH(QString, err);
    std::vector<std::string> argv;
    for (const auto& a : args) argv.push_back(a.toStdString());
    Run r = kdctl(argv);
    QCOMPARE(r.rc, 1);
    QVERIFY2(r.err.startsWith("error: ") && r.err.contains(err), qPrintable(r.err));
  }

  void completionListsVerbsAndShortNames() {
    Run r = kdctl({"completion", "bash"});
    QCOMPARE(r.rc, 0);
    QVERIFY(r.out.contains("complete -F _kdctl kdctl"));
    QVERIFY(r.out.contains(" deploy "));
    QVERIFY(r.out.contains("apply"));
  }

  // --sort-by: relaxed paths; quantities by value, other strings bytewise, absent keys first,
  // stable; objects cannot be ordered.
  void sortByField() {
    QCOMPARE(*kd::cli::relaxedSortField("metadata.name"), std::string("{.metadata.name}"));
    QCOMPARE(*kd::cli::relaxedSortField(".metadata.name"), std::string("{.metadata.name}"));
    QCOMPARE(*kd::cli::relaxedSortField("{.metadata.name}"), std::string("{.metadata.name}"));
    // Quantities order by value, other strings naturally; absent keys first; stable.
    kd::json list = kd::json::parse(
        R"([{"v":"2Gi","n":1},{"v":"500m","n":2},{"n":3},{"v":"1","n":4},{"v":"1000m","n":5}])");
    QVERIFY(kd::cli::sortByField(list, "{.v}", false).isOk());
    std::vector<int> order;
    for (const auto& o : list) order.push_back(o["n"].get<int>());
    QCOMPARE(order, (std::vector<int>{3, 2, 4, 5, 1}));
    kd::json names = kd::json::parse(R"([{"v":"a-9"},{"v":"a-10"},{"v":"a-5x"},{"v":"a-567"}])");
    QVERIFY(kd::cli::sortByField(names, "{.v}", false).isOk());
    QCOMPARE(names.dump(), std::string(R"([{"v":"a-10"},{"v":"a-567"},{"v":"a-5x"},{"v":"a-9"}])"));
    kd::json objects = kd::json::parse(R"([{"v":{"a":1}},{"v":{"b":2}}])");
    QCOMPARE(kd::cli::sortByField(objects, "{.v}", false).code(), 400);
  }

  // The scripts as the shells run them: a first word completes to verbs, a second to types.
  void completionRunsInBashAndZsh_data() {
    QTest::addColumn<QString>("shell");
    QTest::addColumn<QString>("prologue");
    QTest::newRow("bash") << "/usr/bin/bash"
                          << "";
    // bashcompinit runs completion functions emulating sh (arrays from 0); so does the test.
    QTest::newRow("zsh") << "/usr/bin/zsh"
                         << "autoload -U +X compinit && compinit -u\n";
  }
  void completionRunsInBashAndZsh() {
    QFETCH(QString, shell);
    QFETCH(QString, prologue);
    const QString name = shell.section('/', -1);
    Run script = kdctl({"completion", name.toStdString()});
    QCOMPARE(script.rc, 0);
    QTemporaryDir dir;
    QFile file(dir.filePath("completion"));
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(script.out.toUtf8());
    file.close();
    const QString emulate = name == "zsh" ? "emulate sh\n" : "";
    QProcess p;
    p.start(shell,
            {"-c", prologue + ". " + file.fileName() + "\n" + emulate +
                       "COMP_WORDS=(kdctl ge); COMP_CWORD=1; _kdctl; echo \"${COMPREPLY[*]}\"\n"
                       "COMP_WORDS=(kdctl get dep); COMP_CWORD=2; _kdctl; "
                       "echo \"${COMPREPLY[*]}\"\n"});
    QVERIFY2(p.waitForFinished(20000), qPrintable(shell));
    const QStringList lines = QString::fromUtf8(p.readAllStandardOutput()).split('\n');
    QVERIFY2(p.exitCode() == 0 && lines.size() >= 2,
             qPrintable(QString::fromUtf8(p.readAllStandardError())));
    if (name == "bash") {
      QCOMPARE(lines[0], QString("get"));
      QCOMPARE(lines[1], QString("deployments deploy"));
    } else {
      // zsh's compgen stand-in offers every candidate; its compadd then matches the prefix.
      QVERIFY2(lines[0].split(' ').contains("get") && !lines[0].split(' ').contains("deploy"),
               qPrintable(lines[0]));
      QVERIFY2(lines[1].split(' ').contains("deployments") &&
                   lines[1].split(' ').contains("deploy") && !lines[1].split(' ').contains("get"),
               qPrintable(lines[1]));
    }
  }
};

QTEST_GUILESS_MAIN(CliTest)
#include "cli_test.moc"
