# Chaos and crash cycles (tests/chaos): the producer under 10 % faults of
# the fault proxy, the consumer under faults and kill -9, the local pipeline
# killed at random points; 20 cycles here (scripts/chaos runs long ones).
# chaos_selftest shows the checks fail on a lost record, a record twice in
# raw-data and a missing effect; chaos_proxy checks the proxy's answers.
if(TP_BUILD_TESTS AND TP_BUILD_EXAMPLES AND NOT TP_FUZZ AND TARGET tp-producer
   AND TARGET tp-consumer AND TARGET tp-firehose AND TARGET tp-parse)
    add_test(NAME chaos_proxy
             COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/chaos/test_proxy.py)
    set_tests_properties(chaos_proxy PROPERTIES TIMEOUT 120)
    # The harness reads the stream through the Python bindings, which cannot
    # load a sanitized library (python.cmake), and its kill timings are set
    # for programs at native speed: chaos and chaos_selftest run in the
    # regular build (the same programs run under ASan/UBSan and valgrind in
    # pipeline_e2e, pipeline_kinesis and consumer_e2e).
    if(TP_SANITIZE OR TP_TSAN OR TP_VALGRIND)
        return()
    endif()
    add_test(NAME chaos
             COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/chaos/chaos.py
                     --bin $<TARGET_FILE_DIR:tp-producer> --services ${TP_SERVICES_STATE}
                     --cycles 20 --seed 1 --progress 20)
    add_test(NAME chaos_selftest
             COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/chaos/selftest.py
                     $<TARGET_FILE_DIR:tp-producer> ${TP_SERVICES_STATE})
    set_tests_properties(chaos chaos_selftest PROPERTIES FIXTURES_REQUIRED aws_services
                         TIMEOUT 300 ENVIRONMENT "${TP_AWS_TEST_ENV}")
endif()
