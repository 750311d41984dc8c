#ifndef TRADEPIPE_GEN_H
#define TRADEPIPE_GEN_H

/* Floor 2: synthetic market data. Pure: no I/O, no clock, no global state.
 *
 * Trades a trader would recognise, the same on every platform for the same
 * options (integer arithmetic only, a fixed random generator):
 *  - per symbol, a random walk of the price in ticks of 0.01, with volatility
 *    regimes (calm and volatile spells), occasional dips and rallies of
 *    several percent spread over a few ticks, and a slow pull back toward the
 *    symbol's base price so that prices stay in a realistic range over
 *    millions of ticks;
 *  - volumes in whole lots of 100 shares, now and then a block trade;
 *  - one clock for the whole feed: every trade's time is strictly later than
 *    the previous trade's, in whole milliseconds.
 * Symbols are drawn uniformly at random for each trade. A symbol's first
 * trade is at its base price. The same options give the same trades, byte
 * for byte. */

#include "tradepipe/record.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Most symbols a generator takes. */
#define TP_GEN_MAX_SYMBOLS 10000u
/** Shares in one lot: every volume is a multiple of this. */
#define TP_GEN_LOT 100
/** Default time between two trades, microseconds (a whole number of ms). */
#define TP_GEN_DEFAULT_GAP_US 1000

typedef struct tp_gen_options {
    uint32_t version;           /* TP_GEN_OPTIONS_VERSION */
    uint32_t n_symbols;         /* 1..TP_GEN_MAX_SYMBOLS */
    const char *const *symbols; /* n_symbols names, 1..TP_SYMBOL_MAX-1 bytes each; copied */
    uint64_t seed;              /* any value; the same seed gives the same feed */
    int64_t start_us;           /* the first trade's time, microseconds since the epoch:
                                   a whole number of ms, years 0000..9999 */
    int64_t mean_gap_us;        /* mean time between trades, 0 = TP_GEN_DEFAULT_GAP_US;
                                   rounded up to whole ms; at 1 ms every gap is 1 ms */
    const tp_allocator *alloc;  /* NULL = malloc/free */
} tp_gen_options;
#define TP_GEN_OPTIONS_VERSION 1
#define TP_GEN_OPTIONS_INIT                                                                        \
    {                                                                                              \
        TP_GEN_OPTIONS_VERSION, 0, NULL, 1, 0, 0, NULL                                             \
    }

/** Set `o` to TP_GEN_OPTIONS_INIT. @return TP_OK; TP_E_INVALID for an unknown version. */
TP_API tp_status tp_gen_options_init(tp_gen_options *o, uint32_t version);

/** A generator. One thread at a time per generator. */
typedef struct tp_gen tp_gen;

/**
 * Create a generator (the options, symbol names included, are copied).
 * A symbol's base price is the usual price of a well-known ticker (AAPL,
 * MSFT, GOOGL, AMZN, TSLA, META, NVDA, JPM, V, NFLX, IBM, ORCL, INTC, AMD,
 * KO, PEP, XOM, WMT, DIS, BA; names compare case-sensitively) or, for any
 * other name, derived from the name's bytes (10.00 to 500.00).
 * @return TP_OK; TP_E_INVALID naming the option in err->field ("version";
 *         "symbols": none, NULL, an empty, too long or repeated name, the
 *         message naming it; "start_us": not whole ms or out of range;
 *         "mean_gap_us": negative), or without a field for a NULL argument;
 *         TP_E_NOMEM.
 */
TP_API tp_status tp_gen_new(tp_gen **out, const tp_gen_options *opts, tp_error *err);

/**
 * The next trade: symbol, price (a multiple of 0.01, >= 1.00), volume (a
 * multiple of TP_GEN_LOT, > 0) and timestamp (ISO-8601 UTC with milliseconds,
 * as tp_time_format_iso8601(.., ts_us, 3) writes it; ts_kind TP_TS_STRING and
 * TP_TRADE_TS_PARSED set). No optional field; every byte of `out` is written
 * (strings NUL-padded).
 * @return TP_OK; TP_E_RANGE (err->field "timestamp") once the clock would
 *         pass 9999-12-31T23:59:59.999Z, and from then on (nothing changes);
 *         TP_E_INVALID for a NULL argument.
 */
TP_API tp_status tp_gen_next(tp_gen *g, tp_trade *out, tp_error *err);

/** Trades generated so far (0 for NULL). */
TP_API uint64_t tp_gen_count(const tp_gen *g);

/** Free a generator. NULL: no-op. */
TP_API void tp_gen_free(tp_gen *g);

#ifdef __cplusplus
}
#endif
#endif
