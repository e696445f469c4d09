// End to end: `kdctl start --driver=vm` on a throwaway profile boots two VM nodes (libvirt,
// TCG here) from the node image, and the real kubectl runs pods on them: a pod on one node
// fetches a page from a pod on the other over the cluster switch, and `kubectl exec` reaches
// into a VM. Then stop (the VMs shut down, disks stay), start again (same nodes come back
// Ready); a Deployment of 4 busybox httpd replicas with readiness probes spreads over both VMs
// and goes Ready, and `kubectl logs` and `exec` reach one of its containers. A VM that dies
// unasked: its node NotReady at once, saying why; its pods are evicted after their own short
// tolerations and replaced on the other node; kdctl start brings the VM back and its agent
// finishes the pods left Terminating there. `kdctl node add` boots a third VM that takes pods,
// `kdctl node delete` drains it and removes its domain and disk. Last, delete (no domain, no
// file left). The VMs are reused from step to step. Needs root, libvirt and qemu
// (install-deps.sh).

#include <unistd.h>

#include <filesystem>

#include <QDir>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include "engine_process.h"
#include "vm/libvirt/libvirt_connection.h"

namespace {

const QString kKdctl = QStringLiteral(KD_BINARY_DIR "/bin/kdctl");
const QString kProfile = "vmt";

QByteArray pod(const QString& name, const QString& node, const QString& command) {
  return QString(
             "apiVersion: v1\nkind: Pod\nmetadata: {name: %1, labels: {app: %1}}\nspec:\n"
             "  nodeName: %2\n  restartPolicy: Never\n  terminationGracePeriodSeconds: 1\n"
             "  containers:\n  - name: main\n    image: busybox\n"
             "    command: [sh, -c, \"%3\"]\n")
      .arg(name, node, command)
      .toUtf8();
}

// Four httpd replicas that are Ready once they answer HTTP. They ride out their node being
// unreachable or not ready for 5 s, not the 300 s the API server gives a pod that says nothing.
const QByteArray kWeb =
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 4\n"
    "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
    "    spec:\n      terminationGracePeriodSeconds: 1\n      tolerations:\n"
    "      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute,"
    " tolerationSeconds: 5}\n"
    "      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute,"
    " tolerationSeconds: 5}\n"
    "      containers:\n      - name: httpd\n        image: busybox\n"
    "        command: [sh, -c, \"mkdir -p /www && hostname > /www/index.html && "
    "echo serving $(hostname) && exec httpd -f -p 8080 -h /www\"]\n"
    "        readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}\n";

}  // namespace

class KdctlVmE2eTest : public QObject {
  Q_OBJECT
  QTemporaryDir home_;
  QProcessEnvironment env_ = QProcessEnvironment::systemEnvironment();

  CommandResult kdctl(const QStringList& args, int timeoutMs = 90000) {
    return runWithEnvironment(kKdctl, args + QStringList{"--profile", kProfile}, env_, timeoutMs);
  }
  CommandResult kubectl(const QStringList& args, const QByteArray& input = {},
                        int timeoutMs = 60000) {
    return runWithEnvironment("/usr/bin/kubectl", args, env_, timeoutMs, input);
  }
  QString jsonpath(const QString& what, const QString& path) {
    return kubectl({"get", what, "-o", "jsonpath=" + path}).out;
  }
  bool waitFor(const std::function<bool()>& check, int ms) {
    QElapsedTimer t;
    t.start();
    while (!check()) {
      if (t.elapsed() > ms) return false;
      QThread::msleep(500);
    }
    return true;
  }
  QString profileDir() const { return home_.filePath("data/kubedesk/" + kProfile); }
  // "node ready deleting" of each of the Deployment's pods, sorted; ready is the Ready
  // condition's status, deleting "Terminating" once the pod has a deletionTimestamp.
  QStringList webPods() {
    QStringList lines = kubectl({"get", "pods", "-l", "app=web", "-o",
                                 "jsonpath={range .items[*]}{.spec.nodeName}|"
                                 "{.status.conditions[?(@.type==\"Ready\")].status}|"
                                 "{.metadata.deletionTimestamp}{\"\\n\"}{end}"})
                            .out.split('\n', Qt::SkipEmptyParts);
    for (auto& l : lines) {
      const QStringList f = l.split('|');
      l = f.value(0) + " " + f.value(1) + (f.value(2).isEmpty() ? "" : " Terminating");
    }
    lines.sort();
    return lines;
  }
  // Waits until the Deployment has 4 ready replicas, all its live pods Ready and on `nodes`,
  // and `terminating` more on their way out.
  bool webReadyOn(const QStringList& nodes, int terminating, int ms) {
    return waitFor(
        [&] {
          int ready = 0, leaving = 0;
          for (const QString& l : webPods()) {
            if (l.endsWith(" Terminating")) {
              ++leaving;
            } else if (l.endsWith(" True") && nodes.contains(l.section(' ', 0, 0))) {
              ++ready;
            } else {
              return false;
            }
          }
          return ready == 4 && leaving == terminating &&
                 jsonpath("deployment/web", "{.status.readyReplicas}") == "4";
        },
        ms);
  }
  QStringList webPodUids(const QString& node) {
    return kubectl({"get", "pods", "-l", "app=web", "--field-selector", "spec.nodeName=" + node,
                    "-o", "jsonpath={.items[*].metadata.uid}"})
        .out.split(' ', Qt::SkipEmptyParts);
  }
  QJsonArray recordedNodes() {
    QFile f(profileDir() + "/cluster.json");
    if (!f.open(QIODevice::ReadOnly)) return {};
    return QJsonDocument::fromJson(f.readAll()).object()["nodes"].toArray();
  }
  QStringList profileDomains() {
    auto libvirt = kd::vm::LibvirtConnection::open();
    if (!libvirt.ok()) return {"error: " + QString::fromStdString(libvirt.status().message())};
    auto names = (*libvirt)->domainNames("kubedesk-vmt-");
    if (!names.ok()) return {"error: " + QString::fromStdString(names.status().message())};
    QStringList found;
    for (const auto& n : *names) found << QString::fromStdString(n);
    found.sort();
    return found;
  }
  bool qemuRuns(const QString& domain) {
    QProcess ps;
    ps.start("pgrep", {"-f", "guest=" + domain});
    ps.waitForFinished(5000);
    return !ps.readAllStandardOutput().trimmed().isEmpty();
  }
  QString readyCondition(const QString& node, const QString& type, const QString& field) {
    return jsonpath("node/" + node,
                    "{.status.conditions[?(@.type==\"" + type + "\")]." + field + "}");
  }
  // "<node> <type>: <message>" of every NodeVMStopped event.
  // The pods the Deployment's ReplicaSets say they created (their SuccessfulCreate events).
  int webPodsCreated() {
    return kubectl({"get", "events", "--field-selector", "reason=SuccessfulCreate", "-o",
                    "jsonpath={range .items[*]}{.message}{\"\\n\"}{end}"})
        .out.split('\n', Qt::SkipEmptyParts)
        .filter("Created pod: web-")
        .size();
  }
  QStringList vmStoppedEvents() {
    const auto list =
        QJsonDocument::fromJson(kubectl({"get", "events", "-o", "json"}).out.toUtf8());
    QStringList found;
    for (const auto& item : list["items"].toArray()) {
      const QJsonObject e = item.toObject();
      if (e["reason"].toString() != "NodeVMStopped") continue;
      found << e["involvedObject"].toObject()["name"].toString() + " " + e["type"].toString() +
                   ": " + e["message"].toString();
    }
    return found;
  }

 private slots:
  void initTestCase() {
    if (::geteuid() != 0) QSKIP("needs root: boots VMs through libvirt (run as root)");
    QVERIFY(QFile::exists(KD_BINARY_DIR "/node-image/vmlinuz"));
    env_.insert("XDG_DATA_HOME", home_.filePath("data"));
    env_.insert("KUBECONFIG", home_.filePath("kubeconfig"));
    env_.insert("HOME", home_.path());
  }

  void startBootsTwoVmNodes() {
    QElapsedTimer t;
    t.start();
    auto r = kdctl({"start", "--driver=vm", "--nodes=2", "--memory=512"}, 400000);
    CMD_OK(r);
    qInfo("kdctl start --driver=vm --nodes=2: %.1f s", t.elapsed() / 1000.0);
    KD_VERIFY2(r.out.contains("Booting 2 VM nodes"), qPrintable(r.out));
    auto nodes = kubectl({"get", "nodes", "-o", "wide"});
    CMD_OK(nodes);
    for (const char* line : {"vmt-m01", "vmt-m02"}) {
      KD_VERIFY2(nodes.out.contains(QRegularExpression(QString(line) + "\\s+Ready")),
                 qPrintable(nodes.out));
    }
    QCOMPARE(jsonpath("node/vmt-m02", "{.status.addresses[?(@.type==\"InternalIP\")].address}"),
             QString("192.168.77.12"));
  }

  void podsOnDifferentVmsTalk() {
    auto made = kubectl({"apply", "-f", "-"},
                        pod("server", "vmt-m02",
                            "mkdir -p /www && echo across-the-switch > /www/index.html && "
                            "exec httpd -f -p 8080 -h /www"));
    CMD_OK(made);
    KD_VERIFY2(
        waitFor([&] { return jsonpath("pod/server", "{.status.phase}") == "Running"; }, 120000),
        qPrintable(kubectl({"describe", "pod", "server"}).out));
    const QString ip = jsonpath("pod/server", "{.status.podIP}");
    KD_VERIFY2(!ip.isEmpty(), "the server pod has no IP");
    CMD_OK(kubectl({"apply", "-f", "-"}, pod("client", "vmt-m01",
                                             "for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://" +
                                                 ip + ":8080/ && exit 0; sleep 1; done; exit 1")));
    KD_VERIFY2(waitFor(
                   [&] {
                     const QString phase = jsonpath("pod/client", "{.status.phase}");
                     return phase == "Succeeded" || phase == "Failed";
                   },
                   120000),
               qPrintable(kubectl({"describe", "pod", "client"}).out));
    QCOMPARE(jsonpath("pod/client", "{.status.phase}"), QString("Succeeded"));
    QCOMPARE(kubectl({"logs", "client"}).out.trimmed(), QString("across-the-switch"));
    auto exec = kubectl({"exec", "server", "--", "cat", "/proc/sys/kernel/hostname"});
    CMD_OK(exec);
    KD_VERIFY2(!exec.out.trimmed().isEmpty(), qPrintable(exec.err));
  }

  void stopKeepsTheDisksAndStartBringsTheNodesBack() {
    CMD_OK(kubectl({"delete", "pod", "client", "server", "--wait=true"}));
    CMD_OK(kdctl({"stop"}, 120000));
    QVERIFY(QFile::exists(profileDir() + "/nodes/m01/disk.qcow2"));
    auto again = kdctl({"start"}, 400000);  // the profile remembers its driver
    CMD_OK(again);
    KD_VERIFY2(again.out.contains("Booting 2 VM nodes"), qPrintable(again.out));
    auto nodes = kubectl({"get", "nodes"});
    KD_VERIFY2(nodes.out.count(QRegularExpression("\\sReady\\s")) == 2, qPrintable(nodes.out));
  }

  // The scheduler spreads a controller's replicas, so each VM gets some of them; the agents'
  // HTTP readiness probes make them Ready inside the VMs.
  void aDeploymentSpreadsOverBothVms() {
    QElapsedTimer t;
    t.start();
    CMD_OK(kubectl({"apply", "-f", "-"}, kWeb));
    CMD_OK(kubectl({"rollout", "status", "deployment/web", "--timeout=240s"}, {}, 250000));
    qInfo("Deployment of 4 httpd replicas rolled out: %.1f s", t.elapsed() / 1000.0);
    KD_VERIFY2(webReadyOn({"vmt-m01", "vmt-m02"}, 0, 30000), qPrintable(webPods().join(',')));
    // Each VM has a Ready replica. A wait, not a single look: on a starved host the guests'
    // probes can time out for a moment right after the rollout, as a kubelet's would (the
    // clean-clone check saw all four Ready, then all four not, while other work ran beside it).
    for (const QString node : {"vmt-m01", "vmt-m02"}) {
      KD_VERIFY2(waitFor([&] { return !webPods().filter(node + " True").isEmpty(); }, 60000),
                 qPrintable(webPods().join(',')));
    }
    const QString name =
        kubectl({"get", "pods", "-l", "app=web", "--field-selector", "spec.nodeName=vmt-m02", "-o",
                 "jsonpath={.items[0].metadata.name}"})
            .out;
    QVERIFY(!name.isEmpty());
    auto logs = kubectl({"logs", name});
    CMD_OK(logs);
    QCOMPARE(logs.out.trimmed(), "serving " + name);
    auto exec = kubectl({"exec", name, "--", "wget", "-qO-", "http://127.0.0.1:8080/"});
    CMD_OK(exec);
    QCOMPARE(exec.out.trimmed(), name);
  }

  // As `virsh destroy` would: the node goes NotReady at once (not after the 40 s lease grace
  // period), its conditions and a Warning event name the VM, the node lifecycle controller
  // taints it and, once the pods' 5 s tolerations run out, evicts the Deployment's pods there;
  // their replacements go Ready on the other node, while the evicted ones stay Terminating
  // (no agent is there to finish them). kdctl start boots the VM again, the node comes back
  // Ready and its agent finishes those pods.
  void aVmThatDiesMakesItsNodeNotReadyAtOnce() {
    // kdctl stop and start (above) stopped the VMs on purpose: no warning came of it.
    QCOMPARE(vmStoppedEvents(), QStringList());
    const QStringList onM02 = webPodUids("vmt-m02");
    QVERIFY(!onM02.isEmpty());
    auto libvirt = kd::vm::LibvirtConnection::open();
    KD_VERIFY2(libvirt.ok(), libvirt.status().message().c_str());
    QElapsedTimer t;
    t.start();
    const kd::Status destroyed = (*libvirt)->destroy("kubedesk-vmt-m02");
    KD_VERIFY2(destroyed.isOk(), destroyed.message().c_str());
    const QString message = "VM kubedesk-vmt-m02 stopped: Stopped (Destroyed)";
    KD_VERIFY2(
        waitFor([&] { return readyCondition("vmt-m02", "Ready", "message") == message; }, 120000),
        qPrintable(kubectl({"describe", "node", "vmt-m02"}).out));
    for (const char* type : {"Ready", "MemoryPressure", "DiskPressure", "PIDPressure"}) {
      QCOMPARE(readyCondition("vmt-m02", type, "status"), QString("Unknown"));
      QCOMPARE(readyCondition("vmt-m02", type, "reason"), QString("NodeStatusUnknown"));
    }
    KD_VERIFY2(waitFor([&] { return vmStoppedEvents().size() == 1; }, 60000),
               qPrintable(vmStoppedEvents().join("\n")));
    QCOMPARE(vmStoppedEvents(), QStringList{"vmt-m02 Warning: " + message});
    KD_VERIFY2(waitFor(
                   [&] {
                     return jsonpath("node/vmt-m02", "{.spec.taints[*].key}")
                         .contains("node.kubernetes.io/unreachable");
                   },
                   60000),
               qPrintable(kubectl({"describe", "node", "vmt-m02"}).out));
    QCOMPARE(readyCondition("vmt-m01", "Ready", "status"), QString("True"));
    qInfo("VM destroyed to node tainted: %.1f s", t.elapsed() / 1000.0);
    KD_VERIFY2(webReadyOn({"vmt-m01"}, onM02.size(), 120000), qPrintable(webPods().join(',')));
    QCOMPARE(webPodUids("vmt-m02"), onM02);
    qInfo("VM destroyed to its pods replaced and Ready on the other node: %.1f s",
          t.elapsed() / 1000.0);

    t.restart();
    CMD_OK(kdctl({"start"}, 400000));  // boots the stopped VM, leaves the running one alone
    QCOMPARE(readyCondition("vmt-m02", "Ready", "status"), QString("True"));
    KD_VERIFY2(waitFor([&] { return jsonpath("node/vmt-m02", "{.spec.taints}").isEmpty(); }, 60000),
               qPrintable(kubectl({"describe", "node", "vmt-m02"}).out));
    QCOMPARE(vmStoppedEvents().size(), 1);
    KD_VERIFY2(waitFor([&] { return webPodUids("vmt-m02").isEmpty(); }, 120000),
               qPrintable(webPods().join(',')));
    KD_VERIFY2(webReadyOn({"vmt-m01"}, 0, 30000), qPrintable(webPods().join(',')));
    qInfo("kdctl start to the pods left Terminating on the VM gone: %.1f s", t.elapsed() / 1000.0);
  }

  // `kdctl node add` boots a third VM, which goes Ready and, with the other two cordoned,
  // takes the Deployment's pods.
  void nodeAddBootsAThirdVm() {
    QElapsedTimer t;
    t.start();
    auto added = kdctl({"node", "add"}, 400000);
    CMD_OK(added);
    qInfo("kdctl node add (vm): %.1f s", t.elapsed() / 1000.0);
    KD_VERIFY2(added.out.contains("Successfully added m03 to vmt"), qPrintable(added.out));
    QCOMPARE(readyCondition("vmt-m03", "Ready", "status"), QString("True"));
    QCOMPARE(recordedNodes(), (QJsonArray{1, 2, 3}));
    QCOMPARE(profileDomains(),
             (QStringList{"kubedesk-vmt-m01", "kubedesk-vmt-m02", "kubedesk-vmt-m03"}));
    QVERIFY(QFile::exists(profileDir() + "/nodes/m03/disk.qcow2"));
    auto list = kdctl({"node", "list"});
    CMD_OK(list);
    KD_VERIFY2(list.out.contains("vmt-m03\t192.168.77.13\n"), qPrintable(list.out));

    t.restart();
    CMD_OK(kubectl({"cordon", "vmt-m01", "vmt-m02"}));
    const int created = webPodsCreated();
    CMD_OK(kubectl({"delete", "pods", "-l", "app=web", "--wait=false"}));
    KD_VERIFY2(webReadyOn({"vmt-m03"}, 0, 180000), qPrintable(webPods().join(',')));
    QCOMPARE(webPodsCreated() - created, 4);  // one replacement per deleted pod
    qInfo("the Deployment's pods moved to the new VM: %.1f s", t.elapsed() / 1000.0);
    CMD_OK(kubectl({"uncordon", "vmt-m01", "vmt-m02"}));
  }

  // `kdctl node delete` drains the VM (its pods come back on the other two), stops it and
  // removes its domain, disk, qemu log and Node.
  void nodeDeleteDrainsTheVmAndRemovesIt() {
    const QStringList onM03 = webPodUids("vmt-m03");
    QCOMPARE(onM03.size(), 4);
    QVERIFY(qemuRuns("kubedesk-vmt-m03"));
    QElapsedTimer t;
    t.start();
    auto deleted = kdctl({"node", "delete", "vmt-m03"}, 300000);
    CMD_OK(deleted);
    qInfo("kdctl node delete (vm): %.1f s", t.elapsed() / 1000.0);
    KD_VERIFY2(deleted.out.contains("node/vmt-m03 cordoned") &&
                   deleted.out.contains("evicting pod default/web-") &&
                   deleted.out.contains("node/vmt-m03 drained") &&
                   deleted.out.contains("Node m03 was successfully deleted."),
               qPrintable(deleted.out + deleted.err));
    KD_VERIFY2(!deleted.err.contains("unable to drain"), qPrintable(deleted.err));

    QCOMPARE(kubectl({"get", "nodes", "-o", "name"}).out, QString("node/vmt-m01\nnode/vmt-m02\n"));
    KD_VERIFY2(webReadyOn({"vmt-m01", "vmt-m02"}, 0, 180000), qPrintable(webPods().join(',')));
    for (const QString& uid :
         kubectl({"get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].metadata.uid}"})
             .out.split(' ')) {
      QVERIFY(!onM03.contains(uid));
    }
    QCOMPARE(profileDomains(), (QStringList{"kubedesk-vmt-m01", "kubedesk-vmt-m02"}));
    QVERIFY(!QDir(profileDir() + "/nodes/m03").exists());
    QVERIFY(!qemuRuns("kubedesk-vmt-m03"));
    auto libvirt = kd::vm::LibvirtConnection::open();
    KD_VERIFY2(libvirt.ok(), libvirt.status().message().c_str());
    QVERIFY(!std::filesystem::exists((*libvirt)->qemuLogPath("kubedesk-vmt-m03")));
    QCOMPARE(recordedNodes(), (QJsonArray{1, 2}));
  }

  void deleteLeavesNothing() {
    CMD_OK(kdctl({"delete"}, 180000));
    QVERIFY(!QDir(profileDir()).exists());
    QCOMPARE(profileDomains(), QStringList());
    KD_VERIFY2(!qemuRuns("kubedesk-vmt-"), "a qemu of the profile still runs");
  }

  void cleanupTestCase() {
    if (QDir(profileDir()).exists()) kdctl({"delete"}, 180000);
  }
};

// libvirt's event loop iterates GLib's default main context from its own thread; Qt's GLib
// dispatcher would own that context on the main thread and starve it (libvirt_connection.h).
int main(int argc, char** argv) {
  qputenv("QT_NO_GLIB", "1");
  QCoreApplication app(argc, argv);
  KdctlVmE2eTest test;
  return QTest::qExec(&test, argc, argv);
}
#include "kdctl_vm_e2e_test.moc"
