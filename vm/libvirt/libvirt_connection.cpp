#include "vm/libvirt/libvirt_connection.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "engine/node/process.h"

namespace kd::vm {
namespace {

namespace fs = std::filesystem;

// Every failure message comes from libvirt itself, prefixed with what we were doing.
Status libvirtError(const std::string& what) {
  const char* message = virGetLastErrorMessage();
  return Status::internal(what + ": " + (message ? message : "unknown libvirt error"));
}

// libvirt prints every error to stderr by default; ours travel as Status values instead.
void quietErrors(void*, virErrorPtr) {}

struct DomainDeleter {
  void operator()(virDomainPtr d) const { virDomainFree(d); }
};
using Domain = std::unique_ptr<virDomain, DomainDeleter>;

bool socketAnswers(const char* path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

std::string findDaemon(const std::string& name) {
  for (const char* dir : {"/usr/sbin/", "/usr/local/sbin/", "/sbin/"}) {
    if (::access((dir + name).c_str(), X_OK) == 0) return dir + name;
  }
  return node::findInPath(name);
}

// The last error libvirtd logged, which says why it did not come up.
std::string lastDaemonError() {
  std::ifstream log("/var/log/libvirt/libvirtd.log");
  std::string last;
  for (std::string line; std::getline(log, line);) {
    if (const auto at = line.find(" error : "); at != std::string::npos) last = line.substr(at + 9);
  }
  return last;
}

constexpr const char* kDaemonSocket = "/run/libvirt/libvirt-sock";
constexpr const char* kLogSocket = "/run/libvirt/virtlogd-sock";
constexpr const char* kDaemonPidFile = "/run/libvirtd.pid";  // libvirtd -d writes it
// KubeDesk's own marks, gone with the next boot: the pid of the libvirtd it started, and that
// KVM guests hang here.
const fs::path kMarks = "/run/kubedesk";
const fs::path kStartedDaemon = kMarks / "libvirtd.pid";
const fs::path kKvmHangs = kMarks / "kvm-hangs";

std::string readFirstLine(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

// Starts `name -d` unless `socket` already answers, then waits for it. With `hideKvm`, in a
// private mount namespace where /dev/kvm is /dev/null (hideHangingKvmFromLibvirtd).
Status startDaemon(const std::string& name, const char* socket, bool hideKvm = false) {
  if (socketAnswers(socket)) return {};
  const std::string binary = findDaemon(name);
  if (binary.empty()) {
    return Status::notFound(name +
                            " not found: install libvirt (apt-get install libvirt-daemon "
                            "libvirt-daemon-driver-qemu qemu-system-x86)");
  }
  auto ran =
      hideKvm
          ? node::runProcess({"unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                              "mount --bind /dev/null /dev/kvm && exec \"$0\" -d", binary})
          : node::runProcess({binary, "-d"});
  if (!ran.ok()) return ran.status();
  for (int i = 0; i < 100 && !socketAnswers(socket); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (socketAnswers(socket)) {
    if (name == "libvirtd") {
      std::error_code ec;
      fs::create_directories(kMarks, ec);
      std::ofstream(kStartedDaemon) << readFirstLine(kDaemonPidFile) << "\n";
    }
    return {};
  }
  std::string why = name == "libvirtd" ? lastDaemonError() : ran->output;
  std::string fix = "see /var/log/libvirt/" + name + ".log";
  if (why.find("libvirt-qemu") != std::string::npos) {
    fix =
        "the QEMU driver runs guests as user and group libvirt-qemu: install "
        "libvirt-daemon-system, which creates them";
  }
  return Status::serviceUnavailable(name + " did not start (" + why + "): " + fix);
}

bool rootSpeaksToSystemDaemon(const std::string& uri) {
  return uri == kLibvirtSystemUri || (uri == kLibvirtSessionUri && ::geteuid() == 0);
}

// libvirt's default event loop, registered once and run on a thread of its own for the life of
// the process (libvirt offers no way to unregister it).
Status ensureEventLoop() {
  static std::once_flag once;
  static Status result;
  std::call_once(once, [] {
    virSetErrorFunc(nullptr, quietErrors);
    if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0) {
      result = libvirtError("cannot start the libvirt event loop");
      return;
    }
    std::thread([] {
      for (;;) {
        if (virEventRunDefaultImpl() < 0) std::this_thread::sleep_for(std::chrono::seconds(1));
      }
    }).detach();
  });
  return result;
}

struct EventNames {
  int type;
  const char* name;
  std::vector<const char*> details;  // indexed by the detail enum of this type
};

const std::vector<EventNames>& eventNames() {
  static const std::vector<EventNames> names = {
      {VIR_DOMAIN_EVENT_DEFINED, "Defined", {"Added", "Updated", "Renamed", "FromSnapshot"}},
      {VIR_DOMAIN_EVENT_UNDEFINED, "Undefined", {"Removed", "Renamed"}},
      {VIR_DOMAIN_EVENT_STARTED,
       "Started",
       {"Booted", "Migrated", "Restored", "FromSnapshot", "Wakeup"}},
      {VIR_DOMAIN_EVENT_SUSPENDED, "Suspended", {"Paused", "Migrated", "IOError", "Watchdog"}},
      {VIR_DOMAIN_EVENT_RESUMED, "Resumed", {"Unpaused", "Migrated", "FromSnapshot"}},
      {VIR_DOMAIN_EVENT_STOPPED,
       "Stopped",
       {"Shutdown", "Destroyed", "Crashed", "Migrated", "Saved", "Failed", "FromSnapshot"}},
      {VIR_DOMAIN_EVENT_SHUTDOWN, "Shutdown", {"Finished", "Guest", "Host"}},
      {VIR_DOMAIN_EVENT_PMSUSPENDED, "PMSuspended", {"Memory", "Disk"}},
      {VIR_DOMAIN_EVENT_CRASHED, "Crashed", {"Panicked", "CrashLoaded"}},
  };
  return names;
}

DomainState stateOf(int state) {
  switch (state) {
    case VIR_DOMAIN_RUNNING:
      return DomainState::kRunning;
    case VIR_DOMAIN_PAUSED:
      return DomainState::kPaused;
    case VIR_DOMAIN_SHUTDOWN:
      return DomainState::kShuttingDown;
    case VIR_DOMAIN_SHUTOFF:
      return DomainState::kShutoff;
    case VIR_DOMAIN_CRASHED:
      return DomainState::kCrashed;
    default:
      return DomainState::kOther;
  }
}

}  // namespace

std::string DomainEvent::describe() const {
  for (const auto& e : eventNames()) {
    if (e.type != type) continue;
    const bool known = detail >= 0 && std::size_t(detail) < e.details.size();
    return std::string(e.name) + " (" + (known ? e.details[detail] : std::to_string(detail)) + ")";
  }
  return "event " + std::to_string(type) + " (" + std::to_string(detail) + ")";
}

bool DomainEvent::stopped() const {
  return type == VIR_DOMAIN_EVENT_STOPPED || type == VIR_DOMAIN_EVENT_CRASHED;
}

const char* domainStateName(DomainState state) {
  static const char* const names[] = {"missing",  "running", "paused", "shutting down",
                                      "shut off", "crashed", "other"};
  return names[static_cast<int>(state)];
}

Status ensureLibvirtDaemons(const std::string& uri) {
  if (!rootSpeaksToSystemDaemon(uri)) return {};  // a user's session daemon autospawns
  if (::geteuid() != 0) {
    if (socketAnswers(kDaemonSocket)) return {};
    return Status::serviceUnavailable(
        "libvirtd is not running: start it as root (sudo libvirtd "
        "-d, or systemctl start libvirtd), or use " +
        std::string(kLibvirtSessionUri));
  }
  // libvirtd needs virtlogd for every guest's console and log, so both are checked.
  std::error_code ec;
  fs::create_directories("/var/log/libvirt", ec);  // made by libvirt-daemon-system, if installed
  if (Status s = startDaemon("virtlogd", kLogSocket); !s) return s;
  return startDaemon("libvirtd", kDaemonSocket, fs::exists(kKvmHangs) && fs::exists("/dev/kvm"));
}

Result<bool> hideHangingKvmFromLibvirtd() {
  if (::geteuid() != 0 || !fs::exists("/dev/kvm")) return false;
  std::error_code ec;
  fs::create_directories(kMarks, ec);
  std::ofstream(kKvmHangs) << "KVM guests hang here: libvirtd runs with /dev/kvm hidden\n";
  const std::string pid = readFirstLine(kDaemonPidFile);
  if (pid.empty() || pid != readFirstLine(kStartedDaemon) || !socketAnswers(kDaemonSocket)) {
    return false;  // not ours (or not running): left as it is
  }
  // Already hidden when its /dev/kvm is not the host's.
  struct stat host = {};
  struct stat its = {};
  if (::stat("/dev/kvm", &host) == 0 &&
      ::stat(("/proc/" + pid + "/root/dev/kvm").c_str(), &its) == 0 &&
      its.st_rdev != host.st_rdev) {
    return false;
  }
  // libvirtd that has probed a hanging KVM may ignore SIGTERM (seen here: 35 s and still
  // running, every thread idle), so after 5 s it is killed; its domains keep running either way.
  const pid_t daemon = std::stoi(pid);
  auto gone = [&] {
    const std::string stat = readFirstLine("/proc/" + pid + "/stat");
    const auto state = stat.rfind(')');
    return stat.empty() || (state != std::string::npos && stat.compare(state, 3, ") Z") == 0);
  };
  for (int sig : {SIGTERM, SIGKILL}) {
    ::kill(daemon, sig);
    for (int i = 0; i < 50 && !gone(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (gone()) break;
  }
  if (!gone()) {
    return Status::serviceUnavailable("libvirtd (pid " + pid +
                                      ") did not stop for its restart with /dev/kvm hidden");
  }
  if (Status s = startDaemon("libvirtd", kDaemonSocket, true); !s) return s;
  // Its socket answers before it serves: on a fresh machine the first connection after the
  // restart was reset ("Cannot recv data: Connection reset by peer"). Done when a connection
  // gets an answer.
  if (Status s = ensureEventLoop(); !s) return s;  // also keeps libvirt's errors off stderr
  for (int i = 0; i < 300; ++i) {
    if (virConnectPtr conn = virConnectOpen(kLibvirtSystemUri)) {
      unsigned long version = 0;
      const bool serves = virConnectGetLibVersion(conn, &version) == 0;
      virConnectClose(conn);
      if (serves) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Status::serviceUnavailable("libvirtd, restarted with /dev/kvm hidden, does not answer (" +
                                    lastDaemonError() + "): see /var/log/libvirt/libvirtd.log");
}

struct LibvirtConnection::Handles {
  virConnectPtr conn = nullptr;
  int callbackId = -1;
  EventHandler onEvent;
  CloseHandler onClose;
  bool closeRegistered = false;

  static int lifecycle(virConnectPtr, virDomainPtr domain, int type, int detail, void* opaque) {
    const auto* self = static_cast<Handles*>(opaque);
    if (self->onEvent) self->onEvent({virDomainGetName(domain), type, detail});
    return 0;
  }

  static void closed(virConnectPtr, int, void* opaque) {
    const auto* self = static_cast<Handles*>(opaque);
    if (self->onClose) self->onClose();
  }

  Result<Domain> lookup(const std::string& name) const {
    Domain domain(virDomainLookupByName(conn, name.c_str()));
    if (!domain) {
      if (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN) {
        return Status::notFound("domain " + name + " not found");
      }
      return libvirtError("cannot look up domain " + name);
    }
    return domain;
  }

  ~Handles() {
    if (callbackId >= 0) virConnectDomainEventDeregisterAny(conn, callbackId);
    if (closeRegistered) virConnectUnregisterCloseCallback(conn, &Handles::closed);
    if (conn) virConnectClose(conn);
  }
};

Result<std::unique_ptr<LibvirtConnection>> LibvirtConnection::open(const std::string& uri,
                                                                   EventHandler onEvent,
                                                                   CloseHandler onClose) {
  if (Status s = ensureLibvirtDaemons(uri); !s) return s;
  if (Status s = ensureEventLoop(); !s) return s;
  auto handles = std::make_unique<Handles>();
  handles->onEvent = std::move(onEvent);
  handles->onClose = std::move(onClose);
  handles->conn = virConnectOpen(uri.c_str());
  if (!handles->conn) {
    return libvirtError("cannot connect to libvirt at " + uri +
                        " (is libvirt-daemon-driver-qemu installed and libvirtd running?)");
  }
  // A dead daemon or a lost socket is noticed within 5 s x 3 missed replies.
  if (virConnectSetKeepAlive(handles->conn, 5, 3) < 0) {
    return libvirtError("cannot turn on libvirt keepalive");
  }
  handles->callbackId = virConnectDomainEventRegisterAny(
      handles->conn, nullptr, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
      VIR_DOMAIN_EVENT_CALLBACK(&Handles::lifecycle), handles.get(), nullptr);
  if (handles->callbackId < 0) return libvirtError("cannot subscribe to libvirt domain events");
  if (handles->onClose) {
    if (virConnectRegisterCloseCallback(handles->conn, &Handles::closed, handles.get(), nullptr) <
        0) {
      return libvirtError("cannot watch the libvirt connection");
    }
    handles->closeRegistered = true;
  }
  const bool privileged = rootSpeaksToSystemDaemon(uri);
  return std::unique_ptr<LibvirtConnection>(
      new LibvirtConnection(uri, std::move(handles), privileged));
}

LibvirtConnection::LibvirtConnection(std::string uri, std::unique_ptr<Handles> handles,
                                     bool privileged)
    : uri_(std::move(uri)), handles_(std::move(handles)), privileged_(privileged) {}

LibvirtConnection::~LibvirtConnection() = default;

fs::path LibvirtConnection::qemuLogPath(const std::string& domain) const {
  if (privileged_) return fs::path("/var/log/libvirt/qemu") / (domain + ".log");
  const char* cache = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  const fs::path base = cache && *cache ? fs::path(cache) : fs::path(home ? home : "") / ".cache";
  return base / "libvirt/qemu/log" / (domain + ".log");
}

Status LibvirtConnection::define(const std::string& xml) {
  Domain domain(virDomainDefineXML(handles_->conn, xml.c_str()));
  if (!domain) return libvirtError("cannot define domain");
  return {};
}

Status LibvirtConnection::createTransient(const std::string& xml) {
  Domain domain(virDomainCreateXML(handles_->conn, xml.c_str(), 0));
  if (!domain) return libvirtError("cannot boot domain");
  return {};
}

Status LibvirtConnection::start(const std::string& name) {
  auto domain = handles_->lookup(name);
  if (!domain.ok()) return domain.status();
  if (virDomainIsActive(domain->get()) == 1) return Status::alreadyExists(name + " is running");
  if (virDomainCreate(domain->get()) < 0) return libvirtError("cannot start " + name);
  return {};
}

Status LibvirtConnection::shutdown(const std::string& name) {
  auto domain = handles_->lookup(name);
  if (!domain.ok()) return domain.status();
  if (virDomainShutdown(domain->get()) < 0) return libvirtError("cannot shut down " + name);
  return {};
}

Status LibvirtConnection::destroy(const std::string& name) {
  auto domain = handles_->lookup(name);
  if (!domain.ok()) return domain.status().code() == 404 ? Status{} : domain.status();
  if (virDomainIsActive(domain->get()) != 1) return {};
  if (virDomainDestroy(domain->get()) < 0 && virDomainIsActive(domain->get()) == 1) {
    return libvirtError("cannot destroy " + name);
  }
  return {};
}

Status LibvirtConnection::undefine(const std::string& name) {
  auto domain = handles_->lookup(name);
  if (!domain.ok()) return domain.status().code() == 404 ? Status{} : domain.status();
  if (virDomainIsPersistent(domain->get()) != 1) return {};
  if (virDomainUndefine(domain->get()) < 0) return libvirtError("cannot undefine " + name);
  return {};
}

Result<std::string> LibvirtConnection::uuid(const std::string& name) {
  auto domain = handles_->lookup(name);
  if (!domain.ok()) return domain.status();
  char uuid[VIR_UUID_STRING_BUFLEN];
  if (virDomainGetUUIDString(domain->get(), uuid) < 0) {
    return libvirtError("cannot read the UUID of " + name);
  }
  return std::string(uuid);
}

Result<DomainState> LibvirtConnection::state(const std::string& name) {
  auto got = status(name);
  if (!got.ok()) return got.status();
  return got->state;
}

Result<DomainStatus> LibvirtConnection::status(const std::string& name) {
  auto domain = handles_->lookup(name);
  if (!domain.ok()) {
    if (domain.status().code() == 404) return DomainStatus{DomainState::kMissing, "Undefined"};
    return domain.status();
  }
  int state = 0, reason = 0;
  if (virDomainGetState(domain->get(), &state, &reason, 0) < 0) {
    return libvirtError("cannot read the state of " + name);
  }
  const DomainState mapped = stateOf(state);
  // The reasons of both states count from an "unknown" 0; their events' details do not.
  if (mapped == DomainState::kShutoff || mapped == DomainState::kCrashed) {
    const bool shutoff = mapped == DomainState::kShutoff;
    const std::string why =
        reason > 0
            ? DomainEvent{name, shutoff ? VIR_DOMAIN_EVENT_STOPPED : VIR_DOMAIN_EVENT_CRASHED,
                          reason - 1}
                  .describe()
            : std::string(shutoff ? "Stopped" : "Crashed") + " (Unknown)";
    return DomainStatus{mapped, why};
  }
  return DomainStatus{mapped, domainStateName(mapped)};
}

bool LibvirtConnection::alive() const {
  return virConnectIsAlive(handles_->conn) == 1;
}

Result<std::vector<std::string>> LibvirtConnection::domainNames(const std::string& prefix) {
  virDomainPtr* domains = nullptr;
  const int n = virConnectListAllDomains(handles_->conn, &domains, 0);
  if (n < 0) return libvirtError("cannot list domains");
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) {
    const std::string name = virDomainGetName(domains[i]);
    if (name.starts_with(prefix)) names.push_back(name);
    virDomainFree(domains[i]);
  }
  free(domains);
  return names;
}

}  // namespace kd::vm
