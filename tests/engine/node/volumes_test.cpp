// Pod volumes on disk and as config.json bind mounts, and container environments from
// ConfigMaps, Secrets and the downward API, against an in-memory object source.

#include <QTemporaryDir>
#include <QtTest>
#include <filesystem>
#include <fstream>

#include "engine/node/volumes.h"

namespace fs = std::filesystem;
using kd::json;

namespace {

json parse(const char* text) {
  return json::parse(text);
}

std::string readAll(const fs::path& file) {
  std::ifstream in(file);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

const json kPod = parse(
    "{\"metadata\": {\"name\": \"p\", \"namespace\": \"default\", \"uid\": \"u1\", "
    "\"labels\": {\"app\": \"web\"}}, \"spec\": {\"nodeName\": \"n1\", \"containers\": "
    "[{\"name\": \"c\", \"resources\": {\"limits\": {\"cpu\": \"1500m\", \"memory\": "
    "\"128Mi\"}}}]}, \"status\": {\"podIP\": \"10.0.0.5\"}}");

}  // namespace

class VolumesTest : public QObject {
  Q_OBJECT
  std::map<std::string, json> objects_;
  kd::node::ObjectGetter getter() {
    return [this](const std::string& resource, const std::string& name) -> kd::Result<json> {
      auto it = objects_.find(resource + "/" + name);
      if (it == objects_.end()) return kd::Status::notFound(resource + " not found");
      return it->second;
    };
  }

 private slots:
  void init() {
    objects_ = {
        {"configmaps/cfg", parse("{\"data\": {\"a\": \"1\", \"b\": \"two\"}, "
                                 "\"binaryData\": {\"bin\": \"aGk=\"}}")},
        {"secrets/sec", parse("{\"data\": {\"password\": \"czNjcmV0\"}}")},
        {"persistentvolumeclaims/claim",
         parse("{\"spec\": {\"volumeName\": \"pv1\"}, \"status\": {\"phase\": \"Bound\"}}")},
        {"persistentvolumeclaims/pending", parse("{\"status\": {\"phase\": \"Pending\"}}")},
    };
  }

  void env_data() {
    QTest::addColumn<QString>("container");
    QTest::addColumn<QString>("expected");  // NAME=value;... or "error:<message>"
    QTest::newRow("configMapKeyRef")
        << "{\"env\": [{\"name\": \"A\", \"valueFrom\": {\"configMapKeyRef\": "
           "{\"name\": \"cfg\", \"key\": \"b\"}}}]}"
        << "A=two";
    QTest::newRow("secretKeyRef")
        << "{\"env\": [{\"name\": \"P\", \"valueFrom\": {\"secretKeyRef\": "
           "{\"name\": \"sec\", \"key\": \"password\"}}}]}"
        << "P=s3cret";
    QTest::newRow("missing configmap")
        << "{\"env\": [{\"name\": \"A\", \"valueFrom\": {\"configMapKeyRef\": "
           "{\"name\": \"x\", \"key\": \"b\"}}}]}"
        << "error:configmap \"x\" not found";
    QTest::newRow("missing key")
        << "{\"env\": [{\"name\": \"A\", \"valueFrom\": {\"configMapKeyRef\": "
           "{\"name\": \"cfg\", \"key\": \"k\"}}}]}"
        << "error:couldn't find key k in ConfigMap default/cfg";
    QTest::newRow("missing secret key")
        << "{\"env\": [{\"name\": \"A\", \"valueFrom\": {\"secretKeyRef\": "
           "{\"name\": \"sec\", \"key\": \"k\"}}}]}"
        << "error:couldn't find key k in Secret default/sec";
    QTest::newRow("optional missing")
        << "{\"env\": [{\"name\": \"A\", \"valueFrom\": {\"configMapKeyRef\": "
           "{\"name\": \"x\", \"key\": \"b\", \"optional\": true}}}]}"
        << "A=";
    QTest::newRow("envFrom with prefix")
        << "{\"envFrom\": [{\"prefix\": \"C_\", \"configMapRef\": {\"name\": \"cfg\"}}, "
           "{\"secretRef\": {\"name\": \"sec\"}}]}"
        << "C_a=1;C_b=two;C_bin=hi;password=s3cret";
    QTest::newRow("envFrom missing secret")
        << "{\"envFrom\": [{\"secretRef\": {\"name\": \"nope\"}}]}"
        << "error:secret \"nope\" not found";
    QTest::newRow("fieldRefs")
        << "{\"env\": [{\"name\": \"L\", \"valueFrom\": {\"fieldRef\": {\"fieldPath\": "
           "\"metadata.labels['app']\"}}}, {\"name\": \"IP\", \"valueFrom\": {\"fieldRef\": "
           "{\"fieldPath\": \"status.podIP\"}}}, {\"name\": \"N\", \"valueFrom\": "
           "{\"fieldRef\": {\"fieldPath\": \"spec.nodeName\"}}}]}"
        << "L=web;IP=10.0.0.5;N=n1";
    QTest::newRow("resourceFieldRef with divisor")
        << "{\"resources\": {\"limits\": {\"cpu\": \"1500m\", \"memory\": \"128Mi\"}, "
           "\"requests\": {\"cpu\": \"250m\"}}, \"env\": [{\"name\": \"CPU\", \"valueFrom\": "
           "{\"resourceFieldRef\": {\"resource\": \"limits.cpu\"}}}, {\"name\": \"MCPU\", "
           "\"valueFrom\": {\"resourceFieldRef\": {\"resource\": \"requests.cpu\", "
           "\"divisor\": \"1m\"}}}, {\"name\": \"MEM\", \"valueFrom\": {\"resourceFieldRef\": "
           "{\"resource\": \"limits.memory\", \"divisor\": \"1Mi\"}}}]}"
        << "CPU=2;MCPU=250;MEM=128";
    QTest::newRow("$(VAR) expansion")
        << "{\"env\": [{\"name\": \"A\", \"value\": \"x\"}, {\"name\": \"B\", \"value\": "
           "\"$(A)-$(NOPE)-$$(A)\"}]}"
        << "A=x;B=x-$(NOPE)-$(A)";
  }
  void env() {
    QFETCH(QString, container);
    QFETCH(QString, expected);
    auto env = kd::node::resolveContainerEnv(json::object(), kPod,
                                             json::parse(container.toStdString()), {}, getter());
    if (expected.startsWith("error:")) {
      QVERIFY(!env.ok());
      QCOMPARE(env.status().code(), 400);
      QCOMPARE(QString::fromStdString(env.status().message()), expected.mid(6));
      return;
    }
    QVERIFY2(env.ok(), env.status().message().c_str());
    QStringList got;
    for (const auto& [k, v] : *env) got << QString::fromStdString(k + "=" + v);
    QCOMPARE(got.join(';'), expected);
  }

  void configAndSecretVolumesAreWrittenAtomically() {
    QTemporaryDir tmp;
    const fs::path podDir = tmp.path().toStdString();
    json pod = kPod;
    pod["spec"]["volumes"] = parse(
        "[{\"name\": \"c\", \"configMap\": {\"name\": \"cfg\", \"defaultMode\": 256}}, "
        "{\"name\": \"s\", \"secret\": {\"secretName\": \"sec\", \"items\": [{\"key\": "
        "\"password\", \"path\": \"deep/pw\", \"mode\": 384}]}}, "
        "{\"name\": \"d\", \"downwardAPI\": {\"items\": [{\"path\": \"labels\", \"fieldRef\": "
        "{\"fieldPath\": \"metadata.labels\"}}]}}, "
        "{\"name\": \"e\", \"emptyDir\": {}}]");
    auto volumes = kd::node::prepareVolumes(podDir, pod, getter());
    QVERIFY2(volumes.ok(), volumes.status().message().c_str());
    const fs::path c = podDir / "volumes" / "c";
    QCOMPARE(volumes->at("c"), c.string());
    QVERIFY(fs::is_symlink(c / "..data"));
    QVERIFY(fs::is_symlink(c / "a"));
    QCOMPARE(readAll(c / "b"), std::string("two"));
    QCOMPARE(readAll(c / "bin"), std::string("hi"));
    QCOMPARE(fs::status(c / "a").permissions() & fs::perms::all, fs::perms::owner_read);
    const fs::path s = podDir / "volumes" / "s";
    QCOMPARE(readAll(s / "deep" / "pw"), std::string("s3cret"));
    QCOMPARE(fs::status(s / "deep" / "pw").permissions() & fs::perms::all,
             fs::perms::owner_read | fs::perms::owner_write);
    QCOMPARE(readAll(podDir / "volumes" / "d" / "labels"), std::string("app=\"web\"\n"));
    QVERIFY(fs::is_directory(podDir / "volumes" / "e"));

    // An unchanged payload is left alone; a changed one swaps ..data and drops stale keys.
    const fs::path before = fs::read_symlink(c / "..data");
    QVERIFY(kd::node::prepareVolumes(podDir, pod, getter()).ok());
    QCOMPARE(fs::read_symlink(c / "..data"), before);
    objects_["configmaps/cfg"] = parse("{\"data\": {\"a\": \"changed\"}}");
    QVERIFY(kd::node::prepareVolumes(podDir, pod, getter()).ok());
    QVERIFY(fs::read_symlink(c / "..data") != before);
    QCOMPARE(readAll(c / "a"), std::string("changed"));
    QVERIFY(!fs::exists(c / "b"));
    QVERIFY(!fs::exists(c / before));
  }

  void volumeErrors_data() {
    QTest::addColumn<QString>("volume");
    QTest::addColumn<QString>("message");
    QTest::newRow("missing configmap")
        << "{\"name\": \"v\", \"configMap\": {\"name\": \"nope\"}}"
        << "MountVolume.SetUp failed for volume \"v\" : configmap \"nope\" not found";
    QTest::newRow("missing secret key")
        << "{\"name\": \"v\", \"secret\": {\"secretName\": \"sec\", \"items\": [{\"key\": "
           "\"k\", \"path\": \"k\"}]}}"
        << "MountVolume.SetUp failed for volume \"v\" : references non-existent secret key: k";
    QTest::newRow("hostPath not a directory")
        << "{\"name\": \"v\", \"hostPath\": {\"path\": \"/nonexistent/kd\", \"type\": "
           "\"Directory\"}}"
        << "MountVolume.SetUp failed for volume \"v\" : hostPath type check failed: "
           "/nonexistent/kd is not a directory";
    QTest::newRow("unbound claim")
        << "{\"name\": \"v\", \"persistentVolumeClaim\": {\"claimName\": \"pending\"}}"
        << "MountVolume.SetUp failed for volume \"v\" : PVC pending has non-bound phase "
           "(\"Pending\") or empty pvc.Spec.VolumeName";
  }
  void volumeErrors() {
    QFETCH(QString, volume);
    QFETCH(QString, message);
    QTemporaryDir tmp;
    json pod = kPod;
    pod["spec"]["volumes"] = json::array({json::parse(volume.toStdString())});
    auto volumes = kd::node::prepareVolumes(tmp.path().toStdString(), pod, getter());
    QVERIFY(!volumes.ok());
    QCOMPARE(QString::fromStdString(volumes.status().message()), message);
  }

  void optionalConfigMapGivesAnEmptyVolume() {
    QTemporaryDir tmp;
    json pod = kPod;
    pod["spec"]["volumes"] =
        parse("[{\"name\": \"v\", \"configMap\": {\"name\": \"nope\", \"optional\": true}}]");
    auto volumes = kd::node::prepareVolumes(tmp.path().toStdString(), pod, getter());
    QVERIFY2(volumes.ok(), volumes.status().message().c_str());
  }

  void claimMountsThePersistentVolumesPath() {
    QTemporaryDir tmp;
    const std::string hostPath = tmp.filePath("pv/data").toStdString();
    objects_["persistentvolumes/pv1"] = {{"spec", {{"hostPath", {{"path", hostPath}}}}}};
    json pod = kPod;
    pod["spec"]["volumes"] =
        parse("[{\"name\": \"v\", \"persistentVolumeClaim\": {\"claimName\": \"claim\"}}]");
    auto volumes = kd::node::prepareVolumes(tmp.filePath("pod").toStdString(), pod, getter());
    QVERIFY2(volumes.ok(), volumes.status().message().c_str());
    QCOMPARE(volumes->at("v"), hostPath);
    QVERIFY(fs::is_directory(hostPath));
  }

  void volumeMountsBecomeBindMounts() {
    json pod = kPod;
    pod["spec"]["volumes"] = parse(
        "[{\"name\": \"c\", \"configMap\": {\"name\": \"cfg\"}}, {\"name\": \"e\", "
        "\"emptyDir\": {}}]");
    QTemporaryDir tmp;
    const std::string e = tmp.filePath("e").toStdString();
    const kd::node::VolumePaths paths = {{"c", "/state/c"}, {"e", e}};
    const json container = parse(
        "{\"volumeMounts\": [{\"name\": \"c\", \"mountPath\": \"/etc/app\"}, {\"name\": \"e\", "
        "\"mountPath\": \"/data\", \"subPath\": \"sub\"}, {\"name\": \"e\", \"mountPath\": "
        "\"/ro\", \"readOnly\": true}]}");
    auto mounts = kd::node::containerMounts(pod, container, paths);
    QVERIFY2(mounts.ok(), mounts.status().message().c_str());
    QCOMPARE(mounts->size(), size_t{3});
    kd::node::OciConfigInput in;
    in.imageConfig = json::object();
    in.container = parse("{\"command\": [\"true\"]}");
    in.mounts = *mounts;
    auto config = kd::node::buildOciConfig(in);
    QVERIFY(config.ok());
    json binds = json::array();
    for (const auto& m : (*config)["mounts"])
      if (m["type"] == "bind") binds.push_back(m);
    QCOMPARE(binds[0], json({{"destination", "/etc/app"},
                             {"type", "bind"},
                             {"source", "/state/c"},
                             {"options", {"rbind", "rprivate", "ro"}}}));
    QCOMPARE(binds[1]["source"], json(e + "/sub"));
    QCOMPARE(binds[1]["options"], json({"rbind", "rprivate"}));
    QVERIFY(fs::is_directory(e + "/sub"));
    QCOMPARE(binds[2]["options"], json({"rbind", "rprivate", "ro"}));
    auto bad = kd::node::containerMounts(
        pod,
        parse("{\"volumeMounts\": [{\"name\": \"e\", \"mountPath\": \"/x\", "
              "\"subPath\": \"../escape\"}]}"),
        paths);
    QVERIFY(!bad.ok());
  }
};

QTEST_GUILESS_MAIN(VolumesTest)
#include "volumes_test.moc"
