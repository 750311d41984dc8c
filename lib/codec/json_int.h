#ifndef TP_JSON_INT_H
#define TP_JSON_INT_H

/* Internal JSON helpers: value boundaries, number syntax, string escaping. */

#include "core/core_int.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Resumable search for the end of one JSON object or array: tracks only
 * nesting depth and string/escape state, so it finds the boundary of
 * balanced input quickly; whether the span is valid JSON is decided later. */
typedef struct tp_json_span {
    uint64_t depth;
    uint8_t in_string;
    uint8_t escape;
    uint8_t started;
} tp_json_span;

/* Scan bytes [p, end). Returns the number of bytes consumed: when the value
 * closed, *done = 1 and the count includes the closing bracket; otherwise
 * all bytes were consumed and the state is kept for the next call. */
size_t tp_json__span_feed(tp_json_span *st, const uint8_t *p, const uint8_t *end, int *done);

/* 1 if [p, p+n) is well-formed UTF-8 (no overlongs, no surrogates, nothing
 * past U+10FFFF), as JSON text and jansson require. Byte by byte: the
 * reference for the SIMD validator below. */
int tp_json__utf8_valid(const uint8_t *p, size_t n);
/* The length of the longest well-formed prefix of [p, p+n). */
size_t tp_json__utf8_prefix(const uint8_t *p, size_t n);

/* The same answer, sixteen bytes at a time (SSSE3 lookup tables, chosen at
 * run time; the byte-by-byte loop where the CPU lacks SSSE3). */
int tp_json__utf8_valid_fast(const uint8_t *p, size_t n);

/* 1 if [p, p+len) is exactly a JSON number. */
int tp_json__number_ok(const uint8_t *p, size_t len);

/* Append `s` as a JSON string literal (quotes, escapes for '"', '\\' and
 * control characters; UTF-8 bytes kept as they are). */
tp_status tp_json__append_string(tp_buf *out, const char *s, size_t len, tp_error *err);
/* The same literal's exact size, and the literal written to out (that many
 * bytes, no terminator; returns the count). */
size_t tp_json__quoted_len(const char *s, size_t len);
size_t tp_json__quote_raw(char *out, const char *s, size_t len);

static inline int tp_json__is_ws(uint8_t c)
{
    /* Most bytes are above ' ': one compare rejects them. */
    return c <= ' ' && (c == ' ' || c == '\n' || c == '\r' || c == '\t');
}

/* Bytes that stop a plain string: '"', '\\', control characters, non-ASCII. */
static inline int tp_json__plain_stop(uint8_t c)
{
    return c == '"' || c == '\\' || c < 0x20 || c >= 0x80;
}

/* Find the first stop byte in [p, end); returns end if none. Sixteen bytes
 * at a time with SSE2 (one signed compare catches both control characters
 * and non-ASCII), eight with SWAR elsewhere. */
static inline const uint8_t *tp_json__find_stop(const uint8_t *p, const uint8_t *end)
{
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
                  space = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                 _mm_cmplt_epi8(v, space));
        unsigned bits = (unsigned)_mm_movemask_epi8(m);
        if (bits)
            return p + __builtin_ctz(bits);
        p += 16;
    }
#else
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    while (end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        uint64_t q = w ^ (ones * '"');
        uint64_t b = w ^ (ones * '\\');
        uint64_t t = ((q - ones) & ~q) | ((b - ones) & ~b) | (w - ones * 0x20) | w;
        t &= highs;
        if (t) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            return p + (__builtin_ctzll(t) >> 3);
#else
            break;
#endif
        }
        p += 8;
    }
#endif
    while (p < end && !tp_json__plain_stop(*p))
        p++;
    return p;
}

/* Find the first byte of [p, end) that stops a JSON string scan: '"', '\\'
 * or a control character (< 0x20); returns end if none. Bytes >= 0x80 do
 * not stop it: *high gets a nonzero bit when any was passed. */
static inline const uint8_t *tp_json__find_str_stop(const uint8_t *p, const uint8_t *end,
                                                    unsigned *high)
{
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
                  c1f = _mm_set1_epi8(0x1f), zero = _mm_setzero_si128();
    unsigned h = 0;
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        /* v <= 0x1f (unsigned): the saturating v - 0x1f is zero */
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                 _mm_cmpeq_epi8(_mm_subs_epu8(v, c1f), zero));
        unsigned bits = (unsigned)_mm_movemask_epi8(m);
        unsigned hb = (unsigned)_mm_movemask_epi8(v);
        if (bits) {
            unsigned k = (unsigned)__builtin_ctz(bits);
            *high |= h | (hb & ((1u << k) - 1u));
            return p + k;
        }
        h |= hb;
        p += 16;
    }
    *high |= h;
#endif
    while (p < end) {
        uint8_t c = *p;
        if (c == '"' || c == '\\' || c < 0x20)
            break;
        *high |= c & 0x80u;
        p++;
    }
    return p;
}

#endif
