#!/bin/sh
# Builds the VM node image from the build machine's Debian packages:
#   - vmlinuz: the kernel;
#   - rootfs.img: the root file system, a read-only squashfs (lz4) holding busybox, the node
#     agent, crun, nftables, dnsmasq, e2fsprogs, the kernel modules the guest needs and the
#     bundled busybox OCI image. The VM gets it as a read-only virtio disk whose serial is
#     "kubedesk-root", so only the files the guest reads land in its memory (page cache);
#   - initramfs.img: stage 1 (init), a small lz4'd newc initramfs with busybox and the modules
#     that show that disk (virtio PCI and block, squashfs); it mounts the disk and switches to it.
#
# Usage: build_node_image.sh <kernel release> <kubedesk-node> <static busybox>
#                            <busybox OCI layout dir> <source dir of this script> <output dir>
#
# Reproducible: the same inputs give the same bytes. Every file gets the mtime
# $SOURCE_DATE_EPOCH (0 when unset) and owner root; cpio's entries are sorted and it writes
# fixed inode numbers, lz4's legacy frame stores no name or time, and mksquashfs sorts its
# entries and stores the same time.
set -eu

kver=$1
agent=$2
busybox=$3
busybox_image=$4
src=$5
out=$6
: "${SOURCE_DATE_EPOCH:=0}"

# Host programs the guest runs, besides busybox: the agent's tools where busybox's applets lack
# options it uses (ip -j, tar --numeric-owner), the OCI runtime, nftables, DNS, the data disk's
# file system tools, and kmod's modprobe, which understands modules.alias.
host_programs="/usr/bin/crun /usr/sbin/nft /usr/sbin/dnsmasq /usr/sbin/mke2fs /usr/sbin/e2fsck
  /usr/sbin/ip /usr/bin/tar /usr/bin/unshare /usr/bin/nsenter /usr/bin/kmod"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root     # the root file system
stage1=$work/stage1 # the initramfs

# Debian's merged /usr: libraries live under /usr/lib, reached through /lib and /lib64 too.
make_skeleton() {
  mkdir -p "$root/usr/lib/x86_64-linux-gnu" "$root/usr/lib64" "$root/usr/local/bin" \
    "$root/usr/share/kubedesk/images" "$root/etc/kubedesk" "$root/proc" "$root/sys" "$root/dev" \
    "$root/run" "$root/tmp" "$root/root" "$root/var/lib/kubedesk"
  ln -s usr/lib "$root/lib"
  ln -s usr/lib64 "$root/lib64"
  chmod 1777 "$root/tmp"
  chmod 0700 "$root/root"
}

# busybox in the tree $1 and a link for each applet where busybox says it belongs (bin/sh,
# sbin/init, ...).
install_busybox() {
  mkdir -p "$1/bin" "$1/sbin" "$1/usr/bin" "$1/usr/sbin"
  install -m 0755 "$busybox" "$1/bin/busybox"
  "$busybox" --list-full | grep -vx bin/busybox | sed "s|^|$1/|" | xargs -n 1 ln -sf /bin/busybox
}

# Copies an ELF file to `dest` in the image, and every shared library it loads (ldd) to the
# path the dynamic loader will look for it at.
install_elf() {
  file=$1
  dest=$2
  mkdir -p "$root/$(dirname "$dest")"
  rm -f "$root/$dest"
  cp -L "$file" "$root/$dest"
  ldd "$file" | awk '/=> \// { print $3 } /^\t\// { print $1 }' | while read -r lib; do
    [ -e "$root/$lib" ] && continue
    mkdir -p "$root/$(dirname "$lib")"
    cp -L "$lib" "$root/$lib"
  done
}

install_programs() {
  for program in $host_programs; do
    install_elf "$program" "/usr/local/bin/$(basename "$program")"
  done
  ln -s kmod "$root/usr/local/bin/modprobe"
  ln -s kmod "$root/usr/local/bin/depmod"
  # The agent is built with debug information; the guest needs none of it.
  install_elf "$agent" /usr/local/bin/kubedesk-node
  strip --strip-unneeded "$root/usr/local/bin/kubedesk-node"
  # The kernel asks /sbin/modprobe for modules on demand.
  ln -sf /usr/local/bin/kmod "$root/sbin/modprobe"
}

# One module file name per line for every entry of modules.list, dependencies included.
module_files() {
  modroot=/lib/modules/$kver
  sed 's/#.*//' "$src/modules.list" | while read -r name _when; do
    [ -z "$name" ] && continue
    # Module names treat "-" and "_" alike (virtio_rng is virtio-rng.ko).
    pattern=$(printf '%s' "$name" | sed 's/[-_]/[-_]/g')
    find "$modroot/kernel" -name "$pattern.ko" | sed 's|.*/||; s|\.ko$||' | sort |
      grep . || { echo "modules.list: no module matches \"$name\" in $modroot" >&2; exit 1; }
  done | sort -u | while read -r module; do
    modprobe -S "$kver" --show-depends "$module" | awk '$1 == "insmod" { print $2 }'
  done | sort -u
}

install_modules() {
  module_files >"$work/modules"
  while read -r file; do
    mkdir -p "$root/$(dirname "$file")"
    cp "$file" "$root/$file"
  done <"$work/modules"
  for meta in modules.order modules.builtin modules.builtin.modinfo; do
    cp "/lib/modules/$kver/$meta" "$root/lib/modules/$kver/"
  done
  depmod -b "$root" "$kver"
  for when in boot early; do
    sed 's/#.*//' "$src/modules.list" | awk -v when=$when '$2 == when { print $1 }' \
      >"$root/etc/kubedesk/modules.$when"
  done
}

install_config() {
  for script in boot agent shutdown udhcpc; do
    install -m 0755 "$src/$script.sh" "$root/etc/kubedesk/$script"
  done
  install -m 0644 "$src/inittab" "$root/etc/inittab"
  mkdir -p "$root/etc/acpi/PWRF"
  printf '#!/bin/sh\nexec poweroff\n' >"$root/etc/acpi/PWRF/00000080"
  chmod 0755 "$root/etc/acpi/PWRF/00000080"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' \
    >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
  # Names resolve from /etc/hosts only: the guest has no DNS server to ask.
  printf 'passwd: files\ngroup: files\nhosts: files\n' >"$root/etc/nsswitch.conf"
  cp -r "$busybox_image" "$root/usr/share/kubedesk/images/busybox"
}

# Stage 1: busybox, init, and the modules (dependencies first) that show the root disk, loaded
# in the order of /etc/modules by busybox's insmod; the root file system has them too, for
# kmod's modprobe, which then finds them loaded.
make_stage1() {
  mkdir -p "$stage1/dev" "$stage1/proc" "$stage1/sys" "$stage1/newroot" "$stage1/etc" \
    "$stage1/lib/modules"
  install_busybox "$stage1"
  install -m 0755 "$src/init" "$stage1/init"
  for module in virtio_pci virtio_blk squashfs; do
    modprobe -S "$kver" --show-depends "$module" | awk '$1 == "insmod" { print $2 }'
  done | awk '!seen[$0]++' | while read -r file; do
    name=$(basename "$file" .ko)
    cp "$file" "$stage1/lib/modules/$name.ko"
    echo "$name"
  done >"$stage1/etc/modules"
}

# Every file gets the same time and owner root (mksquashfs -all-root, cpio --owner).
set_times() {
  find "$1" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
}

# The root file system: squashfs, lz4 (high compression): under TCG lz4 unpacks several times
# faster than gzip or xz, and the guest unpacks only the blocks it reads.
pack_root() {
  set_times "$root"
  mksquashfs "$root" "$work/rootfs.img" -quiet -no-progress -noappend -comp lz4 -Xhc \
    -all-root -no-xattrs -mkfs-time "$SOURCE_DATE_EPOCH" -all-time "$SOURCE_DATE_EPOCH" \
    -processors 2 >/dev/null
}

# Sorted, fixed-time, root-owned newc archive, lz4-compressed (the legacy frame the kernel
# reads): under TCG the kernel unpacks it several seconds faster than gzip, for 15% more bytes.
pack_stage1() {
  set_times "$stage1"
  (cd "$stage1" && find . -print0 | LC_ALL=C sort -z |
    cpio --null --create --format=newc --reproducible --owner=0:0 --quiet) |
    lz4 -l -9 -q >"$work/initramfs.img"
}

# The kernel the guest boots: the uncompressed ELF inside Debian's bzImage, which qemu starts
# at its PVH entry point. Under TCG the bzImage's own xz decompressor takes about 25 s of a
# 40 s boot; qemu loads the ELF at host speed. trim_kernel.py leaves out the zero tail and
# padding the ELF stores (66 -> 35 MB). Falls back to the bzImage when the kernel has no PVH
# entry or another compression.
extract_kernel() {
  bzimage=$1
  dest=$2
  field() { od -An -tu"$2" -j "$1" -N "$2" "$bzimage" | tr -d ' '; }
  setup_sects=$(field 497 1)
  [ "$setup_sects" -eq 0 ] && setup_sects=4
  start=$(((setup_sects + 1) * 512 + $(field 584 4)))
  tail -c +$((start + 1)) "$bzimage" | head -c "$(field 588 4)" >"$work/payload"
  if xz -dc --single-stream "$work/payload" >"$work/vmlinux" 2>/dev/null &&
    readelf -n "$work/vmlinux" | grep -q 'Xen.*0x00000012'; then
    python3 "$src/trim_kernel.py" "$work/vmlinux" "$dest"
  else
    echo "build_node_image.sh: $bzimage has no xz payload with a PVH entry; using it as is" >&2
    cp "$bzimage" "$dest"
  fi
}

make_skeleton
install_busybox "$root"
install_programs
install_modules
install_config
pack_root
make_stage1
pack_stage1

mkdir -p "$out"
extract_kernel "/boot/vmlinuz-$kver" "$out/vmlinuz.tmp"
mv "$out/vmlinuz.tmp" "$out/vmlinuz"
for file in initramfs.img rootfs.img; do
  cp "$work/$file" "$out/$file.tmp"
  mv "$out/$file.tmp" "$out/$file"
done
