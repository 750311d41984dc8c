/* Floor 4: the PutRecords answer scanner (the hot path) against jansson. */
#include "testutil.h"

#include "core/core_int.h"
#include "clients/kinesis_int.h"

static const struct {
    size_t n;
    const char *body;
    int handled;
    uint32_t failed;
} rows[] = {
    {2, "{\"FailedRecordCount\":1,\"Records\":[{\"SequenceNumber\":\"49\",\"ShardId\":\"shardId-0\"},"
        "{\"ErrorCode\":\"InternalFailure\",\"ErrorMessage\":\"Internal service failure.\"}]}",
     1, 1},
    {1, "{\"Records\":[{\"ShardId\":\"s\",\"SequenceNumber\":\"1\",\"EncryptionType\":\"KMS\"}],"
        "\"FailedRecordCount\":0,\"EncryptionType\":\"KMS\"}",
     1, 0},
    {1, " {\n \"FailedRecordCount\" : 0 ,\"Records\" : [ {\"SequenceNumber\":\"1\",\"ShardId\":\"s\"} ] }\n",
     1, 0},
    /* The services' own layout (the literal fast path), mixed with a failure
     * and with records whose tail or strings leave that path. */
    {3, "{\"FailedRecordCount\":1,\"Records\":[{\"SequenceNumber\":\"4959033827149025660855969\","
        "\"ShardId\":\"shardId-000000000001\"},{\"ErrorCode\":\"ProvisionedThroughputExceeded"
        "Exception\",\"ErrorMessage\":\"Rate exceeded\"},{\"SequenceNumber\":\"5\",\"ShardId\":"
        "\"shardId-000000000000\"}]}",
     1, 1},
    {3, "{\"FailedRecordCount\":0,\"Records\":[{\"ShardId\":\"shardId-000000000001\",\"SequenceNumber\""
        ":\"49590338271490256608559692538361571095921575989136588898\"},{\"ShardId\":\"s\","
        "\"SequenceNumber\":\"2\"},{\"SequenceNumber\":\"3\",\"ShardId\":\"t\"}]}",
     1, 0},
    {1, "{\"Records\":[{\"ShardId\":\"s\",\"ShardId\":\"t\"}]}", 0, 0},
    {2, "{\"Records\":[{\"SequenceNumber\":\"1\",\"ShardId\":\"s\",\"EncryptionType\":\"KMS\"},"
        "{\"SequenceNumber\":\"2\",\"ShardId\":\"t\" }]}",
     1, 0},
    {1, "{\"Records\":[{\"SequenceNumber\":\"1\",\"ShardId\":\"s\\u0031\"}]}", 0, 0},
    {1, "{\"Records\":[{\"SequenceNumber\":\"\",\"ShardId\":\"s\"}]}", 0, 0},
    {1, "{\"Records\":[{\"SequenceNumber\":\"1\",\"ShardId\":\"\xc3\xa9\"}]}", 0, 0},
    {1, "{\"Records\":[{\"SequenceNumber\":\"1\",\"ShardId\":\"s\"", 0, 0},
    /* Left to jansson: escapes, a count mismatch, a wrong FailedRecordCount,
     * nesting, a missing field, trailing bytes, a real number. */
    {1, "{\"Records\":[{\"SequenceNumber\":\"1\\u0031\",\"ShardId\":\"s\"}]}", 0, 0},
    {2, "{\"Records\":[{\"SequenceNumber\":\"1\",\"ShardId\":\"s\"}]}", 0, 0},
    {1, "{\"FailedRecordCount\":1,\"Records\":[{\"SequenceNumber\":\"1\",\"ShardId\":\"s\"}]}", 0,
     0},
    {1, "{\"Records\":[{\"SequenceNumber\":\"1\",\"ShardId\":\"s\",\"X\":{}}]}", 0, 0},
    {1, "{\"Records\":[{\"ShardId\":\"s\"}]}", 0, 0},
    {1, "{\"Records\":[{\"SequenceNumber\":\"1\",\"ShardId\":\"s\"}]} x", 0, 0},
    {1, "{\"FailedRecordCount\":0.0,\"Records\":[{\"SequenceNumber\":\"1\",\"ShardId\":\"s\"}]}", 0,
     0},
    {0, "", 0, 0},
};

START_TEST(test_scan_vs_jansson)
{
    tp_kinesis_put_result a[4], b[4];
    ck_assert(rows[_i].n <= 4);
    uint32_t fa = 99, fb = 99;
    tp_error err;
    tp_cursor body = tp_cursor_from_str(rows[_i].body);
    int handled = tp_kinesis__scan_put_records(body, rows[_i].n, a, &fa);
    ck_assert_int_eq(handled, rows[_i].handled);
    if (!handled)
        return;
    ck_assert_uint_eq(fa, rows[_i].failed);
    ck_assert_int_eq(tp_kinesis__parse_put_records_json(body, rows[_i].n, b, &fb, &err), TP_OK);
    ck_assert_uint_eq(fa, fb);
    for (size_t i = 0; i < rows[_i].n; i++) {
        ck_assert_str_eq(a[i].shard_id, b[i].shard_id);
        ck_assert_str_eq(a[i].sequence_number, b[i].sequence_number);
        ck_assert_str_eq(a[i].error_code, b[i].error_code);
        ck_assert_str_eq(a[i].error_message, b[i].error_message);
    }
}
END_TEST

START_TEST(test_jansson_errors)
{
    tp_kinesis_put_result r[2];
    uint32_t f;
    tp_error err;
    ck_assert_int_eq(tp_kinesis__parse_put_records_json(
                         tp_cursor_from_str("{\"Records\":[{\"ShardId\":\"s\"}]}"), 1, r, &f, &err),
                     TP_E_PARSE);
    ck_assert_str_eq(err.field, "SequenceNumber");
    ck_assert_uint_eq(err.offset, 0);
    ck_assert_int_eq(tp_kinesis__parse_put_records_json(tp_cursor_from_str("{\"Records\":[]}"), 2,
                                                        r, &f, &err),
                     TP_E_PARSE);
    ck_assert_str_eq(err.field, "Records");
    ck_assert_int_eq(tp_kinesis__parse_put_records_json(tp_cursor_from_str("{\"Rec"), 1, r, &f,
                                                        &err),
                     TP_E_PARSE);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("kinesis_scan");
    TCase *tc = tcase_create("scan");
    tcase_add_loop_test(tc, test_scan_vs_jansson, 0, TP_ARRAY_LEN(rows));
    tcase_add_test(tc, test_jansson_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tpt_run_suite(suite());
}
