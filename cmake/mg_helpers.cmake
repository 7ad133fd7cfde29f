# Helpers that give every target of the project the same warnings and sanitizer flags.

function(mg_target_options target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual
                                           -Wimplicit-fallthrough)
  if(MG_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(MG_FUZZ)
    # Coverage feedback for libFuzzer without its main(); the fuzz targets add -fsanitize=fuzzer.
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link,address,undefined
                                             -fno-sanitize-recover=all -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
  if(MG_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=${MG_SANITIZE} -fno-omit-frame-pointer
                                             -fno-sanitize-recover=all)
    target_link_options(${target} PRIVATE -fsanitize=${MG_SANITIZE})
    if(MG_SANITIZE MATCHES "thread" AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      # Boost.Asio uses atomic_thread_fence internally, which GCC warns TSan cannot model; our
      # own code has no fences in TSan builds (see cardinality/bloom_tracker.cpp).
      target_compile_options(${target} PRIVATE -Wno-tsan)
    endif()
  endif()
endfunction()

# mg_text_order(<executable>): lays the executable's functions out in the order of
# cmake/text-order.txt (lld --symbol-ordering-file; names it no longer has are skipped quietly), and
# relinks it when that file changes. Nothing when MG_TEXT_ORDER is off.
function(mg_text_order target)
  if(MG_TEXT_ORDER)
    target_link_options(${target} PRIVATE LINKER:--symbol-ordering-file=${MG_TEXT_ORDER_FILE}
                                          LINKER:--no-warn-symbol-ordering)
    set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${MG_TEXT_ORDER_FILE})
  endif()
endfunction()

# mg_add_module(<name> SOURCES ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
# Defines the static library mg_<name> with src/ as its public include root, so headers are
# included as "<module>/<file>.h".
function(mg_add_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(mg_${name} STATIC ${ARG_SOURCES})
  target_include_directories(mg_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(mg_${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  mg_target_options(mg_${name})
endfunction()

# mg_add_unit_test(<name> SOURCES ... DEPS ... [TIMEOUT seconds])
# A Catch2 v2 executable registered test by test with ctest (catch_discover_tests). TIMEOUT (300
# by default) bounds each test case. With MG_UNITY_TESTS its sources compile as unity batches:
# Catch2's and the libraries' templates are instantiated once per batch instead of once per file,
# which takes about 40% off the tests' compile time, in each of CI's three builds. The price: a
# file's own names (anonymous namespace, file-scope usings) must not clash with another file's
# of the same executable (docs/testing.md).
function(mg_add_unit_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES UNITY_BUILD ${MG_UNITY_TESTS})
  target_link_libraries(${name} PRIVATE mg_catch_main ${ARG_DEPS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  mg_target_options(${name})
  # -w NoTests: a name ctest mangles (a ';' splits it) matches nothing and must fail, not pass.
  catch_discover_tests(${name} TEST_PREFIX "${name}:" EXTRA_ARGS -w NoTests
                       PROPERTIES TIMEOUT ${ARG_TIMEOUT})
endfunction()

# mg_npm_ci(TARGET name DIR dir FILES file... COMMENT text): the npm packages of an end-to-end
# test client (tests/otel, tests/ui): `npm ci` of the package.json and package-lock.json beside
# the calling CMakeLists.txt into DIR (the build tree, never the source tree), with npm's cache
# in the build tree too, as part of the default build and again only when one of them changed
# (a stamp file). No install scripts run (--ignore-scripts). FILES (the client's scripts) are
# copied next to node_modules, where Node's ES module resolution finds the packages. Without npm
# it says so and defines nothing: the test then fails and names what to install.
function(mg_npm_ci)
  cmake_parse_arguments(arg "" "TARGET;DIR;COMMENT" "FILES" ${ARGN})
  find_program(MG_NPM npm)
  if(NOT MG_NPM)
    message(STATUS "npm not found: ${arg_COMMENT} is not installed; its end-to-end test will fail "
                   "and say what to install (scripts/install-deps.sh --e2e)")
    return()
  endif()
  set(src ${CMAKE_CURRENT_SOURCE_DIR})
  set(stamp ${arg_DIR}/npm-ci.stamp)
  add_custom_command(
    OUTPUT ${stamp}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${arg_DIR}
    COMMAND ${CMAKE_COMMAND} -E copy ${src}/package.json ${src}/package-lock.json ${arg_DIR}
    COMMAND ${MG_NPM} ci --prefix ${arg_DIR} --cache ${CMAKE_BINARY_DIR}/npm-cache
            --prefer-offline --ignore-scripts --no-audit --no-fund --loglevel=error
    COMMAND ${CMAKE_COMMAND} -E touch ${stamp}
    DEPENDS ${src}/package.json ${src}/package-lock.json
    COMMENT "npm ci: ${arg_COMMENT}"
    VERBATIM)
  set(copied)
  foreach(f ${arg_FILES})
    add_custom_command(
      OUTPUT ${arg_DIR}/${f}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${arg_DIR}
      COMMAND ${CMAKE_COMMAND} -E copy ${src}/${f} ${arg_DIR}
      DEPENDS ${src}/${f}
      VERBATIM)
    list(APPEND copied ${arg_DIR}/${f})
  endforeach()
  add_custom_target(${arg_TARGET} ALL DEPENDS ${stamp} ${copied})
endfunction()
