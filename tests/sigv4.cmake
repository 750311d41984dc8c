# SigV4 and credentials: the botocore differential test.
# sign_driver signs JSON requests from stdin with the public API;
# diff_botocore.py generates >= 1000 random requests (seeded) and compares
# the driver's answers with botocore's. It needs botocore (Debian package
# python3-botocore, which installs for /usr/bin/python3: prefer that one).
if(TP_BUILD_TESTS)
    add_executable(sigv4_sign_driver ${CMAKE_CURRENT_SOURCE_DIR}/sigv4/sign_driver.c)
    target_link_libraries(sigv4_sign_driver PRIVATE tradepipe_static PkgConfig::JANSSON)
    tp_exe(sign_driver sigv4_sign_driver)

    find_program(TP_SIGV4_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
    if(NOT TP_SIGV4_PYTHON)
        find_program(TP_SIGV4_PYTHON NAMES python3 REQUIRED)
    endif()
    add_test(NAME sigv4_botocore_diff
             COMMAND ${TP_SIGV4_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/sigv4/diff_botocore.py
                     ${sign_driver} --count 1500 --seed 20251125)
    set_tests_properties(sigv4_botocore_diff PROPERTIES ENVIRONMENT "${TP_TEST_ENV}"
                         TIMEOUT 600)

    # The benchmark (not in ctest): tests/bench/sigv4/run builds this target.
    add_executable(sigv4_bench ${CMAKE_CURRENT_SOURCE_DIR}/bench/sigv4/bench_sigv4.c)
    target_link_libraries(sigv4_bench PRIVATE tradepipe_static)
endif()
