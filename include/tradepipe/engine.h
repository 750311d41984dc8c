#ifndef TRADEPIPE_ENGINE_H
#define TRADEPIPE_ENGINE_H

/* Floor 2: the signal/position engine. Pure: no I/O, no global state; time
 * and sequence numbers come in with each tick.
 *
 * Per symbol, on exact prices (1e-8 units):
 *  - reference = the highest price among the previous `window` ticks of the
 *    symbol (the current tick excluded; fewer ticks: the highest of those;
 *    no tick yet: no reference, no signal). Every applied tick enters the
 *    window, whatever the position.
 *  - BUY when flat and price * 100 < reference * (100 - drop_pct);
 *    quantity = order_size.
 *  - SELL when long and price * 100 > entry * (100 + take_profit_pct), or,
 *    with TP_ENGINE_STOP_LOSS, price * 100 < entry * (100 - stop_loss_pct).
 *  - realized P&L = (exit - entry) * quantity, exact; an overflow is an error.
 * Percentages are in 1e-8 units of a percent, like prices ("2" is 200000000),
 * so fractional thresholds stay exact. Comparisons are done in 128 bits and
 * never overflow.
 *
 * Idempotence: each symbol remembers the (shard, sequence) of its last
 * applied tick. A tick of the same shard whose sequence is not greater (a
 * redelivery, or a replay of what was already applied) changes nothing; a
 * tick of another shard than the symbol's last is applied (sequences of
 * different shards do not compare).
 * Sequences are decimal digit strings without leading zeros (Kinesis
 * sequence numbers have up to 129 digits) compared as numbers. */

#include "tradepipe/record.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Room for a sequence number (digits) and its NUL. */
#define TP_SEQUENCE_MAX 130
/** Room for a shard id and its NUL. */
#define TP_SHARD_MAX 129

/** One percent in the 1e-8 units the percentage options use. */
#define TP_PCT_E8(whole) ((int64_t)(whole)*INT64_C(100000000))

/* tp_engine_options.flags */
#define TP_ENGINE_STOP_LOSS 0x1u /* stop_loss_pct_e8 is in force */

/** tp_tick.ts_us / tp_engine_event.ts_us when the time is unknown. */
#define TP_ENGINE_NO_TIME INT64_MIN

#define TP_ENGINE_DEFAULT_WINDOW      20u
#define TP_ENGINE_MAX_WINDOW          1000000u
#define TP_ENGINE_DEFAULT_MAX_SYMBOLS 100000u

typedef struct tp_engine_options {
    uint32_t version;           /* TP_ENGINE_OPTIONS_VERSION */
    uint32_t flags;             /* TP_ENGINE_* */
    uint32_t window;            /* previous ticks in the reference, 1..TP_ENGINE_MAX_WINDOW */
    uint32_t max_symbols;       /* 0 = TP_ENGINE_DEFAULT_MAX_SYMBOLS */
    int64_t drop_pct_e8;        /* 0 <= x <= 100%: buy below reference by more than this */
    int64_t take_profit_pct_e8; /* >= 0: sell above entry by more than this */
    int64_t stop_loss_pct_e8;   /* 0 <= x <= 100%, with TP_ENGINE_STOP_LOSS */
    int64_t order_size;         /* > 0: quantity bought */
    const tp_allocator *alloc;  /* NULL = malloc/free */
} tp_engine_options;
#define TP_ENGINE_OPTIONS_VERSION 1
#define TP_ENGINE_OPTIONS_INIT                                                                     \
    {                                                                                              \
        TP_ENGINE_OPTIONS_VERSION, 0, TP_ENGINE_DEFAULT_WINDOW, 0, TP_PCT_E8(2), TP_PCT_E8(5), 0,  \
            100, NULL                                                                              \
    }

/** Set `o` to TP_ENGINE_OPTIONS_INIT. @return TP_OK; TP_E_INVALID for an unknown version. */
TP_API tp_status tp_engine_options_init(tp_engine_options *o, uint32_t version);

/** One tick. All views are borrowed for the duration of the call only. */
typedef struct tp_tick {
    tp_cursor symbol;   /* 1..TP_SYMBOL_MAX-1 bytes, no NUL */
    tp_cursor shard;    /* 0..TP_SHARD_MAX-1 bytes, no NUL ("" is a valid shard) */
    tp_cursor sequence; /* 1..TP_SEQUENCE_MAX-1 decimal digits, no leading zero */
    int64_t price_e8;   /* > 0 */
    int64_t ts_us;      /* the trade's time, or TP_ENGINE_NO_TIME */
} tp_tick;

/* tp_engine_event.side */
#define TP_SIDE_BUY  1u
#define TP_SIDE_SELL 2u
/* tp_engine_event.reason */
#define TP_REASON_DROP        1u /* a buy: price dropped below the reference */
#define TP_REASON_TAKE_PROFIT 2u /* a sell over the take-profit */
#define TP_REASON_STOP_LOSS   3u /* a sell under the stop-loss */

/** What a tick triggered. Plain data: it owns its strings. */
typedef struct tp_engine_event {
    uint32_t side;          /* TP_SIDE_* */
    uint32_t reason;        /* TP_REASON_* */
    int64_t price_e8;       /* the tick's price */
    int64_t quantity;       /* shares bought or sold */
    int64_t ts_us;          /* the tick's time (TP_ENGINE_NO_TIME if unknown) */
    int64_t reference_e8;   /* buys: the reference price; sells: 0 */
    int64_t entry_price_e8; /* sells: the entry price; buys: = price_e8 */
    int64_t entry_ts_us;    /* sells: the entry time; buys: = ts_us */
    int64_t pnl_e8;         /* sells: realized P&L; buys: 0 */
    char symbol[TP_SYMBOL_MAX];
    char shard[TP_SHARD_MAX];
    char sequence[TP_SEQUENCE_MAX];       /* the tick's */
    char entry_shard[TP_SHARD_MAX];       /* sells: the buy's; buys: = shard */
    char entry_sequence[TP_SEQUENCE_MAX]; /* sells: the buy's; buys: = sequence */
} tp_engine_event;

/** A tick yields at most this many events. */
#define TP_ENGINE_EVENTS_MAX 1

/** One symbol's state, by value. */
typedef struct tp_position {
    int64_t quantity;        /* 0 = flat */
    int64_t entry_price_e8;  /* when long */
    int64_t entry_ts_us;     /* when long (TP_ENGINE_NO_TIME if unknown) */
    int64_t realized_pnl_e8; /* the sum over the symbol's sells */
    uint64_t ticks;          /* applied ticks (duplicates excluded) */
    uint64_t buys;
    uint64_t sells;
    int64_t reference_e8; /* the reference the next tick would see, 0 = none */
    char symbol[TP_SYMBOL_MAX];
    char entry_shard[TP_SHARD_MAX];
    char entry_sequence[TP_SEQUENCE_MAX];
    char last_shard[TP_SHARD_MAX];       /* of the last applied tick */
    char last_sequence[TP_SEQUENCE_MAX]; /* of the last applied tick */
} tp_position;

/** Engine-wide counters. */
typedef struct tp_engine_stats {
    uint64_t ticks;      /* applied */
    uint64_t duplicates; /* ignored: (shard, sequence) already applied */
    uint64_t buys;
    uint64_t sells;
    uint64_t symbols;
} tp_engine_stats;

/**
 * One thread at a time per engine. Memory: about 1 KiB plus 16 bytes per
 * window tick for each symbol (window 20: ~1.3 KiB a symbol); bound it with
 * max_symbols.
 */
typedef struct tp_engine tp_engine;

/**
 * Create an engine. `opts` NULL means defaults; the options are copied.
 * @return TP_OK; TP_E_INVALID naming the bad option in err->field; TP_E_NOMEM.
 */
TP_API tp_status tp_engine_new(tp_engine **out, const tp_engine_options *opts, tp_error *err);

/** Free the engine. NULL: no-op. */
TP_API void tp_engine_free(tp_engine *e);

/** The options the engine runs with (alloc included). */
TP_API void tp_engine_options_get(const tp_engine *e, tp_engine_options *out);

/**
 * Apply one tick, in stream order. `events` must have room for
 * TP_ENGINE_EVENTS_MAX events; *n_events is set to how many were written.
 * A tick already applied (same shard, sequence not greater than the last
 * applied for its symbol) changes nothing and yields no event.
 * On any failure the engine is unchanged.
 * @return TP_OK; TP_E_INVALID (a bad tick: err->field names "symbol",
 *         "shard", "sequence" or "price"); TP_E_LIMIT (a new symbol past
 *         max_symbols); TP_E_RANGE (P&L overflow); TP_E_NOMEM.
 */
TP_API tp_status tp_engine_apply(tp_engine *e, const tp_tick *tick, tp_engine_event *events,
                                 size_t *n_events, tp_error *err);

/**
 * A symbol's state. @return TP_OK; TP_E_NOT_FOUND (no tick of that symbol yet);
 * TP_E_INVALID (a NULL argument).
 */
TP_API tp_status tp_engine_position(const tp_engine *e, tp_cursor symbol, tp_position *out,
                                    tp_error *err);

/** How many symbols the engine knows (index range for tp_engine_position_at). */
TP_API size_t tp_engine_symbol_count(const tp_engine *e);

/**
 * The state of the `index`-th symbol, in order of first appearance.
 * @return TP_OK; TP_E_NOT_FOUND past the end; TP_E_INVALID (a NULL argument).
 */
TP_API tp_status tp_engine_position_at(const tp_engine *e, size_t index, tp_position *out,
                                       tp_error *err);

/** Engine-wide counters. */
TP_API void tp_engine_stats_get(const tp_engine *e, tp_engine_stats *out);

/** The snapshot format version tp_engine_snapshot writes. */
#define TP_ENGINE_SNAPSHOT_VERSION 1

/**
 * Append a snapshot of the whole state (symbol.len == 0) or of one symbol to
 * `out`: a versioned, checksummed binary form holding the engine parameters
 * and, per symbol, the position, counters, last (shard, sequence) and the
 * price window — everything the future depends on.
 * @return TP_OK; TP_E_NOT_FOUND (no such symbol); TP_E_INVALID; buffer errors.
 */
TP_API tp_status tp_engine_snapshot(const tp_engine *e, tp_cursor symbol, tp_buf *out,
                                    tp_error *err);

/**
 * Restore the symbols of a snapshot into `e` (each replaces the symbol of the
 * same name, or is added). The snapshot's parameters (window, thresholds,
 * order size, stop-loss) must equal the engine's. The snapshot is checked
 * whole before anything changes: on failure `e` is unchanged.
 * @return TP_OK; TP_E_PARSE (bad magic, truncated; err->offset set);
 *         TP_E_UNSUPPORTED (an unknown snapshot version); TP_E_CHECKSUM;
 *         TP_E_STATE (inconsistent content, err->offset/field set, or
 *         parameters that differ from the engine's: err->field names one);
 *         TP_E_LIMIT (past max_symbols); TP_E_NOMEM.
 */
TP_API tp_status tp_engine_restore(tp_engine *e, tp_cursor snapshot, tp_error *err);

#ifdef __cplusplus
}
#endif
#endif
