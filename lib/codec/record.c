/* Floor 2: the trade record's JSON codec.
 *
 * Two decoders share one validator: a specialised scanner that takes every
 * valid record (keys in any order, any whitespace, escapes, UTF-8 checked
 * sixteen bytes at a time, unknown fields of any type skipped with full
 * checks, nesting up to jansson's own depth limit), and jansson, the
 * reference, which the differential fuzz target compares it with and which
 * classifies a few rare kinds of broken JSON for it. Both hand the
 * validator the same views of the known fields, so they agree by
 * construction. Numbers are always taken from their text, never from a
 * double, and a number of any magnitude is valid JSON. */
#include "record_int.h"

#include "json_int.h"

#include <jansson.h>
#include <stdlib.h>

enum { F_SYMBOL, F_PRICE, F_VOLUME, F_TIMESTAMP, F_TRADE_ID, F_SIDE, F_EXCHANGE, F_COUNT };
enum { T_ABSENT, T_STRING, T_NUMBER, T_TRUE, T_FALSE, T_NULL, T_OBJECT, T_ARRAY };

static const char *const field_names[F_COUNT] = {"symbol",   "price", "volume",  "timestamp",
                                                 "trade_id", "side",  "exchange"};

/* What a decoder saw of one known field: its type, its text (decoded string
 * or number text) and where its value starts in the input. */
typedef struct fview {
    const uint8_t *p;
    size_t len;
    size_t off;
    int type;
    int plain; /* a string known to hold no NUL; a number already converted below */
    int is_int; /* with plain numbers: written without fraction or exponent */
    int64_t e8; /* with plain numbers: the value in 1e-8 units */
    int64_t ival; /* with plain integers: the value */
} fview;

static int field_index(const uint8_t *k, size_t n)
{
    switch (n) {
    case 4:
        return memcmp(k, "side", 4) == 0 ? F_SIDE : -1;
    case 5:
        return memcmp(k, "price", 5) == 0 ? F_PRICE : -1;
    case 6:
        if (memcmp(k, "symbol", 6) == 0)
            return F_SYMBOL;
        return memcmp(k, "volume", 6) == 0 ? F_VOLUME : -1;
    case 8:
        if (memcmp(k, "trade_id", 8) == 0)
            return F_TRADE_ID;
        return memcmp(k, "exchange", 8) == 0 ? F_EXCHANGE : -1;
    case 9:
        return memcmp(k, "timestamp", 9) == 0 ? F_TIMESTAMP : -1;
    default:
        return -1;
    }
}

static const char *type_name(int t)
{
    switch (t) {
    case T_STRING:
        return "a string";
    case T_NUMBER:
        return "a number";
    case T_TRUE:
    case T_FALSE:
        return "a boolean";
    case T_NULL:
        return "null";
    case T_OBJECT:
        return "an object";
    case T_ARRAY:
        return "an array";
    default:
        return "absent";
    }
}

static tp_status field_error(tp_error *err, const fview *f, int idx, const char *fmt, ...)
    TP_PRINTF(4, 5);
static tp_status field_error(tp_error *err, const fview *f, int idx, const char *fmt, ...)
{
    char msg[TP_ERROR_MESSAGE_MAX - TP_ERROR_FIELD_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tp_error__at(err, TP_E_RECORD, f->off, field_names[idx], "%s: %s", field_names[idx],
                        msg);
}

/* Copy a string field into dst (cap bytes with NUL); 0 if it does not fit or
 * holds a NUL. */
static int copy_str(char *dst, size_t cap, const fview *f)
{
    if (f->len >= cap || (!f->plain && memchr(f->p, 0, f->len)))
        return 0;
    memcpy(dst, f->p, f->len);
    dst[f->len] = '\0';
    return 1;
}

/* Epoch seconds, or milliseconds when the magnitude is 1e11 or more. */
static tp_status epoch_to_us(const fview *f, int64_t *us)
{
    tp_cursor t = tp_cursor_make(f->p, f->len);
    int64_t n;
    if (tp_int_parse(&n, t, NULL) == TP_OK) {
        int64_t mag = n < 0 ? -n : n;
        int64_t mult = mag >= INT64_C(100000000000) ? 1000 : 1000000;
        if (n == INT64_MIN || __builtin_mul_overflow(n, mult, us))
            return TP_E_RANGE;
        return TP_OK;
    }
    int64_t e8; /* a fraction: epoch seconds with up to 8 decimals */
    if (tp_price_parse(&e8, t, NULL) != TP_OK)
        return TP_E_RANGE;
    /* |e8| < 2^63 means the number is below 1e11: seconds, never milliseconds. */
    *us = e8 / 100;
    return TP_OK;
}

/* The one validator: fill `out` from the views, or say what is wrong. */
static tp_status validate(tp_trade *out, const fview *f, size_t obj_off, uint32_t flags,
                          tp_error *err)
{
    const int lenient = (flags & (TP_DECODE_LENIENT | TP_DECODE_MINIMAL)) != 0;
    for (int i = F_SYMBOL; i <= F_VOLUME; i++) {
        if (f[i].type == T_ABSENT)
            return tp_error__at(err, TP_E_RECORD, obj_off, field_names[i], "missing field %s",
                                field_names[i]);
    }
    const fview *sym = &f[F_SYMBOL];
    if (sym->type != T_STRING)
        return field_error(err, sym, F_SYMBOL, "is %s, not a string", type_name(sym->type));
    if (sym->len == 0)
        return field_error(err, sym, F_SYMBOL, "is empty");
    if (sym->len >= TP_SYMBOL_MAX) {
        return field_error(err, sym, F_SYMBOL, "is longer than %d bytes", TP_SYMBOL_MAX - 1);
    }
    if (!sym->plain && memchr(sym->p, 0, sym->len))
        return field_error(err, sym, F_SYMBOL, "contains a NUL character");

    const fview *pr = &f[F_PRICE];
    if (pr->type != T_NUMBER)
        return field_error(err, pr, F_PRICE, "is %s, not a number", type_name(pr->type));
    tp_error perr;
    int64_t price = pr->e8;
    if (!pr->plain && tp_price_parse(&price, tp_cursor_make(pr->p, pr->len), &perr) != TP_OK)
        return field_error(err, pr, F_PRICE, "%s", perr.message);
    if (price <= 0)
        return field_error(err, pr, F_PRICE, "must be greater than 0");

    const fview *vo = &f[F_VOLUME];
    if (vo->type != T_NUMBER)
        return field_error(err, vo, F_VOLUME, "is %s, not a number", type_name(vo->type));
    int64_t volume = vo->ival;
    tp_status vst = TP_OK;
    if (!vo->plain)
        vst = tp_int_parse(&volume, tp_cursor_make(vo->p, vo->len), &perr);
    else if (!vo->is_int)
        vst = TP_E_PARSE;
    if (vst == TP_E_RANGE)
        return field_error(err, vo, F_VOLUME, "integer out of range");
    if (vst != TP_OK)
        return field_error(err, vo, F_VOLUME,
                           "must be an integer written without fraction or exponent");
    if (volume < 0)
        return field_error(err, vo, F_VOLUME, "must be >= 0");

    out->price_e8 = price;
    out->volume = volume;
    memcpy(out->symbol, sym->p, sym->len);
    out->symbol[sym->len] = '\0';
    out->symbol_len = (uint32_t)sym->len;
    out->flags = 0;
    out->ts_kind = TP_TS_NONE;
    out->ts_us = 0;
    out->timestamp[0] = '\0';
    out->trade_id[0] = '\0';
    out->side[0] = '\0';
    out->exchange[0] = '\0';

    if (flags & TP_DECODE_MINIMAL)
        return TP_OK;
    const fview *ts = &f[F_TIMESTAMP];
    if (ts->type == T_STRING || ts->type == T_NUMBER) {
        int fits = copy_str(out->timestamp, sizeof out->timestamp, ts);
        if (!fits && !lenient)
            return field_error(err, ts, F_TIMESTAMP, "is too long or contains a NUL");
        if (fits) {
            /* The lenient rule keeps the time when it reads as one, and
             * never fails the record for it. */
            int64_t us = 0;
            tp_status tst;
            if (ts->type == T_STRING)
                tst = tp_time_parse_iso8601(&us, tp_cursor_make(ts->p, ts->len), &perr);
            else
                tst = epoch_to_us(ts, &us);
            if (tst != TP_OK && !lenient) {
                if (ts->type == T_STRING)
                    return field_error(err, ts, F_TIMESTAMP, "%s", perr.message);
                return field_error(err, ts, F_TIMESTAMP, "epoch time out of range");
            }
            out->ts_kind = ts->type == T_STRING ? TP_TS_STRING : TP_TS_NUMBER;
            if (tst == TP_OK) {
                out->ts_us = us;
                out->flags |= TP_TRADE_TS_PARSED;
            }
        } else {
            out->timestamp[0] = '\0';
        }
    } else if (ts->type != T_ABSENT && !lenient) {
        return field_error(err, ts, F_TIMESTAMP, "is %s, not a string or a number",
                           type_name(ts->type));
    }

    static const struct {
        int idx;
        size_t off, cap;
        uint32_t flag;
    } opt[] = {
        {F_TRADE_ID, offsetof(tp_trade, trade_id), TP_TRADE_ID_MAX, TP_TRADE_HAS_TRADE_ID},
        {F_SIDE, offsetof(tp_trade, side), TP_SIDE_MAX, TP_TRADE_HAS_SIDE},
        {F_EXCHANGE, offsetof(tp_trade, exchange), TP_EXCHANGE_MAX, TP_TRADE_HAS_EXCHANGE},
    };
    for (size_t k = 0; k < TP_ARRAY_LEN(opt); k++) {
        const fview *o = &f[opt[k].idx];
        if (o->type == T_ABSENT)
            continue;
        char *dst = (char *)out + opt[k].off;
        if (o->type == T_STRING && copy_str(dst, opt[k].cap, o)) {
            out->flags |= opt[k].flag;
            continue;
        }
        dst[0] = '\0';
        if (lenient)
            continue;
        if (o->type != T_STRING)
            return field_error(err, o, opt[k].idx, "is %s, not a string", type_name(o->type));
        return field_error(err, o, opt[k].idx, "is longer than %zu bytes or contains a NUL",
                           opt[k].cap - 1);
    }
    return TP_OK;
}

/* ---- the specialised scanner --------------------------------------------- */

#define SKIP_WS(p, end)                                                                           \
    while ((p) < (end) && tp_json__is_ws(*(p)))                                                   \
    (p)++

static inline uint64_t ld64(const void *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

/* SWAR helpers: with x = 8 input bytes XOR '0' (first byte lowest), the
 * number of leading ASCII digits, and their value. */
static inline unsigned digit_run(uint64_t x)
{
    /* A byte is a non-digit if its high bit was set, or if its low 7 bits
     * plus 0x76 reach 0x80 (values 0x0a and up); no carry crosses bytes. */
    uint64_t m = (((x & 0x7f7f7f7f7f7f7f7fULL) + 0x7676767676767676ULL) | x) &
                 0x8080808080808080ULL;
    return m ? (unsigned)__builtin_ctzll(m) >> 3 : 8;
}

static inline uint64_t digits_value(uint64_t x, unsigned k)
{
    /* Move the k digits to the top (leading zeros below), then combine
     * pairs, quads and octets with three multiplies. */
    uint64_t v = x << (8 * (8 - k));
    v = v * 10 + (v >> 8);
    v = (((v & 0x000000ff000000ffULL) * (100 + (1000000ULL << 32))) +
         (((v >> 16) & 0x000000ff000000ffULL) * (1 + (10000ULL << 32)))) >>
        32;
    return v;
}

/* A number in plain notation: -?(0|[1-9][0-9]*)(.[0-9]+)? with at most 10
 * integer and 8 fraction digits (so its 1e-8 value fits), converted while
 * scanning. Anything else (exponents, more digits) returns NULL and is left
 * to the general path. On success v->e8, v->is_int, v->ival are set. */
static inline const uint8_t *scan_plain_number(const uint8_t *p, const uint8_t *end, fview *v)
{
    static const uint64_t pow10[9] = {100000000, 10000000, 1000000, 100000, 10000,
                                      1000,      100,      10,      1};
    int neg = *p == '-';
    p += neg;
    if (p >= end || *p < '0' || *p > '9')
        return NULL;
    uint64_t ip = 0, fp = 0;
    int fd = 0;
    if (end - p >= 18) {
        /* Eight bytes at a time: up to 7 integer and 8 fraction digits. */
        uint64_t x = ld64(p) ^ 0x3030303030303030ULL;
        unsigned k = digit_run(x);
        if (k == 8 || (k > 1 && *p == '0'))
            return NULL; /* long, or a leading zero: the general path decides */
        ip = digits_value(x, k);
        p += k;
        v->is_int = *p != '.';
        if (!v->is_int) {
            uint64_t y = ld64(p + 1) ^ 0x3030303030303030ULL;
            unsigned kf = digit_run(y);
            if (kf == 0 || (kf == 8 && p[9] >= '0' && p[9] <= '9'))
                return NULL;
            fp = digits_value(y, kf);
            fd = (int)kf;
            p += 1 + kf;
        }
    } else {
        const uint8_t *d = p;
        if (*p == '0') {
            p++;
        } else {
            while (p < end && *p >= '0' && *p <= '9')
                ip = ip * 10 + (uint64_t)(*p++ - '0');
            if (p - d > 10)
                return NULL;
        }
        v->is_int = 1;
        if (p < end && *p == '.') {
            v->is_int = 0;
            const uint8_t *f = ++p;
            while (p < end && *p >= '0' && *p <= '9')
                fp = fp * 10 + (uint64_t)(*p++ - '0');
            fd = (int)(p - f);
            if (fd == 0 || fd > 8)
                return NULL;
        }
    }
    if (p >= end || *p == 'e' || *p == 'E' || (*p >= '0' && *p <= '9'))
        return NULL;
    uint64_t e8 = ip * (uint64_t)TP_PRICE_SCALE + fp * pow10[fd];
    if (e8 > (uint64_t)INT64_MAX)
        return NULL;
    v->e8 = neg ? -(int64_t)e8 : (int64_t)e8;
    v->ival = neg ? -(int64_t)ip : (int64_t)ip;
    return p;
}

/* Match the known keys of compact JSON by 8-byte compares: `symbol":`,
 * `volume":`, `price":`, `timestamp":`. Returns the field (or -1 when this
 * shortcut does not apply) and sets *after past the ':'. Needs 16 bytes. */
static inline int quick_key(const uint8_t *k, const uint8_t **after)
{
    uint64_t w = ld64(k);
    if (w == ld64("symbol\":")) {
        *after = k + 8;
        return F_SYMBOL;
    }
    if (w == ld64("volume\":")) {
        *after = k + 8;
        return F_VOLUME;
    }
    if ((w & 0x00ffffffffffffffULL) == (ld64("price\":_") & 0x00ffffffffffffffULL)) {
        *after = k + 7;
        return F_PRICE;
    }
    if (w == ld64("timestam") && k[8] == 'p' && k[9] == '"' && k[10] == ':') {
        *after = k + 11;
        return F_TIMESTAMP;
    }
    return -2;
}

/* jansson's JSON_PARSER_MAX_DEPTH, counted as it counts (the top-level
 * object is depth 1, its members' values depth 2): anything deeper is not
 * JSON to either path. */
#define JSON_MAX_DEPTH 2048

/* Room for a decoded string field: the largest of the fields' sizes. A
 * longer value decodes to its first DEC_CAP bytes and reports DEC_CAP as its
 * length, which every field's check refuses as too long. */
#define DEC_CAP TP_SYMBOL_MAX

typedef struct scanner {
    const uint8_t *s, *end;
    size_t base;  /* added to every offset reported */
    tp_error *err;
    int rc;       /* why a helper returned NULL: TP_SCAN_MORE, _NOTJSON, _FALLBACK, _BADUTF8 */
    size_t used;  /* with rc == TP_SCAN_BADUTF8: the value's span */
    char dec[F_COUNT][DEC_CAP];
} scanner;

static const uint8_t *sc_more(scanner *sc)
{
    sc->rc = TP_SCAN_MORE;
    return NULL;
}

static const uint8_t *sc_fallback(scanner *sc)
{
    sc->rc = TP_SCAN_FALLBACK;
    return NULL;
}

static int is_alnum(uint8_t c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

/* Not JSON at q. jansson reads the whole token at q (and one byte past a
 * number or a word) before it sees the fault, and an invalid UTF-8 sequence
 * read there is its first error, with another answer (a balanced object
 * holding invalid UTF-8 is an invalid record). So when the token is a
 * string, or a byte >= 0x80 is within its reach, the reference path
 * classifies this rare case; otherwise the answer is certain here. */
static const uint8_t *sc_bad(scanner *sc, const uint8_t *q, const char *why)
{
    const uint8_t *t = q;
    if (*t == '"' || *t >= 0x80)
        return sc_fallback(sc);
    if (is_alnum(*t) || *t == '-') {
        while (t < sc->end && (is_alnum(*t) || *t == '-' || *t == '+' || *t == '.'))
            t++;
        if (t >= sc->end || *t >= 0x80)
            return sc_fallback(sc);
    }
    size_t at = sc->base + (size_t)(q - sc->s);
    if (*q >= 0x20 && *q < 0x7f)
        tp_error__at(sc->err, TP_E_PARSE, at, NULL, "not JSON at byte %zu: %s near '%c'", at,
                     why, *q);
    else
        tp_error__at(sc->err, TP_E_PARSE, at, NULL, "not JSON at byte %zu: %s near byte 0x%02x",
                     at, why, *q);
    sc->rc = TP_SCAN_NOTJSON;
    return NULL;
}

/* A string whose bytes [b, q) are not UTF-8, the first fault in reading
 * order: the reference path's rule, an invalid record when the object is
 * balanced, otherwise not JSON (decided once the input has its end). */
static const uint8_t *sc_utf8(scanner *sc, const uint8_t *b, const uint8_t *q)
{
    tp_json_span st = {0, 0, 0, 0};
    int done = 0;
    size_t n = tp_json__span_feed(&st, sc->s, sc->end, &done);
    if (!done)
        return sc_more(sc);
    size_t at = sc->base + (size_t)(b - sc->s) + tp_json__utf8_prefix(b, (size_t)(q - b));
    tp_error__at(sc->err, TP_E_RECORD, at, NULL, "invalid UTF-8 at byte %zu", at);
    sc->used = n;
    sc->rc = TP_SCAN_BADUTF8;
    return NULL;
}

static int hex_digit(uint8_t h)
{
    if (h >= '0' && h <= '9')
        return h - '0';
    h |= 0x20;
    return h >= 'a' && h <= 'f' ? h - 'a' + 10 : -1;
}

/* Four hex digits at p: returns the byte after them (*cp set) or NULL. */
static const uint8_t *sc_hex4(scanner *sc, const uint8_t *p, uint32_t *cp, unsigned high)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++, p++) {
        if (p >= sc->end)
            return sc_more(sc);
        int d = hex_digit(*p);
        if (d < 0)
            return high ? sc_fallback(sc) : sc_bad(sc, p, "invalid \\u escape");
        v = v * 16 + (uint32_t)d;
    }
    *cp = v;
    return p;
}

/* The string whose opening quote is at p[-1]: returns its closing quote, or
 * NULL (sc->rc set). Checks escapes (surrogate pairs included) and, when the
 * string holds bytes >= 0x80, their UTF-8 in one SIMD pass; *esc is set when
 * it holds an escape (decode it with decode_str where the value is used). */
static const uint8_t *sc_string(scanner *sc, const uint8_t *p, int *esc)
{
    const uint8_t *b = p, *end = sc->end;
    unsigned high = 0;
    int e = 0;
    for (;;) {
        p = tp_json__find_str_stop(p, end, &high);
        if (p >= end)
            return sc_more(sc);
        if (*p == '"')
            break;
        /* A fault after bytes >= 0x80 of this string: jansson reads them
         * first, and an invalid sequence there is its first error. */
        if (*p != '\\')
            return high ? sc_fallback(sc) : sc_bad(sc, p, "control character in a string");
        e = 1;
        if (end - p < 2)
            return sc_more(sc);
        uint8_t c = p[1];
        if (c == 'u') {
            uint32_t cp = 0;
            p = sc_hex4(sc, p + 2, &cp, high);
            if (!p)
                return NULL;
            if (cp >= 0xdc00 && cp <= 0xdfff)
                return sc_fallback(sc); /* a lone low surrogate: not JSON to jansson */
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (p >= end || (*p == '\\' && p + 1 >= end))
                    return sc_more(sc);
                if (p[0] != '\\' || p[1] != 'u')
                    return sc_fallback(sc);
                p = sc_hex4(sc, p + 2, &cp, high);
                if (!p)
                    return NULL;
                if (cp < 0xdc00 || cp > 0xdfff)
                    return sc_fallback(sc);
            }
        } else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' ||
                   c == 'r' || c == 't') {
            p += 2;
        } else {
            return high ? sc_fallback(sc) : sc_bad(sc, p + 1, "invalid escape");
        }
    }
    if (high && !tp_json__utf8_valid_fast(b, (size_t)(p - b)))
        return sc_utf8(sc, b, p);
    *esc = e;
    return p;
}

static size_t put_byte(char *dst, size_t cap, size_t n, uint32_t c)
{
    if (n < cap)
        dst[n] = (char)c;
    return n + 1;
}

/* What a two-byte escape \c stands for ('"', '\\' and '/' stand for
 * themselves; the scanner let only valid escapes through). */
static uint32_t short_escape(uint32_t c)
{
    switch (c) {
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    default:
        return c;
    }
}

/* The code unit of the four hex digits of a \u escape (already checked). */
static uint32_t hex4(const uint8_t *p)
{
    return (uint32_t)(hex_digit(p[0]) << 12 | hex_digit(p[1]) << 8 | hex_digit(p[2]) << 4 |
                      hex_digit(p[3]));
}

/* Decode the checked string [p, q) (escapes resolved, UTF-8 out) into
 * dst[cap]; returns its full decoded length (bytes past cap are counted,
 * not written); *nul is set when it holds U+0000. */
static size_t decode_str(const uint8_t *p, const uint8_t *q, char *dst, size_t cap, int *nul)
{
    size_t n = 0;
    *nul = 0;
    while (p < q) {
        if (*p != '\\') {
            n = put_byte(dst, cap, n, *p++);
            continue;
        }
        uint32_t cp = p[1];
        p += 2;
        if (cp != 'u') {
            cp = short_escape(cp);
        } else {
            cp = hex4(p);
            p += 4;
            if (cp >= 0xd800 && cp <= 0xdbff) {
                uint32_t lo = hex4(p + 2);
                p += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
        }
        if (cp == 0)
            *nul = 1;
        if (cp < 0x80) {
            n = put_byte(dst, cap, n, cp);
        } else if (cp < 0x800) {
            n = put_byte(dst, cap, n, 0xc0 | cp >> 6);
            n = put_byte(dst, cap, n, 0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            n = put_byte(dst, cap, n, 0xe0 | cp >> 12);
            n = put_byte(dst, cap, n, 0x80 | (cp >> 6 & 0x3f));
            n = put_byte(dst, cap, n, 0x80 | (cp & 0x3f));
        } else {
            n = put_byte(dst, cap, n, 0xf0 | cp >> 18);
            n = put_byte(dst, cap, n, 0x80 | (cp >> 12 & 0x3f));
            n = put_byte(dst, cap, n, 0x80 | (cp >> 6 & 0x3f));
            n = put_byte(dst, cap, n, 0x80 | (cp & 0x3f));
        }
    }
    return n;
}

static int is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* One digit or more at p, of a fraction or an exponent: what follows them
 * (the number's end must be seen), or NULL. */
static const uint8_t *sc_digits(scanner *sc, const uint8_t *p)
{
    const uint8_t *end = sc->end;
    if (p >= end)
        return sc_more(sc);
    if (!is_digit(*p))
        return sc_bad(sc, p, "invalid number");
    while (p < end && is_digit(*p))
        p++;
    return p < end ? p : sc_more(sc);
}

/* A JSON number at p ('-' or a digit): its syntax checked, any magnitude
 * (its value is taken from the text where it is used). */
static const uint8_t *sc_number(scanner *sc, const uint8_t *p)
{
    const uint8_t *end = sc->end;
    if (*p == '-' && ++p >= end)
        return sc_more(sc);
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < end && is_digit(*p))
            p++;
    } else {
        return sc_bad(sc, p, "invalid number");
    }
    if (p >= end)
        return sc_more(sc);
    if (*p == '.' && !(p = sc_digits(sc, p + 1)))
        return NULL;
    if (*p == 'e' || *p == 'E') {
        if (++p < end && (*p == '+' || *p == '-'))
            p++;
        return sc_digits(sc, p);
    }
    return p;
}

/* true, false or null at p (its first letter checked by the caller). */
static const uint8_t *sc_literal(scanner *sc, const uint8_t *p, int *type)
{
    static const char *const lit[3] = {"true", "false", "null"};
    int li = *p == 't' ? 0 : *p == 'f' ? 1 : 2;
    size_t ll = li == 1 ? 5 : 4;
    size_t have = (size_t)(sc->end - p);
    size_t k = have < ll ? have : ll;
    for (size_t i = 0; i < k; i++) {
        if (p[i] != (uint8_t)lit[li][i])
            return sc_bad(sc, p + i, "invalid literal");
    }
    if (have < ll)
        return sc_more(sc);
    *type = li == 0 ? T_TRUE : li == 1 ? T_FALSE : T_NULL;
    return p + ll;
}

static const uint8_t *sc_scalar(scanner *sc, const uint8_t *p)
{
    uint8_t c = *p;
    if (c == '"') {
        int esc;
        const uint8_t *q = sc_string(sc, p + 1, &esc);
        return q ? q + 1 : NULL;
    }
    if (c == '-' || is_digit(c))
        return sc_number(sc, p);
    if (c == 't' || c == 'f' || c == 'n') {
        int t;
        return sc_literal(sc, p, &t);
    }
    return sc_bad(sc, p, "invalid token");
}

/* A key with an escape: NUL in it makes the object not JSON to jansson. */
static int key_has_nul(const uint8_t *k, const uint8_t *q)
{
    int nul;
    char none[1];
    decode_str(k, q, none, 0, &nul);
    return nul;
}

/* Skip the object or array at p, whose own depth is `depth`, checking
 * everything in it; returns the byte after it. One loop with a bit stack of
 * the open brackets' kinds (no recursion). */
static const uint8_t *sc_container(scanner *sc, const uint8_t *p, int depth)
{
    uint64_t kinds[JSON_MAX_DEPTH / 64 + 1]; /* bit set: an object */
    const uint8_t *end = sc->end;
    int lvl = 0; /* the innermost open bracket; its depth is depth + lvl */
    int obj = *p == '{';
    kinds[0] = (uint64_t)obj;
    p++;
    for (;;) {
        SKIP_WS(p, end);
        if (p >= end)
            return sc_more(sc);
        if (*p == (obj ? '}' : ']')) {
            p++;
            goto closed;
        }
    member:
        if (obj) {
            if (*p != '"')
                return sc_bad(sc, p, "string or '}' expected");
            int esc;
            const uint8_t *k = p + 1, *q = sc_string(sc, k, &esc);
            if (!q)
                return NULL;
            if (esc && key_has_nul(k, q))
                return sc_fallback(sc);
            p = q + 1;
            SKIP_WS(p, end);
            if (p >= end)
                return sc_more(sc);
            if (*p != ':')
                return sc_bad(sc, p, "':' expected");
            p++;
            SKIP_WS(p, end);
            if (p >= end)
                return sc_more(sc);
        }
        if (depth + lvl + 1 > JSON_MAX_DEPTH)
            return sc_fallback(sc); /* too deep: the reference path says so */
        if (*p == '{' || *p == '[') {
            lvl++;
            obj = *p == '{';
            if (obj)
                kinds[lvl >> 6] |= (uint64_t)1 << (lvl & 63);
            else
                kinds[lvl >> 6] &= ~((uint64_t)1 << (lvl & 63));
            p++;
            continue;
        }
        p = sc_scalar(sc, p);
        if (!p)
            return NULL;
    after:
        SKIP_WS(p, end);
        if (p >= end)
            return sc_more(sc);
        if (*p == ',') {
            p++;
            SKIP_WS(p, end);
            if (p >= end)
                return sc_more(sc);
            goto member;
        }
        if (*p != (obj ? '}' : ']'))
            return sc_bad(sc, p, obj ? "',' or '}' expected" : "',' or ']' expected");
        p++;
    closed:
        if (lvl == 0)
            return p;
        lvl--;
        obj = (int)(kinds[lvl >> 6] >> (lvl & 63) & 1);
        goto after;
    }
}

int tp_record__scan(tp_trade *out, const uint8_t *s, const uint8_t *end, uint32_t flags,
                    size_t base, size_t *used, tp_error *err)
{
    scanner sc;
    sc.s = s;
    sc.end = end;
    sc.base = base;
    sc.err = err;
    sc.rc = TP_SCAN_FALLBACK;
    sc.used = 0;
    const uint8_t *p;
    if (*s == '[') {
        p = sc_container(&sc, s, 1);
        if (!p)
            goto fail;
        *used = (size_t)(p - s);
        tp_error__at(err, TP_E_RECORD, base, NULL, "an array, not a JSON object");
        return TP_SCAN_INVALID;
    }
    /* Only the fields the mode reads are decoded; MINIMAL skips the rest
     * as unknown (checked, never decoded). */
    const int last = (flags & TP_DECODE_MINIMAL) ? F_VOLUME : F_COUNT - 1;
    fview f[F_COUNT];
    for (int i = 0; i < F_COUNT; i++)
        f[i].type = T_ABSENT;
    p = s + 1;
    SKIP_WS(p, end);
    if (p >= end)
        return TP_SCAN_MORE;
    if (*p == '}') {
        p++;
        goto close;
    }
    for (;;) {
        if (*p != '"') {
            sc_bad(&sc, p, "string or '}' expected");
            goto fail;
        }
        const uint8_t *k = p + 1;
        int idx = end - k >= 16 ? quick_key(k, &p) : -2;
        if (idx == -2) {
            int esc;
            const uint8_t *q = sc_string(&sc, k, &esc);
            if (!q)
                goto fail;
            if (esc) {
                char key[16];
                int nul;
                size_t kl = decode_str(k, q, key, sizeof key, &nul);
                if (nul) {
                    sc.rc = TP_SCAN_FALLBACK; /* jansson: a NUL in a key is not JSON */
                    goto fail;
                }
                idx = kl < sizeof key ? field_index((const uint8_t *)key, kl) : -1;
            } else {
                idx = field_index(k, (size_t)(q - k));
            }
            p = q + 1;
            SKIP_WS(p, end);
            if (p >= end)
                return TP_SCAN_MORE;
            if (*p != ':') {
                sc_bad(&sc, p, "':' expected");
                goto fail;
            }
            p++;
        }
        SKIP_WS(p, end);
        if (p >= end)
            return TP_SCAN_MORE;
        if (idx > last)
            idx = -1;
        /* Write straight into the field's view (a repeated key: the last one
         * wins, as in jansson); unknown keys go to a scratch view. */
        fview scratch;
        fview *vp = idx >= 0 ? &f[idx] : &scratch;
#define v (*vp)
        v.off = base + (size_t)(p - s);
        v.plain = 1;
        uint8_t c = *p;
        const uint8_t *q;
        if (c == '"') {
            int esc;
            const uint8_t *b = p + 1;
            q = sc_string(&sc, b, &esc);
            if (!q)
                goto fail;
            v.type = T_STRING;
            if (esc && idx >= 0) {
                /* Escapes are decoded only where the value is used. */
                int nul;
                size_t n = decode_str(b, q, sc.dec[idx], DEC_CAP, &nul);
                v.p = (const uint8_t *)sc.dec[idx];
                v.len = n < DEC_CAP ? n : DEC_CAP;
                v.plain = !nul;
            } else {
                v.p = b;
                v.len = (size_t)(q - b);
            }
            p = q + 1;
        } else if (c == '-' || is_digit(c)) {
            const uint8_t *b = p;
            q = scan_plain_number(p, end, &v);
            if (!q) {
                /* Not plain: check the syntax here, convert in the validator. */
                v.plain = 0;
                q = sc_number(&sc, p);
                if (!q)
                    goto fail;
            }
            p = q;
            v.p = b;
            v.len = (size_t)(p - b);
            v.type = T_NUMBER;
        } else if (c == 't' || c == 'f' || c == 'n') {
            int t = 0;
            q = sc_literal(&sc, p, &t);
            if (!q)
                goto fail;
            v.p = p;
            v.len = (size_t)(q - p);
            v.type = t;
            p = q;
        } else if (c == '{' || c == '[') {
            q = sc_container(&sc, p, 2);
            if (!q)
                goto fail;
            v.p = p;
            v.len = (size_t)(q - p);
            v.type = c == '{' ? T_OBJECT : T_ARRAY;
            p = q;
        } else {
            sc_bad(&sc, p, "invalid token");
            goto fail;
        }
#undef v
        if (p < end && *p == ',') { /* compact JSON: no whitespace to skip */
            p++;
            SKIP_WS(p, end);
            if (p >= end)
                return TP_SCAN_MORE;
            continue;
        }
        SKIP_WS(p, end);
        if (p >= end)
            return TP_SCAN_MORE;
        if (*p == ',') {
            p++;
            SKIP_WS(p, end);
            if (p >= end)
                return TP_SCAN_MORE;
            continue;
        }
        if (*p == '}') {
            p++;
            break;
        }
        sc_bad(&sc, p, "',' or '}' expected");
        goto fail;
    }
close:
    *used = (size_t)(p - s);
    if (validate(out, f, base, flags, err) != TP_OK)
        return TP_SCAN_INVALID;
    return TP_SCAN_OK;
fail:
    if (sc.rc == TP_SCAN_BADUTF8)
        *used = sc.used;
    return sc.rc;
}

/* ---- the reference path (jansson) ----------------------------------------- */

/* Read a JSON string literal at p (valid JSON, already checked by jansson);
 * decode it into key[cap] if it fits, set *klen (or cap when it did not
 * fit); returns the byte after the closing quote. */
static const uint8_t *read_key(const uint8_t *p, char *key, size_t cap, size_t *klen)
{
    size_t n = 0;
    int fits = 1;
    p++; /* opening quote */
    while (*p != '"') {
        uint32_t cp;
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                cp = hex4(p + 1);
                p += 4;
            } else {
                cp = short_escape(*p);
            }
            p++;
            /* Known keys are ASCII: anything else just makes the key unknown. */
            if (cp >= 0x80)
                fits = 0;
        } else {
            cp = *p++;
        }
        if (n + 1 < cap && fits)
            key[n++] = (char)cp;
        else
            fits = 0;
    }
    *klen = fits ? n : cap;
    return p + 1;
}

/* Skip one JSON value (valid JSON) starting at p; returns the byte after it. */
static const uint8_t *skip_value(const uint8_t *p, const uint8_t *end)
{
    if (*p == '{' || *p == '[') {
        tp_json_span st = {0, 0, 0, 0};
        int done;
        return p + tp_json__span_feed(&st, p, end, &done);
    }
    if (*p == '"') {
        p++;
        while (*p != '"')
            p += *p == '\\' ? 2 : 1;
        return p + 1;
    }
    while (p < end && !tp_json__is_ws(*p) && *p != ',' && *p != '}' && *p != ']')
        p++;
    return p;
}


/* Where the object or array starting the input ends (0 if it does not
 * start with one or never closes). */
static size_t value_end(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len && tp_json__is_ws(s[i]))
        i++;
    if (i == len || (s[i] != '{' && s[i] != '['))
        return 0;
    tp_json_span st = {0, 0, 0, 0};
    int done = 0;
    size_t n = tp_json__span_feed(&st, s + i, s + len, &done);
    return done ? i + n : 0;
}

/* jansson refuses a number beyond a double's range ("real number
 * overflow"; no flag changes that), but JSON sets no limit and the contract
 * ignores unknown fields whatever their value. So in a copy, every number
 * written with an exponent or over 300 characters becomes "0" and spaces
 * (the same length, so offsets hold). Numbers are taken from the original
 * text, never from jansson, so nothing else changes. Returns the copy (NULL
 * when out of memory). */
static uint8_t *tame_numbers(const uint8_t *s, size_t len)
{
    uint8_t *c = malloc(len ? len : 1);
    if (!c)
        return NULL;
    memcpy(c, s, len);
    size_t i = 0;
    while (i < len) {
        uint8_t b = c[i];
        if (b == '"') {
            for (i++; i < len && c[i] != '"'; i++)
                if (c[i] == '\\')
                    i++;
            i++;
            continue;
        }
        if (b != '-' && (b < '0' || b > '9')) {
            i++;
            continue;
        }
        size_t j = i;
        int expo = 0;
        while (j < len && ((c[j] >= '0' && c[j] <= '9') || c[j] == '-' || c[j] == '+' ||
                           c[j] == '.' || c[j] == 'e' || c[j] == 'E')) {
            expo |= c[j] == 'e' || c[j] == 'E';
            j++;
        }
        if ((expo || j - i > 300) && tp_json__number_ok(c + i, j - i)) {
            c[i] = '0';
            memset(c + i + 1, ' ', j - i - 1);
        }
        i = j;
    }
    return c;
}

/* Our value type of each jansson type. */
static const uint8_t type_of_json[] = {
    [JSON_OBJECT] = T_OBJECT, [JSON_ARRAY] = T_ARRAY, [JSON_STRING] = T_STRING,
    [JSON_INTEGER] = T_NUMBER, [JSON_REAL] = T_NUMBER, [JSON_TRUE] = T_TRUE,
    [JSON_FALSE] = T_FALSE,   [JSON_NULL] = T_NULL,
};

tp_status tp_record__decode_ref(tp_trade *out, const uint8_t *s, size_t len, uint32_t flags,
                                tp_error *err)
{
    json_error_t je;
    const size_t jflags = JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL;
    /* A raw NUL byte is never JSON, but jansson drops one that it read just
     * past a number or a word (its one-byte lookahead buffer takes a NUL for
     * "empty") and reads on. So it is shown only the bytes before the first
     * NUL: every fault before it is found as before, and reaching it is not
     * JSON. */
    const uint8_t *nul = memchr(s, 0, len);
    size_t jlen = nul ? (size_t)(nul - s) : len;
    json_t *root = json_loadb((const char *)s, jlen, jflags, &je);
    if (!root && json_error_code(&je) == json_error_numeric_overflow) {
        uint8_t *tame = tame_numbers(s, jlen);
        if (!tame)
            return tp_error__set(err, TP_E_NOMEM, "out of memory decoding a record");
        root = json_loadb((const char *)tame, jlen, jflags, &je);
        free(tame);
    }
    if (root && nul) {
        json_decref(root);
        return tp_error__at(err, TP_E_PARSE, jlen, NULL,
                            "not JSON at byte %zu: end of input expected near byte 0x00", jlen);
    }
    if (!root) {
        uint64_t at = je.position > 0 ? (uint64_t)je.position - 1 : 0;
        /* Invalid UTF-8 and numbers beyond a double are still balanced JSON
         * values: the record is invalid, not the framing. */
        size_t vend = json_error_code(&je) == json_error_invalid_utf8 ? value_end(s, len) : 0;
        if (vend && !tp_json__utf8_valid(s, vend))
            return tp_error__at(err, TP_E_RECORD, at, NULL, "invalid UTF-8 at byte %llu",
                                (unsigned long long)at);
        return tp_error__at(err, TP_E_PARSE, at, NULL, "not JSON at byte %llu: %s",
                            (unsigned long long)at, je.text);
    }
    tp_status st;
    const uint8_t *p = s, *end = s + len;
    while (p < end && tp_json__is_ws(*p))
        p++;
    size_t obj_off = (size_t)(p - s);
    if (!json_is_object(root)) {
        st = tp_error__at(err, TP_E_RECORD, obj_off, NULL, "%s, not a JSON object",
                          json_is_array(root) ? "an array" : "a scalar");
        goto done;
    }
    fview f[F_COUNT];
    for (int i = 0; i < F_COUNT; i++)
        f[i].type = T_ABSENT;
    /* jansson has the types and the decoded strings; numbers are taken from
     * their text, found by walking the object's top-level members. */
    p++;
    while (p < end) {
        while (tp_json__is_ws(*p) || *p == ',')
            p++;
        if (*p == '}')
            break;
        char key[16];
        size_t klen;
        p = read_key(p, key, sizeof key, &klen);
        while (tp_json__is_ws(*p) || *p == ':')
            p++;
        const uint8_t *v = p;
        p = skip_value(p, end);
        int idx = klen < sizeof key ? field_index((const uint8_t *)key, klen) : -1;
        if (idx < 0)
            continue;
        json_t *jv = json_object_get(root, field_names[idx]);
        fview *fv = &f[idx];
        fv->plain = 0;
        fv->off = (size_t)(v - s);
        fv->p = v;
        fv->len = (size_t)(p - v);
        fv->type = type_of_json[json_typeof(jv)];
        if (fv->type == T_STRING) {
            fv->p = (const uint8_t *)json_string_value(jv);
            fv->len = json_string_length(jv);
        }
    }
    st = validate(out, f, obj_off, flags, err);
done:
    json_decref(root);
    return st;
}

/* ---- public API ------------------------------------------------------------ */

void tp_trade_init(tp_trade *t)
{
    memset(t, 0, sizeof *t);
}

tp_status tp_record_decode(tp_trade *out, tp_cursor in, uint32_t flags, tp_error *err)
{
    if (!out || (!in.ptr && in.len))
        return tp_error__set(err, TP_E_INVALID, "tp_record_decode: NULL argument");
    if (!(flags & TP_DECODE_REFERENCE)) {
        const uint8_t *p = in.ptr, *end = in.ptr + in.len;
        while (p < end && tp_json__is_ws(*p))
            p++;
        if (p < end && (*p == '{' || *p == '[')) {
            size_t used = 0;
            size_t base = (size_t)(p - in.ptr);
            int r = tp_record__scan(out, p, end, flags, base, &used, err);
            if (r == TP_SCAN_OK || r == TP_SCAN_INVALID) {
                const uint8_t *q = p + used;
                while (q < end && tp_json__is_ws(*q))
                    q++;
                if (q != end)
                    return tp_error__at(err, TP_E_PARSE, (uint64_t)(q - in.ptr), NULL,
                                        "not JSON at byte %zu: end of input expected",
                                        (size_t)(q - in.ptr));
                return r == TP_SCAN_OK ? TP_OK : TP_E_RECORD;
            }
            if (r == TP_SCAN_NOTJSON)
                return TP_E_PARSE;
            if (r == TP_SCAN_BADUTF8)
                return TP_E_RECORD; /* its first fault: what follows does not matter */
            if (r == TP_SCAN_MORE)
                return tp_error__at(err, TP_E_PARSE, in.len, NULL,
                                    "not JSON at byte %zu: %s not closed before the end of input",
                                    in.len, *p == '{' ? "object" : "array");
            /* TP_SCAN_FALLBACK: a rare kind of broken JSON, classified by jansson. */
        }
    }
    if (in.len == 0)
        return tp_error__at(err, TP_E_PARSE, 0, NULL, "not JSON at byte 0: empty input");
    return tp_record__decode_ref(out, in.ptr, in.len, flags, err);
}

tp_status tp_record_encode(tp_buf *out, const tp_trade *t, uint32_t flags, tp_error *err)
{
    if (!out || !t)
        return tp_error__set(err, TP_E_INVALID, "tp_record_encode: NULL argument");
    size_t slen = strnlen(t->symbol, sizeof t->symbol);
    if (slen == 0 || slen == sizeof t->symbol)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "symbol",
                            "symbol is empty or not NUL-terminated");
    if (t->ts_kind > TP_TS_NUMBER)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "timestamp", "unknown ts_kind %u",
                            t->ts_kind);
    size_t start = out->len;
    char num[TP_PRICE_STR_MAX];
    tp_status st = tp_buf_append_str(out, "{\"symbol\":", err);
    if (st == TP_OK)
        st = tp_json__append_string(out, t->symbol, slen, err);
    if (st == TP_OK) {
        tp_price_format(num, t->price_e8);
        st = tp_buf_appendf(out, err, ",\"price\":%s,\"volume\":%lld", num,
                            (long long)t->volume);
    }
    if (st == TP_OK && t->ts_kind != TP_TS_NONE) {
        size_t tl = strnlen(t->timestamp, sizeof t->timestamp);
        if (t->ts_kind == TP_TS_NUMBER && !tp_json__number_ok((const uint8_t *)t->timestamp, tl))
            st = tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "timestamp",
                              "timestamp text is not a JSON number");
        if (st == TP_OK)
            st = tp_buf_append_str(out, ",\"timestamp\":", err);
        if (st == TP_OK)
            st = t->ts_kind == TP_TS_NUMBER ? tp_buf_append(out, t->timestamp, tl, err)
                                            : tp_json__append_string(out, t->timestamp, tl, err);
    }
    static const struct {
        const char *key;
        size_t off, cap;
        uint32_t flag;
    } opt[] = {
        {",\"trade_id\":", offsetof(tp_trade, trade_id), TP_TRADE_ID_MAX, TP_TRADE_HAS_TRADE_ID},
        {",\"side\":", offsetof(tp_trade, side), TP_SIDE_MAX, TP_TRADE_HAS_SIDE},
        {",\"exchange\":", offsetof(tp_trade, exchange), TP_EXCHANGE_MAX, TP_TRADE_HAS_EXCHANGE},
    };
    for (size_t k = 0; st == TP_OK && k < TP_ARRAY_LEN(opt); k++) {
        if (!(t->flags & opt[k].flag))
            continue;
        const char *v = (const char *)t + opt[k].off;
        st = tp_buf_append_str(out, opt[k].key, err);
        if (st == TP_OK)
            st = tp_json__append_string(out, v, strnlen(v, opt[k].cap), err);
    }
    if (st == TP_OK)
        st = tp_buf_append(out, (flags & TP_ENCODE_NEWLINE) ? "}\n" : "}",
                           (flags & TP_ENCODE_NEWLINE) ? 2 : 1, err);
    if (st != TP_OK && out->ptr) {
        out->len = start; /* leave no half-written object behind */
        out->ptr[start] = 0;
    }
    return st;
}
