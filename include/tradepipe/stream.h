#ifndef TRADEPIPE_STREAM_H
#define TRADEPIPE_STREAM_H

/* Floor 5: a stream of records, one interface whatever the target.
 *
 * The interface is Kinesis Data Streams' (its field names and semantics):
 * put records (data, partition key, optional explicit hash key), list the
 * shards, read a shard from a position (TRIM_HORIZON, LATEST,
 * AT_/AFTER_SEQUENCE_NUMBER, AT_TIMESTAMP); each record comes back with its
 * shard, sequence number, partition key and approximate arrival time.
 *
 * Targets, by URI:
 *  - "file:DIR": a local stream that behaves like Kinesis. N shards, fixed
 *    when the stream is created, own hash-key ranges split as CreateStream
 *    splits them; a record goes to the shard owning the MD5 of its partition
 *    key read as a 128-bit big-endian number, or owning its explicit hash
 *    key; sequence numbers are decimal strings that increase within a shard;
 *    arrival times are wall-clock milliseconds, never decreasing within a
 *    shard. On disk, per shard, append-only segment files of framed records
 *    (length and CRC32C), rolled over at a size and deleted after a
 *    retention period. One writer process at a time (DIR/writer.lock); any
 *    number of readers, each following shards on its own.
 *  - "kinesis://STREAM": a Kinesis data stream, through the Kinesis client
 *    (endpoint, region and credentials from the environment, as every
 *    client). Shards are the service's: they split, merge and close, so
 *    list them again when a reader reaches a closed shard's end (TP_DONE);
 *    a child shard should be read only after its parents were read to
 *    their end. Reading de-aggregates KPL aggregated records
 *    (tradepipe/kpl.h): each user record comes back on its own, with its
 *    sub-sequence number. Waiting polls (GetRecords allows 5 calls a second
 *    a shard).
 *
 * Layout of file:DIR (version 1):
 *   DIR/stream.json            {"format":"tradepipe-stream","version":1,"id":ID,
 *                                "shards":N,"segment_bytes":B,"retention_ms":R}
 *   DIR/writer.lock            the writer's lock (flock) and its pid
 *   DIR/shardId-000000000000/  one directory per shard (Kinesis shard ids)
 *     00000000000000000001.seg segments, named by their first sequence
 *                              number (20 digits), in sequence order
 * A segment is the 8 bytes "tpseg01\n" then frames:
 *   u32 LE CRC32C (Castagnoli) of what follows up to the frame's end |
 *   u32 LE body length | body: u64 LE sequence number, i64 LE arrival ms,
 *   u16 LE partition key length, the partition key, a NUL, the data.
 * A writer that dies mid-write leaves a torn frame at the end of its last
 * segment; the next writer starts a new segment after it, and readers skip
 * it (counted in tp_stream_reader_stats) instead of returning it. A bad
 * frame with valid frames after it is damage, not a crash: readers stop
 * there with TP_E_CHECKSUM rather than skip records. A segment appears
 * with its header already written (made under a temporary name, then
 * linked into place).
 *
 * Durability: a put call's records are in the segment files (the page
 * cache) when it returns, so they survive the writer's crash; with
 * TP_STREAM_SYNC they are also fsynced (they survive a power loss).
 *
 * Thread rule: one thread at a time per tp_stream and per tp_stream_reader
 * (readers of one stream may be used from different threads as long as the
 * stream handle itself is not used meanwhile). */

#include "tradepipe/kinesis.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Shards a file: stream gets when none is asked for. */
#define TP_STREAM_DEFAULT_SHARDS 2u
/** Most shards a file: stream can have. */
#define TP_STREAM_MAX_SHARDS 1024u
/** A record's data plus partition key, at most (bytes, as Kinesis counts). */
#define TP_STREAM_MAX_RECORD_BYTES (1024u * 1024u)
/** A partition key's length, at most (bytes). */
#define TP_STREAM_MAX_PARTITION_KEY 256u
/** Records in one tp_stream_put_records call, at most (as PutRecords). */
#define TP_STREAM_MAX_BATCH_RECORDS 500u
/** Bytes (data plus keys) in one tp_stream_put_records call, at most. */
#define TP_STREAM_MAX_BATCH_BYTES (5u * 1024u * 1024u)
/** Defaults of a new file: stream. */
#define TP_STREAM_DEFAULT_SEGMENT_BYTES ((uint64_t)64 << 20)
#define TP_STREAM_DEFAULT_RETENTION_MS  ((int64_t)24 * 3600 * 1000)

/* tp_stream_options.flags */
#define TP_STREAM_CREATE 0x1u /* create the stream when it does not exist */
#define TP_STREAM_EXCL   0x2u /* with TP_STREAM_CREATE: TP_E_EXISTS if it does */
#define TP_STREAM_WRITE  0x4u /* this handle puts records (file: takes the writer lock) */
#define TP_STREAM_SYNC   0x8u /* fsync what each put call wrote before it returns */

typedef struct tp_stream_options {
    uint32_t version;     /* TP_STREAM_OPTIONS_VERSION */
    uint32_t flags;       /* TP_STREAM_* */
    uint32_t shard_count; /* with TP_STREAM_CREATE: 1..TP_STREAM_MAX_SHARDS, 0 = 2; when
                             not 0 and the stream exists, it must have that many shards */
    uint32_t reserved;
    uint64_t segment_bytes;    /* writer: roll a segment over past this size; 0 = the stream's
                                  (set at creation, default 64 MiB); at least 4096 */
    int64_t retention_ms;      /* writer: delete segments whose last write is older than this;
                                  0 = the stream's (set at creation, default 24 h) */
    const tp_allocator *alloc; /* NULL = malloc/free */
} tp_stream_options;
#define TP_STREAM_OPTIONS_VERSION 1
#define TP_STREAM_OPTIONS_INIT                                                                     \
    {                                                                                              \
        TP_STREAM_OPTIONS_VERSION, 0, 0, 0, 0, 0, NULL                                             \
    }

/** Set `o` to TP_STREAM_OPTIONS_INIT. @return TP_OK; TP_E_INVALID for an unknown version. */
TP_API tp_status tp_stream_options_init(tp_stream_options *o, uint32_t version);

typedef struct tp_stream tp_stream;

/**
 * Open the stream named by `uri` ("file:DIR" or "kinesis://STREAM"). `opts`
 * NULL means defaults (read only, the stream must exist). kinesis://: the
 * stream's summary is read (DescribeStreamSummary); TP_STREAM_CREATE makes
 * it (CreateStream, shard_count shards, default 2) when missing and waits
 * until it is ACTIVE (at most 60 s); shard_count is not checked against an
 * existing stream (its shards change with resharding); segment_bytes,
 * retention_ms and TP_STREAM_SYNC do not apply. The id is the MD5 (hex) of
 * the stream's ARN and creation time.
 * @return TP_OK;
 *         TP_E_NOT_FOUND (no stream there and no TP_STREAM_CREATE);
 *         TP_E_EXISTS (TP_STREAM_EXCL and it exists);
 *         TP_E_STATE (TP_STREAM_WRITE while another process writes it: the
 *           message names its pid and the lock file);
 *         TP_E_CONFIG (an unknown URI; a shard count other than the
 *           stream's; a damaged DIR/stream.json, err->field naming the key);
 *         the Kinesis client's errors for kinesis:// (TP_E_AWS with the
 *           HTTP status and AWS error code, TP_E_HTTP, TP_E_CREDENTIALS...);
 *         TP_E_INVALID (bad options, err->field naming one); TP_E_IO; TP_E_NOMEM.
 */
TP_API tp_status tp_stream_open(tp_stream **out, const char *uri, const tp_stream_options *opts,
                                tp_error *err);

/** Close the stream (releases the writer lock). NULL: no-op. */
TP_API void tp_stream_free(tp_stream *s);

/**
 * The stream's identity, given at creation (file: 32 random hex digits in
 * stream.json; "" for a stream made without one). A checkpoint records it
 * so that it is never applied to another stream of the same name. Borrowed
 * for the handle's life.
 */
TP_API const char *tp_stream_id(const tp_stream *s);

/** How many shards the stream has (kinesis://: open shards when it was opened). */
TP_API uint32_t tp_stream_shard_count(const tp_stream *s);

/**
 * The shards as ListShards gives them, in shard order, into `out` (replaced;
 * zero-initialise it before first use; free with tp_kinesis_shards_dispose).
 * file: shards never close, so sequence_end is "" and sequence_start is the
 * oldest sequence number still kept ("" when the shard holds nothing yet).
 * kinesis://: ListShards, closed shards included (the list is also kept
 * for tp_stream_reader_new).
 * @return TP_OK; TP_E_IO; TP_E_NOMEM.
 */
TP_API tp_status tp_stream_list_shards(tp_stream *s, tp_kinesis_shards *out, tp_error *err);

/**
 * The index of the shard a record goes to: the one owning `explicit_hash_key`
 * (decimal, 0..2^128-1) when it is not NULL, else MD5(partition_key).
 * kinesis://: the index among the open shards as listed when the stream was
 * opened, in hash-key order (a prediction: the service routes).
 * @return TP_OK; TP_E_INVALID (empty or too long partition key, a hash key
 *         that is not a decimal number in range: err->field names it).
 */
TP_API tp_status tp_stream_route(const tp_stream *s, const char *partition_key,
                                 const char *explicit_hash_key, uint32_t *shard_index,
                                 tp_error *err);

/**
 * Whether the hash key Kinesis gives `partition_key` (the MD5 of its bytes
 * read as a 128-bit big-endian number) lies in [hash_key_start,
 * hash_key_end] (decimal, as ListShards gives a shard's HashKeyRange):
 * *in is 1 or 0. A consumer uses it to tell which symbols of a parent shard
 * went to which child after a split or merge.
 * @return TP_OK; TP_E_INVALID (an empty partition key, a bound that is not a
 *         decimal in 0..2^128-1: err->field names it); TP_E_UNSUPPORTED (no MD5).
 */
TP_API tp_status tp_stream_hash_key_in_range(const char *partition_key, const char *hash_key_start,
                                             const char *hash_key_end, int *in, tp_error *err);

/**
 * Put `n` (1..TP_STREAM_MAX_BATCH_RECORDS) records, like PutRecords: each
 * record lands or fails on its own. A record refused for its content (data
 * plus partition key over TP_STREAM_MAX_RECORD_BYTES, an empty partition key
 * or one over TP_STREAM_MAX_PARTITION_KEY bytes, a bad explicit hash key)
 * fails alone: results[i].error_code is "ValidationException" and
 * error_message says what and how big; the others are put. `results` (may be
 * NULL) has room for `n`; a put record gets its shard id and sequence number.
 * `*failed` (may be NULL) counts the failed records. Records of one shard are
 * written in the order given.
 * @return TP_OK (even when some records failed alone);
 *         TP_E_INVALID (n out of range, NULL arguments, a read-only handle);
 *         TP_E_TOO_LARGE (the call's bytes over TP_STREAM_MAX_BATCH_BYTES:
 *           nothing is put); TP_E_IO (a write failed: the records of the
 *           shards not written are marked failed with "InternalFailure");
 *         TP_E_NOMEM (nothing is put: the records not refused alone are
 *           marked failed with "InternalFailure"; putting them again is safe).
 */
TP_API tp_status tp_stream_put_records(tp_stream *s, const tp_kinesis_entry *entries, size_t n,
                                       tp_kinesis_put_result *results, uint32_t *failed,
                                       tp_error *err);

/**
 * Put one record, like PutRecord. `explicit_hash_key` may be NULL; `out`
 * may be NULL.
 * @return TP_OK; TP_E_INVALID (a record refused for its content, the
 *         message saying why; err->field names "Data", "PartitionKey" or
 *         "ExplicitHashKey"); TP_E_IO.
 */
TP_API tp_status tp_stream_put_record(tp_stream *s, tp_cursor data, const char *partition_key,
                                      const char *explicit_hash_key, tp_kinesis_put_result *out,
                                      tp_error *err);

/**
 * Wait until a record may have been put in any shard of the stream since the
 * last wait, at most `timeout_ms`; return early on a signal. Meant for
 * readers that reached the end of every shard: call tp_stream_reader_get on
 * each again afterwards (a wakeup is a hint, not a promise). The first call
 * returns at once. file: uses inotify (no polling).
 * @return TP_OK (woken, or a signal); TP_E_TIMEOUT; TP_E_IO.
 */
TP_API tp_status tp_stream_wait(tp_stream *s, uint32_t timeout_ms, tp_error *err);

/* ---- reading a shard ----------------------------------------------------- */

/** Where a reader starts: an iterator type of GetShardIterator. */
typedef struct tp_stream_position {
    int32_t type; /* TP_KINESIS_TRIM_HORIZON, _LATEST, _AT_SEQUENCE_NUMBER,
                     _AFTER_SEQUENCE_NUMBER, _AT_TIMESTAMP */
    /** AFTER_SEQUENCE_NUMBER: after the user record of this sub-sequence number
     * of the record (the KCL's checkpointSubSequenceNumber). A record that is
     * not aggregated has one user record, number 0; so 0 means "after the
     * record" for it, and for an aggregated one "after its first user record"
     * (the rest are read again: at least once, never lost); INT32_MAX means
     * after the whole record, aggregated or not. file: streams hold no
     * aggregated records and ignore it. */
    int32_t sub_sequence_number;
    int64_t timestamp_ms; /* AT_TIMESTAMP: the first record that arrived at or after it */
    char sequence_number[TP_KINESIS_SEQ_MAX]; /* AT_/AFTER_SEQUENCE_NUMBER */
} tp_stream_position;

/** One record. Views borrowed from the reader until its next call. */
typedef struct tp_stream_record {
    tp_cursor data;
    const char *partition_key;   /* NUL-terminated */
    const char *sequence_number; /* decimal, NUL-terminated */
    const char *shard_id;        /* the reader's shard */
    int64_t arrival_ms;          /* ApproximateArrivalTimestamp, ms since the epoch */
    /** Orders the user records of a shard as decimal numbers (digits, NUL-terminated):
     * file: the sequence number; kinesis:// the sequence number followed by the
     * sub-sequence number in TP_STREAM_SUB_DIGITS digits (all zeros for a record
     * that is not aggregated), so that the user records of one aggregate are
     * told apart, e.g. by the engine's duplicate check. */
    const char *user_sequence_number;
    uint64_t sub_sequence_number; /* the user record's index in its aggregate (0: not aggregated) */
    int32_t aggregated;           /* 1 when it came out of a KPL aggregated record */
    int32_t reserved_;
} tp_stream_record;

/** Digits of the sub-sequence number in a kinesis:// user_sequence_number
 * (an aggregate of 10 MiB holds fewer than 10^7 user records). */
#define TP_STREAM_SUB_DIGITS 7
/** Room for a user_sequence_number and its NUL. */
#define TP_STREAM_USER_SEQ_MAX (TP_KINESIS_SEQ_MAX + TP_STREAM_SUB_DIGITS)

/** What one tp_stream_reader_get returned. Borrowed until the reader's next call. */
typedef struct tp_stream_records {
    const tp_stream_record *records;
    size_t count;
    /** MillisBehindLatest: 0 when this batch reached the newest record, else how long
     * before now the last record returned arrived. */
    int64_t millis_behind_latest;
} tp_stream_records;

typedef struct tp_stream_reader_stats {
    uint64_t records;    /* returned so far */
    uint64_t bytes;      /* data bytes returned so far */
    uint64_t torn_tails; /* torn or corrupt segment tails skipped (a crashed writer) */
    uint64_t torn_bytes; /* bytes in them */
    uint64_t trimmed;    /* segments deleted by retention before they were read */
    uint64_t segments;   /* segment files opened */
    uint64_t requests;   /* kinesis://: GetShardIterator and GetRecords calls */
    uint64_t throttles;  /* kinesis://: throttled GetRecords calls */
    uint64_t aggregates; /* kinesis://: KPL aggregated records de-aggregated */
} tp_stream_reader_stats;

/** One thread at a time per reader. */
typedef struct tp_stream_reader tp_stream_reader;

/**
 * Read shard `shard_id` of `s` from `pos` (NULL: TRIM_HORIZON). `s` must
 * outlive the reader. AT_/AFTER_SEQUENCE_NUMBER of a sequence number older
 * than the oldest kept start at the oldest kept (the segment count is in
 * stats.trimmed).
 * @return TP_OK; TP_E_NOT_FOUND (no such shard); TP_E_INVALID (a bad position:
 *         err->field "type", "sequence_number"); TP_E_IO; TP_E_NOMEM.
 */
TP_API tp_status tp_stream_reader_new(tp_stream_reader **out, tp_stream *s, const char *shard_id,
                                      const tp_stream_position *pos, tp_error *err);

/**
 * Up to `limit` records (0: 10,000, as GetRecords) that follow the last ones
 * returned, into `out`. No record yet is TP_OK with out->count == 0 (wait with
 * tp_stream_wait, then call again).
 * kinesis://: one GetRecords call (`limit` counts Kinesis records; an
 * aggregated one comes back as all its user records). A throttled call
 * (ProvisionedThroughputExceededException after the client's retries)
 * returns no record and makes the next calls return none for a backoff
 * (0.5 s, doubling to 5 s; counted in stats.throttles); an expired iterator
 * is renewed from the reader's position. A record that says it is
 * aggregated (KPL magic) but does not decode is TP_E_PARSE naming its
 * sequence number and the byte (never skipped silently).
 * @return TP_OK; TP_DONE (a closed shard read to its end; file: shards never
 *         close); TP_E_CHECKSUM (a damaged frame with valid frames after it
 *         in the same segment: err->message names the file and where valid
 *         frames resume, err->offset is the bad frame's byte; the reader stays
 *         there); TP_E_IO; TP_E_NOMEM.
 */
TP_API tp_status tp_stream_reader_get(tp_stream_reader *r, uint32_t limit, tp_stream_records *out,
                                      tp_error *err);

/**
 * Where the reader stands, as a position a new reader would resume from:
 * AFTER_SEQUENCE_NUMBER of the last record returned; before any record, its
 * starting position resolved when it can be (LATEST: after the last record
 * that existed when the reader was made; AT_/AFTER_SEQUENCE_NUMBER: as
 * given), else TRIM_HORIZON or AT_TIMESTAMP as given. This is what a
 * consumer checkpoints: a reader started at LATEST that has read nothing
 * yet must not move to a later LATEST after a restart.
 */
TP_API void tp_stream_reader_position(const tp_stream_reader *r, tp_stream_position *out);

/** Counters of the reader so far. */
TP_API void tp_stream_reader_stats_get(const tp_stream_reader *r, tp_stream_reader_stats *out);

/** The shard id the reader reads (borrowed, lives as long as the reader). */
TP_API const char *tp_stream_reader_shard_id(const tp_stream_reader *r);

/** Free a reader. NULL: no-op. */
TP_API void tp_stream_reader_free(tp_stream_reader *r);

#ifdef __cplusplus
}
#endif
#endif
