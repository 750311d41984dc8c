/* The batch calls for FFI callers: tp_reader_next_batch, tp_stats_add_batch.
 * Each must behave exactly as the one-at-a-time call it loops over. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

/* Three valid records, a malformed one at byte 78, two more valid. */
static const char input[] = "{\"symbol\":\"A\",\"price\":1.5,\"volume\":1}"
                            "{\"symbol\":\"B\",\"price\":2,\"volume\":2}\n"
                            "{\"symbol\":\"A\",\"price\":3,\"volume\":3}"
                            "{\"symbol\":\"\",\"price\":1,\"volume\":1}"
                            "{\"symbol\":\"C\",\"price\":4,\"volume\":4}"
                            "{\"symbol\":\"A\",\"price\":5,\"volume\":5}";

START_TEST(test_reader_batch)
{
    tp_source *src;
    tp_reader *r;
    tp_error err;
    tp_trade out[2];
    size_t n = 99;
    const char *bad = strstr(input, "{\"symbol\":\"\"");
    ck_assert_int_eq(tp_source_from_memory(&src, input, strlen(input), NULL), TP_OK);
    ck_assert_int_eq(tp_reader_new(&r, src, NULL, NULL), TP_OK);
    /* A full batch is TP_OK with n == cap. */
    ck_assert_int_eq(tp_reader_next_batch(r, out, 2, &n, &err), TP_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(out[0].symbol, "A");
    ck_assert_int_eq(out[0].price_e8, 150000000);
    ck_assert_str_eq(out[1].symbol, "B");
    /* One record, then the malformed one: its status and detail, n == 1. */
    ck_assert_int_eq(tp_reader_next_batch(r, out, 2, &n, &err), TP_E_RECORD);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(out[0].volume, 3);
    ck_assert_uint_eq(err.offset, (uint64_t)(bad - input));
    ck_assert_str_eq(err.field, "symbol");
    /* Reading goes on after it. */
    ck_assert_int_eq(tp_reader_next_batch(r, out, 2, &n, &err), TP_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(out[1].symbol, "A");
    ck_assert_int_eq(tp_reader_next_batch(r, out, 2, &n, &err), TP_DONE);
    ck_assert_uint_eq(n, 0);
    /* Bad arguments. */
    ck_assert_int_eq(tp_reader_next_batch(r, out, 0, &n, &err), TP_E_INVALID);
    ck_assert_int_eq(tp_reader_next_batch(NULL, out, 2, &n, &err), TP_E_INVALID);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(tp_reader_next_batch(r, NULL, 2, &n, &err), TP_E_INVALID);
    ck_assert_int_eq(tp_reader_next_batch(r, out, 2, NULL, &err), TP_E_INVALID);
    tp_reader_stats rs;
    tp_reader_stats_get(r, &rs);
    ck_assert_uint_eq(rs.records, 5);
    ck_assert_uint_eq(rs.errors, 1);
    tp_reader_free(r);
    tp_source_free(src);
}
END_TEST

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

START_TEST(test_stats_batch)
{
    tp_trade t[50];
    for (int i = 0; i < 50; i++) {
        char sym[16];
        snprintf(sym, sizeof sym, "S%d", i % 7);
        t[i] = mk(sym, (i * 7919) % 1000 + 1, i);
    }
    tp_stats *one, *many;
    size_t done = 99;
    ck_assert_int_eq(tp_stats_new(&one, NULL, NULL), TP_OK);
    ck_assert_int_eq(tp_stats_new(&many, NULL, NULL), TP_OK);
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(tp_stats_add(one, &t[i], NULL), TP_OK);
    ck_assert_int_eq(tp_stats_add_batch(many, t, 20, &done, NULL), TP_OK);
    ck_assert_uint_eq(done, 20);
    ck_assert_int_eq(tp_stats_add_batch(many, t + 20, 30, &done, NULL), TP_OK);
    ck_assert_int_eq(tp_stats_add_batch(many, NULL, 0, &done, NULL), TP_OK);
    ck_assert_uint_eq(done, 0);
    ck_assert_uint_eq(tp_stats_records(many), 50);
    ck_assert_uint_eq(tp_stats_symbols(many), tp_stats_symbols(one));
    for (size_t i = 0; i < tp_stats_symbols(one); i++)
        ck_assert_mem_eq(tp_stats_get(many, i), tp_stats_get(one, i), sizeof(tp_symbol_stats));
    tp_error err;
    ck_assert_int_eq(tp_stats_add_batch(many, NULL, 1, &done, &err), TP_E_INVALID);
    ck_assert_uint_eq(done, 0);
    ck_assert_int_eq(tp_stats_add_batch(NULL, t, 1, NULL, &err), TP_E_INVALID);
    tp_stats_free(one);
    tp_stats_free(many);
}
END_TEST

/* A failure part-way: `done` is the failing index, the ones before count. */
START_TEST(test_stats_batch_oom)
{
    tp_trade t[40];
    for (int i = 0; i < 40; i++) {
        char sym[16];
        snprintf(sym, sizeof sym, "SYM%d", i);
        t[i] = mk(sym, i + 1, i);
    }
    int failed = 0;
    for (long k = 1; k < 200; k++) {
        tpt_failing_alloc fa;
        tpt_failing_alloc_init(&fa, k);
        tp_stats *s;
        if (tp_stats_new(&s, &fa.a, NULL) != TP_OK)
            continue;
        size_t done = 99;
        tp_error err;
        tp_status st = tp_stats_add_batch(s, t, 40, &done, &err);
        if (st == TP_OK) {
            ck_assert_uint_eq(done, 40);
        } else {
            failed = 1;
            ck_assert_int_eq(st, TP_E_NOMEM);
            ck_assert_uint_lt(done, 40);
            ck_assert_uint_eq(tp_stats_records(s), done);
        }
        tp_stats_free(s);
        ck_assert_int_eq(fa.live, 0);
    }
    ck_assert(failed);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("batch");
    TCase *tc = tcase_create("batch");
    tcase_add_test(tc, test_reader_batch);
    tcase_add_test(tc, test_stats_batch);
    tcase_add_test(tc, test_stats_batch_oom);
    suite_add_tcase(s, tc);
    return tpt_run_suite(s);
}
