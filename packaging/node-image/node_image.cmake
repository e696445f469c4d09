# The VM node image: ${CMAKE_BINARY_DIR}/node-image/vmlinuz, initramfs.img (stage 1) and
# rootfs.img (the read-only root disk), built from the build machine's Debian kernel and
# packages (packaging/install-deps.sh, group "VM nodes") plus kubedesk-node and the bundled
# busybox image. Target: kd_node_image.
#
# vmlinuz is what qemu's -kernel (libvirt's <kernel>) boots: Debian's kernel uncompressed, an
# ELF started at its PVH entry, because the bzImage's xz decompression alone takes ~25 s under
# TCG. The guest side (init, inittab, scripts) is described in build_node_image.sh and boot.sh.
#
# KD_NODE_KERNEL_RELEASE picks the kernel (/boot/vmlinuz-<release> and /lib/modules/<release>);
# by default the newest one installed. Without any, the target is left out with a message.
set(_kd_node_kernels)
file(GLOB _kd_vmlinuz /boot/vmlinuz-*)
foreach(_kd_file IN LISTS _kd_vmlinuz)
  string(REGEX REPLACE "^/boot/vmlinuz-" "" _kd_release "${_kd_file}")
  if(IS_DIRECTORY /lib/modules/${_kd_release})
    list(APPEND _kd_node_kernels ${_kd_release})
  endif()
endforeach()
set(_kd_newest_kernel "")
if(_kd_node_kernels)
  list(SORT _kd_node_kernels COMPARE NATURAL ORDER DESCENDING)
  list(GET _kd_node_kernels 0 _kd_newest_kernel)
endif()
set(KD_NODE_KERNEL_RELEASE "${_kd_newest_kernel}" CACHE STRING
    "Kernel release the VM node image boots (empty: the newest installed)")

set(_kd_node_programs /usr/bin/crun /usr/sbin/nft /usr/sbin/dnsmasq /usr/sbin/mke2fs
    /usr/sbin/e2fsck /usr/sbin/ip /usr/bin/tar /usr/bin/unshare /usr/bin/nsenter /usr/bin/kmod)
set(_kd_node_missing)
foreach(_kd_file IN ITEMS /boot/vmlinuz-${KD_NODE_KERNEL_RELEASE} /usr/bin/cpio /usr/bin/lz4
                          /usr/bin/mksquashfs ${KD_BUSYBOX_BINARY} ${_kd_node_programs})
  if(NOT EXISTS ${_kd_file})
    list(APPEND _kd_node_missing ${_kd_file})
  endif()
endforeach()

if(NOT KD_NODE_KERNEL_RELEASE OR _kd_node_missing)
  message(STATUS "VM node image: not built, missing ${_kd_node_missing} "
                 "(kernel \"${KD_NODE_KERNEL_RELEASE}\"); run packaging/install-deps.sh")
else()
  set(KD_NODE_IMAGE_DIR ${CMAKE_BINARY_DIR}/node-image)
  set(_kd_src ${CMAKE_SOURCE_DIR}/packaging/node-image)
  set(_kd_busybox_layout ${CMAKE_BINARY_DIR}/images/busybox)
  add_custom_command(
    OUTPUT ${KD_NODE_IMAGE_DIR}/vmlinuz ${KD_NODE_IMAGE_DIR}/initramfs.img
           ${KD_NODE_IMAGE_DIR}/rootfs.img
    COMMAND ${_kd_src}/build_node_image.sh ${KD_NODE_KERNEL_RELEASE} $<TARGET_FILE:kubedesk-node>
            ${KD_BUSYBOX_BINARY} ${_kd_busybox_layout} ${_kd_src} ${KD_NODE_IMAGE_DIR}
    DEPENDS ${_kd_src}/build_node_image.sh ${_kd_src}/modules.list ${_kd_src}/init
            ${_kd_src}/inittab ${_kd_src}/boot.sh ${_kd_src}/agent.sh ${_kd_src}/shutdown.sh
            ${_kd_src}/udhcpc.sh ${_kd_src}/trim_kernel.py kubedesk-node ${_kd_busybox_layout}/index.json
            /boot/vmlinuz-${KD_NODE_KERNEL_RELEASE} ${_kd_node_programs}
    COMMENT "Building the VM node image (kernel ${KD_NODE_KERNEL_RELEASE})"
    VERBATIM)
  add_custom_target(kd_node_image ALL
                    DEPENDS ${KD_NODE_IMAGE_DIR}/vmlinuz ${KD_NODE_IMAGE_DIR}/initramfs.img
                            ${KD_NODE_IMAGE_DIR}/rootfs.img)
  add_dependencies(kd_node_image kubedesk-node kd_busybox_image)
endif()
