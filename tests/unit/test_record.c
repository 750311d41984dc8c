/* The trade record codec: specialised scanner and jansson reference. */
#include "testutil.h"

#include "codec/json_int.h"
#include "codec/record_int.h"

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
    /* Unknown fields are ignored whatever their value, numbers past a double's range too. */
    {"{\"symbol\":\"A\",\"price\":2,\"volume\":3,\"big\":1e400}", 0, TP_OK, NULL, 0, "A",
     200000000, 3},
    {"{\"symbol\":\"S\",\"price\":1,\"volume\":1,\"x\":1e400}", TP_DECODE_MINIMAL, TP_OK, NULL, 0,
     "S", 100000000, 1},
    {"{\"x\":-1E+400,\"symbol\":\"S\",\"price\":1,\"volume\":1,\"y\":[1e999,{\"z\":-2e308}]}", L,
     TP_OK, NULL, 0, "S", 100000000, 1},
    {"{\"symbol\":\"A\",\"price\":1e400,\"volume\":3}", 0, TP_E_RECORD, "price", 22, NULL, 0, 0},
    {"{\"symbol\":\"A\",\"price\":1,\"volume\":-1e400}", 0, TP_E_RECORD, "volume", 33, NULL, 0, 0},
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
        int r = tp_record__scan(&t, (const uint8_t *)in, (const uint8_t *)in + k, 0, 0, &used, NULL);
        ck_assert_msg(r == TP_SCAN_MORE, "prefix %zu: %d", k, r);
    }
    tp_trade t;
    size_t used = 0;
    ck_assert_int_eq(tp_record__scan(&t, (const uint8_t *)in, (const uint8_t *)in + n, 0, 0, &used,
                                     NULL),
                     TP_SCAN_OK);
    ck_assert_uint_eq(used, n);
}
END_TEST


/* ---- every valid record on the fast path ----------------------------------
 * Issue 12's table, row by row, and the same features combined: the scanner
 * and jansson decode each identically (all fields), and the scanner takes
 * every valid one itself (TP_SCAN_OK, never handed to the slow path). */
#define BASE "\"symbol\":\"S\",\"price\":1.5,\"volume\":7,\"timestamp\":\"2025-10-22T12:58:35.123Z\""
static const struct {
    const char *in;
    tp_status want;
    const char *symbol;   /* on success */
    const char *exchange; /* on success ("" when absent) */
    size_t len;           /* 0: strlen(in) */
} feats[] = {
    {"{" BASE "}", TP_OK, "S", "", 0},
    {"{" BASE ",\"trade_id\":\"t-00000001\",\"side\":\"buy\"}", TP_OK, "S", "", 0},
    {"{" BASE ",\"ok\":true}", TP_OK, "S", "", 0},
    {"{" BASE ",\"ok\":null}", TP_OK, "S", "", 0},
    {"{" BASE ",\"ok\":false}", TP_OK, "S", "", 0},
    {"{" BASE ",\"exchange\":\"B\xc3\xb6rse Frankfurt\"}", TP_OK, "S", "B\xc3\xb6rse Frankfurt", 0},
    {"{" BASE ",\"exchange\":\"B\\u00f6rse Frankfurt\"}", TP_OK, "S", "B\xc3\xb6rse Frankfurt", 0},
    {"{" BASE ",\"meta\":{\"symbol\":\"ZZZZ\",\"price\":-1,\"tags\":[\"a\",\"}{\"],\"n\":{\"x\":null}}}",
     TP_OK, "S", "", 0},
    /* combined: keys in another order, spaces after separators, every feature */
    {"{ \"meta\": {\"symbol\": \"ZZZZ\", \"price\": -1, \"tags\": [\"a\", \"}{\"], \"n\": {\"x\": null}},"
     " \"volume\": 7, \"exchange\": \"\\u6771\\u4eac \xe8\xa8\xbc\\u5238\", \"ok\": true, \"no\": null,"
     " \"trade_id\": \"t-\\\"}{\\\"\", \"price\": 1.5, \"side\": \"sell\", \"symbol\": \"S\","
     " \"timestamp\": \"2025-10-22T12:58:35.123Z\" }",
     TP_OK, "S", "\xe6\x9d\xb1\xe4\xba\xac \xe8\xa8\xbc\xe5\x88\xb8", 0},
    {"\r\n\t{\t\"symbol\"\r:\n\"S\"\t,\"price\" :1.5 ,\"volume\": 7\n}\n", TP_OK, "S", "", 0},
    /* escapes where the value is used: symbol, surrogate pairs, every short escape */
    {"{\"symbol\":\"\\u00e9\\ud83d\\ude00\\\"\\\\\\/\\b\\f\\n\\r\\t\",\"price\":1,\"volume\":1}", TP_OK,
     "\xc3\xa9\xf0\x9f\x98\x80\"\\/\b\f\n\r\t", "", 0},
    {"{\"\\u0073ymbol\":\"K\",\"pr\\u0069ce\":1,\"volume\":1}", TP_OK, "K", "", 0},
    {"{\"symbol\":\"A\",\"symbol\":\"B\",\"price\":\"x\",\"price\":2,\"volume\":1}", TP_OK, "B", "", 0},
    {"{\"x\":[[[[[[[[[[{\"a\":[{}]}]]]]]]]]]],\"symbol\":\"D\",\"price\":1,\"volume\":1,\"y\":[]}",
     TP_OK, "D", "", 0},
    {"{\"x\":\"\xf4\x8f\xbf\xbf \xef\xbf\xbf \xed\x9f\xbf \xee\x80\x80\",\"symbol\":\"U\",\"price\":1,"
     "\"volume\":1}", TP_OK, "U", "", 0},
    {"{\"x\":123456789012345678901234567890.5e-400,\"symbol\":\"N\",\"price\":1,\"volume\":1}", TP_OK,
     "N", "", 0},
    {"{\"\":\"\",\"symbol\":\"E\",\"price\":1,\"volume\":1,\"e\":{},\"f\":[ ]}", TP_OK, "E", "", 0},
    /* valid JSON, not a valid record */
    {"{" BASE ",\"exchange\":\"\\u00f6\\u00f6\\u00f6\\u00f6\\u00f6\\u00f6\\u00f6\\u00f6\\u00f6\\u00f6"
     "\\u00f6\\u00f6\\u00f6\\u00f6\\u00f6\\u00f6\"}", TP_E_RECORD, NULL, NULL, 0},
    {"{\"symbol\":\"A\\u0000\",\"price\":1,\"volume\":1}", TP_E_RECORD, NULL, NULL, 0},
    {"{\"symbol\":\"\xc3\x28\",\"price\":1,\"volume\":1}", TP_E_RECORD, NULL, NULL, 0},
    {"{\"x\":{\"y\":[\"\xc0\xaf\"]},\"symbol\":\"A\",\"price\":1,\"volume\":1}", TP_E_RECORD, NULL, NULL, 0},
    {"{\"x\":\"\xed\xa0\x80\",\"symbol\":\"A\",\"price\":1,\"volume\":1}", TP_E_RECORD, NULL, NULL, 0},
    {"{\"x\":\"\xf4\x90\x80\x80\",\"symbol\":\"A\",\"price\":1,\"volume\":1}", TP_E_RECORD, NULL, NULL, 0},
    {"[{\"symbol\":\"A\",\"price\":1,\"volume\":1}]", TP_E_RECORD, NULL, NULL, 0},
    {"{\"a\xa0\":1} junk", TP_E_RECORD, NULL, NULL, 0}, /* the first fault decides */
    /* not JSON */
    {"{\"x\":\"\\ud800\",\"symbol\":\"A\",\"price\":1,\"volume\":1}", TP_E_PARSE, NULL, NULL, 0},
    {"{\"x\":\"\\udc00\",\"symbol\":\"A\",\"price\":1,\"volume\":1}", TP_E_PARSE, NULL, NULL, 0},
    {"{\"x\":\"\\ud800\\u0041\",\"symbol\":\"A\",\"price\":1,\"volume\":1}", TP_E_PARSE, NULL, NULL, 0},
    {"{\"x\":\"\\x\",\"symbol\":\"A\",\"price\":1,\"volume\":1}", TP_E_PARSE, NULL, NULL, 0},
    {"{\"x\":\"\\u12g4\",\"symbol\":\"A\",\"price\":1,\"volume\":1}", TP_E_PARSE, NULL, NULL, 0},
    {"{\"x\":\"a\tb\",\"symbol\":\"A\",\"price\":1,\"volume\":1}", TP_E_PARSE, NULL, NULL, 0},
    {"{\"x\\u0000\":1,\"symbol\":\"A\",\"price\":1,\"volume\":1}", TP_E_PARSE, NULL, NULL, 0},
    {"{\"x\":{\"\\u0000\":1},\"symbol\":\"A\",\"price\":1,\"volume\":1}", TP_E_PARSE, NULL, NULL, 0},
    {"{\"x\":[1,],\"symbol\":\"A\",\"price\":1,\"volume\":1}", TP_E_PARSE, NULL, NULL, 0},
    {"{\"x\":{\"a\" 1},\"symbol\":\"A\",\"price\":1,\"volume\":1}", TP_E_PARSE, NULL, NULL, 0},
    {"{\"x\":{\"a\":1,},\"symbol\":\"A\",\"price\":1,\"volume\":1}", TP_E_PARSE, NULL, NULL, 0},
    {"{\"x\":[1 2],\"symbol\":\"A\",\"price\":1,\"volume\":1}", TP_E_PARSE, NULL, NULL, 0},
    {"{\"x\":[}],\"symbol\":\"A\",\"price\":1,\"volume\":1}", TP_E_PARSE, NULL, NULL, 0},
    {"{\"x\":tru,\"symbol\":\"A\",\"price\":1,\"volume\":1}", TP_E_PARSE, NULL, NULL, 0},
    {"{\"x\":truex,\"symbol\":\"A\",\"price\":1,\"volume\":1}", TP_E_PARSE, NULL, NULL, 0},
    {"{\"x\":-,\"symbol\":\"A\",\"price\":1,\"volume\":1}", TP_E_PARSE, NULL, NULL, 0},
    {"{\"x\":1.e5,\"symbol\":\"A\",\"price\":1,\"volume\":1}", TP_E_PARSE, NULL, NULL, 0},
    {"{\"x\":1e,\"symbol\":\"A\",\"price\":1,\"volume\":1}", TP_E_PARSE, NULL, NULL, 0},
    {"{\"x\":\xc3\xa9,\"symbol\":\"A\",\"price\":1,\"volume\":1}", TP_E_PARSE, NULL, NULL, 0},
    {"{\"x\":\"\xc3\xa9\x01\",\"symbol\":\"A\",\"price\":1,\"volume\":1}", TP_E_PARSE, NULL, NULL, 0},
    {"{\"x\":\"\xff\x01\",\"symbol\":\"A\",\"price\":1,\"volume\":1}", TP_E_RECORD, NULL, NULL, 0},
    {"{\"x\":\xff,\"symbol\":\"A\",\"price\":1,\"volume\":1}", TP_E_RECORD, NULL, NULL, 0},
    {"{\"x\":{\"a\":[\"}{\"", TP_E_PARSE, NULL, NULL, 0},
    /* a raw NUL is not JSON (jansson would drop one read past a number) */
    {"{\"x\":1\0,\"symbol\":\"A\",\"price\":1,\"volume\":1}", TP_E_PARSE, NULL, NULL, 42},
    {"{\"symbol\":\"A\",\"price\":1,\"volume\":true\0}", TP_E_PARSE, NULL, NULL, 39},
};

static int same_trade(const tp_trade *a, const tp_trade *b)
{
    return strcmp(a->symbol, b->symbol) == 0 && a->symbol_len == b->symbol_len &&
           a->price_e8 == b->price_e8 && a->volume == b->volume && a->ts_kind == b->ts_kind &&
           a->flags == b->flags && a->ts_us == b->ts_us &&
           strcmp(a->timestamp, b->timestamp) == 0 && strcmp(a->trade_id, b->trade_id) == 0 &&
           strcmp(a->side, b->side) == 0 && strcmp(a->exchange, b->exchange) == 0;
}

START_TEST(test_features)
{
    static const uint32_t modes[] = {0, TP_DECODE_LENIENT, TP_DECODE_MINIMAL};
    const char *in = feats[_i].in;
    size_t n = feats[_i].len ? feats[_i].len : strlen(in);
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        tp_trade a, b;
        tp_error ea, eb;
        tp_status sa = tp_record_decode(&a, tp_cursor_make(in, n), modes[m], &ea);
        tp_status sb = tp_record_decode(&b, tp_cursor_make(in, n), modes[m] | TP_DECODE_REFERENCE,
                                        &eb);
        ck_assert_msg((modes[m] || sa == feats[_i].want) && sb == sa, "feature %d mode %u: scanner %d (%s), "
                      "jansson %d (%s), want %d", _i, modes[m], sa, sa ? ea.message : "",
                      sb, sb ? eb.message : "", feats[_i].want);
        const char *p = in;
        while (*p == ' ' || *p == '\r' || *p == '\n' || *p == '\t')
            p++;
        tp_trade c;
        size_t used = 0;
        int r = tp_record__scan(&c, (const uint8_t *)p, (const uint8_t *)in + n, modes[m], 0,
                                &used, NULL);
        if (sa == TP_OK) {
            ck_assert_msg(same_trade(&a, &b), "feature %d mode %u: decoded differently", _i,
                          modes[m]);
            if (feats[_i].symbol)
                ck_assert_str_eq(a.symbol, feats[_i].symbol);
            if (modes[m] == 0)
                ck_assert_str_eq(a.exchange, feats[_i].exchange);
            ck_assert_msg(r == TP_SCAN_OK, "feature %d: a valid record left the fast path (%d)",
                          _i, r);
        } else if (sa == TP_E_RECORD) {
            /* invalid UTF-8 outside a string is left to jansson to classify */
            ck_assert_msg(r == TP_SCAN_INVALID || r == TP_SCAN_BADUTF8 || r == TP_SCAN_FALLBACK,
                          "feature %d: scan %d",
                          _i, r);
            ck_assert_str_ne(ea.message, "");
        } else {
            ck_assert_msg(r != TP_SCAN_OK && r != TP_SCAN_INVALID, "feature %d: scan %d", _i, r);
        }
    }
}
END_TEST

/* Nesting: as deep as jansson allows, and one level more. */
START_TEST(test_depth)
{
    for (int levels = 2045; levels <= 2049; levels++) {
        tp_buf b;
        tp_buf_init(&b, NULL, 0);
        ck_assert_int_eq(tp_buf_append_str(&b, "{\"symbol\":\"A\",\"price\":1,\"volume\":1,\"x\":", NULL),
                         TP_OK);
        for (int i = 0; i < levels; i++)
            ck_assert_int_eq(tp_buf_append(&b, i & 1 ? "{\"k\":" : "[", i & 1 ? 5 : 1, NULL), TP_OK);
        ck_assert_int_eq(tp_buf_append_str(&b, "0", NULL), TP_OK);
        for (int i = levels - 1; i >= 0; i--)
            ck_assert_int_eq(tp_buf_append(&b, i & 1 ? "}" : "]", 1, NULL), TP_OK);
        ck_assert_int_eq(tp_buf_append_str(&b, "}", NULL), TP_OK);
        tp_trade t;
        tp_status sa = tp_record_decode(&t, tp_buf_cursor(&b), 0, NULL);
        tp_status sb = tp_record_decode(&t, tp_buf_cursor(&b), TP_DECODE_REFERENCE, NULL);
        ck_assert_msg(sa == sb, "%d levels: scanner %d, jansson %d", levels, sa, sb);
        /* the scalar inside sits at depth levels + 2 */
        ck_assert_int_eq(sa, levels + 2 <= 2048 ? TP_OK : TP_E_PARSE);
        tp_buf_dispose(&b);
    }
}
END_TEST

/* The SIMD UTF-8 validator against the byte-by-byte one: every sequence of
 * one and two bytes, every three-byte one, a sweep of four-byte ones, each
 * at several offsets inside ASCII and inside other sequences. */
static void utf8_both(const uint8_t *p, size_t n)
{
    int want = tp_json__utf8_valid(p, n);
    ck_assert_msg(tp_json__utf8_valid_fast(p, n) == want, "utf8 %zu bytes %02x %02x %02x %02x: want %d",
                  n, n > 0 ? p[0] : 0, n > 1 ? p[1] : 0, n > 2 ? p[2] : 0, n > 3 ? p[3] : 0, want);
}

static void utf8_placed(const uint8_t *seq, size_t k)
{
    uint8_t buf[64];
    static const size_t at[] = {0, 1, 13, 14, 15, 16, 30, 47};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        memset(buf, 'a', sizeof buf);
        memcpy(buf + at[i], seq, k);
        utf8_both(buf + at[i], k);              /* alone */
        utf8_both(buf, at[i] + k);              /* at the end */
        utf8_both(buf, sizeof buf);             /* in the middle */
        if (at[i] >= 2) {
            memcpy(buf + at[i] - 2, "\xc3\xa9", 2); /* after a valid sequence */
            utf8_both(buf, sizeof buf);
        }
    }
}

START_TEST(test_utf8_simd)
{
    uint8_t s[4];
    for (unsigned a = 0; a < 256; a++) {
        s[0] = (uint8_t)a;
        utf8_placed(s, 1);
        for (unsigned b2 = 0; b2 < 256; b2++) {
            s[1] = (uint8_t)b2;
            utf8_both(s, 2);
        }
    }
    for (unsigned a = 0xc0; a < 0x100; a++)
        for (unsigned b2 = 0x70; b2 < 0xd0; b2++) {
            s[0] = (uint8_t)a;
            s[1] = (uint8_t)b2;
            utf8_placed(s, 2);
            for (unsigned c = 0x70; c < 0xd0; c += 3) {
                s[2] = (uint8_t)c;
                utf8_both(s, 3);
                if (a >= 0xe0 && (c & 7) == 0)
                    utf8_placed(s, 3);
                if (a >= 0xf0 && (b2 & 3) == 0)
                    for (unsigned d = 0x70; d < 0xd0; d += 5) {
                        s[3] = (uint8_t)d;
                        utf8_both(s, 4);
                        if ((c & 15) == 0 && (d & 15) == 0)
                            utf8_placed(s, 4);
                    }
            }
        }
    /* random bytes, mostly valid text around them */
    uint64_t x = 88172645463325252ULL;
    uint8_t buf[300];
    for (int it = 0; it < 20000; it++) {
        size_t n = (size_t)(it % 300);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[i] = (x % 7 == 0) ? (uint8_t)(x >> 24) : (uint8_t)"ab\xc3\xa9\xe2\x82\xac"[x % 7];
        }
        utf8_both(buf, n);
    }
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
    tcase_add_loop_test(tc, test_features, 0, (int)(sizeof feats / sizeof feats[0]));
    tcase_add_test(tc, test_depth);
    tcase_add_test(tc, test_utf8_simd);
    suite_add_tcase(s, tc);
    return tpt_run_suite(s);
}
