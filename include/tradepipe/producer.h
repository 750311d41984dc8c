#ifndef TRADEPIPE_PRODUCER_H
#define TRADEPIPE_PRODUCER_H

/* Floor 5: the Kinesis producer -- what the Kinesis Producer Library (KPL)
 * is to Java and C++ users, in-process.
 *
 * tp_producer_put takes a user record (data, partition key, optional
 * explicit hash key) from any thread and returns at once. A producer thread
 * then:
 *  - predicts each record's shard from the stream's shard map (ListShards
 *    hash-key ranges; MD5 of the partition key, or the explicit hash key),
 *    refreshed when a record lands on a shard other than the predicted one;
 *  - aggregates the records of a shard into KPL aggregated records
 *    (tradepipe/kpl.h; on by default, up to aggregation_max_bytes), or sends
 *    them one Kinesis record each;
 *  - collects Kinesis records into PutRecords requests within the stream's
 *    limits (500 records, max_request_bytes, the record limit read from
 *    DescribeStreamSummary) and sends them, signed, several at once (curl
 *    multi), when one is full or its oldest record has waited linger_ms;
 *  - keeps each shard under its rate limits (token buckets of
 *    shard_records_per_s and shard_bytes_per_s), so it runs below the
 *    throttling line instead of bouncing off it;
 *  - retries what failed (throttled entries, InternalFailure, 5xx, resets,
 *    timeouts, expired credentials) with backoff until the record's
 *    time-to-live passes; other failures are final.
 *
 * Order: records with the same partition key reach their shard in put order,
 * retries included (a key has at most one Kinesis record in flight; with
 * aggregation, a shard has at most one aggregate in flight).
 *
 * Every record completes exactly once, through `on_done` (shard id and
 * sequence number, or the error of every attempt); records that finally
 * failed are also written in full to the dead-letter file when one is set.
 * Memory is bounded: buffered bytes are capped (max_buffered_bytes) and put
 * waits up to its timeout, then returns TP_E_LIMIT ("full").
 *
 * A request that timed out or was reset after it was sent may have been
 * written: retrying it can write its records twice. Those records are
 * counted (possible_duplicates); a consumer dedupes by a record id in the
 * data if it must.
 *
 * Sources: the KPL (aws/kinesis/core/: aggregator, collector, limiter,
 * retrier); Kinesis Data Streams API reference, PutRecords, ListShards,
 * DescribeStreamSummary; limits in "Quotas and limits". */

#include "tradepipe/aws.h"
#include "tradepipe/core.h"
#include "tradepipe/kinesis.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tp_producer tp_producer; /* opaque */

/** One attempt at sending a record: its error, or nothing when it succeeded. */
typedef struct tp_producer_attempt {
    int64_t end_ms;                          /* when it ended (ms since the epoch) */
    char error_code[TP_ERROR_AWS_MAX];       /* "" when the attempt succeeded */
    char error_message[TP_ERROR_MESSAGE_MAX];
} tp_producer_attempt;

/** How a user record ended, given to on_done; everything is borrowed. */
typedef struct tp_producer_result {
    void *user;                    /* as given to tp_producer_put */
    tp_status status;              /* TP_OK: written */
    tp_cursor data;
    const char *partition_key;
    const char *explicit_hash_key; /* NULL: none */
    const char *shard_id;          /* "" unless written */
    const char *sequence_number;   /* of the Kinesis record that carried it */
    int64_t sub_sequence;          /* its place in the aggregate; -1: sent alone */
    int64_t put_ms;                /* when it was put (ms since the epoch) */
    uint32_t n_attempts;
    const tp_producer_attempt *attempts; /* every attempt, in order */
} tp_producer_result;

/** Called once per record, on the producer's thread; must not call
 *  tp_producer_flush or tp_producer_close (tp_producer_put with timeout 0 is
 *  fine). */
typedef void (*tp_producer_done_fn)(const tp_producer_result *r, void *payload);

typedef struct tp_producer_options {
    uint32_t version;                  /* TP_PRODUCER_OPTIONS_VERSION */
    const char *stream;                /* stream name or ARN; required */
    const tp_aws_client_options *aws;  /* endpoint, region, credentials; NULL: defaults */
    int32_t aggregate;                 /* 1: KPL aggregation (default), 0: one record each */
    uint32_t aggregation_max_bytes;    /* 0: 51,200 (the KPL's AggregationMaxSize) */
    uint32_t linger_ms;                /* 0: 100 (RecordMaxBufferedTime) */
    uint32_t record_ttl_ms;            /* 0: 30,000 (the KPL's RecordTtl) */
    uint32_t max_in_flight;            /* PutRecords requests at once; 0: 16 */
    uint64_t max_request_bytes;        /* data + keys per request; 0: 5 MiB */
    uint64_t max_buffered_bytes;       /* 0: 64 MiB; put blocks or says full above */
    double shard_records_per_s;        /* per shard; 0: 1,000; <0: no limit */
    double shard_bytes_per_s;          /* per shard; 0: 1 MiB; <0: no limit */
    const char *dead_letter_path;      /* NULL: none; else NDJSON of final failures */
    tp_producer_done_fn on_done;       /* NULL: none */
    void *on_done_payload;
} tp_producer_options;
#define TP_PRODUCER_OPTIONS_VERSION 1
#define TP_PRODUCER_OPTIONS_INIT                                                                   \
    {                                                                                              \
        TP_PRODUCER_OPTIONS_VERSION, NULL, NULL, 1, 0, 0, 0, 0, 0, 0, 0.0, 0.0, NULL, NULL, NULL  \
    }

/** Fill `o` with the defaults. @return TP_OK; TP_E_INVALID. */
TP_API tp_status tp_producer_options_init(tp_producer_options *o, uint32_t version);

/**
 * Create a producer for `o->stream`: reads the stream's record limit
 * (DescribeStreamSummary) and shard map (ListShards), then starts its thread.
 * The options are copied.
 * @return TP_OK; TP_E_INVALID (options: err->field); TP_E_NOT_FOUND (no such
 *         stream); the AWS client's errors; TP_E_NOMEM.
 */
TP_API tp_status tp_producer_new(tp_producer **out, const tp_producer_options *o, tp_error *err);

/** A user record to put; everything is copied by tp_producer_put. */
typedef struct tp_producer_record {
    tp_cursor data;
    const char *partition_key;     /* 1..256 characters of UTF-8 */
    const char *explicit_hash_key; /* NULL, or decimal 0..2^128-1 */
    void *user;                    /* handed back in the result */
} tp_producer_record;

/**
 * Put a record; returns at once (thread-safe). When max_buffered_bytes are
 * buffered, waits up to `timeout_ms` for room.
 * @return TP_OK (it will complete through on_done); TP_E_LIMIT (full after
 *         the wait: nothing was taken); TP_E_TOO_LARGE (data + partition key
 *         over the stream's record limit) or TP_E_INVALID (a bad key, err->field
 *         and err->offset): the record fails alone, before any request, is
 *         written to the dead-letter file and does not reach on_done;
 *         TP_E_STATE (closed); TP_E_NOMEM.
 */
TP_API tp_status tp_producer_put(tp_producer *p, const tp_producer_record *r, uint32_t timeout_ms,
                                 tp_error *err);

/**
 * Send everything put so far without waiting for linger_ms, and wait until
 * each of those records has completed (or `timeout_ms` passed; 0: no limit).
 * Not from on_done. @return TP_OK; TP_E_TIMEOUT.
 */
TP_API tp_status tp_producer_flush(tp_producer *p, uint32_t timeout_ms, tp_error *err);

/**
 * Flush (each record completes: written, or failed once its retries or TTL
 * are spent), stop the thread and free. NULL: no-op. Not from on_done.
 */
TP_API void tp_producer_close(tp_producer *p);

/** Counters, as the KPL's metrics name them where they exist. */
typedef struct tp_producer_stats {
    uint64_t user_records_received;  /* accepted by put */
    uint64_t user_records_pending;   /* accepted, not completed */
    uint64_t user_records_put;       /* written */
    uint64_t user_records_failed;    /* completed with an error (expired included) */
    uint64_t user_records_expired;   /* failed past record_ttl_ms */
    uint64_t user_records_refused;   /* refused by put (too large, bad key) */
    uint64_t kinesis_records_put;    /* aggregates and lone records written */
    uint64_t bytes_put;              /* data + keys of the Kinesis records written */
    uint64_t buffered_bytes;         /* now */
    uint64_t requests;               /* PutRecords sent */
    uint32_t requests_in_flight;     /* now */
    uint64_t retries;                /* Kinesis records sent again */
    uint64_t throttles;              /* throttled entries and requests */
    uint64_t possible_duplicates;    /* user records sent again after an answer was lost */
    uint64_t shard_map_refreshes;
    double latency_ms_p50, latency_ms_p90, latency_ms_p99, latency_ms_max; /* put to done */
} tp_producer_stats;

/** A snapshot of the counters (thread-safe). */
TP_API void tp_producer_get_stats(tp_producer *p, tp_producer_stats *out);

#ifdef __cplusplus
}
#endif
#endif
