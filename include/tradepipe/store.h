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
 * Both are interfaces (a table of functions and its payload) with local
 * backends here: a file for positions, a directory laid out like the bucket
 * for trades. Other backends (DynamoDB, S3) plug in through the same tables.
 * One thread at a time per store or archive. */

#include "tradepipe/engine.h"

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

/**
 * Open a store by URI: "file:PATH". (dynamodb://TABLE comes with the AWS
 * consumer.) @return TP_OK; TP_E_UNSUPPORTED (a known scheme not built in);
 *         TP_E_CONFIG (an unknown URI); TP_E_NOMEM.
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
 * Open an archive by URI: "file:DIR". (s3://BUCKET/PREFIX comes with the AWS
 * consumer.) @return as tp_positions_store_open.
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
