// logs: the query kubectl sends for each flag combination, container choice, --prefix.

#include <QtTest>

#include "engine/client/cli/logs.h"

using kd::json;
using namespace kd::cli;

namespace {

ParsedArgs args(const std::vector<std::string>& argv) {
  auto parsed = parseArgs(argv);
  return parsed.ok() ? *parsed : ParsedArgs{};
}

json pod(bool withInit, bool annotated) {
  json p = {{"metadata", {{"name", "web-1"}}},
            {"spec", {{"containers", json::array({{{"name", "app"}}, {{"name", "sidecar"}}})}}}};
  if (withInit) p["spec"]["initContainers"] = json::array({{{"name", "setup"}}});
  if (annotated) {
    p["metadata"]["annotations"] = {{"kubectl.kubernetes.io/default-container", "sidecar"}};
  }
  return p;
}

}  // namespace

class LogsTest : public QObject {
  Q_OBJECT

 private slots:
  void queries_data() {
    QTest::addColumn<QStringList>("argv");
    QTest::addColumn<bool>("bySelector");
    QTest::addColumn<QString>("query");
    QTest::newRow("plain") << QStringList{"logs", "p"} << false << "";
    QTest::newRow("follow, tail, container")
        << QStringList{"logs", "-f", "p", "--tail=5", "-c", "web"} << false
        << "?container=web&follow=true&tailLines=5";
    QTest::newRow("selector defaults to 10 lines")
        << QStringList{"logs", "-l", "app=web"} << true << "?tailLines=10";
    QTest::newRow("tail -1 means all")
        << QStringList{"logs", "-l", "a=b", "--tail=-1"} << true << "";
    QTest::newRow("since rounds up to seconds")
        << QStringList{"logs", "p", "--since=1m30.5s", "--timestamps", "-p"} << false
        << "?previous=true&sinceSeconds=91&timestamps=true";
    QTest::newRow("since time")
        << QStringList{"logs", "p", "--since-time=2026-01-01T00:00:00Z"} << false
        << "?sinceTime=2026-01-01T00%3A00%3A00Z";  // as Go's url.Values encodes it
  }
  void queries() {
    QFETCH(QStringList, argv);
    QFETCH(bool, bySelector);
    QFETCH(QString, query);
    std::vector<std::string> v;
    for (const auto& a : argv) v.push_back(a.toStdString());
    auto o = logOptions(args(v), bySelector);
    QVERIFY2(o.ok(), o.status().message().c_str());
    const std::string path = kd::client::logPath("ns", "p", *o);
    QCOMPARE(QString::fromStdString(path.substr(path.find("/log") + 4)), query);
  }

  void rejectsBadFlags() {
    QVERIFY(!logOptions(args({"logs", "p", "--tail=x"}), false).ok());
    QVERIFY(
        !logOptions(args({"logs", "p", "--since=1h", "--since-time=2026-01-01T00:00:00Z"}), false)
             .ok());
    QVERIFY(!logOptions(args({"logs", "p", "--since=soon"}), false).ok());
  }

  void containers() {
    std::string notice;
    auto chosen = logContainers(pod(true, false), "", false, notice);
    QCOMPARE(chosen->size(), size_t(1));
    QCOMPARE(QString::fromStdString(chosen->front()), QString("app"));
    QCOMPARE(QString::fromStdString(notice),
             QString("Defaulted container \"app\" out of: app, sidecar, setup (init)\n"));
    notice.clear();
    QCOMPARE(QString::fromStdString(logContainers(pod(false, true), "", false, notice)->front()),
             QString("sidecar"));
    QVERIFY(notice.empty());
    QCOMPARE(logContainers(pod(true, false), "", true, notice)->size(), size_t(3));
    QCOMPARE(QString::fromStdString(
                 logContainers(pod(false, false), "nope", false, notice).status().message()),
             QString("container nope is not valid for pod web-1"));
  }

  void prefixes() {
    QCOMPARE(QString::fromStdString(prefixLines("a\nb\n", "[pod/p/c] ")),
             QString("[pod/p/c] a\n[pod/p/c] b\n"));
    QCOMPARE(QString::fromStdString(prefixLines("tail", "> ")), QString("> tail"));
    QCOMPARE(QString::fromStdString(prefixLines("", "> ")), QString());
  }
};

QTEST_GUILESS_MAIN(LogsTest)
#include "logs_test.moc"
