#include "engine/api/defaulting.h"

#include <QtTest>

using kd::json;
using kd::api::applyDefaults;
using kd::api::KindInfo;
using kd::api::KindsRegistry;

namespace {

const KindInfo& kindOf(const QString& name) {
  const KindInfo* k = KindsRegistry::builtin().resolve(name.toStdString());
  if (!k) qFatal("unknown kind %s", qPrintable(name));
  return *k;
}

// The pod spec defaults every template gets, around the given containers.
json templateSpec(const json& containers) {
  return {{"containers", containers},
          {"restartPolicy", "Always"},
          {"dnsPolicy", "ClusterFirst"},
          {"schedulerName", "default-scheduler"},
          {"terminationGracePeriodSeconds", 30},
          {"securityContext", json::object()}};
}

json defaultedContainer(const std::string& image, const std::string& pullPolicy) {
  return {{"name", "c"},
          {"image", image},
          {"imagePullPolicy", pullPolicy},
          {"terminationMessagePath", "/dev/termination-log"},
          {"terminationMessagePolicy", "File"},
          {"resources", json::object()}};
}

// Every value in `want` must be in `got` at the same place (lists compared item by item).
void expectContains(const json& got, const json& want, const QString& path, QString& missing) {
  if (want.is_object() && got.is_object()) {
    for (const auto& [k, v] : want.items()) {
      QString at = path + "/" + QString::fromStdString(k);
      if (!got.contains(k)) {
        missing += "missing " + at + "\n";
      } else {
        expectContains(got[k], v, at, missing);
      }
    }
  } else if (want.is_array() && got.is_array() && want.size() == got.size()) {
    for (size_t i = 0; i < want.size(); ++i) {
      expectContains(got[i], want[i], path + "/" + QString::number(i), missing);
    }
  } else if (got != want) {
    missing += path + ": got " + QString::fromStdString(got.dump()) + ", want " +
               QString::fromStdString(want.dump()) + "\n";
  }
}

}  // namespace

class DefaultingTest : public QObject {
  Q_OBJECT
 private slots:
  // Input manifest → fields the defaulted object must contain.
  void defaults_data() {
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QString>("input");
    QTest::addColumn<QString>("added");  // what the defaulted object must contain

    QTest::newRow("pod") << "pods"
                         << R"({"spec":{"containers":[{"name":"c","image":"nginx:1.25",
                               "ports":[{"containerPort":80}]}]}})"
                         << R"({"spec":{"restartPolicy":"Always","dnsPolicy":"ClusterFirst",
                               "schedulerName":"default-scheduler","terminationGracePeriodSeconds":30,
                               "securityContext":{},"enableServiceLinks":true,"priority":0,
                               "preemptionPolicy":"PreemptLowerPriority",
                               "containers":[{"name":"c","image":"nginx:1.25","imagePullPolicy":"IfNotPresent",
                               "terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File",
                               "ports":[{"containerPort":80,"protocol":"TCP"}]}]}})";
    QTest::newRow("pull policy by tag")
        << "pods"
        << R"({"spec":{"containers":[{"name":"a","image":"nginx"},{"name":"b","image":"nginx:latest"},
              {"name":"c","image":"registry:5000/app"},{"name":"d","image":"app@sha256:abc"},
              {"name":"e","image":"x","imagePullPolicy":"Never"}]}})"
        << R"({"spec":{"containers":[{"imagePullPolicy":"Always"},{"imagePullPolicy":"Always"},
              {"imagePullPolicy":"Always"},{"imagePullPolicy":"IfNotPresent"},{"imagePullPolicy":"Never"}]}})";
    QTest::newRow("probes, env and volumes") << "pods"
                                             << R"({"spec":{"containers":[{"name":"c","image":"x:1",
              "livenessProbe":{"httpGet":{"port":8080}},"readinessProbe":{"tcpSocket":{"port":80},"periodSeconds":0},
              "env":[{"name":"NODE","valueFrom":{"fieldRef":{"fieldPath":"spec.nodeName"}}}]}],
              "volumes":[{"name":"scratch"},{"name":"cfg","configMap":{"name":"cfg"}},{"name":"s","secret":{"secretName":"s"}}]}})"
                                             << R"({"spec":{"containers":[{
              "livenessProbe":{"httpGet":{"port":8080,"path":"/","scheme":"HTTP"},"timeoutSeconds":1,"periodSeconds":10,"successThreshold":1,"failureThreshold":3},
              "readinessProbe":{"tcpSocket":{"port":80},"timeoutSeconds":1,"periodSeconds":10,"successThreshold":1,"failureThreshold":3},
              "env":[{"name":"NODE","valueFrom":{"fieldRef":{"fieldPath":"spec.nodeName","apiVersion":"v1"}}}]}],
              "volumes":[{"name":"scratch","emptyDir":{}},{"name":"cfg","configMap":{"name":"cfg","defaultMode":420}},
              {"name":"s","secret":{"secretName":"s","defaultMode":420}}]}})";
    QTest::newRow("pod requests from limits")
        << "pods"
        << R"({"spec":{"containers":[{"name":"c","image":"x:1","resources":{"limits":{"cpu":"1"}}}]}})"
        << R"({"spec":{"containers":[{"resources":{"limits":{"cpu":"1"},"requests":{"cpu":"1"}}}]}})";
    QTest::newRow("deployment")
        << "deployments"
        << R"({"spec":{"template":{"spec":{"containers":[{"name":"c","image":"x:1"}]}}}})"
        << R"({"spec":{"replicas":1,"revisionHistoryLimit":10,"progressDeadlineSeconds":600,
              "strategy":{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":"25%","maxSurge":"25%"}}}})";
    QTest::newRow("recreate deployment has no rollingUpdate")
        << "deployments"
        << R"({"spec":{"replicas":3,"strategy":{"type":"Recreate"}}})"
        << R"({"spec":{"revisionHistoryLimit":10,"progressDeadlineSeconds":600}})";
    QTest::newRow("replicaset") << "replicasets"
                                << R"({"spec":{}})"
                                << R"({"spec":{"replicas":1}})";
    QTest::newRow("statefulset")
        << "statefulsets"
        << R"({"spec":{}})"
        << R"({"spec":{"replicas":1,"podManagementPolicy":"OrderedReady","revisionHistoryLimit":10,
              "updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":0}},
              "persistentVolumeClaimRetentionPolicy":{"whenDeleted":"Retain","whenScaled":"Retain"}}})";
    QTest::newRow("daemonset") << "daemonsets"
                               << R"({"spec":{}})"
                               << R"({"spec":{"revisionHistoryLimit":10,
              "updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":1,"maxSurge":0}}}})";
    QTest::newRow("job")
        << "jobs"
        << R"({"spec":{"template":{"metadata":{"labels":{"app":"pi"}}}}})"
        << R"({"metadata":{"labels":{"app":"pi"}},"spec":{"completions":1,"parallelism":1,"backoffLimit":6,
              "completionMode":"NonIndexed","suspend":false,"manualSelector":false,
              "podReplacementPolicy":"TerminatingOrFailed"}})";
    QTest::newRow("job with parallelism leaves completions unset")
        << "jobs"
        << R"({"spec":{"parallelism":3}})"
        << R"({"spec":{"backoffLimit":6,"completionMode":"NonIndexed","suspend":false,
              "manualSelector":false,"podReplacementPolicy":"TerminatingOrFailed"}})";
    QTest::newRow("cronjob")
        << "cronjobs"
        << R"({"spec":{"schedule":"@hourly"}})"
        << R"({"spec":{"concurrencyPolicy":"Allow","suspend":false,"successfulJobsHistoryLimit":3,
              "failedJobsHistoryLimit":1}})";
    QTest::newRow("service")
        << "services"
        << R"({"spec":{"ports":[{"port":80},{"port":443,"targetPort":"https"}]}})"
        << R"({"spec":{"type":"ClusterIP","sessionAffinity":"None","internalTrafficPolicy":"Cluster",
              "ports":[{"port":80,"protocol":"TCP","targetPort":80},{"port":443,"targetPort":"https","protocol":"TCP"}]}})";
    QTest::newRow("nodeport service")
        << "services"
        << R"({"spec":{"type":"NodePort","ports":[{"port":80}]}})"
        << R"({"spec":{"sessionAffinity":"None","internalTrafficPolicy":"Cluster","externalTrafficPolicy":"Cluster",
              "ports":[{"port":80,"protocol":"TCP","targetPort":80}]}})";
    QTest::newRow("namespace")
        << "namespaces"
        << R"({"metadata":{"name":"dev"}})"
        << R"({"metadata":{"labels":{"kubernetes.io/metadata.name":"dev"}},"spec":{"finalizers":["kubernetes"]},
              "status":{"phase":"Active"}})";
    QTest::newRow("secret") << "secrets"
                            << R"({"data":{}})"
                            << R"({"type":"Opaque"})";
    QTest::newRow("pvc") << "pvc"
                         << R"({"spec":{"accessModes":["ReadWriteOnce"]}})"
                         << R"({"spec":{"volumeMode":"Filesystem"},"status":{"phase":"Pending"}})";
    QTest::newRow("hpa")
        << "hpa"
        << R"({"spec":{"maxReplicas":5}})"
        << R"({"spec":{"minReplicas":1,"metrics":[{"type":"Resource","resource":{"name":"cpu",
              "target":{"type":"Utilization","averageUtilization":80}}}]}})";
    QTest::newRow("node allocatable") << "nodes"
                                      << R"({"status":{"capacity":{"cpu":"4"}}})"
                                      << R"({"status":{"allocatable":{"cpu":"4"}}})";
  }
  void defaults() {
    QFETCH(QString, kind);
    QFETCH(QString, input);
    QFETCH(QString, added);
    json object = json::parse(input.toStdString());
    applyDefaults(kindOf(kind), object);
    QString missing;
    expectContains(object, json::parse(added.toStdString()), "", missing);
    QVERIFY2(missing.isEmpty(),
             qPrintable(missing + "\nin " + QString::fromStdString(object.dump())));
  }

  void defaultsOnlyWhatApplies() {
    json d = json::parse(R"({"spec":{"strategy":{"type":"Recreate"}}})");
    applyDefaults(kindOf("deployments"), d);
    QVERIFY(!d["spec"]["strategy"].contains("rollingUpdate"));
    json job = json::parse(R"({"spec":{"parallelism":3}})");
    applyDefaults(kindOf("jobs"), job);
    QVERIFY(!job["spec"].contains("completions"));
    QVERIFY(!job.contains("metadata"));
    json svc = json::parse(R"({"spec":{"ports":[{"port":80}]}})");
    applyDefaults(kindOf("services"), svc);
    QVERIFY(!svc["spec"].contains("externalTrafficPolicy"));
    json tmpl =
        json::parse(R"({"spec":{"template":{"spec":{"containers":[{"name":"c","image":"x"}]}}}})");
    applyDefaults(kindOf("deployments"), tmpl);
    // Only Pods get these, from pod defaulting and priority admission; templates do not.
    for (const char* podOnly : {"enableServiceLinks", "priority", "preemptionPolicy"}) {
      QVERIFY(!tmpl["spec"]["template"]["spec"].contains(podOnly));
    }
  }

  void templatesGetPodSpecDefaults_data() {
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QString>("templatePath");
    for (const char* kind : {"deployments", "replicasets", "statefulsets", "daemonsets", "jobs"}) {
      QTest::newRow(kind) << kind << "/spec/template/spec";
    }
    QTest::newRow("cronjobs") << "cronjobs"
                              << "/spec/jobTemplate/spec/template/spec";
  }
  void templatesGetPodSpecDefaults() {
    QFETCH(QString, kind);
    QFETCH(QString, templatePath);
    json::json_pointer at(templatePath.toStdString());
    json object = json::object();
    object[at] = {{"containers", json::array({{{"name", "c"}, {"image", "busybox"}}})}};
    applyDefaults(kindOf(kind), object);
    QCOMPARE(object[at], templateSpec(json::array({defaultedContainer("busybox", "Always")})));
    // The template's metadata reads back with a null creationTimestamp, as from the API server.
    const json& templ = object[at.parent_pointer()];
    QVERIFY(templ.contains("metadata"));
    QVERIFY(templ["metadata"].contains("creationTimestamp"));
    QVERIFY(templ["metadata"]["creationTimestamp"].is_null());
    if (kind == "cronjobs") {
      QVERIFY(object["spec"]["jobTemplate"]["metadata"]["creationTimestamp"].is_null());
    }
  }

  void idempotent_data() {
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QString>("input");
    QTest::newRow("pod")
        << "pods"
        << R"({"spec":{"containers":[{"name":"c","image":"x","resources":{"limits":{"cpu":"1"}},
                               "livenessProbe":{"httpGet":{"port":1}}}],"volumes":[{"name":"v"}]}})";
    QTest::newRow("deployment") << "deployments"
                                << "{}";
    QTest::newRow("job") << "jobs"
                         << R"({"spec":{"template":{"metadata":{"labels":{"a":"b"}}}}})";
    QTest::newRow("service") << "services"
                             << R"({"spec":{"type":"LoadBalancer","ports":[{"port":80}],
                                                "sessionAffinity":"ClientIP"}})";
    QTest::newRow("namespace") << "namespaces"
                               << R"({"metadata":{"name":"x"}})";
  }
  void idempotent() {
    QFETCH(QString, kind);
    QFETCH(QString, input);
    json once = json::parse(input.toStdString());
    applyDefaults(kindOf(kind), once);
    json twice = once;
    applyDefaults(kindOf(kind), twice);
    QCOMPARE(QString::fromStdString(twice.dump()), QString::fromStdString(once.dump()));
  }

  void explicitValuesAreKept() {
    json d = json::parse(R"({"spec":{"replicas":0,"revisionHistoryLimit":0,
        "strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1}}}})");
    applyDefaults(kindOf("deployments"), d);
    QCOMPARE(d["spec"]["replicas"], json(0));
    QCOMPARE(d["spec"]["revisionHistoryLimit"], json(0));
    QCOMPARE(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], json(1));
    QCOMPARE(d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"], json("25%"));
  }

  void wrongTypesAreLeftAlone() {
    for (const auto& info : KindsRegistry::builtin().all()) {
      for (const char* doc :
           {R"({"spec":"x"})", R"({"spec":[]})", R"({"metadata":5,"spec":{"template":"t"}})",
            R"({"spec":{"containers":"x","volumes":[1,"a"],"ports":{"a":1},"strategy":7,
               "template":{"spec":{"containers":[5,{"ports":"p","env":[{"valueFrom":3}]}]}},
               "jobTemplate":{"spec":[]},"updateStrategy":"x","metrics":{}}})",
            R"({"status":"x","data":null})", "[]", "null"}) {
        json object = json::parse(doc);
        json copy = object;
        applyDefaults(info, object);
        if (!copy.is_object()) QCOMPARE(object, copy);
      }
    }
    json odd = json::parse(R"({"spec":{"template":"t"}})");
    applyDefaults(kindOf("deployments"), odd);
    QCOMPARE(odd["spec"]["template"], json("t"));
  }
};

QTEST_GUILESS_MAIN(DefaultingTest)
#include "defaulting_test.moc"
