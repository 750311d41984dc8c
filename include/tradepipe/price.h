#ifndef TRADEPIPE_PRICE_H
#define TRADEPIPE_PRICE_H

/* Floor 2: exact decimal prices. A price is an int64 count of 1e-8 units
 * ("price_e8"), parsed from the decimal text itself (never through a double)
 * and printed back with the same value. Arithmetic reports overflow. */

#include "tradepipe/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TP_PRICE_DECIMALS 8
#define TP_PRICE_SCALE    INT64_C(100000000)
/** Room for any text tp_price_format writes, NUL included. */
#define TP_PRICE_STR_MAX 32

/**
 * Parse JSON number text (`-?int[.frac][e[+-]exp]`, nothing around it) into
 * 1e-8 units, exactly. A fraction or exponent is fine as long as the value
 * is a whole number of 1e-8 units (1.5e2, 1.000000000); otherwise, or out of
 * the int64 range, it is an error.
 * @return TP_OK; TP_E_PARSE (not JSON number syntax; err->offset in `text`);
 *         TP_E_RANGE (too many decimals, too large).
 */
TP_API tp_status tp_price_parse(int64_t *out_e8, tp_cursor text, tp_error *err);

/**
 * Parse JSON integer text (`-?digits`, no fraction, no exponent) into int64.
 * @return TP_OK; TP_E_PARSE (not an integer, "1.0", "1e2"); TP_E_RANGE.
 */
TP_API tp_status tp_int_parse(int64_t *out, tp_cursor text, tp_error *err);

/**
 * Write `e8` in plain decimal notation, shortest form: "187.23", "150",
 * "-0.00000001". Writes a NUL; returns the length (< TP_PRICE_STR_MAX).
 */
TP_API size_t tp_price_format(char out[TP_PRICE_STR_MAX], int64_t e8);

/** out = a + b. @return TP_OK; TP_E_RANGE on overflow (out untouched). */
TP_API tp_status tp_price_add(int64_t *out, int64_t a, int64_t b, tp_error *err);
/** out = a - b. @return TP_OK; TP_E_RANGE on overflow (out untouched). */
TP_API tp_status tp_price_sub(int64_t *out, int64_t a, int64_t b, tp_error *err);
/** out = price_e8 * qty (a notional or a P&L in 1e-8 units). @return TP_OK; TP_E_RANGE. */
TP_API tp_status tp_price_mul_qty(int64_t *out, int64_t price_e8, int64_t qty, tp_error *err);

#ifdef __cplusplus
}
#endif
#endif
