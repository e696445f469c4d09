// kdctl without a server: error text as kubectl prints it, help, usage errors and exit codes.

#include <QtTest>
#include <sstream>

#include "engine/client/cli/cli.h"
#include "engine/client/cli/commands.h"

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
};

QTEST_GUILESS_MAIN(CliTest)
#include "cli_test.moc"
