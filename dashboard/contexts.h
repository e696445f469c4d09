#pragma once
// Which cluster the desktop app shows, and switching it.
//
// A "context" is a kubeconfig context (engine/client/kubeconfig.h resolves it; no second
// parser here) or a KubeDesk profile: kdctl names a profile's context after the profile, so a
// profile directory under kdctl's data root makes its name startable even when the engine is
// stopped or its context was never merged. Connecting to a startable context whose engine does
// not answer runs the real `kdctl start` in this process first; any other context is only
// connected to.
//
// ContextSwitcher owns the current ClusterSession. switchTo() connects on a worker thread (the
// GUI thread never waits on the network) and then hands the new session over with switched();
// the previous session is destroyed on the next turn of the event loop, once the window has
// moved to the new one (calls still running on its client hold the client, not the session:
// ClusterSession::clientPtr()).

#include <QObject>
#include <QStringList>
#include <QTimer>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dashboard/cluster_session.h"
#include "engine/api/status.h"

namespace kd::dashboard {

// What to connect to.
struct ContextTarget {
  std::optional<std::filesystem::path> kubeconfig;  // nullopt: $KUBECONFIG or ~/.kube/config
  std::string context;
  // Start the context's KubeDesk profile when its engine does not answer.
  bool autoStart = true;
  // A profile name startable even before its directory exists (the first run's "kubedesk").
  std::string defaultProfile = "kubedesk";
};

// The KubeDesk profiles kdctl knows on this machine (directories with a kubeconfig under its
// data root), sorted.
std::vector<std::string> kubeDeskProfiles();
// The profile `target` would start: its context when that names a profile directory or the
// default profile; "" for a foreign context.
std::string startableProfile(const ContextTarget& target);
// The contexts to offer: the kubeconfig's (current first), then profiles not yet in it. A
// kubeconfig that cannot be read yields the profiles alone.
QStringList availableContexts(const std::optional<std::filesystem::path>& kubeconfig);

// Blocking (run it off the GUI thread): a client of `target`'s API server that answered
// /healthz, starting its profile first when needed (then `*started` is set).
Result<std::unique_ptr<client::ApiClient>> connectContext(const ContextTarget& target,
                                                          bool* started);

// The context the window showed last (QSettings), "" when none.
QString lastContext();
void rememberContext(const QString& context);
// Nothing was ever saved in QSettings: the app's first run on this account.
bool firstRun();

class ContextSwitcher : public QObject {
  Q_OBJECT

 public:
  explicit ContextSwitcher(ContextTarget defaults, QObject* parent = nullptr);
  ~ContextSwitcher() override;

  // Makes `session` (connected to `context`) the current one; `started` when this app started
  // its profile.
  void adopt(std::unique_ptr<ClusterSession> session, const QString& context, bool started);
  ClusterSession* session() const { return session_.get(); }
  QString context() const { return context_; }
  bool busy() const { return !pending_.isEmpty(); }
  QString pendingContext() const { return pending_; }
  QStringList contexts() const { return availableContexts(defaults_.kubeconfig); }
  // Profiles this app started (main stops them on exit unless asked to keep them).
  const std::set<std::string>& startedProfiles() const { return started_; }

 public slots:
  // Connects to `context` off the GUI thread; switched() or failed() follows. Ignored while
  // another switch is under way or when `context` is the current one.
  void switchTo(const QString& context);

 signals:
  void switching(const QString& context, bool starting);
  // The window must move to `session` while handling this; the old one is retired after.
  void switched(kd::dashboard::ClusterSession* session, const QString& context);
  void failed(const QString& context, const kd::Status& status);

 private:
  void retire(std::unique_ptr<ClusterSession> session);
  void reap();

  ContextTarget defaults_;
  std::unique_ptr<ClusterSession> session_;
  QString context_;
  QString pending_;
  std::set<std::string> started_;
  std::vector<std::unique_ptr<ClusterSession>> retired_;
  QTimer reaper_;
};

}  // namespace kd::dashboard
