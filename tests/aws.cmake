# Area: HTTP, AWS protocols and the Kinesis / DynamoDB / S3 clients.
#
# The emulators (tests/services: kinesalite, dynalite, s3rver) are a ctest
# fixture: aws_services_start runs before any test that needs them and
# aws_services_stop after the last one, even when tests fail. Their endpoints
# are in ${TP_SERVICES_STATE}/endpoints.env.
if(NOT TP_BUILD_TESTS)
    return()
endif()

set(TP_SERVICES_STATE ${PROJECT_BINARY_DIR}/services)
set(TP_AWS_TEST_ENV "${TP_TEST_ENV};TP_SERVICES_STATE=${TP_SERVICES_STATE}")

add_test(NAME aws_services_start
         COMMAND ${PROJECT_SOURCE_DIR}/tests/services/start.sh ${TP_SERVICES_STATE})
set_tests_properties(aws_services_start PROPERTIES FIXTURES_SETUP aws_services TIMEOUT 600)
add_test(NAME aws_services_stop
         COMMAND ${PROJECT_SOURCE_DIR}/tests/services/stop.sh ${TP_SERVICES_STATE})
set_tests_properties(aws_services_stop PROPERTIES FIXTURES_CLEANUP aws_services TIMEOUT 60)
# What the signature checker in front of the emulators verified: every signed
# request of the suite, as it arrived on the wire, recomputed with botocore.
# Fails on any mismatch (and when it saw nothing). Runs before the stop.
add_test(NAME aws_sigcheck_report
         COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/tests/services/sigcheck.py --report
                 ${TP_SERVICES_STATE})
set_tests_properties(aws_sigcheck_report PROPERTIES FIXTURES_CLEANUP aws_services TIMEOUT 60)
set_tests_properties(aws_services_stop PROPERTIES DEPENDS aws_sigcheck_report)

# The checker itself fails what it should (requests changed after signing).
add_test(NAME sigcheck_selftest COMMAND /usr/bin/python3
         ${PROJECT_SOURCE_DIR}/tests/services/test_sigcheck.py)

add_test(NAME aws_services_smoke
         COMMAND ${PROJECT_SOURCE_DIR}/tests/integration/services_smoke.sh ${TP_SERVICES_STATE})
set_tests_properties(aws_services_smoke PROPERTIES FIXTURES_REQUIRED aws_services TIMEOUT 120
                     ENVIRONMENT "${TP_AWS_TEST_ENV}")

# Integration suites: tests/integration/it_<name>.c, Check suites like the
# unit tests, run against the emulators.
file(GLOB TP_AWS_IT CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/integration/it_*.c)
foreach(src IN LISTS TP_AWS_IT)
    get_filename_component(name ${src} NAME_WE)
    add_executable(${name} ${src})
    target_compile_options(${name} PRIVATE -Wall -Wextra -Wno-sign-compare)
    target_link_libraries(${name} PRIVATE tp_testutil)
    tp_exe(exe ${name})
    add_test(NAME ${name} COMMAND ${exe})
    set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED aws_services TIMEOUT 600
                         ENVIRONMENT "${TP_AWS_TEST_ENV}")
endforeach()

# tp-parse s3://BUCKET/PREFIX: the same output as on a local copy (awscli uploads).
if(TP_BUILD_EXAMPLES AND NOT TP_FUZZ)
    find_package(Python3 COMPONENTS Interpreter REQUIRED)
    tp_exe(tp_parse tp-parse)
    tp_exe(tp_gen tp-gen)
    tp_exe(tp_consumer tp-consumer)
    tp_exe(tp_lambda tp-lambda-bootstrap)
    tp_exe(kpl_tool_exe kpl_tool)
    tp_exe_dir(tp_bin)
    add_test(NAME tp_parse_s3
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/parse/test_tp_parse_s3.py
                     ${tp_parse} ${tp_gen} ${TP_SERVICES_STATE})
    set_tests_properties(tp_parse_s3 PROPERTIES FIXTURES_REQUIRED aws_services TIMEOUT 600
                         ENVIRONMENT "${TP_AWS_TEST_ENV}")
endif()

# tp-lambda-bootstrap behind the Runtime API fixture (tests/fixtures/lambda_runtime.py),
# on dynalite and s3rver: effects equal tp-consumer's replay of the same ticks,
# poisoned records, redelivery, init and invocation errors, store failures.
if(TP_BUILD_EXAMPLES AND NOT TP_FUZZ)
    add_test(NAME lambda_bootstrap
             COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/lambda/test_bootstrap.py
                     ${tp_lambda} ${tp_consumer} ${tp_gen} ${kpl_tool_exe} ${TP_SERVICES_STATE})
    set_tests_properties(lambda_bootstrap PROPERTIES FIXTURES_REQUIRED aws_services TIMEOUT 600
                         ENVIRONMENT "${TP_AWS_TEST_ENV}")
endif()

# The benchmark (not in ctest): tests/bench/clients/run builds on this target.
add_executable(clients_bench ${CMAKE_CURRENT_SOURCE_DIR}/bench/clients/bench_clients.c)
target_link_libraries(clients_bench PRIVATE tradepipe_static)

# The producer benchmark (not in ctest): tests/bench/producer/run builds it.
add_executable(bench_producer EXCLUDE_FROM_ALL
               ${CMAKE_CURRENT_SOURCE_DIR}/bench/producer/bench_producer.c)
target_link_libraries(bench_producer PRIVATE tradepipe_static OpenSSL::Crypto)

# The consumer on the emulators (issue 11): two workers sharing a stream
# (one killed, a shard split), 20 kill -9 cycles, and run-local --emulators
# giving the local run's report; each checked against an offline replay.
if(TP_BUILD_EXAMPLES AND NOT TP_FUZZ)
    # /usr/bin/python3: it reads the stream back with botocore, which Debian
    # installs for that interpreter (another python3 may come first on PATH).
    add_test(NAME pipeline_kinesis
             COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/pipeline/test_kinesis.py
                     ${tp_bin} ${TP_SERVICES_STATE})
    set_tests_properties(pipeline_kinesis PROPERTIES FIXTURES_REQUIRED aws_services TIMEOUT 900
                         ENVIRONMENT "${TP_AWS_TEST_ENV}")
endif()
