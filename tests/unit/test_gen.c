/* Floor 2: the synthetic market data generator. */
#include "testutil.h"

#include "core/core_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2025-10-22T12:00:00Z */
#define START_US INT64_C(1761134400000000)
/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z */
#define TIME_MIN_US INT64_C(-62167219200000000)
#define TIME_MAX_US INT64_C(253402300799999000)

static const char *const ten[] = {"AAPL", "MSFT", "GOOGL", "AMZN", "TSLA",
                                  "META", "NVDA", "JPM",   "V",    "NFLX"};

static const struct {
    const char *name;
    int64_t base_cents;
} known[] = {
    {"AAPL", 19000}, {"MSFT", 41000}, {"GOOGL", 17000}, {"AMZN", 18000}, {"TSLA", 24000},
    {"META", 51000}, {"NVDA", 45500}, {"JPM", 20000},   {"V", 27000},    {"NFLX", 61500},
    {"IBM", 16500},  {"ORCL", 12000}, {"INTC", 3500},   {"AMD", 15000},  {"KO", 6000},
    {"PEP", 17000},  {"XOM", 11000},  {"WMT", 16000},   {"DIS", 9500},   {"BA", 21000},
};
#define N_KNOWN ((int)TP_ARRAY_LEN(known))

/* For loops over many trades: Check's ck_assert records every passing
 * assertion (a write each), which would dominate the run time. */
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ck_abort_msg(__VA_ARGS__);                                                             \
    } while (0)

static tp_gen_options opts(const char *const *symbols, uint32_t n, uint64_t seed)
{
    tp_gen_options o = TP_GEN_OPTIONS_INIT;
    o.symbols = symbols;
    o.n_symbols = n;
    o.seed = seed;
    o.start_us = START_US;
    return o;
}

static tp_gen *new_gen(const tp_gen_options *o)
{
    tp_gen *g = NULL;
    tp_error err;
    tp_status st = tp_gen_new(&g, o, &err);
    ck_assert_msg(st == TP_OK, "tp_gen_new: %s", err.message);
    return g;
}

static void next_ok(tp_gen *g, tp_trade *t)
{
    tp_error err;
    tp_status st = tp_gen_next(g, t, &err);
    CHECK(st == TP_OK, "tp_gen_next: %s", err.message);
}

/* The index of `name` in names[0..n), or -1. */
static int index_of(const char *const *names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

static uint64_t fnv1a(const uint8_t *p, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

/* ---- options ------------------------------------------------------------- */

START_TEST(test_options_init)
{
    tp_gen_options o;
    memset(&o, 0xff, sizeof o);
    ck_assert_int_eq(tp_gen_options_init(&o, TP_GEN_OPTIONS_VERSION), TP_OK);
    ck_assert_uint_eq(o.version, TP_GEN_OPTIONS_VERSION);
    ck_assert_uint_eq(o.n_symbols, 0);
    ck_assert_ptr_null(o.symbols);
    ck_assert_uint_eq(o.seed, 1);
    ck_assert_int_eq(o.start_us, 0);
    ck_assert_int_eq(o.mean_gap_us, 0);
    ck_assert_ptr_null(o.alloc);
    ck_assert_int_eq(tp_gen_options_init(&o, 2), TP_E_INVALID);
    ck_assert_int_eq(tp_gen_options_init(NULL, TP_GEN_OPTIONS_VERSION), TP_E_INVALID);
}
END_TEST

static char long_name[TP_SYMBOL_MAX + 1]; /* TP_SYMBOL_MAX bytes: one too many */
static char max_name[TP_SYMBOL_MAX];      /* TP_SYMBOL_MAX-1 bytes: the longest allowed */
static const char *const empty_at_1[] = {"AAPL", "", "MSFT"};
static const char *const null_at_1[] = {"AAPL", NULL, "MSFT"};
static const char *const dup[] = {"AAPL", "MSFT", "IBM", "AAPL"};
static const char *long_at_0[] = {long_name, "AAPL"};
static const char *const bad_utf8[] = {"AAPL", "\xff\xfe", "N\xc3\xa9stle", "\xc3"};

enum { SYMS_TEN, SYMS_NULL, SYMS_EMPTY, SYMS_NULL_ENTRY, SYMS_DUP, SYMS_LONG, SYMS_UTF8 };

static const struct {
    const char *what;
    uint32_t version;
    int syms;
    uint32_t n;
    int64_t start_us, mean_gap_us;
    const char *field;
    const char *in_message; /* NULL: not checked */
} bad_opts[] = {
    {"bad version", 2, SYMS_TEN, 10, START_US, 0, "version", NULL},
    {"bad version 0", 0, SYMS_TEN, 10, START_US, 0, "version", NULL},
    {"no symbols", 1, SYMS_TEN, 0, START_US, 0, "symbols", "n_symbols"},
    {"too many symbols", 1, SYMS_TEN, TP_GEN_MAX_SYMBOLS + 1, START_US, 0, "symbols", "10001"},
    {"NULL symbols", 1, SYMS_NULL, 3, START_US, 0, "symbols", "NULL"},
    {"a NULL name", 1, SYMS_NULL_ENTRY, 3, START_US, 0, "symbols", "symbols[1] is NULL"},
    {"an empty name", 1, SYMS_EMPTY, 3, START_US, 0, "symbols", "symbols[1]"},
    {"a name too long", 1, SYMS_LONG, 2, START_US, 0, "symbols", "symbols[0] must be 1..127"},
    {"a duplicate name", 1, SYMS_DUP, 4, START_US, 0, "symbols", "duplicate symbol \"AAPL\""},
    {"a name not UTF-8", 1, SYMS_UTF8, 2, START_US, 0, "symbols", "symbols[1] is not valid UTF-8"},
    {"a name cut in a character", 1, SYMS_UTF8, 4, START_US, 0, "symbols", "symbols[1]"},
    {"start_us 1 us", 1, SYMS_TEN, 10, 1, 0, "start_us", "whole number of milliseconds"},
    {"start_us 1.5 ms", 1, SYMS_TEN, 10, START_US + 1500, 0, "start_us", NULL},
    {"start_us -1 us", 1, SYMS_TEN, 10, -1, 0, "start_us", NULL},
    {"start_us after 9999", 1, SYMS_TEN, 10, TIME_MAX_US + 1000, 0, "start_us", "0000..9999"},
    {"start_us before 0000", 1, SYMS_TEN, 10, TIME_MIN_US - 1000, 0, "start_us", "0000..9999"},
    {"start_us INT64_MIN", 1, SYMS_TEN, 10, INT64_MIN + 808, 0, "start_us", NULL},
    {"negative gap", 1, SYMS_TEN, 10, START_US, -1, "mean_gap_us", NULL},
    {"gap INT64_MIN", 1, SYMS_TEN, 10, START_US, INT64_MIN, "mean_gap_us", NULL},
};

START_TEST(test_options_bad)
{
    memset(long_name, 'X', TP_SYMBOL_MAX);
    long_name[TP_SYMBOL_MAX] = '\0';
    tp_gen_options o = opts(ten, bad_opts[_i].n, 1);
    o.version = bad_opts[_i].version;
    o.start_us = bad_opts[_i].start_us;
    o.mean_gap_us = bad_opts[_i].mean_gap_us;
    switch (bad_opts[_i].syms) {
    case SYMS_NULL:
        o.symbols = NULL;
        break;
    case SYMS_EMPTY:
        o.symbols = empty_at_1;
        break;
    case SYMS_NULL_ENTRY:
        o.symbols = null_at_1;
        break;
    case SYMS_DUP:
        o.symbols = dup;
        break;
    case SYMS_LONG:
        o.symbols = long_at_0;
        break;
    case SYMS_UTF8:
        o.symbols = bad_utf8;
        break;
    }
    tp_gen *g = (tp_gen *)1;
    tp_error err;
    ck_assert_int_eq(tp_gen_new(&g, &o, &err), TP_E_INVALID);
    ck_assert_ptr_null(g);
    ck_assert_int_eq(err.code, TP_E_INVALID);
    ck_assert_msg(strcmp(err.field, bad_opts[_i].field) == 0, "%s: field '%s', want '%s'",
                  bad_opts[_i].what, err.field, bad_opts[_i].field);
    ck_assert_msg(err.message[0] != '\0', "%s: no message", bad_opts[_i].what);
    if (bad_opts[_i].in_message)
        ck_assert_msg(strstr(err.message, bad_opts[_i].in_message), "%s: message '%s' lacks '%s'",
                      bad_opts[_i].what, err.message, bad_opts[_i].in_message);
    /* err may be NULL */
    ck_assert_int_eq(tp_gen_new(&g, &o, NULL), TP_E_INVALID);
    ck_assert_ptr_null(g);
}
END_TEST

START_TEST(test_options_edges)
{
    /* The longest name, the first and last representable times, one symbol. */
    memset(max_name, 'M', TP_SYMBOL_MAX - 1);
    max_name[TP_SYMBOL_MAX - 1] = '\0';
    const char *one[] = {max_name};
    tp_gen_options o = opts(one, 1, 5);
    o.start_us = TIME_MIN_US;
    tp_gen *g = new_gen(&o);
    tp_trade t;
    next_ok(g, &t);
    ck_assert_str_eq(t.symbol, max_name);
    ck_assert_uint_eq(t.symbol_len, TP_SYMBOL_MAX - 1);
    ck_assert_str_eq(t.timestamp, "0000-01-01T00:00:00.000Z");
    next_ok(g, &t);
    ck_assert_str_eq(t.timestamp, "0000-01-01T00:00:00.001Z");
    tp_gen_free(g);

    /* NULL arguments */
    tp_error err;
    ck_assert_int_eq(tp_gen_new(NULL, &o, &err), TP_E_INVALID);
    g = (tp_gen *)1;
    ck_assert_int_eq(tp_gen_new(&g, NULL, &err), TP_E_INVALID);
    ck_assert_ptr_null(g);
    ck_assert_int_eq(tp_gen_next(NULL, &t, &err), TP_E_INVALID);
    g = new_gen(&o);
    ck_assert_int_eq(tp_gen_next(g, NULL, &err), TP_E_INVALID);
    ck_assert_uint_eq(tp_gen_count(g), 0);
    ck_assert_uint_eq(tp_gen_count(NULL), 0);
    tp_gen_free(g);
    tp_gen_free(NULL);
}
END_TEST

START_TEST(test_names_copied)
{
    /* The caller's names and array may go away after tp_gen_new. */
    char **names = malloc(3 * sizeof *names);
    names[0] = strdup("AAPL");
    names[1] = strdup("Q1");
    names[2] = strdup("Q2");
    tp_gen_options o = opts((const char *const *)names, 3, 11);
    tp_gen *g = new_gen(&o);
    for (int i = 0; i < 3; i++) {
        memset(names[i], '#', strlen(names[i]));
        free(names[i]);
    }
    free(names);
    int seen[3] = {0, 0, 0};
    const char *want[] = {"AAPL", "Q1", "Q2"};
    for (int k = 0; k < 300; k++) {
        tp_trade t;
        next_ok(g, &t);
        int i = index_of(want, 3, t.symbol);
        ck_assert_msg(i >= 0, "unexpected symbol '%s'", t.symbol);
        seen[i]++;
    }
    ck_assert(seen[0] && seen[1] && seen[2]);
    tp_gen_free(g);
}
END_TEST

START_TEST(test_max_symbols)
{
    enum { N = TP_GEN_MAX_SYMBOLS };
    static char buf[N][8];
    static const char *names[N];
    for (int i = 0; i < N; i++) {
        snprintf(buf[i], sizeof buf[i], "S%d", i);
        names[i] = buf[i];
    }
    tp_gen_options o = opts(names, N, 3);
    tp_gen *g = new_gen(&o);
    static int hits[N];
    memset(hits, 0, sizeof hits);
    for (int k = 0; k < 200000; k++) {
        tp_trade t;
        next_ok(g, &t);
        CHECK(t.symbol[0] == 'S', "symbol %s", t.symbol);
        hits[atoi(t.symbol + 1)]++;
    }
    for (int i = 0; i < N; i++)
        CHECK(hits[i] > 0, "%s never drawn", names[i]);
    tp_gen_free(g);

    /* A name repeated at the far end of a large table is still found. */
    names[N - 1] = "S17";
    tp_gen *bad = (tp_gen *)1;
    tp_error err;
    ck_assert_int_eq(tp_gen_new(&bad, &o, &err), TP_E_INVALID);
    ck_assert_ptr_null(bad);
    ck_assert_str_eq(err.field, "symbols");
    ck_assert_msg(strstr(err.message, "\"S17\"") && strstr(err.message, "[17]") &&
                      strstr(err.message, "[9999]"),
                  "message: %s", err.message);
}
END_TEST

/* ---- determinism --------------------------------------------------------- */

/* Encode `n` trades of `o`, one NDJSON line each, into `out`. */
static void encode_run(const tp_gen_options *o, int n, tp_buf *out)
{
    tp_gen *g = new_gen(o);
    tp_error err;
    for (int k = 0; k < n; k++) {
        tp_trade t;
        next_ok(g, &t);
        CHECK(tp_record_encode(out, &t, TP_ENCODE_NEWLINE, &err) == TP_OK, "encode: %s",
              err.message);
    }
    ck_assert_uint_eq(tp_gen_count(g), (uint64_t)n);
    tp_gen_free(g);
}

START_TEST(test_deterministic)
{
    tp_gen_options o = opts(ten, 10, 7);
    tp_buf a, b, c;
    tp_buf_init(&a, NULL, 0);
    tp_buf_init(&b, NULL, 0);
    tp_buf_init(&c, NULL, 0);
    encode_run(&o, 100000, &a);
    encode_run(&o, 100000, &b);
    ck_assert_uint_eq(a.len, b.len);
    ck_assert(memcmp(a.ptr, b.ptr, a.len) == 0);
    o.seed = 8;
    encode_run(&o, 100000, &c);
    ck_assert(a.len != c.len || memcmp(a.ptr, c.ptr, a.len) != 0);
    tp_buf_dispose(&a);
    tp_buf_dispose(&b);
    tp_buf_dispose(&c);
}
END_TEST

/* The first trades for a fixed seed, as encoded: any change to the model,
 * the random generator or the formatting shows here. */
static const char *const pinned[] = {
    "{\"symbol\":\"ZZZ\",\"price\":275.2,\"volume\":3900,\"timestamp\":\"2025-10-22T12:00:00."
    "000Z\"}",
    "{\"symbol\":\"MSFT\",\"price\":410,\"volume\":100,\"timestamp\":\"2025-10-22T12:00:00.380Z\"}",
    "{\"symbol\":\"ZZZ\",\"price\":273.28,\"volume\":1300,\"timestamp\":\"2025-10-22T12:00:00."
    "541Z\"}",
    "{\"symbol\":\"ZZZ\",\"price\":271.63,\"volume\":2100,\"timestamp\":\"2025-10-22T12:00:00."
    "895Z\"}",
    "{\"symbol\":\"AAPL\",\"price\":190,\"volume\":2800,\"timestamp\":\"2025-10-22T12:00:01."
    "196Z\"}",
    "{\"symbol\":\"AAPL\",\"price\":189.86,\"volume\":1000,\"timestamp\":\"2025-10-22T12:00:01."
    "513Z\"}",
    "{\"symbol\":\"ZZZ\",\"price\":269.43,\"volume\":500,\"timestamp\":\"2025-10-22T12:00:01."
    "985Z\"}",
    "{\"symbol\":\"ZZZ\",\"price\":267.38,\"volume\":400,\"timestamp\":\"2025-10-22T12:00:02."
    "219Z\"}",
    "{\"symbol\":\"ZZZ\",\"price\":265.52,\"volume\":1500,\"timestamp\":\"2025-10-22T12:00:02."
    "628Z\"}",
    "{\"symbol\":\"ZZZ\",\"price\":263.09,\"volume\":700,\"timestamp\":\"2025-10-22T12:00:03."
    "056Z\"}",
    "{\"symbol\":\"AAPL\",\"price\":189.95,\"volume\":100,\"timestamp\":\"2025-10-22T12:00:03."
    "378Z\"}",
    "{\"symbol\":\"MSFT\",\"price\":409.85,\"volume\":500,\"timestamp\":\"2025-10-22T12:00:03."
    "632Z\"}",
};

/* FNV-1a of the 100,000 NDJSON lines of the pinned run. */
#define PINNED_RUN_FNV UINT64_C(0xba53bfc808eecbb8)

static tp_gen_options pinned_opts(void)
{
    static const char *const syms[] = {"AAPL", "MSFT", "ZZZ"};
    tp_gen_options o = opts(syms, 3, 42);
    o.mean_gap_us = 250000;
    return o;
}

START_TEST(test_pinned)
{
    tp_gen_options o = pinned_opts();
    tp_gen *g = new_gen(&o);
    tp_buf b;
    tp_buf_init(&b, NULL, 0);
    tp_error err;
    for (size_t k = 0; k < TP_ARRAY_LEN(pinned); k++) {
        tp_trade t;
        next_ok(g, &t);
        tp_buf_clear(&b);
        ck_assert_int_eq(tp_record_encode(&b, &t, 0, &err), TP_OK);
        ck_assert_msg(strcmp((const char *)b.ptr, pinned[k]) == 0,
                      "trade %zu: got\n    %s\nwant\n    %s", k, (const char *)b.ptr, pinned[k]);
    }
    tp_gen_free(g);
    tp_buf_clear(&b);
    encode_run(&o, 100000, &b);
    uint64_t h = fnv1a(b.ptr, b.len, UINT64_C(0xcbf29ce484222325));
    ck_assert_msg(h == PINNED_RUN_FNV, "FNV-1a of the run: 0x%016llx", (unsigned long long)h);
    tp_buf_dispose(&b);
}
END_TEST

/* ---- trades and time ----------------------------------------------------- */

static const struct {
    int64_t start_us, mean_gap_us;
} time_rows[] = {
    {START_US, 0},
    {START_US, 250000},
    {INT64_C(-2000), 300},                /* 1969-12-31T23:59:59.998Z, across the epoch */
    {INT64_C(1735689599000000), 400000},  /* 2024-12-31T23:59:59Z, across a new year */
    {INT64_C(951782399990000), 1000},     /* 2000-02-28T23:59:59.990Z, a leap day */
    {INT64_C(-62135596801000000), 77000}, /* 0001-01-01 minus 1 s, years 0000 and 0001 */
    {TIME_MAX_US - INT64_C(86400000000), 600000},
};

START_TEST(test_trade_fields)
{
    tp_gen_options o = opts(ten, 10, 100 + _i);
    o.start_us = time_rows[_i].start_us;
    o.mean_gap_us = time_rows[_i].mean_gap_us;
    tp_gen *g = new_gen(&o), *twin = new_gen(&o);
    tp_buf b;
    tp_buf_init(&b, NULL, 0);
    int64_t prev = INT64_MIN;
    for (int k = 0; k < 20000; k++) {
        tp_trade t, u;
        memset(&t, 0xa5, sizeof t);
        memset(&u, 0x3c, sizeof u);
        next_ok(g, &t);
        next_ok(twin, &u);
        /* every byte is written, whatever was there */
        CHECK(memcmp(&t, &u, sizeof t) == 0, "trade %d: bytes left unwritten", k);
        CHECK(t.ts_kind == TP_TS_STRING && t.flags == TP_TRADE_TS_PARSED && t.reserved == 0,
              "trade %d: ts_kind %u, flags %u", k, t.ts_kind, t.flags);
        CHECK(t.symbol_len == strlen(t.symbol) && index_of(ten, 10, t.symbol) >= 0,
              "trade %d: symbol '%s' (%u)", k, t.symbol, t.symbol_len);
        CHECK(!t.trade_id[0] && !t.side[0] && !t.exchange[0], "trade %d: optional fields", k);
        CHECK(k ? t.ts_us > prev : t.ts_us == o.start_us, "trade %d: time %lld after %lld", k,
              (long long)t.ts_us, (long long)prev);
        prev = t.ts_us;
        char want[TP_ISO8601_MAX];
        tp_time_format_iso8601(want, t.ts_us, 3);
        CHECK(strcmp(t.timestamp, want) == 0, "trade %d: '%s', want '%s'", k, t.timestamp, want);
        /* what the decoder reads back is the same trade */
        tp_error err;
        tp_trade d;
        tp_buf_clear(&b);
        CHECK(tp_record_encode(&b, &t, 0, &err) == TP_OK, "encode: %s", err.message);
        CHECK(tp_record_decode(&d, tp_buf_cursor(&b), 0, &err) == TP_OK, "%s: %s",
              (const char *)b.ptr, err.message);
        CHECK(strcmp(d.symbol, t.symbol) == 0 && d.price_e8 == t.price_e8 && d.volume == t.volume &&
                  d.ts_us == t.ts_us && strcmp(d.timestamp, t.timestamp) == 0,
              "decoded differently: %s", (const char *)b.ptr);
    }
    tp_buf_dispose(&b);
    tp_gen_free(g);
    tp_gen_free(twin);
}
END_TEST

static const struct {
    int64_t mean_gap_us;
    int64_t mean_ms; /* the mean after rounding up */
} gap_rows[] = {
    {0, 1},    {1, 1},    {999, 1},      {1000, 1},     {1001, 2},
    {1500, 2}, {2000, 2}, {250000, 250}, {250001, 251}, {60000000, 60000},
};

START_TEST(test_gaps)
{
    tp_gen_options o = opts(ten, 10, 9);
    o.mean_gap_us = gap_rows[_i].mean_gap_us;
    const int64_t m = gap_rows[_i].mean_ms;
    tp_gen *g = new_gen(&o);
    tp_trade t;
    next_ok(g, &t);
    int64_t prev = t.ts_us, sum = 0, lo = INT64_MAX, hi = 0;
    const int n = 200000;
    for (int k = 0; k < n; k++) {
        next_ok(g, &t);
        int64_t gap = t.ts_us - prev;
        prev = t.ts_us;
        CHECK(gap % 1000 == 0, "gap %lld us", (long long)gap);
        gap /= 1000;
        sum += gap;
        lo = gap < lo ? gap : lo;
        hi = gap > hi ? gap : hi;
    }
    ck_assert_int_eq(t.ts_us % 1000, 0);
    if (m == 1) {
        ck_assert_int_eq(lo, 1); /* every gap exactly 1 ms */
        ck_assert_int_eq(hi, 1);
    } else {
        /* uniform in 1 .. 2m-1: the ends are reached, the mean is m */
        ck_assert_int_eq(lo, 1);
        ck_assert_int_le(hi, 2 * m - 1);
        if (m < 1000)
            ck_assert_int_eq(hi, 2 * m - 1);
        double mean = (double)sum / n;
        ck_assert_msg(mean > m * 0.99 && mean < m * 1.01, "mean gap %.3f ms, want %lld", mean,
                      (long long)m);
    }
    tp_gen_free(g);
}
END_TEST

static const struct {
    int64_t start_us, mean_gap_us;
    int ok; /* trades before TP_E_RANGE */
} end_rows[] = {
    {TIME_MAX_US, 0, 1},
    {TIME_MAX_US - 5000, 0, 6},
    {TIME_MAX_US - 5000, 5000, 0}, /* counted below: random gaps */
    {0, INT64_MAX, 0},
    {TIME_MIN_US, INT64_MAX, 0},
};

START_TEST(test_end_of_time)
{
    tp_gen_options o = opts(ten, 10, 4);
    o.start_us = end_rows[_i].start_us;
    o.mean_gap_us = end_rows[_i].mean_gap_us;
    tp_gen *g = new_gen(&o);
    tp_trade t;
    tp_error err;
    int ok = 0;
    tp_status st;
    int64_t last = INT64_MIN;
    while ((st = tp_gen_next(g, &t, &err)) == TP_OK) {
        ck_assert_int_gt(t.ts_us, last);
        ck_assert_int_le(t.ts_us, TIME_MAX_US);
        last = t.ts_us;
        ok++;
        ck_assert_int_lt(ok, 100000);
    }
    ck_assert_int_eq(st, TP_E_RANGE);
    ck_assert_int_eq(err.code, TP_E_RANGE);
    ck_assert_str_eq(err.field, "timestamp");
    if (end_rows[_i].ok)
        ck_assert_int_eq(ok, end_rows[_i].ok);
    ck_assert_int_ge(ok, 1);
    if (last == TIME_MAX_US)
        ck_assert_str_eq(t.timestamp, "9999-12-31T23:59:59.999Z");
    ck_assert_uint_eq(tp_gen_count(g), (uint64_t)ok);
    /* and from then on, nothing changes */
    ck_assert_int_eq(tp_gen_next(g, &t, &err), TP_E_RANGE);
    ck_assert_int_eq(tp_gen_next(g, &t, NULL), TP_E_RANGE);
    ck_assert_uint_eq(tp_gen_count(g), (uint64_t)ok);
    tp_gen_free(g);
}
END_TEST

/* ---- the market ---------------------------------------------------------- */

START_TEST(test_prices_volumes_symbols)
{
    static const char *names[N_KNOWN];
    for (int i = 0; i < N_KNOWN; i++)
        names[i] = known[i].name;
    tp_gen_options o = opts(names, N_KNOWN, 3);
    tp_gen *g = new_gen(&o);
    long picks[N_KNOWN] = {0};
    int64_t lo[N_KNOWN], hi[N_KNOWN];
    long lots[51] = {0}, blocks = 0;
    const long n = 1000000;
    for (long k = 0; k < n; k++) {
        tp_trade t;
        next_ok(g, &t);
        int i = index_of(names, N_KNOWN, t.symbol);
        CHECK(i >= 0, "symbol %s", t.symbol);
        const int64_t base_e8 = known[i].base_cents * 1000000;
        CHECK(t.price_e8 % 1000000 == 0 && t.price_e8 >= 100000000, "%s: price %lld", t.symbol,
              (long long)t.price_e8);
        if (!picks[i]) {
            /* the first trade is at the base */
            CHECK(t.price_e8 == base_e8, "%s starts at %lld", t.symbol, (long long)t.price_e8);
            lo[i] = hi[i] = t.price_e8;
        }
        picks[i]++;
        lo[i] = t.price_e8 < lo[i] ? t.price_e8 : lo[i];
        hi[i] = t.price_e8 > hi[i] ? t.price_e8 : hi[i];
        const int64_t l = t.volume / TP_GEN_LOT;
        CHECK(t.volume % TP_GEN_LOT == 0 && l >= 1 && (l <= 50 || (l >= 100 && l <= 500)),
              "volume %lld", (long long)t.volume);
        if (l >= 100)
            blocks++;
        else
            lots[l]++;
    }
    for (int i = 0; i < N_KNOWN; i++) {
        const int64_t base_e8 = known[i].base_cents * 1000000;
        /* well inside [base/3, base*3]: the pull toward the base holds */
        ck_assert_msg(lo[i] * 3 > base_e8 && hi[i] < base_e8 * 3, "%s: %lld..%lld", names[i],
                      (long long)lo[i], (long long)hi[i]);
        ck_assert_msg(lo[i] * 10 > base_e8 * 7 && hi[i] * 10 < base_e8 * 13, "%s: %lld..%lld",
                      names[i], (long long)lo[i], (long long)hi[i]);
        /* and it moves */
        ck_assert_msg(lo[i] * 100 < base_e8 * 95 && hi[i] * 100 > base_e8 * 105, "%s: %lld..%lld",
                      names[i], (long long)lo[i], (long long)hi[i]);
        /* drawn uniformly: within 3% of n / 20 */
        ck_assert_msg(labs(picks[i] - n / N_KNOWN) < n / N_KNOWN * 3 / 100, "%s drawn %ld times",
                      names[i], picks[i]);
    }
    /* blocks about 1 in 200 */
    ck_assert_msg(blocks > n / 230 && blocks < n / 175, "%ld blocks", blocks);
    /* small trades are the most common, and every size 1..50 lots occurs */
    for (int l = 2; l <= 50; l++) {
        ck_assert_int_gt(lots[l], 0);
        ck_assert_int_ge(lots[1], lots[l]);
        ck_assert_int_ge(lots[l - 1] * 11, lots[l] * 10); /* non-increasing, up to noise */
    }
    ck_assert_int_gt(lots[1] + lots[2] + lots[3] + lots[4] + lots[5], n / 4);
    tp_gen_free(g);
}
END_TEST

START_TEST(test_unknown_bases)
{
    static const char *const names[] = {
        "ZZZZ", "FOO.BAR", "x", "aapl", "Apple Inc.", "BRK.B", "EURUSD", "0", "\xc3\xa9t\xc3\xa9"};
    enum { N = TP_ARRAY_LEN(names) };
    int64_t first[N];
    for (int i = 0; i < N; i++) {
        for (uint64_t seed = 1; seed <= 3; seed++) {
            const char *one[] = {names[i]};
            tp_gen_options o = opts(one, 1, seed * 977);
            tp_gen *g = new_gen(&o);
            tp_trade t;
            next_ok(g, &t);
            ck_assert_int_ge(t.price_e8, 1000000000);  /* 10.00 */
            ck_assert_int_le(t.price_e8, 50000000000); /* 500.00 */
            ck_assert_int_eq(t.price_e8 % 1000000, 0);
            if (seed == 1)
                first[i] = t.price_e8;
            else
                ck_assert_int_eq(t.price_e8, first[i]); /* from the name, not the seed */
            tp_gen_free(g);
        }
    }
    int distinct = 0;
    for (int i = 0; i < N; i++) {
        int j = 0;
        while (j < i && first[j] != first[i])
            j++;
        distinct += j == i;
    }
    ck_assert_int_ge(distinct, N - 1);
}
END_TEST

/* Dips happen, and the default engine (buy 2% under the high of the previous
 * 20 ticks, sell 5% over the entry) trades every symbol many times. */
START_TEST(test_dips_and_engine)
{
    enum { N = 200000, W = 20 };
    tp_gen_options o = opts(ten, 10, 1);
    tp_gen *g = new_gen(&o);
    tp_engine *e = NULL;
    tp_error err;
    ck_assert_int_eq(tp_engine_new(&e, NULL, &err), TP_OK);
    static int64_t hist[10][W];
    int nh[10] = {0}, in_dip[10] = {0}, in_rally[10] = {0};
    long dips[10] = {0}, rallies[10] = {0};
    for (long k = 0; k < N; k++) {
        tp_trade t;
        next_ok(g, &t);
        int i = index_of(ten, 10, t.symbol);
        int64_t mx = 0, mn = INT64_MAX;
        for (int j = 0; j < nh[i] && j < W; j++) {
            mx = hist[i][j] > mx ? hist[i][j] : mx;
            mn = hist[i][j] < mn ? hist[i][j] : mn;
        }
        /* a dip: entering "more than 3% under the high of the previous 20 ticks";
         * a rally: "more than 3% over the low" */
        int under = nh[i] && t.price_e8 * 100 < mx * 97;
        int over = nh[i] && t.price_e8 * 100 > mn * 103;
        dips[i] += under && !in_dip[i];
        rallies[i] += over && !in_rally[i];
        in_dip[i] = under;
        in_rally[i] = over;
        hist[i][nh[i]++ % W] = t.price_e8;

        char seq[24];
        snprintf(seq, sizeof seq, "%ld", k + 1);
        tp_tick tick = {tp_cursor_make(t.symbol, t.symbol_len), tp_cursor_from_str("s"),
                        tp_cursor_from_str(seq), t.price_e8, t.ts_us};
        tp_engine_event ev;
        size_t n;
        CHECK(tp_engine_apply(e, &tick, &ev, &n, &err) == TP_OK, "apply: %s", err.message);
    }
    for (int i = 0; i < 10; i++) {
        tp_position p;
        ck_assert_int_eq(tp_engine_position(e, tp_cursor_from_str(ten[i]), &p, &err), TP_OK);
        /* ~20,000 ticks each: a dip every few hundred ticks, tens of round trips
         * (seed 1 gives 37..46 dips, 28..37 buys and 28..36 sells a symbol) */
        ck_assert_msg(dips[i] >= 25 && rallies[i] >= 25, "%s: %ld dips, %ld rallies", ten[i],
                      dips[i], rallies[i]);
        ck_assert_msg(p.buys >= 20 && p.sells >= 20, "%s: %llu buys, %llu sells", ten[i],
                      (unsigned long long)p.buys, (unsigned long long)p.sells);
        ck_assert_int_gt(p.realized_pnl_e8, 0);
    }
    tp_engine_free(e);
    tp_gen_free(g);
}
END_TEST

/* ---- out of memory ------------------------------------------------------- */

START_TEST(test_oom_sweep)
{
    int completed = 0;
    for (long fail = 1; fail < 50 && !completed; fail++) {
        tpt_failing_alloc fa;
        tpt_failing_alloc_init(&fa, fail);
        tp_gen_options o = opts(ten, 10, 1);
        o.alloc = &fa.a;
        tp_gen *g = (tp_gen *)1;
        tp_error err;
        tp_status st = tp_gen_new(&g, &o, &err);
        if (st == TP_OK) {
            for (int k = 0; k < 1000; k++) {
                tp_trade t;
                next_ok(g, &t);
            }
            completed = fa.calls < fail;
        } else {
            ck_assert_int_eq(st, TP_E_NOMEM);
            ck_assert_int_eq(err.code, TP_E_NOMEM);
            ck_assert_ptr_null(g);
        }
        tp_gen_free(g);
        ck_assert_int_eq(fa.live, 0);
    }
    ck_assert(completed);
}
END_TEST

static Suite *gen_suite(void)
{
    Suite *s = suite_create("gen");
    TCase *tc = tcase_create("gen");
    tcase_add_test(tc, test_options_init);
    tcase_add_loop_test(tc, test_options_bad, 0, TP_ARRAY_LEN(bad_opts));
    tcase_add_test(tc, test_options_edges);
    tcase_add_test(tc, test_names_copied);
    tcase_add_test(tc, test_max_symbols);
    tcase_add_test(tc, test_deterministic);
    tcase_add_test(tc, test_pinned);
    tcase_add_loop_test(tc, test_trade_fields, 0, TP_ARRAY_LEN(time_rows));
    tcase_add_loop_test(tc, test_gaps, 0, TP_ARRAY_LEN(gap_rows));
    tcase_add_loop_test(tc, test_end_of_time, 0, TP_ARRAY_LEN(end_rows));
    tcase_add_test(tc, test_prices_volumes_symbols);
    tcase_add_test(tc, test_unknown_bases);
    tcase_add_test(tc, test_dips_and_engine);
    tcase_add_test(tc, test_oom_sweep);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tpt_run_suite(gen_suite()); }
