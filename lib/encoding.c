/* Floor 1: hex and base64. */
#include "core_int.h"

void tp_hex_encode(char *out, const uint8_t *in, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[in[i] >> 4];
        out[2 * i + 1] = hx[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int tp__hex_val(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

tp_status tp_hex_decode(tp_buf *out, tp_cursor in, tp_error *err)
{
    if (in.len % 2)
        return tp_error__at(err, TP_E_PARSE, in.len, NULL, "hex text has an odd length (%zu)",
                            in.len);
    tp_status st = tp_buf_reserve(out, in.len / 2, err);
    if (st != TP_OK)
        return st;
    for (size_t i = 0; i < in.len; i += 2) {
        int hi = tp__hex_val(in.ptr[i]), lo = tp__hex_val(in.ptr[i + 1]);
        if (hi < 0 || lo < 0) {
            size_t at = hi < 0 ? i : i + 1;
            return tp_error__at(err, TP_E_PARSE, at, NULL, "bad hex digit at byte %zu", at);
        }
        out->ptr[out->len++] = (uint8_t)(hi << 4 | lo);
    }
    out->ptr[out->len] = 0;
    return TP_OK;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

tp_status tp_base64_encode(tp_buf *out, tp_cursor in, tp_error *err)
{
    if (in.len > (SIZE_MAX - 3) / 4 * 3)
        return tp_error__set(err, TP_E_TOO_LARGE, "input too large for base64");
    size_t olen = (in.len + 2) / 3 * 4;
    tp_status st = tp_buf_reserve(out, olen, err);
    if (st != TP_OK)
        return st;
    uint8_t *o = out->ptr + out->len;
    size_t i = 0;
    for (; i + 3 <= in.len; i += 3) {
        uint32_t v = (uint32_t)in.ptr[i] << 16 | (uint32_t)in.ptr[i + 1] << 8 | in.ptr[i + 2];
        *o++ = (uint8_t)b64[v >> 18];
        *o++ = (uint8_t)b64[v >> 12 & 63];
        *o++ = (uint8_t)b64[v >> 6 & 63];
        *o++ = (uint8_t)b64[v & 63];
    }
    if (i < in.len) {
        uint32_t v = (uint32_t)in.ptr[i] << 16;
        if (i + 1 < in.len)
            v |= (uint32_t)in.ptr[i + 1] << 8;
        *o++ = (uint8_t)b64[v >> 18];
        *o++ = (uint8_t)b64[v >> 12 & 63];
        *o++ = i + 1 < in.len ? (uint8_t)b64[v >> 6 & 63] : '=';
        *o++ = '=';
    }
    out->len += olen;
    out->ptr[out->len] = 0;
    return TP_OK;
}

static int b64val(uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

tp_status tp_base64_decode(tp_buf *out, tp_cursor in, tp_error *err)
{
    if (in.len % 4)
        return tp_error__at(err, TP_E_PARSE, in.len, NULL,
                            "base64 length %zu is not a multiple of 4", in.len);
    tp_status st = tp_buf_reserve(out, in.len / 4 * 3, err);
    if (st != TP_OK)
        return st;
    for (size_t i = 0; i < in.len; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            uint8_t c = in.ptr[i + (size_t)k];
            int last_quad = i + 4 == in.len;
            if (c == '=' && last_quad && k >= 2 && (k == 3 || in.ptr[i + 3] == '=')) {
                v[k] = 0;
                pad++;
                continue;
            }
            v[k] = pad ? -1 : b64val(c);
            if (v[k] < 0)
                return tp_error__at(err, TP_E_PARSE, i + (size_t)k, NULL,
                                    "bad base64 character at byte %zu", i + (size_t)k);
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
                     (uint32_t)v[3];
        out->ptr[out->len++] = (uint8_t)(w >> 16);
        if (pad < 2)
            out->ptr[out->len++] = (uint8_t)(w >> 8);
        if (pad < 1)
            out->ptr[out->len++] = (uint8_t)w;
    }
    out->ptr[out->len] = 0;
    return TP_OK;
}
