/* The trade record codec: specialised scanner and jansson reference. */
#include "testutil.h"

#include "record_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define L TP_DECODE_LENIENT
#define ANY UINT64_MAX

static const struct {
    const char *in;
    uint32_t flags;
    tp_status want;
    const char *field;   /* err->field on failure */
    uint64_t offset;     /* err->offset on failure; ANY: not checked */
    const char *symbol;  /* on success */
    int64_t price_e8;
    int64_t volume;
} rows[] = {
    /* valid */
    {"{\"symbol\":\"AAPL\",\"price\":187.23,\"volume\":1200}", 0, TP_OK, NULL, 0, "AAPL",
     18723000000, 1200},
    {" \n{ \"symbol\" : \"AAPL\" , \"price\" : 187.23 , \"volume\" : 0 }\t", 0, TP_OK, NULL, 0,
     "AAPL", 18723000000, 0},
    {"{\"symbol\":\"AAPL\",\"price\":187.23,\"volume\":1200,\"timestamp\":\"2025-10-22T12:58:35.123Z\"}",
     0, TP_OK, NULL, 0, "AAPL", 18723000000, 1200},
    {"{\"symbol\":\"A\",\"price\":1.5e2,\"volume\":7,\"timestamp\":1761137915}", 0, TP_OK, NULL, 0,
     "A", 15000000000, 7},
    {"{\"symbol\":\"A\",\"price\":0.00000001,\"volume\":7,\"timestamp\":1761137915123}", 0, TP_OK,
     NULL, 0, "A", 1, 7},
    {"{\"volume\":-0,\"price\":1.000000000,\"symbol\":\"A\",\"x\":[1,{\"symbol\":\"B\"}]}", 0, TP_OK,
     NULL, 0, "A", 100000000, 0},
    {"{\"symbol\":\"A\",\"price\":1,\"volume\":1,\"meta\":{\"symbol\":\"B\",\"price\":-1}}", 0,
     TP_OK, NULL, 0, "A", 100000000, 1},
    {"{\"symbol\":\"}{\",\"price\":2,\"volume\":3}", 0, TP_OK, NULL, 0, "}{", 200000000, 3},
    {"{\"symbol\":\"\\u0041APL\",\"price\":2,\"volume\":3}", 0, TP_OK, NULL, 0, "AAPL", 200000000,
     3},
    {"{\"sym\\u0062ol\":\"ESC\",\"price\":2,\"volume\":3}", 0, TP_OK, NULL, 0, "ESC", 200000000, 3},
    {"{\"symbol\":\"Z\xc3\xa9\",\"price\":2,\"volume\":3}", 0, TP_OK, NULL, 0, "Z\xc3\xa9",
     200000000, 3},
    {"{\"symbol\":\"A\",\"price\":\"x\",\"price\":2,\"volume\":3}", 0, TP_OK, NULL, 0, "A",
     200000000, 3},
    {"{\"symbol\":\"A\",\"price\":2,\"volume\":3,\"big\":1e400}", 0, TP_E_RECORD, NULL, ANY, NULL,
     0, 0},
    {"{\"symbol\":\"A\",\"price\":2,\"volume\":3,\"big\":123456789012345678901234567890}", 0,
     TP_OK, NULL, 0, "A", 200000000, 3},
    {"{\"symbol\":\"A\",\"price\":2,\"volume\":3,\"timestamp\":true}", L, TP_OK, NULL, 0, "A",
     200000000, 3},
    {"{\"symbol\":\"A\",\"price\":2,\"volume\":3,\"timestamp\":\"yesterday\"}", L, TP_OK, NULL, 0,
     "A", 200000000, 3},
    /* numbers around the scanner's 8-byte steps */
    {"{\"symbol\":\"N\",\"price\":1234567.12345678,\"volume\":1234567}", 0, TP_OK, NULL, 0,
     "N", INT64_C(123456712345678), 1234567},
    {"{\"symbol\":\"N\",\"price\":12345678.5,\"volume\":12345678}", 0, TP_OK, NULL, 0, "N",
     INT64_C(1234567850000000), 12345678},
    {"{\"symbol\":\"N\",\"price\":92233720368,\"volume\":9223372036854775807}", 0, TP_OK,
     NULL, 0, "N", INT64_C(9223372036800000000), INT64_MAX},
    {"{\"symbol\":\"N\",\"price\":0.12345678,\"volume\":0}", 0, TP_OK, NULL, 0, "N",
     12345678, 0},
    {"{\"symbol\":\"N\",\"price\":0.1,\"volume\":10,\"pad\":\"xxxxxxxxxxxxxxxxxxxx\"}", 0,
     TP_OK, NULL, 0, "N", 10000000, 10},
    {"{\"symbol\":\"N\",\"price\":1.000000000,\"volume\":10,\"pad\":\"xxxxxxxxxxxxxxxx\"}",
     0, TP_OK, NULL, 0, "N", 100000000, 10},
    {"{\"symbol\":\"N\",\"price\":1.123456789,\"volume\":10,\"pad\":\"xxxxxxxxxxxxxxxx\"}",
     0, TP_E_RECORD, "price", 22, NULL, 0, 0},
    {"{\"symbol\":\"N\",\"price\":00.5,\"volume\":10,\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxx\"}", 0,
     TP_E_PARSE, NULL, ANY, NULL, 0, 0},
    {"{\"symbol\":\"N\",\"price\":5.,\"volume\":10,\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxx\"}", 0,
     TP_E_PARSE, NULL, ANY, NULL, 0, 0},
    {"{\"symbol\":\"N\",\"price\":-5.5,\"volume\":-0,\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxx\"}", 0,
     TP_E_RECORD, "price", 22, NULL, 0, 0},
    {"{\"symbol\":\"N\",\"price\":5.5,\"volume\":3.0,\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxx\"}", 0,
     TP_E_RECORD, "volume", 35, NULL, 0, 0},
    /* invalid records: JSON, but not a trade */
    {"{}", 0, TP_E_RECORD, "symbol", 0, NULL, 0, 0},
    {"{\"price\":1,\"volume\":1}", 0, TP_E_RECORD, "symbol", 0, NULL, 0, 0},
    {"{\"symbol\":\"A\",\"volume\":1}", 0, TP_E_RECORD, "price", 0, NULL, 0, 0},
    {"{\"symbol\":\"A\",\"price\":1}", 0, TP_E_RECORD, "volume", 0, NULL, 0, 0},
    {"{\"symbol\":\"\",\"price\":1,\"volume\":1}", 0, TP_E_RECORD, "symbol", 10, NULL, 0, 0},
    {"{\"symbol\":7,\"price\":1,\"volume\":1}", 0, TP_E_RECORD, "symbol", 10, NULL, 0, 0},
    {"{\"symbol\":\"A\\u0000B\",\"price\":1,\"volume\":1}", 0, TP_E_RECORD, "symbol", 10, NULL, 0,
     0},
    {"{\"symbol\":\"A\",\"price\":\"187.23\",\"volume\":1}", 0, TP_E_RECORD, "price", 22, NULL, 0,
     0},
    {"{\"symbol\":\"A\",\"price\":true,\"volume\":1}", 0, TP_E_RECORD, "price", 22, NULL, 0, 0},
    {"{\"symbol\":\"A\",\"price\":null,\"volume\":1}", 0, TP_E_RECORD, "price", 22, NULL, 0, 0},
    {"{\"symbol\":\"A\",\"price\":0,\"volume\":1}", 0, TP_E_RECORD, "price", 22, NULL, 0, 0},
    {"{\"symbol\":\"A\",\"price\":-1.5,\"volume\":1}", 0, TP_E_RECORD, "price", 22, NULL, 0, 0},
    {"{\"symbol\":\"A\",\"price\":1.123456789,\"volume\":1}", 0, TP_E_RECORD, "price", 22, NULL,
     0, 0},
    {"{\"symbol\":\"A\",\"price\":1e20,\"volume\":1}", 0, TP_E_RECORD, "price", 22, NULL, 0, 0},
    {"{\"symbol\":\"A\",\"price\":99999999999999999999999,\"volume\":1}", 0, TP_E_RECORD, "price",
     22, NULL, 0, 0},
    {"{\"symbol\":\"A\",\"price\":1,\"volume\":100.0}", 0, TP_E_RECORD, "volume", 33, NULL, 0, 0},
    {"{\"symbol\":\"A\",\"price\":1,\"volume\":1e2}", 0, TP_E_RECORD, "volume", 33, NULL, 0, 0},
    {"{\"symbol\":\"A\",\"price\":1,\"volume\":-1}", 0, TP_E_RECORD, "volume", 33, NULL, 0, 0},
    {"{\"symbol\":\"A\",\"price\":1,\"volume\":\"5\"}", 0, TP_E_RECORD, "volume", 33, NULL, 0, 0},
    {"{\"symbol\":\"A\",\"price\":1,\"volume\":99999999999999999999}", 0, TP_E_RECORD, "volume",
     33, NULL, 0, 0},
    {"{\"symbol\":\"A\",\"price\":1,\"volume\":1,\"timestamp\":\"yesterday\"}", 0, TP_E_RECORD,
     "timestamp", 47, NULL, 0, 0},
    {"{\"symbol\":\"A\",\"price\":1,\"volume\":1,\"timestamp\":true}", 0, TP_E_RECORD, "timestamp",
     47, NULL, 0, 0},
    {"{\"symbol\":\"A\",\"price\":1,\"volume\":1,\"side\":\"this side is far too long\"}", 0,
     TP_E_RECORD, "side", 42, NULL, 0, 0},
    {"{\"symbol\":\"A\",\"price\":1,\"volume\":1,\"exchange\":5}", 0, TP_E_RECORD, "exchange", 46,
     NULL, 0, 0},
    {"{\"symbol\":\"\xff\xfe\",\"price\":1,\"volume\":1}", 0, TP_E_RECORD, NULL, ANY, NULL, 0, 0},
    {"[1,2]", 0, TP_E_RECORD, NULL, 0, NULL, 0, 0},
    {"\"AAPL\"", 0, TP_E_RECORD, NULL, 0, NULL, 0, 0},
    /* not JSON */
    {"", 0, TP_E_PARSE, NULL, ANY, NULL, 0, 0},
    {"garbage", 0, TP_E_PARSE, NULL, ANY, NULL, 0, 0},
    {"{\"symbol\":\"A\",\"price\":1,\"volume\":1", 0, TP_E_PARSE, NULL, ANY, NULL, 0, 0},
    {"{\"symbol\":\"A\",\"price\":1,\"volume\":1}x", 0, TP_E_PARSE, NULL, 35, NULL, 0, 0},
    {"{\"symbol\":\"A\",\"price\":01,\"volume\":1}", 0, TP_E_PARSE, NULL, ANY, NULL, 0, 0},
    {"{\"symbol\":\"A\",\"price\":1,\"volume\":1,}", 0, TP_E_PARSE, NULL, ANY, NULL, 0, 0},
    {"{\"symbol\":\"A\nB\",\"price\":1,\"volume\":1}", 0, TP_E_PARSE, NULL, ANY, NULL, 0, 0},
    {"{\"symbol\":\"A\",\"price\":1,\"volume\":1}{\"symbol\":\"B\",\"price\":1,\"volume\":1}", 0,
     TP_E_PARSE, NULL, ANY, NULL, 0, 0},
};

static void check_row(int i, uint32_t extra)
{
    tp_trade t;
    tp_error err;
    tp_error_clear(&err);
    tp_status st = tp_record_decode(&t, tp_cursor_from_str(rows[i].in), rows[i].flags | extra, &err);
    ck_assert_msg(st == rows[i].want, "row %d (flags %u) '%s': got %d (%s)", i, extra,
                  rows[i].in, st, err.message);
    if (st == TP_OK) {
        ck_assert_str_eq(t.symbol, rows[i].symbol);
        ck_assert_uint_eq(t.symbol_len, strlen(rows[i].symbol));
        ck_assert_int_eq(t.price_e8, rows[i].price_e8);
        ck_assert_int_eq(t.volume, rows[i].volume);
        return;
    }
    ck_assert_int_eq(err.code, st);
    ck_assert_msg(err.message[0] != '\0', "row %d: empty message", i);
    if (rows[i].field)
        ck_assert_str_eq(err.field, rows[i].field);
    if (rows[i].offset != ANY)
        ck_assert_msg(err.offset == rows[i].offset, "row %d: offset %llu, want %llu", i,
                      (unsigned long long)err.offset, (unsigned long long)rows[i].offset);
}

START_TEST(test_decode_table)
{
    check_row(_i, 0);
}
END_TEST

START_TEST(test_decode_table_reference)
{
    /* The jansson path alone gives the same answers. */
    check_row(_i, TP_DECODE_REFERENCE);
}
END_TEST

START_TEST(test_timestamps)
{
    tp_trade t;
    tp_error err;
    const char *in = "{\"symbol\":\"A\",\"price\":1,\"volume\":1,\"timestamp\":\"2025-10-22T14:58:35.5+02:00\"}";
    ck_assert_int_eq(tp_record_decode(&t, tp_cursor_from_str(in), 0, &err), TP_OK);
    ck_assert_uint_eq(t.ts_kind, TP_TS_STRING);
    ck_assert(t.flags & TP_TRADE_TS_PARSED);
    ck_assert_int_eq(t.ts_us, INT64_C(1761137915500000));
    ck_assert_str_eq(t.timestamp, "2025-10-22T14:58:35.5+02:00");
    in = "{\"symbol\":\"A\",\"price\":1,\"volume\":1,\"timestamp\":1761137915123}";
    ck_assert_int_eq(tp_record_decode(&t, tp_cursor_from_str(in), 0, &err), TP_OK);
    ck_assert_uint_eq(t.ts_kind, TP_TS_NUMBER);
    ck_assert_int_eq(t.ts_us, INT64_C(1761137915123000));
    ck_assert_str_eq(t.timestamp, "1761137915123");
    in = "{\"symbol\":\"A\",\"price\":1,\"volume\":1,\"timestamp\":1761137915.25}";
    ck_assert_int_eq(tp_record_decode(&t, tp_cursor_from_str(in), 0, &err), TP_OK);
    ck_assert_int_eq(t.ts_us, INT64_C(1761137915250000));
    /* Lenient: kept as text, and parsed when it reads as a time (a completed
     * trade carries its ticks' times), through both decoders. */
    static const struct {
        const char *ts;
        uint32_t kind;
        int parsed;
        int64_t us;
    } lrows[] = {
        {"1761137915.25", TP_TS_NUMBER, 1, INT64_C(1761137915250000)},
        {"1761137915123", TP_TS_NUMBER, 1, INT64_C(1761137915123000)},
        {"\"2025-10-22T14:58:35.5+02:00\"", TP_TS_STRING, 1, INT64_C(1761137915500000)},
        {"\"2025-10-22T12:58:35Z\"", TP_TS_STRING, 1, INT64_C(1761137915000000)},
        {"\"yesterday\"", TP_TS_STRING, 0, 0},
        {"\"2025-13-22T12:58:35Z\"", TP_TS_STRING, 0, 0},
        {"1e300", TP_TS_NUMBER, 0, 0},
        {"null", TP_TS_NONE, 0, 0},
        {"[1]", TP_TS_NONE, 0, 0},
    };
    char rec[256];
    for (size_t i = 0; i < TP_ARRAY_LEN(lrows); i++) {
        for (int ref = 0; ref < 2; ref++) {
            snprintf(rec, sizeof rec, "{\"symbol\":\"A\",\"price\":1,\"volume\":1,\"timestamp\":%s}",
                     lrows[i].ts);
            uint32_t fl = L | (ref ? TP_DECODE_REFERENCE : 0u);
            ck_assert_int_eq(tp_record_decode(&t, tp_cursor_from_str(rec), fl, &err), TP_OK);
            ck_assert_msg(t.ts_kind == lrows[i].kind, "%s: kind %u", lrows[i].ts, t.ts_kind);
            ck_assert_msg(!!(t.flags & TP_TRADE_TS_PARSED) == lrows[i].parsed, "%s", lrows[i].ts);
            if (lrows[i].parsed)
                ck_assert_int_eq(t.ts_us, lrows[i].us);
        }
    }
    /* Minimal: nothing but the three fields. */
    in = "{\"symbol\":\"A\",\"price\":1,\"volume\":1,\"timestamp\":\"x\",\"side\":[]}";
    ck_assert_int_eq(tp_record_decode(&t, tp_cursor_from_str(in), TP_DECODE_MINIMAL, &err), TP_OK);
    ck_assert_uint_eq(t.ts_kind, TP_TS_NONE);
}
END_TEST

START_TEST(test_roundtrip)
{
    static const char *const ins[] = {
        "{\"symbol\":\"AAPL\",\"price\":187.23,\"volume\":1200,\"timestamp\":\"2025-10-22T12:58:35.123Z\"}",
        ("{\"symbol\":\"B\\\"Q\\\\\",\"price\":0.00000001,\"volume\":0,\"timestamp\":1761137915123,"
         "\"trade_id\":\"t-1\",\"side\":\"buy\",\"exchange\":\"XNAS\"}"),
        "{\"symbol\":\"\\u00e9\\n\",\"price\":92233720368.54775807,\"volume\":9223372036854775807}",
    };
    for (size_t i = 0; i < sizeof ins / sizeof ins[0]; i++) {
        tp_trade a, b;
        tp_error err;
        tp_buf buf;
        tp_buf_init(&buf, NULL, 0);
        ck_assert_int_eq(tp_record_decode(&a, tp_cursor_from_str(ins[i]), 0, &err), TP_OK);
        ck_assert_int_eq(tp_record_encode(&buf, &a, 0, &err), TP_OK);
        ck_assert_int_eq(tp_record_decode(&b, tp_buf_cursor(&buf), 0, &err), TP_OK);
        ck_assert_str_eq(a.symbol, b.symbol);
        ck_assert_int_eq(a.price_e8, b.price_e8);
        ck_assert_int_eq(a.volume, b.volume);
        ck_assert_uint_eq(a.ts_kind, b.ts_kind);
        ck_assert_str_eq(a.timestamp, b.timestamp);
        ck_assert_int_eq(a.ts_us, b.ts_us);
        ck_assert_uint_eq(a.flags, b.flags);
        ck_assert_str_eq(a.trade_id, b.trade_id);
        ck_assert_str_eq(a.side, b.side);
        ck_assert_str_eq(a.exchange, b.exchange);
        /* Encoding again gives the same bytes. */
        tp_buf again;
        tp_buf_init(&again, NULL, 0);
        ck_assert_int_eq(tp_record_encode(&again, &b, TP_ENCODE_NEWLINE, &err), TP_OK);
        ck_assert_uint_eq(again.len, buf.len + 1);
        ck_assert_mem_eq(again.ptr, buf.ptr, buf.len);
        tp_buf_dispose(&again);
        tp_buf_dispose(&buf);
    }
    tp_trade t;
    tp_buf b;
    tp_error err;
    tp_buf_init(&b, NULL, 0);
    tp_trade_init(&t);
    ck_assert_int_eq(tp_record_encode(&b, &t, 0, &err), TP_E_INVALID);
    ck_assert_str_eq(err.field, "symbol");
    strcpy(t.symbol, "X");
    t.ts_kind = TP_TS_NUMBER;
    strcpy(t.timestamp, "12:00");
    ck_assert_int_eq(tp_record_encode(&b, &t, 0, &err), TP_E_INVALID);
    ck_assert_uint_eq(b.len, 0);
    tp_buf_dispose(&b);
}
END_TEST

START_TEST(test_encode_oom_sweep)
{
    tp_trade t;
    tp_error err;
    const char *in = "{\"symbol\":\"AAPL\",\"price\":187.23,\"volume\":1200,\"trade_id\":\"abc\"}";
    ck_assert_int_eq(tp_record_decode(&t, tp_cursor_from_str(in), 0, &err), TP_OK);
    for (long n = 1; n < 10; n++) {
        tpt_failing_alloc fa;
        tpt_failing_alloc_init(&fa, n);
        tp_buf b;
        tp_buf_init(&b, &fa.a, 0);
        tp_status st = tp_record_encode(&b, &t, 0, &err);
        ck_assert(st == TP_OK || st == TP_E_NOMEM);
        if (st == TP_E_NOMEM)
            ck_assert_uint_eq(b.len, 0);
        tp_buf_dispose(&b);
        ck_assert_int_eq(fa.live, 0);
    }
}
END_TEST

START_TEST(test_scan_needs_more)
{
    /* Every proper prefix of a record asks for more bytes or falls back. */
    const char *in = "{\"symbol\":\"AAPL\",\"price\":187.23,\"volume\":1200,\"timestamp\":\"2025-10-22T12:58:35.123Z\"}";
    size_t n = strlen(in);
    for (size_t k = 1; k < n; k++) {
        tp_trade t;
        size_t used = 0;
        int r = tp_record__scan(&t, (const uint8_t *)in, (const uint8_t *)in + k, 0, &used, NULL);
        ck_assert_msg(r == TP_SCAN_MORE, "prefix %zu: %d", k, r);
    }
    tp_trade t;
    size_t used = 0;
    ck_assert_int_eq(tp_record__scan(&t, (const uint8_t *)in, (const uint8_t *)in + n, 0, &used,
                                     NULL),
                     TP_SCAN_OK);
    ck_assert_uint_eq(used, n);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("record");
    TCase *tc = tcase_create("record");
    int n = (int)(sizeof rows / sizeof rows[0]);
    tcase_add_loop_test(tc, test_decode_table, 0, n);
    tcase_add_loop_test(tc, test_decode_table_reference, 0, n);
    tcase_add_test(tc, test_timestamps);
    tcase_add_test(tc, test_roundtrip);
    tcase_add_test(tc, test_encode_oom_sweep);
    tcase_add_test(tc, test_scan_needs_more);
    suite_add_tcase(s, tc);
    return tpt_run_suite(s);
}
