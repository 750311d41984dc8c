# Area: packaging (infra/packaging). The container image's runtime set, run
# from its directory alone (env -i through the bundled loader, and in a chroot
# when allowed), and the Lambda zip, unzipped and run under env -i against the
# Runtime API fixture and the emulators. Release-like builds only: a
# sanitizer build is not what gets packaged, and under TP_VALGRIND the
# packaged copies would run without valgrind (env -i, chroot).
if(NOT TP_BUILD_TESTS OR NOT TP_BUILD_EXAMPLES OR TP_FUZZ OR TP_SANITIZE OR TP_TSAN OR TP_VALGRIND)
    return()
endif()
if(NOT DEFINED TP_SERVICES_STATE)  # tests/aws.cmake's, when included after this file
    set(TP_SERVICES_STATE ${PROJECT_BINARY_DIR}/services)
    set(TP_AWS_TEST_ENV "${TP_TEST_ENV};TP_SERVICES_STATE=${TP_SERVICES_STATE}")
endif()

add_test(NAME packaging_runtime_dir
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/packaging/test_runtime_dir.sh
                 ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
set_tests_properties(packaging_runtime_dir PROPERTIES TIMEOUT 600 ENVIRONMENT "${TP_TEST_ENV}")

add_test(NAME packaging_lambda_zip
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/packaging/test_lambda_zip.py
                 ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR} ${TP_SERVICES_STATE})
set_tests_properties(packaging_lambda_zip PROPERTIES FIXTURES_REQUIRED aws_services
                     TIMEOUT 600 ENVIRONMENT "${TP_AWS_TEST_ENV}")
