#pragma once
// The start every dashboard test against a real node shares: the engine, then its node agent,
// then a dashboard session on the engine with the admin credentials.

#include <QString>
#include <memory>

#include "dashboard/cluster_session.h"
#include "tests/e2e/node_agent_process.h"

// Null, with the reason (the process's log or the client's error) in `why`, when the engine,
// the agent or the client could not be had.
std::unique_ptr<kd::dashboard::ClusterSession> startNodeSession(EngineProcess& engine,
                                                                NodeAgentProcess& agent,
                                                                QString* why);
