#ifndef TRADEPIPE_LEASE_H
#define TRADEPIPE_LEASE_H

/* Floor 5: shard leases in a DynamoDB table, as the Kinesis Client Library
 * (KCL) keeps them, so that several workers share a stream's shards and a
 * stream can move between a Java KCL application and ours without losing
 * its place.
 *
 * The table (hash key leaseKey, S) holds one item per shard, with the KCL's
 * attribute names and meaning (KCL DynamoDBLeaseSerializer; "Tracking
 * Amazon Kinesis Data Streams Application State" in the Kinesis Data
 * Streams Developer Guide):
 *   leaseKey                      S   the shard id
 *   leaseOwner                    S   the worker holding it (absent: nobody)
 *   leaseCounter                  N   +1 on every write by its owner: a
 *                                     worker that sees it stand still for the
 *                                     failover time takes the lease over
 *   checkpoint                    S   the last sequence number whose effects
 *                                     are durable, or TRIM_HORIZON, LATEST,
 *                                     AT_TIMESTAMP (no record yet), SHARD_END
 *   checkpointSubSequenceNumber   N   the user record within a KPL aggregate
 *   ownerSwitchesSinceCheckpoint  N   takeovers since the last checkpoint
 *   parentShardId                 SS  the shard's parents (absent: none)
 * and one attribute of ours, which the KCL ignores:
 *   tpState                       B   the application's state at the
 *                                     checkpoint, written with it in the same
 *                                     conditional write (at most
 *                                     TP_LEASE_STATE_MAX bytes)
 *
 * Every write by an owner is conditional on leaseOwner and leaseCounter
 * being what the owner last wrote, so a worker whose lease was taken over
 * learns it (TP_E_CONDITION) at its next write instead of overwriting the
 * new owner's checkpoint. A worker renews its leases well within the
 * failover time (a third of it), takes leases nobody holds or whose counter
 * stood still for the failover time, and balances: it holds at least
 * ceil(leases / workers) when it can, stealing one lease at a time from the
 * worker holding the most (as the KCL's LeaseTaker does).
 *
 * One thread at a time per table handle. */

#include "tradepipe/dynamodb.h"
#include "tradepipe/kinesis.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Room for a worker id and its NUL. */
#define TP_LEASE_OWNER_MAX 129
/** Largest tpState: what fits in a DynamoDB item (400 KB) beside the lease. */
#define TP_LEASE_STATE_MAX ((size_t)380 * 1024)
/** Default failover time (ms): a lease whose counter stood still this long is taken. */
#define TP_LEASE_DEFAULT_FAILOVER_MS 10000

/* Checkpoint sentinels (the KCL's SentinelCheckpoint names). */
#define TP_LEASE_TRIM_HORIZON "TRIM_HORIZON"
#define TP_LEASE_LATEST       "LATEST"
#define TP_LEASE_AT_TIMESTAMP "AT_TIMESTAMP"
#define TP_LEASE_SHARD_END    "SHARD_END"

/** A lease as last read or written by this worker. */
typedef struct tp_lease {
    char lease_key[TP_KINESIS_SHARD_ID_MAX];
    char lease_owner[TP_LEASE_OWNER_MAX]; /* "" when nobody holds it */
    int64_t lease_counter;
    char checkpoint[TP_KINESIS_SEQ_MAX];  /* a sequence number or a sentinel */
    int64_t checkpoint_sub_sequence_number;
    int64_t owner_switches_since_checkpoint;
    char parent_shard_ids[2][TP_KINESIS_SHARD_ID_MAX]; /* parent_count of them */
    uint32_t parent_count;
    uint32_t held;          /* 1 when this worker holds it (as far as it knows) */
    tp_cursor state;        /* tpState (empty when none): borrowed from the table handle
                               until the lease is read or written again */
    int64_t seen_change_ms; /* internal: when this worker saw leaseCounter change */
} tp_lease;

typedef struct tp_lease_options {
    uint32_t version;       /* TP_LEASE_OPTIONS_VERSION */
    uint32_t failover_ms;   /* 0: TP_LEASE_DEFAULT_FAILOVER_MS */
    uint32_t max_leases;    /* most leases this worker holds; 0: no limit */
    uint32_t reserved;
    const tp_aws_client_options *client; /* NULL: defaults (the environment) */
} tp_lease_options;
#define TP_LEASE_OPTIONS_VERSION 1
#define TP_LEASE_OPTIONS_INIT {TP_LEASE_OPTIONS_VERSION, 0, 0, 0, NULL}

typedef struct tp_lease_table tp_lease_table;

/**
 * Open the lease table at `uri` ("dynamodb://TABLE") for worker `worker_id`
 * (1..128 bytes, unique among the workers: host and pid, say). The table is
 * created (on demand billing, hash key leaseKey) when missing, and waited
 * for until ACTIVE (at most 60 s). `opts` NULL: defaults.
 * @return TP_OK; TP_E_CONFIG (not dynamodb://TABLE, a bad table name: field
 *         "table"); TP_E_INVALID (a bad worker id or options); the DynamoDB
 *         client's errors (TP_E_AWS with the HTTP status and AWS error code,
 *         TP_E_HTTP, TP_E_CREDENTIALS...); TP_E_NOMEM.
 */
TP_API tp_status tp_lease_table_open(tp_lease_table **out, const char *uri, const char *worker_id,
                                     const tp_lease_options *opts, tp_error *err);

/** Close the handle (leases held stay held until they expire: release them first). */
TP_API void tp_lease_table_free(tp_lease_table *t);

/**
 * Make a lease for every shard of `shards` that has none (a conditional
 * PutItem, so that workers racing do not overwrite each other): checkpoint
 * `initial` (TP_LEASE_TRIM_HORIZON, _LATEST or _AT_TIMESTAMP), parents from
 * the shard. A child of a shard that has a lease starts at TRIM_HORIZON
 * whatever `initial` says (its records follow its parents').
 * @return TP_OK; TP_E_INVALID (a bad `initial`); the client's errors.
 */
TP_API tp_status tp_lease_table_sync(tp_lease_table *t, const tp_kinesis_shards *shards,
                                     const char *initial, tp_error *err);

/**
 * Read every lease (a Scan). Leases this worker holds whose owner or counter
 * changed behind its back are no longer held (lost). `now_ms` is a
 * monotonic clock in ms, for expiry.
 * @return TP_OK; the client's errors; TP_E_PARSE (an item that is not a
 *         lease: err->field names the attribute).
 */
TP_API tp_status tp_lease_table_refresh(tp_lease_table *t, int64_t now_ms, tp_error *err);

/** How many leases the last refresh read. */
TP_API size_t tp_lease_table_count(const tp_lease_table *t);
/** Lease `i` (0..count-1), borrowed until the next refresh, or NULL. */
TP_API const tp_lease *tp_lease_table_get(const tp_lease_table *t, size_t i);
/** The lease of shard `lease_key`, borrowed until the next refresh, or NULL. */
TP_API const tp_lease *tp_lease_table_find(const tp_lease_table *t, const char *lease_key);

/**
 * Take what this worker should hold now (see the balancing rule above):
 * leases nobody holds or that expired first, then one stolen from the most
 * loaded worker when that still leaves this one short. Leases at
 * SHARD_END, and leases whose parents are not at SHARD_END, are not taken.
 * `taken` (may be NULL) counts the leases taken.
 * @return TP_OK (losing a race for a lease is not an error); the client's errors.
 */
TP_API tp_status tp_lease_table_take(tp_lease_table *t, int64_t now_ms, uint32_t *taken,
                                     tp_error *err);

/**
 * Renew every lease this worker holds (leaseCounter + 1). A lease taken
 * over meanwhile is dropped (held = 0) and counted in `lost` (may be NULL).
 * @return TP_OK; the client's errors.
 */
TP_API tp_status tp_lease_table_renew(tp_lease_table *t, int64_t now_ms, uint32_t *lost,
                                      tp_error *err);

/**
 * Checkpoint a held lease: `checkpoint` (a sequence number, or a sentinel
 * such as TP_LEASE_SHARD_END), its sub-sequence number and the state, in
 * one conditional write that also renews it.
 * @return TP_OK; TP_E_CONDITION (the lease is no longer this worker's: it is
 *         dropped, and the caller must drop what it did since its last
 *         checkpoint); TP_E_STATE (not held); TP_E_TOO_LARGE (state over
 *         TP_LEASE_STATE_MAX); TP_E_INVALID; the client's errors.
 */
TP_API tp_status tp_lease_table_checkpoint(tp_lease_table *t, const char *lease_key,
                                           const char *checkpoint, int64_t sub_sequence_number,
                                           tp_cursor state, tp_error *err);

/**
 * Release a held lease (leaseOwner removed) so that another worker takes it
 * at once. @return TP_OK; TP_E_CONDITION (already lost); the client's errors.
 */
TP_API tp_status tp_lease_table_release(tp_lease_table *t, const char *lease_key, tp_error *err);

/** Counters of this handle. */
typedef struct tp_lease_stats {
    uint64_t requests;  /* DynamoDB calls */
    uint64_t taken;     /* leases taken (stolen ones included) */
    uint64_t stolen;    /* taken from a live worker to balance */
    uint64_t lost;      /* held leases found taken by another worker */
    uint64_t conflicts; /* conditional writes refused */
    uint64_t checkpoints;
} tp_lease_stats;
TP_API void tp_lease_table_stats(const tp_lease_table *t, tp_lease_stats *out);

#ifdef __cplusplus
}
#endif
#endif
