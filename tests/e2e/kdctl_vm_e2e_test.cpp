// End to end: `kdctl start --driver=vm` on a throwaway profile boots two VM nodes (libvirt,
// TCG here) from the node image, and the real kubectl runs pods on them: a pod on one node
// fetches a page from a pod on the other over the cluster switch, and `kubectl exec` reaches
// into a VM. Then stop (the VMs shut down, disks stay), start again (same nodes come back
// Ready), a VM that dies unasked (its node NotReady at once, saying why; kdctl start brings it
// back), and delete (no domain, no file left). Needs root, libvirt and qemu (install-deps.sh).

#include <unistd.h>

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

#define CMD_OK(result)                                                                       \
  QVERIFY2((result).exitCode == 0, qPrintable("exit " + QString::number((result).exitCode) + \
                                              "\n" + (result).err + (result).out))

QByteArray pod(const QString& name, const QString& node, const QString& command) {
  return QString(
             "apiVersion: v1\nkind: Pod\nmetadata: {name: %1, labels: {app: %1}}\nspec:\n"
             "  nodeName: %2\n  restartPolicy: Never\n  terminationGracePeriodSeconds: 1\n"
             "  containers:\n  - name: main\n    image: busybox\n"
             "    command: [sh, -c, \"%3\"]\n")
      .arg(name, node, command)
      .toUtf8();
}

}  // namespace

class KdctlVmE2eTest : public QObject {
  Q_OBJECT
  QTemporaryDir home_;
  QProcessEnvironment env_ = QProcessEnvironment::systemEnvironment();

  CommandResult kdctl(const QStringList& args, int timeoutMs = 90000) {
    return runWithEnvironment(kKdctl, args + QStringList{"--profile", kProfile}, env_, timeoutMs);
  }
  CommandResult kubectl(const QStringList& args, const QByteArray& input = {}) {
    return runWithEnvironment("/usr/bin/kubectl", args, env_, 60000, input);
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
  QString readyCondition(const QString& node, const QString& type, const QString& field) {
    return jsonpath("node/" + node,
                    "{.status.conditions[?(@.type==\"" + type + "\")]." + field + "}");
  }
  // "<node> <type>: <message>" of every NodeVMStopped event.
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
    QVERIFY2(r.out.contains("Booting 2 VM nodes"), qPrintable(r.out));
    auto nodes = kubectl({"get", "nodes", "-o", "wide"});
    CMD_OK(nodes);
    for (const char* line : {"vmt-m01", "vmt-m02"}) {
      QVERIFY2(nodes.out.contains(QRegularExpression(QString(line) + "\\s+Ready")),
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
    QVERIFY2(
        waitFor([&] { return jsonpath("pod/server", "{.status.phase}") == "Running"; }, 120000),
        qPrintable(kubectl({"describe", "pod", "server"}).out));
    const QString ip = jsonpath("pod/server", "{.status.podIP}");
    QVERIFY2(!ip.isEmpty(), "the server pod has no IP");
    CMD_OK(kubectl({"apply", "-f", "-"}, pod("client", "vmt-m01",
                                             "for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://" +
                                                 ip + ":8080/ && exit 0; sleep 1; done; exit 1")));
    QVERIFY2(waitFor(
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
    QVERIFY2(!exec.out.trimmed().isEmpty(), qPrintable(exec.err));
  }

  void stopKeepsTheDisksAndStartBringsTheNodesBack() {
    CMD_OK(kubectl({"delete", "pod", "client", "server", "--wait=true"}));
    CMD_OK(kdctl({"stop"}, 120000));
    QVERIFY(QFile::exists(profileDir() + "/nodes/m01/disk.qcow2"));
    auto again = kdctl({"start"}, 400000);  // the profile remembers its driver
    CMD_OK(again);
    QVERIFY2(again.out.contains("Booting 2 VM nodes"), qPrintable(again.out));
    auto nodes = kubectl({"get", "nodes"});
    QVERIFY2(nodes.out.count(QRegularExpression("\\sReady\\s")) == 2, qPrintable(nodes.out));
  }

  // As `virsh destroy` would: the node goes NotReady at once (not after the 40 s lease grace
  // period), its conditions and a Warning event name the VM, the node lifecycle controller
  // taints it; kdctl start boots the VM again and the node comes back Ready.
  void aVmThatDiesMakesItsNodeNotReadyAtOnce() {
    // kdctl stop and start (above) stopped the VMs on purpose: no warning came of it.
    QCOMPARE(vmStoppedEvents(), QStringList());
    auto libvirt = kd::vm::LibvirtConnection::open();
    QVERIFY2(libvirt.ok(), libvirt.status().message().c_str());
    const kd::Status destroyed = (*libvirt)->destroy("kubedesk-vmt-m02");
    QVERIFY2(destroyed.isOk(), destroyed.message().c_str());
    const QString message = "VM kubedesk-vmt-m02 stopped: Stopped (Destroyed)";
    QVERIFY2(
        waitFor([&] { return readyCondition("vmt-m02", "Ready", "message") == message; }, 120000),
        qPrintable(kubectl({"describe", "node", "vmt-m02"}).out));
    for (const char* type : {"Ready", "MemoryPressure", "DiskPressure", "PIDPressure"}) {
      QCOMPARE(readyCondition("vmt-m02", type, "status"), QString("Unknown"));
      QCOMPARE(readyCondition("vmt-m02", type, "reason"), QString("NodeStatusUnknown"));
    }
    QVERIFY2(waitFor([&] { return vmStoppedEvents().size() == 1; }, 60000),
             qPrintable(vmStoppedEvents().join("\n")));
    QCOMPARE(vmStoppedEvents(), QStringList{"vmt-m02 Warning: " + message});
    QVERIFY2(waitFor(
                 [&] {
                   return jsonpath("node/vmt-m02", "{.spec.taints[*].key}")
                       .contains("node.kubernetes.io/unreachable");
                 },
                 60000),
             qPrintable(kubectl({"describe", "node", "vmt-m02"}).out));
    QCOMPARE(readyCondition("vmt-m01", "Ready", "status"), QString("True"));

    CMD_OK(kdctl({"start"}, 400000));  // boots the stopped VM, leaves the running one alone
    QCOMPARE(readyCondition("vmt-m02", "Ready", "status"), QString("True"));
    QVERIFY2(waitFor([&] { return jsonpath("node/vmt-m02", "{.spec.taints}").isEmpty(); }, 60000),
             qPrintable(kubectl({"describe", "node", "vmt-m02"}).out));
    QCOMPARE(vmStoppedEvents().size(), 1);
  }

  void deleteLeavesNothing() {
    CMD_OK(kdctl({"delete"}, 180000));
    QVERIFY(!QDir(profileDir()).exists());
    QProcess ps;
    ps.start("pgrep", {"-f", "guest=kubedesk-vmt-"});
    ps.waitForFinished(5000);
    QVERIFY2(ps.readAllStandardOutput().trimmed().isEmpty(), "a qemu of the profile still runs");
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
