#ifndef TP_READER_INT_H
#define TP_READER_INT_H

#include "tradepipe/reader.h"

#include "core/core_int.h"

/* Read up to `cap` bytes; *n = 0 at the end of the stream. */
tp_status tp_source__read(tp_source *s, uint8_t *buf, size_t cap, size_t *n, tp_error *err);

/* Bytes read from the source so far. */
uint64_t tp_source__consumed(const tp_source *s);

/* Read again from `off` (counted as tp_source__consumed counts): 0, or -1
 * when the source cannot go back (pipes, callbacks, FILE streams). */
int tp_source__rewind(tp_source *s, uint64_t off);

/* 1 for sources over memory (reading them is a memcpy). */
int tp_source__is_memory(const tp_source *s);

#endif
