#pragma once
// Test support for node e2e tests: a real kubedesk-node child process joined to an
// EngineProcess, a busybox pod manifest, and the polling and assertion helpers those tests
// share. The agent runs runc on the host, so these tests need root.

#include <QByteArray>
#include <QProcess>
#include <QString>
#include <QStringList>
#include <QTemporaryDir>
#include <functional>

#include "engine_process.h"

// Fails the current Qt test with kubectl's exit code and output unless the command succeeded.
// Polls `check` every 200 ms until it holds or `ms` pass; returns its last verdict.
bool waitFor(const std::function<bool()>& check, int ms);

// Runs a program to completion (`timeoutMs` at most); exit code -1 when it did not finish.
CommandResult runProgram(const QString& program, const QStringList& args, int timeoutMs = 30000);

// A one-container busybox pod bound to `node` (no scheduler needed) with a short grace period.
QByteArray busyboxPod(const QString& name, const QString& node, const QString& restartPolicy,
                      const QStringList& command, int graceSeconds = 1);

class NodeAgentProcess {
 public:
  // The agent for node `nodeName` of `engine`, with its state in a fresh temporary directory
  // and `extraArgs` after the standard ones.
  explicit NodeAgentProcess(const EngineProcess& engine, const QString& nodeName = "n1",
                            const QStringList& extraArgs = {});
  // Stops the agent; its containers keep running (cleanUp() removes them).
  ~NodeAgentProcess();

  // Starts the agent with a kubeconfig holding its node's bearer token; false (with the reason
  // in log()) when the token or the process could not be had.
  bool start();
  void stop();  // SIGTERM and wait
  QString stateDir() const { return stateDir_; }
  // Everything the agent printed so far.
  QString log();

  // Ids of the runc containers whose bundles live under this agent's state directory.
  QStringList containers() const;
  // Force-deletes this agent's leftover containers and unmounts what is still mounted under
  // its state directory; returns what was left (empty when the agent cleaned up after itself).
  QStringList cleanUp();

 private:
  const EngineProcess& engine_;
  QString nodeName_;
  QStringList extraArgs_;
  QTemporaryDir tmp_;
  QString stateDir_;
  QProcess process_;
  QString log_;
};
