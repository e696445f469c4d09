# The bundled busybox image: an OCI image layout at ${CMAKE_BINARY_DIR}/images/busybox, built
# from Debian's static busybox (package busybox-static). Target: kd_busybox_image.
set(KD_BUSYBOX_BINARY /usr/bin/busybox CACHE FILEPATH "Static busybox the bundled image is built from")
set(KD_BUSYBOX_IMAGE_DIR ${CMAKE_BINARY_DIR}/images/busybox)
add_custom_command(
  OUTPUT ${KD_BUSYBOX_IMAGE_DIR}/index.json
  COMMAND ${CMAKE_SOURCE_DIR}/packaging/images/build_busybox_image.sh ${KD_BUSYBOX_BINARY}
          ${KD_BUSYBOX_IMAGE_DIR}
  DEPENDS ${CMAKE_SOURCE_DIR}/packaging/images/build_busybox_image.sh ${KD_BUSYBOX_BINARY}
  COMMENT "Building the bundled busybox OCI image"
  VERBATIM)
add_custom_target(kd_busybox_image ALL DEPENDS ${KD_BUSYBOX_IMAGE_DIR}/index.json)
