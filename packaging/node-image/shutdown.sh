#!/bin/sh
# Shutdown of the node image: the agent gets SIGTERM and up to ten seconds to finish, then
# everything on the data disk is written out.
export PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
pid=$(cat /run/kubedesk/agent.pid 2>/dev/null)
if [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; then
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    kill -0 "$pid" 2>/dev/null || break
    sleep 1
  done
fi
sync
