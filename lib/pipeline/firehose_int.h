#ifndef TP_FIREHOSE_INT_H
#define TP_FIREHOSE_INT_H

/* The local Firehose's internals that tests reach (lib/pipeline/firehose.c). */
#include "tradepipe/firehose.h"

/* Check `text` as tp_firehose_new checks a pending object left in the
 * checkpoint ("key KEY\nrecords N\nbytes N\nwritten N\nshard ID FIRST
 * LAST\n...") when the object is there: its key one this Firehose writes,
 * every line understood, its shards the stream's, each once, their ranges
 * after the checkpoint's positions. Changes nothing. TP_OK, TP_E_STATE
 * (field "pending", the line in the message), TP_E_NOMEM. Fuzz targets. */
tp_status tp_firehose__pending_check(tp_firehose *f, const char *text, tp_error *err);

#endif
