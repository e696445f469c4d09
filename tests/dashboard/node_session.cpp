#include "tests/dashboard/node_session.h"

std::unique_ptr<kd::dashboard::ClusterSession> startNodeSession(EngineProcess& engine,
                                                                NodeAgentProcess& agent,
                                                                QString* why) {
  if (!engine.start()) {
    *why = engine.log();
    return nullptr;
  }
  if (!agent.start()) {
    *why = agent.log();
    return nullptr;
  }
  auto client = engine.adminClient();
  if (!client.ok()) {
    *why = QString::fromStdString(client.status().message());
    return nullptr;
  }
  return std::make_unique<kd::dashboard::ClusterSession>(std::move(*client));
}
