# The Python bindings (bindings/python): their pytest suite, and an offline
# `pip install` of the package, against this build's shared library.
#
# Sanitized builds (TP_SANITIZE, TP_TSAN) and the fuzzing build do not
# register them: the shared library there needs the sanitizer runtime
# preloaded into the interpreter (LD_PRELOAD of libasan into python is
# fragile, and CPython's own allocations drown the report). The regular
# build's ctest runs them; the C code they call is covered under the
# sanitizers by the C suites.
#
# Python is Debian's /usr/bin/python3 with python3-pytest, python3-botocore
# and python3-setuptools (scripts/deps installs them).
if(TP_BUILD_TESTS AND TP_BUILD_EXAMPLES AND NOT TP_FUZZ AND NOT TP_SANITIZE AND NOT TP_TSAN)
    find_program(TP_PYBIND_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
    if(NOT TP_PYBIND_PYTHON)
        find_program(TP_PYBIND_PYTHON NAMES python3 REQUIRED)
    endif()
    set(TP_PYBIND_DIR ${PROJECT_SOURCE_DIR}/bindings/python)
    tp_exe(tp_parse tp-parse)
    tp_exe(tp_gen tp-gen)
    tp_exe(tp_consumer tp-consumer)
    set(TP_PYBIND_ENV
        "TRADEPIPE_LIBRARY=$<TARGET_FILE:tradepipe>"
        "TP_PARSE=${tp_parse}"
        "TP_GEN=${tp_gen}"
        "TP_CONSUMER=${tp_consumer}"
        "CC=${CMAKE_C_COMPILER}"
        "PYTHONDONTWRITEBYTECODE=1")
    add_test(NAME python_bindings
             COMMAND ${TP_PYBIND_PYTHON} -m pytest -q -p no:cacheprovider
                     --ignore=${TP_PYBIND_DIR}/tests/test_producer.py ${TP_PYBIND_DIR}/tests
             WORKING_DIRECTORY ${TP_PYBIND_DIR})
    set_tests_properties(python_bindings PROPERTIES ENVIRONMENT "${TP_PYBIND_ENV}" TIMEOUT 300)
    # The Producer needs Kinesis: against the emulators (the aws_services
    # fixture of tests/aws.cmake), through the signature checker.
    add_test(NAME python_producer
             COMMAND ${TP_PYBIND_PYTHON} -m pytest -q -p no:cacheprovider
                     ${TP_PYBIND_DIR}/tests/test_producer.py
             WORKING_DIRECTORY ${TP_PYBIND_DIR})
    set_tests_properties(python_producer PROPERTIES
                         ENVIRONMENT "${TP_PYBIND_ENV};TP_SERVICES_STATE=${PROJECT_BINARY_DIR}/services"
                         FIXTURES_REQUIRED aws_services TIMEOUT 300)
    add_test(NAME python_bindings_install
             COMMAND ${TP_PYBIND_PYTHON} ${TP_PYBIND_DIR}/tests/install_check.py)
    set_tests_properties(python_bindings_install PROPERTIES ENVIRONMENT "${TP_PYBIND_ENV}"
                         TIMEOUT 300)
endif()
