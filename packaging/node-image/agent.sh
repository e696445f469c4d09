#!/bin/sh
# Runs the node agent once; busybox init starts this script again when it returns. Output goes
# to the serial console and to a log file on the data disk.
export PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
config=/run/kubedesk
state=/var/lib/kubedesk
if [ ! -s $config/node-name ] || [ ! -s $config/kubeconfig ]; then
  sleep 10 # boot said what is missing; nothing to run until the VM is started with it
  exit 0
fi
mkdir -p $state/state/network $state/log
# Pod networking on, in the VM's own network namespace (engine/node/network.h).
[ -f $state/state/network/node.json ] || echo '{"netns":""}' >$state/state/network/node.json
log=$state/log/kubedesk-node.log
# One previous log is kept, so the file cannot fill the disk.
if [ "$(stat -c %s $log 2>/dev/null || echo 0)" -gt 10485760 ]; then mv $log $log.1; fi
set -- --kubeconfig $config/kubeconfig --node-name "$(cat $config/node-name)" \
  --state-dir $state/state --runtime crun --image-layout /usr/share/kubedesk/images/busybox
if [ -s $config/node-ip ]; then set -- "$@" --node-ip "$(cut -d/ -f1 $config/node-ip)"; fi
echo "kubedesk-agent: [$(cut -d' ' -f1 /proc/uptime)] starting kubedesk-node"
# Through a fifo rather than a pipe, so the agent's pid is known (shutdown signals it alone,
# not the container shims that are the same binary).
[ -p $config/agent.out ] || mkfifo -m 0600 $config/agent.out
tee -a $log <$config/agent.out &
kubedesk-node "$@" >$config/agent.out 2>&1 &
echo $! >$config/agent.pid
wait $!
sleep 1
