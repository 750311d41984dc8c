# The shared library exports exactly the union of tests/exports/*.txt.
if(TP_BUILD_TESTS AND NOT TP_FUZZ)
    add_test(NAME exports
             COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/check-exports $<TARGET_FILE:tradepipe>
                     ${CMAKE_CURRENT_SOURCE_DIR}/exports)
endif()
