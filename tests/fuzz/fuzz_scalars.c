/* Fuzz the small text parsers every format leans on, each given the whole
 * input: tp_time_parse_iso8601 (trade timestamps, the positions file),
 * tp_price_parse and tp_int_parse (prices and numbers in JSON, DynamoDB
 * numbers), tp_base64_decode (Kinesis data, snapshots) and tp_hex_decode.
 * What parses formats and parses back to the same value; a failure says
 * where, inside the input. */
#include "tradepipe.h"

#include "codec/json_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_err(tp_status st, const tp_error *err, size_t size)
{
    if (st != TP_OK && (err->code != st || !err->message[0] ||
                        (err->offset != TP_NO_OFFSET && err->offset > size)))
        abort();
}

static void check_time(tp_cursor in)
{
    int64_t us, back;
    tp_error err;
    tp_status st = tp_time_parse_iso8601(&us, in, &err);
    check_err(st, &err, in.len);
    if (st != TP_OK)
        return;
    char text[TP_ISO8601_MAX];
    size_t n = tp_time_format_iso8601(text, us, 6);
    if (n >= TP_ISO8601_MAX || strlen(text) != n)
        abort();
    /* A zone offset moves 0000-01-01 and 9999-12-31 out of the 4-digit
     * years, which the format then writes in more (or fewer) digits than
     * the parser reads: the round trip holds for years 0000 to 9999. */
    static const int64_t lo = -62167219200000000LL; /* 0000-01-01T00:00:00Z */
    static const int64_t hi = 253402300800000000LL; /* 10000-01-01T00:00:00Z */
    if (us >= lo && us < hi &&
        (tp_time_parse_iso8601(&back, tp_cursor_make(text, n), &err) != TP_OK || back != us))
        abort(); /* what we write, we read back */
}

static void check_price(tp_cursor in)
{
    int64_t e8, back;
    tp_error err;
    tp_status st = tp_price_parse(&e8, in, &err);
    check_err(st, &err, in.len);
    if (st != TP_OK)
        return;
    if (!tp_json__number_ok(in.ptr, in.len))
        abort(); /* a price is JSON number text */
    char text[TP_PRICE_STR_MAX];
    size_t n = tp_price_format(text, e8);
    if (n >= TP_PRICE_STR_MAX || tp_price_parse(&back, tp_cursor_make(text, n), &err) != TP_OK ||
        back != e8)
        abort();
}

static void check_int(tp_cursor in)
{
    int64_t v, back;
    tp_error err;
    tp_status st = tp_int_parse(&v, in, &err);
    check_err(st, &err, in.len);
    if (st != TP_OK)
        return;
    char text[32];
    int n = snprintf(text, sizeof text, "%lld", (long long)v);
    if (tp_int_parse(&back, tp_cursor_make(text, (size_t)n), &err) != TP_OK || back != v)
        abort();
    int64_t e8;
    if (v > -92233720368 && v < 92233720368 &&
        (tp_price_parse(&e8, in, &err) != TP_OK || e8 != v * TP_PRICE_SCALE))
        abort(); /* an integer is a price too */
}

static void check_base64(tp_cursor in)
{
    tp_buf a, b, c;
    tp_buf_init(&a, NULL, 0);
    tp_buf_init(&b, NULL, 0);
    tp_buf_init(&c, NULL, 0);
    tp_error err;
    tp_status st = tp_base64_decode(&a, in, &err);
    check_err(st, &err, in.len);
    if (st == TP_OK) {
        if (tp_base64_encode(&b, tp_buf_cursor(&a), &err) != TP_OK ||
            tp_base64_decode(&c, tp_buf_cursor(&b), &err) != TP_OK || a.len != c.len ||
            (a.len && memcmp(a.ptr, c.ptr, a.len) != 0))
            abort();
    }
    tp_buf_clear(&a);
    tp_buf_clear(&b);
    st = tp_hex_decode(&a, in, &err);
    check_err(st, &err, in.len);
    if (st == TP_OK) {
        if (a.len * 2 != in.len)
            abort();
        char *hex = malloc(in.len + 1);
        if (!hex)
            abort();
        tp_hex_encode(hex, a.ptr, a.len);
        for (size_t i = 0; i < in.len; i++)
            if ((hex[i] | 0x20) != (in.ptr[i] | 0x20))
                abort();
        free(hex);
    }
    tp_buf_dispose(&a);
    tp_buf_dispose(&b);
    tp_buf_dispose(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tp_cursor in = tp_cursor_make(data, size);
    check_time(in);
    check_price(in);
    check_int(in);
    check_base64(in);
    return 0;
}
