#include "engine/api/table.h"

#include <QtTest>

using kd::json;
using kd::api::buildTable;
using kd::api::humanDuration;
using kd::api::KindInfo;
using kd::api::KindsRegistry;
using kd::api::TableObjects;
using std::chrono::seconds;

namespace {

// Tests read time relative to one fixed instant: 2024-05-01T12:00:00Z.
const auto kNow = std::chrono::system_clock::time_point(seconds(1714564800));

const KindInfo& kindNamed(const char* name) {
  const KindInfo* kind = KindsRegistry::builtin().resolve(name);
  Q_ASSERT(kind);
  return *kind;
}

json table(const KindInfo& kind, const json& object, TableObjects include = TableObjects::None) {
  return buildTable(kind, {&object}, json{{"resourceVersion", "42"}}, include, kNow);
}

json cellsOf(const char* kindName, const QString& object) {
  return table(kindNamed(kindName), json::parse(object.toStdString()))["rows"][0]["cells"];
}

QString names(const json& table, int priority) {
  QStringList out;
  for (const auto& c : table["columnDefinitions"]) {
    if (c["priority"] == priority) out << QString::fromStdString(c["name"].get<std::string>());
  }
  return out.join("|");
}

QString dumped(const json& v) {
  return QString::fromStdString(v.dump());
}

// A pod JSON created at 11:00 with the given spec and status members.
QString pod(const QString& specAndStatus, const QString& extraMeta = "") {
  return R"({"metadata":{"name":"p","creationTimestamp":"2024-05-01T11:00:00Z")" + extraMeta +
         "}," + specAndStatus + "}";
}

}  // namespace

class TableTest : public QObject {
  Q_OBJECT
 private slots:
  void humanDurationMatchesKubernetes_data() {
    QTest::addColumn<qint64>("secs");
    QTest::addColumn<QString>("expected");
    QTest::newRow("far negative") << qint64(-5) << "<invalid>";
    QTest::newRow("clock skew") << qint64(-1) << "0s";
    QTest::newRow("zero") << qint64(0) << "0s";
    QTest::newRow("90s") << qint64(90) << "90s";
    QTest::newRow("119s") << qint64(119) << "119s";
    QTest::newRow("2m") << qint64(120) << "2m";
    QTest::newRow("3m2s") << qint64(182) << "3m2s";
    QTest::newRow("9m59s") << qint64(599) << "9m59s";
    QTest::newRow("10m") << qint64(600) << "10m";
    QTest::newRow("179m") << qint64(179 * 60 + 59) << "179m";
    QTest::newRow("3h") << qint64(3 * 3600) << "3h";
    QTest::newRow("5h30m") << qint64(5 * 3600 + 30 * 60) << "5h30m";
    QTest::newRow("8h") << qint64(8 * 3600 + 59 * 60) << "8h";
    QTest::newRow("47h") << qint64(47 * 3600) << "47h";
    QTest::newRow("2d") << qint64(48 * 3600) << "2d";
    QTest::newRow("2d3h") << qint64(51 * 3600) << "2d3h";
    QTest::newRow("8d") << qint64(8 * 86400) << "8d";
    QTest::newRow("729d") << qint64(729 * 86400) << "729d";
    QTest::newRow("2y") << qint64(730 * 86400) << "2y";
    QTest::newRow("2y70d") << qint64(800 * 86400) << "2y70d";
    QTest::newRow("8y") << qint64(8 * 365 * 86400) << "8y";
  }
  void humanDurationMatchesKubernetes() {
    QFETCH(qint64, secs);
    QFETCH(QString, expected);
    QCOMPARE(QString::fromStdString(humanDuration(seconds(secs))), expected);
  }

  void podCells_data() {
    QTest::addColumn<QString>("object");
    QTest::addColumn<QString>("ready");
    QTest::addColumn<QString>("status");
    QTest::addColumn<QString>("restarts");
    const QString one = R"("spec":{"containers":[{"name":"a"}]},)";
    QTest::newRow("running") << pod(one + R"("status":{"phase":"Running","containerStatuses":[)"
                                          R"({"name":"a","ready":true,"restartCount":0,)"
                                          R"("state":{"running":{}}}]})")
                             << "1/1"
                             << "Running"
                             << "0";
    QTest::newRow("crash loop with last restart")
        << pod(one + R"("status":{"phase":"Running","containerStatuses":[{"name":"a",)"
                     R"("ready":false,"restartCount":5,"state":{"waiting":{"reason":)"
                     R"("CrashLoopBackOff"}},"lastState":{"terminated":{"exitCode":1,)"
                     R"("finishedAt":"2024-05-01T11:55:00Z"}}}]})")
        << "0/1"
        << "CrashLoopBackOff"
        << "5 (5m ago)";
    QTest::newRow("pending") << pod(one + R"("status":{"phase":"Pending"})") << "0/1"
                             << "Pending"
                             << "0";
    const QString init = R"("spec":{"initContainers":[{"name":"i"}],"containers":[{"name":"a"}]},)";
    QTest::newRow("init progress") << pod(init + R"("status":{"phase":"Pending",)"
                                                 R"("initContainerStatuses":[{"name":"i",)"
                                                 R"("state":{"waiting":{"reason":)"
                                                 R"("PodInitializing"}}}]})")
                                   << "0/1"
                                   << "Init:0/1"
                                   << "0";
    QTest::newRow("init crash loop")
        << pod(init + R"("status":{"phase":"Pending","initContainerStatuses":[{"name":"i",)"
                      R"("restartCount":3,"state":{"waiting":{"reason":"CrashLoopBackOff"}}}]})")
        << "0/1"
        << "Init:CrashLoopBackOff"
        << "3";
    QTest::newRow("init exit code")
        << pod(init + R"("status":{"phase":"Pending","initContainerStatuses":[{"name":"i",)"
                      R"("state":{"terminated":{"exitCode":2}}}]})")
        << "0/1"
        << "Init:ExitCode:2"
        << "0";
    QTest::newRow("init done, main waiting")
        << pod(init + R"("status":{"phase":"Pending","initContainerStatuses":[{"name":"i",)"
                      R"("state":{"terminated":{"exitCode":0,"reason":"Completed"}}}],)"
                      R"("containerStatuses":[{"name":"a","state":{"waiting":{"reason":)"
                      R"("ContainerCreating"}}}]})")
        << "0/1"
        << "ContainerCreating"
        << "0";
    QTest::newRow("completed") << pod(one + R"("status":{"phase":"Succeeded",)"
                                            R"("containerStatuses":[{"name":"a",)"
                                            R"("state":{"terminated":{"exitCode":0,)"
                                            R"("reason":"Completed"}}}]})")
                               << "0/1"
                               << "Completed"
                               << "0";
    QTest::newRow("killed by signal")
        << pod(one + R"("status":{"phase":"Failed","containerStatuses":[{"name":"a",)"
                     R"("state":{"terminated":{"exitCode":137,"signal":9}}}]})")
        << "0/1"
        << "Signal:9"
        << "0";
    QTest::newRow("evicted") << pod(one + R"("status":{"phase":"Failed","reason":"Evicted"})")
                             << "0/1"
                             << "Evicted"
                             << "0";
    QTest::newRow("terminating") << pod(one + R"("status":{"phase":"Running"})",
                                        R"(,"deletionTimestamp":"2024-05-01T11:59:00Z")")
                                 << "0/1"
                                 << "Terminating"
                                 << "0";
    QTest::newRow("finished pod being deleted")
        << pod(one + R"("status":{"phase":"Succeeded"})",
               R"(,"deletionTimestamp":"2024-05-01T11:59:00Z")")
        << "0/1"
        << "Succeeded"
        << "0";
    QTest::newRow("node lost") << pod(one + R"("status":{"phase":"Running","reason":"NodeLost"})",
                                      R"(,"deletionTimestamp":"2024-05-01T11:59:00Z")")
                               << "0/1"
                               << "Unknown"
                               << "0";
    QTest::newRow("scheduling gated")
        << pod(one + R"("status":{"phase":"Pending","conditions":[{"type":"PodScheduled",)"
                     R"("status":"False","reason":"SchedulingGated"}]})")
        << "0/1"
        << "SchedulingGated"
        << "0";
    const QString two = R"("spec":{"containers":[{"name":"a"},{"name":"b"}]},)";
    const QString oneDone = R"("containerStatuses":[{"name":"a","state":{"terminated":)"
                            R"({"exitCode":0,"reason":"Completed"}}},{"name":"b","ready":true,)"
                            R"("state":{"running":{}}}])";
    QTest::newRow("completed container but another runs")
        << pod(two +
               R"("status":{"phase":"Running","conditions":[{"type":"Ready",)"
               R"("status":"True"}],)" +
               oneDone + "}")
        << "1/2"
        << "Running"
        << "0";
    QTest::newRow("completed container, pod not ready")
        << pod(two + R"("status":{"phase":"Running",)" + oneDone + "}") << "1/2"
        << "NotReady"
        << "0";
    QTest::newRow("sidecar counts as container")
        << pod(R"("spec":{"initContainers":[{"name":"s","restartPolicy":"Always"}],)"
               R"("containers":[{"name":"a"}]},"status":{"phase":"Running","conditions":[)"
               R"({"type":"Initialized","status":"True"}],"initContainerStatuses":[{"name":"s",)"
               R"("started":true,"ready":true,"restartCount":1,"state":{"running":{}},)"
               R"("lastState":{"terminated":{"exitCode":1,"finishedAt":"2024-05-01T11:30:00Z"}}}],)"
               R"("containerStatuses":[{"name":"a","ready":true,"restartCount":2,)"
               R"("state":{"running":{}},"lastState":{"terminated":{"exitCode":1,)"
               R"("finishedAt":"2024-05-01T11:58:00Z"}}}]})")
        << "2/2"
        << "Running"
        << "3 (2m ago)";
  }
  void podCells() {
    QFETCH(QString, object);
    QFETCH(QString, ready);
    QFETCH(QString, status);
    QFETCH(QString, restarts);
    json cells = cellsOf("pods", object);
    QCOMPARE(cells.size(), size_t(9));
    QCOMPARE(QString::fromStdString(cells[1].get<std::string>()), ready);
    QCOMPARE(QString::fromStdString(cells[2].get<std::string>()), status);
    QCOMPARE(QString::fromStdString(cells[3].get<std::string>()), restarts);
    QCOMPARE(cells[4], json("60m"));
  }

  void podWideCells() {
    json cells = cellsOf("pods", pod(R"("spec":{"containers":[{"name":"a"}],"nodeName":"n1",)"
                                     R"("readinessGates":[{"conditionType":"x/ok"}]},)"
                                     R"("status":{"phase":"Running","podIPs":[{"ip":"10.1.0.7"}],)"
                                     R"("conditions":[{"type":"x/ok","status":"True"}]})"));
    QCOMPARE(dumped(cells),
             QString(R"(["p","0/1","Running","0","60m","10.1.0.7","n1","<none>","1/1"])"));
    json bare = cellsOf("pods", pod(R"("spec":{"containers":[]},"status":{})"));
    QCOMPARE(dumped(bare),
             QString(R"(["p","0/0","","0","60m","<none>","<none>","<none>","<none>"])"));
  }

  void columnsPerKind_data() {
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QString>("normal");
    QTest::addColumn<QString>("wide");
    QTest::newRow("pods") << "pods"
                          << "Name|Ready|Status|Restarts|Age"
                          << "IP|Node|Nominated Node|Readiness Gates";
    QTest::newRow("deployments") << "deployments"
                                 << "Name|Ready|Up-to-date|Available|Age"
                                 << "Containers|Images|Selector";
    QTest::newRow("replicasets") << "rs"
                                 << "Name|Desired|Current|Ready|Age"
                                 << "Containers|Images|Selector";
    QTest::newRow("statefulsets") << "sts"
                                  << "Name|Ready|Age"
                                  << "Containers|Images";
    QTest::newRow("daemonsets")
        << "ds"
        << "Name|Desired|Current|Ready|Up-to-date|Available|Node Selector|Age"
        << "Containers|Images|Selector";
    QTest::newRow("jobs") << "jobs"
                          << "Name|Status|Completions|Duration|Age"
                          << "Containers|Images|Selector";
    QTest::newRow("cronjobs") << "cj"
                              << "Name|Schedule|Timezone|Suspend|Active|Last Schedule|Age"
                              << "Containers|Images|Selector";
    QTest::newRow("services") << "svc"
                              << "Name|Type|Cluster-IP|External-IP|Port(s)|Age"
                              << "Selector";
    QTest::newRow("nodes") << "nodes"
                           << "Name|Status|Roles|Age|Version"
                           << "Internal-IP|External-IP|OS-Image|Kernel-Version|Container-Runtime";
    QTest::newRow("events") << "events"
                            << "Last Seen|Type|Reason|Object|Message"
                            << "Subobject|Source|First Seen|Count|Name";
    QTest::newRow("configmaps") << "cm"
                                << "Name|Data|Age"
                                << "";
    QTest::newRow("secrets") << "secrets"
                             << "Name|Type|Data|Age"
                             << "";
    QTest::newRow("namespaces") << "ns"
                                << "Name|Status|Age"
                                << "";
    QTest::newRow("leases") << "leases"
                            << "Name|Holder|Age"
                            << "";
    QTest::newRow("hpa") << "hpa"
                         << "Name|Reference|Targets|MinPods|MaxPods|Replicas|Age"
                         << "";
    QTest::newRow("pvc") << "pvc"
                         << "Name|Status|Volume|Capacity|Access Modes|StorageClass|"
                            "VolumeAttributesClass|Age"
                         << "VolumeMode";
  }
  void columnsPerKind() {
    QFETCH(QString, kind);
    QFETCH(QString, normal);
    QFETCH(QString, wide);
    json t = table(kindNamed(qPrintable(kind)), json::object());
    QCOMPARE(names(t, 0), normal);
    QCOMPARE(names(t, 1), wide);
    QCOMPARE(t["rows"][0]["cells"].size(), t["columnDefinitions"].size());
  }

  void workloadRows_data() {
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QString>("object");
    QTest::addColumn<QString>("cells");
    const QString meta = R"("metadata":{"name":"web","creationTimestamp":"2024-05-01T11:55:00Z"})";
    const QString tmpl = R"("template":{"spec":{"containers":[{"name":"nginx","image":)"
                         R"("nginx:1.25"},{"name":"log","image":"busybox"}]}})";
    QTest::newRow("deployment")
        << "deployments"
        << "{" + meta +
               R"(,"spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"},)"
               R"("matchExpressions":[{"key":"env","operator":"In","values":["b","a"]}]},)" +
               tmpl + R"(},"status":{"readyReplicas":2,"updatedReplicas":3,"availableReplicas":2}})"
        << "[\"web\",\"2/3\",3,2,\"5m\",\"nginx,log\",\"nginx:1.25,busybox\",\"app=web,env in "
           "(a,b)\"]";
    QTest::newRow("replicaset")
        << "rs"
        << "{" + meta + R"(,"spec":{"replicas":2,)" + tmpl + R"(},"status":{"replicas":2}})"
        << R"(["web",2,2,0,"5m","nginx,log","nginx:1.25,busybox","<none>"])";
    QTest::newRow("statefulset") << "sts"
                                 << "{" + meta + R"(,"spec":{"replicas":1,)" + tmpl +
                                        R"(},"status":{}})"
                                 << R"(["web","0/1","5m","nginx,log","nginx:1.25,busybox"])";
    QTest::newRow("daemonset")
        << "ds"
        << "{" + meta +
               R"(,"spec":{"template":{"spec":{"nodeSelector":{"os":"linux"},)"
               R"("containers":[]}}},"status":{"desiredNumberScheduled":2,)"
               R"("currentNumberScheduled":2,"numberReady":1,"updatedNumberScheduled":2,)"
               R"("numberAvailable":1}})"
        << R"(["web",2,2,1,2,1,"os=linux","5m","","","<none>"])";
    QTest::newRow("job complete")
        << "jobs"
        << "{" + meta + R"(,"spec":{"completions":1,"selector":{"matchLabels":{"j":"1"}},)" + tmpl +
               R"(},"status":{"succeeded":1,"startTime":"2024-05-01T11:55:00Z","completionTime":)"
               R"("2024-05-01T11:55:30Z","conditions":[{"type":"Complete","status":"True"}]}})"
        << R"(["web","Complete","1/1","30s","5m","nginx,log","nginx:1.25,busybox","j=1"])";
    QTest::newRow("job running in parallel")
        << "jobs"
        << "{" + meta +
               R"(,"spec":{"parallelism":2},"status":{"startTime":"2024-05-01T11:57:00Z"}})"
        << R"(["web","Running","0/1 of 2","3m","5m","","","<none>"])";
    QTest::newRow("job failed")
        << "jobs"
        << "{" + meta +
               R"(,"spec":{"completions":3},"status":{"succeeded":1,"conditions":[)"
               R"({"type":"Failed","status":"True"}]}})"
        << R"(["web","Failed","1/3","","5m","","","<none>"])";
    QTest::newRow("job suspended")
        << "jobs"
        << "{" + meta +
               R"(,"spec":{},"status":{"conditions":[{"type":"Suspended","status":"True"}]}})"
        << R"(["web","Suspended","0/1","","5m","","","<none>"])";
    QTest::newRow("cronjob")
        << "cj"
        << "{" + meta +
               R"(,"spec":{"schedule":"*/5 * * * *","suspend":false,"jobTemplate":{)"
               R"("spec":{"template":{"spec":{"containers":[{"name":"c","image":"i"}]}}}}},)"
               R"("status":{"active":[{"name":"x"}],"lastScheduleTime":"2024-05-01T11:58:00Z"}})"
        << R"(["web","*/5 * * * *","<none>","False",1,"2m","5m","c","i","<none>"])";
    QTest::newRow("cronjob unset suspend")
        << "cj"
        << "{" + meta + R"(,"spec":{"schedule":"@hourly","timeZone":"Etc/UTC"}})"
        << R"(["web","@hourly","Etc/UTC","<unset>",0,"<none>","5m","","","<none>"])";
  }
  void workloadRows() {
    QFETCH(QString, kind);
    QFETCH(QString, object);
    QFETCH(QString, cells);
    QCOMPARE(dumped(cellsOf(qPrintable(kind), object)), cells);
  }

  void serviceRows_data() {
    QTest::addColumn<QString>("spec");
    QTest::addColumn<QString>("cells");
    QTest::newRow("cluster ip")
        << R"("spec":{"type":"ClusterIP","clusterIPs":["10.96.0.10"],"ports":[{"port":80,)"
           R"("protocol":"TCP"},{"port":53,"protocol":"UDP"}],"selector":{"b":"2","a":"1"}})"
        << R"(["s","ClusterIP","10.96.0.10","<none>","80/TCP,53/UDP","60m","a=1,b=2"])";
    QTest::newRow("node port")
        << R"("spec":{"type":"NodePort","clusterIPs":["10.96.0.11"],"externalIPs":["1.2.3.4"],)"
           R"("ports":[{"port":80,"nodePort":30080,"protocol":"TCP"}]})"
        << R"(["s","NodePort","10.96.0.11","1.2.3.4","80:30080/TCP","60m","<none>"])";
    QTest::newRow("load balancer pending")
        << R"("spec":{"type":"LoadBalancer","clusterIPs":["10.96.0.12"],"ports":[{"port":443,)"
           R"("nodePort":31443,"protocol":"TCP"}]})"
        << R"(["s","LoadBalancer","10.96.0.12","<pending>","443:31443/TCP","60m","<none>"])";
    QTest::newRow("load balancer ready")
        << R"("spec":{"type":"LoadBalancer","clusterIPs":["10.96.0.12"],"ports":[]},)"
           R"("status":{"loadBalancer":{"ingress":[{"ip":"192.168.1.9"},{"hostname":"lb.local"}]}})"
        << R"(["s","LoadBalancer","10.96.0.12","192.168.1.9,lb.local","<none>","60m","<none>"])";
    QTest::newRow("headless") << R"("spec":{"type":"ClusterIP","clusterIPs":["None"]})"
                              << R"(["s","ClusterIP","None","<none>","<none>","60m","<none>"])";
    QTest::newRow("external name")
        << R"("spec":{"type":"ExternalName","externalName":"db.example.com"})"
        << R"(["s","ExternalName","<none>","db.example.com","<none>","60m","<none>"])";
  }
  void serviceRows() {
    QFETCH(QString, spec);
    QFETCH(QString, cells);
    QString object =
        R"({"metadata":{"name":"s","creationTimestamp":"2024-05-01T11:00:00Z"},)" + spec + "}";
    QCOMPARE(dumped(cellsOf("services", object)), cells);
  }

  void nodeRows_data() {
    QTest::addColumn<QString>("object");
    QTest::addColumn<QString>("cells");
    QTest::newRow("ready cordoned control plane")
        << R"({"metadata":{"name":"m01","creationTimestamp":"2024-04-29T12:00:00Z","labels":{)"
           R"("node-role.kubernetes.io/control-plane":"","kubernetes.io/hostname":"m01"}},)"
           R"("spec":{"unschedulable":true},"status":{"conditions":[{"type":"MemoryPressure",)"
           R"("status":"False"},{"type":"Ready","status":"True"}],"addresses":[{"type":)"
           R"("InternalIP","address":"192.168.122.10"}],"nodeInfo":{"kubeletVersion":"v1.32.0",)"
           R"("osImage":"KubeDesk","kernelVersion":"6.1.0","containerRuntimeVersion":"crun://1.8"}}})"
        << R"(["m01","Ready,SchedulingDisabled","control-plane","2d","v1.32.0","192.168.122.10",)"
           R"("<none>","KubeDesk","6.1.0","crun://1.8"])";
    QTest::newRow("not ready worker")
        << R"({"metadata":{"name":"m02","creationTimestamp":"2024-05-01T11:00:00Z","labels":{)"
           R"("kubernetes.io/role":"worker"}},"status":{"conditions":[{"type":"Ready",)"
           R"("status":"Unknown"}]}})"
        << R"(["m02","NotReady","worker","60m","","<none>","<none>","<unknown>","<unknown>",)"
           R"("<unknown>"])";
    QTest::newRow("no conditions yet")
        << R"({"metadata":{"name":"m03"}})"
        << R"(["m03","Unknown","<none>","<unknown>","","<none>","<none>","<unknown>",)"
           R"("<unknown>","<unknown>"])";
  }
  void nodeRows() {
    QFETCH(QString, object);
    QFETCH(QString, cells);
    QCOMPARE(dumped(cellsOf("nodes", object)), cells);
  }

  void otherRows_data() {
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QString>("object");
    QTest::addColumn<QString>("cells");
    const QString meta = R"("metadata":{"name":"x","creationTimestamp":"2024-05-01T11:59:30Z")";
    QTest::newRow("event")
        << "events"
        << "{" + meta +
               R"(},"type":"Warning","reason":"BackOff","message":"  Back-off  ",)"
               R"("involvedObject":{"kind":"Pod","name":"web-1","fieldPath":)"
               R"("spec.containers{a}"},"source":{"component":"kubelet","host":"m01"},)"
               R"("firstTimestamp":"2024-05-01T11:00:00Z","lastTimestamp":)"
               R"("2024-05-01T11:59:00Z","count":7})"
        << R"(["60s","Warning","BackOff","pod/web-1","spec.containers{a}","kubelet, m01",)"
           R"("Back-off","60m",7,"x"])";
    QTest::newRow("events.k8s.io event")
        << "events.events.k8s.io"
        << "{" + meta +
               R"(},"type":"Normal","reason":"Scheduled","note":"assigned",)"
               R"("regarding":{"kind":"Pod","name":"p"},"reportingController":)"
               R"("scheduler","eventTime":"2024-05-01T11:58:00.123456Z"})"
        << R"(["2m","Normal","Scheduled","pod/p","","scheduler","assigned","2m",1,"x"])";
    QTest::newRow("configmap") << "cm"
                               << "{" + meta + R"(},"data":{"a":"1"},"binaryData":{"b":""}})"
                               << R"(["x",2,"30s"])";
    QTest::newRow("secret") << "secrets"
                            << "{" + meta + R"(},"type":"Opaque","data":{"a":""}})"
                            << R"(["x","Opaque",1,"30s"])";
    QTest::newRow("namespace") << "ns"
                               << "{" + meta + R"(},"status":{"phase":"Active"}})"
                               << R"(["x","Active","30s"])";
    QTest::newRow("service account") << "sa"
                                     << "{" + meta + R"(}})"
                                     << R"(["x",0,"30s"])";
    QTest::newRow("lease") << "leases"
                           << "{" + meta + R"(},"spec":{"holderIdentity":"m01"}})"
                           << R"(["x","m01","30s"])";
    QTest::newRow("endpoints")
        << "ep"
        << "{" + meta +
               R"(},"subsets":[{"addresses":[{"ip":"10.0.0.1"},{"ip":"10.0.0.2"}],)"
               R"("ports":[{"port":80},{"port":443}]}]})"
        << R"(["x","10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...","30s"])";
    QTest::newRow("no endpoints") << "ep"
                                  << "{" + meta + "}}"
                                  << R"(["x","<none>","30s"])";
    QTest::newRow("hpa")
        << "hpa"
        << "{" + meta +
               R"(},"spec":{"scaleTargetRef":{"kind":"Deployment","name":"web"},)"
               R"("maxReplicas":5,"metrics":[{"type":"Resource","resource":{"name":)"
               R"("cpu","target":{"type":"Utilization","averageUtilization":80}}}]},)"
               R"("status":{"currentReplicas":2,"currentMetrics":[{"type":"Resource",)"
               R"("resource":{"name":"cpu","current":{"averageUtilization":35}}}]}})"
        << R"(["x","Deployment/web","cpu: 35%/80%","<unset>",5,2,"30s"])";
    QTest::newRow("storage class default")
        << "sc"
        << QString(R"({"metadata":{"name":"local","annotations":{"%1":"true"}},)"
                   R"("provisioner":"kubedesk.io/hostpath"})")
               .arg("storageclass.kubernetes.io/is-default-class")
        << "[\"local "
           "(default)\",\"kubedesk.io/hostpath\",\"Delete\",\"Immediate\",false,\"<unknown>\"]";
    QTest::newRow("bound pvc")
        << "pvc"
        << "{" + meta +
               R"(},"spec":{"volumeName":"pv1","storageClassName":"local"},)"
               R"("status":{"phase":"Bound","capacity":{"storage":"1Gi"},)"
               R"("accessModes":["ReadWriteMany","ReadWriteOnce"]}})"
        << R"(["x","Bound","pv1","1Gi","RWO,RWX","local","<unset>","30s","<unset>"])";
    QTest::newRow("controller revision")
        << "controllerrevisions"
        << R"({"metadata":{"name":"x","ownerReferences":[{"apiVersion":"apps/v1","kind":)"
           R"("DaemonSet","name":"agent","controller":true}]},"revision":3})"
        << R"(["x","daemonset.apps/agent",3,"<unknown>"])";
  }
  void otherRows() {
    QFETCH(QString, kind);
    QFETCH(QString, object);
    QFETCH(QString, cells);
    QCOMPARE(dumped(cellsOf(qPrintable(kind), object)), cells);
  }

  void tableShape() {
    json object = json::parse(
        R"({"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"c","uid":"u1"},"data":{}})");
    const KindInfo& kind = kindNamed("configmaps");
    json none = table(kind, object, TableObjects::None);
    QCOMPARE(none["kind"], json("Table"));
    QCOMPARE(none["apiVersion"], json("meta.k8s.io/v1"));
    QCOMPARE(none["metadata"], json::parse(R"({"resourceVersion":"42"})"));
    QVERIFY(!none["rows"][0].contains("object"));
    QCOMPARE(none["columnDefinitions"][0],
             json::parse(R"({"name":"Name","type":"string","format":"name","priority":0,)"
                         R"("description":"Name of the object, unique within its namespace."})"));
    QCOMPARE(none["columnDefinitions"][1]["format"], json(""));

    json meta = table(kind, object, TableObjects::Metadata);
    QCOMPARE(meta["rows"][0]["object"],
             json::parse(R"({"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1",)"
                         R"("metadata":{"name":"c","uid":"u1"}})"));
    json full = table(kind, object, TableObjects::Object);
    QCOMPARE(full["rows"][0]["object"], object);

    json empty = buildTable(kind, {}, json::object(), TableObjects::None, kNow);
    QVERIFY(empty["rows"].is_array() && empty["rows"].empty());
  }

  void kindWithoutPrinterGetsNameAndAge() {
    KindInfo widget;
    widget.group = "example.com";
    widget.version = "v1";
    widget.kind = "Widget";
    json t = table(widget, json::parse(R"({"metadata":{"name":"w","creationTimestamp":)"
                                       R"("2024-04-30T12:00:00Z"}})"));
    QCOMPARE(names(t, 0), QString("Name|Age"));
    QCOMPARE(dumped(t["rows"][0]["cells"]), QString(R"(["w","24h"])"));
  }

  void finishedPodsCarryRowCondition() {
    json t = table(kindNamed("pods"), json::parse(R"({"status":{"phase":"Succeeded"}})"));
    QCOMPARE(t["rows"][0]["conditions"][0]["type"], json("Completed"));
    json running = table(kindNamed("pods"), json::parse(R"({"status":{"phase":"Running"}})"));
    QVERIFY(!running["rows"][0].contains("conditions"));
  }

  void timestampsWithOffsetsAndFractions() {
    const char* objects[] = {R"({"metadata":{"creationTimestamp":"2024-05-01T13:55:00+02:00"}})",
                             R"({"metadata":{"creationTimestamp":"2024-05-01T11:55:00.5Z"}})"};
    for (const char* o : objects) {
      QCOMPARE(cellsOf("cm", o)[2], json("5m"));
    }
    QCOMPARE(cellsOf("cm", R"({"metadata":{"creationTimestamp":"yesterday"}})")[2],
             json("<unknown>"));
  }
};

QTEST_GUILESS_MAIN(TableTest)
#include "table_test.moc"
