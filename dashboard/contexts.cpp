#include "dashboard/contexts.h"

#include <QSettings>
#include <algorithm>
#include <sstream>

#include "dashboard/async_call.h"
#include "engine/client/cli/cli.h"
#include "engine/client/cli/profile_state.h"
#include "engine/client/kubeconfig.h"

namespace kd::dashboard {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kContextKey = "session/context";

// A profile is a directory name under the data root; no context name may lead elsewhere.
bool isProfileDirectory(const std::string& name) {
  if (name.empty() || name.front() == '.' || name.find('/') != std::string::npos) return false;
  std::error_code ec;
  return fs::exists(cli::dataRoot() / name / "kubeconfig", ec);
}

Result<std::unique_ptr<client::ApiClient>> connectTo(const ContextTarget& target,
                                                     std::chrono::milliseconds timeout) {
  auto access = client::loadClusterAccess(target.kubeconfig, target.context);
  if (!access.ok()) return access.status();
  client::ClientOptions options;
  options.connectTimeout = timeout;
  options.userAgent = "kubedesk";
  auto created = client::ApiClient::create(*access, options);
  if (!created.ok()) return created.status();
  auto health = (*created)->request("GET", "/healthz");
  if (!health.ok()) return health.status();
  if (!health->ok()) return client::statusFromResponse(health->status, health->body);
  return created;
}

Status startProfile(const ContextTarget& target, const std::string& profile) {
  std::vector<std::string> argv = {"start", "--profile", profile};
  if (target.kubeconfig) argv.insert(argv.end(), {"--kubeconfig", target.kubeconfig->string()});
  std::istringstream in;
  std::ostringstream out, err;
  if (cli::runKdctl(argv, in, out, err) == 0) return Status::ok();
  return Status::serviceUnavailable("could not start the \"" + profile +
                                    "\" cluster: " + err.str());
}

}  // namespace

std::vector<std::string> kubeDeskProfiles() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(cli::dataRoot(), ec)) {
    const std::string name = entry.path().filename().string();
    if (isProfileDirectory(name)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string startableProfile(const ContextTarget& target) {
  if (target.context == target.defaultProfile || isProfileDirectory(target.context))
    return target.context;
  return {};
}

QStringList availableContexts(const std::optional<fs::path>& kubeconfig) {
  QStringList names;
  if (auto listed = client::listContexts(kubeconfig); listed.ok()) {
    for (const auto& name : *listed) names << QString::fromStdString(name);
  }
  for (const auto& profile : kubeDeskProfiles()) {
    const QString name = QString::fromStdString(profile);
    if (!names.contains(name)) names << name;
  }
  return names;
}

QString lastContext() {
  return QSettings().value(kContextKey).toString();
}

void rememberContext(const QString& context) {
  QSettings().setValue(kContextKey, context);
}

bool firstRun() {
  return QSettings().allKeys().isEmpty();
}

Result<std::unique_ptr<client::ApiClient>> connectContext(const ContextTarget& target,
                                                          bool* started) {
  auto client = connectTo(target, 2000ms);
  const std::string profile = startableProfile(target);
  if (client.ok() || !target.autoStart || profile.empty()) return client;
  if (Status s = startProfile(target, profile); !s.isOk()) return s;
  if (started) *started = true;
  return connectTo(target, 10000ms);
}

ContextSwitcher::ContextSwitcher(ContextTarget defaults, QObject* parent)
    : QObject(parent), defaults_(std::move(defaults)) {
  reaper_.setSingleShot(true);
  reaper_.setInterval(0);
  connect(&reaper_, &QTimer::timeout, this, &ContextSwitcher::reap);
}

ContextSwitcher::~ContextSwitcher() = default;

void ContextSwitcher::adopt(std::unique_ptr<ClusterSession> session, const QString& context,
                            bool started) {
  if (started) started_.insert(context.toStdString());
  std::unique_ptr<ClusterSession> old = std::move(session_);
  session_ = std::move(session);
  context_ = context;
  if (old) retire(std::move(old));
}

void ContextSwitcher::switchTo(const QString& context) {
  if (busy() || context.isEmpty() || (context == context_ && session_)) return;
  pending_ = context;
  ContextTarget target = defaults_;
  target.context = context.toStdString();
  emit switching(context, target.autoStart && !startableProfile(target).empty());
  struct Connected {
    std::unique_ptr<client::ApiClient> client;
    bool started = false;
  };
  runAsync<std::shared_ptr<Connected>>(
      this,
      [target]() -> Result<std::shared_ptr<Connected>> {
        auto c = std::make_shared<Connected>();
        auto client = connectContext(target, &c->started);
        if (!client.ok()) return client.status();
        c->client = std::move(*client);
        return c;
      },
      [this, context](const Result<std::shared_ptr<Connected>>& r) {
        pending_.clear();
        if (!r.ok()) {
          emit failed(context, r.status());
          return;
        }
        adopt(std::make_unique<ClusterSession>(std::move((*r)->client)), context, (*r)->started);
        emit switched(session_.get(), context);
      });
}

// Destroyed after switched() has been handled; no call still running needs the session.
void ContextSwitcher::retire(std::unique_ptr<ClusterSession> session) {
  retired_.push_back(std::move(session));
  reaper_.start();
}

void ContextSwitcher::reap() {
  retired_.clear();
}

}  // namespace kd::dashboard
