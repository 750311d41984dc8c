#ifndef TP_STORE_IO_INT_H
#define TP_STORE_IO_INT_H

/* Files for the file backends of floor 5 (lib/pipeline/store_io.c): atomic
 * replacement, locks, directories, archive keys. Not installed. */

#include "core/core_int.h"

/* Replace the file `path` by `len` bytes at `data`, atomically: a temporary
 * file, fsync, rename over `path`, fsync of the directory. The temporary
 * file is made in `tmpdir` (same file system; NULL: next to `path`, named
 * ".BASENAME.tmp-XXXXXX", which tp_store__clean_temps removes, its
 * directory created when missing). On failure
 * `path` is untouched and the temporary removed; a process killed midway
 * leaves only the temporary behind.
 * @return TP_OK; TP_E_IO naming the path and the system error; TP_E_NOMEM. */
tp_status tp_store__write_atomic(const tp_allocator *a, const char *path, const void *data,
                                 size_t len, const char *tmpdir, tp_error *err);

/* Remove what killed writers of `path` left: ".BASENAME.tmp-*" next to it
 * (`path` NULL), or every "tmp-*" file in `tmpdir`. Failures are ignored. */
void tp_store__clean_temps(const tp_allocator *a, const char *path, const char *tmpdir);

/* Take an exclusive flock on the file `path` (created when missing) and
 * write our pid into it; *fd then holds the lock (closing it releases it).
 * `tries` attempts 5 ms apart. When another process holds it: TP_E_STATE,
 * with its pid text in holder ("" when it wrote none) and err->message
 * saying so in general terms, for the caller to word better.
 * @return TP_OK; TP_E_STATE; TP_E_IO naming the path. */
tp_status tp_store__lock(const char *path, int tries, int *fd, char holder[32], tp_error *err);

/* Create `dir` and its missing parents (like mkdir -p).
 * @return TP_OK; TP_E_IO naming the directory; TP_E_NOMEM. */
tp_status tp_store__mkdirs(const tp_allocator *a, const char *dir, tp_error *err);

/* Read the whole file `path` into `out` (appended). A missing file gives
 * TP_E_NOT_FOUND. @return TP_OK; TP_E_NOT_FOUND; TP_E_IO; buffer errors. */
tp_status tp_store__read_file(const char *path, tp_buf *out, tp_error *err);

/* A copy of `s` (n bytes, NUL added) from `a`; NULL when out of memory. */
char *tp_store__strndup(const tp_allocator *a, const char *s, size_t n);

/* Whether `key` is an archive key the vtable accepts: relative segments of
 * [A-Za-z0-9._%-], none empty, "." or "..". */
int tp_store__key_ok(const char *key);

#endif
