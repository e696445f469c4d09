#include "dashboard/port_forwards.h"

#include <QMetaObject>
#include <mutex>
#include <thread>

#include "engine/client/log_stream.h"
#include "engine/client/port_forward_client.h"

namespace kd::dashboard {
namespace {

std::string metaField(const json& object, const char* field) {
  return object.value(json::json_pointer(std::string("/metadata/") + field), "");
}

// The pod behind `object` and the pod port `remote` names there; blocks on the API.
Result<std::pair<json, std::string>> resolveTarget(client::ApiClient& c, const api::KindInfo& kind,
                                                   const json& object, const std::string& remote) {
  auto pods = client::podsSelectedBy(c, kind, object);
  if (!pods.ok()) return pods.status();
  if (pods->empty()) {
    return Status::notFound("no pods found for " + kind.resource + "/" + metaField(object, "name"));
  }
  const json& pod = (*pods)[0];
  if (const std::string phase = pod.value("/status/phase"_json_pointer, ""); phase != "Running") {
    return Status::badRequest("unable to forward port because pod is not running. Current status=" +
                              phase);
  }
  const bool service = kind.group.empty() && kind.resource == "services";
  auto port = client::podPortFor(service ? &object : nullptr, pod, remote);
  if (!port.ok()) return port.status();
  return std::pair{pod, *port};
}

}  // namespace

QUrl PortForwards::Forward::url() const {
  return QUrl(QStringLiteral("http://127.0.0.1:%1/").arg(local));
}

struct PortForwards::Session {
  std::mutex mutex;
  std::unique_ptr<client::PortForwarder> forwarder;  // set once open
  bool stopped = false;
  Forward forward;
  std::thread thread;
};

PortForwards::PortForwards(std::shared_ptr<client::ApiClient> client, QObject* parent)
    : QObject(parent), client_(std::move(client)) {}

PortForwards::~PortForwards() {
  for (const auto& [id, session] : sessions_) {
    std::lock_guard lock(session->mutex);
    session->stopped = true;
    if (session->forwarder) session->forwarder->stop();
  }
  for (auto* sessions : {&sessions_, &stopping_}) {
    for (auto& [id, session] : *sessions) {
      if (session->thread.joinable()) session->thread.join();
    }
  }
}

int PortForwards::start(const api::KindInfo& kind, const json& object, const QString& remote,
                        uint16_t localPort) {
  const int id = nextId_++;
  auto session = std::make_shared<Session>();
  session->forward.id = id;
  session->forward.target = QString::fromStdString(metaField(object, "namespace") + "/" +
                                                   kind.resource + "/" + metaField(object, "name"));
  sessions_[id] = session;
  // The thread reaches back only through queued calls on `this`, which the destructor keeps
  // alive until it has joined the thread; it always ends with one call of finished().
  session->thread = std::thread(
      [this, session, kind, object, remote = remote.toStdString(), localPort, client = client_] {
        const QString error = run(*client, *session, kind, object, remote, localPort);
        QMetaObject::invokeMethod(
            this, [this, id = session->forward.id, error] { finished(id, error); },
            Qt::QueuedConnection);
      });
  return id;
}

// On the session's thread: opens the forward, announces it, forwards until it ends. The
// reason it ended other than by stop(), or empty.
QString PortForwards::run(client::ApiClient& client, Session& session, const api::KindInfo& kind,
                          const json& object, const std::string& remote, uint16_t localPort) {
  auto failure = [](const Status& status) { return QString::fromStdString(status.message()); };
  auto target = resolveTarget(client, kind, object, remote);
  if (!target.ok()) return failure(target.status());
  auto port = client::parsePortSpec(std::to_string(localPort) + ":" + target->second);
  if (!port.ok()) return failure(port.status());
  const json& pod = target->first;
  const std::string path = client::ApiClient::resourcePath(
      *api::KindsRegistry::builtin().resolve("pods"), metaField(pod, "namespace"),
      metaField(pod, "name"), "portforward");
  auto opened = client::PortForwarder::open(client, path, {"127.0.0.1"}, {*port}, {});
  if (!opened.ok()) return failure(opened.status());
  client::PortForwarder* forwarder = opened->get();
  {
    std::lock_guard lock(session.mutex);
    if (session.stopped) return {};
    session.forwarder = std::move(*opened);
    session.forward.local = forwarder->ports()[0].local;
    session.forward.remote = forwarder->ports()[0].remote;
  }
  QMetaObject::invokeMethod(
      this,
      [this, forward = session.forward] {
        if (!sessions_.count(forward.id)) return;
        emit started(forward);
        emit changed();
      },
      Qt::QueuedConnection);
  const Status ended = forwarder->run();
  std::lock_guard lock(session.mutex);
  return ended || session.stopped ? QString() : failure(ended);
}

// Never waits: the thread is joined when its finished() arrives.
void PortForwards::stop(int id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  {
    std::lock_guard lock(it->second->mutex);
    it->second->stopped = true;
    if (it->second->forwarder) it->second->forwarder->stop();
  }
  stopping_[id] = std::move(it->second);
  sessions_.erase(it);
  emit changed();
}

void PortForwards::finished(int id, const QString& error) {
  std::shared_ptr<Session> session;
  bool wasRunning = false;
  for (auto* sessions : {&sessions_, &stopping_}) {
    if (auto it = sessions->find(id); it != sessions->end()) {
      session = std::move(it->second);
      sessions->erase(it);
      wasRunning = sessions == &sessions_;
    }
  }
  if (!session) return;
  if (session->thread.joinable()) session->thread.join();
  if (!wasRunning) return;
  if (!error.isEmpty()) emit failed(id, error);
  emit changed();
}

std::vector<PortForwards::Forward> PortForwards::active() const {
  std::vector<Forward> out;
  for (const auto& [id, session] : sessions_) {
    std::lock_guard lock(session->mutex);
    if (session->forwarder) out.push_back(session->forward);
  }
  return out;
}

}  // namespace kd::dashboard
