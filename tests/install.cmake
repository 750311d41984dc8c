# Install into a temporary prefix and build an outside program against it
# (not under TP_VALGRIND: the installed program would run without valgrind).
if(TP_BUILD_TESTS AND NOT TP_FUZZ AND NOT TP_SANITIZE AND NOT TP_TSAN AND NOT TP_VALGRIND)
    add_test(NAME install
             COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/install/run ${PROJECT_SOURCE_DIR}
                     ${PROJECT_BINARY_DIR})
endif()
