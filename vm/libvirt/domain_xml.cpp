#include "vm/libvirt/domain_xml.h"

#include <sstream>

namespace kd::vm {
namespace {

// 40 MiB: an idle node's qemu holds the whole cache, and 64 cost 26 MB of RSS per VM for no
// measurable start-up time; 32 made three nodes start 2-6 s slower (docs/benchmarks.md,
// session 15).
constexpr int kTcgCacheMiB = 40;

void writeOs(std::ostream& x, const DomainSpec& s) {
  x << "  <os>\n"
    << "    <type arch='x86_64' machine='pc'>hvm</type>\n"
    << "    <kernel>" << xmlEscape(s.kernel.string()) << "</kernel>\n";
  if (!s.initrd.empty()) x << "    <initrd>" << xmlEscape(s.initrd.string()) << "</initrd>\n";
  x << "    <cmdline>" << xmlEscape(s.cmdline) << "</cmdline>\n"
    << "  </os>\n";
}

void writeFwCfg(std::ostream& x, const DomainSpec& s) {
  if (s.fwCfg.empty()) return;
  x << "  <sysinfo type='fwcfg'>\n";
  for (const auto& e : s.fwCfg) {
    x << "    <entry name='" << xmlEscape(e.name) << "' file='" << xmlEscape(e.file.string())
      << "'/>\n";
  }
  x << "  </sysinfo>\n";
}

// A virtio disk the guest finds by `serial` (/sys/block/vdX/serial), whatever its vdX.
void writeDisk(std::ostream& x, const std::filesystem::path& file, std::string_view driver,
               std::string_view target, std::string_view serial, bool readOnly) {
  x << "    <disk type='file' device='disk'>\n"
    << "      <driver name='qemu' " << driver << "/>\n"
    << "      <source file='" << xmlEscape(file.string()) << "'/>\n"
    << "      <target dev='" << target << "' bus='virtio'/>\n"
    << "      <serial>" << serial << "</serial>\n"
    << (readOnly ? "      <readonly/>\n" : "") << "    </disk>\n";
}

void writeDevices(std::ostream& x, const DomainSpec& s) {
  x << "  <devices>\n";
  if (!s.dataDisk.empty()) {
    writeDisk(x, s.dataDisk, "type='qcow2' cache='writeback'", "vda", "kubedesk-data", false);
  }
  // Read-only, so every VM of every profile shares the one image file (no write lock).
  if (!s.rootDisk.empty()) writeDisk(x, s.rootDisk, "type='raw'", "vdb", "kubedesk-root", true);
  x << "    <serial type='file'>\n"
    << "      <source path='" << xmlEscape(s.consoleLog.string()) << "' append='on'/>\n"
    << "    </serial>\n";
  if (s.userNic) {
    x << "    <interface type='user'>\n"
      << "      <model type='virtio'/>\n"
      << "    </interface>\n";
  }
  if (s.switchPort != 0) {
    x << "    <interface type='client'>\n";
    if (!s.clusterMac.empty()) x << "      <mac address='" << xmlEscape(s.clusterMac) << "'/>\n";
    x << "      <source address='127.0.0.1' port='" << s.switchPort << "'/>\n"
      << "      <model type='virtio'/>\n"
      << "    </interface>\n";
  }
  // Under TCG the guest kernel's entropy pool never fills without a hardware source: mke2fs and
  // the agent's TLS would block.
  x << "    <rng model='virtio'>\n"
    << "      <backend model='random'>/dev/urandom</backend>\n"
    << "    </rng>\n";
  // Free page reporting: the guest hands back memory it freed (the initramfs and the initrd
  // after stage 1, exited containers) and qemu drops those pages from its RSS.
  x << "    <memballoon model='virtio' freePageReporting='on'/>\n"
    << "  </devices>\n";
}

}  // namespace

std::string xmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string domainXml(const DomainSpec& s) {
  std::ostringstream x;
  x << "<domain type='" << (s.kvm ? "kvm" : "qemu") << "'>\n"
    << "  <name>" << xmlEscape(s.name) << "</name>\n";
  if (!s.uuid.empty()) x << "  <uuid>" << xmlEscape(s.uuid) << "</uuid>\n";
  x << "  <memory unit='MiB'>" << s.memoryMiB << "</memory>\n"
    << "  <vcpu>" << s.vcpus << "</vcpu>\n";
  writeOs(x, s);
  writeFwCfg(x, s);
  x << "  <features><acpi/><apic/>";
  // TCG's translated-code cache is 1 GiB by default and fills with what a node runs; a node
  // needs far less, and the host memory it costs is the point of a small VM.
  if (!s.kvm) x << "<tcg><tb-cache unit='MiB'>" << kTcgCacheMiB << "</tb-cache></tcg>";
  x << "</features>\n";
  if (s.kvm) x << "  <cpu mode='host-passthrough'/>\n";
  x << "  <on_poweroff>destroy</on_poweroff>\n"
    << "  <on_reboot>" << (s.rebootRestarts ? "restart" : "destroy") << "</on_reboot>\n"
    << "  <on_crash>destroy</on_crash>\n";
  writeDevices(x, s);
  if (s.runAs) {
    x << "  <seclabel type='static' model='dac' relabel='no'>\n"
      << "    <label>+" << s.runAs->first << ":+" << s.runAs->second << "</label>\n"
      << "  </seclabel>\n";
  }
  x << "</domain>\n";
  return x.str();
}

}  // namespace kd::vm
