#include "engine/scheduler/filters.h"

#include <QtTest>

using kd::json;
using namespace kd::scheduler;

namespace {

json node(const std::string& name, json extra = json::object()) {
  json n = {{"metadata", {{"name", name}, {"labels", {{"kubernetes.io/hostname", name}}}}},
            {"spec", json::object()},
            {"status", {{"allocatable", {{"cpu", "4"}, {"memory", "8Gi"}, {"pods", "110"}}}}}};
  n.merge_patch(extra);
  return n;
}

json pod(const std::string& name, json spec = json::object(), json meta = json::object()) {
  json p = {{"metadata", {{"name", name}, {"namespace", "default"}}},
            {"spec", {{"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}};
  p["metadata"].merge_patch(meta);
  p["spec"].merge_patch(spec);
  return p;
}

json requesting(const std::string& cpu, const std::string& memory) {
  return {{"containers",
           {{{"name", "c"},
             {"image", "busybox"},
             {"resources", {{"requests", {{"cpu", cpu}, {"memory", memory}}}}}}}}};
}

json onNode(json p, const std::string& nodeName) {
  p["spec"]["nodeName"] = nodeName;
  return p;
}

json nodeAffinity(json terms) {
  return {{"affinity",
           {{"nodeAffinity",
             {{"requiredDuringSchedulingIgnoredDuringExecution",
               {{"nodeSelectorTerms", std::move(terms)}}}}}}}};
}

json expr(const std::string& key, const std::string& op, json values = json()) {
  json e = {{"key", key}, {"operator", op}};
  if (!values.is_null()) e["values"] = std::move(values);
  return e;
}

json antiAffinity(const std::string& app, bool affinity = false) {
  return {{"affinity",
           {{affinity ? "podAffinity" : "podAntiAffinity",
             {{"requiredDuringSchedulingIgnoredDuringExecution",
               {{{"labelSelector", {{"matchLabels", {{"app", app}}}}},
                 {"topologyKey", "kubernetes.io/hostname"}}}}}}}}};
}

json hostPort(int port, const std::string& ip = "") {
  json p = {{"containerPort", 80}, {"hostPort", port}, {"protocol", "TCP"}};
  if (!ip.empty()) p["hostIP"] = ip;
  return {{"containers", {{{"name", "c"}, {"image", "busybox"}, {"ports", {p}}}}}};
}

struct Case {
  const char* name;
  json node;
  std::vector<json> placed;  // pods already on the node
  json pod;
  std::string reason;  // "" = the node fits
  FilterCode code = FilterCode::Success;
};

const auto kUnresolvable = FilterCode::UnschedulableAndUnresolvable;
const auto kUnschedulable = FilterCode::Unschedulable;

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"empty node fits", node("n1"), {}, pod("p"), ""},
      {"unschedulable node",
       node("n1", {{"spec", {{"unschedulable", true}}}}),
       {},
       pod("p"),
       "node(s) were unschedulable",
       kUnresolvable},
      {"unschedulable tolerated",
       node("n1", {{"spec", {{"unschedulable", true}}}}),
       {},
       pod("p", {{"tolerations",
                  {{{"key", "node.kubernetes.io/unschedulable"}, {"operator", "Exists"}}}}}),
       ""},
      {"other node name",
       node("n1"),
       {},
       pod("p", {{"nodeName", "n2"}}),
       "node(s) didn't match the requested node name",
       kUnresolvable},
      {"untolerated NoSchedule taint",
       node("n1", {{"spec",
                    {{"taints", {{{"key", "gpu"}, {"value", "yes"}, {"effect", "NoSchedule"}}}}}}}),
       {},
       pod("p"),
       "node(s) had untolerated taint {gpu: yes}",
       kUnresolvable},
      {"untolerated NoExecute taint without value",
       node("n1", {{"spec",
                    {{"taints",
                      {{{"key", "node.kubernetes.io/unreachable"}, {"effect", "NoExecute"}}}}}}}),
       {},
       pod("p"),
       "node(s) had untolerated taint {node.kubernetes.io/unreachable: }",
       kUnresolvable},
      {"PreferNoSchedule taint does not filter",
       node("n1", {{"spec", {{"taints", {{{"key", "k"}, {"effect", "PreferNoSchedule"}}}}}}}),
       {},
       pod("p"),
       ""},
      {"toleration Equal matches",
       node("n1", {{"spec",
                    {{"taints", {{{"key", "gpu"}, {"value", "yes"}, {"effect", "NoSchedule"}}}}}}}),
       {},
       pod("p", {{"tolerations",
                  {{{"key", "gpu"},
                    {"operator", "Equal"},
                    {"value", "yes"},
                    {"effect", "NoSchedule"}}}}}),
       ""},
      {"toleration Equal wrong value",
       node("n1", {{"spec",
                    {{"taints", {{{"key", "gpu"}, {"value", "yes"}, {"effect", "NoSchedule"}}}}}}}),
       {},
       pod("p", {{"tolerations", {{{"key", "gpu"}, {"value", "no"}}}}}),
       "node(s) had untolerated taint {gpu: yes}",
       kUnresolvable},
      {"toleration wrong effect",
       node("n1", {{"spec", {{"taints", {{{"key", "gpu"}, {"effect", "NoExecute"}}}}}}}),
       {},
       pod("p",
           {{"tolerations", {{{"key", "gpu"}, {"operator", "Exists"}, {"effect", "NoSchedule"}}}}}),
       "node(s) had untolerated taint {gpu: }",
       kUnresolvable},
      {"empty key Exists tolerates everything",
       node("n1",
            {{"spec", {{"taints", {{{"key", "a"}, {"value", "b"}, {"effect", "NoExecute"}}}}}}}),
       {},
       pod("p", {{"tolerations", {{{"operator", "Exists"}}}}}),
       ""},
      {"nodeSelector matches",
       node("n1", {{"metadata", {{"labels", {{"disk", "ssd"}}}}}}),
       {},
       pod("p", {{"nodeSelector", {{"disk", "ssd"}}}}),
       ""},
      {"nodeSelector mismatch",
       node("n1"),
       {},
       pod("p", {{"nodeSelector", {{"disk", "ssd"}}}}),
       "node(s) didn't match Pod's node affinity/selector",
       kUnresolvable},
      {"affinity In",
       node("n1", {{"metadata", {{"labels", {{"zone", "a"}}}}}}),
       {},
       pod("p", nodeAffinity({{{"matchExpressions", {expr("zone", "In", {"a", "b"})}}}})),
       ""},
      {"affinity NotIn",
       node("n1", {{"metadata", {{"labels", {{"zone", "a"}}}}}}),
       {},
       pod("p", nodeAffinity({{{"matchExpressions", {expr("zone", "NotIn", {"a"})}}}})),
       "node(s) didn't match Pod's node affinity/selector",
       kUnresolvable},
      {"affinity Exists",
       node("n1"),
       {},
       pod("p", nodeAffinity({{{"matchExpressions", {expr("kubernetes.io/hostname", "Exists")}}}})),
       ""},
      {"affinity DoesNotExist",
       node("n1"),
       {},
       pod("p", nodeAffinity({{{"matchExpressions", {expr("gpu", "DoesNotExist")}}}})),
       ""},
      {"affinity Gt",
       node("n1", {{"metadata", {{"labels", {{"cores", "8"}}}}}}),
       {},
       pod("p", nodeAffinity({{{"matchExpressions", {expr("cores", "Gt", {"4"})}}}})),
       ""},
      {"affinity Lt fails",
       node("n1", {{"metadata", {{"labels", {{"cores", "8"}}}}}}),
       {},
       pod("p", nodeAffinity({{{"matchExpressions", {expr("cores", "Lt", {"4"})}}}})),
       "node(s) didn't match Pod's node affinity/selector",
       kUnresolvable},
      {"affinity terms are ORed",
       node("n1"),
       {},
       pod("p", nodeAffinity({{{"matchExpressions", {expr("gpu", "Exists")}}},
                              {{"matchExpressions", {expr("gpu", "DoesNotExist")}}}})),
       ""},
      {"affinity matchFields metadata.name",
       node("n1"),
       {},
       pod("p", nodeAffinity({{{"matchFields", {expr("metadata.name", "In", {"n1"})}}}})),
       ""},
      {"affinity matchFields other name",
       node("n1"),
       {},
       pod("p", nodeAffinity({{{"matchFields", {expr("metadata.name", "In", {"n2"})}}}})),
       "node(s) didn't match Pod's node affinity/selector",
       kUnresolvable},
      {"insufficient cpu",
       node("n1"),
       {onNode(pod("a", requesting("3", "1Gi")), "n1")},
       pod("p", requesting("1500m", "1Gi")),
       "Insufficient cpu",
       kUnschedulable},
      {"cpu exactly fits",
       node("n1"),
       {onNode(pod("a", requesting("3", "1Gi")), "n1")},
       pod("p", requesting("1000m", "1Gi")),
       ""},
      {"insufficient memory",
       node("n1"),
       {},
       pod("p", requesting("1", "1.5e10")),
       "Insufficient memory",
       kUnschedulable},
      {"too many pods",
       node("n1", {{"status", {{"allocatable", {{"pods", "1"}}}}}}),
       {onNode(pod("a"), "n1")},
       pod("p"),
       "Too many pods",
       kUnschedulable},
      {"finished pods take no room",
       node("n1", {{"status", {{"allocatable", {{"pods", "1"}}}}}}),
       {[] {
         json p = onNode(pod("a"), "n1");
         p["status"]["phase"] = "Succeeded";
         return p;
       }()},
       pod("p"),
       ""},
      {"extended resource missing",
       node("n1"),
       {},
       pod("p", {{"containers",
                  {{{"name", "c"},
                    {"image", "x"},
                    {"resources", {{"requests", {{"example.com/gpu", "1"}}}}}}}}}),
       "Insufficient example.com/gpu",
       kUnschedulable},
      {"host port in use",
       node("n1"),
       {onNode(pod("a", hostPort(8080)), "n1")},
       pod("p", hostPort(8080)),
       "node(s) didn't have free ports for the requested pod ports",
       kUnschedulable},
      {"host port on other ip",
       node("n1"),
       {onNode(pod("a", hostPort(8080, "10.0.0.1")), "n1")},
       pod("p", hostPort(8080, "10.0.0.2")),
       ""},
      {"other host port",
       node("n1"),
       {onNode(pod("a", hostPort(8080)), "n1")},
       pod("p", hostPort(8081)),
       ""},
      {"anti-affinity against pod on node",
       node("n1"),
       {onNode(pod("a", json::object(), {{"labels", {{"app", "web"}}}}), "n1")},
       pod("p", antiAffinity("web")),
       "node(s) didn't match pod anti-affinity rules",
       kUnschedulable},
      {"anti-affinity other namespace ignored",
       node("n1"),
       {onNode(pod("a", json::object(), {{"labels", {{"app", "web"}}}, {"namespace", "other"}}),
               "n1")},
       pod("p", antiAffinity("web")),
       ""},
      {"existing pod's anti-affinity",
       node("n1"),
       {onNode(pod("a", antiAffinity("web")), "n1")},
       pod("p", json::object(), {{"labels", {{"app", "web"}}}}),
       "node(s) didn't satisfy existing pods anti-affinity rules",
       kUnschedulable},
      {"affinity with pod on node",
       node("n1"),
       {onNode(pod("a", json::object(), {{"labels", {{"app", "db"}}}}), "n1")},
       pod("p", antiAffinity("db", true)),
       ""},
      {"affinity without matching pod",
       node("n1"),
       {},
       pod("p", antiAffinity("db", true)),
       "node(s) didn't match pod affinity rules",
       kUnresolvable},
      {"first pod of a self-affine group",
       node("n1"),
       {},
       pod("p", antiAffinity("db", true), {{"labels", {{"app", "db"}}}}),
       ""},
  };
  return all;
}

}  // namespace

class FiltersTest : public QObject {
  Q_OBJECT

 private slots:
  void filters_data() {
    QTest::addColumn<int>("index");
    for (size_t i = 0; i < cases().size(); ++i) QTest::newRow(cases()[i].name) << int(i);
  }
  void filters() {
    QFETCH(int, index);
    const Case& c = cases()[size_t(index)];
    SchedulerCache cache;
    cache.upsertNode(c.node);
    // A second node holds the anti-affinity pods of other domains in some cases.
    cache.upsertNode(node("n2"));
    for (const auto& p : c.placed) cache.upsertPod(p);
    const PodInfo info = parsePod(c.pod);
    const FilterResult r = runFilters(info, *cache.node("n1"), prepareAffinity(info, cache));
    if (c.reason.empty()) {
      QVERIFY2(r.ok(), r.reasons.empty() ? "" : r.reasons[0].c_str());
      return;
    }
    QVERIFY(!r.ok());
    QCOMPARE(r.reasons.size(), size_t(1));
    QCOMPARE(QString::fromStdString(r.reasons[0]), QString::fromStdString(c.reason));
    QCOMPARE(int(r.code), int(c.code));
  }

  void insufficientResourcesAreAllNamed() {
    SchedulerCache cache;
    cache.upsertNode(node("n1", {{"status", {{"allocatable", {{"pods", "1"}}}}}}));
    cache.upsertPod(onNode(pod("a"), "n1"));
    const PodInfo info = parsePod(pod("p", requesting("5", "9Gi")));
    const FilterResult r = runFilters(info, *cache.node("n1"), prepareAffinity(info, cache));
    QCOMPARE(r.reasons, (std::vector<std::string>{"Too many pods", "Insufficient cpu",
                                                  "Insufficient memory"}));
  }

  void removingAPodGivesItsRoomBack() {
    SchedulerCache cache;
    cache.upsertNode(node("n1"));
    cache.upsertPod(onNode(pod("a", requesting("4", "1Gi")), "n1"));
    const PodInfo info = parsePod(pod("p", requesting("1", "1Gi")));
    QVERIFY(!runFilters(info, *cache.node("n1"), {}).ok());
    cache.removePod("default/a");
    QVERIFY(runFilters(info, *cache.node("n1"), {}).ok());
    QCOMPARE(cache.node("n1")->requested.milliCpu, int64_t(0));
    QCOMPARE(cache.node("n1")->podCount, int64_t(0));
  }

  void assumedPodsAreCountedOnce() {
    SchedulerCache cache;
    cache.upsertNode(node("n1"));
    json p = pod("a", requesting("1", "1Gi"));
    cache.assume(parsePod(p), "n1");
    cache.upsertPod(onNode(p, "n1"));  // the informer confirms the binding
    QCOMPARE(cache.node("n1")->requested.milliCpu, int64_t(1000));
    QCOMPARE(cache.node("n1")->podCount, int64_t(1));
  }

  void failureMessage_data() {
    QTest::addColumn<QStringList>("reasons");  // per node: "U:reason" or "R:reason"
    QTest::addColumn<QString>("preemptionPolicy");
    QTest::addColumn<QString>("message");
    QTest::newRow("taint and cpu")
        << QStringList{"U:node(s) had untolerated taint {node.kubernetes.io/unreachable: }",
                       "R:Insufficient cpu", "R:Insufficient cpu"}
        << "PreemptLowerPriority"
        << "0/3 nodes are available: 1 node(s) had untolerated taint "
           "{node.kubernetes.io/unreachable: }, 2 Insufficient cpu. preemption: 0/3 nodes are "
           "available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found "
           "for incoming pod.";
    QTest::newRow("selector only")
        << QStringList{"U:node(s) didn't match Pod's node affinity/selector"}
        << "PreemptLowerPriority"
        << "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. "
           "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.";
    QTest::newRow("preemption never")
        << QStringList{"R:Too many pods", "R:Insufficient memory"} << "Never"
        << "0/2 nodes are available: 1 Insufficient memory, 1 Too many pods. preemption: not "
           "eligible due to preemptionPolicy=Never.";
    QTest::newRow("no nodes") << QStringList{} << "PreemptLowerPriority"
                              << "no nodes available to schedule pods";
  }
  void failureMessage() {
    QFETCH(QStringList, reasons);
    QFETCH(QString, preemptionPolicy);
    QFETCH(QString, message);
    Diagnosis d;
    for (const auto& r : reasons) {
      FilterResult f;
      f.code =
          r.startsWith("U:") ? FilterCode::UnschedulableAndUnresolvable : FilterCode::Unschedulable;
      f.reasons = {r.mid(2).toStdString()};
      addToDiagnosis(d, f);
    }
    PodInfo pod;
    pod.preemptionPolicy = preemptionPolicy.toStdString();
    QCOMPARE(QString::fromStdString(kd::scheduler::failureMessage(d, pod)), message);
  }
};

QTEST_GUILESS_MAIN(FiltersTest)
#include "filters_test.moc"
