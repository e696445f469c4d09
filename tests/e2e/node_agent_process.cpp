#include "node_agent_process.h"

#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QThread>

#include "engine/client/node_credentials.h"
#include "engine/node/pod_worker.h"

bool waitFor(const std::function<bool()>& check, int ms) {
  QElapsedTimer t;
  t.start();
  while (t.elapsed() < ms) {
    if (check()) return true;
    QThread::msleep(200);
  }
  return check();
}

CommandResult runProgram(const QString& program, const QStringList& args, int timeoutMs) {
  QProcess p;
  p.start(program, args);
  CommandResult r;
  if (!p.waitForFinished(timeoutMs)) return r;
  r.exitCode = p.exitCode();
  r.out = QString::fromUtf8(p.readAllStandardOutput());
  r.err = QString::fromUtf8(p.readAllStandardError());
  return r;
}

QByteArray busyboxPod(const QString& name, const QString& node, const QString& restartPolicy,
                      const QStringList& command, int graceSeconds) {
  const QJsonObject container{
      {"name", "main"}, {"image", "busybox"}, {"command", QJsonArray::fromStringList(command)}};
  const QJsonObject pod{{"apiVersion", "v1"},
                        {"kind", "Pod"},
                        {"metadata", QJsonObject{{"name", name}}},
                        {"spec", QJsonObject{{"nodeName", node},
                                             {"restartPolicy", restartPolicy},
                                             {"terminationGracePeriodSeconds", graceSeconds},
                                             {"containers", QJsonArray{container}}}}};
  return QJsonDocument(pod).toJson();
}

NodeAgentProcess::NodeAgentProcess(const EngineProcess& engine, const QString& nodeName,
                                   const QStringList& extraArgs)
    : engine_(engine),
      nodeName_(nodeName),
      extraArgs_(extraArgs),
      stateDir_(tmp_.filePath("state")) {
  process_.setProcessChannelMode(QProcess::MergedChannels);
}

NodeAgentProcess::~NodeAgentProcess() {
  stop();
}

bool NodeAgentProcess::start() {
  // The agent authenticates with its node's token, as drivers start it, so every node test
  // also runs under the node authorizer.
  const QString kubeconfig = tmp_.filePath("kubeconfig");
  kd::Status credentials = kd::client::writeNodeKubeconfig(
      engine_.kubeconfig().toStdString(), nodeName_.toStdString(), kubeconfig.toStdString());
  if (!credentials.isOk()) {
    log_ += QString::fromStdString("node credentials: " + credentials.message() + "\n");
    return false;
  }
  process_.start(
      KD_BINARY_DIR "/bin/kubedesk-node",
      QStringList{"--kubeconfig", kubeconfig, "--node-name", nodeName_, "--state-dir", stateDir_} +
          extraArgs_);
  return process_.waitForStarted(5000);
}

void NodeAgentProcess::stop() {
  if (process_.state() == QProcess::NotRunning) return;
  process_.terminate();
  if (!process_.waitForFinished(10000)) {
    process_.kill();
    process_.waitForFinished(5000);
  }
  log();
}

QString NodeAgentProcess::log() {
  // Without an event loop QProcess reads the pipe only in its waitFor* calls.
  while (process_.state() == QProcess::Running && process_.waitForReadyRead(10)) {
  }
  log_ += QString::fromUtf8(process_.readAll());
  return log_;
}

QStringList NodeAgentProcess::containers() const {
  const CommandResult r = runProgram("runc", {"list", "-f", "json"});
  QStringList ids;
  for (const auto& v : QJsonDocument::fromJson(r.out.toUtf8()).array()) {
    const QJsonObject c = v.toObject();
    if (c["bundle"].toString().startsWith(stateDir_)) ids << c["id"].toString();
  }
  return ids;
}

namespace {

QStringList mountsUnder(const QString& prefix) {
  QFile f("/proc/self/mountinfo");
  if (!f.open(QIODevice::ReadOnly)) return {};
  QStringList out;
  for (const auto& line : QString::fromUtf8(f.readAll()).split('\n')) {
    const QStringList fields = line.split(' ');
    if (fields.size() > 4 && fields[4].startsWith(prefix)) out << fields[4];
  }
  return out;
}

}  // namespace

QStringList NodeAgentProcess::cleanUp() {
  stop();
  QStringList left = containers();
  for (const auto& id : left) runProgram("runc", {"delete", "--force", id});
  kd::node::PodWorker::removePodCgroupsUnder(stateDir_.toStdString());
  const QStringList mounts = mountsUnder(stateDir_);
  // Deepest first, so nested mounts come off before their parents.
  for (auto it = mounts.rbegin(); it != mounts.rend(); ++it) runProgram("umount", {"-l", *it});
  return left + mounts;
}
