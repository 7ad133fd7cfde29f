# `make install` runs `cmake --install build/release --prefix PREFIX` with DESTDIR: this runs the
# same install rules on the test build tree into a fresh staging directory and checks what lands
# there, and that the installed daemon runs and accepts the installed example configuration.
#   -DBUILD_DIR=<build tree>  -DSTAGE=<empty directory to stage into, recreated>
foreach(var BUILD_DIR STAGE)
  if(NOT ${var})
    message(FATAL_ERROR "install_test.cmake needs -D${var}=...")
  endif()
endforeach()
file(REMOVE_RECURSE "${STAGE}")
set(prefix /opt/mg-prefix)  # not the default, so a PREFIX that is ignored shows
set(ENV{DESTDIR} "${STAGE}")
execute_process(COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed (${rc}):\n${out}${err}")
endif()

set(root "${STAGE}${prefix}")
# The gRPC plugin where the daemon looks for it (src/grpc_plugin/plugin_loader.h).
set(expected bin/metrics-governor lib/metrics-governor/metrics-governor-grpc.so
             share/metrics-governor/limits.example.yaml share/metrics-governor/metrics-governor.yaml)
file(GLOB_RECURSE installed LIST_DIRECTORIES false RELATIVE "${root}" "${STAGE}/*")
list(SORT installed)
if(NOT installed STREQUAL expected)
  message(FATAL_ERROR "installed files: ${installed}\nwant exactly: ${expected}\n"
                      "(nothing may land outside DESTDIR/PREFIX)")
endif()
# Runs only if installed executable.
execute_process(COMMAND "${root}/bin/metrics-governor" validate
                        -config "${root}/share/metrics-governor/metrics-governor.yaml"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "^configuration OK")
  message(FATAL_ERROR "the installed daemon refused the installed config (${rc}):\n${out}${err}")
endif()
file(REMOVE_RECURSE "${STAGE}")
