# tp-parse's command-line contract, tested on the real program.
if(TP_BUILD_TESTS AND TP_BUILD_EXAMPLES AND NOT TP_FUZZ)
    find_package(Python3 COMPONENTS Interpreter REQUIRED)
    tp_exe(tp_parse tp-parse)
    tp_exe(tp_gen tp-gen)
    add_test(NAME tp_parse_contract
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/parse/test_tp_parse.py
                     ${tp_parse} ${tp_gen})
    set_tests_properties(tp_parse_contract PROPERTIES TIMEOUT 300)
endif()
