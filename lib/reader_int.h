#ifndef TP_READER_INT_H
#define TP_READER_INT_H

#include "tradepipe/reader.h"

#include "core_int.h"

/* Read up to `cap` bytes; *n = 0 at the end of the stream. */
tp_status tp_source__read(tp_source *s, uint8_t *buf, size_t cap, size_t *n, tp_error *err);

/* 1 for sources over memory (reading them is a memcpy). */
int tp_source__is_memory(const tp_source *s);

#endif
