/* Per-symbol statistics: exact sums, sorted iteration, growth, OOM. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

static tp_trade mk(const char *sym, int64_t px, int64_t vol)
{
    tp_trade t;
    tp_trade_init(&t);
    snprintf(t.symbol, sizeof t.symbol, "%s", sym);
    t.symbol_len = (uint32_t)strlen(sym);
    t.price_e8 = px;
    t.volume = vol;
    return t;
}

START_TEST(test_basic_and_sorted)
{
    tp_stats *s;
    ck_assert_int_eq(tp_stats_new(&s, NULL, NULL), TP_OK);
    const char *syms[] = {"MSFT", "AAPL", "AAPLX_LONG_SYMBOL", "B", "AAPL", "\xc3\xa9", "AAPLX"};
    for (size_t i = 0; i < 7; i++) {
        tp_trade t = mk(syms[i], (int64_t)(i + 1) * 100000000, (int64_t)i);
        ck_assert_int_eq(tp_stats_add(s, &t, NULL), TP_OK);
    }
    ck_assert_uint_eq(tp_stats_symbols(s), 6);
    ck_assert_uint_eq(tp_stats_records(s), 7);
    const char *order[] = {"AAPL", "AAPLX", "AAPLX_LONG_SYMBOL", "B", "MSFT", "\xc3\xa9"};
    for (size_t i = 0; i < 6; i++)
        ck_assert_str_eq(tp_stats_get(s, i)->symbol, order[i]);
    ck_assert_ptr_null(tp_stats_get(s, 6));
    const tp_symbol_stats *a = tp_stats_get(s, 0);
    ck_assert_uint_eq(a->count, 2);
    ck_assert_int_eq(a->min_price_e8, 200000000);
    ck_assert_int_eq(a->max_price_e8, 500000000);
    char buf[TP_DECIMAL_STR_MAX];
    tp_stats_format_avg(buf, a, 20, 0);
    ck_assert_str_eq(buf, "3.5");
    tp_stats_format_avg(buf, a, 2, 1);
    ck_assert_str_eq(buf, "3.50");
    tp_stats_format_sum(buf, a->volume_sum_hi, a->volume_sum_lo);
    ck_assert_str_eq(buf, "5");
    tp_stats_free(s);
}
END_TEST

START_TEST(test_exact_big_sums)
{
    tp_stats *s;
    ck_assert_int_eq(tp_stats_new(&s, NULL, NULL), TP_OK);
    /* Sums past 2^64 stay exact. */
    for (int i = 0; i < 1000; i++) {
        tp_trade t = mk("X", INT64_MAX - i, INT64_MAX);
        ck_assert_int_eq(tp_stats_add(s, &t, NULL), TP_OK);
    }
    const tp_symbol_stats *e = tp_stats_get(s, 0);
    char buf[TP_DECIMAL_STR_MAX];
    tp_stats_format_sum(buf, e->volume_sum_hi, e->volume_sum_lo);
    ck_assert_str_eq(buf, "9223372036854775807000");
    /* avg = (1000*MAX - 499500)/1000 e8 = 92233720368.54775807 - 4.995e-6 */
    tp_stats_format_avg(buf, e, 20, 0);
    ck_assert_str_eq(buf, "92233720368.547753075");
    /* rounding half away from zero, carrying into the integer part */
    tp_stats_free(s);
    ck_assert_int_eq(tp_stats_new(&s, NULL, NULL), TP_OK);
    tp_trade t = mk("Y", 99999999, 1); /* 0.99999999 */
    tp_stats_add(s, &t, NULL);
    tp_stats_format_avg(buf, tp_stats_get(s, 0), 2, 1);
    ck_assert_str_eq(buf, "1.00");
    tp_stats_format_avg(buf, tp_stats_get(s, 0), 8, 0);
    ck_assert_str_eq(buf, "0.99999999");
    tp_stats_free(s);
}
END_TEST

START_TEST(test_many_symbols_and_oom)
{
    for (long fail = 0; fail < 40; fail++) {
        tpt_failing_alloc fa;
        tpt_failing_alloc_init(&fa, fail);
        tp_stats *s = NULL;
        tp_error err;
        tp_status st = tp_stats_new(&s, &fa.a, &err);
        for (int i = 0; i < 5000 && st == TP_OK; i++) {
            char sym[32];
            snprintf(sym, sizeof sym, "S%d", i % 2500);
            tp_trade t = mk(sym, 100000000, 1);
            st = tp_stats_add(s, &t, &err);
        }
        if (fail == 0) {
            ck_assert_int_eq(st, TP_OK);
            ck_assert_uint_eq(tp_stats_symbols(s), 2500);
            for (size_t i = 0; i < 2500; i++)
                ck_assert_uint_eq(tp_stats_get(s, i)->count, 2);
        } else if (st != TP_OK) {
            ck_assert_int_eq(st, TP_E_NOMEM);
            ck_assert_int_eq(err.code, TP_E_NOMEM);
        }
        tp_stats_free(s);
        ck_assert_int_eq(fa.live, 0);
    }
}
END_TEST

START_TEST(test_merge)
{
    /* Two halves merged equal the whole. */
    tp_stats *whole, *a, *b;
    ck_assert_int_eq(tp_stats_new(&whole, NULL, NULL), TP_OK);
    ck_assert_int_eq(tp_stats_new(&a, NULL, NULL), TP_OK);
    ck_assert_int_eq(tp_stats_new(&b, NULL, NULL), TP_OK);
    for (int i = 0; i < 3000; i++) {
        char sym[32];
        snprintf(sym, sizeof sym, i % 3 ? "S%d" : "LONG_SYMBOL_%d", i % 97);
        tp_trade t = mk(sym, (int64_t)(i * 7919 % 100000 + 1), i);
        ck_assert_int_eq(tp_stats_add(whole, &t, NULL), TP_OK);
        ck_assert_int_eq(tp_stats_add(i < 1234 ? a : b, &t, NULL), TP_OK);
    }
    ck_assert_int_eq(tp_stats_merge(a, b, NULL), TP_OK);
    ck_assert_uint_eq(tp_stats_symbols(a), tp_stats_symbols(whole));
    ck_assert_uint_eq(tp_stats_records(a), 3000);
    for (size_t i = 0; i < tp_stats_symbols(whole); i++)
        ck_assert_mem_eq(tp_stats_get(a, i), tp_stats_get(whole, i), sizeof(tp_symbol_stats));
    tp_stats_free(whole);
    tp_stats_free(a);
    tp_stats_free(b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("stats");
    tcase_add_test(tc, test_basic_and_sorted);
    tcase_add_test(tc, test_exact_big_sums);
    tcase_add_test(tc, test_many_symbols_and_oom);
    tcase_add_test(tc, test_merge);
    suite_add_tcase(s, tc);
    return tpt_run_suite(s);
}
