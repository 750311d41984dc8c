/* Floor 2: exact decimal prices in 1e-8 units. Parsed from the number's text,
 * so 187.23 is 18723000000 exactly, never 187.22999999999999. */
#include "core/core_int.h"
#include "tradepipe/price.h"

static tp_status syntax(tp_error *err, size_t at, const char *what)
{
    return tp_error__at(err, TP_E_PARSE, at, NULL, "not a JSON number: %s at byte %zu", what,
                        at);
}

static int is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* The optional '-' of a number, then its first digit: *i is where the
 * digits start, *neg whether there was a '-'. */
static tp_status number_start(tp_cursor t, size_t *i, int *neg, tp_error *err)
{
    *neg = t.len > 0 && t.ptr[0] == '-';
    *i = *neg ? 1 : 0;
    if (*i >= t.len || !is_digit(t.ptr[*i]))
        return syntax(err, *i, "expected a digit");
    return TP_OK;
}

tp_status tp_price_parse(int64_t *out_e8, tp_cursor t, tp_error *err)
{
    size_t i;
    int neg;
    tp_status st = number_start(t, &i, &neg, err);
    if (st != TP_OK)
        return st;
    /* Significant digits without leading zeros, and where each run starts. */
    uint64_t mant = 0;    /* the digits with trailing zeros stripped, if they fit */
    int sig = 0;          /* significant digits kept in mant (at most 19) */
    int64_t pending0 = 0; /* zeros seen after the last non-zero digit */
    int64_t exp10 = 0;    /* value = mant * 10^(pending0 + exp10) */
    int overflow = 0;
    size_t int_start = i;

#define TP_TAKE_DIGIT(c, in_frac)                                                                 \
    do {                                                                                          \
        if ((c) == '0') {                                                                         \
            if (sig)                                                                              \
                pending0++;                                                                       \
        } else {                                                                                  \
            /* flush pending zeros into the mantissa */                                           \
            while (pending0 > 0 && !overflow) {                                                   \
                if (mant > UINT64_MAX / 10)                                                       \
                    overflow = 1;                                                                 \
                else                                                                              \
                    mant *= 10;                                                                   \
                pending0--;                                                                       \
                sig++;                                                                            \
            }                                                                                     \
            pending0 = 0;                                                                         \
            if (!overflow && mant <= (UINT64_MAX - 9) / 10)                                       \
                mant = mant * 10 + (uint64_t)((c) - '0');                                         \
            else                                                                                  \
                overflow = 1;                                                                     \
            sig++;                                                                                \
        }                                                                                         \
        if (in_frac)                                                                              \
            exp10--;                                                                              \
    } while (0)

    if (t.ptr[i] == '0') {
        i++;
        if (i < t.len && is_digit(t.ptr[i]))
            return syntax(err, i, "leading zero");
    } else {
        while (i < t.len && is_digit(t.ptr[i])) {
            TP_TAKE_DIGIT(t.ptr[i], 0);
            i++;
        }
    }
    (void)int_start;
    if (i < t.len && t.ptr[i] == '.') {
        i++;
        if (i >= t.len || !is_digit(t.ptr[i]))
            return syntax(err, i, "expected a digit after '.'");
        while (i < t.len && is_digit(t.ptr[i])) {
            TP_TAKE_DIGIT(t.ptr[i], 1);
            i++;
        }
    }
#undef TP_TAKE_DIGIT
    if (i < t.len && (t.ptr[i] == 'e' || t.ptr[i] == 'E')) {
        i++;
        int eneg = 0;
        if (i < t.len && (t.ptr[i] == '+' || t.ptr[i] == '-'))
            eneg = t.ptr[i++] == '-';
        if (i >= t.len || !is_digit(t.ptr[i]))
            return syntax(err, i, "expected exponent digits");
        int64_t e = 0;
        while (i < t.len && is_digit(t.ptr[i])) {
            if (e < 1000000000)
                e = e * 10 + (t.ptr[i] - '0'); /* saturates: any larger is out of range anyway */
            i++;
        }
        exp10 += eneg ? -e : e;
    }
    if (i != t.len)
        return syntax(err, i, "unexpected byte");

    if (mant == 0 && !overflow) {
        *out_e8 = 0;
        return TP_OK;
    }
    /* value_e8 = mant * 10^(pending0 + exp10 + 8); trailing zeros are in pending0. */
    int64_t shift = pending0 + exp10 + TP_PRICE_DECIMALS;
    if (shift < 0)
        return tp_error__at(err, TP_E_RANGE, 0, NULL,
                            "more than %d decimal places: not exact at the price scale",
                            TP_PRICE_DECIMALS);
    if (overflow || shift > 19)
        return tp_error__at(err, TP_E_RANGE, 0, NULL, "number out of range");
    uint64_t v = mant;
    for (int64_t k = 0; k < shift; k++) {
        if (v > UINT64_MAX / 10)
            return tp_error__at(err, TP_E_RANGE, 0, NULL, "number out of range");
        v *= 10;
    }
    if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
        return tp_error__at(err, TP_E_RANGE, 0, NULL, "number out of range");
    *out_e8 = neg ? (int64_t)(0 - v) : (int64_t)v;
    return TP_OK;
}

tp_status tp_int_parse(int64_t *out, tp_cursor t, tp_error *err)
{
    uint64_t v = 0;
    int overflow = 0, neg;
    size_t i;
    tp_status st = number_start(t, &i, &neg, err);
    if (st == TP_OK && t.ptr[i] == '0' && i + 1 < t.len && is_digit(t.ptr[i + 1]))
        st = syntax(err, i + 1, "leading zero");
    if (st != TP_OK)
        return st;
    for (; i < t.len && is_digit(t.ptr[i]); i++) {
        unsigned dgt = (unsigned)(t.ptr[i] - '0');
        if (v > (UINT64_MAX - dgt) / 10)
            overflow = 1;
        else
            v = v * 10 + dgt;
    }
    if (i < t.len) {
        if (t.ptr[i] == '.' || t.ptr[i] == 'e' || t.ptr[i] == 'E')
            return tp_error__at(err, TP_E_PARSE, i, NULL,
                                "not an integer: fraction or exponent at byte %zu", i);
        return syntax(err, i, "unexpected byte");
    }
    if (overflow || (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX))
        return tp_error__at(err, TP_E_RANGE, 0, NULL, "integer out of range");
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return TP_OK;
}

size_t tp_price_format(char out[TP_PRICE_STR_MAX], int64_t e8)
{
    char tmp[TP_PRICE_STR_MAX];
    size_t n = 0;
    uint64_t v = e8 < 0 ? 0 - (uint64_t)e8 : (uint64_t)e8;
    uint64_t ip = v / (uint64_t)TP_PRICE_SCALE, fp = v % (uint64_t)TP_PRICE_SCALE;
    if (e8 < 0)
        out[n++] = '-';
    size_t k = 0;
    do {
        tmp[k++] = (char)('0' + ip % 10);
        ip /= 10;
    } while (ip);
    while (k)
        out[n++] = tmp[--k];
    if (fp) {
        int nd = TP_PRICE_DECIMALS;
        while (fp % 10 == 0) {
            fp /= 10;
            nd--;
        }
        out[n++] = '.';
        for (int j = nd - 1; j >= 0; j--) {
            out[n + (size_t)j] = (char)('0' + fp % 10);
            fp /= 10;
        }
        n += (size_t)nd;
    }
    out[n] = '\0';
    return n;
}

/* *out = r unless the operation `op` overflowed (*out then untouched). */
static tp_status arith_result(int64_t *out, int64_t r, int overflow, const char *op, tp_error *err)
{
    if (overflow)
        return tp_error__set(err, TP_E_RANGE, "price arithmetic overflow (%s)", op);
    *out = r;
    return TP_OK;
}

tp_status tp_price_add(int64_t *out, int64_t a, int64_t b, tp_error *err)
{
    int64_t r;
    int overflow = __builtin_add_overflow(a, b, &r);
    return arith_result(out, r, overflow, "add", err);
}

tp_status tp_price_sub(int64_t *out, int64_t a, int64_t b, tp_error *err)
{
    int64_t r;
    int overflow = __builtin_sub_overflow(a, b, &r);
    return arith_result(out, r, overflow, "subtract", err);
}

tp_status tp_price_mul_qty(int64_t *out, int64_t price_e8, int64_t qty, tp_error *err)
{
    int64_t r;
    int overflow = __builtin_mul_overflow(price_e8, qty, &r);
    return arith_result(out, r, overflow, "multiply", err);
}
