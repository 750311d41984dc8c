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
    if (i < len && p[i] == '.') {
        i++;
        size_t d = i;
        while (i < len && p[i] >= '0' && p[i] <= '9')
            i++;
        if (i == d)
            return 0;
    }
    if (i < len && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < len && (p[i] == '+' || p[i] == '-'))
            i++;
        size_t d = i;
        while (i < len && p[i] >= '0' && p[i] <= '9')
            i++;
        if (i == d)
            return 0;
    }
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

/* Well-formed UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF),
 * as jansson requires of strings. */
int tp_json__utf8_valid(const uint8_t *p, size_t n)
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
            return 0;
        }
        if (n - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i + j] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += k + 1;
    }
    return 1;
}
