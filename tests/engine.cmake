# Engine, stores and tp-consumer: end-to-end tests of the consumer's replay
# contract against the Python reference model in tests/consumer/.
if(TP_BUILD_TESTS AND TARGET tp-consumer)
    tp_exe(tp_consumer tp-consumer)
    add_test(NAME consumer_e2e
             COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/consumer/run ${tp_consumer})
    set_tests_properties(consumer_e2e PROPERTIES ENVIRONMENT "${TP_TEST_ENV}" TIMEOUT 300)
endif()

# The engine benchmark program (not a test; run tests/bench/engine/run).
if(TP_BUILD_TESTS)
    add_executable(bench_engine EXCLUDE_FROM_ALL
                   ${CMAKE_CURRENT_SOURCE_DIR}/bench/engine/bench_engine.c)
    target_link_libraries(bench_engine PRIVATE tradepipe_static)
endif()
