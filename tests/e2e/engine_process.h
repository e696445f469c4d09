#pragma once
// Test support: a real kubedesk-engine child process on a loopback port with its own state
// directory, and a way to run the real kubectl (any installed version) against it.

#include <QProcess>
#include <QString>
#include <QStringList>
#include <QTemporaryDir>
#include <memory>

#include "engine/client/api_client.h"
#include "tests/support/verify.h"

struct CommandResult {
  int exitCode = -1;
  QString out;
  QString err;
};

// "exit N" and what the command printed: the message of a command that should have succeeded.
QString failureText(const CommandResult& r);

// Verifies that a command exited 0. `result` is usually the call that runs the command, so it
// is evaluated once (a macro that named it four times ran kubectl four times: a `delete -l`
// then deleted the replacement pods too).
#define CMD_OK(result)                                                         \
  do {                                                                         \
    const CommandResult& cmdResult_ = (result);                                \
    KD_VERIFY2(cmdResult_.exitCode == 0, qPrintable(failureText(cmdResult_))); \
  } while (false)

// Runs `program` with `env` and `input` on its stdin to completion (`timeoutMs` at most; exit
// code -1 and what it printed so far when it did not finish).
CommandResult runWithEnvironment(const QString& program, const QStringList& args,
                                 const QProcessEnvironment& env, int timeoutMs = 90000,
                                 const QByteArray& input = {});

class EngineProcess {
 public:
  // Starts build/bin/kubedesk-engine with a fresh state directory (or `dataDir` to reuse one)
  // and `extraArgs` after the standard ones (e.g. {"--simulated-nodes", "3"}).
  explicit EngineProcess(const QString& dataDir = {}, const QStringList& extraArgs = {});
  ~EngineProcess();

  bool start();  // waits until the engine prints its URL
  void stop();   // SIGTERM and wait
  void kill9();  // SIGKILL and wait
  QString url() const { return url_; }
  QString dataDir() const { return dataDir_; }
  QString kubeconfig() const { return dataDir_ + "/kubeconfig"; }
  // A client of the API server with the admin credentials of kubeconfig().
  kd::Result<std::unique_ptr<kd::client::ApiClient>> adminClient() const;
  QString log() const { return log_; }
  qint64 pid() const { return process_.processId(); }
  // False once the engine has exited without stop() or kill9(); the first caller to notice
  // prints its exit status and log as a warning, so a test failing because the engine died
  // shows why.
  bool alive() const;

  // Runs kubectl (a path, default /usr/bin/kubectl) with KUBECONFIG pointing at this engine.
  CommandResult kubectl(const QStringList& args, const QByteArray& input = {},
                        const QString& binary = "/usr/bin/kubectl", int timeoutMs = 30000) const;
  // Starts kubectl without waiting (for -w and wait); caller owns the process.
  QProcess* startKubectl(const QStringList& args, const QString& binary = "/usr/bin/kubectl") const;

 private:
  QTemporaryDir tmp_;
  QString dataDir_;
  QStringList extraArgs_;
  QString home_;
  QProcess process_;
  QString url_;
  mutable QString log_;
  bool stopping_ = false;
  mutable bool deathReported_ = false;
};
