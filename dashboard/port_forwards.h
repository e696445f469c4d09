#pragma once
// PortForwards: the port-forwards the dashboard holds open, like `kubectl port-forward` run
// from the app. A forward targets a pod, or the pod behind a workload or Service (running pods
// first, the Service's port translated to the pod's as kubectl does), listens on 127.0.0.1 and
// runs on a thread of its own until stopped or until the pod goes away. GUI thread only;
// results arrive as signals.

#include <QObject>
#include <QString>
#include <QUrl>
#include <map>
#include <memory>

#include "engine/api/kinds.h"
#include "engine/client/api_client.h"

namespace kd::dashboard {

class PortForwards : public QObject {
  Q_OBJECT

 public:
  struct Forward {
    int id = 0;
    QString target;  // "default/pod/web-1 (from service/web)"
    uint16_t local = 0, remote = 0;
    QUrl url() const;  // http://127.0.0.1:<local>/
  };

  // `client`: ClusterSession::clientPtr(); the forwards' threads hold it.
  explicit PortForwards(std::shared_ptr<client::ApiClient> client, QObject* parent = nullptr);
  ~PortForwards() override;  // stops every forward and waits for its thread

  // Forwards `localPort` (0: a free one) to port `remote` (number or name) of `object`'s pod.
  // Returns the forward's id; then started() or failed() with that id.
  int start(const api::KindInfo& kind, const json& object, const QString& remote,
            uint16_t localPort = 0);
  // Stops a forward; its listener closes at once, its thread is joined later.
  void stop(int id);

  // The forwards that started and still run, by id.
  std::vector<Forward> active() const;

 signals:
  void started(const kd::dashboard::PortForwards::Forward& forward);
  // Refused before it started, or ended other than by stop(): the reason.
  void failed(int id, const QString& message);
  void changed();

 private:
  struct Session;
  QString run(client::ApiClient& client, Session& session, const api::KindInfo& kind,
              const json& object, const std::string& remote, uint16_t localPort);
  void finished(int id, const QString& error);

  std::shared_ptr<client::ApiClient> client_;
  int nextId_ = 1;
  std::map<int, std::shared_ptr<Session>> sessions_;  // starting or running
  std::map<int, std::shared_ptr<Session>> stopping_;  // stopped, thread not yet joined
};

}  // namespace kd::dashboard
