#include "engine_process.h"

#include <QDir>
#include <QElapsedTimer>
#include <QProcessEnvironment>
#include <QRegularExpression>
#include <QThread>

EngineProcess::EngineProcess(const QString& dataDir, const QStringList& extraArgs)
    : extraArgs_(extraArgs) {
  dataDir_ = dataDir.isEmpty() ? tmp_.filePath("data") : dataDir;
  home_ = tmp_.filePath("home");
  QDir().mkpath(home_);
}

EngineProcess::~EngineProcess() {
  stop();
}

bool EngineProcess::start() {
  stopping_ = false;
  deathReported_ = false;
  process_.setProgram(QStringLiteral(KD_BINARY_DIR "/bin/kubedesk-engine"));
  process_.setArguments(QStringList{"--data-dir", dataDir_, "--no-kubeconfig"} + extraArgs_);
  process_.setProcessChannelMode(QProcess::MergedChannels);
  process_.start();
  if (!process_.waitForStarted(5000)) return false;
  QElapsedTimer timer;
  timer.start();
  static const QRegularExpression kUrl("serving (https://\\S+)");
  while (timer.elapsed() < 20000) {
    process_.waitForReadyRead(200);
    log_ += QString::fromUtf8(process_.readAll());
    auto m = kUrl.match(log_);
    if (m.hasMatch()) {
      url_ = m.captured(1);
      return true;
    }
    if (process_.state() == QProcess::NotRunning) return false;
  }
  return false;
}

bool EngineProcess::alive() const {
  if (process_.state() != QProcess::NotRunning || stopping_ || url_.isEmpty()) return true;
  if (!deathReported_) {
    deathReported_ = true;
    auto& process = const_cast<QProcess&>(process_);
    log_ += QString::fromUtf8(process.readAll());
    qWarning("kubedesk-engine at %s exited unexpectedly (%s, status %d); its output:\n%s",
             qPrintable(url_),
             process.exitStatus() == QProcess::CrashExit ? "killed by a signal" : "exited",
             process.exitCode(), qPrintable(log_));
  }
  return false;
}

void EngineProcess::stop() {
  stopping_ = true;
  if (process_.state() == QProcess::NotRunning) return;
  process_.terminate();
  if (!process_.waitForFinished(10000)) {
    process_.kill();
    process_.waitForFinished(5000);
  }
  log_ += QString::fromUtf8(process_.readAll());
}

void EngineProcess::kill9() {
  stopping_ = true;
  if (process_.state() == QProcess::NotRunning) return;
  process_.kill();
  process_.waitForFinished(5000);
}

static QProcessEnvironment kubectlEnvironment(const QString& kubeconfig, const QString& home) {
  QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
  env.insert("KUBECONFIG", kubeconfig);
  env.insert("HOME", home);  // discovery cache stays inside the test's directory
  return env;
}

CommandResult EngineProcess::kubectl(const QStringList& args, const QByteArray& input,
                                     const QString& binary, int timeoutMs) const {
  QProcess p;
  p.setProcessEnvironment(kubectlEnvironment(kubeconfig(), home_));
  p.start(binary, args);
  CommandResult r;
  if (!p.waitForStarted(5000)) return r;
  if (!input.isEmpty()) p.write(input);
  p.closeWriteChannel();
  if (!p.waitForFinished(timeoutMs)) {
    p.kill();
    p.waitForFinished(2000);
    r.err = "timed out: kubectl " + args.join(' ');
    return r;
  }
  r.exitCode = p.exitCode();
  r.out = QString::fromUtf8(p.readAllStandardOutput());
  r.err = QString::fromUtf8(p.readAllStandardError());
  if (r.exitCode != 0) alive();
  return r;
}

QProcess* EngineProcess::startKubectl(const QStringList& args, const QString& binary) const {
  auto* p = new QProcess;
  p->setProcessEnvironment(kubectlEnvironment(kubeconfig(), home_));
  p->start(binary, args);
  p->waitForStarted(5000);
  return p;
}

QString failureText(const CommandResult& r) {
  return "exit " + QString::number(r.exitCode) + "\n" + r.err + r.out;
}

CommandResult runWithEnvironment(const QString& program, const QStringList& args,
                                 const QProcessEnvironment& env, int timeoutMs,
                                 const QByteArray& input) {
  QProcess p;
  p.setProcessEnvironment(env);
  p.start(program, args);
  CommandResult r;
  if (!p.waitForStarted(5000)) return r;
  p.write(input);
  p.closeWriteChannel();
  const bool finished = p.waitForFinished(timeoutMs);
  if (!finished) {
    p.kill();
    p.waitForFinished(2000);
  }
  r.exitCode = finished ? p.exitCode() : -1;
  r.out = QString::fromUtf8(p.readAllStandardOutput());
  r.err = QString::fromUtf8(p.readAllStandardError());
  return r;
}

kd::Result<std::unique_ptr<kd::client::ApiClient>> EngineProcess::adminClient() const {
  auto access = kd::client::loadClusterAccess(kubeconfig().toStdString(), "");
  if (!access.ok()) return access.status();
  return kd::client::ApiClient::create(*access);
}
