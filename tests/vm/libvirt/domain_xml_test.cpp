// The domain XML builder: every value escaped, every device the driver relies on present, and
// the optional parts (disks, NICs, UUID, DAC label) only when asked for.

#include "vm/libvirt/domain_xml.h"

#include <QtTest>

namespace {

kd::vm::DomainSpec fullSpec() {
  kd::vm::DomainSpec spec;
  spec.name = "kubedesk-p-m01";
  spec.vcpus = 2;
  spec.memoryMiB = 768;
  spec.kernel = "/k/vmlinuz";
  spec.initrd = "/k/initramfs.img";
  spec.cmdline = "console=ttyS0 quiet";
  spec.rootDisk = "/k/rootfs.img";
  spec.dataDisk = "/p/nodes/m01/disk.qcow2";
  spec.consoleLog = "/p/nodes/m01/console.log";
  spec.switchPort = 40123;
  spec.clusterMac = "52:54:00:6b:64:01";
  spec.fwCfg = {{"opt/kubedesk/node-name", "/p/nodes/m01/fwcfg/node-name"}};
  spec.runAs = std::make_pair(uid_t(0), gid_t(0));
  return spec;
}

bool contains(const std::string& xml, const std::string& part) {
  return xml.find(part) != std::string::npos;
}

}  // namespace

class DomainXmlTest : public QObject {
  Q_OBJECT

 private slots:
  void escapesEveryValue_data() {
    QTest::addColumn<QString>("raw");
    QTest::addColumn<QString>("escaped");
    QTest::newRow("plain") << "abc"
                           << "abc";
    QTest::newRow("markup") << "<a>&b"
                            << "&lt;a&gt;&amp;b";
    QTest::newRow("quotes") << "it's \"x\""
                            << "it&apos;s &quot;x&quot;";
  }
  void escapesEveryValue() {
    QFETCH(QString, raw);
    QFETCH(QString, escaped);
    QCOMPARE(QString::fromStdString(kd::vm::xmlEscape(raw.toStdString())), escaped);
    // A value cannot break out of its attribute or element.
    kd::vm::DomainSpec spec = fullSpec();
    spec.consoleLog = "/p/" + raw.toStdString();
    spec.cmdline = raw.toStdString();
    const std::string xml = kd::vm::domainXml(spec);
    QVERIFY(contains(xml, "<source path='/p/" + escaped.toStdString() + "' append='on'/>"));
    QVERIFY(contains(xml, "<cmdline>" + escaped.toStdString() + "</cmdline>"));
  }

  void describesANode_data() {
    QTest::addColumn<QString>("part");
    QTest::newRow("TCG") << "<domain type='qemu'>";
    QTest::newRow("size") << "<memory unit='MiB'>768</memory>\n  <vcpu>2</vcpu>";
    QTest::newRow("kernel") << "<kernel>/k/vmlinuz</kernel>";
    QTest::newRow("initrd") << "<initrd>/k/initramfs.img</initrd>";
    QTest::newRow("fw_cfg") << "<sysinfo type='fwcfg'>\n    <entry name='opt/kubedesk/node-name' "
                               "file='/p/nodes/m01/fwcfg/node-name'/>";
    QTest::newRow("ACPI for graceful shutdown") << "<acpi/>";
    QTest::newRow("data disk, named by its serial")
        << "<driver name='qemu' type='qcow2' cache='writeback'/>\n"
           "      <source file='/p/nodes/m01/disk.qcow2'/>\n"
           "      <target dev='vda' bus='virtio'/>\n"
           "      <serial>kubedesk-data</serial>\n"
           "    </disk>";
    // Shared by every VM: raw and read-only, found by stage 1 through its serial.
    QTest::newRow("read-only root disk") << "<driver name='qemu' type='raw'/>\n"
                                            "      <source file='/k/rootfs.img'/>\n"
                                            "      <target dev='vdb' bus='virtio'/>\n"
                                            "      <serial>kubedesk-root</serial>\n"
                                            "      <readonly/>\n"
                                            "    </disk>";
    QTest::newRow("user NIC") << "<interface type='user'>";
    QTest::newRow("cluster NIC") << "<mac address='52:54:00:6b:64:01'/>\n      <source "
                                    "address='127.0.0.1' port='40123'/>";
    QTest::newRow("runs as the caller") << "<label>+0:+0</label>";
    QTest::newRow("reboots in place") << "<on_reboot>restart</on_reboot>";
    QTest::newRow("small TCG translation cache") << "<tcg><tb-cache unit='MiB'>40</tb-cache></tcg>";
    QTest::newRow("hands freed memory back")
        << "<memballoon model='virtio' freePageReporting='on'/>";
  }
  void describesANode() {
    QFETCH(QString, part);
    const std::string xml = kd::vm::domainXml(fullSpec());
    QVERIFY2(contains(xml, part.toStdString()), xml.c_str());
  }

  void leavesOutWhatIsNotAskedFor() {
    kd::vm::DomainSpec spec = fullSpec();
    spec.kvm = true;
    spec.uuid = "4c0e3b9a-0000-4000-8000-000000000001";
    spec.dataDisk.clear();
    spec.rootDisk.clear();
    spec.userNic = false;
    spec.switchPort = 0;
    spec.fwCfg.clear();
    spec.runAs.reset();
    spec.rebootRestarts = false;
    const std::string xml = kd::vm::domainXml(spec);
    QVERIFY(contains(xml, "<domain type='kvm'>"));
    QVERIFY(contains(xml, "<uuid>4c0e3b9a-0000-4000-8000-000000000001</uuid>"));
    QVERIFY(contains(xml, "<on_reboot>destroy</on_reboot>"));
    for (const char* absent : {"<disk", "<interface", "<sysinfo", "<seclabel", "<tcg>"}) {
      QVERIFY2(!contains(xml, absent), absent);
    }
  }
};

QTEST_GUILESS_MAIN(DomainXmlTest)
#include "domain_xml_test.moc"
