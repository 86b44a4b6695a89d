# The Debian package (CPack DEB): `scripts/package` builds it. The binary and the migrations
# are installed by the top-level install rules; this adds what a system daemon needs.
#
# /etc and /lib/systemd are absolute on purpose: they do not move with the /usr prefix.

set(CALIPER_PKG_SOURCE ${PROJECT_SOURCE_DIR})

install(FILES ${CALIPER_PKG_SOURCE}/config/systemd/caliper-sessiond.service
        DESTINATION /lib/systemd/system
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
# Mode 0640; postinst gives it to group caliper-sessiond (which does not exist at unpack).
install(FILES ${CALIPER_PKG_SOURCE}/config/caliper-sessiond.toml
        DESTINATION /etc/caliper-sessiond
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
# Empty directories for the files LoadCredential= reads: root-only, systemd copies them.
install(DIRECTORY DESTINATION /etc/caliper-sessiond/credentials
        DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)
install(DIRECTORY DESTINATION /etc/caliper-sessiond/tls
        DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                              WORLD_READ WORLD_EXECUTE)
install(FILES ${CALIPER_PKG_SOURCE}/README.md DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/caliper-sessiond
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME caliper-sessiond)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "caliper-sessiond maintainers <root@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "IMS Caliper SessionEvent receiver storing into PostgreSQL")
set(CPACK_PACKAGE_DESCRIPTION
    "caliper-sessiond receives IMS Caliper event streams from learning platforms (Blackboard Learn's Caliper Event Store, Canvas, Moodle) over HTTPS and stores one row per SessionEvent (LoggedIn, LoggedOut, TimedOut) in PostgreSQL.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
# No warning for the absolute /etc and /lib destinations above; they are intended.
set(CPACK_WARN_ON_ABSOLUTE_INSTALL_DESTINATION OFF)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# dpkg-shlibdeps (dpkg-dev) computes the shared-library Depends; adduser runs in postinst.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd, postgresql-client")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postgresql")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CALIPER_PKG_SOURCE}/cmake/debian/conffiles
    ${CALIPER_PKG_SOURCE}/cmake/debian/postinst
    ${CALIPER_PKG_SOURCE}/cmake/debian/prerm
    ${CALIPER_PKG_SOURCE}/cmake/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
