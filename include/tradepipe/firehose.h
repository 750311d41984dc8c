#ifndef TRADEPIPE_FIREHOSE_H
#define TRADEPIPE_FIREHOSE_H

/* Floor 5: a local Kinesis Data Firehose delivery stream.
 *
 * It reads every shard of a stream (with a checkpoint of its own) and
 * delivers batches as Firehose delivers them to S3 (a kinesis:// stream's
 * KPL aggregated records de-aggregated, as Firehose does; when a shard
 * closes after a reshard, the shards made since are read from their start):
 *  - an object holds the records' bytes concatenated with no delimiter
 *    (TP_FIREHOSE_NEWLINE appends '\n' to each, as Firehose's
 *    AppendDelimiterToRecord processor does), gzip-compressed (ISA-L);
 *  - its key is PREFIX/YYYY/MM/DD/HH/NAME-1-YYYY-MM-DD-HH-MM-SS-UUID.gz,
 *    both times being the UTC arrival time of the oldest record in it (the
 *    prefix of the Firehose default, "raw-data/" here, then Firehose's
 *    object name: delivery stream name, version 1, time, a UUID);
 *  - a batch is delivered when its records reach the buffer size (default
 *    5 MiB, BufferingHints.SizeInMBs) or its first record has waited the
 *    buffer interval (default 300 s, BufferingHints.IntervalInSeconds).
 *
 * Exactly once: the UUID is a name-based UUID (RFC 4122 version 5) of what
 * the object holds (the delivery stream name and each shard's first and
 * last sequence number), so the same batch always has the same key. Before
 * writing an object its key and ranges are saved in the checkpoint as
 * pending; the object is written to a temporary file, fsynced and renamed
 * into place; then the checkpoint moves past its records. After a crash, a
 * pending object that exists is committed, one that does not is dropped and
 * its records batched again: every record lands in exactly one object.
 *
 * Destination "file:DIR": DIR laid out like the bucket; temporary files and
 * the default checkpoint live in DIR/.tp-firehose/.
 *
 * One thread at a time per tp_firehose (and its stream, while it runs). */

#include "tradepipe/stream.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TP_FIREHOSE_DEFAULT_BUFFER_BYTES ((uint64_t)5 << 20)
#define TP_FIREHOSE_MAX_BUFFER_BYTES     ((uint64_t)128 << 20)
#define TP_FIREHOSE_DEFAULT_BUFFER_MS    ((int64_t)300 * 1000)
#define TP_FIREHOSE_DEFAULT_NAME         "tradepipe"
#define TP_FIREHOSE_DEFAULT_PREFIX       "raw-data/"
/** Room for any object key tp_firehose_object_key writes, NUL included. */
#define TP_FIREHOSE_KEY_MAX 512
/** Longest delivery stream name (as Firehose: 1..64 of [a-zA-Z0-9_.-]). */
#define TP_FIREHOSE_NAME_MAX 64

/* tp_firehose_options.flags */
#define TP_FIREHOSE_NEWLINE     0x1u /* a '\n' after every record */
#define TP_FIREHOSE_FROM_LATEST 0x2u /* with no checkpoint: start at LATEST (else TRIM_HORIZON) */

typedef struct tp_firehose_options {
    uint32_t version;      /* TP_FIREHOSE_OPTIONS_VERSION */
    uint32_t flags;        /* TP_FIREHOSE_* */
    uint64_t buffer_bytes; /* 0 = 5 MiB; 1..TP_FIREHOSE_MAX_BUFFER_BYTES */
    int64_t buffer_ms;     /* 0 = 300 s; > 0 */
    int32_t gzip_level;    /* ISA-L level 0 (fastest) .. 3; -1 = 1 */
    uint32_t reserved;
    const char *name;          /* NULL = TP_FIREHOSE_DEFAULT_NAME */
    const char *prefix;        /* NULL = TP_FIREHOSE_DEFAULT_PREFIX; "" = none */
    const char *checkpoints;   /* URI; NULL = file:DIR/.tp-firehose/NAME.checkpoint */
    const tp_allocator *alloc; /* NULL = malloc/free */
} tp_firehose_options;
#define TP_FIREHOSE_OPTIONS_VERSION 1
#define TP_FIREHOSE_OPTIONS_INIT                                                                   \
    {                                                                                              \
        TP_FIREHOSE_OPTIONS_VERSION, 0, 0, 0, -1, 0, NULL, NULL, NULL, NULL                        \
    }

/** Set `o` to TP_FIREHOSE_OPTIONS_INIT. @return TP_OK; TP_E_INVALID for an unknown version. */
TP_API tp_status tp_firehose_options_init(tp_firehose_options *o, uint32_t version);

typedef struct tp_firehose tp_firehose;

/**
 * A delivery stream from `stream` (borrowed: it must outlive the handle) to
 * `destination` ("file:DIR"). Loads the checkpoint and settles a pending
 * object left by a crash (see above).
 * @return TP_OK; TP_E_INVALID (bad options: err->field names one);
 *         TP_E_CONFIG (an unknown destination URI); the checkpoint's and the
 *         stream's errors; TP_E_IO; TP_E_NOMEM.
 */
TP_API tp_status tp_firehose_new(tp_firehose **out, tp_stream *stream, const char *destination,
                                 const tp_firehose_options *opts, tp_error *err);

/**
 * Read what the shards have now (a round of up to 10,000 records a shard),
 * buffer it, and deliver whenever the buffer reaches its size or, at
 * `now_ms` (a monotonic clock in milliseconds, tp_time_mono_ns() / 10^6),
 * its interval. `*records` (may be NULL) is set to the records read.
 * @return TP_OK; the stream's errors; TP_E_IO (an object or the checkpoint
 *         could not be written: nothing was lost, call again to retry);
 *         TP_E_NOMEM.
 */
TP_API tp_status tp_firehose_poll(tp_firehose *f, int64_t now_ms, size_t *records, tp_error *err);

/** Deliver what is buffered now, whatever its size and age. @return as tp_firehose_poll. */
TP_API tp_status tp_firehose_flush(tp_firehose *f, tp_error *err);

/**
 * Milliseconds from `now_ms` until the buffer's interval runs out (0 when
 * due; INT64_MAX when nothing is buffered): how long a follower may wait.
 */
TP_API int64_t tp_firehose_next_flush_ms(const tp_firehose *f, int64_t now_ms);

typedef struct tp_firehose_stats {
    uint64_t records_read;      /* read since delivery began (kept across restarts) */
    uint64_t records_delivered; /* in delivered objects */
    uint64_t objects;           /* objects delivered */
    uint64_t bytes_delivered;   /* record bytes in them (uncompressed, delimiters included) */
    uint64_t bytes_written;     /* object bytes (compressed) */
    uint64_t buffered_records;
    uint64_t buffered_bytes;
    int64_t lag_ms;      /* the largest MillisBehindLatest of the last round */
    uint64_t torn_tails; /* torn segment tails the readers skipped */
} tp_firehose_stats;

/** Counters so far. */
TP_API void tp_firehose_stats_get(const tp_firehose *f, tp_firehose_stats *out);

/** The key of the last object delivered ("" if none yet). Borrowed from `f`. */
TP_API const char *tp_firehose_last_key(const tp_firehose *f);

/** Free the handle. What is buffered and not delivered is dropped (it will
 * be read again from the checkpoint). NULL: no-op. */
TP_API void tp_firehose_free(tp_firehose *f);

/**
 * The object key of a batch: PREFIX + "YYYY/MM/DD/HH/" + NAME +
 * "-1-YYYY-MM-DD-HH-MM-SS-" + the UUID in its 8-4-4-4-12 hex form + ".gz",
 * the times being `oldest_arrival_ms` in UTC.
 * @return TP_OK; TP_E_INVALID (a NULL argument, a name outside Firehose's
 *         rules, a key over TP_FIREHOSE_KEY_MAX - 1); TP_E_RANGE (a time
 *         before 1970 or after 9999).
 */
TP_API tp_status tp_firehose_object_key(char out[TP_FIREHOSE_KEY_MAX], const char *prefix,
                                        const char *name, int64_t oldest_arrival_ms,
                                        const uint8_t uuid[16], tp_error *err);

/**
 * The name-based UUID (RFC 4122 version 5: SHA-1, in namespace `ns`) of
 * the `name` bytes.
 */
TP_API void tp_uuid_v5(uint8_t out[16], const uint8_t ns[16], tp_cursor name);

#ifdef __cplusplus
}
#endif
#endif
