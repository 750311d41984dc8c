/* Floor 4: the Kinesis client's limits, against canned answers of the
 * scripted fault fixture (tests/fixtures/fault_server.py): record size as the
 * service counts it (data + partition key), the PutRecords request cap, one
 * bad entry failing alone, and DescribeStreamSummary's MaxRecordSizeInKiB /
 * UpdateMaxRecordSize, which kinesalite 3.3.3 does not have. Answers follow
 * the Response Syntax of the Kinesis Data Streams API reference
 * (DescribeStreamSummary, UpdateMaxRecordSize: "HTTP 200 with an empty
 * body", PutRecords). */
#include "testutil.h"

#include "../fixtures/fault.h"
#include "core/core_int.h"

#include <jansson.h>

static tpt_fault g_fault;
static tp_credentials_provider *g_creds;
static tp_kinesis *g_k;

static const char ARN[] = "arn:aws:kinesis:us-west-2:123456789012:stream/s";

static void setup(void)
{
    tp_error err;
    ck_assert_msg(tpt_fault_start(&g_fault) == 0, "fault server did not start");
    ck_assert_int_eq(tp_credentials_provider_new_static(&g_creds, "AKIDEXAMPLE", "SECRETSECRET",
                                                        NULL, NULL, &err),
                     TP_OK);
    tp_aws_client_options o = TP_AWS_CLIENT_OPTIONS_INIT;
    o.max_attempts = 1;
    o.region = "us-west-2";
    o.endpoint_url = g_fault.base;
    o.credentials = g_creds;
    ck_assert_msg(tp_kinesis_new(&g_k, &o, &err) == TP_OK, "%s", err.message);
}

static void teardown(void)
{
    tp_kinesis_free(g_k);
    tp_credentials_provider_free(g_creds);
    tpt_fault_stop(&g_fault);
}

/* Queue one 200 answer with `body` (any text). */
static void answer(const char *body)
{
    json_t *a = json_pack("[{s:i,s:s}]", "status", 200, "body", body);
    char *s = json_dumps(a, JSON_COMPACT);
    ck_assert_int_eq(tpt_fault_script(&g_fault, s), 0);
    free(s);
    json_decref(a);
}

/* The requests served: a JSON array (caller decrefs). */
static json_t *requests(void)
{
    char *log = tpt_fault_log(&g_fault);
    json_t *j = json_loads(log, 0, NULL);
    free(log);
    ck_assert_ptr_nonnull(j);
    return j;
}

static const char *target_of(json_t *req)
{
    return json_string_value(json_object_get(json_object_get(req, "headers"), "x-amz-target"));
}

static json_t *body_of(json_t *req)
{
    const char *b = json_string_value(json_object_get(req, "body"));
    ck_assert_ptr_nonnull(b);
    json_t *j = json_loads(b, 0, NULL);
    ck_assert_ptr_nonnull(j);
    return j;
}

static char *summary(const char *max_kib_member)
{
    static char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"StreamDescriptionSummary\":{\"ConsumerCount\":0,\"EncryptionType\":\"NONE\","
             "\"EnhancedMonitoring\":[{\"ShardLevelMetrics\":[]}],%s\"OpenShardCount\":2,"
             "\"RetentionPeriodHours\":24,\"StreamARN\":\"%s\",\"StreamCreationTimestamp\":"
             "1761137915.123,\"StreamModeDetails\":{\"StreamMode\":\"PROVISIONED\"},"
             "\"StreamName\":\"s\",\"StreamStatus\":\"ACTIVE\"}}",
             max_kib_member, ARN);
    return buf;
}

START_TEST(test_describe_max_record_size)
{
    tp_error err;
    tp_kinesis_stream_summary s;
    answer(summary("\"MaxRecordSizeInKiB\":10240,"));
    ck_assert_int_eq(tp_kinesis_describe_stream_summary(g_k, "s", &s, &err), TP_OK);
    ck_assert_uint_eq(s.max_record_kib, 10240);
    ck_assert_uint_eq(s.max_record_bytes, 10u << 20);
    ck_assert_str_eq(s.arn, ARN);
    ck_assert_str_eq(s.stream_mode, "PROVISIONED");

    /* Not reported (kinesalite, older answers): the default, 1 MiB. */
    answer(summary(""));
    ck_assert_int_eq(tp_kinesis_describe_stream_summary(g_k, "s", &s, &err), TP_OK);
    ck_assert_uint_eq(s.max_record_kib, 0);
    ck_assert_uint_eq(s.max_record_bytes, 1u << 20);

    /* Out of range or of the wrong type: a parse error naming the member. */
    const char *bad[] = {"\"MaxRecordSizeInKiB\":20000,", "\"MaxRecordSizeInKiB\":0,",
                         "\"MaxRecordSizeInKiB\":-1,", "\"MaxRecordSizeInKiB\":\"1024\","};
    for (size_t i = 0; i < TP_ARRAY_LEN(bad); i++) {
        answer(summary(bad[i]));
        ck_assert_int_eq(tp_kinesis_describe_stream_summary(g_k, "s", &s, &err), TP_E_PARSE);
        ck_assert_str_eq(err.field, "MaxRecordSizeInKiB");
    }
}
END_TEST

START_TEST(test_load_limits)
{
    tp_error err;
    tp_kinesis_limits l;
    tp_kinesis_get_limits(g_k, &l);
    ck_assert_uint_eq(l.max_records, 500);
    ck_assert_uint_eq(l.max_record_bytes, 1u << 20);
    ck_assert_uint_eq(l.max_request_bytes, 10u << 20);

    answer(summary("\"MaxRecordSizeInKiB\":4096,"));
    ck_assert_int_eq(tp_kinesis_load_limits(g_k, "s", NULL, &err), TP_OK);
    tp_kinesis_get_limits(g_k, &l);
    ck_assert_uint_eq(l.max_record_bytes, 4u << 20);
    ck_assert_uint_eq(l.max_request_bytes, 10u << 20);

    /* A record of 4 MiB, key included, goes out; one byte more does not. */
    size_t n = (4u << 20) - 2;
    uint8_t *big = calloc(1, n + 1);
    tp_kinesis_put_result pr;
    answer("{\"ShardId\":\"shardId-000000000001\",\"SequenceNumber\":\"4955\"}");
    ck_assert_int_eq(tp_kinesis_put_record(g_k, "s", tp_cursor_make(big, n), "pk", NULL, NULL,
                                           &pr, &err),
                     TP_OK);
    ck_assert_int_eq(tp_kinesis_put_record(g_k, "s", tp_cursor_make(big, n + 1), "pk", NULL, NULL,
                                           &pr, &err),
                     TP_E_TOO_LARGE);
    ck_assert_str_eq(err.field, "Data");
    ck_assert_ptr_nonnull(strstr(err.message, "4194304"));
    free(big);
    json_t *j = requests();
    ck_assert_uint_eq(json_array_size(j), 2); /* describe, one put */
    json_decref(j);

    /* Limits in range only. */
    tp_kinesis_limits bad = TP_KINESIS_LIMITS_INIT;
    bad.max_record_bytes = (10u << 20) + 1;
    ck_assert_int_eq(tp_kinesis_set_limits(g_k, &bad, &err), TP_E_INVALID);
    ck_assert_str_eq(err.field, "max_record_bytes");
    bad = (tp_kinesis_limits)TP_KINESIS_LIMITS_INIT;
    bad.max_records = 501;
    ck_assert_int_eq(tp_kinesis_set_limits(g_k, &bad, &err), TP_E_INVALID);
    ck_assert_str_eq(err.field, "max_records");
    bad = (tp_kinesis_limits)TP_KINESIS_LIMITS_INIT;
    bad.max_request_bytes = (10u << 20) + 1;
    ck_assert_int_eq(tp_kinesis_set_limits(g_k, &bad, &err), TP_E_INVALID);
    ck_assert_str_eq(err.field, "max_request_bytes");
    bad = (tp_kinesis_limits)TP_KINESIS_LIMITS_INIT;
    bad.version = 9;
    ck_assert_int_eq(tp_kinesis_set_limits(g_k, &bad, &err), TP_E_INVALID);
    ck_assert_int_eq(tp_kinesis_limits_init(&bad, 9), TP_E_INVALID);
    ck_assert_int_eq(tp_kinesis_limits_init(&bad, TP_KINESIS_LIMITS_VERSION), TP_OK);
    ck_assert_int_eq(tp_kinesis_set_limits(g_k, &bad, &err), TP_OK); /* back to defaults */
    tp_kinesis_get_limits(g_k, &l);
    ck_assert_uint_eq(l.max_record_bytes, 1u << 20);
}
END_TEST

START_TEST(test_update_max_record_size)
{
    tp_error err;
    /* By name: the ARN is read first, then UpdateMaxRecordSize names it. */
    answer(summary(""));
    answer("");
    ck_assert_msg(tp_kinesis_update_max_record_size(g_k, "s", 5120, &err) == TP_OK, "%s",
                  err.message);
    json_t *j = requests();
    ck_assert_uint_eq(json_array_size(j), 2);
    ck_assert_str_eq(target_of(json_array_get(j, 0)), "Kinesis_20131202.DescribeStreamSummary");
    ck_assert_str_eq(target_of(json_array_get(j, 1)), "Kinesis_20131202.UpdateMaxRecordSize");
    json_t *b = body_of(json_array_get(j, 1));
    ck_assert_str_eq(json_string_value(json_object_get(b, "StreamARN")), ARN);
    ck_assert_int_eq(json_integer_value(json_object_get(b, "MaxRecordSizeInKiB")), 5120);
    ck_assert_uint_eq(json_object_size(b), 2);
    json_decref(b);
    json_decref(j);

    /* By ARN: one request. */
    ck_assert_int_eq(tpt_fault_reset(&g_fault), 0);
    answer("");
    ck_assert_int_eq(tp_kinesis_update_max_record_size(g_k, ARN, 10240, &err), TP_OK);
    j = requests();
    ck_assert_uint_eq(json_array_size(j), 1);
    json_decref(j);

    /* Out of range: refused before any request. */
    ck_assert_int_eq(tpt_fault_reset(&g_fault), 0);
    ck_assert_int_eq(tp_kinesis_update_max_record_size(g_k, ARN, 1023, &err), TP_E_INVALID);
    ck_assert_str_eq(err.field, "MaxRecordSizeInKiB");
    ck_assert_int_eq(tp_kinesis_update_max_record_size(g_k, ARN, 10241, &err), TP_E_INVALID);
    j = requests();
    ck_assert_uint_eq(json_array_size(j), 0);
    json_decref(j);

    /* The service's refusal comes back as it is. */
    ck_assert_int_eq(
        tpt_fault_script(&g_fault, "[{\"status\":400,\"body\":\"{\\\"__type\\\":\\\"Validation"
                                   "Exception\\\",\\\"message\\\":\\\"1 validation error"
                                   "\\\"}\"}]"),
        0);
    ck_assert_int_eq(tp_kinesis_update_max_record_size(g_k, ARN, 2048, &err), TP_E_AWS);
    ck_assert_str_eq(err.aws_code, "ValidationException");
}
END_TEST

/* One bad entry fails alone: the good ones are sent, packed, and their
 * answers land at their own indexes. */
START_TEST(test_bad_entries_fail_alone)
{
    tp_error err;
    static uint8_t big[1u << 20];
    tp_kinesis_entry e[6] = {
        {tp_cursor_from_str("a"), "k0", NULL},
        {tp_cursor_make(big, (1u << 20) - 1), "k1", NULL}, /* 1 MiB + 1 with its key */
        {tp_cursor_from_str("c"), "k2", "42"},
        {tp_cursor_from_str("d"), "k3", "0042"},                 /* leading zeros */
        {tp_cursor_from_str("e"), "k\xc3", NULL},                /* not UTF-8 */
        {tp_cursor_make(big, (1u << 20) - 2), "k5", NULL},       /* exactly 1 MiB */
    };
    answer("{\"FailedRecordCount\":1,\"Records\":[{\"SequenceNumber\":\"100\",\"ShardId\":"
           "\"shardId-000000000000\"},{\"ErrorCode\":\"ProvisionedThroughputExceededException\","
           "\"ErrorMessage\":\"Rate exceeded\"},{\"SequenceNumber\":\"102\",\"ShardId\":"
           "\"shardId-000000000001\"}]}");
    tp_kinesis_put_result res[6];
    uint32_t failed = 0;
    ck_assert_msg(tp_kinesis_put_records(g_k, "s", e, 6, res, &failed, &err) == TP_OK, "%s",
                  err.message);
    ck_assert_uint_eq(failed, 4);
    ck_assert_str_eq(res[0].sequence_number, "100");
    ck_assert_str_eq(res[0].error_code, "");
    ck_assert_str_eq(res[1].error_code, TP_KINESIS_ERR_TOO_LARGE);
    ck_assert_ptr_nonnull(strstr(res[1].error_message, "record 1"));
    ck_assert_ptr_nonnull(strstr(res[1].error_message, "1048577"));
    ck_assert_str_eq(res[2].error_code, "ProvisionedThroughputExceededException");
    ck_assert_str_eq(res[3].error_code, TP_KINESIS_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(res[3].error_message, "explicit hash key"));
    ck_assert_str_eq(res[4].error_code, TP_KINESIS_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(res[4].error_message, "UTF-8"));
    ck_assert_str_eq(res[5].sequence_number, "102");
    ck_assert_str_eq(res[5].shard_id, "shardId-000000000001");
    json_t *j = requests();
    ck_assert_uint_eq(json_array_size(j), 1);
    json_decref(j);

    /* PutRecord refuses the same records with the same detail. */
    tp_kinesis_put_result pr;
    ck_assert_int_eq(tp_kinesis_put_record(g_k, "s", e[3].data, "k3", "0042", NULL, &pr, &err),
                     TP_E_INVALID);
    ck_assert_str_eq(err.field, "ExplicitHashKey");
    ck_assert_uint_eq(err.offset, 1);
    ck_assert_int_eq(tp_kinesis_put_record(g_k, "s", e[4].data, "k\xc3", NULL, NULL, &pr, &err),
                     TP_E_INVALID);
    ck_assert_str_eq(err.field, "PartitionKey");
    ck_assert_uint_eq(err.offset, 1);
}
END_TEST

/* The request's total, data + partition keys, is capped: entries are taken in
 * order while they fit; later ones, even small, are left for the next call. */
START_TEST(test_request_cap)
{
    tp_error err;
    tp_kinesis_limits l = TP_KINESIS_LIMITS_INIT;
    l.max_request_bytes = 100;
    ck_assert_int_eq(tp_kinesis_set_limits(g_k, &l, &err), TP_OK);
    char d[41];
    memset(d, 'x', 38);
    d[38] = 0;
    tp_kinesis_entry e[4] = {{tp_cursor_from_str(d), "k0", NULL}, /* 40 */
                             {tp_cursor_from_str(d), "k1", NULL}, /* 80 */
                             {tp_cursor_from_str(d), "k2", NULL}, /* 120: over */
                             {tp_cursor_from_str("s"), "k3", NULL}};
    answer("{\"FailedRecordCount\":0,\"Records\":[{\"SequenceNumber\":\"1\",\"ShardId\":\"a\"},"
           "{\"SequenceNumber\":\"2\",\"ShardId\":\"a\"}]}");
    tp_kinesis_put_result res[4];
    uint32_t failed = 0;
    ck_assert_int_eq(tp_kinesis_put_records(g_k, "s", e, 4, res, &failed, &err), TP_OK);
    ck_assert_uint_eq(failed, 2);
    ck_assert_str_eq(res[0].sequence_number, "1");
    ck_assert_str_eq(res[1].sequence_number, "2");
    ck_assert_str_eq(res[2].error_code, TP_KINESIS_ERR_NOT_SENT);
    ck_assert_str_eq(res[3].error_code, TP_KINESIS_ERR_NOT_SENT);
    json_t *j = requests();
    ck_assert_uint_eq(json_array_size(j), 1);
    json_t *b = body_of(json_array_get(j, 0));
    json_t *recs = json_object_get(b, "Records");
    ck_assert_uint_eq(json_array_size(recs), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(recs, 1), "PartitionKey")),
                     "k1");
    json_decref(b);
    json_decref(j);

    /* Nothing to send: no request at all. */
    ck_assert_int_eq(tpt_fault_reset(&g_fault), 0);
    tp_kinesis_entry none[2] = {{tp_cursor_from_str("x"), "", NULL},
                                {tp_cursor_from_str("y"), "k", "x"}};
    ck_assert_int_eq(tp_kinesis_put_records(g_k, "s", none, 2, res, &failed, &err), TP_OK);
    ck_assert_uint_eq(failed, 2);
    ck_assert_str_eq(res[0].error_code, TP_KINESIS_ERR_INVALID);
    ck_assert_str_eq(res[1].error_code, TP_KINESIS_ERR_INVALID);
    j = requests();
    ck_assert_uint_eq(json_array_size(j), 0);
    json_decref(j);

    /* max_records is a cap on n. */
    l.max_records = 2;
    ck_assert_int_eq(tp_kinesis_set_limits(g_k, &l, &err), TP_OK);
    ck_assert_int_eq(tp_kinesis_put_records(g_k, "s", e, 3, res, &failed, &err), TP_E_INVALID);
    ck_assert_str_eq(err.field, "Records");
}
END_TEST

/* 500 entries of 1 MiB each (the 667 MiB body): ten are sent, in a
 * body of about 13 MiB, the 490 others wait. */
START_TEST(test_request_cap_default)
{
    tp_error err;
    enum { N = 500 };
    static uint8_t big[1u << 20];
    static tp_kinesis_entry e[N];
    static tp_kinesis_put_result res[N];
    for (int i = 0; i < N; i++) {
        e[i].data = tp_cursor_make(big, (1u << 20) - 4);
        e[i].partition_key = "k000"; /* 4 bytes: each record is exactly 1 MiB */
        e[i].explicit_hash_key = NULL;
    }
    tp_buf ans;
    tp_buf_init(&ans, NULL, 0);
    tp_buf_append_str(&ans, "{\"FailedRecordCount\":0,\"Records\":[", NULL);
    for (int i = 0; i < 10; i++)
        tp_buf_appendf(&ans, NULL, "%s{\"SequenceNumber\":\"%d\",\"ShardId\":\"a\"}", i ? "," : "",
                       i);
    tp_buf_append_str(&ans, "]}", NULL);
    answer((const char *)ans.ptr);
    tp_buf_dispose(&ans);
    uint32_t failed = 0;
    ck_assert_msg(tp_kinesis_put_records(g_k, "s", e, N, res, &failed, &err) == TP_OK, "%s",
                  err.message);
    ck_assert_uint_eq(failed, N - 10);
    ck_assert_str_eq(res[9].sequence_number, "9");
    ck_assert_str_eq(res[10].error_code, TP_KINESIS_ERR_NOT_SENT);
    ck_assert_str_eq(res[N - 1].error_code, TP_KINESIS_ERR_NOT_SENT);
    json_t *j = requests();
    ck_assert_uint_eq(json_array_size(j), 1);
    json_decref(j);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("kinesis_limits");
    TCase *tc = tcase_create("limits");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_describe_max_record_size);
    tcase_add_test(tc, test_load_limits);
    tcase_add_test(tc, test_update_max_record_size);
    tcase_add_test(tc, test_bad_entries_fail_alone);
    tcase_add_test(tc, test_request_cap);
    tcase_add_test(tc, test_request_cap_default);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tpt_run_suite(suite());
}
