#ifndef TRADEPIPE_STATS_H
#define TRADEPIPE_STATS_H

/* Floor 2: per-symbol trade statistics (count, min/max/average price, total
 * volume), exact: sums are kept in 128 bits, so nothing overflows or drifts. */

#include "tradepipe/record.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One thread at a time per tp_stats. */
typedef struct tp_stats tp_stats;

typedef struct tp_symbol_stats {
    char symbol[TP_SYMBOL_MAX];
    uint64_t count;
    int64_t min_price_e8;
    int64_t max_price_e8;
    uint64_t price_sum_hi; /* sum of price_e8 over the records, 128-bit two's complement */
    uint64_t price_sum_lo;
    uint64_t volume_sum_hi; /* sum of volumes, 128-bit two's complement */
    uint64_t volume_sum_lo;
} tp_symbol_stats;

/** Room for any decimal text the stats functions write, NUL included. */
#define TP_DECIMAL_STR_MAX 64

/** A new, empty table. `alloc` NULL: malloc. @return TP_OK; TP_E_NOMEM. */
TP_API tp_status tp_stats_new(tp_stats **out, const tp_allocator *alloc, tp_error *err);
/** Count `t` under its symbol. @return TP_OK; TP_E_NOMEM; TP_E_LIMIT past 2^31 symbols. */
TP_API tp_status tp_stats_add(tp_stats *s, const tp_trade *t, tp_error *err);
/**
 * Count `n` trades (an array, e.g. from tp_reader_next_batch), as n calls of
 * tp_stats_add: one call per batch for callers whose per-call cost is high.
 * @param done (may be NULL) set to how many were counted: n on success, the
 *        index of the failing trade otherwise (the ones before it stay counted).
 * @return TP_OK; TP_E_INVALID (NULL `t` with n > 0); as tp_stats_add.
 */
TP_API tp_status tp_stats_add_batch(tp_stats *s, const tp_trade *t, size_t n, size_t *done,
                                    tp_error *err);
/**
 * Add every symbol of `src` into `dst` (counts, sums, min and max), as if
 * dst had seen src's records too. All or nothing: on failure dst is unchanged.
 * @return TP_OK; TP_E_NOMEM; TP_E_LIMIT.
 */
TP_API tp_status tp_stats_merge(tp_stats *dst, const tp_stats *src, tp_error *err);
/** Number of distinct symbols. */
TP_API size_t tp_stats_symbols(const tp_stats *s);
/** Total records counted. */
TP_API uint64_t tp_stats_records(const tp_stats *s);
/**
 * The i-th symbol in byte-wise sorted order (0 <= i < tp_stats_symbols).
 * Borrowed until the next tp_stats_add or tp_stats_free; NULL if out of range,
 * or when the sorted view (built after symbols were added) cannot be
 * allocated: calling again then tries again.
 */
TP_API const tp_symbol_stats *tp_stats_get(tp_stats *s, size_t i);
/**
 * The average price as plain decimal text, exact to `decimals` places after
 * the point (rounded half away from zero), trailing zeros removed unless
 * `keep_zeros`. Returns the length.
 */
TP_API size_t tp_stats_format_avg(char out[TP_DECIMAL_STR_MAX], const tp_symbol_stats *e,
                                  unsigned decimals, int keep_zeros);
/** A 128-bit sum (hi, lo) as decimal text. Returns the length. */
TP_API size_t tp_stats_format_sum(char out[TP_DECIMAL_STR_MAX], uint64_t hi, uint64_t lo);
/** Free the table. NULL: no-op. */
TP_API void tp_stats_free(tp_stats *s);

#ifdef __cplusplus
}
#endif
#endif
