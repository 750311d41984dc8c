#ifndef TP_STORE_FILE_INT_H
#define TP_STORE_FILE_INT_H

/* The positions file's text without the file (lib/pipeline/store_file.c):
 * the fuzz target parses and writes it in memory. Not installed. */

#include "core/core_int.h"
#include "tradepipe/engine.h"

/* The whole positions file for `e` appended to `out` (as the file store
 * writes it: a header line, then one line per symbol, sorted). */
tp_status tp_store__positions_format(const tp_allocator *alloc, const tp_engine *e, tp_buf *out,
                                     tp_error *err);

/* Load the positions file `text` into `e`, all or nothing (the file store's
 * load once the file is read); `path` names it in messages. */
tp_status tp_store__positions_parse(const tp_allocator *alloc, const char *path, tp_cursor text,
                                    tp_engine *e, tp_error *err);

#endif
