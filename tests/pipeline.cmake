# The local pipeline end to end: scripts/run-local with a fixed seed and
# count, checked against tp-parse and a tp-consumer replay of raw-data, then
# the consumer and the Firehose killed (kill -9) at random points.
tp_exe_dir(tp_bin)
if(TP_BUILD_TESTS AND TARGET tp-producer AND TARGET tp-consumer AND TARGET tp-firehose
   AND TARGET tp-parse)
    add_test(NAME pipeline_e2e
             COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/pipeline/run
                     ${tp_bin})
    set_tests_properties(pipeline_e2e PROPERTIES ENVIRONMENT "${TP_TEST_ENV}" TIMEOUT 900)
endif()

# The programs' command lines: options, errors, signals, --from.
if(TP_BUILD_TESTS AND TARGET tp-producer AND TARGET tp-consumer AND TARGET tp-firehose)
    add_test(NAME pipeline_cli
             COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/pipeline/cli ${tp_bin})
    set_tests_properties(pipeline_cli PROPERTIES ENVIRONMENT "${TP_TEST_ENV}" TIMEOUT 300)
endif()
