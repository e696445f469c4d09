// The VM node image (packaging/node-image) booted under plain qemu (TCG) against a real
// engine: the guest reaches the engine only through qemu's user-mode NIC (its gateway 10.0.2.2
// is the host's 127.0.0.1), verifies the engine's certificate through tls-server-name,
// registers its Node with its own token (under the node authorizer), runs a busybox pod under
// crun, and `kubectl logs` reaches the container through the agent's reverse tunnel. A clean
// power-off and a second boot from the same data disk keep the node's state. The root file
// system is the read-only squashfs disk (rootfs.img), which stage 1 (the small initramfs) finds
// by its serial number: the test attaches it first, so it is /dev/vda and the data disk /dev/vdb,
// the other way round from libvirt's order. Needs root, like every node test.

#include <unistd.h>

#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QMap>
#include <QProcess>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include "engine/client/api_client.h"
#include "engine/client/kubeconfig.h"
#include "engine/client/node_credentials.h"
#include "tests/e2e/node_agent_process.h"

namespace {

const QString kImageDir = QStringLiteral(KD_BINARY_DIR "/node-image");
const QString kNodeName = QStringLiteral("vm-m01");
constexpr int kBootTimeoutMs = 240'000;  // TCG on a loaded two-core machine

qint64 fileSize(const QString& path) {
  return QFileInfo(path).size();
}

// The Ready condition of `node` as the API server has it ("" while the Node does not exist).
QString nodeReady(kd::client::ApiClient& client, const QString& node) {
  auto r = client.request("GET", "/api/v1/nodes/" + node.toStdString());
  if (!r.ok() || !r->ok()) return {};
  auto object = kd::json::parse(r->body, nullptr, false);
  if (!object.is_object()) return {};
  for (const auto& c : object["status"].value("conditions", kd::json::array())) {
    if (c.value("type", "") == "Ready") return QString::fromStdString(c.value("status", ""));
  }
  return {};
}

// One qemu process booting the node image; stopped (SIGTERM, then SIGKILL) when destroyed.
class QemuGuest {
 public:
  // `name` names the serial console log in `dir`.
  QemuGuest(const QString& dir, const QString& name) : log_(dir + "/" + name + ".console") {}
  ~QemuGuest() { stop(); }

  // Boots with the fw_cfg entries named in `config` (key -> file), the read-only root disk as
  // /dev/vda and `disk` as the data disk (/dev/vdb), each with the serial the guest looks for.
  bool start(const QMap<QString, QString>& config, const QString& disk) {
    QStringList args = {"-machine", "q35", "-accel", "tcg", "-m", "512", "-smp", "1", "-nographic",
                        "-no-reboot", "-kernel", kImageDir + "/vmlinuz", "-initrd",
                        kImageDir + "/initramfs.img", "-append", "console=ttyS0 quiet panic=-1",
                        // user-mode networking only: no host forwards, nothing but slirp
                        "-nic", "user,model=virtio-net-pci",
                        // entropy for the guest's TLS, which TCG's CPU cannot give it
                        "-device", "virtio-rng-pci", "-drive",
                        "file=" + kImageDir + "/rootfs.img,if=none,id=root,format=raw,readonly=on",
                        "-device", "virtio-blk-pci,drive=root,serial=kubedesk-root", "-drive",
                        "file=" + disk + ",if=none,id=data,format=raw", "-device",
                        "virtio-blk-pci,drive=data,serial=kubedesk-data", "-serial", "file:" + log_,
                        "-monitor", "stdio"};
    for (auto it = config.begin(); it != config.end(); ++it) {
      args << "-fw_cfg"
           << "name=opt/kubedesk/" + it.key() + ",file=" + it.value();
    }
    process_.setProcessChannelMode(QProcess::MergedChannels);
    process_.start("qemu-system-x86_64", args);
    return process_.waitForStarted(10000);
  }

  // Presses the ACPI power button, as libvirt's shutdown does; true once the guest powered
  // itself off.
  bool powerDown(int ms) {
    process_.write("system_powerdown\n");
    return process_.waitForFinished(ms) && process_.exitStatus() == QProcess::NormalExit;
  }

  void stop() {
    if (process_.state() == QProcess::NotRunning) return;
    process_.terminate();
    if (!process_.waitForFinished(10000)) {
      process_.kill();
      process_.waitForFinished(5000);
    }
  }

  bool running() const { return process_.state() == QProcess::Running; }
  QString console() const {
    QFile f(log_);
    return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QString();
  }
  QString output() { return QString::fromUtf8(process_.readAll()); }

 private:
  QString log_;
  QProcess process_;
};

}  // namespace

class NodeImageTest : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    if (::geteuid() != 0) QSKIP("needs root (node tests run containers); run as root");
    KD_VERIFY2(QFileInfo::exists(kImageDir + "/vmlinuz") &&
                   QFileInfo::exists(kImageDir + "/initramfs.img") &&
                   QFileInfo::exists(kImageDir + "/rootfs.img"),
               "no node image: build target kd_node_image (packaging/install-deps.sh first)");
    KD_VERIFY2(!QStandardPaths::findExecutable("qemu-system-x86_64").isEmpty(),
               "qemu-system-x86_64 missing: run packaging/install-deps.sh");
  }

  // The goal is 60 MB. The kernel ships uncompressed because decompressing it costs
  // ~25 s per boot under TCG, trimmed of its zero tail (trim_kernel.py: 66 -> 35 MB). The
  // initramfs is stage 1 only; everything else is on the root disk.
  void imageSize() {
    const qint64 kernel = fileSize(kImageDir + "/vmlinuz");
    const qint64 initramfs = fileSize(kImageDir + "/initramfs.img");
    const qint64 rootfs = fileSize(kImageDir + "/rootfs.img");
    qInfo("node image: vmlinuz %.1f MB + initramfs.img %.1f MB + rootfs.img %.1f MB = %.1f MB",
          kernel / 1e6, initramfs / 1e6, rootfs / 1e6, (kernel + initramfs + rootfs) / 1e6);
    QVERIFY(kernel > 0 && rootfs > 0);
    KD_VERIFY2(initramfs > 0 && initramfs <= 3'000'000, "stage 1 outgrew 3 MB");
    KD_VERIFY2(kernel + initramfs + rootfs <= 60'000'000, "the node image outgrew 60 MB");
  }

  // What each file holds, as the tools that read them see it: the initramfs is stage 1 (init,
  // busybox and the modules that show the root disk, nothing of the node itself), the root disk
  // a squashfs with the node's init, agent and runtime.
  void layout() {
    const QString lz4 = QStandardPaths::findExecutable("lz4");
    const QString unsquashfs =
        QStandardPaths::findExecutable("unsquashfs", {"/usr/bin", "/usr/sbin"});
    KD_VERIFY2(!lz4.isEmpty() && !unsquashfs.isEmpty(),
               "lz4 or unsquashfs missing: run packaging/install-deps.sh");
    QProcess unpack;
    unpack.setStandardInputFile(kImageDir + "/initramfs.img");
    unpack.start(lz4, {"-dc"});
    QVERIFY(unpack.waitForFinished(30'000) && unpack.exitCode() == 0);
    QProcess cpio;
    cpio.start("cpio", {"-it", "--quiet"});
    cpio.write(unpack.readAllStandardOutput());
    cpio.closeWriteChannel();
    QVERIFY(cpio.waitForFinished(30'000) && cpio.exitCode() == 0);
    const QStringList stage1 = QString::fromUtf8(cpio.readAllStandardOutput()).split('\n');
    for (const char* file : {"init", "bin/busybox", "etc/modules", "lib/modules/virtio_blk.ko",
                             "lib/modules/squashfs.ko"}) {
      KD_VERIFY2(stage1.contains(file), file);
    }
    KD_VERIFY2(!stage1.contains("usr/local/bin/kubedesk-node"), "the agent is in the initramfs");

    QProcess list;
    list.start(unsquashfs, {"-lls", "-d", "", kImageDir + "/rootfs.img"});
    QVERIFY(list.waitForFinished(30'000) && list.exitCode() == 0);
    const QString root = QString::fromUtf8(list.readAllStandardOutput());
    for (const char* file : {" /sbin/init -> /bin/busybox", " /etc/inittab", " /etc/kubedesk/boot",
                             " /usr/local/bin/kubedesk-node", " /usr/local/bin/crun"}) {
      KD_VERIFY2(root.contains(file), qPrintable(QString(file) + " not in rootfs.img:\n" + root));
    }
    KD_VERIFY2(!root.contains(" /init\n"), "the root disk has a stage-1 /init");
  }

  void bootsRunsAPodAndRestartsWithItsDisk() {
    EngineProcess engine;
    KD_VERIFY2(engine.start(), qPrintable(engine.log()));
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    auto access = kd::client::loadClusterAccess(engine.kubeconfig().toStdString(), "");
    KD_VERIFY2(access.ok(), access.status().message().c_str());
    auto created = kd::client::ApiClient::create(*access);
    QVERIFY(created.ok());
    kd::client::ApiClient& client = **created;
    const QMap<QString, QString> config = {
        {"node-name", writeFile(dir, "node-name", kNodeName)},
        {"kubeconfig", guestKubeconfig(client, engine.url(), dir)}};
    QVERIFY(!config["kubeconfig"].isEmpty());
    const QString disk = dir.filePath("data.raw");
    QFile blank(disk);
    QVERIFY(blank.open(QIODevice::WriteOnly) && blank.resize(2LL << 30));  // sparse 2 GiB
    blank.close();

    {
      QemuGuest guest(dir.path(), "boot1");
      QElapsedTimer sinceStart;
      sinceStart.start();
      QVERIFY(guest.start(config, disk));
      KD_VERIFY2(waitReady(client, guest),
                 qPrintable("node not Ready; console:\n" + guest.console() + guest.output()));
      qInfo("qemu start to Node Ready (TCG): %.1f s", sinceStart.elapsed() / 1000.0);
      KD_VERIFY2(guest.console().contains("formatting the data disk"), qPrintable(guest.console()));
      // Stage 1 found the root disk by its serial (it is /dev/vda here) and switched to it.
      KD_VERIFY2(guest.console().contains("root file system: squashfs ro,"),
                 qPrintable(guest.console()));
      runHelloPod(engine, guest);
      if (QTest::currentTestFailed()) return;
      KD_VERIFY2(guest.powerDown(60'000),
                 qPrintable("no clean power-off; console:\n" + guest.console() + guest.output()));
    }

    // The same disk again: not formatted twice, the node comes back, and the pod's log, kept
    // on the disk, is still there.
    QemuGuest guest(dir.path(), "boot2");
    QElapsedTimer sinceStart;
    sinceStart.start();
    QVERIFY(guest.start(config, disk));
    KD_VERIFY2(waitReady(client, guest, true),
               qPrintable("node not Ready again; console:\n" + guest.console() + guest.output()));
    qInfo("restart: qemu start to Node Ready (TCG): %.1f s", sinceStart.elapsed() / 1000.0);
    KD_VERIFY2(!guest.console().contains("formatting"), qPrintable(guest.console()));
    const CommandResult logs = engine.kubectl({"logs", "hello"});
    CMD_OK(logs);
    QCOMPARE(logs.out, QString("hello\n"));
    guest.stop();
    QVERIFY(!guest.running());
  }

 private:
  // Waits for the guest's Node to be Ready. After a power-off the Node stays Ready until its
  // lease runs out, so `again` first waits for the new boot's agent to have registered.
  static bool waitReady(kd::client::ApiClient& client, QemuGuest& guest, bool again = false) {
    if (again) {
      const bool registered =
          waitFor([&] { return !guest.running() || guest.console().contains("registered"); },
                  kBootTimeoutMs);
      if (!registered) return false;
    }
    return waitFor([&] { return !guest.running() || nodeReady(client, kNodeName) == "True"; },
                   kBootTimeoutMs) &&
           guest.running();
  }

  static void runHelloPod(const EngineProcess& engine, QemuGuest& guest) {
    CMD_OK(engine.kubectl({"apply", "-f", "-"}, busyboxPod("hello", kNodeName, "Never",
                                                           {"sh", "-c", "echo hello; sleep 1"})));
    QElapsedTimer sincePod;
    sincePod.start();
    QString phase;
    const bool done = waitFor(
        [&] {
          phase = engine.kubectl({"get", "pod", "hello", "-o", "jsonpath={.status.phase}"}).out;
          return phase == "Succeeded" || phase == "Failed";
        },
        120'000);
    KD_VERIFY2(done && phase == "Succeeded",
               qPrintable("pod phase \"" + phase + "\"\n" +
                          engine.kubectl({"describe", "pod", "hello"}).out + "console:\n" +
                          guest.console()));
    qInfo("pod created to Succeeded: %.1f s", sincePod.elapsed() / 1000.0);
    const CommandResult logs = engine.kubectl({"logs", "hello"});
    CMD_OK(logs);
    QCOMPARE(logs.out, QString("hello\n"));
  }

  static QString writeFile(const QTemporaryDir& dir, const QString& name, const QString& text) {
    QFile f(dir.filePath(name));
    if (!f.open(QIODevice::WriteOnly) || f.write(text.toUtf8()) != text.toUtf8().size()) return {};
    return f.fileName();
  }

  // The node's own credentials (its bearer token, minted by the engine), aimed at the engine
  // as the guest sees it: the user-mode NIC's gateway maps to the host's loopback, and the
  // certificate names 127.0.0.1.
  static QString guestKubeconfig(kd::client::ApiClient& admin, const QString& engineUrl,
                                 const QTemporaryDir& dir) {
    auto access = kd::client::nodeAccess(admin, kNodeName.toStdString());
    const auto port = QRegularExpression(":(\\d+)").match(engineUrl).captured(1);
    if (!access.ok() || port.isEmpty()) return {};
    access->server = "https://10.0.2.2:" + port.toStdString();
    access->tlsServerName = "127.0.0.1";
    const QString file = dir.filePath("guest-kubeconfig");
    if (!kd::client::mergeIntoKubeconfig(file.toStdString(), *access, true).isOk()) return {};
    return file;
  }
};

QTEST_GUILESS_MAIN(NodeImageTest)
#include "node_image_test.moc"
