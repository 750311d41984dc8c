/* Floor 1: status strings, errors, buffers, time, hex/base64. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

START_TEST(test_strerror_all)
{
    for (int32_t st = -21; st <= 1; st++) {
        const char *m = tp_strerror(st);
        ck_assert_ptr_nonnull(m);
        ck_assert_str_ne(m, "unknown status");
    }
    ck_assert_str_eq(tp_strerror(-9999), "unknown status");
    ck_assert_str_eq(tp_version(), TP_VERSION_STRING);
    ck_assert_uint_eq(tp_version_number(), TP_VERSION_NUMBER);
    ck_assert_int_eq(TP_VERSION_NUMBER, 100);
}
END_TEST

START_TEST(test_buf_grow_and_limit)
{
    tp_buf b;
    tp_error err;
    tp_buf_init(&b, NULL, 10);
    ck_assert_int_eq(tp_buf_append_str(&b, "hello", &err), TP_OK);
    ck_assert_int_eq(tp_buf_appendf(&b, &err, "%d", 12345), TP_OK);
    ck_assert_str_eq((char *)b.ptr, "hello12345");
    ck_assert_int_eq(tp_buf_append(&b, "x", 1, &err), TP_E_TOO_LARGE);
    ck_assert_int_eq(err.code, TP_E_TOO_LARGE);
    ck_assert_str_eq((char *)b.ptr, "hello12345");
    tp_buf_clear(&b);
    ck_assert_uint_eq(b.len, 0);
    tp_buf_dispose_secure(&b);
    ck_assert_ptr_null(b.ptr);

    /* A long appendf takes the second path. */
    tp_buf_init(&b, NULL, 0);
    char big[1000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    ck_assert_int_eq(tp_buf_appendf(&b, &err, "<%s>", big), TP_OK);
    ck_assert_uint_eq(b.len, 1001);
    ck_assert_int_eq(b.ptr[1001], 0);
    tp_buf_dispose(&b);
}
END_TEST

START_TEST(test_buf_oom_sweep)
{
    for (long n = 1; n < 20; n++) {
        tpt_failing_alloc fa;
        tpt_failing_alloc_init(&fa, n);
        tp_buf b;
        tp_error err;
        tp_buf_init(&b, &fa.a, 0);
        tp_status st = TP_OK;
        for (int i = 0; i < 200 && st == TP_OK; i++)
            st = tp_buf_append_str(&b, "0123456789", &err);
        if (st != TP_OK) {
            ck_assert_int_eq(st, TP_E_NOMEM);
            ck_assert_int_eq(err.code, TP_E_NOMEM);
        }
        tp_buf_dispose(&b);
        ck_assert_int_eq(fa.live, 0);
    }
}
END_TEST

static const struct {
    const char *in;
    tp_status want;
    int64_t us;
} iso_rows[] = {
    {"1970-01-01T00:00:00Z", TP_OK, 0},
    {"2025-10-22T12:58:35.123Z", TP_OK, INT64_C(1761137915123000)},
    {"2025-10-22T12:58:35.123456789Z", TP_OK, INT64_C(1761137915123456)},
    {"2025-10-22T14:58:35+02:00", TP_OK, INT64_C(1761137915000000)},
    {"2025-10-22T07:58:35-0500", TP_OK, INT64_C(1761137915000000)},
    {"2025-10-22 12:58:35", TP_OK, INT64_C(1761137915000000)},
    {"2024-02-29T00:00:00Z", TP_OK, INT64_C(1709164800000000)},
    {"1969-12-31T23:59:59.5Z", TP_OK, INT64_C(-500000)},
    {"2023-02-29T00:00:00Z", TP_E_PARSE, 0},
    {"2025-13-01T00:00:00Z", TP_E_PARSE, 0},
    {"2025-10-22T24:00:00Z", TP_E_PARSE, 0},
    {"2025-10-22T12:58:35.Z", TP_E_PARSE, 0},
    {"2025-10-22T12:58:35.1234567890Z", TP_E_PARSE, 0},
    {"2025-10-22T12:58:35Zjunk", TP_E_PARSE, 0},
    {"2025-10-22", TP_E_PARSE, 0},
    {"", TP_E_PARSE, 0},
    {"20251022T125835Z", TP_E_PARSE, 0},
};

START_TEST(test_iso8601_table)
{
    int64_t us = -1;
    tp_error err;
    tp_status st = tp_time_parse_iso8601(&us, tp_cursor_from_str(iso_rows[_i].in), &err);
    ck_assert_msg(st == iso_rows[_i].want, "row %d '%s': got %d", _i, iso_rows[_i].in, st);
    if (st == TP_OK)
        ck_assert_int_eq(us, iso_rows[_i].us);
    else
        ck_assert_uint_ne(err.offset, TP_NO_OFFSET);
}
END_TEST

START_TEST(test_iso8601_format_roundtrip)
{
    char out[TP_ISO8601_MAX];
    tp_time_format_iso8601(out, INT64_C(1761137915123000), 3);
    ck_assert_str_eq(out, "2025-10-22T12:58:35.123Z");
    tp_time_format_iso8601(out, INT64_C(-500000), 6);
    ck_assert_str_eq(out, "1969-12-31T23:59:59.500000Z");
    tp_time_format_iso8601(out, 0, 0);
    ck_assert_str_eq(out, "1970-01-01T00:00:00Z");
    /* Every day for 800 years round-trips through the calendar functions. */
    for (int64_t d = -200000; d < 100000; d += 7) {
        int64_t y;
        unsigned m, dd;
        tp_time_civil_from_days(d, &y, &m, &dd);
        ck_assert_int_eq(tp_time_days_from_civil(y, m, dd), d);
    }
}
END_TEST

START_TEST(test_hex_base64)
{
    tp_buf b;
    tp_error err;
    char hex[9];
    tp_hex_encode(hex, (const uint8_t *)"\x01\xab\xff\x00", 4);
    ck_assert_str_eq(hex, "01abff00");
    tp_buf_init(&b, NULL, 0);
    ck_assert_int_eq(tp_hex_decode(&b, tp_cursor_from_str("01ABff00"), &err), TP_OK);
    ck_assert_mem_eq(b.ptr, "\x01\xab\xff\x00", 4);
    tp_buf_clear(&b);
    ck_assert_int_eq(tp_hex_decode(&b, tp_cursor_from_str("01g0"), &err), TP_E_PARSE);
    ck_assert_uint_eq(err.offset, 2);
    ck_assert_int_eq(tp_hex_decode(&b, tp_cursor_from_str("012"), &err), TP_E_PARSE);

    /* RFC 4648 section 10 vectors. */
    static const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        tp_buf_clear(&b);
        ck_assert_int_eq(tp_base64_encode(&b, tp_cursor_from_str(plain[i]), &err), TP_OK);
        ck_assert_str_eq((char *)(b.ptr ? b.ptr : (uint8_t *)""), enc[i]);
        tp_buf_clear(&b);
        ck_assert_int_eq(tp_base64_decode(&b, tp_cursor_from_str(enc[i]), &err), TP_OK);
        ck_assert_uint_eq(b.len, strlen(plain[i]));
        if (b.len)
            ck_assert_mem_eq(b.ptr, plain[i], b.len);
    }
    static const char *bad[] = {"Zg=", "Z===", "Zg=a", "Zm9v!A==", "=Zm9"};
    for (size_t i = 0; i < 5; i++) {
        tp_buf_clear(&b);
        ck_assert_int_eq(tp_base64_decode(&b, tp_cursor_from_str(bad[i]), &err), TP_E_PARSE);
    }
    tp_buf_dispose(&b);
}
END_TEST

/* The vector path (16 input bytes at a time) against a bit-at-a-time
 * reference, for every length up to 300 and every alignment, then back. */
START_TEST(test_base64_lengths)
{
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint8_t src[320];
    char want[440];
    uint32_t seed = 12345;
    for (size_t i = 0; i < sizeof src; i++) {
        seed = seed * 1103515245u + 12345u;
        src[i] = (uint8_t)(seed >> 16);
    }
    src[3] = 0xff; /* the all-ones and all-zero sextets, '/' and 'A' */
    src[4] = 0xff;
    src[5] = 0xff;
    src[6] = 0;
    tp_buf b, d;
    tp_error err;
    tp_buf_init(&b, NULL, 0);
    tp_buf_init(&d, NULL, 0);
    for (size_t off = 0; off < 16; off++) {
        for (size_t n = 0; off + n <= 300; n++) {
            size_t bits = n * 8, w = 0;
            for (size_t bit = 0; bit < bits; bit += 6) {
                unsigned v = 0;
                for (size_t k = bit; k < bit + 6; k++) {
                    unsigned one = k < bits ? (src[off + k / 8] >> (7 - k % 8)) & 1u : 0u;
                    v = v << 1 | one;
                }
                want[w++] = alpha[v];
            }
            while (w % 4)
                want[w++] = '=';
            want[w] = 0;
            tp_buf_clear(&b);
            ck_assert_int_eq(tp_base64_encode(&b, tp_cursor_make(src + off, n), &err), TP_OK);
            ck_assert_uint_eq(b.len, w);
            ck_assert_str_eq((char *)(b.ptr ? b.ptr : (uint8_t *)""), want);
            tp_buf_clear(&d);
            ck_assert_int_eq(tp_base64_decode(&d, tp_buf_cursor(&b), &err), TP_OK);
            ck_assert_uint_eq(d.len, n);
            if (n)
                ck_assert_mem_eq(d.ptr, src + off, n);
        }
    }
    tp_buf_dispose(&b);
    tp_buf_dispose(&d);
}
END_TEST

static const struct {
    const char *in;
    tp_status want;
    int64_t e8;
    const char *fmt; /* NULL: same as in */
} price_rows[] = {
    {"187.23", TP_OK, INT64_C(18723000000), NULL},
    {"0.00000001", TP_OK, 1, NULL},
    {"150", TP_OK, INT64_C(15000000000), NULL},
    {"1.5e2", TP_OK, INT64_C(15000000000), "150"},
    {"1.000000000", TP_OK, INT64_C(100000000), "1"},
    {"15000E-2", TP_OK, INT64_C(15000000000), "150"},
    {"0.1e-7", TP_OK, 1, "0.00000001"},
    {"-2.5", TP_OK, INT64_C(-250000000), NULL},
    {"0", TP_OK, 0, NULL},
    {"-0", TP_OK, 0, "0"},
    {"0e999999999999", TP_OK, 0, "0"},
    {"92233720368.54775807", TP_OK, INT64_MAX, NULL},
    {"-92233720368.54775808", TP_OK, INT64_MIN, NULL},
    {"92233720368.54775808", TP_E_RANGE, 0, NULL},
    {"1e11", TP_E_RANGE, 0, NULL},
    {"123456789012345678901234567890", TP_E_RANGE, 0, NULL},
    {"1.123456789", TP_E_RANGE, 0, NULL},
    {"0.000000001", TP_E_RANGE, 0, NULL},
    {"1e-9", TP_E_RANGE, 0, NULL},
    {"1e-99999999999999999999", TP_E_RANGE, 0, NULL},
    {"01", TP_E_PARSE, 0, NULL},
    {"1.", TP_E_PARSE, 0, NULL},
    {".5", TP_E_PARSE, 0, NULL},
    {"1e", TP_E_PARSE, 0, NULL},
    {"+1", TP_E_PARSE, 0, NULL},
    {"1x", TP_E_PARSE, 0, NULL},
    {"", TP_E_PARSE, 0, NULL},
    {"NaN", TP_E_PARSE, 0, NULL},
};

START_TEST(test_price_table)
{
    int64_t v = 42;
    tp_error err;
    tp_status st = tp_price_parse(&v, tp_cursor_from_str(price_rows[_i].in), &err);
    ck_assert_msg(st == price_rows[_i].want, "row %d '%s': got %d (%s)", _i, price_rows[_i].in, st,
                  err.message);
    if (st != TP_OK) {
        ck_assert_int_eq(err.code, st);
        ck_assert_str_ne(err.message, "");
        return;
    }
    ck_assert_int_eq(v, price_rows[_i].e8);
    char out[TP_PRICE_STR_MAX];
    tp_price_format(out, v);
    ck_assert_str_eq(out, price_rows[_i].fmt ? price_rows[_i].fmt : price_rows[_i].in);
}
END_TEST

START_TEST(test_price_format_roundtrip_random)
{
    uint64_t s = 88172645463325252ULL;
    for (int i = 0; i < 100000; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        int64_t v = (int64_t)s >> (s % 60);
        char out[TP_PRICE_STR_MAX];
        size_t n = tp_price_format(out, v);
        int64_t back;
        ck_assert_int_eq(tp_price_parse(&back, tp_cursor_make(out, n), NULL), TP_OK);
        ck_assert_int_eq(back, v);
    }
}
END_TEST

START_TEST(test_int_and_arith)
{
    int64_t v;
    tp_error err;
    ck_assert_int_eq(tp_int_parse(&v, tp_cursor_from_str("1200"), &err), TP_OK);
    ck_assert_int_eq(v, 1200);
    ck_assert_int_eq(tp_int_parse(&v, tp_cursor_from_str("-0"), &err), TP_OK);
    ck_assert_int_eq(tp_int_parse(&v, tp_cursor_from_str("9223372036854775807"), &err), TP_OK);
    ck_assert_int_eq(v, INT64_MAX);
    ck_assert_int_eq(tp_int_parse(&v, tp_cursor_from_str("9223372036854775808"), &err), TP_E_RANGE);
    ck_assert_int_eq(tp_int_parse(&v, tp_cursor_from_str("100.0"), &err), TP_E_PARSE);
    ck_assert_uint_eq(err.offset, 3);
    ck_assert_int_eq(tp_int_parse(&v, tp_cursor_from_str("1e2"), &err), TP_E_PARSE);
    ck_assert_int_eq(tp_int_parse(&v, tp_cursor_from_str("007"), &err), TP_E_PARSE);

    ck_assert_int_eq(tp_price_add(&v, INT64_MAX, 1, &err), TP_E_RANGE);
    ck_assert_int_eq(tp_price_sub(&v, INT64_MIN, 1, &err), TP_E_RANGE);
    ck_assert_int_eq(tp_price_mul_qty(&v, INT64_C(18723000000), 1000000000, &err), TP_E_RANGE);
    ck_assert_int_eq(tp_price_mul_qty(&v, INT64_C(18723000000), 100, &err), TP_OK);
    ck_assert_int_eq(v, INT64_C(1872300000000));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("core");
    /* The random round trips make 10^5 checks each: slow under sanitizers on
     * a loaded machine, far beyond Check's 4 s default. */
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_strerror_all);
    tcase_add_test(tc, test_buf_grow_and_limit);
    tcase_add_test(tc, test_buf_oom_sweep);
    tcase_add_loop_test(tc, test_iso8601_table, 0, (int)(sizeof iso_rows / sizeof iso_rows[0]));
    tcase_add_test(tc, test_iso8601_format_roundtrip);
    tcase_add_test(tc, test_hex_base64);
    tcase_add_test(tc, test_base64_lengths);
    tcase_add_loop_test(tc, test_price_table, 0, (int)(sizeof price_rows / sizeof price_rows[0]));
    tcase_add_test(tc, test_price_format_roundtrip_random);
    tcase_add_test(tc, test_int_and_arith);
    suite_add_tcase(s, tc);
    return tpt_run_suite(s);
}
