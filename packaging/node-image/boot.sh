#!/bin/sh
# sysinit of the node image: kernel file systems and cgroup2, modules, the node's config from
# qemu fw_cfg, the network, the data disk. The agent script starts once this returns. The root
# file system is read-only (squashfs, mounted by stage 1, init); what the node writes goes to
# tmpfs (/run, /tmp) or the data disk (/var/lib/kubedesk).
export PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
log() { echo "kubedesk-boot: [$(cut -d' ' -f1 /proc/uptime)] $*"; }

mount_kernel_filesystems() {
  mount -t proc proc /proc
  mount -t sysfs sysfs /sys
  mkdir -p /dev/pts /dev/shm /dev/mqueue
  mount -t devpts -o gid=5,mode=0620,ptmxmode=0666 devpts /dev/pts
  mount -t tmpfs -o mode=1777 shm /dev/shm
  mount -t mqueue mqueue /dev/mqueue
  mount -t tmpfs -o mode=0755 tmpfs /run
  mount -t tmpfs -o mode=1777 tmpfs /tmp
  mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
  # Every controller is handed down, so the agent's pod and container cgroups can use them.
  read -r controllers </sys/fs/cgroup/cgroup.controllers
  for controller in $controllers; do
    echo "+$controller" >/sys/fs/cgroup/cgroup.subtree_control
  done
}

# kmod's modprobe (busybox's, which the shell prefers, knows no aliases).
load_modules() {
  # shellcheck disable=SC2046 # one module name per word
  /usr/local/bin/modprobe -a $(cat "/etc/kubedesk/modules.$1") ||
    log "some kernel modules ($1) did not load"
}

# A config entry the VM was started with (qemu -fw_cfg name=opt/kubedesk/KEY,...).
config() {
  cat "/sys/firmware/qemu_fw_cfg/by_name/opt/kubedesk/$1/raw" 2>/dev/null
}

read_config() {
  mkdir -m 0700 /run/kubedesk
  for key in node-name kubeconfig node-ip; do
    (umask 077 && config "$key" >"/run/kubedesk/$key") || rm -f "/run/kubedesk/$key"
  done
  if [ -s /run/kubedesk/node-name ]; then
    hostname "$(cat /run/kubedesk/node-name)"
  else
    log "no node name: start the VM with -fw_cfg name=opt/kubedesk/node-name,file=..."
  fi
  [ -s /run/kubedesk/kubeconfig ] ||
    log "no kubeconfig: start the VM with -fw_cfg name=opt/kubedesk/kubeconfig,file=..."
}

# eth0 is the user-mode NIC (its gateway reaches the host's loopback); eth1, the cluster NIC,
# gets an address only when the config names one.
configure_network() {
  ip link set lo up
  if ! udhcpc -i eth0 -f -q -n -t 20 -T 1 -s /etc/kubedesk/udhcpc >/dev/null; then
    log "eth0: no DHCP lease; the engine is unreachable"
  fi
  if [ -s /run/kubedesk/node-ip ]; then
    ip addr add "$(cat /run/kubedesk/node-ip)" dev eth1 && ip link set eth1 up
  fi
}

# Nothing but zeros in its first 64 KiB: a new disk, safe to format.
is_blank() {
  [ -z "$(head -c 65536 "$1" | tr -d '\000')" ]
}

# The node's state in memory, when there is no data disk to keep it.
state_in_memory() {
  log "$1: node state lives in memory"
  mount -t tmpfs -o mode=0755 tmpfs /var/lib/kubedesk
}

# The data disk (the virtio disk with the serial kubedesk-data; stage 1 named it) keeps images,
# pods and logs across VM restarts. A blank disk is formatted; anything else that is not ext4
# is left alone, and the state then lives in memory.
mount_data_disk() {
  disk=/dev/kubedesk-data
  if [ ! -b "$disk" ]; then
    state_in_memory "no data disk (a virtio disk with the serial kubedesk-data)"
    return
  fi
  mount -t ext4 -o noatime "$disk" /var/lib/kubedesk 2>/dev/null && return
  # A file system the journal cannot bring back by itself gets one automatic repair.
  if /usr/local/bin/e2fsck -p "$disk" >/dev/null 2>&1; [ $? -le 1 ]; then
    mount -t ext4 -o noatime "$disk" /var/lib/kubedesk && return
  fi
  if ! is_blank "$disk"; then
    state_in_memory "$disk holds something other than ext4; not formatting it"
    return
  fi
  log "formatting the data disk $disk"
  if ! /usr/local/bin/mke2fs -q -F -t ext4 -L kubedesk-data \
    -E lazy_itable_init=1,lazy_journal_init=1 "$disk" ||
    ! mount -t ext4 -o noatime "$disk" /var/lib/kubedesk; then
    state_in_memory "$disk could not be formatted"
  fi
}

# The balloon reports freed memory to the host, which drops it from the VM's footprint. Linux
# 6.1 reports only whole 2 MiB blocks unless told otherwise once the driver is in; what the
# guest frees (the initramfs after stage 1, exited containers) is scattered.
report_free_pages() {
  order=/sys/module/page_reporting/parameters/page_reporting_order
  [ -w "$order" ] && echo 0 >"$order"
}

mount_kernel_filesystems
log "root file system: $(awk '$2 == "/" { print $3, $4 }' /proc/mounts | tail -n 1)"
log "loading kernel modules"
load_modules boot
report_free_pages
read_config
log "configuring the network"
configure_network
mount_data_disk
# acpid turns the ACPI power button into a clean shutdown (/etc/acpi/PWRF/00000080); it
# finds the button's input device only once the modules are in.
{
  load_modules early
  acpid -c /etc/acpi -l /run/acpid.log
  # What the boot read once (module files, kmod's libcrypto, the tools it ran) would stay in
  # the page cache of a guest that never runs short of memory; dropped, it goes back to the
  # host through free page reporting (~10 MB of qemu RSS). Mapped pages stay.
  echo 1 >/proc/sys/vm/drop_caches
} &
log "node set up"
