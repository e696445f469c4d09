// kdctl's command-line parsing: pflag-style flags in every spelling kubectl accepts.

#include <QtTest>

#include "engine/client/cli/args.h"

using kd::cli::parseArgs;

namespace {

QStringList toQt(const std::vector<std::string>& v) {
  QStringList out;
  for (const auto& s : v) out << QString::fromStdString(s);
  return out;
}

std::vector<std::string> fromQt(const QStringList& l) {
  std::vector<std::string> out;
  for (const auto& s : l) out.push_back(s.toStdString());
  return out;
}

}  // namespace

class ArgsTest : public QObject {
  Q_OBJECT

 private slots:
  void parses_data() {
    QTest::addColumn<QStringList>("argv");
    QTest::addColumn<QStringList>("words");
    QTest::addColumn<QString>("flag");
    QTest::addColumn<QString>("value");
    QTest::newRow("long space") << QStringList{"get", "pods", "--namespace", "shop"}
                                << QStringList{"get", "pods"} << "namespace"
                                << "shop";
    QTest::newRow("long equals") << QStringList{"get", "--namespace=shop", "pods"}
                                 << QStringList{"get", "pods"} << "namespace"
                                 << "shop";
    QTest::newRow("short space") << QStringList{"-n", "shop", "get", "po"}
                                 << QStringList{"get", "po"} << "namespace"
                                 << "shop";
    QTest::newRow("short glued") << QStringList{"get", "po", "-oyaml"} << QStringList{"get", "po"}
                                 << "output"
                                 << "yaml";
    QTest::newRow("short equals") << QStringList{"get", "po", "-o=json"} << QStringList{"get", "po"}
                                  << "output"
                                  << "json";
    QTest::newRow("jsonpath with braces")
        << QStringList{"get", "po", "-o", "jsonpath={.items[0].metadata.name}"}
        << QStringList{"get", "po"} << "output"
        << "jsonpath={.items[0].metadata.name}";
    QTest::newRow("switch") << QStringList{"get", "-A", "pods"} << QStringList{"get", "pods"}
                            << "all-namespaces"
                            << "true";
    QTest::newRow("switch false") << QStringList{"delete", "po", "x", "--wait=false"}
                                  << QStringList{"delete", "po", "x"} << "wait"
                                  << "false";
    QTest::newRow("switch does not eat the next word")
        << QStringList{"get", "-w", "pods"} << QStringList{"get", "pods"} << "watch"
        << "true";
    QTest::newRow("inline value alone") << QStringList{"delete", "deploy", "web", "--cascade"}
                                        << QStringList{"delete", "deploy", "web"} << "cascade"
                                        << "background";
    QTest::newRow("inline value given") << QStringList{"delete", "--cascade=orphan", "deploy", "w"}
                                        << QStringList{"delete", "deploy", "w"} << "cascade"
                                        << "orphan";
    QTest::newRow("-p is the patch for patch") << QStringList{"patch", "deploy", "web", "-p", "{}"}
                                               << QStringList{"patch", "deploy", "web"} << "patch"
                                               << "{}";
    QTest::newRow("-p is the profile elsewhere")
        << QStringList{"start", "-p", "dev"} << QStringList{"start"} << "profile"
        << "dev";
    QTest::newRow("stdin dash is a word")
        << QStringList{"apply", "-f", "-"} << QStringList{"apply"} << "filename"
        << "-";
    QTest::newRow("double dash ends flags")
        << QStringList{"get", "--", "-n"} << QStringList{"get", "-n"} << ""
        << "";
  }

  void parses() {
    QFETCH(QStringList, argv);
    QFETCH(QStringList, words);
    QFETCH(QString, flag);
    QFETCH(QString, value);
    auto parsed = parseArgs(fromQt(argv));
    QVERIFY2(parsed.ok(), parsed.status().message().c_str());
    QCOMPARE(toQt(parsed->words), words);
    if (!flag.isEmpty()) {
      QVERIFY(parsed->has(flag.toStdString()));
      QCOMPARE(QString::fromStdString(parsed->value(flag.toStdString())), value);
    }
  }

  void repeatedFlagsKeepEveryValue() {
    auto parsed = parseArgs({"apply", "-f", "a.yaml", "--filename=b.yaml", "-fc.yaml"});
    QVERIFY(parsed.ok());
    QCOMPARE(parsed->values("filename"), (std::vector<std::string>{"a.yaml", "b.yaml", "c.yaml"}));
  }

  void booleanDefaults() {
    auto parsed = parseArgs({"delete", "po", "x"});
    QVERIFY(parsed.ok());
    QVERIFY(parsed->boolean("wait", true));
    QVERIFY(!parsed->boolean("force"));
  }

  void rejects_data() {
    QTest::addColumn<QStringList>("argv");
    QTest::addColumn<QString>("message");
    QTest::newRow("unknown long") << QStringList{"get", "--bogus"} << "unknown flag: --bogus";
    QTest::newRow("unknown short") << QStringList{"get", "-Z"} << "unknown shorthand flag: 'Z'";
    QTest::newRow("missing value") << QStringList{"get", "pods", "-n"} << "flag needs an argument";
    QTest::newRow("bad boolean") << QStringList{"delete", "--wait=maybe"}
                                 << "invalid argument \"maybe\"";
  }

  void rejects() {
    QFETCH(QStringList, argv);
    QFETCH(QString, message);
    auto parsed = parseArgs(fromQt(argv));
    QVERIFY(!parsed.ok());
    QVERIFY2(QString::fromStdString(parsed.status().message()).contains(message),
             parsed.status().message().c_str());
  }

  void splitsLists() {
    QCOMPARE(kd::cli::splitList("pods,svc,,deploy"),
             (std::vector<std::string>{"pods", "svc", "deploy"}));
    QCOMPARE(kd::cli::splitList(""), std::vector<std::string>{});
  }
};

QTEST_GUILESS_MAIN(ArgsTest)
#include "args_test.moc"
