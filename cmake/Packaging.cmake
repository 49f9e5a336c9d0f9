# The Debian package (cpack -G DEB): exportd and exportctl in /usr/bin, the
# example configuration in /etc/exportd/, the systemd units, the nginx snippet
# and upstream, the demo data generator, and maintainer scripts from
# deploy/debian/. Installed layout (see deploy/debian/postinst):
#   /var/lib/exportd          exportd:exportd 0751  StateDirectory
#   /var/lib/exportd/data     exportd:exportd 0750  data_dir (registry.db)
#   /var/lib/exportd/exports  exportd:www-data 0750 exports_dir (nginx reads it)
#   /var/lib/exportd/demo.db  the demo dataset of the example datasets.json

set(EXPORTD_DEB_DIR ${PROJECT_SOURCE_DIR}/deploy/debian)
set(EXPORTD_PKG_GEN ${PROJECT_BINARY_DIR}/package)

# The package's configuration is the repository's example with absolute paths;
# derived here so that the two never drift. A replacement that finds nothing
# stops the configure step instead of shipping a wrong file.
function(exportd_derive_file source target)
  file(READ ${source} text)
  math(EXPR last "${ARGC} - 1")
  foreach(i RANGE 2 ${last} 2)
    math(EXPR j "${i} + 1")
    set(from "${ARGV${i}}")
    set(to "${ARGV${j}}")
    string(FIND "${text}" "${from}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "Packaging: '${from}' not found in ${source}; update cmake/Packaging.cmake")
    endif()
    string(REPLACE "${from}" "${to}" text "${text}")
  endforeach()
  file(WRITE ${target} "${text}")
endfunction()

exportd_derive_file(${PROJECT_SOURCE_DIR}/deploy/exportd.properties ${EXPORTD_PKG_GEN}/exportd.properties
  "data_dir = /var/lib/exportd\n"
  "# Packaged layout: /var/lib/exportd (0751) holds data/ (registry, exportd's\n# own) and exports/ (group www-data, read by nginx's workers).\ndata_dir = /var/lib/exportd/data\n"
  "# exports_dir = /var/lib/exportd/exports\n"
  "exports_dir = /var/lib/exportd/exports\n"
  "# registry = sqlite:/var/lib/exportd/registry.db\n"
  "# registry = sqlite:/var/lib/exportd/data/registry.db\n")
exportd_derive_file(${PROJECT_SOURCE_DIR}/deploy/datasets.json ${EXPORTD_PKG_GEN}/datasets.json
  "\"sqlite:demo.db\"" "\"sqlite:/var/lib/exportd/demo.db\"")

install(FILES ${EXPORTD_PKG_GEN}/exportd.properties ${EXPORTD_PKG_GEN}/datasets.json
        DESTINATION /etc/exportd PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/exportd.service ${PROJECT_SOURCE_DIR}/deploy/exportd.socket
              ${PROJECT_SOURCE_DIR}/deploy/exportd-sweep.service ${PROJECT_SOURCE_DIR}/deploy/exportd-sweep.timer
        DESTINATION /lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/nginx/exportd.conf DESTINATION /etc/nginx/snippets)
install(FILES ${EXPORTD_DEB_DIR}/exportd-upstream.conf DESTINATION /etc/nginx/conf.d)
install(PROGRAMS ${PROJECT_SOURCE_DIR}/deploy/make_demo_db.sh DESTINATION share/exportd)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/nginx/www/ DESTINATION share/exportd/www)
foreach(doc README.md docs/exportctl.md)
  if(EXISTS ${PROJECT_SOURCE_DIR}/${doc})
    install(FILES ${PROJECT_SOURCE_DIR}/${doc} DESTINATION share/doc/exportd)
  endif()
endforeach()

# What Debian asks of every package (lintian): the copyright file, the
# changelog (changelog.gz: the version has no Debian revision, so the package
# is native), a manual page per program, all compressed with gzip -9n (no name,
# no time stamp: the same bytes on every build). Made at configure time;
# editing a source re-runs it.
function(exportd_gzip source target)
  set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${source})
  get_filename_component(dir ${target} DIRECTORY)
  file(MAKE_DIRECTORY ${dir})
  execute_process(COMMAND gzip -9nc ${source} OUTPUT_FILE ${target} RESULT_VARIABLE failed)
  if(failed)
    message(FATAL_ERROR "Packaging: gzip ${source} failed")
  endif()
endfunction()
exportd_gzip(${EXPORTD_DEB_DIR}/changelog ${EXPORTD_PKG_GEN}/doc/changelog.gz)
exportd_gzip(${PROJECT_SOURCE_DIR}/docs/man/exportd.8 ${EXPORTD_PKG_GEN}/man/exportd.8.gz)
exportd_gzip(${PROJECT_SOURCE_DIR}/docs/man/exportctl.1 ${EXPORTD_PKG_GEN}/man/exportctl.1.gz)
set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${EXPORTD_DEB_DIR}/copyright)
install(FILES ${EXPORTD_PKG_GEN}/doc/changelog.gz ${EXPORTD_DEB_DIR}/copyright DESTINATION share/doc/exportd)
install(FILES ${EXPORTD_PKG_GEN}/man/exportd.8.gz DESTINATION share/man/man8)
install(FILES ${EXPORTD_PKG_GEN}/man/exportctl.1.gz DESTINATION share/man/man1)
install(FILES ${EXPORTD_DEB_DIR}/lintian-overrides DESTINATION share/lintian/overrides RENAME exportd)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME exportd)
set(CPACK_PACKAGE_VENDOR "exportd")
set(CPACK_PACKAGE_CONTACT "exportd maintainers <maintainers@exportd.example.org>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "data exports that delete themselves (FastCGI service behind nginx)")
set(CPACK_PACKAGE_DESCRIPTION "exportd generates CSV, NDJSON and XLSX exports of configured datasets on\nrequest, lets their owner download each file for a limited time through nginx,\nand deletes it retention_seconds after it became ready. exportctl is its\ncommand-line client.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION web)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# sqlite3 makes the demo dataset of the example configuration.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, sqlite3")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "nginx")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "spawn-fcgi")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${EXPORTD_DEB_DIR}/postinst ${EXPORTD_DEB_DIR}/prerm ${EXPORTD_DEB_DIR}/postrm ${EXPORTD_DEB_DIR}/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_STRIP_FILES TRUE)
# Only the programs, not the unit tests' libraries or headers.
set(CPACK_COMPONENTS_ALL Unspecified)
set(CPACK_WARN_ON_ABSOLUTE_INSTALL_DESTINATION OFF)
include(CPack)
