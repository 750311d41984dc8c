#ifndef TRADEPIPE_KPL_H
#define TRADEPIPE_KPL_H

/* Floor 2 (pure: no I/O, no global state): KPL aggregated records.
 *
 * The format is the Kinesis Producer Library's, as documented in
 * awslabs/amazon-kinesis-producer:aggregation-format.md:
 *
 *   F3 89 9A C2 | protobuf AggregatedRecord | MD5 of the protobuf bytes (16)
 *
 * with the proto2 messages of the KPL's aws/kinesis/protobuf/messages.proto
 * (the same as awslabs/kinesis-aggregation's kpl.proto):
 *
 *   message AggregatedRecord {
 *     repeated string partition_key_table     = 1;
 *     repeated string explicit_hash_key_table = 2;
 *     repeated Record records                 = 3;
 *   }
 *   message Tag    { required string key = 1; optional string value = 2; }
 *   message Record {
 *     required uint64 partition_key_index     = 1;
 *     optional uint64 explicit_hash_key_index = 2;
 *     required bytes  data                    = 3;
 *     repeated Tag    tags                    = 4;
 *   }
 *
 * The protobuf wire format of these three messages is written and read by
 * hand in lib/codec/kpl.c. A user record's sub-sequence number (as the KCL and
 * Lambda report it) is its index in `records`.
 *
 * Thread rule: one thread at a time per tp_kpl_aggregator / tp_kpl_reader;
 * different handles are independent. */

#include "tradepipe/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TP_KPL_MAGIC_LEN    4
#define TP_KPL_DIGEST_LEN   16
/** Bytes every aggregate carries besides its protobuf: magic + MD5. */
#define TP_KPL_OVERHEAD     (TP_KPL_MAGIC_LEN + TP_KPL_DIGEST_LEN)
/** The KPL's AggregationMaxSize default: 51,200 bytes. */
#define TP_KPL_DEFAULT_MAX_BYTES 51200
/** A user record's partition key: 1 to 256 Unicode characters (UTF-8), as Kinesis takes. */
#define TP_KPL_MAX_PARTITION_KEY_CHARS 256
/** Room for a hash key in decimal (0 .. 2^128-1, 39 digits) and its NUL. */
#define TP_KPL_HASH_KEY_MAX 40
/** Room for the outer partition key (up to 256 characters of 4 UTF-8 bytes) and its NUL. */
#define TP_KPL_PARTITION_KEY_MAX (4 * TP_KPL_MAX_PARTITION_KEY_CHARS + 1)

/**
 * 1 when `in` starts with the KPL magic F3 89 9A C2, else 0 (then it is a
 * plain record: pass it through). Says nothing about the rest: decode with
 * tp_kpl_reader_begin, which checks everything.
 */
TP_API int tp_kpl_is_aggregated(tp_cursor in);

/* ---- building aggregates --------------------------------------------------- */

typedef struct tp_kpl_aggregator tp_kpl_aggregator; /* opaque */

/** How the aggregate's own (outer) partition key is chosen; see tp_kpl_aggregator_finish. */
#define TP_KPL_OUTER_FIRST_KEY 0 /* the first user record's partition key (default) */
#define TP_KPL_OUTER_KPL       1 /* "a", as the KPL itself does for 2+ records */

typedef struct tp_kpl_aggregator_options {
    uint32_t version;        /* TP_KPL_AGGREGATOR_OPTIONS_VERSION */
    uint32_t outer_key;      /* TP_KPL_OUTER_* */
    uint64_t max_bytes;      /* size cap as Kinesis counts it (blob + outer partition key);
                                0: TP_KPL_DEFAULT_MAX_BYTES. Keep it at most the stream's
                                record limit (tp_kinesis_stream_summary.max_record_bytes). */
    const tp_allocator *alloc; /* NULL: malloc/free */
} tp_kpl_aggregator_options;
#define TP_KPL_AGGREGATOR_OPTIONS_VERSION 1
#define TP_KPL_AGGREGATOR_OPTIONS_INIT { TP_KPL_AGGREGATOR_OPTIONS_VERSION, 0, 0, NULL }

/** Fill `o` with the defaults. @return TP_OK; TP_E_INVALID (NULL, unknown version). */
TP_API tp_status tp_kpl_aggregator_options_init(tp_kpl_aggregator_options *o, uint32_t version);

/**
 * Create an empty aggregator. A producer keeps one per predicted shard: every
 * record added should map to the same shard, since the aggregate lands on the
 * shard of its first record (see tp_kpl_aggregator_finish).
 * @param opts NULL: defaults.
 * @return TP_OK; TP_E_INVALID (bad options); TP_E_NOMEM.
 */
TP_API tp_status tp_kpl_aggregator_new(tp_kpl_aggregator **out,
                                       const tp_kpl_aggregator_options *opts, tp_error *err);
/** Free an aggregator (and what it holds). NULL: no-op. */
TP_API void tp_kpl_aggregator_free(tp_kpl_aggregator *a);

/**
 * Add a user record; its bytes are copied (nothing of the arguments is kept).
 * Partition keys and explicit hash keys are stored once per aggregate in
 * their tables. The size is updated in O(1).
 * @param partition_key 1..256 characters of UTF-8 (bytes, no NUL needed).
 * @param explicit_hash_key decimal 0..2^128-1 without leading zeros, or
 *        {NULL, 0} for none.
 * @param data any bytes (may be empty).
 * @return TP_OK (added);
 *         TP_E_LIMIT: the aggregate would pass max_bytes: nothing was added;
 *           finish this aggregate, then add the record to the next one;
 *         TP_E_TOO_LARGE: the record alone, in an empty aggregate, passes
 *           max_bytes: it can never be aggregated here (send it alone or fail it);
 *         TP_E_INVALID: a bad key (err->field "partition_key" or
 *           "explicit_hash_key", err->offset the bad byte in it);
 *         TP_E_NOMEM. On any failure the aggregator is unchanged.
 */
TP_API tp_status tp_kpl_aggregator_add(tp_kpl_aggregator *a, tp_cursor partition_key,
                                       tp_cursor explicit_hash_key, tp_cursor data,
                                       tp_error *err);

/** User records in the aggregate. */
TP_API size_t tp_kpl_aggregator_count(const tp_kpl_aggregator *a);
/** Exact length of the blob tp_kpl_aggregator_finish would write (O(1)). */
TP_API uint64_t tp_kpl_aggregator_blob_bytes(const tp_kpl_aggregator *a);
/**
 * Size as Kinesis counts the aggregated record: blob + outer partition key,
 * in bytes (O(1)); what max_bytes caps. 0 when empty.
 */
TP_API uint64_t tp_kpl_aggregator_size(const tp_kpl_aggregator *a);
/**
 * What the aggregate's size would be with this record added (O(1) but for
 * looking the keys up), whether or not it fits. Keys are not validated.
 */
TP_API uint64_t tp_kpl_aggregator_size_with(const tp_kpl_aggregator *a, tp_cursor partition_key,
                                            tp_cursor explicit_hash_key, tp_cursor data);

/** The aggregated record's own keys, for PutRecord(s). */
typedef struct tp_kpl_outer {
    char partition_key[TP_KPL_PARTITION_KEY_MAX];   /* NUL-terminated */
    char explicit_hash_key[TP_KPL_HASH_KEY_MAX];    /* decimal, NUL-terminated */
} tp_kpl_outer;

/**
 * Append the aggregate (magic, protobuf, MD5) to `out` and reset the
 * aggregator for the next one (its memory is kept).
 *
 * `outer` (may be NULL) receives the keys to send the blob with. The
 * ExplicitHashKey is the first user record's hash key: its explicit hash key
 * when it has one, else the MD5 of its partition key as a 128-bit decimal
 * number, which is what the KPL does (aws/kinesis/core/kinesis_record.cc:
 * explicit_hash_key() is the first record's hash_key_decimal_str), so the
 * aggregate lands on the shard predicted for its records. The partition key
 * is the first record's (TP_KPL_OUTER_FIRST_KEY, as aws-kinesis-agg does and
 * readable in tools that ignore aggregation), or "a" (TP_KPL_OUTER_KPL, the
 * KPL's one-byte choice). With an ExplicitHashKey set, Kinesis ignores the
 * partition key for routing.
 *
 * An empty aggregator writes the empty aggregate (20 bytes: magic, no
 * protobuf bytes, MD5 of nothing) and empty outer keys; Kinesis would refuse
 * such a record (no partition key), so a producer does not send it.
 * The KPL sends a lone user record unaggregated; that choice is the
 * producer's (tp_kpl_aggregator_count tells).
 * @return TP_OK; buffer errors of `out` (TP_E_NOMEM, TP_E_TOO_LARGE), with the
 *         aggregator then unchanged.
 */
TP_API tp_status tp_kpl_aggregator_finish(tp_kpl_aggregator *a, tp_buf *out, tp_kpl_outer *outer,
                                          tp_error *err);
/** Drop every record (memory kept). */
TP_API void tp_kpl_aggregator_reset(tp_kpl_aggregator *a);

/* ---- reading aggregates ---------------------------------------------------- */

typedef struct tp_kpl_reader tp_kpl_reader; /* opaque */

/** One user record; every view points into the input given to tp_kpl_reader_begin. */
typedef struct tp_kpl_record {
    tp_cursor partition_key;
    tp_cursor explicit_hash_key; /* ptr NULL, len 0: the record has none */
    tp_cursor data;
    uint64_t sub_sequence;       /* index in the aggregate: 0, 1, 2, ... */
    uint32_t tag_count;          /* tags carried (checked, not exposed) */
    uint32_t reserved_;
} tp_kpl_record;

/**
 * Create a reader (it keeps the key tables of the aggregate being read).
 * @param alloc NULL: malloc/free. @return TP_OK; TP_E_INVALID; TP_E_NOMEM.
 */
TP_API tp_status tp_kpl_reader_new(tp_kpl_reader **out, const tp_allocator *alloc,
                                   tp_error *err);
/** Free a reader. NULL: no-op. */
TP_API void tp_kpl_reader_free(tp_kpl_reader *r);

/**
 * Check the whole aggregate `in` (not copied: it must outlive the records
 * read from it) and get ready to iterate it. Everything is checked here, so
 * tp_kpl_reader_next cannot fail afterwards.
 * Every offset in `err` is a byte offset in `in` (the magic is bytes 0-3).
 * @param count (may be NULL) the number of user records.
 * @return TP_OK;
 *   TP_E_INVALID: no magic (the input is not aggregated: use
 *     tp_kpl_is_aggregated first and pass such records through);
 *   TP_E_PARSE: malformed: shorter than 20 bytes (offset = its length), a bad
 *     varint, a length past the end, a wire type that does not fit the field,
 *     a group, field number 0, a missing required field, an index past its
 *     table; err->field names the protobuf field, err->offset the byte where
 *     the bad element starts;
 *   TP_E_CHECKSUM: the MD5 does not match (offset = length - 16);
 *   TP_E_NOMEM. After a failure the reader yields nothing until the next begin.
 */
TP_API tp_status tp_kpl_reader_begin(tp_kpl_reader *r, tp_cursor in, size_t *count,
                                     tp_error *err);
/**
 * The next user record, in order. @return TP_OK; TP_DONE after the last.
 */
TP_API tp_status tp_kpl_reader_next(tp_kpl_reader *r, tp_kpl_record *out);

#ifdef __cplusplus
}
#endif
#endif
