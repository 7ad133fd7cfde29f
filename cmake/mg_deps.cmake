# The daemon's small C and C++ libraries that Debian also ships as static archives (zlib, snappy,
# xxhash, yaml-cpp, hiredis), as interface targets mg_dep_<name> that link the shared library, or
# the archive for a target whose property MG_STATIC_DEPS is on: the daemon (cmd/metrics-governor)
# with the option MG_STATIC_DEPS. A shared library costs its symbol and relocation tables and
# 64 KiB of fault-around per page touched at every start; from the archive the daemon takes only
# the objects it calls (about 0.5 MB less resident at the benchmark's peak: docs/benchmarks.md,
# "The gRPC plugin and static libraries"). Tests and tools link the shared ones. OpenSSL goes
# through the same targets but stays shared (see below); spdlog is header-only (src/logging);
# fmt, prometheus-cpp and libstdc++ stay shared (no archive, or the gRPC plugin shares the
# process's libstdc++).
option(MG_STATIC_DEPS "Link the daemon with the static archives of zlib, snappy, xxhash, yaml-cpp and hiredis" ON)

find_package(OpenSSL REQUIRED)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)

# mg_dep(<name> SHARED <targets...> STATIC <archive names...> [STATIC_EXTRA <items...>])
function(mg_dep name)
  cmake_parse_arguments(ARG "" "" "SHARED;STATIC;STATIC_EXTRA" ${ARGN})
  set(archives "")
  if(MG_STATIC_DEPS)
    foreach(a IN LISTS ARG_STATIC)
      find_library(MG_ARCHIVE_${a} NAMES ${a} NO_CACHE)
      if(NOT MG_ARCHIVE_${a})
        message(FATAL_ERROR "MG_STATIC_DEPS: ${a} not found; install the Debian -dev package "
                            "(scripts/install-deps.sh) or configure with -DMG_STATIC_DEPS=OFF")
      endif()
      list(APPEND archives ${MG_ARCHIVE_${a}})
      set_property(GLOBAL APPEND PROPERTY MG_STATIC_ARCHIVES ${MG_ARCHIVE_${a}})
    endforeach()
    list(APPEND archives ${ARG_STATIC_EXTRA})
  endif()
  add_library(mg_dep_${name} INTERFACE)
  set(static_on "$<BOOL:$<TARGET_PROPERTY:MG_STATIC_DEPS>>")
  if(archives)
    string(REPLACE ";" "$<SEMICOLON>" archive_list "${archives}")
    string(REPLACE ";" "$<SEMICOLON>" shared_list "${ARG_SHARED}")
    target_link_libraries(mg_dep_${name} INTERFACE "$<IF:${static_on},${archive_list},${shared_list}>")
  else()
    target_link_libraries(mg_dep_${name} INTERFACE ${ARG_SHARED})
  endif()
  # Headers (all under /usr/include) and definitions come from the shared targets either way.
  foreach(t IN LISTS ARG_SHARED)
    if(TARGET ${t})
      target_include_directories(mg_dep_${name} INTERFACE $<TARGET_PROPERTY:${t},INTERFACE_INCLUDE_DIRECTORIES>)
      target_compile_definitions(mg_dep_${name} INTERFACE $<TARGET_PROPERTY:${t},INTERFACE_COMPILE_DEFINITIONS>)
    endif()
  endforeach()
endfunction()

# OpenSSL stays shared: its archive saved nothing (its objects, built without a section per
# function, made as much of the binary resident as the shared library costs) and the daemon then
# takes Debian's security updates of libssl3 at its next start.
mg_dep(openssl SHARED OpenSSL::SSL OpenSSL::Crypto)
mg_dep(crypto SHARED OpenSSL::Crypto)
mg_dep(zlib SHARED ZLIB::ZLIB STATIC libz.a)
mg_dep(snappy SHARED Snappy::snappy STATIC libsnappy.a)
mg_dep(xxhash SHARED PkgConfig::XXHASH STATIC libxxhash.a)
mg_dep(yaml SHARED yaml-cpp STATIC libyaml-cpp.a)
mg_dep(hiredis SHARED PkgConfig::HIREDIS STATIC libhiredis.a)
