# TP_VALGRIND: the test suite with every program of ours under valgrind
# memcheck (scripts/test's valgrind step; tests/valgrind/README.md).
#
# For each executable target NAME this writes ${TP_VG_BIN}/NAME, a wrapper
# that execs valgrind on the real program (same PID, so signals and kill -9
# reach it); the tests run the wrappers (tp_exe, tp_exe_dir in
# tests/CMakeLists.txt). Each process writes its own log,
# ${TP_VG_LOGS}/NAME.PID.log; tests/valgrind/summary.py reads them all after
# the run and fails on any error. Errors also make the program exit 97.
# The tests' time limits are multiplied at the end of tests/CMakeLists.txt.
find_program(TP_VALGRIND_EXE valgrind REQUIRED)
set(TP_VG_LOGS ${PROJECT_BINARY_DIR}/valgrind-logs)
set(TP_VG_SUPP ${PROJECT_SOURCE_DIR}/tests/valgrind/tradepipe.supp)
set(TP_VALGRIND_OPTIONS --tool=memcheck --error-exitcode=97 --leak-check=full
    --show-leak-kinds=definite --errors-for-leak-kinds=definite --num-callers=30
    --suppressions=${TP_VG_SUPP}
    CACHE STRING "valgrind's options for every program the tests run (TP_VALGRIND)")
file(MAKE_DIRECTORY ${TP_VG_LOGS})

function(tp_vg_targets dir out)
    get_property(ts DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
    get_property(subs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
    foreach(s IN LISTS subs)
        tp_vg_targets(${s} more)
        list(APPEND ts ${more})
    endforeach()
    set(${out} ${ts} PARENT_SCOPE)
endfunction()
tp_vg_targets(${PROJECT_SOURCE_DIR} tp_vg_all)
list(JOIN TP_VALGRIND_OPTIONS " " tp_vg_opts)
foreach(t IN LISTS tp_vg_all)
    get_target_property(type ${t} TYPE)
    if(type STREQUAL "EXECUTABLE")
        file(GENERATE OUTPUT ${TP_VG_BIN}/${t}
             CONTENT "#!/bin/sh\n# ${t} under valgrind memcheck (TP_VALGRIND): one log per process.\nexec ${TP_VALGRIND_EXE} ${tp_vg_opts} --log-file=${TP_VG_LOGS}/${t}.%p.log $<TARGET_FILE:${t}> \"$@\"\n"
             FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                              WORLD_READ WORLD_EXECUTE)
    endif()
endforeach()
