#ifndef TP_TESTUTIL_H
#define TP_TESTUTIL_H

/* Shared helpers for the Check suites (tests only). */
#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "tradepipe.h"

/* The repository root (TP_SOURCE_DIR from ctest, else "."). */
const char *tpt_source_dir(void);
/* The build directory (TP_BINARY_DIR from ctest, else "."). */
const char *tpt_binary_dir(void);
/* A fresh temporary directory (removed by tpt_rmtree); returns a malloc'd path. */
char *tpt_mkdtemp(void);
/* Remove a directory tree. */
void tpt_rmtree(const char *path);
/* Read a whole file into malloc'd memory (NUL added); NULL on failure. */
uint8_t *tpt_read_file(const char *path, size_t *len);
/* Write bytes to a file; 0 on success. */
int tpt_write_file(const char *path, const void *data, size_t len);

/* An allocator that fails its Nth call (counting from 1; 0 = never) and
 * counts live blocks, for out-of-memory sweeps. */
typedef struct tpt_failing_alloc {
    tp_allocator a;
    long calls;
    long fail_at;
    long live;
} tpt_failing_alloc;
void tpt_failing_alloc_init(tpt_failing_alloc *f, long fail_at);

/* Run a suite with CK_NORMAL output; returns the process exit code. */
int tpt_run_suite(Suite *s);

/* Check that two engines hold the same symbols with the same positions and
 * the same snapshot bytes (a store's save then load, say). */
void tpt_assert_same_state(const tp_engine *a, const tp_engine *b);

#endif
