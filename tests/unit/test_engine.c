/* Floor 2: the signal/position engine. */
#include "testutil.h"

#include "core/core_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__extension__ typedef __int128 i128;

static int64_t P(const char *s)
{
    int64_t v = 0;
    tp_error err;
    ck_assert_msg(tp_price_parse(&v, tp_cursor_from_str(s), &err) == TP_OK, "price %s", s);
    return v;
}

static tp_tick mk(const char *symbol, const char *shard, const char *seq, int64_t price_e8)
{
    tp_tick t;
    t.symbol = tp_cursor_from_str(symbol);
    t.shard = tp_cursor_from_str(shard);
    t.sequence = tp_cursor_from_str(seq);
    t.price_e8 = price_e8;
    t.ts_us = TP_ENGINE_NO_TIME;
    return t;
}

static tp_engine *new_engine(const tp_engine_options *o)
{
    tp_engine *e = NULL;
    tp_error err;
    ck_assert_int_eq(tp_engine_new(&e, o, &err), TP_OK);
    return e;
}

/* Apply `price` as the next tick of `sym` (sequence = *seq, incremented). */
static size_t step(tp_engine *e, const char *sym, int64_t price, uint64_t *seq, tp_engine_event *ev)
{
    char s[32];
    snprintf(s, sizeof s, "%llu", (unsigned long long)++*seq);
    tp_tick t = mk(sym, "shard-0", s, price);
    size_t n = 99;
    tp_error err;
    tp_status st = tp_engine_apply(e, &t, ev, &n, &err);
    ck_assert_msg(st == TP_OK, "apply: %s", err.message);
    ck_assert_uint_le(n, 1);
    return n;
}

/* ---- options ------------------------------------------------------------- */

static const struct {
    const char *field;
    uint32_t version, flags, window;
    int64_t drop, tp, stop, size;
} bad_opts[] = {
    {"version", 2, 0, 20, TP_PCT_E8(2), TP_PCT_E8(5), 0, 100},
    {"flags", 1, 0x80, 20, TP_PCT_E8(2), TP_PCT_E8(5), 0, 100},
    {"window", 1, 0, 0, TP_PCT_E8(2), TP_PCT_E8(5), 0, 100},
    {"window", 1, 0, TP_ENGINE_MAX_WINDOW + 1, TP_PCT_E8(2), TP_PCT_E8(5), 0, 100},
    {"drop_pct", 1, 0, 20, -1, TP_PCT_E8(5), 0, 100},
    {"drop_pct", 1, 0, 20, TP_PCT_E8(100) + 1, TP_PCT_E8(5), 0, 100},
    {"take_profit_pct", 1, 0, 20, TP_PCT_E8(2), -1, 0, 100},
    {"stop_loss_pct", 1, TP_ENGINE_STOP_LOSS, 20, TP_PCT_E8(2), TP_PCT_E8(5), -1, 100},
    {"stop_loss_pct", 1, TP_ENGINE_STOP_LOSS, 20, TP_PCT_E8(2), TP_PCT_E8(5), TP_PCT_E8(101), 100},
    {"order_size", 1, 0, 20, TP_PCT_E8(2), TP_PCT_E8(5), 0, 0},
    {"order_size", 1, 0, 20, TP_PCT_E8(2), TP_PCT_E8(5), 0, -5},
};

START_TEST(test_options_bad)
{
    tp_engine_options o = TP_ENGINE_OPTIONS_INIT;
    o.version = bad_opts[_i].version;
    o.flags = bad_opts[_i].flags;
    o.window = bad_opts[_i].window;
    o.drop_pct_e8 = bad_opts[_i].drop;
    o.take_profit_pct_e8 = bad_opts[_i].tp;
    o.stop_loss_pct_e8 = bad_opts[_i].stop;
    o.order_size = bad_opts[_i].size;
    tp_engine *e = (tp_engine *)1;
    tp_error err;
    ck_assert_int_eq(tp_engine_new(&e, &o, &err), TP_E_INVALID);
    ck_assert_ptr_null(e);
    ck_assert_int_eq(err.code, TP_E_INVALID);
    ck_assert_str_eq(err.field, bad_opts[_i].field);
}
END_TEST

START_TEST(test_options_init)
{
    tp_engine_options o;
    ck_assert_int_eq(tp_engine_options_init(&o, TP_ENGINE_OPTIONS_VERSION), TP_OK);
    ck_assert_uint_eq(o.window, 20);
    ck_assert_int_eq(o.drop_pct_e8, P("2"));
    ck_assert_int_eq(o.take_profit_pct_e8, P("5"));
    ck_assert_int_eq(o.order_size, 100);
    ck_assert_uint_eq(o.flags & TP_ENGINE_STOP_LOSS, 0);
    ck_assert_int_eq(tp_engine_options_init(&o, 99), TP_E_INVALID);
    tp_engine *e = new_engine(NULL);
    tp_engine_options got;
    tp_engine_options_get(e, &got);
    ck_assert_uint_eq(got.max_symbols, TP_ENGINE_DEFAULT_MAX_SYMBOLS);
    ck_assert_uint_eq(got.window, 20);
    tp_engine_free(e);
    tp_engine_free(NULL);
}
END_TEST

/* ---- scenarios ----------------------------------------------------------- */

/* A scenario: options, prices of one symbol, and the expected events written
 * as "i:B" (tick i buys) or "i:S:pnl" (tick i sells with that P&L). */
static const struct {
    const char *name;
    uint32_t window;
    const char *drop, *tp, *stop; /* stop NULL = off */
    int64_t size;
    const char *prices[12];
    const char *want;
} scen[] = {
    {"no reference on the first tick", 20, "2", "5", NULL, 100, {"1", NULL}, ""},
    {"a drop of exactly 2% does not buy", 20, "2", "5", NULL, 100, {"100", "98", NULL}, ""},
    {"a drop just over 2% buys", 20, "2", "5", NULL, 100, {"100", "97.99999999", NULL}, "1:B"},
    {"a gain of exactly 5% does not sell",
     20,
     "2",
     "5",
     NULL,
     100,
     {"100", "97", "101.85", NULL},
     "1:B"},
    {"a gain just over 5% sells",
     20,
     "2",
     "5",
     NULL,
     100,
     {"100", "97", "101.85000001", NULL},
     "1:B 2:S:485.000001"},
    {"the window drops ticks older than W (W=3)",
     3,
     "2",
     "5",
     NULL,
     100,
     {"200", "197", "197", "197", "195.5", NULL},
     ""},
    {"the window reaches back W ticks (W=4)",
     4,
     "2",
     "5",
     NULL,
     100,
     {"200", "197", "197", "197", "195.5", NULL},
     "4:B"},
    {"fewer than W ticks: the highest of those",
     20,
     "2",
     "5",
     NULL,
     100,
     {"10", "50", "48", NULL},
     "2:B"},
    {"W=1: the previous tick only", 1, "2", "5", NULL, 100, {"100", "99", "97", "90", NULL}, "2:B"},
    {"when long only SELL is checked",
     20,
     "2",
     "5",
     NULL,
     100,
     {"100", "90", "50", "10", "94.5", NULL},
     "1:B"},
    {"the window holds ticks while long",
     2,
     "2",
     "5",
     NULL,
     10,
     {"100", "90", "94.4", "95", "94", NULL},
     "1:B 3:S:50"},
    {"stop-loss exactly at 10% does not sell",
     20,
     "2",
     "5",
     "10",
     100,
     {"100", "90", "81", NULL},
     "1:B"},
    {"stop-loss sells below",
     20,
     "2",
     "5",
     "10",
     100,
     {"100", "90", "80.99999999", NULL},
     "1:B 2:S:-900.000001"},
    {"stop-loss off by default", 20, "2", "5", NULL, 100, {"100", "90", "0.01", NULL}, "1:B"},
    {"fractional thresholds are exact",
     20,
     "2.5",
     "0.1",
     NULL,
     7,
     {"100", "97.5", "97.49999999", "97.59749998", "97.59749999", NULL},
     "2:B 4:S:0.6825"},
    {"drop 0: any drop buys; take-profit 0: any gain sells",
     20,
     "0",
     "0",
     NULL,
     1,
     {"100", "100", "99.99999999", "99.99999999", "100", NULL},
     "2:B 4:S:0.00000001"},
    {"after a sell the symbol can buy again",
     2,
     "2",
     "5",
     NULL,
     1,
     {"100", "90", "100", "50", NULL},
     "1:B 2:S:10 3:B"},
};

START_TEST(test_scenarios)
{
    tp_engine_options o = TP_ENGINE_OPTIONS_INIT;
    o.window = scen[_i].window;
    o.drop_pct_e8 = P(scen[_i].drop);
    o.take_profit_pct_e8 = P(scen[_i].tp);
    if (scen[_i].stop) {
        o.flags |= TP_ENGINE_STOP_LOSS;
        o.stop_loss_pct_e8 = P(scen[_i].stop);
    }
    o.order_size = scen[_i].size;
    tp_engine *e = new_engine(&o);
    char got[256] = "";
    uint64_t seq = 0;
    int64_t entry = 0;
    for (int k = 0; scen[_i].prices[k]; k++) {
        tp_engine_event ev;
        int64_t px = P(scen[_i].prices[k]);
        if (step(e, "SYM", px, &seq, &ev)) {
            char part[64], pnl[TP_PRICE_STR_MAX];
            ck_assert_str_eq(ev.symbol, "SYM");
            ck_assert_int_eq(ev.price_e8, px);
            ck_assert_int_eq(ev.quantity, scen[_i].size);
            ck_assert_uint_eq(strtoull(ev.sequence, NULL, 10), seq);
            if (ev.side == TP_SIDE_BUY) {
                ck_assert_uint_eq(ev.reason, TP_REASON_DROP);
                ck_assert_int_gt(ev.reference_e8, px);
                entry = px;
                snprintf(part, sizeof part, "%s%d:B", *got ? " " : "", k);
            } else {
                ck_assert_uint_eq(ev.side, TP_SIDE_SELL);
                ck_assert_int_eq(ev.entry_price_e8, entry);
                ck_assert_int_eq(ev.pnl_e8, (px - entry) * scen[_i].size);
                ck_assert_uint_eq(ev.reason,
                                  px > entry ? TP_REASON_TAKE_PROFIT : TP_REASON_STOP_LOSS);
                tp_price_format(pnl, ev.pnl_e8);
                snprintf(part, sizeof part, "%s%d:S:%s", *got ? " " : "", k, pnl);
            }
            strcat(got, part);
        }
    }
    ck_assert_msg(strcmp(got, scen[_i].want) == 0, "%s: got '%s', want '%s'", scen[_i].name, got,
                  scen[_i].want);
    tp_engine_free(e);
}
END_TEST

START_TEST(test_event_and_position_fields)
{
    tp_engine *e = new_engine(NULL);
    tp_engine_event ev;
    size_t n;
    tp_error err;
    tp_tick t = mk("AAPL", "shardId-000000000001",
                   "49590338271490256608559692538361571095921575989136588898", P("187.23"));
    t.ts_us = 1000;
    ck_assert_int_eq(tp_engine_apply(e, &t, &ev, &n, &err), TP_OK);
    ck_assert_uint_eq(n, 0);
    t = mk("AAPL", "shardId-000000000001",
           "49590338271490256608559692538361571095921575989136588899", P("180"));
    t.ts_us = 2000;
    ck_assert_int_eq(tp_engine_apply(e, &t, &ev, &n, &err), TP_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(ev.side, TP_SIDE_BUY);
    ck_assert_int_eq(ev.ts_us, 2000);
    ck_assert_int_eq(ev.entry_ts_us, 2000);
    ck_assert_int_eq(ev.reference_e8, P("187.23"));
    ck_assert_str_eq(ev.shard, "shardId-000000000001");
    ck_assert_str_eq(ev.entry_sequence, ev.sequence);

    tp_position pos;
    ck_assert_int_eq(tp_engine_position(e, tp_cursor_from_str("AAPL"), &pos, &err), TP_OK);
    ck_assert_int_eq(pos.quantity, 100);
    ck_assert_int_eq(pos.entry_price_e8, P("180"));
    ck_assert_int_eq(pos.entry_ts_us, 2000);
    ck_assert_int_eq(pos.reference_e8, P("187.23"));
    ck_assert_uint_eq(pos.ticks, 2);
    ck_assert_uint_eq(pos.buys, 1);
    ck_assert_str_eq(pos.last_sequence, "49590338271490256608559692538361571095921575989136588899");
    ck_assert_str_eq(pos.entry_sequence, pos.last_sequence);
    ck_assert_str_eq(pos.last_shard, "shardId-000000000001");

    t = mk("AAPL", "shardId-000000000001",
           "49590338271490256608559692538361571095921575989136588900", P("190"));
    t.ts_us = 3000;
    ck_assert_int_eq(tp_engine_apply(e, &t, &ev, &n, &err), TP_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(ev.side, TP_SIDE_SELL);
    ck_assert_int_eq(ev.entry_ts_us, 2000);
    ck_assert_int_eq(ev.ts_us, 3000);
    ck_assert_int_eq(ev.pnl_e8, P("1000"));
    ck_assert_str_eq(ev.entry_sequence, "49590338271490256608559692538361571095921575989136588899");
    ck_assert_int_eq(tp_engine_position(e, tp_cursor_from_str("AAPL"), &pos, &err), TP_OK);
    ck_assert_int_eq(pos.quantity, 0);
    ck_assert_int_eq(pos.realized_pnl_e8, P("1000"));
    ck_assert_int_eq(pos.entry_ts_us, TP_ENGINE_NO_TIME);
    ck_assert_str_eq(pos.entry_sequence, "");

    ck_assert_int_eq(tp_engine_position(e, tp_cursor_from_str("MSFT"), &pos, &err), TP_E_NOT_FOUND);
    ck_assert_str_eq(err.field, "symbol");
    ck_assert_int_eq(tp_engine_position(e, tp_cursor_from_str(""), &pos, &err), TP_E_NOT_FOUND);
    ck_assert_uint_eq(tp_engine_symbol_count(e), 1);
    ck_assert_int_eq(tp_engine_position_at(e, 0, &pos, &err), TP_OK);
    ck_assert_str_eq(pos.symbol, "AAPL");
    ck_assert_int_eq(tp_engine_position_at(e, 1, &pos, &err), TP_E_NOT_FOUND);
    tp_engine_stats stats;
    tp_engine_stats_get(e, &stats);
    ck_assert_uint_eq(stats.ticks, 3);
    ck_assert_uint_eq(stats.buys, 1);
    ck_assert_uint_eq(stats.sells, 1);
    ck_assert_uint_eq(stats.symbols, 1);
    tp_engine_free(e);
}
END_TEST

/* The reference reported by tp_position is the one the next tick sees,
 * including the entry that leaves the window with that tick. */
START_TEST(test_position_reference_window_edge)
{
    tp_engine_options o = TP_ENGINE_OPTIONS_INIT;
    o.window = 2;
    tp_engine *e = new_engine(&o);
    tp_engine_event ev;
    uint64_t seq = 0;
    tp_position pos;
    tp_error err;
    step(e, "X", P("300"), &seq, &ev);
    ck_assert_int_eq(tp_engine_position(e, tp_cursor_from_str("X"), &pos, &err), TP_OK);
    ck_assert_int_eq(pos.reference_e8, P("300"));
    step(e, "X", P("100"), &seq, &ev);
    step(e, "X", P("100"), &seq, &ev);
    ck_assert_int_eq(tp_engine_position(e, tp_cursor_from_str("X"), &pos, &err), TP_OK);
    ck_assert_int_eq(pos.reference_e8, P("100"));
    tp_engine_free(e);
}
END_TEST

/* ---- bad ticks ----------------------------------------------------------- */

static char long_symbol[TP_SYMBOL_MAX + 1];
static char long_shard[TP_SHARD_MAX + 1];
static char long_seq[TP_SEQUENCE_MAX + 1];

static const struct {
    int which; /* 0 symbol, 1 shard, 2 sequence */
    const char *value;
    int64_t price;
    const char *field;
} bad_ticks[] = {
    {0, "", 100, "symbol"},
    {0, NULL /* long_symbol */, 100, "symbol"},
    {1, NULL /* long_shard */, 100, "shard"},
    {2, "", 100, "sequence"},
    {2, "01", 100, "sequence"},
    {2, "12a", 100, "sequence"},
    {2, "-1", 100, "sequence"},
    {2, NULL /* long_seq */, 100, "sequence"},
    {0, "OK", 0, "price"},
    {0, "OK", -1, "price"},
};

START_TEST(test_bad_ticks)
{
    memset(long_symbol, 'A', TP_SYMBOL_MAX);
    memset(long_shard, 's', TP_SHARD_MAX);
    memset(long_seq, '7', TP_SEQUENCE_MAX);
    tp_engine *e = new_engine(NULL);
    tp_tick t = mk("OK", "s", "5", bad_ticks[_i].price);
    const char *v = bad_ticks[_i].value;
    if (bad_ticks[_i].which == 0)
        t.symbol = tp_cursor_from_str(v ? v : long_symbol);
    else if (bad_ticks[_i].which == 1)
        t.shard = tp_cursor_from_str(v ? v : long_shard);
    else
        t.sequence = tp_cursor_from_str(v ? v : long_seq);
    tp_engine_event ev;
    size_t n = 7;
    tp_error err;
    ck_assert_int_eq(tp_engine_apply(e, &t, &ev, &n, &err), TP_E_INVALID);
    ck_assert_uint_eq(n, 0);
    ck_assert_str_eq(err.field, bad_ticks[_i].field);
    ck_assert_uint_eq(tp_engine_symbol_count(e), 0);
    /* A NUL inside the symbol is refused too. */
    t = mk("OK", "s", "5", 100);
    t.symbol = tp_cursor_make("A\0B", 3);
    ck_assert_int_eq(tp_engine_apply(e, &t, &ev, &n, &err), TP_E_INVALID);
    ck_assert_str_eq(err.field, "symbol");
    ck_assert_int_eq(tp_engine_apply(e, NULL, &ev, &n, &err), TP_E_INVALID);
    tp_engine_free(e);
}
END_TEST

/* ---- idempotence --------------------------------------------------------- */

static const struct {
    const char *shard, *seq;
    int applied;
} dup_rows[] = {
    {"a", "10", 0},  /* the same tick again */
    {"a", "9", 0},   /* older: already applied */
    {"a", "1", 0},   /* shorter number, older */
    {"a", "11", 1},  /* next */
    {"a", "100", 1}, /* longer number, newer */
    {"b", "10", 1},  /* another shard: a different tick */
    {"b", "1", 1},   {"", "10", 1},
};

START_TEST(test_duplicates)
{
    tp_engine *e = new_engine(NULL);
    tp_engine_event ev;
    size_t n;
    tp_error err;
    tp_tick t = mk("S", "a", "9", P("100"));
    ck_assert_int_eq(tp_engine_apply(e, &t, &ev, &n, &err), TP_OK);
    t = mk("S", "a", "10", P("100"));
    ck_assert_int_eq(tp_engine_apply(e, &t, &ev, &n, &err), TP_OK);
    tp_buf before, after;
    tp_buf_init(&before, NULL, 0);
    tp_buf_init(&after, NULL, 0);
    ck_assert_int_eq(tp_engine_snapshot(e, tp_cursor_from_str(""), &before, &err), TP_OK);
    /* A price that would buy: applied, it must; ignored, nothing moves. */
    t = mk("S", dup_rows[_i].shard, dup_rows[_i].seq, P("50"));
    ck_assert_int_eq(tp_engine_apply(e, &t, &ev, &n, &err), TP_OK);
    ck_assert_int_eq(tp_engine_snapshot(e, tp_cursor_from_str(""), &after, &err), TP_OK);
    tp_engine_stats stats;
    tp_engine_stats_get(e, &stats);
    if (dup_rows[_i].applied) {
        ck_assert_uint_eq(n, 1);
        ck_assert_uint_eq(stats.duplicates, 0);
        ck_assert_uint_eq(stats.ticks, 3);
        /* and now it is a duplicate itself */
        ck_assert_int_eq(tp_engine_apply(e, &t, &ev, &n, &err), TP_OK);
        ck_assert_uint_eq(n, 0);
        tp_engine_stats_get(e, &stats);
        ck_assert_uint_eq(stats.duplicates, 1);
    } else {
        ck_assert_uint_eq(n, 0);
        ck_assert_uint_eq(stats.duplicates, 1);
        ck_assert_uint_eq(stats.ticks, 2);
        ck_assert_uint_eq(after.len, before.len);
        ck_assert_mem_eq(after.ptr, before.ptr, before.len);
    }
    tp_buf_dispose(&before);
    tp_buf_dispose(&after);
    tp_engine_free(e);
}
END_TEST

/* ---- overflow and limits ------------------------------------------------- */

START_TEST(test_pnl_overflow)
{
    tp_engine_options o = TP_ENGINE_OPTIONS_INIT;
    o.order_size = INT64_MAX / 1000;
    tp_engine *e = new_engine(&o);
    tp_engine_event ev;
    uint64_t seq = 0;
    step(e, "BIG", P("100"), &seq, &ev);
    ck_assert_uint_eq(step(e, "BIG", P("0.00000001"), &seq, &ev), 1);
    tp_position before, after;
    tp_error err;
    ck_assert_int_eq(tp_engine_position(e, tp_cursor_from_str("BIG"), &before, &err), TP_OK);
    /* (1 - 0.00000001) * 1e8 units * INT64_MAX/1000 shares: far past int64. */
    tp_tick t = mk("BIG", "shard-0", "3", P("1"));
    size_t n = 9;
    ck_assert_int_eq(tp_engine_apply(e, &t, &ev, &n, &err), TP_E_RANGE);
    ck_assert_uint_eq(n, 0);
    ck_assert_str_eq(err.field, "pnl");
    ck_assert_ptr_nonnull(strstr(err.message, "BIG"));
    ck_assert_int_eq(tp_engine_position(e, tp_cursor_from_str("BIG"), &after, &err), TP_OK);
    ck_assert_mem_eq(&before, &after, sizeof before);
    /* A smaller gain that fits is fine afterwards: 0.00000002 per share. */
    t = mk("BIG", "shard-0", "3", 2);
    ck_assert_int_eq(tp_engine_apply(e, &t, &ev, &n, &err), TP_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(ev.pnl_e8, INT64_MAX / 1000);
    tp_engine_free(e);

    /* The running total overflows even when each P&L fits. */
    o.order_size = INT64_MAX / 150;
    o.window = 1;
    e = new_engine(&o);
    seq = 0;
    int hit = 0;
    for (int k = 0; k < 10 && !hit; k++) {
        char s[16];
        step(e, "SUM", 100, &seq, &ev); /* 1e-6 */
        step(e, "SUM", 50, &seq, &ev);  /* buy */
        snprintf(s, sizeof s, "%llu", (unsigned long long)++seq);
        t = mk("SUM", "shard-0", s, 150); /* +100 units * size: fits alone */
        tp_status st = tp_engine_apply(e, &t, &ev, &n, &err);
        if (st == TP_E_RANGE) {
            ck_assert_str_eq(err.field, "pnl");
            hit = 1;
        } else {
            ck_assert_int_eq(st, TP_OK);
            ck_assert_uint_eq(n, 1);
        }
    }
    ck_assert_int_eq(hit, 1);
    tp_engine_free(e);
}
END_TEST

START_TEST(test_symbol_limit)
{
    tp_engine_options o = TP_ENGINE_OPTIONS_INIT;
    o.max_symbols = 2;
    tp_engine *e = new_engine(&o);
    tp_engine_event ev;
    uint64_t seq = 0;
    step(e, "A", 100, &seq, &ev);
    step(e, "B", 100, &seq, &ev);
    tp_tick t = mk("C", "shard-0", "99", 100);
    size_t n;
    tp_error err;
    ck_assert_int_eq(tp_engine_apply(e, &t, &ev, &n, &err), TP_E_LIMIT);
    ck_assert_str_eq(err.field, "symbol");
    ck_assert_ptr_nonnull(strstr(err.message, "limit is 2"));
    ck_assert_uint_eq(tp_engine_symbol_count(e), 2);
    step(e, "A", 100, &seq, &ev); /* known symbols still go */
    tp_engine_free(e);
}
END_TEST

/* ---- reference model ----------------------------------------------------- */

/* The rule written as plainly as possible: a full history per symbol and a
 * scan of the last W prices. */
typedef struct model_sym {
    char name[8];
    int64_t hist[4096];
    size_t n;
    int64_t qty, entry, pnl;
    uint64_t last_seq;
} model_sym;

typedef struct model {
    tp_engine_options o;
    model_sym syms[4];
} model;

/* Returns 0 no event, 1 buy, 2 sell; *pnl set on sells. */
static int model_apply(model *m, int si, int64_t price, int64_t *pnl)
{
    model_sym *s = &m->syms[si];
    const i128 H = (i128)TP_PCT_E8(100);
    int ev = 0;
    if (s->n > 0) {
        int64_t ref = 0;
        size_t from = s->n > m->o.window ? s->n - m->o.window : 0;
        for (size_t k = from; k < s->n; k++)
            if (s->hist[k] > ref)
                ref = s->hist[k];
        if (s->qty == 0) {
            if ((i128)price * H < (i128)ref * (H - m->o.drop_pct_e8)) {
                s->qty = m->o.order_size;
                s->entry = price;
                ev = 1;
            }
        }
    }
    if (!ev && s->qty) {
        int sell = (i128)price * H > (i128)s->entry * (H + m->o.take_profit_pct_e8);
        if ((m->o.flags & TP_ENGINE_STOP_LOSS) &&
            (i128)price * H < (i128)s->entry * (H - m->o.stop_loss_pct_e8))
            sell = 1;
        if (sell) {
            *pnl = (price - s->entry) * s->qty;
            s->pnl += *pnl;
            s->qty = 0;
            s->entry = 0;
            ev = 2;
        }
    }
    s->hist[s->n++] = price;
    return ev;
}

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

START_TEST(test_random_against_model)
{
    rng_state = 0x9e3779b97f4a7c15ULL * (uint64_t)(_i + 1);
    static model m;
    memset(&m, 0, sizeof m);
    tp_engine_options o = TP_ENGINE_OPTIONS_INIT;
    o.window = 1 + (uint32_t)(rnd() % 30);
    /* Whole percentages half the time, so exact boundaries get hit. */
    o.drop_pct_e8 = rnd() % 2 ? TP_PCT_E8(rnd() % 5) : (int64_t)(rnd() % (uint64_t)TP_PCT_E8(5));
    o.take_profit_pct_e8 =
        rnd() % 2 ? TP_PCT_E8(rnd() % 6) : (int64_t)(rnd() % (uint64_t)TP_PCT_E8(6));
    if (rnd() % 2) {
        o.flags = TP_ENGINE_STOP_LOSS;
        o.stop_loss_pct_e8 = (int64_t)(rnd() % (uint64_t)TP_PCT_E8(8));
    }
    o.order_size = 1 + (int64_t)(rnd() % 1000);
    m.o = o;
    tp_engine *e = new_engine(&o);
    int64_t px[4];
    for (int s = 0; s < 4; s++) {
        snprintf(m.syms[s].name, sizeof m.syms[s].name, "S%d", s);
        px[s] = 10000000000 + (int64_t)(rnd() % 1000000000);
    }
    uint64_t events = 0;
    for (int k = 0; k < 4000; k++) {
        int s = (int)(rnd() % 4);
        model_sym *ms = &m.syms[s];
        /* Mostly fresh ticks; some redeliveries of an older sequence. */
        uint64_t seq;
        int dup = ms->last_seq > 0 && rnd() % 10 == 0;
        if (dup)
            seq = ms->last_seq - rnd() % ms->last_seq;
        else
            seq = ms->last_seq + 1 + rnd() % 3;
        /* A random walk with jumps, sometimes exactly on a threshold. */
        int64_t step_e8 = ((int64_t)(rnd() % 40000) - 20000) * 10000;
        if (rnd() % 20 == 0)
            step_e8 *= 10;
        int64_t price = px[s] + step_e8;
        if (price < 100000000)
            price = 100000000;
        if (ms->qty && rnd() % 8 == 0) /* land exactly on the take-profit */
            price = (int64_t)(((i128)ms->entry * (TP_PCT_E8(100) + o.take_profit_pct_e8)) /
                              TP_PCT_E8(100));
        if (!ms->qty && ms->n && rnd() % 8 == 0) { /* land exactly on the drop */
            int64_t ref = 0;
            for (size_t k = ms->n > o.window ? ms->n - o.window : 0; k < ms->n; k++)
                ref = ms->hist[k] > ref ? ms->hist[k] : ref;
            price = (int64_t)(((i128)ref * (TP_PCT_E8(100) - o.drop_pct_e8)) / TP_PCT_E8(100));
            if (price < 1)
                price = 1;
        }
        char seqs[32];
        snprintf(seqs, sizeof seqs, "%llu", (unsigned long long)seq);
        tp_tick t = mk(ms->name, "shard-0", seqs, price);
        tp_engine_event ev;
        size_t n;
        tp_error err;
        tp_status st = tp_engine_apply(e, &t, &ev, &n, &err);
        ck_assert_msg(st == TP_OK, "tick %d: %s", k, err.message);
        if (dup) {
            ck_assert_uint_eq(n, 0);
            continue;
        }
        px[s] = price;
        ms->last_seq = seq;
        int64_t pnl = 0;
        int want = model_apply(&m, s, price, &pnl);
        ck_assert_msg((int)n == (want != 0), "tick %d: engine %zu events, model %d", k, n, want);
        if (n) {
            events++;
            ck_assert_uint_eq(ev.side, want == 1 ? TP_SIDE_BUY : TP_SIDE_SELL);
            ck_assert_int_eq(ev.price_e8, price);
            if (want == 2)
                ck_assert_int_eq(ev.pnl_e8, pnl);
        }
    }
    for (int s = 0; s < 4; s++) {
        tp_position pos;
        tp_error err;
        ck_assert_int_eq(tp_engine_position(e, tp_cursor_from_str(m.syms[s].name), &pos, &err),
                         TP_OK);
        ck_assert_int_eq(pos.quantity, m.syms[s].qty);
        ck_assert_int_eq(pos.entry_price_e8, m.syms[s].entry);
        ck_assert_int_eq(pos.realized_pnl_e8, m.syms[s].pnl);
        ck_assert_uint_eq(pos.ticks, m.syms[s].n);
    }
    ck_assert_uint_gt(events, 0);
    tp_engine_free(e);
}
END_TEST

/* ---- snapshots ----------------------------------------------------------- */

/* Feed `n` pseudo-random ticks starting at tick `from` of a fixed stream. */
static void feed(tp_engine *e, int from, int n, char *log, size_t logcap)
{
    for (int k = from; k < from + n; k++) {
        uint64_t x = (uint64_t)k * 0x9e3779b97f4a7c15ULL;
        x ^= x >> 31;
        char sym[8], seq[24];
        snprintf(sym, sizeof sym, "Y%d", (int)(x % 5));
        snprintf(seq, sizeof seq, "%d", k + 1);
        int64_t price = 9000000000 + (int64_t)((x >> 8) % 2000000000);
        tp_tick t = mk(sym, "shard-7", seq, price);
        t.ts_us = 1700000000000000 + k;
        tp_engine_event ev;
        size_t ne;
        tp_error err;
        ck_assert_int_eq(tp_engine_apply(e, &t, &ev, &ne, &err), TP_OK);
        if (ne && log) {
            char line[512];
            snprintf(line, sizeof line, "%s %u %lld %lld %s %s\n", ev.symbol, ev.side,
                     (long long)ev.price_e8, (long long)ev.pnl_e8, ev.sequence, ev.entry_sequence);
            ck_assert_uint_lt(strlen(log) + strlen(line), logcap);
            strcat(log, line);
        }
    }
}

static tp_engine_options snap_opts(void)
{
    tp_engine_options o = TP_ENGINE_OPTIONS_INIT;
    o.window = 7;
    o.drop_pct_e8 = P("1.5");
    o.take_profit_pct_e8 = P("3");
    o.flags = TP_ENGINE_STOP_LOSS;
    o.stop_loss_pct_e8 = P("4");
    o.order_size = 30;
    return o;
}

START_TEST(test_snapshot_restore_same_future)
{
    tp_engine_options o = snap_opts();
    static char log_a[1 << 20], log_b[1 << 20];
    for (int split = 0; split <= 3000; split += 373) {
        log_a[0] = log_b[0] = 0;
        tp_engine *a = new_engine(&o);
        feed(a, 0, split, NULL, 0);
        tp_buf snap, snap2;
        tp_error err;
        tp_buf_init(&snap, NULL, 0);
        tp_buf_init(&snap2, NULL, 0);
        ck_assert_int_eq(tp_engine_snapshot(a, tp_cursor_from_str(""), &snap, &err), TP_OK);
        tp_engine *b = new_engine(&o);
        ck_assert_int_eq(tp_engine_restore(b, tp_buf_cursor(&snap), &err), TP_OK);
        ck_assert_int_eq(tp_engine_snapshot(b, tp_cursor_from_str(""), &snap2, &err), TP_OK);
        ck_assert_uint_eq(snap.len, snap2.len);
        ck_assert_mem_eq(snap.ptr, snap2.ptr, snap.len);
        feed(a, split, 3000 - split, log_a, sizeof log_a);
        feed(b, split, 3000 - split, log_b, sizeof log_b);
        ck_assert_str_eq(log_a, log_b);
        if (split < 2000)
            ck_assert_uint_gt(strlen(log_a), 0);
        /* Replaying the tail again on b: all duplicates. */
        log_b[0] = 0;
        feed(b, split, 3000 - split, log_b, sizeof log_b);
        ck_assert_str_eq(log_b, "");
        tp_buf_dispose(&snap);
        tp_buf_dispose(&snap2);
        tp_engine_free(a);
        tp_engine_free(b);
    }
}
END_TEST

START_TEST(test_snapshot_one_symbol)
{
    tp_engine_options o = snap_opts();
    tp_engine *a = new_engine(&o);
    feed(a, 0, 500, NULL, 0);
    tp_buf one;
    tp_error err;
    tp_buf_init(&one, NULL, 0);
    ck_assert_int_eq(tp_engine_snapshot(a, tp_cursor_from_str("Y3"), &one, &err), TP_OK);
    ck_assert_int_eq(tp_engine_snapshot(a, tp_cursor_from_str("NOPE"), &one, &err), TP_E_NOT_FOUND);
    tp_engine *b = new_engine(&o);
    ck_assert_int_eq(tp_engine_restore(b, tp_buf_cursor(&one), &err), TP_OK);
    ck_assert_uint_eq(tp_engine_symbol_count(b), 1);
    tp_position pa, pb;
    ck_assert_int_eq(tp_engine_position(a, tp_cursor_from_str("Y3"), &pa, &err), TP_OK);
    ck_assert_int_eq(tp_engine_position(b, tp_cursor_from_str("Y3"), &pb, &err), TP_OK);
    ck_assert_mem_eq(&pa, &pb, sizeof pa);
    /* Restoring over an existing symbol replaces it. */
    feed(b, 500, 200, NULL, 0);
    ck_assert_int_eq(tp_engine_restore(b, tp_buf_cursor(&one), &err), TP_OK);
    ck_assert_int_eq(tp_engine_position(b, tp_cursor_from_str("Y3"), &pb, &err), TP_OK);
    ck_assert_mem_eq(&pa, &pb, sizeof pa);
    ck_assert_uint_eq(tp_engine_symbol_count(b), 5);
    tp_buf_dispose(&one);
    tp_engine_free(a);
    tp_engine_free(b);
}
END_TEST

/* Rewrite the trailing CRC so a deliberate corruption reaches the parser. */
static void fix_crc(uint8_t *p, size_t len);

static const struct {
    const char *name;
    int kind; /* 0 truncate to `at`; 1 set byte `at` to `val` (CRC fixed); 2 same, CRC kept;
                 3 append a byte (CRC fixed); 4 duplicate the symbol (CRC fixed) */
    long at;
    uint8_t val;
    tp_status want;
    const char *field;
    long want_offset; /* -1: don't check */
} bad_snaps[] = {
    {"empty", 0, 0, 0, TP_E_PARSE, "", 0},
    {"bad magic", 1, 0, 'X', TP_E_PARSE, "", 0},
    {"header cut", 0, 20, 0, TP_E_PARSE, "", 20},
    {"version 2", 1, 4, 2, TP_E_UNSUPPORTED, "version", 4},
    {"flipped byte, CRC kept", 2, 60, 0x55, TP_E_CHECKSUM, "", -1},
    {"window differs", 1, 12, 8, TP_E_STATE, "window", -1},
    {"order size differs", 1, 40, 31, TP_E_STATE, "order_size", -1},
    {"stop-loss flag differs", 1, 8, 0, TP_E_STATE, "stop_loss", -1},
    {"too many symbols for the bytes", 1, 51, 0x7f, TP_E_STATE, "nsymbols", 48},
    {"symbol length past the end", 1, 52, 0xf0, TP_E_STATE, "symbol", 52},
    {"empty symbol", 1, 52, 0, TP_E_STATE, "symbol", 52},
    {"quantity not the order size", 1, 55, 7, TP_E_STATE, "quantity", 55},
    {"extra bytes", 3, 0, 0, TP_E_STATE, "end", -1},
    {"a symbol twice", 4, 0, 0, TP_E_STATE, "symbol", -1},
    {"truncated mid-symbol (CRC fixed)", 5, 118, 0, TP_E_PARSE, "entry_shard", 112},
};

static uint32_t crc32_ref(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return ~c;
}

static void fix_crc(uint8_t *p, size_t len)
{
    uint32_t c = crc32_ref(p, len - 4);
    for (int i = 0; i < 4; i++)
        p[len - 4 + i] = (uint8_t)(c >> (8 * i));
}

START_TEST(test_restore_corrupt)
{
    tp_engine_options o = snap_opts();
    tp_engine *a = new_engine(&o);
    /* One symbol holding a position, so the layout is known: the symbol
     * "AB" at 52..54, its quantity at 55. */
    tp_engine_event ev;
    uint64_t seq = 0;
    step(a, "AB", P("100"), &seq, &ev);
    ck_assert_uint_eq(step(a, "AB", P("90"), &seq, &ev), 1);
    tp_buf snap;
    tp_error err;
    tp_buf_init(&snap, NULL, 0);
    ck_assert_int_eq(tp_engine_snapshot(a, tp_cursor_from_str(""), &snap, &err), TP_OK);
    ck_assert_uint_eq(crc32_ref(snap.ptr, snap.len - 4),
                      (uint32_t)snap.ptr[snap.len - 4] | (uint32_t)snap.ptr[snap.len - 3] << 8 |
                          (uint32_t)snap.ptr[snap.len - 2] << 16 |
                          (uint32_t)snap.ptr[snap.len - 1] << 24);
    size_t body = snap.len - 4;
    uint8_t *buf = malloc(snap.len * 2 + 16);
    size_t len = snap.len;
    memcpy(buf, snap.ptr, snap.len);
    switch (bad_snaps[_i].kind) {
    case 0:
        len = (size_t)bad_snaps[_i].at;
        break;
    case 1:
    case 2:
        buf[bad_snaps[_i].at] = bad_snaps[_i].val;
        if (bad_snaps[_i].kind == 1)
            fix_crc(buf, len);
        break;
    case 3:
        buf[body] = 0;
        len = snap.len + 1;
        fix_crc(buf, len);
        break;
    case 4: {
        size_t sym_len = body - 52;
        memcpy(buf + body, snap.ptr + 52, sym_len);
        buf[48] = 2;
        len = body + sym_len + 4;
        fix_crc(buf, len);
        break;
    }
    case 5:
        len = (size_t)bad_snaps[_i].at + 4;
        fix_crc(buf, len);
        break;
    }
    tp_engine *b = new_engine(&o);
    tp_engine_event e2;
    uint64_t s2 = 0;
    step(b, "KEEP", 100, &s2, &e2);
    tp_status st = tp_engine_restore(b, tp_cursor_make(buf, len), &err);
    ck_assert_msg(st == bad_snaps[_i].want, "%s: got %d (%s)", bad_snaps[_i].name, st, err.message);
    ck_assert_int_eq(err.code, st);
    ck_assert_str_eq(err.field, bad_snaps[_i].field);
    if (bad_snaps[_i].want_offset >= 0)
        ck_assert_uint_eq(err.offset, (uint64_t)bad_snaps[_i].want_offset);
    ck_assert_uint_gt(strlen(err.message), 10);
    /* The engine is unchanged. */
    ck_assert_uint_eq(tp_engine_symbol_count(b), 1);
    /* The intact snapshot restores. */
    ck_assert_int_eq(tp_engine_restore(b, tp_buf_cursor(&snap), &err), TP_OK);
    ck_assert_uint_eq(tp_engine_symbol_count(b), 2);
    free(buf);
    tp_buf_dispose(&snap);
    tp_engine_free(a);
    tp_engine_free(b);
}
END_TEST

START_TEST(test_restore_limit)
{
    tp_engine_options o = snap_opts();
    tp_engine *a = new_engine(&o);
    feed(a, 0, 100, NULL, 0);
    tp_buf snap;
    tp_error err;
    tp_buf_init(&snap, NULL, 0);
    ck_assert_int_eq(tp_engine_snapshot(a, tp_cursor_from_str(""), &snap, &err), TP_OK);
    o.max_symbols = 4;
    tp_engine *b = new_engine(&o);
    ck_assert_int_eq(tp_engine_restore(b, tp_buf_cursor(&snap), &err), TP_E_LIMIT);
    ck_assert_uint_eq(tp_engine_symbol_count(b), 0);
    tp_buf_dispose(&snap);
    tp_engine_free(a);
    tp_engine_free(b);
}
END_TEST

/* ---- out of memory ------------------------------------------------------- */

START_TEST(test_oom_sweep)
{
    tp_engine_options base = snap_opts();
    int completed = 0;
    for (long fail = 1; fail < 200 && !completed; fail++) {
        tpt_failing_alloc fa;
        tpt_failing_alloc_init(&fa, fail);
        tp_engine_options o = base;
        o.alloc = &fa.a;
        tp_engine *e = NULL;
        tp_error err;
        tp_status st = tp_engine_new(&e, &o, &err);
        tp_buf snap;
        tp_buf_init(&snap, &fa.a, 0);
        tp_engine *b = NULL;
        if (st == TP_OK) {
            for (int k = 0; k < 300 && st == TP_OK; k++) {
                char sym[8], seq[8];
                snprintf(sym, sizeof sym, "Z%d", k % 40);
                snprintf(seq, sizeof seq, "%d", k + 1);
                tp_tick t = mk(sym, "s", seq, 1000 + (k * 7919) % 300);
                tp_engine_event ev;
                size_t n;
                size_t before = tp_engine_symbol_count(e);
                st = tp_engine_apply(e, &t, &ev, &n, &err);
                if (st != TP_OK)
                    ck_assert_uint_eq(tp_engine_symbol_count(e), before);
            }
        }
        if (st == TP_OK)
            st = tp_engine_snapshot(e, tp_cursor_from_str(""), &snap, &err);
        if (st == TP_OK)
            st = tp_engine_new(&b, &o, &err);
        if (st == TP_OK) {
            st = tp_engine_restore(b, tp_buf_cursor(&snap), &err);
            if (st != TP_OK)
                ck_assert_uint_eq(tp_engine_symbol_count(b), 0);
        }
        if (st == TP_OK)
            completed = 1;
        else {
            ck_assert_int_eq(st, TP_E_NOMEM);
            ck_assert_int_eq(err.code, TP_E_NOMEM);
        }
        tp_buf_dispose(&snap);
        tp_engine_free(e);
        tp_engine_free(b);
        ck_assert_int_eq(fa.live, 0);
    }
    ck_assert_int_eq(completed, 1);
}
END_TEST

static Suite *engine_suite(void)
{
    Suite *s = suite_create("engine");
    TCase *tc = tcase_create("engine");
    tcase_add_loop_test(tc, test_options_bad, 0, TP_ARRAY_LEN(bad_opts));
    tcase_add_test(tc, test_options_init);
    tcase_add_loop_test(tc, test_scenarios, 0, TP_ARRAY_LEN(scen));
    tcase_add_test(tc, test_event_and_position_fields);
    tcase_add_test(tc, test_position_reference_window_edge);
    tcase_add_loop_test(tc, test_bad_ticks, 0, TP_ARRAY_LEN(bad_ticks));
    tcase_add_loop_test(tc, test_duplicates, 0, TP_ARRAY_LEN(dup_rows));
    tcase_add_test(tc, test_pnl_overflow);
    tcase_add_test(tc, test_symbol_limit);
    tcase_add_loop_test(tc, test_random_against_model, 0, 40);
    tcase_add_test(tc, test_snapshot_restore_same_future);
    tcase_add_test(tc, test_snapshot_one_symbol);
    tcase_add_loop_test(tc, test_restore_corrupt, 0, TP_ARRAY_LEN(bad_snaps));
    tcase_add_test(tc, test_restore_limit);
    tcase_add_test(tc, test_oom_sweep);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tpt_run_suite(engine_suite()); }
