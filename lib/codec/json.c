/* Floor 2: small JSON helpers shared by the codecs and the reader. */
#include "json_int.h"

#include <string.h>

size_t tp_json__span_feed(tp_json_span *st, const uint8_t *p, const uint8_t *end, int *done)
{
    const uint8_t *s = p;
    *done = 0;
    while (p < end) {
        if (st->in_string) {
            /* Jump to the next byte that can end or escape the string. */
            if (st->escape) {
                st->escape = 0;
                p++;
                continue;
            }
            const uint8_t *q = p;
            while (q < end && *q != '"' && *q != '\\')
                q++;
            if (q == end)
                return (size_t)(end - s);
            if (*q == '\\')
                st->escape = 1;
            else
                st->in_string = 0;
            p = q + 1;
            continue;
        }
        uint8_t c = *p++;
        switch (c) {
        case '"':
            st->in_string = 1;
            break;
        case '{':
        case '[':
            st->depth++;
            st->started = 1;
            break;
        case '}':
        case ']':
            if (st->depth > 0 && --st->depth == 0 && st->started) {
                *done = 1;
                return (size_t)(p - s);
            }
            break;
        default:
            break;
        }
    }
    return (size_t)(p - s);
}

/* Past `skip` bytes at p[*i] (a '.', an 'e' and its sign), one digit or more:
 * *i moved past them; 0 when there is none. */
static int digits(const uint8_t *p, size_t len, size_t *i, size_t skip)
{
    size_t d = *i + skip, j = d;
    while (j < len && p[j] >= '0' && p[j] <= '9')
        j++;
    *i = j;
    return j > d;
}

int tp_json__number_ok(const uint8_t *p, size_t len)
{
    size_t i = 0;
    if (i < len && p[i] == '-')
        i++;
    if (i >= len)
        return 0;
    if (p[i] == '0') {
        i++;
    } else if (p[i] >= '1' && p[i] <= '9') {
        while (i < len && p[i] >= '0' && p[i] <= '9')
            i++;
    } else {
        return 0;
    }
    if (i < len && p[i] == '.' && !digits(p, len, &i, 1))
        return 0;
    if (i < len && (p[i] == 'e' || p[i] == 'E'))
        if (!digits(p, len, &i, i + 1 < len && (p[i + 1] == '+' || p[i + 1] == '-') ? 2 : 1))
            return 0;
    return i == len;
}

/* Escapes: "\\\"" and "\\\\", the five short control escapes, \\u00XX for the
 * other control characters; everything else (UTF-8 too) as it is. */
static inline size_t escaped_size(uint8_t c)
{
    if (c == '"' || c == '\\')
        return 2;
    if (c >= 0x20)
        return 1;
    return c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f' ? 2 : 6;
}

size_t tp_json__quoted_len(const char *s, size_t len)
{
    size_t n = 2;
    for (size_t i = 0; i < len; i++)
        n += escaped_size((uint8_t)s[i]);
    return n;
}

size_t tp_json__quote_raw(char *out, const char *s, size_t len)
{
    static const char hx[] = "0123456789abcdef";
    char *o = out;
    *o++ = '"';
    for (size_t i = 0; i < len; i++) {
        uint8_t c = (uint8_t)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char)c;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '\n':
            *o++ = 'n';
            break;
        case '\r':
            *o++ = 'r';
            break;
        case '\t':
            *o++ = 't';
            break;
        case '\b':
            *o++ = 'b';
            break;
        case '\f':
            *o++ = 'f';
            break;
        case '"':
        case '\\':
            *o++ = (char)c;
            break;
        default:
            memcpy(o, "u00", 3);
            o[3] = hx[c >> 4];
            o[4] = hx[c & 15];
            o += 5;
        }
    }
    *o++ = '"';
    return (size_t)(o - out);
}

tp_status tp_json__append_string(tp_buf *out, const char *s, size_t len, tp_error *err)
{
    /* Worst case every byte becomes \u00XX. */
    if (len > (SIZE_MAX - 2) / 6)
        return tp_error__set(err, TP_E_TOO_LARGE, "string too long to encode");
    tp_status st = tp_buf_reserve(out, tp_json__quoted_len(s, len), err);
    if (st != TP_OK)
        return st;
    out->len += tp_json__quote_raw((char *)out->ptr + out->len, s, len);
    out->ptr[out->len] = 0;
    return TP_OK;
}

/* The length of the longest well-formed UTF-8 prefix of [p, n) (no
 * overlongs, no surrogates, nothing past U+10FFFF), as jansson requires of
 * strings: n when it is all well-formed. */
size_t tp_json__utf8_prefix(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        uint32_t cp, min;
        if (c >= 0xc2 && c <= 0xdf) {
            k = 1;
            cp = c & 0x1fu;
            min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2;
            cp = c & 0x0fu;
            min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;
            cp = c & 0x07u;
            min = 0x10000;
        } else {
            return i;
        }
        if (n - i <= k)
            return i;
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xc0) != 0x80)
                return i;
            cp = cp << 6 | (p[i + j] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return i;
        i += k + 1;
    }
    return n;
}

int tp_json__utf8_valid(const uint8_t *p, size_t n)
{
    return tp_json__utf8_prefix(p, n) == n;
}

/* ---- UTF-8 validation, sixteen bytes at a time --------------------------------
 * The lookup-table method of Keiser and Lemire ("Validating UTF-8 in less
 * than one instruction per byte", 2021): each byte and the one before it
 * index three 16-entry tables (high nibble of the previous byte, its low
 * nibble, high nibble of this byte) whose AND flags every error a two-byte
 * window can show; a continuation that a three- or four-byte lead two or
 * three bytes back requires is checked by saturating subtraction. */
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <tmmintrin.h>
#define TP_UTF8_SSSE3 1

enum {
    U8_TOO_SHORT = 0x01,  /* a lead or ASCII byte where a continuation is due */
    U8_TOO_LONG = 0x02,   /* a continuation after ASCII */
    U8_OVERLONG_3 = 0x04, /* E0 80..9F */
    U8_TOO_LARGE = 0x08,  /* F4 90.. and above, F5.. */
    U8_SURROGATE = 0x10,  /* ED A0..BF */
    U8_OVERLONG_2 = 0x20, /* C0, C1 */
    U8_TOO_LARGE_1000 = 0x40,
    U8_OVERLONG_4 = 0x40, /* F0 80..8F */
    U8_TWO_CONTS = 0x80,  /* a continuation after a continuation */
    U8_CARRY = U8_TOO_SHORT | U8_TOO_LONG | U8_TWO_CONTS,
};

#define B(x) ((char)(x))

__attribute__((target("ssse3"))) static __m128i u8_block(__m128i in, __m128i prev)
{
    const __m128i b1h = _mm_setr_epi8(
        B(U8_TOO_LONG), B(U8_TOO_LONG), B(U8_TOO_LONG), B(U8_TOO_LONG), B(U8_TOO_LONG),
        B(U8_TOO_LONG), B(U8_TOO_LONG), B(U8_TOO_LONG), B(U8_TWO_CONTS), B(U8_TWO_CONTS),
        B(U8_TWO_CONTS), B(U8_TWO_CONTS), B(U8_TOO_SHORT | U8_OVERLONG_2), B(U8_TOO_SHORT),
        B(U8_TOO_SHORT | U8_OVERLONG_3 | U8_SURROGATE),
        B(U8_TOO_SHORT | U8_TOO_LARGE | U8_TOO_LARGE_1000 | U8_OVERLONG_4));
    const int big = U8_CARRY | U8_TOO_LARGE | U8_TOO_LARGE_1000;
    const __m128i b1l = _mm_setr_epi8(
        B(U8_CARRY | U8_OVERLONG_3 | U8_OVERLONG_2 | U8_OVERLONG_4), B(U8_CARRY | U8_OVERLONG_2),
        B(U8_CARRY), B(U8_CARRY), B(U8_CARRY | U8_TOO_LARGE), B(big), B(big), B(big), B(big),
        B(big), B(big), B(big), B(big), B(big | U8_SURROGATE), B(big), B(big));
    const int cont = U8_TOO_LONG | U8_OVERLONG_2 | U8_TWO_CONTS;
    const __m128i b2h = _mm_setr_epi8(
        B(U8_TOO_SHORT), B(U8_TOO_SHORT), B(U8_TOO_SHORT), B(U8_TOO_SHORT), B(U8_TOO_SHORT),
        B(U8_TOO_SHORT), B(U8_TOO_SHORT), B(U8_TOO_SHORT),
        B(cont | U8_OVERLONG_3 | U8_TOO_LARGE_1000 | U8_OVERLONG_4),
        B(cont | U8_OVERLONG_3 | U8_TOO_LARGE), B(cont | U8_SURROGATE | U8_TOO_LARGE),
        B(cont | U8_SURROGATE | U8_TOO_LARGE), B(U8_TOO_SHORT), B(U8_TOO_SHORT), B(U8_TOO_SHORT),
        B(U8_TOO_SHORT));
    const __m128i nib = _mm_set1_epi8(0x0f);
    __m128i prev1 = _mm_alignr_epi8(in, prev, 15);
    __m128i special = _mm_and_si128(
        _mm_and_si128(_mm_shuffle_epi8(b1h, _mm_and_si128(_mm_srli_epi16(prev1, 4), nib)),
                      _mm_shuffle_epi8(b1l, _mm_and_si128(prev1, nib))),
        _mm_shuffle_epi8(b2h, _mm_and_si128(_mm_srli_epi16(in, 4), nib)));
    __m128i prev2 = _mm_alignr_epi8(in, prev, 14), prev3 = _mm_alignr_epi8(in, prev, 13);
    __m128i third = _mm_subs_epu8(prev2, _mm_set1_epi8(B(0xe0 - 0x80)));
    __m128i fourth = _mm_subs_epu8(prev3, _mm_set1_epi8(B(0xf0 - 0x80)));
    __m128i must = _mm_and_si128(_mm_or_si128(third, fourth), _mm_set1_epi8(B(0x80)));
    return _mm_xor_si128(must, special);
}

__attribute__((target("ssse3"))) static int utf8_valid_ssse3(const uint8_t *p, size_t n)
{
    __m128i prev = _mm_setzero_si128(), bad = _mm_setzero_si128();
    size_t i = 0;
    for (; n - i >= 16; i += 16) {
        __m128i in = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        bad = _mm_or_si128(bad, u8_block(in, prev));
        prev = in;
    }
    /* The tail, padded with NULs: a sequence cut by the end shows as too short. */
    uint8_t tail[16] = {0};
    memcpy(tail, p + i, n - i);
    bad = _mm_or_si128(bad, u8_block(_mm_loadu_si128((const __m128i *)(const void *)tail), prev));
    return _mm_movemask_epi8(_mm_cmpeq_epi8(bad, _mm_setzero_si128())) == 0xffff;
}
#undef B
#endif

int tp_json__utf8_valid_fast(const uint8_t *p, size_t n)
{
#ifdef TP_UTF8_SSSE3
    if (__builtin_cpu_supports("ssse3"))
        return utf8_valid_ssse3(p, n);
#endif
    return tp_json__utf8_valid(p, n);
}
