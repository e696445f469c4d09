#!/bin/sh
# Builds the bundled busybox image as an OCI image layout directory from a static busybox binary.
# Usage: build_busybox_image.sh <static busybox> <output dir>
#
# The result is reproducible: every file has a fixed mode, owner and mtime, tar entries are
# sorted and gzip stores no name or time, so the manifest digest is the same on every build.
set -eu

busybox=$1
out=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

root=$work/rootfs
mkdir -p "$root/bin" "$root/etc" "$root/root" "$root/tmp" "$root/home"
install -m 0755 "$busybox" "$root/bin/busybox"
# One link per applet at the path busybox itself reports (bin/sh, usr/bin/env, sbin/ip, ...).
"$busybox" --list-full | sort | while read -r applet; do
  [ "$applet" = "bin/busybox" ] && continue
  mkdir -p "$root/$(dirname "$applet")"
  ln -sf /bin/busybox "$root/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' \
  >"$root/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' >"$root/etc/group"
find "$root" -type d -exec chmod 0755 {} +
chmod 0644 "$root/etc/passwd" "$root/etc/group"
chmod 0700 "$root/root"
chmod 1777 "$root/tmp"

tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu \
  -C "$root" -cf "$work/layer.tar" .
gzip -n -9 -c "$work/layer.tar" >"$work/layer.tar.gz"

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }

blobs=$work/image/blobs/sha256
mkdir -p "$blobs"
diff_id=$(sha "$work/layer.tar")
layer=$(sha "$work/layer.tar.gz")
cp "$work/layer.tar.gz" "$blobs/$layer"

version=$("$busybox" 2>&1 | head -n1 | cut -d' ' -f2)
printf '%s' "{\"architecture\":\"amd64\",\"os\":\"linux\",\
\"config\":{\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\
\"Cmd\":[\"sh\"],\"Labels\":{\"org.opencontainers.image.version\":\"$version\"}},\
\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$diff_id\"]},\
\"history\":[{\"created_by\":\"kubedesk: Debian busybox-static $version\"}]}" >"$work/config.json"
config=$(sha "$work/config.json")
cp "$work/config.json" "$blobs/$config"

printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\
\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\
\"digest\":\"sha256:$config\",\"size\":$(size "$work/config.json")},\
\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\
\"digest\":\"sha256:$layer\",\"size\":$(size "$work/layer.tar.gz")}]}" >"$work/manifest.json"
manifest=$(sha "$work/manifest.json")
cp "$work/manifest.json" "$blobs/$manifest"

# ref.name carries the tag as the OCI spec and containerd do; io.containerd.image.name the full
# reference, so importers need no outside knowledge of what the layout holds.
printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\
\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\
\"digest\":\"sha256:$manifest\",\"size\":$(size "$work/manifest.json"),\
\"annotations\":{\"io.containerd.image.name\":\"docker.io/library/busybox:latest\",\
\"org.opencontainers.image.ref.name\":\"latest\"}}]}" >"$work/image/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' >"$work/image/oci-layout"

rm -rf "$out.tmp"
mkdir -p "$(dirname "$out")"
cp -r "$work/image" "$out.tmp"
rm -rf "$out"
mv "$out.tmp" "$out"
