#include "vm/libvirt/kvm_probe.h"

#include <elf.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include "vm/libvirt/domain_xml.h"

namespace kd::vm {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kMarker = "KUBEDESK-KVM-PROBE-OK\n";
constexpr std::uint64_t kLoadAddress = 0x400000;

// write(1, message, length); reboot(MAGIC1, MAGIC2, LINUX_REBOOT_CMD_POWER_OFF); spin.
// The message follows the code; `length` is patched in at kLengthAt.
constexpr std::uint8_t kInitCode[] = {
    0xb8, 0x01, 0x00, 0x00, 0x00,              // mov eax, 1 (write)
    0xbf, 0x01, 0x00, 0x00, 0x00,              // mov edi, 1
    0x48, 0x8d, 0x35, 0x1f, 0x00, 0x00, 0x00,  // lea rsi, [rip + 0x1f] (the message)
    0xba, 0x00, 0x00, 0x00, 0x00,              // mov edx, length
    0x0f, 0x05,                                // syscall
    0xb8, 0xa9, 0x00, 0x00, 0x00,              // mov eax, 169 (reboot)
    0xbf, 0xad, 0xde, 0xe1, 0xfe,              // mov edi, 0xfee1dead
    0xbe, 0x69, 0x19, 0x12, 0x28,              // mov esi, 0x28121969
    0xba, 0xdc, 0xfe, 0x21, 0x43,              // mov edx, 0x4321fedc (power off)
    0x0f, 0x05,                                // syscall
    0xeb, 0xfe,                                // jmp .
};
constexpr std::size_t kLengthAt = 18;

template <class T>
void append(std::string& out, const T& value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

std::string probeProgram(const std::string& marker) {
  std::string code(reinterpret_cast<const char*>(kInitCode), sizeof kInitCode);
  const std::uint32_t length = marker.size();
  std::memcpy(code.data() + kLengthAt, &length, sizeof length);
  code += marker;

  Elf64_Ehdr header{};
  std::memcpy(header.e_ident, ELFMAG, SELFMAG);
  header.e_ident[EI_CLASS] = ELFCLASS64;
  header.e_ident[EI_DATA] = ELFDATA2LSB;
  header.e_ident[EI_VERSION] = EV_CURRENT;
  header.e_type = ET_EXEC;
  header.e_machine = EM_X86_64;
  header.e_version = EV_CURRENT;
  header.e_phoff = sizeof(Elf64_Ehdr);
  header.e_ehsize = sizeof(Elf64_Ehdr);
  header.e_phentsize = sizeof(Elf64_Phdr);
  header.e_phnum = 1;
  const std::uint64_t codeOffset = sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr);
  header.e_entry = kLoadAddress + codeOffset;

  Elf64_Phdr load{};
  load.p_type = PT_LOAD;
  load.p_flags = PF_R | PF_X;
  load.p_vaddr = load.p_paddr = kLoadAddress;
  load.p_filesz = load.p_memsz = codeOffset + code.size();
  load.p_align = 0x1000;

  std::string elf;
  append(elf, header);
  append(elf, load);
  return elf + code;
}

// One newc cpio member (header, name, data, each padded to 4 bytes).
void cpioMember(std::string& out, const std::string& name, unsigned mode, const std::string& data,
                unsigned rdevMajor = 0, unsigned rdevMinor = 0) {
  static unsigned inode = 0;
  char header[111];
  std::snprintf(header, sizeof header, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
                ++inode, mode, 0u, 0u, 1u, 0u, unsigned(data.size()), 0u, 0u, rdevMajor, rdevMinor,
                unsigned(name.size() + 1), 0u);
  out.append(header, 110);
  out += name;
  out += '\0';
  out.append((4 - out.size() % 4) % 4, '\0');
  out += data;
  out.append((4 - out.size() % 4) % 4, '\0');
}

bool consoleShows(const fs::path& log, const std::string& marker) {
  std::ifstream in(log, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  return text.find(marker) != std::string::npos;
}

KvmVerdict runProbe(LibvirtConnection& libvirt, const fs::path& kernel, const fs::path& workDir,
                    std::chrono::milliseconds deadline) {
  const auto started = Clock::now();
  auto verdict = [&](bool kvm, std::string message) {
    return KvmVerdict{
        kvm, std::move(message),
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started)};
  };
  if (::access("/dev/kvm", R_OK | W_OK) != 0) {
    return verdict(false, "no usable /dev/kvm: VMs run under TCG (software emulation, slower)");
  }
  std::error_code ec;
  fs::create_directories(workDir, ec);
  DomainSpec spec;
  spec.name = "kubedesk-kvm-probe-" + std::to_string(::getpid());
  spec.kvm = true;
  spec.memoryMiB = 256;
  spec.kernel = kernel;
  spec.initrd = workDir / "kvm-probe.cpio";
  spec.cmdline = "console=ttyS0 quiet panic=-1";
  spec.consoleLog = workDir / "kvm-probe.log";
  spec.userNic = false;
  spec.rebootRestarts = false;
  if (libvirt.privileged()) spec.runAs = std::make_pair(::geteuid(), ::getegid());
  std::ofstream(spec.initrd, std::ios::binary) << kvmProbeInitramfs(kMarker);
  fs::remove(spec.consoleLog, ec);

  if (Status s = libvirt.createTransient(domainXml(spec)); !s) {
    return verdict(false, "KVM cannot start a guest (" + s.message() + "): VMs run under TCG");
  }
  bool seen = false;
  while (!(seen = consoleShows(spec.consoleLog, kMarker)) && Clock::now() - started < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  libvirt.destroy(spec.name);
  fs::remove(libvirt.qemuLogPath(spec.name), ec);
  if (seen) return verdict(true, "KVM works: a probe guest booted to userspace");
  return verdict(false, "/dev/kvm exists but a KVM probe guest showed no sign of life within " +
                            std::to_string(deadline.count() / 1000) + " s: VMs run under TCG");
}

}  // namespace

std::string kvmProbeInitramfs(const std::string& marker) {
  std::string cpio;
  cpioMember(cpio, "dev", 0040755, "");
  cpioMember(cpio, "dev/console", 0020600, "", 5, 1);
  cpioMember(cpio, "init", 0100755, probeProgram(marker));
  cpioMember(cpio, "TRAILER!!!", 0, "");
  return cpio;
}

KvmVerdict probeKvm(LibvirtConnection& libvirt, const fs::path& kernel, const fs::path& workDir,
                    std::chrono::milliseconds deadline) {
  static std::mutex mutex;
  static std::optional<KvmVerdict> cached;
  std::lock_guard lock(mutex);
  if (!cached) cached = runProbe(libvirt, kernel, workDir, deadline);
  return *cached;
}

}  // namespace kd::vm
