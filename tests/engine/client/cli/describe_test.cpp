// describe's text in kubectl 1.32's layout: Go tabwriter alignment, label and annotation
// continuation lines, container and probe lines, secret byte counts, event ages.

#include <QtTest>

#include "engine/api/kinds.h"
#include "engine/client/cli/describe.h"
#include "engine/client/cli/table_printer.h"

using kd::json;
using namespace kd::cli;
using namespace std::chrono;

namespace {

const system_clock::time_point kNow = sys_days{year{2026} / 11 / 22} + hours(12);

const kd::api::KindInfo& kind(const char* resource) {
  return *kd::api::KindsRegistry::builtin().resolve(resource);
}

std::string at(int secondsAgo) {
  const auto t = system_clock::to_time_t(kNow - seconds(secondsAgo));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json pod() {
  json container = {{"name", "web"},
                    {"image", "busybox:1.36"},
                    {"ports", json::array({{{"containerPort", 8080}, {"protocol", "TCP"}}})},
                    {"livenessProbe",
                     {{"httpGet", {{"path", "/healthz"}, {"port", 8080}, {"scheme", "HTTP"}}},
                      {"timeoutSeconds", 1},
                      {"periodSeconds", 10},
                      {"successThreshold", 1},
                      {"failureThreshold", 3}}},
                    {"env", json::array({{{"name", "MODE"}, {"value", "dev"}}})},
                    {"volumeMounts", json::array({{{"name", "data"}, {"mountPath", "/data"}}})}};
  json status = {{"name", "web"},
                 {"containerID", "runc://abc"},
                 {"imageID", "busybox@sha256:1"},
                 {"ready", true},
                 {"restartCount", 2},
                 {"state", {{"running", {{"startedAt", at(60)}}}}}};
  return {{"metadata",
           {{"name", "web-1"},
            {"namespace", "shop"},
            {"uid", "u1"},
            {"labels", {{"app", "web"}, {"tier", "front"}}},
            {"annotations",
             {{"kubectl.kubernetes.io/last-applied-configuration", "{}"}, {"note", "hi"}}}}},
          {"spec",
           {{"nodeName", "m01"},
            {"priority", 0},
            {"containers", json::array({container})},
            {"volumes", json::array({{{"name", "data"}, {"emptyDir", json::object()}}})}}},
          {"status",
           {{"phase", "Running"},
            {"hostIP", "10.0.0.1"},
            {"podIP", "10.244.1.2"},
            {"podIPs", json::array({{{"ip", "10.244.1.2"}}})},
            {"qosClass", "BestEffort"},
            {"startTime", at(60)},
            {"conditions", json::array({{{"type", "Ready"}, {"status", "True"}}})},
            {"containerStatuses", json::array({status})}}}};
}

json coreEvent(int firstAgo, int lastAgo, int count) {
  return {{"type", "Normal"},
          {"reason", "Pulled"},
          {"message", "pulled\n"},
          {"source", {{"component", "kubelet"}}},
          {"count", count},
          {"firstTimestamp", at(firstAgo)},
          {"lastTimestamp", at(lastAgo)}};
}

}  // namespace

class DescribeTest : public QObject {
  Q_OBJECT

 private slots:
  // Go's tabwriter: a block of consecutive lines sharing a column aligns; a line without that
  // column ends the block; text after the last tab is never padded.
  void alignsLikeGoTabwriter_data() {
    QTest::addColumn<QString>("in");
    QTest::addColumn<QString>("out");
    QTest::newRow("one block") << "Name:\tweb\nNamespace:\tshop\n"
                               << "Name:       web\nNamespace:  shop\n";
    QTest::newRow("block broken by a plain line")
        << "Name:\tweb\nPod Template:\n  Labels:\tapp=web\n"
        << "Name:  web\nPod Template:\n  Labels:  app=web\n";
    QTest::newRow("continuation cell") << "Labels:\ta=1\n\tb=2\nIP:\t1.2.3.4\n"
                                       << "Labels:  a=1\n         b=2\nIP:      1.2.3.4\n";
    QTest::newRow("nested columns") << "  Type\tStatus\n  Ready \tTrue \nVolumes:\t<none>\n"
                                    << "  Type    Status\n  Ready   True \nVolumes:  <none>\n";
    QTest::newRow("empty last cell") << "A:\t\nBB:\tx\n"
                                     << "A:   \nBB:  x\n";
  }
  void alignsLikeGoTabwriter() {
    QFETCH(QString, in);
    QFETCH(QString, out);
    QCOMPARE(QString::fromStdString(alignTabbed(in.toStdString())), out);
  }

  void podSections() {
    DescribeContext ctx;
    ctx.now = kNow;
    ctx.events = json::array({coreEvent(300, 130, 3)});
    const QString text = QString::fromStdString(describeObject(kind("pods"), pod(), ctx));
    const QStringList expected = {
        "Name:         web-1",
        "Node:         m01/10.0.0.1",
        "Labels:       app=web",
        "              tier=front",
        "Annotations:  note: hi",
        "Status:       Running",
        "  IP:  10.244.1.2",
        "    Container ID:   runc://abc",
        "    Port:           8080/TCP",
        "    State:          Running",
        "    Restart Count:  2",
        "    Liveness:       http-get http://:8080/healthz delay=0s timeout=1s period=10s "
        "#success=1 #failure=3",
        "      MODE:  dev",
        "      /data from data (rw)",
        "  Ready   True ",
        "    Type:        EmptyDir (a temporary directory that shares a pod's lifetime)",
        "  Type    Reason  Age" + QString(17, ' ') + "From     Message",
        "  Normal  Pulled  2m10s (x3 over 5m)  kubelet  pulled",
    };
    for (const auto& line : expected) {
      QVERIFY2(text.split('\n').contains(line), qPrintable(line + "\n---\n" + text));
    }
    QVERIFY2(!text.contains("last-applied"), qPrintable(text));
  }

  void secretShowsByteCounts() {
    const json secret = {{"metadata", {{"name", "s"}, {"namespace", "shop"}}},
                         {"type", "Opaque"},
                         {"data", {{"password", "aHVudGVyMg=="}, {"empty", ""}}}};
    const std::string text = describeObject(kind("secrets"), secret, {});
    QCOMPARE(QString::fromStdString(text),
             QString("Name:         s\nNamespace:    shop\nLabels:       <none>\n"
                     "Annotations:  <none>\n\nType:  Opaque\n\nData\n====\n"
                     "empty:     0 bytes\npassword:  7 bytes\n"));
  }

  void noEventsPrintsNone() {
    const json cm = {{"metadata", {{"name", "c"}, {"namespace", "shop"}}}, {"data", {{"k", "v"}}}};
    DescribeContext ctx;
    ctx.events = json::array();
    const std::string text = describeObject(kind("configmaps"), cm, ctx);
    QVERIFY2(QString::fromStdString(text).endsWith("\nk:\n----\nv\n\n\nBinaryData\n====\n\n"
                                                   "Events:  <none>\n"),
             text.c_str());
  }

  void eventAges_data() {
    QTest::addColumn<int>("firstAgo");
    QTest::addColumn<int>("lastAgo");
    QTest::addColumn<int>("count");
    QTest::addColumn<QString>("age");
    QTest::newRow("once") << 5 << 5 << 1 << "5s";
    QTest::newRow("repeated") << 300 << 130 << 3 << "2m10s (x3 over 5m)";
    QTest::newRow("hours") << 7200 << 3600 << 2 << "60m (x2 over 120m)";
    QTest::newRow("days") << 4 * 86400 << 86400 << 9 << "24h (x9 over 4d)";
  }
  void eventAges() {
    QFETCH(int, firstAgo);
    QFETCH(int, lastAgo);
    QFETCH(int, count);
    QFETCH(QString, age);
    QCOMPARE(QString::fromStdString(eventAge(coreEvent(firstAgo, lastAgo, count), kNow)), age);
  }

  void probes_data() {
    QTest::addColumn<QString>("probe");
    QTest::addColumn<QString>("line");
    const QString attrs = " delay=0s timeout=1s period=10s #success=1 #failure=3";
    QTest::newRow("exec") << "{\"exec\":{\"command\":[\"cat\",\"/ready\"]}}"
                          << "exec [cat /ready]" + attrs;
    QTest::newRow("tcp") << "{\"tcpSocket\":{\"port\":\"http\"}}"
                         << "tcp-socket :http" + attrs;
    QTest::newRow("https with host")
        << "{\"httpGet\":{\"scheme\":\"HTTPS\",\"host\":\"h\",\"port\":443,\"path\":\"x\"},"
           "\"initialDelaySeconds\":5}"
        << "http-get https://h:443/x delay=5s timeout=1s period=10s #success=1 #failure=3";
  }
  void probes() {
    QFETCH(QString, probe);
    QFETCH(QString, line);
    QCOMPARE(QString::fromStdString(describeProbe(json::parse(probe.toStdString()))), line);
  }

  void rfc1123Timestamps() {
    QCOMPARE(QString::fromStdString(rfc1123("2026-11-22T03:25:27Z")),
             QString("Sun, 22 Nov 2026 03:25:27 +0000"));
    QCOMPARE(QString::fromStdString(rfc1123("garbage")), QString());
  }
};

QTEST_GUILESS_MAIN(DescribeTest)
#include "describe_test.moc"
