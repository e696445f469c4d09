#include <QtTest>

#include "engine/node/oci_spec.h"

using kd::json;

Q_DECLARE_METATYPE(kd::json)

namespace {

json parse(const char* text) {
  return json::parse(text);
}

QStringList toList(const std::vector<std::string>& v) {
  QStringList out;
  for (const auto& s : v) out << QString::fromStdString(s);
  return out;
}

const json kImage = parse(
    "{\"Entrypoint\": [\"/entry\"], \"Cmd\": [\"--default\"], "
    "\"Env\": [\"PATH=/bin\", \"MODE=image\"], \"WorkingDir\": \"/app\"}");

}  // namespace

class OciSpecTest : public QObject {
  Q_OBJECT

 private slots:
  // Kubernetes' table: command replaces Entrypoint, args replaces Cmd, command alone drops Cmd.
  void commandAndArgs_data() {
    QTest::addColumn<json>("container");
    QTest::addColumn<QStringList>("argv");
    QTest::newRow("neither") << parse("{}") << QStringList{"/entry", "--default"};
    QTest::newRow("command only") << parse("{\"command\": [\"/bin/sh\"]}")
                                  << QStringList{"/bin/sh"};
    QTest::newRow("args only") << parse("{\"args\": [\"-v\"]}") << QStringList{"/entry", "-v"};
    QTest::newRow("both") << parse("{\"command\": [\"sh\", \"-c\"], \"args\": [\"echo hi\"]}")
                          << QStringList{"sh", "-c", "echo hi"};
    QTest::newRow("expansion") << parse("{\"args\": [\"$(MODE)\", \"$$(MODE)\", \"$(UNSET)\"]}")
                               << QStringList{"/entry", "image", "$(MODE)", "$(UNSET)"};
  }
  void commandAndArgs() {
    QFETCH(json, container);
    QFETCH(QStringList, argv);
    auto env = kd::node::resolveContainerEnv(kImage, json::object(), container, {});
    QVERIFY(env.ok());
    auto got = kd::node::containerCommand(kImage, container, *env);
    QVERIFY2(got.ok(), got.status().message().c_str());
    QCOMPARE(toList(*got), argv);
  }

  void noCommandAnywhereIsAnError() {
    auto got = kd::node::containerCommand(json::object(), json::object(), {});
    QVERIFY(!got.ok());
    QCOMPARE(got.status().message(), std::string("no command specified"));
  }

  void environmentLayersAndFieldRefs() {
    const json pod = parse(
        "{\"metadata\": {\"name\": \"web\", \"namespace\": \"shop\", "
        "\"labels\": {\"app\": \"w\"}}, \"spec\": {\"nodeName\": \"n1\"}}");
    const json container = parse(
        "{\"env\": [{\"name\": \"MODE\", \"value\": \"pod\"},"
        " {\"name\": \"WHERE\", \"value\": \"$(POD)@$(NODE)\"},"
        " {\"name\": \"POD\", \"valueFrom\": {\"fieldRef\": {\"fieldPath\": \"metadata.name\"}}},"
        " {\"name\": \"APP\", \"valueFrom\": {\"fieldRef\": {\"fieldPath\": "
        "\"metadata.labels['app']\"}}}]}");
    auto env = kd::node::resolveContainerEnv(kImage, pod, container, {{"NODE", "n1"}});
    QVERIFY2(env.ok(), env.status().message().c_str());
    const kd::node::EnvList expected = {{"PATH", "/bin"},       {"MODE", "pod"}, {"NODE", "n1"},
                                        {"WHERE", "$(POD)@n1"}, {"POD", "web"},  {"APP", "w"}};
    QCOMPARE(*env, expected);
  }

  void unresolvableEnvIsAConfigError() {
    const json container = parse(
        "{\"env\": [{\"name\": \"X\", \"valueFrom\": {\"secretKeyRef\": {\"name\": \"s\", "
        "\"key\": \"k\"}}}]}");
    auto env = kd::node::resolveContainerEnv(kImage, json::object(), container, {});
    QVERIFY(!env.ok());
    QCOMPARE(env.status().code(), 400);
  }

  void configJsonCarriesEverything() {
    kd::node::OciConfigInput in;
    in.imageConfig = kImage;
    in.container = parse(
        "{\"name\": \"c\", \"command\": [\"sleep\", \"1\"], "
        "\"securityContext\": {\"runAsUser\": 1000, \"readOnlyRootFilesystem\": true}, "
        "\"resources\": {\"limits\": {\"memory\": \"64Mi\", \"cpu\": \"500m\"}, "
        "\"requests\": {\"cpu\": \"250m\"}}}");
    in.rootfs = "/state/rootfs";
    in.env = {{"A", "1"}};
    in.mounts = {{"/state/etc-hosts", "/etc/hosts", false}};
    in.namespaces = {{"network", "/state/ns/net"}, {"ipc", "/state/ns/ipc"}};
    in.cgroupsPath = "/kubedesk/podu/c1";
    auto config = kd::node::buildOciConfig(in);
    QVERIFY2(config.ok(), config.status().message().c_str());
    const json& c = *config;
    QCOMPARE(c["process"]["args"], parse("[\"sleep\", \"1\"]"));
    QCOMPARE(c["process"]["env"], parse("[\"A=1\"]"));
    QCOMPARE(c["process"]["cwd"], json("/app"));
    QCOMPARE(c["process"]["user"]["uid"], json(1000));
    QCOMPARE(c["root"], parse("{\"path\": \"/state/rootfs\", \"readonly\": true}"));
    QCOMPARE(c["linux"]["cgroupsPath"], json("/kubedesk/podu/c1"));
    QCOMPARE(c["linux"]["resources"]["memory"]["limit"], json(64 * 1024 * 1024));
    QCOMPARE(c["linux"]["resources"]["cpu"]["quota"], json(50000));
    QCOMPARE(c["linux"]["resources"]["cpu"]["period"], json(100000));
    QCOMPARE(c["linux"]["resources"]["cpu"]["shares"], json(256));
    const json ns = c["linux"]["namespaces"];
    QVERIFY(std::find(ns.begin(), ns.end(),
                      parse("{\"type\": \"network\", \"path\": \"/state/ns/net\"}")) != ns.end());
    QVERIFY(std::find(ns.begin(), ns.end(), parse("{\"type\": \"pid\"}")) != ns.end());
    QStringList destinations;
    for (const auto& m : c["mounts"]) destinations << QString::fromStdString(m["destination"]);
    for (const char* d : {"/proc", "/dev", "/sys", "/etc/hosts"}) QVERIFY(destinations.contains(d));
  }
};

QTEST_GUILESS_MAIN(OciSpecTest)
#include "oci_spec_test.moc"
