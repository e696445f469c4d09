#include "engine/api/schema.h"

#include <QtTest>
#include <set>

#include "engine/api/kinds.h"

using kd::api::FieldDef;
using kd::api::KindsRegistry;
using kd::api::SchemaRegistry;
using kd::api::TypeDef;

namespace {

const SchemaRegistry& registry() {
  return SchemaRegistry::builtin();
}

QString q(const std::string& s) {
  return QString::fromStdString(s);
}

QStringList toList(const std::vector<std::string>& v) {
  QStringList out;
  for (const auto& s : v) out << q(s);
  return out;
}

// Other packages are still being written; the reference check covers the ones this file owns.
bool ownedPackage(const std::string& typeName) {
  return typeName.starts_with("core.") || typeName.starts_with("meta.");
}

}  // namespace

class SchemaTest : public QObject {
  Q_OBJECT
 private slots:
  void everyCoreKindHasARootType() {
    QStringList missing;
    for (const auto& kind : KindsRegistry::builtin().all()) {
      if (!kind.group.empty()) continue;
      const TypeDef* root = registry().type(kind.schemaType);
      if (!root) {
        missing << q(kind.schemaType);
        continue;
      }
      const FieldDef* metadata = root->field("metadata");
      QVERIFY2(root->field("apiVersion") && root->field("kind"), kind.schemaType.c_str());
      QVERIFY2(metadata && metadata->type == "meta.v1.ObjectMeta", kind.schemaType.c_str());
    }
    QVERIFY2(missing.isEmpty(), qPrintable("no schema for: " + missing.join(", ")));
  }

  void everyReferencedTypeExists() {
    std::set<std::string> missing;
    for (const auto& t : registry().all()) {
      if (!ownedPackage(t.name)) continue;
      for (const auto& f : t.fields) {
        std::string ref = SchemaRegistry::elementTypeName(f);
        if (!ref.empty() && !registry().type(ref))
          missing.insert(ref + " (" + t.name + "." + f.name + ")");
      }
    }
    QStringList names;
    for (const auto& m : missing) names << q(m);
    QVERIFY2(missing.empty(), qPrintable("unknown types: " + names.join(", ")));
  }

  // Calling each package directly also makes this test link every package file, whatever
  // the library order.
  void eachPackageAddsOnlyItsOwnTypes() {
    const std::pair<const char*, void (*)(std::vector<TypeDef>&)> packages[] = {
        {"meta.v1.", kd::api::addMetaV1Types},
        {"core.v1.", kd::api::addCoreV1Types},
        {"apps.v1.", kd::api::addAppsV1Types},
        {"batch.v1.", kd::api::addBatchV1Types},
        {"autoscaling.v1.", kd::api::addAutoscalingV1Types},
        {"autoscaling.v2.", kd::api::addAutoscalingV2Types},
        {"coordination.v1.", kd::api::addCoordinationV1Types},
        {"discovery.v1.", kd::api::addDiscoveryV1Types},
        {"events.v1.", kd::api::addEventsV1Types},
        {"storage.v1.", kd::api::addStorageV1Types},
    };
    for (const auto& [prefix, add] : packages) {
      std::vector<TypeDef> types;
      add(types);
      for (const auto& t : types) QVERIFY2(t.name.starts_with(prefix), t.name.c_str());
    }
  }

  void typeNamesAreUnique() {
    std::set<std::string> seen;
    for (const auto& t : registry().all()) {
      QVERIFY2(seen.insert(t.name).second, qPrintable("registered twice: " + q(t.name)));
    }
  }

  void noTypeDefinesAFieldTwice() {
    for (const auto& t : registry().all()) {
      std::set<std::string> seen;
      for (const auto& f : t.fields) {
        QVERIFY2(seen.insert(f.name).second, qPrintable(q(t.name) + " repeats " + q(f.name)));
      }
    }
  }

  void everyTypeAndFieldIsDescribed() {
    QStringList undescribed;
    for (const auto& t : registry().all()) {
      if (t.description.empty()) undescribed << q(t.name);
      for (const auto& f : t.fields) {
        if (f.description.empty()) undescribed << q(t.name + "." + f.name);
      }
    }
    QVERIFY2(undescribed.isEmpty(), qPrintable("no description: " + undescribed.join(", ")));
  }

  void mergeMetadataMatchesKubernetes_data() {
    QTest::addColumn<QString>("root");
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("strategy");
    QTest::addColumn<QString>("mergeKey");
    QTest::addColumn<QString>("listType");
    QTest::addColumn<QStringList>("mapKeys");
    auto row = [](const char* name, const char* root, const char* path, const char* strategy,
                  const char* key, const char* listType, QStringList keys) {
      QTest::newRow(name) << root << path << strategy << key << listType << keys;
    };
    const char* pod = "core.v1.Pod";
    row("containers", pod, "spec.containers", "merge", "name", "map", {"name"});
    row("initContainers", pod, "spec.initContainers", "merge", "name", "map", {"name"});
    row("ephemeralContainers", pod, "spec.ephemeralContainers", "merge", "name", "map", {"name"});
    row("volumes", pod, "spec.volumes", "merge,retainKeys", "name", "map", {"name"});
    row("imagePullSecrets", pod, "spec.imagePullSecrets", "merge", "name", "map", {"name"});
    row("hostAliases", pod, "spec.hostAliases", "merge", "ip", "map", {"ip"});
    row("topologySpread", pod, "spec.topologySpreadConstraints", "merge", "topologyKey", "map",
        {"topologyKey", "whenUnsatisfiable"});
    row("schedulingGates", pod, "spec.schedulingGates", "merge", "name", "map", {"name"});
    row("resourceClaims", pod, "spec.resourceClaims", "merge,retainKeys", "name", "map", {"name"});
    row("tolerations", pod, "spec.tolerations", "", "", "atomic", {});
    row("env", pod, "spec.containers.env", "merge", "name", "map", {"name"});
    row("ports", pod, "spec.containers.ports", "merge", "containerPort", "map",
        {"containerPort", "protocol"});
    row("volumeMounts", pod, "spec.containers.volumeMounts", "merge", "mountPath", "map",
        {"mountPath"});
    row("volumeDevices", pod, "spec.containers.volumeDevices", "merge", "devicePath", "map",
        {"devicePath"});
    row("resource claims", pod, "spec.containers.resources.claims", "", "", "map", {"name"});
    row("command", pod, "spec.containers.command", "", "", "atomic", {});
    row("pod conditions", pod, "status.conditions", "merge", "type", "map", {"type"});
    row("podIPs", pod, "status.podIPs", "merge", "ip", "map", {"ip"});
    row("hostIPs", pod, "status.hostIPs", "merge", "ip", "atomic", {});
    row("containerStatuses", pod, "status.containerStatuses", "", "", "atomic", {});
    row("service ports", "core.v1.Service", "spec.ports", "merge", "port", "map",
        {"port", "protocol"});
    row("service conditions", "core.v1.Service", "status.conditions", "merge", "type", "map",
        {"type"});
    row("node conditions", "core.v1.Node", "status.conditions", "merge", "type", "map", {"type"});
    row("node addresses", "core.v1.Node", "status.addresses", "merge", "type", "map", {"type"});
    row("taints", "core.v1.Node", "spec.taints", "", "", "atomic", {});
    row("podCIDRs", "core.v1.Node", "spec.podCIDRs", "merge", "", "set", {});
    row("sa secrets", "core.v1.ServiceAccount", "secrets", "merge", "name", "map", {"name"});
    row("pvc conditions", "core.v1.PersistentVolumeClaim", "status.conditions", "merge", "type",
        "map", {"type"});
    row("ownerReferences", pod, "metadata.ownerReferences", "merge", "uid", "map", {"uid"});
    row("finalizers", pod, "metadata.finalizers", "merge", "", "set", {});
    row("managedFields", pod, "metadata.managedFields", "", "", "atomic", {});
  }
  void mergeMetadataMatchesKubernetes() {
    QFETCH(QString, root);
    QFETCH(QString, path);
    QFETCH(QString, strategy);
    QFETCH(QString, mergeKey);
    QFETCH(QString, listType);
    QFETCH(QStringList, mapKeys);
    const FieldDef* f = registry().resolvePath(root.toStdString(), path.toStdString());
    QVERIFY2(f, qPrintable(root + " has no " + path));
    QCOMPARE(q(f->patchStrategy), strategy);
    QCOMPARE(q(f->patchMergeKey), mergeKey);
    QCOMPARE(q(f->listType), listType);
    QCOMPARE(toList(f->listMapKeys), mapKeys);
  }

  void fieldShapes_data() {
    QTest::addColumn<QString>("root");
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("type");
    QTest::addColumn<bool>("required");
    auto row = [](const char* root, const char* path, const char* type, bool required) {
      QTest::addRow("%s %s", root, path) << root << path << type << required;
    };
    const char* pod = "core.v1.Pod";
    row(pod, "spec.containers", "[]core.v1.Container", true);
    row(pod, "spec.containers.name", "string", true);
    row(pod, "spec.containers.image", "string", false);
    row(pod, "spec.containers.ports.containerPort", "integer", true);
    row(pod, "spec.containers.env.name", "string", true);
    row(pod, "spec.containers.resources.limits", "map[string]Quantity", false);
    row(pod, "spec.containers.livenessProbe.httpGet.port", "IntOrString", true);
    row(pod, "spec.containers.lifecycle.preStop.sleep.seconds", "int64", true);
    row(pod, "spec.volumes.name", "string", true);
    row(pod, "spec.volumes.emptyDir.sizeLimit", "Quantity", false);
    row(pod, "spec.volumes.gcePersistentDisk", "RawJSON", false);
    row(pod, "spec.ephemeralContainers.targetContainerName", "string", false);
    row(pod, "spec.overhead", "map[string]Quantity", false);
    row(pod, "metadata.creationTimestamp", "Time", false);
    row(pod, "metadata.managedFields.fieldsV1", "RawJSON", false);
    row(pod, "status.containerStatuses.state.terminated.exitCode", "integer", true);
    row("core.v1.Service", "spec.ports.port", "integer", true);
    row("core.v1.Service", "spec.ports.targetPort", "IntOrString", false);
    row("core.v1.Secret", "data", "map[string]byte", false);
    row("core.v1.ConfigMap", "binaryData", "map[string]byte", false);
    row("core.v1.Event", "eventTime", "MicroTime", false);
    row("core.v1.Event", "metadata", "meta.v1.ObjectMeta", true);
    row(pod, "metadata", "meta.v1.ObjectMeta", false);
    row("core.v1.Event", "involvedObject", "core.v1.ObjectReference", true);
    row("core.v1.Binding", "target", "core.v1.ObjectReference", true);
    row("core.v1.PersistentVolumeClaim", "spec.resources.requests", "map[string]Quantity", false);
    row("core.v1.PersistentVolume", "spec.local.path", "string", true);
    row("core.v1.Node", "status.daemonEndpoints.kubeletEndpoint.Port", "integer", true);
    row("meta.v1.WatchEvent", "object", "RawJSON", true);
  }
  void fieldShapes() {
    QFETCH(QString, root);
    QFETCH(QString, path);
    QFETCH(QString, type);
    QFETCH(bool, required);
    const FieldDef* f = registry().resolvePath(root.toStdString(), path.toStdString());
    QVERIFY2(f, qPrintable(root + " has no " + path));
    QCOMPARE(q(f->type), type);
    QCOMPARE(f->required, required);
  }

  void closedEnums_data() {
    QTest::addColumn<QString>("root");
    QTest::addColumn<QString>("path");
    QTest::addColumn<QStringList>("values");
    const char* pod = "core.v1.Pod";
    QTest::newRow("restartPolicy")
        << pod << "spec.restartPolicy" << QStringList{"Always", "OnFailure", "Never"};
    QTest::newRow("imagePullPolicy") << pod << "spec.containers.imagePullPolicy"
                                     << QStringList{"Always", "IfNotPresent", "Never"};
    QTest::newRow("protocol") << pod << "spec.containers.ports.protocol"
                              << QStringList{"TCP", "UDP", "SCTP"};
    QTest::newRow("phase") << pod << "status.phase"
                           << QStringList{"Pending", "Running", "Succeeded", "Failed", "Unknown"};
    QTest::newRow("service type") << "core.v1.Service"
                                  << "spec.type"
                                  << QStringList{"ClusterIP", "NodePort", "LoadBalancer",
                                                 "ExternalName"};
    QTest::newRow("taint effect") << "core.v1.Node"
                                  << "spec.taints.effect"
                                  << QStringList{"NoSchedule", "PreferNoSchedule", "NoExecute"};
    QTest::newRow("free-form secret type") << "core.v1.Secret"
                                           << "type" << QStringList{};
  }
  void closedEnums() {
    QFETCH(QString, root);
    QFETCH(QString, path);
    QFETCH(QStringList, values);
    const FieldDef* f = registry().resolvePath(root.toStdString(), path.toStdString());
    QVERIFY2(f, qPrintable(root + " has no " + path));
    QCOMPARE(toList(f->enumValues), values);
  }

  void unknownPathsResolveToNothing() {
    QVERIFY(!registry().resolvePath("core.v1.Pod", "spec.containerz"));
    QVERIFY(!registry().resolvePath("core.v1.Pod", "spec.nodeName.more"));
  }
};

QTEST_GUILESS_MAIN(SchemaTest)
#include "schema_test.moc"
