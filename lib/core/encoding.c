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

/* Scalar: three bytes to four characters. Writes (n + 2) / 3 * 4 bytes. */
static void b64_scalar(char *o, const uint8_t *in, size_t n)
{
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        o[0] = b64[v >> 18];
        o[1] = b64[v >> 12 & 63];
        o[2] = b64[v >> 6 & 63];
        o[3] = b64[v & 63];
        o += 4;
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        o[0] = b64[v >> 18];
        o[1] = b64[v >> 12 & 63];
        o[2] = i + 1 < n ? b64[v >> 6 & 63] : '=';
        o[3] = '=';
    }
}

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define TP_B64_SSSE3 1
#include <tmmintrin.h>

/* SSSE3: twelve input bytes to sixteen characters per step (Wojciech Mula's
 * method: one byte shuffle puts each 3-byte group into a 32-bit lane as
 * s1 s0 s2 s1, two 16-bit multiplies move the four 6-bit fields to the four
 * bytes, and a 16-entry table of offsets turns 0..63 into the alphabet).
 * Each step loads 16 bytes, so it runs while 16 are left; the scalar code
 * does the rest. Returns the input bytes consumed (a multiple of 3). */
__attribute__((target("ssse3"))) static size_t b64_ssse3(char *o, const uint8_t *in, size_t n)
{
    const __m128i spread = _mm_set_epi8(10, 11, 9, 10, 7, 8, 6, 7, 4, 5, 3, 4, 1, 2, 0, 1);
    const __m128i mask_ac = _mm_set1_epi32(0x0fc0fc00), mul_ac = _mm_set1_epi32(0x04000040);
    const __m128i mask_bd = _mm_set1_epi32(0x003f03f0), mul_bd = _mm_set1_epi32(0x01000010);
    /* index: 0..25 -> 13, 26..51 -> 0, 52..61 -> 1..10, 62 -> 11, 63 -> 12 */
    const __m128i offsets =
        _mm_setr_epi8(71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 65, 0, 0);
    const __m128i c51 = _mm_set1_epi8(51), c26 = _mm_set1_epi8(26), c13 = _mm_set1_epi8(13);
    size_t i = 0;
    for (; i + 16 <= n; i += 12, o += 16) {
        __m128i x =
            _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(in + i)), spread);
        __m128i ac = _mm_mulhi_epu16(_mm_and_si128(x, mask_ac), mul_ac);
        __m128i bd = _mm_mullo_epi16(_mm_and_si128(x, mask_bd), mul_bd);
        __m128i idx = _mm_or_si128(ac, bd);
        __m128i sel =
            _mm_or_si128(_mm_subs_epu8(idx, c51), _mm_and_si128(_mm_cmpgt_epi8(c26, idx), c13));
        __m128i chars = _mm_add_epi8(idx, _mm_shuffle_epi8(offsets, sel));
        _mm_storeu_si128((__m128i *)(void *)o, chars);
    }
    return i;
}

static int have_ssse3(void)
{
#if defined(__SSSE3__)
    return 1;
#else
    return __builtin_cpu_supports("ssse3");
#endif
}
#endif

void tp__base64_encode_raw(char *out, const uint8_t *in, size_t n)
{
#ifdef TP_B64_SSSE3
    if (n >= 16 && have_ssse3()) {
        size_t done = b64_ssse3(out, in, n);
        out += done / 3 * 4;
        in += done;
        n -= done;
    }
#endif
    b64_scalar(out, in, n);
}

tp_status tp_base64_encode(tp_buf *out, tp_cursor in, tp_error *err)
{
    if (in.len > (SIZE_MAX - 3) / 4 * 3)
        return tp_error__set(err, TP_E_TOO_LARGE, "input too large for base64");
    size_t olen = (in.len + 2) / 3 * 4;
    tp_status st = tp_buf_reserve(out, olen, err);
    if (st != TP_OK)
        return st;
    tp__base64_encode_raw((char *)out->ptr + out->len, in.ptr, in.len);
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
