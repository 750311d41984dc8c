#ifndef TRADEPIPE_KINESIS_H
#define TRADEPIPE_KINESIS_H

/* Floor 4: a Kinesis Data Streams client (AWS JSON 1.1, signed with SigV4,
 * retried in the standard mode). Streams are named by name, or by ARN when
 * the string starts with "arn:". Every failure fills the tp_error: HTTP
 * status, AWS error code and message, request id, attempts.
 *
 * Thread rule: one thread at a time per tp_kinesis. */

#include "tradepipe/aws.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tp_kinesis tp_kinesis; /* opaque */

/** Room (with the NUL) for Kinesis identifiers. */
#define TP_KINESIS_SEQ_MAX      132 /* sequence numbers: up to 128 digits */
#define TP_KINESIS_SHARD_ID_MAX 132
#define TP_KINESIS_HASH_MAX     48  /* hash keys: decimal up to 2^128-1 */
#define TP_KINESIS_ITERATOR_MAX 1024
#define TP_KINESIS_ARN_MAX      2048
/*
 * Limits of the service (Kinesis Data Streams API reference: PutRecords,
 * UpdateMaxRecordSize, StreamDescriptionSummary). A record's size is its
 * data plus its partition key (UTF-8 bytes), as the service counts it; the
 * base64 of the HTTP body is not counted. A stream takes records up to its
 * MaxRecordSizeInKiB (1024 by default, settable from 1024 to 10240 with
 * UpdateMaxRecordSize); one PutRecords request takes up to 500 records and
 * 10 MiB in all (data plus partition keys).
 */
#define TP_KINESIS_MAX_RECORD_BYTES       (1024 * 1024)      /* a stream's default record limit */
#define TP_KINESIS_MAX_RECORD_BYTES_LIMIT (10 * 1024 * 1024) /* the largest a stream may allow */
#define TP_KINESIS_MAX_REQUEST_BYTES      (10 * 1024 * 1024) /* one PutRecords request, in all */
#define TP_KINESIS_MAX_BATCH_RECORDS      500
#define TP_KINESIS_MAX_PARTITION_KEY_CHARS 256 /* Unicode characters, 1 at least */
#define TP_KINESIS_MIN_RECORD_KIB 1024  /* UpdateMaxRecordSize's range */
#define TP_KINESIS_MAX_RECORD_KIB 10240

/*
 * Error codes the client itself puts in tp_kinesis_put_result.error_code for
 * a PutRecords entry it did not send (the service's codes never start with
 * "tp."). The first two are final; the last means "not tried: send it again".
 */
#define TP_KINESIS_ERR_TOO_LARGE "tp.RecordTooLarge"  /* data + partition key over the limit */
#define TP_KINESIS_ERR_INVALID   "tp.InvalidRecord"   /* bad partition key, hash key or data */
#define TP_KINESIS_ERR_NOT_SENT  "tp.RequestFull"     /* the request was full before it */

/**
 * The limits a client checks before sending, per client (so per stream: a
 * producer keeps one client per stream). Zero fields take the defaults.
 * Fill them from the stream with tp_kinesis_load_limits.
 */
typedef struct tp_kinesis_limits {
    uint32_t version;           /* TP_KINESIS_LIMITS_VERSION */
    uint32_t max_records;       /* per PutRecords; 0: 500 (1..500) */
    uint64_t max_record_bytes;  /* data + partition key; 0: 1 MiB (1..10 MiB) */
    uint64_t max_request_bytes; /* PutRecords total of data + partition keys; 0: 10 MiB (1..10 MiB) */
} tp_kinesis_limits;
#define TP_KINESIS_LIMITS_VERSION 1
#define TP_KINESIS_LIMITS_INIT { TP_KINESIS_LIMITS_VERSION, 0, 0, 0 }

/**
 * Create a client (endpoint: AWS_ENDPOINT_URL_KINESIS, AWS_ENDPOINT_URL or the
 * region's). @return TP_OK; TP_E_CONFIG; TP_E_INVALID; TP_E_NOMEM; TP_E_HTTP.
 */
TP_API tp_status tp_kinesis_new(tp_kinesis **out, const tp_aws_client_options *opts,
                                tp_error *err);
/** Free a client. NULL: no-op. */
TP_API void tp_kinesis_free(tp_kinesis *k);

/** Fill `l` with the defaults (zeros). @return TP_OK; TP_E_INVALID (NULL, unknown version). */
TP_API tp_status tp_kinesis_limits_init(tp_kinesis_limits *l, uint32_t version);
/**
 * Set the limits tp_kinesis_put_record(s) check (zero fields: the defaults).
 * Lower values than the service's are allowed (an emulator with smaller
 * bodies; kinesalite refuses request bodies over 7 MiB).
 * @return TP_OK; TP_E_INVALID (a field out of its range, err->field names it).
 */
TP_API tp_status tp_kinesis_set_limits(tp_kinesis *k, const tp_kinesis_limits *l, tp_error *err);
/** The limits in force (defaults filled in). */
TP_API void tp_kinesis_get_limits(const tp_kinesis *k, tp_kinesis_limits *out);

/**
 * CreateStream with `shard_count` shards (0: on-demand capacity mode). The
 * stream is CREATING at first: see tp_kinesis_wait_active.
 * @return TP_OK; TP_E_EXISTS (ResourceInUseException); TP_E_AWS ...
 */
TP_API tp_status tp_kinesis_create_stream(tp_kinesis *k, const char *stream, uint32_t shard_count,
                                          tp_error *err);
/** DeleteStream. @return TP_OK; TP_E_NOT_FOUND; TP_E_AWS ... */
TP_API tp_status tp_kinesis_delete_stream(tp_kinesis *k, const char *stream,
                                          int32_t enforce_consumer_deletion, tp_error *err);

typedef struct tp_kinesis_stream_summary {
    char status[16];          /* CREATING, DELETING, ACTIVE, UPDATING */
    char stream_mode[16];     /* PROVISIONED, ON_DEMAND ("" when not reported) */
    char arn[TP_KINESIS_ARN_MAX];
    uint32_t open_shard_count;
    uint32_t retention_hours;
    int64_t creation_ms;      /* StreamCreationTimestamp */
    uint32_t consumer_count;
    uint32_t max_record_kib;  /* MaxRecordSizeInKiB as reported; 0 when the answer has
                                 none (older services, kinesalite) */
    uint64_t max_record_bytes; /* the stream's record limit, data + partition key:
                                  max_record_kib * 1024, or 1 MiB when not reported */
} tp_kinesis_stream_summary;

/**
 * DescribeStreamSummary.
 * @return TP_OK; TP_E_NOT_FOUND; TP_E_PARSE (a required member missing or of
 *         the wrong type, MaxRecordSizeInKiB out of 1..10240; err->field);
 *         TP_E_AWS ...
 */
TP_API tp_status tp_kinesis_describe_stream_summary(tp_kinesis *k, const char *stream,
                                                    tp_kinesis_stream_summary *out,
                                                    tp_error *err);

/**
 * Read `stream`'s MaxRecordSizeInKiB (DescribeStreamSummary) and make it the
 * client's record limit; the other limits are kept.
 * @param out (may be NULL) the summary read.
 * @return as tp_kinesis_describe_stream_summary.
 */
TP_API tp_status tp_kinesis_load_limits(tp_kinesis *k, const char *stream,
                                        tp_kinesis_stream_summary *out, tp_error *err);
/**
 * UpdateMaxRecordSize: let `stream` take records up to `kib` KiB (1024..10240),
 * data plus partition key. The service takes the stream by ARN only: given a
 * name, the client reads the ARN with DescribeStreamSummary first. Set the
 * client's own limit afterwards (tp_kinesis_load_limits) once the stream is
 * ACTIVE again.
 * @return TP_OK; TP_E_INVALID (kib out of range, err->field
 *         "MaxRecordSizeInKiB"); TP_E_NOT_FOUND; TP_E_EXISTS
 *         (ResourceInUseException: the stream is not ACTIVE); TP_E_AWS
 *         (ValidationException...; kinesalite 3.3.3 answers
 *         UnknownOperationException) ...
 */
TP_API tp_status tp_kinesis_update_max_record_size(tp_kinesis *k, const char *stream, uint32_t kib,
                                                   tp_error *err);
/**
 * Poll DescribeStreamSummary until the stream is ACTIVE, at most `timeout_ms`.
 * @return TP_OK; TP_E_TIMEOUT; as tp_kinesis_describe_stream_summary.
 */
TP_API tp_status tp_kinesis_wait_active(tp_kinesis *k, const char *stream, uint32_t timeout_ms,
                                        tp_error *err);

typedef struct tp_kinesis_shard {
    char shard_id[TP_KINESIS_SHARD_ID_MAX];
    char parent_shard_id[TP_KINESIS_SHARD_ID_MAX];          /* "" if none */
    char adjacent_parent_shard_id[TP_KINESIS_SHARD_ID_MAX]; /* "" if none */
    char hash_key_start[TP_KINESIS_HASH_MAX];
    char hash_key_end[TP_KINESIS_HASH_MAX];
    char sequence_start[TP_KINESIS_SEQ_MAX];
    char sequence_end[TP_KINESIS_SEQ_MAX]; /* "" while the shard is open */
} tp_kinesis_shard;

/** A list of shards, owned by the caller: free with tp_kinesis_shards_dispose. */
typedef struct tp_kinesis_shards {
    tp_kinesis_shard *shards;
    size_t count;
    uint32_t pages; /* ListShards calls made */
    const tp_allocator *alloc;
} tp_kinesis_shards;

/**
 * ListShards, following NextToken through every page (`page_size` shards a
 * page, 0: the service's default), into `out` (replaced).
 * @return TP_OK; TP_E_NOT_FOUND; TP_E_PARSE; TP_E_NOMEM; TP_E_AWS ...
 */
TP_API tp_status tp_kinesis_list_shards(tp_kinesis *k, const char *stream, uint32_t page_size,
                                        tp_kinesis_shards *out, tp_error *err);
TP_API void tp_kinesis_shards_dispose(tp_kinesis_shards *s);

/** Where PutRecord(s) put a record. */
typedef struct tp_kinesis_put_result {
    char shard_id[TP_KINESIS_SHARD_ID_MAX];
    char sequence_number[TP_KINESIS_SEQ_MAX];
    char error_code[TP_ERROR_AWS_MAX];          /* PutRecords: "" when it succeeded */
    char error_message[TP_ERROR_MESSAGE_MAX];
} tp_kinesis_put_result;

/**
 * PutRecord. `explicit_hash_key` and `sequence_for_ordering` may be NULL.
 * Checked before anything is sent, as PutRecords checks an entry.
 * @return TP_OK; TP_E_TOO_LARGE (data + partition key over the client's
 *         max_record_bytes, err->field "Data"); TP_E_INVALID (partition key
 *         not 1..256 characters of UTF-8, explicit hash key not a decimal in
 *         0..2^128-1, NULL data; err->field, err->offset the bad byte);
 *         TP_E_THROTTLED (ProvisionedThroughputExceededException after
 *         retries); TP_E_NOT_FOUND; TP_E_AWS ...
 */
TP_API tp_status tp_kinesis_put_record(tp_kinesis *k, const char *stream, tp_cursor data,
                                       const char *partition_key, const char *explicit_hash_key,
                                       const char *sequence_for_ordering,
                                       tp_kinesis_put_result *out, tp_error *err);

typedef struct tp_kinesis_entry {
    tp_cursor data;
    const char *partition_key;     /* required, 1..256 characters of UTF-8 */
    const char *explicit_hash_key; /* NULL: none; else decimal 0..2^128-1 */
} tp_kinesis_entry;

/**
 * PutRecords of `n` (1..max_records) entries, results[i] (caller array of
 * `n`) for entries[i].
 *
 * One bad entry never sinks the batch. Before anything is sent, each entry
 * is checked against the client's limits: one over max_record_bytes (data +
 * partition key) gets error_code TP_KINESIS_ERR_TOO_LARGE, one with a bad
 * key or NULL data TP_KINESIS_ERR_INVALID, each with a message naming the
 * entry, its size and the limit; the others go out. Entries are then taken
 * in order while the request's total (data + partition keys) stays within
 * max_request_bytes; from the first one that would pass it, every later good
 * entry gets TP_KINESIS_ERR_NOT_SENT (not tried; order kept). Only the taken
 * entries are sent, in one request; when none is, nothing is sent.
 * Entries the service refused carry its ErrorCode/ErrorMessage. *failed
 * counts every entry with an error_code. Retrying is the caller's choice
 * (the producer does: never the tp.RecordTooLarge / tp.InvalidRecord ones).
 * @return TP_OK (per-entry failures included); TP_E_INVALID (NULL arrays, n
 *         out of range, a bad stream name); TP_E_THROTTLED; TP_E_NOT_FOUND;
 *         TP_E_PARSE (an answer with a different record count); TP_E_NOMEM;
 *         TP_E_AWS ...
 */
TP_API tp_status tp_kinesis_put_records(tp_kinesis *k, const char *stream,
                                        const tp_kinesis_entry *entries, size_t n,
                                        tp_kinesis_put_result *results, uint32_t *failed,
                                        tp_error *err);

/* Iterator types for tp_kinesis_get_shard_iterator */
#define TP_KINESIS_TRIM_HORIZON          0
#define TP_KINESIS_LATEST                1
#define TP_KINESIS_AT_SEQUENCE_NUMBER    2
#define TP_KINESIS_AFTER_SEQUENCE_NUMBER 3
#define TP_KINESIS_AT_TIMESTAMP          4

/**
 * GetShardIterator. `sequence_number` is for the AT/AFTER types,
 * `timestamp_ms` for AT_TIMESTAMP. Writes the iterator and a NUL to `out`.
 * @return TP_OK; TP_E_INVALID; TP_E_NOT_FOUND; TP_E_RANGE; TP_E_AWS ...
 */
TP_API tp_status tp_kinesis_get_shard_iterator(tp_kinesis *k, const char *stream,
                                               const char *shard_id, int32_t type,
                                               const char *sequence_number, int64_t timestamp_ms,
                                               char out[TP_KINESIS_ITERATOR_MAX], tp_error *err);

typedef struct tp_kinesis_record {
    tp_cursor data;              /* decoded bytes */
    const char *sequence_number;
    const char *partition_key;
    int64_t arrival_ms;          /* ApproximateArrivalTimestamp */
} tp_kinesis_record;

typedef struct tp_kinesis_child_shard {
    const char *shard_id;
    const char *parent_shards[2];
    size_t parent_count;
    const char *hash_key_start;
    const char *hash_key_end;
} tp_kinesis_child_shard;

/**
 * What GetRecords returned; every pointer lives until
 * tp_kinesis_records_dispose (or the next tp_kinesis_get_records into it).
 */
typedef struct tp_kinesis_records {
    tp_kinesis_record *records;
    size_t count;
    const char *next_shard_iterator; /* NULL once a closed shard is read to its end */
    int64_t millis_behind_latest;
    tp_kinesis_child_shard *child_shards;
    size_t child_count;
    void *internal_;                 /* owned memory */
    const tp_allocator *alloc;
} tp_kinesis_records;

/**
 * GetRecords: up to `limit` records (0: the service's default, 10 000) from
 * `iterator` into `out` (replaced; zero-initialise it before first use).
 * @return TP_OK; TP_E_THROTTLED; TP_E_AWS (ExpiredIteratorException ...);
 *         TP_E_PARSE (bad base64, err->field names it); TP_E_NOMEM.
 */
TP_API tp_status tp_kinesis_get_records(tp_kinesis *k, const char *iterator, uint32_t limit,
                                        tp_kinesis_records *out, tp_error *err);
TP_API void tp_kinesis_records_dispose(tp_kinesis_records *r);

/** SplitShard at `new_starting_hash_key` (decimal). @return TP_OK; TP_E_AWS ... */
TP_API tp_status tp_kinesis_split_shard(tp_kinesis *k, const char *stream, const char *shard_id,
                                        const char *new_starting_hash_key, tp_error *err);
/** MergeShards of two adjacent shards. @return TP_OK; TP_E_AWS ... */
TP_API tp_status tp_kinesis_merge_shards(tp_kinesis *k, const char *stream, const char *shard_id,
                                         const char *adjacent_shard_id, tp_error *err);
/**
 * UpdateShardCount to `target` (UNIFORM_SCALING).
 * @param current (may be NULL) the count before, as the service reports it.
 * @return TP_OK; TP_E_AWS ...
 */
TP_API tp_status tp_kinesis_update_shard_count(tp_kinesis *k, const char *stream, uint32_t target,
                                               uint32_t *current, tp_error *err);

#ifdef __cplusplus
}
#endif
#endif
