# tp-parse's command-line contract, tested on the real program.
if(TP_BUILD_TESTS AND TP_BUILD_EXAMPLES AND NOT TP_FUZZ)
    find_package(Python3 COMPONENTS Interpreter REQUIRED)
    add_test(NAME tp_parse_contract
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/parse/test_tp_parse.py
                     $<TARGET_FILE:tp-parse> $<TARGET_FILE:tp-gen>)
    set_tests_properties(tp_parse_contract PROPERTIES TIMEOUT 300)
endif()
