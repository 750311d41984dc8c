# Area: KPL aggregated records. Unit tests are tests/unit/test_kpl.c (registered
# with the other unit suites); the fuzz target is tests/fuzz/fuzz_kpl.c.
#
# kpl_interop: interoperability both ways with aws-kinesis-agg (npm), driven by
# tests/integration/kpl_interop.js through kpl_tool. It needs the npm modules
# of tests/services, which the aws_services fixture installs (`npm ci` from the
# committed lock file, in tests/services/start.sh).
if(NOT TP_BUILD_TESTS)
    return()
endif()

add_executable(kpl_tool ${CMAKE_CURRENT_SOURCE_DIR}/integration/kpl_tool.c)
target_compile_options(kpl_tool PRIVATE -Wall -Wextra)
target_compile_definitions(kpl_tool PRIVATE _GNU_SOURCE)
target_link_libraries(kpl_tool PRIVATE tradepipe_static)

find_program(TP_NODE node)
if(TP_NODE)
    tp_exe(kpl_tool_exe kpl_tool)
    add_test(NAME kpl_interop
             COMMAND ${TP_NODE} ${CMAKE_CURRENT_SOURCE_DIR}/integration/kpl_interop.js
                     ${kpl_tool_exe})
    set_tests_properties(kpl_interop PROPERTIES FIXTURES_REQUIRED aws_services TIMEOUT 300
                         ENVIRONMENT "${TP_TEST_ENV}")
else()
    add_test(NAME kpl_interop COMMAND sh -c "echo 'kpl_interop: node is not installed (scripts/deps installs it)' >&2; exit 1")
endif()
