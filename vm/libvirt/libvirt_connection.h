#pragma once
// One connection to libvirt's QEMU driver through the libvirt C API, with the process-wide
// libvirt event loop on a dedicated thread, keepalive, and domain lifecycle events delivered to
// a handler the caller gives.
//
// Which daemon answers: `qemu:///session` (the default) is the per-user daemon, autospawned by
// libvirt for an ordinary user, with every file in that user's home — no root needed. For root,
// libvirt's remote driver sends `qemu:///session` to the privileged daemon, so it means the
// same as `qemu:///system`. There is no systemd here to socket-activate that daemon, so for root
// ensureLibvirtDaemons starts `virtlogd -d` and `libvirtd -d` when their sockets do not answer.
// The privileged daemon runs guests as the `libvirt-qemu` user by default; domains defined
// through this connection carry a DAC label naming the caller's uid instead (privileged()), so
// a guest reads its kernel and writes its disk in the caller's profile directory as the caller.
//
// Thread safety: every call may come from any thread. The event handler runs on the event-loop
// thread and must not block; it may call back into the connection.
//
// The event loop is libvirt's default implementation, which iterates GLib's default main
// context. A thread that owns that context starves it: a Qt application whose main thread runs
// the GLib event dispatcher must be started with QT_NO_GLIB=1 to host this driver (the engine
// links no Qt and is unaffected).

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/api/status.h"

namespace kd::vm {

inline constexpr const char* kLibvirtSessionUri = "qemu:///session";
inline constexpr const char* kLibvirtSystemUri = "qemu:///system";

// A domain lifecycle event (VIR_DOMAIN_EVENT_ID_LIFECYCLE): virDomainEventType and its detail.
struct DomainEvent {
  std::string domain;
  int type = 0;
  int detail = 0;
  // "Stopped (Destroyed)", "Started (Booted)", ...
  std::string describe() const;
  // The guest is gone: stopped or crashed.
  bool stopped() const;
};

enum class DomainState { kMissing, kRunning, kPaused, kShuttingDown, kShutoff, kCrashed, kOther };
const char* domainStateName(DomainState state);

// A domain's state with libvirt's reason for it. `reason` words a stopped or crashed domain as
// DomainEvent::describe() words the event that led there ("Stopped (Destroyed)", "Crashed
// (Panicked)"), a missing one "Undefined", any other by its state name ("running").
struct DomainStatus {
  DomainState state = DomainState::kMissing;
  std::string reason;
};

// Starts virtlogd and libvirtd when they are not answering and the caller may (root). Fails with
// a message naming the fix when libvirt is not installed or its daemon does not come up.
// libvirtd starts with /dev/kvm hidden once hideHangingKvmFromLibvirtd() has run since boot.
Status ensureLibvirtDaemons(const std::string& uri);

// libvirtd asks QEMU for its capabilities with KVM first. Where /dev/kvm opens but KVM guests
// hang (the KVM probe found so), the answer never has KVM, and as /dev/kvm looks usable libvirtd
// takes its cached answer for stale and asks again — about a minute — before every domain
// start. This remembers the finding until the next boot (/run/kubedesk/kvm-hangs) and, when the
// running libvirtd is one ensureLibvirtDaemons started, restarts it in a mount namespace of its
// own where /dev/kvm is /dev/null (running domains keep running: libvirtd reattaches to them).
// True when it restarted the daemon: connections to the old one are gone, open new ones.
Result<bool> hideHangingKvmFromLibvirtd();

class LibvirtConnection {
 public:
  using EventHandler = std::function<void(const DomainEvent&)>;
  using CloseHandler = std::function<void()>;

  // Starts the daemons if needed (ensureLibvirtDaemons), starts the event loop once per process,
  // opens `uri`, turns on keepalive and subscribes `onEvent` (optional) to lifecycle events.
  // `onClose` (optional, on the event-loop thread) is told when the connection is lost: the
  // daemon went away or keepalive gave up. No event arrives after that: open a new connection.
  static Result<std::unique_ptr<LibvirtConnection>> open(
      const std::string& uri = kLibvirtSessionUri, EventHandler onEvent = {},
      CloseHandler onClose = {});
  ~LibvirtConnection();
  LibvirtConnection(const LibvirtConnection&) = delete;
  LibvirtConnection& operator=(const LibvirtConnection&) = delete;

  const std::string& uri() const { return uri_; }
  // Whether the daemon is the privileged one (guests would otherwise run as libvirt-qemu).
  bool privileged() const { return privileged_; }

  // Where libvirt keeps the log of a domain's qemu process, which undefining leaves behind.
  std::filesystem::path qemuLogPath(const std::string& domain) const;

  // Defines (or redefines) a persistent domain from XML.
  Status define(const std::string& xml);
  // Starts a defined domain. AlreadyExists when it runs.
  Status start(const std::string& name);
  // Boots a transient domain from XML; it vanishes when it stops.
  Status createTransient(const std::string& xml);
  // Asks the guest to shut down (ACPI power button); returns at once.
  Status shutdown(const std::string& name);
  // Stops the guest at once (pulls the plug). OK when it is not running.
  Status destroy(const std::string& name);
  // Removes a persistent domain's definition. OK when it is not defined.
  Status undefine(const std::string& name);
  // The domain's UUID, which a redefinition must repeat. NotFound when it is not defined.
  Result<std::string> uuid(const std::string& name);
  // kMissing when no such domain exists.
  Result<DomainState> state(const std::string& name);
  // The state and why (DomainStatus); kMissing when no such domain exists.
  Result<DomainStatus> status(const std::string& name);
  // False once keepalive or a failed call found the daemon gone: open a new connection.
  bool alive() const;
  // Names of all domains, running or not, that start with `prefix`.
  Result<std::vector<std::string>> domainNames(const std::string& prefix);

 private:
  struct Handles;
  LibvirtConnection(std::string uri, std::unique_ptr<Handles> handles, bool privileged);

  std::string uri_;
  std::unique_ptr<Handles> handles_;
  bool privileged_ = false;
};

}  // namespace kd::vm
