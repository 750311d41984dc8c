/* Floor 4: DynamoDB attribute values, and what dynalite cannot show:
 * UnprocessedItems retried by BatchWriteItem (against the fault fixture). */
#include "testutil.h"

#include "../fixtures/fault.h"
#include "core/core_int.h"

#include <jansson.h>

static const struct {
    const char *in;
    tp_status want;
    uint64_t offset;
} num_rows[] = {
    {"0", TP_OK, 0},
    {"-12.5", TP_OK, 0},
    {"187.23000000", TP_OK, 0},
    {"1E+3", TP_OK, 0},
    {"1e-130", TP_OK, 0},
    {"12345678901234567890123456789012345678", TP_OK, 0},
    {"0.000000000000000000000000000000000000000012345678901234567890123456789012345678", TP_OK, 0},
    {"123456789012345678901234567890123456789", TP_E_RANGE, 0},
    {"", TP_E_PARSE, 0},
    {"-", TP_E_PARSE, 1},
    {"1.", TP_E_PARSE, 2},
    {".5", TP_OK, 0},
    {".", TP_E_PARSE, 1},
    {"1e", TP_E_PARSE, 2},
    {"1e+99999", TP_E_RANGE, 0},
    {"1e99999999999999999999999", TP_E_RANGE, 0},
    {"1e", TP_E_PARSE, 2},
    {"1e+", TP_E_PARSE, 3},
    /* trailing zeros of the integer part are not significant */
    {"110111111111111110000000000000000000000", TP_OK, 0},
    {"1" "0000000000" "0000000000" "0000000000" "0000000000" "0000000000" "0000000000"
     "0000000000" "0000000000" "0000000000" "0000000000", TP_OK, 0}, /* 1E+100 written out */
    {"-1E+100", TP_OK, 0},
    {"000000000000000000000000000000000000000000012", TP_OK, 0},
    {"12.000000000000000000000000000000000000000000", TP_OK, 0},
    {"1234567890123456789012345678901234567.8", TP_OK, 0},
    {"1234567890123456789012345678901234567.89", TP_E_RANGE, 0},
    {"0.0000000000000000000000000000000000000000", TP_OK, 0},
    {"0e999999", TP_OK, 0},
    {"-0", TP_OK, 0},
    /* the magnitude: 1E-130 to 9.9999999999999999999999999999999999999E+125 */
    {"9.9999999999999999999999999999999999999E+125", TP_OK, 0},
    {"-9.9999999999999999999999999999999999999E+125", TP_OK, 0},
    {"1E+126", TP_E_RANGE, 0},
    {"10E+125", TP_E_RANGE, 0},
    {"0.1E+126", TP_OK, 0},
    {"1E-130", TP_OK, 0},
    {"0.1E-129", TP_OK, 0},
    {"1E-131", TP_E_RANGE, 0},
    {"-0.00000000001E-120", TP_E_RANGE, 0},
    {"100E-132", TP_OK, 0},
    {"12a", TP_E_PARSE, 2},
    {"+1", TP_E_PARSE, 0},
    {" 1", TP_E_PARSE, 0},
    {"NaN", TP_E_PARSE, 0},
};

START_TEST(test_numbers)
{
    tp_ddb_value *v = NULL;
    tp_error err;
    tp_error_clear(&err);
    tp_status st = tp_ddb_n_new(&v, num_rows[_i].in, &err);
    ck_assert_msg(st == num_rows[_i].want, "row %d '%s': %d", _i, num_rows[_i].in, st);
    if (st == TP_OK) {
        const char *s;
        ck_assert_int_eq(tp_ddb_value_n(v, &s), TP_OK);
        ck_assert_str_eq(s, num_rows[_i].in); /* exact text kept */
    } else {
        ck_assert_ptr_null(v);
        ck_assert_str_eq(err.field, "N");
        if (st == TP_E_PARSE)
            ck_assert_uint_eq(err.offset, num_rows[_i].offset);
    }
    tp_ddb_value_free(v);
}
END_TEST

/* String sets (the KCL's parentShardId): distinct strings, at least one. */
START_TEST(test_string_set)
{
    tp_ddb_value *v = NULL;
    tp_error err;
    const char *two[] = {"shardId-000000000001", "shardId-000000000002"};
    ck_assert_int_eq(tp_ddb_ss_new(&v, two, 2, &err), TP_OK);
    ck_assert_int_eq(tp_ddb_value_type(v), TP_DDB_SS);
    ck_assert_uint_eq(tp_ddb_value_count(v), 2);
    ck_assert_str_eq(tp_ddb_ss_get(v, 1), "shardId-000000000002");
    ck_assert_ptr_null(tp_ddb_ss_get(v, 2));
    tp_buf b;
    tp_buf_init(&b, NULL, 0);
    ck_assert_int_eq(tp_ddb_value_to_json(v, &b, &err), TP_OK);
    const char *want = "{\"SS\":[\"shardId-000000000001\",\"shardId-000000000002\"]}";
    ck_assert_uint_eq(b.len, strlen(want));
    ck_assert(memcmp(b.ptr, want, b.len) == 0);
    tp_buf_dispose(&b);
    tp_ddb_value_free(v);
    const char *dup[] = {"a", "a"};
    ck_assert_int_eq(tp_ddb_ss_new(&v, dup, 2, &err), TP_E_INVALID);
    ck_assert_uint_eq(err.offset, 1);
    ck_assert_ptr_null(v);
    ck_assert_int_eq(tp_ddb_ss_new(&v, two, 0, &err), TP_E_INVALID);
    const char *bad[] = {"\xff"};
    ck_assert_int_eq(tp_ddb_ss_new(&v, bad, 1, &err), TP_E_INVALID);
    ck_assert_ptr_null(tp_ddb_ss_get(NULL, 0));
}
END_TEST

START_TEST(test_value_tree)
{
    tp_ddb_value *m, *l, *v;
    tp_error err;
    ck_assert_int_eq(tp_ddb_m_new(&m, &err), TP_OK);
    ck_assert_int_eq(tp_ddb_m_set_s(m, "s", "text", &err), TP_OK);
    ck_assert_int_eq(tp_ddb_m_set_i64(m, "n", INT64_MIN, &err), TP_OK);
    ck_assert_int_eq(tp_ddb_b_new(&v, tp_cursor_make("\0\1", 2), &err), TP_OK);
    ck_assert_int_eq(tp_ddb_m_set(m, "b", v, &err), TP_OK);
    ck_assert_int_eq(tp_ddb_l_new(&l, &err), TP_OK);
    ck_assert_int_eq(tp_ddb_bool_new(&v, 0, &err), TP_OK);
    ck_assert_int_eq(tp_ddb_l_append(l, v, &err), TP_OK);
    ck_assert_int_eq(tp_ddb_null_new(&v, &err), TP_OK);
    ck_assert_int_eq(tp_ddb_l_append(l, v, &err), TP_OK);
    ck_assert_int_eq(tp_ddb_m_set(m, "l", l, &err), TP_OK);
    /* Replacing a value. */
    ck_assert_int_eq(tp_ddb_m_set_s(m, "s", "again", &err), TP_OK);
    ck_assert_uint_eq(tp_ddb_value_count(m), 4);

    tp_buf b;
    tp_buf_init(&b, NULL, 0);
    ck_assert_int_eq(tp_ddb_value_to_json(m, &b, &err), TP_OK);
    ck_assert_str_eq((char *)b.ptr, "{\"M\":{\"b\":{\"B\":\"AAE=\"},\"l\":{\"L\":[{\"BOOL\":false},"
                                    "{\"NULL\":true}]},\"n\":{\"N\":\"-9223372036854775808\"},"
                                    "\"s\":{\"S\":\"again\"}}}");
    tp_ddb_value *back;
    ck_assert_int_eq(tp_ddb_value_from_json(&back, tp_buf_cursor(&b), &err), TP_OK);
    int64_t n;
    ck_assert_int_eq(tp_ddb_value_i64(tp_ddb_m_get(back, "n"), &n), TP_OK);
    ck_assert_int_eq(n, INT64_MIN);
    tp_cursor s;
    ck_assert_int_eq(tp_ddb_value_s(tp_ddb_m_get(back, "s"), &s), TP_OK);
    ck_assert_int_eq(s.len, 5);
    ck_assert_int_eq(tp_ddb_value_type(tp_ddb_l_get(tp_ddb_m_get(back, "l"), 1)), TP_DDB_NULL);
    ck_assert_ptr_null(tp_ddb_l_get(tp_ddb_m_get(back, "l"), 2));
    ck_assert_ptr_null(tp_ddb_m_get(back, "missing"));
    /* Wrong-type getters. */
    ck_assert_int_eq(tp_ddb_value_s(tp_ddb_m_get(back, "n"), &s), TP_E_INVALID);
    ck_assert_int_eq(tp_ddb_value_i64(tp_ddb_m_get(back, "s"), &n), TP_E_INVALID);
    tp_ddb_value *frac;
    ck_assert_int_eq(tp_ddb_n_new(&frac, "1.5", &err), TP_OK);
    ck_assert_int_eq(tp_ddb_value_i64(frac, &n), TP_E_RANGE);
    tp_ddb_value_free(frac);
    ck_assert_int_eq(tp_ddb_n_new(&frac, "99999999999999999999", &err), TP_OK);
    ck_assert_int_eq(tp_ddb_value_i64(frac, &n), TP_E_RANGE);
    tp_ddb_value_free(frac);
    /* Setting into a non-map fails and frees the value. */
    ck_assert_int_eq(tp_ddb_s_new(&v, tp_cursor_from_str("x"), &err), TP_OK);
    ck_assert_int_eq(tp_ddb_m_set((tp_ddb_value *)tp_ddb_m_get(back, "s"), "k", v, &err),
                     TP_E_INVALID);
    ck_assert_int_eq(tp_ddb_s_new(&v, tp_cursor_from_str("x"), &err), TP_OK);
    ck_assert_int_eq(tp_ddb_m_set(m, "", v, &err), TP_E_INVALID);
    ck_assert_int_eq(tp_ddb_s_new(&v, tp_cursor_make("\xff\xfe", 2), &err), TP_E_INVALID);
    tp_ddb_value *copy;
    ck_assert_int_eq(tp_ddb_value_copy(&copy, back, &err), TP_OK);
    ck_assert(json_equal((json_t *)copy, (json_t *)m));
    tp_ddb_value_free(copy);
    tp_ddb_value_free(back);
    tp_ddb_value_free(m);
    tp_buf_dispose(&b);
}
END_TEST

static const struct {
    const char *json;
    tp_status want;
    const char *field;
} json_rows[] = {
    {"{\"S\":\"x\"}", TP_OK, ""},
    {"{\"M\":{\"a\":{\"L\":[{\"N\":\"1\"},{\"B\":\"AA==\"}]}}}", TP_OK, ""},
    {"{\"S\":1}", TP_E_PARSE, ""},
    {"{\"N\":\"1x\"}", TP_E_PARSE, ""},
    {"{\"B\":\"***\"}", TP_E_PARSE, ""},
    {"{\"BOOL\":\"true\"}", TP_E_PARSE, ""},
    {"{\"NULL\":false}", TP_E_PARSE, ""},
    {"{\"S\":\"x\",\"N\":\"1\"}", TP_E_PARSE, ""},
    {"{\"M\":{\"price\":{\"N\":\"abc\"}}}", TP_E_PARSE, "price"},
    /* what the service hands back for 1E+100 and 1E-130: readable */
    {"{\"M\":{\"big\":{\"N\":\"1" "0000000000" "0000000000" "0000000000" "0000000000"
     "0000000000" "0000000000" "0000000000" "0000000000" "0000000000" "0000000000\"}}}",
     TP_OK, ""},
    {"{\"N\":\"0.0000000000" "0000000000" "0000000000" "0000000000" "0000000000" "0000000000"
     "0000000000" "0000000000" "0000000000" "0000000000" "0000000000" "0000000000"
     "0000000001\"}", TP_OK, ""},
    {"{\"M\":{\"huge\":{\"N\":\"1E+126\"}}}", TP_E_RANGE, "huge"},
    {"{\"SS\":[\"a\",\"b\"]}", TP_OK, ""},
    {"{\"SS\":[]}", TP_E_PARSE, ""},
    {"{\"M\":{\"p\":{\"SS\":[1]}}}", TP_E_PARSE, "p"},
    {"{\"NS\":[\"1\"]}", TP_E_UNSUPPORTED, ""},
    {"{\"X\":1}", TP_E_UNSUPPORTED, ""},
    {"[1]", TP_E_PARSE, ""},
    {"{\"S\":\"a\"", TP_E_PARSE, ""},
    {"{\"S\":\"a\",\"S\":\"b\"}", TP_E_PARSE, ""},
};

START_TEST(test_from_json)
{
    tp_ddb_value *v = NULL;
    tp_error err;
    tp_error_clear(&err);
    tp_status st = tp_ddb_value_from_json(&v, tp_cursor_from_str(json_rows[_i].json), &err);
    ck_assert_msg(st == json_rows[_i].want, "row %d: %d (%s)", _i, st, err.message);
    if (st != TP_OK) {
        ck_assert_ptr_null(v);
        ck_assert_str_eq(err.field, json_rows[_i].field);
    }
    tp_ddb_value_free(v);
}
END_TEST

static const struct {
    const char *n;
    tp_status want;
    int64_t v;
} i64_rows[] = {
    {"0", TP_OK, 0},
    {"-0.000", TP_OK, 0},
    {"1E+3", TP_OK, 1000},
    {"1000.0", TP_OK, 1000},
    {"12.5e1", TP_OK, 125},
    {"-12.5E+1", TP_OK, -125},
    {"0.00042e7", TP_OK, 4200},
    {"9223372036854775807", TP_OK, INT64_MAX},
    {"-9223372036854775808", TP_OK, INT64_MIN},
    {"9.223372036854775807E18", TP_OK, INT64_MAX},
    {"9223372036854775808", TP_E_RANGE, 0},
    {"-9223372036854775809", TP_E_RANGE, 0},
    {"1E+19", TP_E_RANGE, 0},
    {"1.5", TP_E_RANGE, 0},
    {"1E-1", TP_E_RANGE, 0},
    {"125E-1", TP_E_RANGE, 0},
    {"1E-130", TP_E_RANGE, 0},
};

START_TEST(test_n_as_i64)
{
    tp_ddb_value *v = NULL;
    int64_t got = 42;
    ck_assert_int_eq(tp_ddb_n_new(&v, i64_rows[_i].n, NULL), TP_OK);
    tp_status st = tp_ddb_value_i64(v, &got);
    ck_assert_msg(st == i64_rows[_i].want, "row %d '%s': %d", _i, i64_rows[_i].n, st);
    if (st == TP_OK)
        ck_assert_msg(got == i64_rows[_i].v, "row %d: %lld", _i, (long long)got);
    tp_ddb_value_free(v);
}
END_TEST

START_TEST(test_depth_limit)
{
    tp_buf b;
    tp_error err;
    tp_buf_init(&b, NULL, 0);
    for (int i = 0; i < 40; i++)
        tp_buf_append_str(&b, "{\"L\":[", NULL);
    tp_buf_append_str(&b, "{\"S\":\"x\"}", NULL);
    for (int i = 0; i < 40; i++)
        tp_buf_append_str(&b, "]}", NULL);
    tp_ddb_value *v = NULL;
    ck_assert_int_eq(tp_ddb_value_from_json(&v, tp_buf_cursor(&b), &err), TP_E_PARSE);
    ck_assert_ptr_nonnull(strstr(err.message, "deeper"));
    tp_buf_dispose(&b);
}
END_TEST

static tpt_fault g_fault;

START_TEST(test_batch_unprocessed)
{
    tp_error err;
    tp_credentials_provider *cp;
    ck_assert_int_eq(tpt_fault_start(&g_fault), 0);
    ck_assert_int_eq(tp_credentials_provider_new_static(&cp, "AKID", "SECRET", NULL, NULL, &err),
                     TP_OK);
    tp_aws_client_options o = TP_AWS_CLIENT_OPTIONS_INIT;
    o.endpoint_url = g_fault.base;
    o.credentials = cp;
    o.region = "us-east-1";
    o.max_backoff_ms = 10;
    tp_dynamodb *d;
    ck_assert_int_eq(tp_dynamodb_new(&d, &o, &err), TP_OK);
    tp_ddb_value *items[30];
    for (int i = 0; i < 30; i++) {
        ck_assert_int_eq(tp_ddb_m_new(&items[i], &err), TP_OK);
        ck_assert_int_eq(tp_ddb_m_set_i64(items[i], "id", i, &err), TP_OK);
    }
    /* Batch 1 (25): two left unprocessed, then none; batch 2 (5): all done. */
    ck_assert_int_eq(
        tpt_fault_script(
            &g_fault,
            "[{\"body\":\"{\\\"UnprocessedItems\\\":{\\\"tbl\\\":[{\\\"PutRequest\\\":{\\\"Item\\\":"
            "{\\\"id\\\":{\\\"N\\\":\\\"3\\\"}}}},{\\\"PutRequest\\\":{\\\"Item\\\":{\\\"id\\\":{"
            "\\\"N\\\":\\\"7\\\"}}}}]}}\"},{\"body\":\"{\\\"UnprocessedItems\\\":{}}\"},"
            "{\"body\":\"{}\"}]"),
        0);
    size_t left = 99;
    ck_assert_int_eq(tp_dynamodb_batch_write(d, "tbl", (const tp_ddb_value *const *)items, 30,
                                             NULL, 0, 0, &left, &err),
                     TP_OK);
    ck_assert_uint_eq(left, 0);
    char *log = tpt_fault_log(&g_fault);
    json_t *j = json_loads(log, 0, NULL);
    ck_assert_uint_eq(json_array_size(j), 3);
    size_t want[3] = {25, 2, 5};
    for (size_t i = 0; i < 3; i++) {
        json_t *e = json_array_get(j, i);
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(e, "headers"),
                                                           "x-amz-target")),
                         "DynamoDB_20120810.BatchWriteItem");
        json_t *b = json_loads(json_string_value(json_object_get(e, "body")), 0, NULL);
        json_t *reqs = json_object_get(json_object_get(b, "RequestItems"), "tbl");
        ck_assert_uint_eq(json_array_size(reqs), want[i]);
        json_decref(b);
    }
    json_decref(j);
    free(log);

    /* Never processed: give up after max_rounds with the count left. */
    ck_assert_int_eq(tpt_fault_reset(&g_fault), 0);
    const char *stuck = "{\"body\":\"{\\\"UnprocessedItems\\\":{\\\"tbl\\\":[{\\\"DeleteRequest\\\":"
                        "{\\\"Key\\\":{\\\"id\\\":{\\\"N\\\":\\\"1\\\"}}}}]}}\"}";
    char script[1024];
    snprintf(script, sizeof script, "[%s,%s,%s]", stuck, stuck, stuck);
    ck_assert_int_eq(tpt_fault_script(&g_fault, script), 0);
    ck_assert_int_eq(tp_dynamodb_batch_write(d, "tbl", NULL, 0,
                                             (const tp_ddb_value *const *)items, 3, 3, &left, &err),
                     TP_E_THROTTLED);
    ck_assert_uint_eq(left, 1);
    ck_assert_ptr_nonnull(strstr(err.message, "unprocessed"));
    /* A non-map request is refused before sending, naming it. */
    tp_ddb_value *s;
    ck_assert_int_eq(tp_ddb_s_new(&s, tp_cursor_from_str("x"), &err), TP_OK);
    const tp_ddb_value *bad[2] = {items[0], s};
    ck_assert_int_eq(tp_dynamodb_batch_write(d, "tbl", bad, 2, NULL, 0, 0, NULL, &err),
                     TP_E_INVALID);
    ck_assert_uint_eq(err.offset, 1);
    tp_ddb_value_free(s);
    for (int i = 0; i < 30; i++)
        tp_ddb_value_free(items[i]);
    tp_dynamodb_free(d);
    tp_credentials_provider_free(cp);
    tpt_fault_stop(&g_fault);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("dynamodb");
    TCase *tc = tcase_create("values");
    tcase_add_loop_test(tc, test_numbers, 0, TP_ARRAY_LEN(num_rows));
    tcase_add_test(tc, test_value_tree);
    tcase_add_test(tc, test_string_set);
    tcase_add_loop_test(tc, test_from_json, 0, TP_ARRAY_LEN(json_rows));
    tcase_add_loop_test(tc, test_n_as_i64, 0, TP_ARRAY_LEN(i64_rows));
    tcase_add_test(tc, test_depth_limit);
    tcase_add_test(tc, test_batch_unprocessed);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tpt_run_suite(suite());
}
