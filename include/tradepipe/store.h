#ifndef TRADEPIPE_STORE_H
#define TRADEPIPE_STORE_H

/* Floor 5: where the engine's effects are kept.
 *
 * Positions store: the engine state per symbol (position, entry, the
 * (shard, sequence) of the last applied tick, the price window), loaded at
 * start and saved as ticks are applied. Because each symbol carries its last
 * applied sequence, replaying ticks that were already saved changes nothing.
 *
 * Trade archive: one JSON object per completed trade under
 * completed-trades/SYMBOL/<key>.json, the key derived from the trade itself,
 * so writing the same trade twice overwrites instead of duplicating.
 *
 * Both are interfaces (a table of functions and its payload) with two
 * backends each: a local file for positions and a directory laid out like
 * the bucket for trades; a DynamoDB table for positions and an S3 bucket for
 * trades. Others plug in through the same tables.
 * One thread at a time per store or archive (and per AWS client it uses). */

#include "tradepipe/dynamodb.h"
#include "tradepipe/engine.h"
#include "tradepipe/s3.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- positions store ----------------------------------------------------- */

typedef struct tp_positions_store_vtable {
    uint32_t version; /* TP_POSITIONS_STORE_VTABLE_VERSION */
    uint32_t reserved;
    /**
     * Restore every stored symbol into `engine` (an empty or missing store
     * loads nothing and succeeds). On failure `engine` must be unchanged.
     */
    tp_status (*load)(void *payload, tp_engine *engine, tp_error *err);
    /**
     * Make the state of `symbols` (n of them, views into the caller's memory;
     * n == 0: every symbol) durable. A backend may write more than asked
     * (the file backend rewrites the whole file). Either everything asked is
     * saved or, on failure, what was stored before stays readable.
     */
    tp_status (*save)(void *payload, const tp_engine *engine, const tp_cursor *symbols, size_t n,
                      tp_error *err);
    /** Release the payload (called once, by tp_positions_store_free). May be NULL. */
    void (*free)(void *payload);
} tp_positions_store_vtable;
#define TP_POSITIONS_STORE_VTABLE_VERSION 1

typedef struct tp_positions_store tp_positions_store;

/**
 * A store over a backend: `vt` (borrowed: it must outlive the store) and its
 * `payload` (owned from now on: vt->free(payload) is called by
 * tp_positions_store_free, and on failure here). `alloc` NULL: malloc.
 * @return TP_OK; TP_E_INVALID (NULL or unknown vtable version); TP_E_NOMEM.
 */
TP_API tp_status tp_positions_store_new(tp_positions_store **out,
                                        const tp_positions_store_vtable *vt, void *payload,
                                        const tp_allocator *alloc, tp_error *err);

/**
 * The local-file backend. The file is NDJSON: a header line
 * {"format":"tradepipe-positions","version":1,"params":{...}} and then one
 * line per symbol with quantity, entry price (exact decimal text) and time,
 * entry and last (shard, sequence), realized P&L, and "state": the symbol's
 * engine snapshot in base64. Saving writes a temporary file in the same
 * directory, fsyncs it, renames it over `path` and fsyncs the directory, so
 * the file is always either the old or the new state (its directory is
 * created when missing). Symbols are in byte-wise
 * order of their names, so the bytes depend on the state alone. A missing file is an
 * empty store. Loading checks the readable fields against the snapshots.
 * @return TP_OK; TP_E_INVALID; TP_E_NOMEM.
 */
TP_API tp_status tp_positions_store_file_new(tp_positions_store **out, const char *path,
                                             const tp_allocator *alloc, tp_error *err);

/** tp_positions_store_dynamodb_stats_get: what a DynamoDB store did since it was made. */
typedef struct tp_positions_store_dynamodb_stats {
    uint64_t writes;     /* PutItem calls that succeeded (one per symbol written) */
    uint64_t skipped;    /* symbols not written: snapshot unchanged since last written or read */
    uint64_t stale;      /* symbols not written: the table holds the same or a later state of
                            the same shard (a replay, or another writer ahead) */
    uint64_t conflicts;  /* conditional writes refused (ConditionalCheckFailedException) */
    uint64_t reads;      /* GetItem calls (a symbol never read nor written; after a conflict) */
    uint64_t loaded;     /* symbols restored by load */
    uint64_t scan_pages; /* Scan calls made by load */
} tp_positions_store_dynamodb_stats;

/**
 * The DynamoDB backend, over `client` (borrowed: it must outlive the store,
 * and be used by one thread at a time with it) and the table `table`
 * (copied). No request is made here; the table must exist (see
 * tp_positions_store_dynamodb_ensure_table).
 *
 * The table's key is `symbol` (S) alone, one item per symbol:
 *   symbol (S), quantity (N), entry_price (N, exact decimal text as
 *   tp_price_format writes it; absent when flat), entry_time (S, ISO-8601
 *   UTC with 6 fraction digits; absent when unknown), entry_shard (S),
 *   entry_sequence (S), last_shard (S), last_sequence (S) (the shard and
 *   sequence of the last applied tick), realized_pnl (N, exact),
 *   state (B: tp_engine_snapshot of that symbol alone), updated_at (S,
 *   ISO-8601 UTC with milliseconds: when it was written).
 * `state` is the truth; load refuses an item whose other fields disagree.
 *
 * Load: a consistent Scan of every page; the items are restored into a
 * scratch engine and checked, then into `engine` at once (on failure
 * `engine` is unchanged). A Scan is not a snapshot of the table: an item
 * another writer changes while it runs is read before or after the change.
 *
 * Save: symbols are written one PutItem each, in engine order (n == 0) or
 * in the order given; it stops at the first failure, leaving the symbols
 * before it written (each item is whole: old or new). The store remembers
 * per symbol what the table holds, as it last read or wrote it: the last
 * (shard, sequence) and a SHA-256 of the snapshot.
 *  - A symbol whose snapshot is what the table holds is not written
 *    (stats.skipped), and neither is one whose table item is as far or
 *    further along the same shard (stats.stale: a replay after a restart).
 *  - A symbol the store knows nothing of (no load: an engine restored from
 *    a checkpoint) is first read with a consistent GetItem; after a load,
 *    a symbol the table did not hold is taken as absent.
 *  - Each write is conditional: "attribute_not_exists(symbol) OR
 *    (last_shard = :ps AND last_sequence = :pq)" with the remembered pair
 *    (only the first part when the store knows of no item). When it fails
 *    (stats.conflicts) the item is read (a consistent GetItem): the same
 *    shard at the same or a later sequence (sequences compared as numbers)
 *    is kept and the write skipped (stats.stale: the stored item is as new
 *    or newer, a replay converges to it); anything else (gone, the same
 *    shard at an earlier sequence, another shard, which sequences cannot
 *    order: a reshard, a lease that moved) is written over once more,
 *    conditional on what was read. A second refusal is read again, and
 *    unless the item is then as new or newer on our shard, it is TP_E_STATE:
 *    another writer keeps writing the symbol.
 *  - A write whose outcome is unknown (a transport error, a 5xx after the
 *    retries) makes the store read the item again before the next write.
 * `alloc` NULL: malloc.
 * @return TP_OK; TP_E_INVALID (NULL argument; a table name outside 3 to 255
 *         of [A-Za-z0-9_.-]: err->field "table"); TP_E_NOMEM.
 * The store's load and save return, beyond the vtable's: TP_E_STATE (an
 * item that disagrees with its state: err->field names the attribute; a
 * write refused twice: the message names the symbol, the table and both
 * (shard, sequence) pairs, err->field is "last_shard" or "last_sequence",
 * http_status 400 and aws_code ConditionalCheckFailedException);
 * TP_E_TOO_LARGE (a state over DynamoDB's 400 KB item limit: a smaller
 * engine window); TP_E_INVALID (a symbol that is not UTF-8); TP_E_NOT_FOUND
 * (no such table, aws_code ResourceNotFoundException; a symbol given to
 * save that the engine lacks, err->field "symbols"); the client's errors
 * (TP_E_HTTP, TP_E_THROTTLED, TP_E_AWS, with http_status and aws_code).
 */
TP_API tp_status tp_positions_store_dynamodb_new(tp_positions_store **out, tp_dynamodb *client,
                                                 const char *table, const tp_allocator *alloc,
                                                 tp_error *err);

/**
 * Make sure `table` can hold positions: DescribeTable; when it does not
 * exist (ResourceNotFoundException), CreateTable with key symbol (S) and
 * on-demand billing (PAY_PER_REQUEST); then wait up to `timeout_ms` for it
 * to be ACTIVE. A table whose key is not `symbol` alone is refused. When
 * the caller may not describe tables (AccessDeniedException) nothing is
 * checked and TP_OK is returned: the first read or write will tell.
 * @return TP_OK; TP_E_INVALID (bad table name, field "table"); TP_E_CONFIG
 *         (another key schema, field "positions"); TP_E_TIMEOUT; the
 *         client's errors (TP_E_HTTP, TP_E_AWS ... with http_status, aws_code).
 */
TP_API tp_status tp_positions_store_dynamodb_ensure_table(tp_dynamodb *client, const char *table,
                                                          uint32_t timeout_ms, tp_error *err);

/**
 * The counters of a store made by tp_positions_store_dynamodb_new or opened
 * as dynamodb://TABLE. @return TP_OK; TP_E_INVALID (another kind of store).
 */
TP_API tp_status tp_positions_store_dynamodb_stats_get(const tp_positions_store *s,
                                                       tp_positions_store_dynamodb_stats *out,
                                                       tp_error *err);

/**
 * Open a store by URI:
 *  - "file:PATH": tp_positions_store_file_new.
 *  - "dynamodb://TABLE": a DynamoDB client with default options and
 *    `alloc` (endpoint AWS_ENDPOINT_URL_DYNAMODB or
 *    AWS_ENDPOINT_URL or the region's, region and credentials from the
 *    environment, profiles or the instance role), owned by the store; then
 *    tp_positions_store_dynamodb_ensure_table with 120 s to wait: a
 *    missing table is created (on demand billing, key symbol). Requests are
 *    made here; see tp_positions_store_dynamodb_new for the rest.
 * @return TP_OK; TP_E_CONFIG, err->field "positions" (an unknown URI; no
 *         table name or a bad one; a table with another key); the client's
 *         and ensure_table's errors; TP_E_NOMEM.
 */
TP_API tp_status tp_positions_store_open(tp_positions_store **out, const char *uri,
                                         const tp_allocator *alloc, tp_error *err);

/**
 * Load the stored state into `engine` (see the vtable).
 * @return TP_OK; TP_E_IO (path in the message); TP_E_PARSE / TP_E_STATE
 *         (a corrupt or inconsistent store: err->line and err->field say
 *         where); TP_E_CHECKSUM; the engine's restore errors (parameters
 *         that differ: TP_E_STATE naming the parameter); TP_E_NOMEM.
 */
TP_API tp_status tp_positions_store_load(tp_positions_store *s, tp_engine *engine, tp_error *err);

/** Save (see the vtable). @return TP_OK; TP_E_IO; TP_E_NOMEM; the backend's errors. */
TP_API tp_status tp_positions_store_save(tp_positions_store *s, const tp_engine *engine,
                                         const tp_cursor *symbols, size_t n, tp_error *err);

/** Free the store and its payload. NULL: no-op. */
TP_API void tp_positions_store_free(tp_positions_store *s);

/* ---- trade archive ------------------------------------------------------- */

typedef struct tp_trade_archive_vtable {
    uint32_t version; /* TP_TRADE_ARCHIVE_VTABLE_VERSION */
    uint32_t reserved;
    /**
     * Store `body` under `key` (a relative object key such as
     * "completed-trades/AAPL/12-40-1a2b3c4d.json": segments of
     * [A-Za-z0-9._%-], no "." or ".." segment), replacing any object there,
     * durably and whole (never a partial object).
     */
    tp_status (*put)(void *payload, const char *key, tp_cursor body, const char *content_type,
                     tp_error *err);
    /** Release the payload (called once, by tp_trade_archive_free). May be NULL. */
    void (*free)(void *payload);
} tp_trade_archive_vtable;
#define TP_TRADE_ARCHIVE_VTABLE_VERSION 1

typedef struct tp_trade_archive tp_trade_archive;

/** An archive over a backend; ownership as tp_positions_store_new. */
TP_API tp_status tp_trade_archive_new(tp_trade_archive **out, const tp_trade_archive_vtable *vt,
                                      void *payload, const tp_allocator *alloc, tp_error *err);

/**
 * The local-directory backend: object KEY is the file DIR/KEY, written to a
 * temporary file in the same directory, fsynced and renamed into place
 * (directories are created as needed).
 * @return TP_OK; TP_E_INVALID; TP_E_NOMEM.
 */
TP_API tp_status tp_trade_archive_dir_new(tp_trade_archive **out, const char *dir,
                                          const tp_allocator *alloc, tp_error *err);

/**
 * The S3 backend, over `client` (borrowed: it must outlive the archive) and
 * `bucket` (copied; it must exist: no request is made here). Object KEY is
 * put as PREFIX/KEY, `prefix` (NULL or "": none; copied) with its leading
 * and trailing '/' removed, so exactly one '/' separates them; one
 * PutObject with the body's Content-MD5 and the given content type. S3
 * replaces an object whole, and keys are derived from the trade, so a trade
 * archived again overwrites the same object.
 * @return TP_OK; TP_E_INVALID (NULL argument; a bucket name outside S3's
 *         rules, field "bucket"; a prefix over 512 bytes or with control
 *         characters, field "prefix"); TP_E_NOMEM.
 * Puts return: TP_E_INVALID (a key the vtable refuses, field "key");
 * TP_E_NOT_FOUND (the bucket is gone, aws_code NoSuchBucket, the message
 * names it); the client's errors (TP_E_CHECKSUM, TP_E_HTTP, TP_E_AWS ...
 * with http_status and aws_code).
 */
TP_API tp_status tp_trade_archive_s3_new(tp_trade_archive **out, tp_s3 *client, const char *bucket,
                                         const char *prefix, const tp_allocator *alloc,
                                         tp_error *err);

/**
 * Open an archive by URI:
 *  - "file:DIR": tp_trade_archive_dir_new.
 *  - "s3://BUCKET/PREFIX" (or "s3://BUCKET", "s3://BUCKET/"): an S3 client
 *    with default options and `alloc` (endpoint AWS_ENDPOINT_URL_S3
 *    or AWS_ENDPOINT_URL or the region's), owned by the archive, then
 *    HeadBucket: a missing bucket is an error naming it, never created
 *    here (a mistyped name must not become a new bucket); HTTP 403 (a role
 *    that may put objects but not list the bucket) is not checked further.
 *    Objects as tp_trade_archive_s3_new.
 * @return TP_OK; TP_E_CONFIG, err->field "trades" (an unknown URI; no
 *         bucket or a bad name; a bad prefix); TP_E_NOT_FOUND (no such
 *         bucket: http_status 404, the message names it); the client's
 *         errors; TP_E_NOMEM.
 */
TP_API tp_status tp_trade_archive_open(tp_trade_archive **out, const char *uri,
                                       const tp_allocator *alloc, tp_error *err);

/** Room for any key tp_completed_trade_key writes, NUL included. */
#define TP_TRADE_KEY_MAX 1024

/**
 * The object key of the trade a sell event completes:
 * completed-trades/SYMBOL/ENTRYSEQ-EXITSEQ-SHARDS.json, where SYMBOL has
 * every byte outside [A-Za-z0-9._-], and a leading '.', percent-encoded, and
 * SHARDS is the CRC-32 (8 hex digits) of the entry and exit shard ids, so
 * trades of different streams never share a key.
 * @return TP_OK; TP_E_INVALID (not a sell event).
 */
TP_API tp_status tp_completed_trade_key(char out[TP_TRADE_KEY_MAX], const tp_engine_event *sell,
                                        tp_error *err);

/**
 * Append the JSON of the trade a sell event completes:
 * {"symbol":..,"quantity":n,"entry":{"price":x,"time":"ISO-8601"|null,
 *  "sequence":"digits","shard":".."},"exit":{...},"pnl":x,"return_pct":x,
 *  "reason":"take_profit"|"stop_loss","params":{"window":n,"drop_pct":x,
 *  "take_profit_pct":x,"stop_loss_pct":x|null,"order_size":n}}
 * Prices and P&L exact; return_pct = (exit - entry) / entry * 100 rounded
 * half away from zero to 8 decimals. `params` are the engine's options.
 * @return TP_OK; TP_E_INVALID (not a sell event); buffer errors.
 */
TP_API tp_status tp_completed_trade_json(tp_buf *out, const tp_engine_event *sell,
                                         const tp_engine_options *params, tp_error *err);

/**
 * Archive the trade a sell event completes (key and JSON as above).
 * @return TP_OK; TP_E_INVALID; the backend's errors (TP_E_IO...); TP_E_NOMEM.
 */
TP_API tp_status tp_trade_archive_put(tp_trade_archive *a, const tp_engine_event *sell,
                                      const tp_engine_options *params, tp_error *err);

/** Free the archive and its payload. NULL: no-op. */
TP_API void tp_trade_archive_free(tp_trade_archive *a);

#ifdef __cplusplus
}
#endif
#endif
