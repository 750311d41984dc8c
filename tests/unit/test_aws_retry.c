/* Floor 3-4: retries, the retry quota, clock-skew correction and error
 * detail, through the Kinesis client, against the scripted fault fixture
 * (tests/fixtures/fault_server.py): what the emulators cannot do. */
#include "testutil.h"

#include "../fixtures/fault.h"
#include "core/core_int.h"

#include <jansson.h>

static tpt_fault g_fault;
static tp_credentials_provider *g_creds;

static void setup(void)
{
    tp_error err;
    ck_assert_msg(tpt_fault_start(&g_fault) == 0, "fault server did not start");
    ck_assert_int_eq(tp_credentials_provider_new_static(&g_creds, "AKIDEXAMPLE", "SECRETSECRET",
                                                        NULL, NULL, &err),
                     TP_OK);
}

static void teardown(void)
{
    tp_credentials_provider_free(g_creds);
    tpt_fault_stop(&g_fault);
}

typedef struct {
    const char *vars[4];
} fake_env;

static const char *fake_getenv(const char *name, void *payload)
{
    fake_env *e = payload;
    for (int i = 0; i < 4 && e->vars[i]; i += 2)
        if (strcmp(e->vars[i], name) == 0)
            return e->vars[i + 1];
    return NULL;
}

static tp_kinesis *client(uint32_t max_attempts, uint32_t quota, uint32_t timeout_ms,
                          size_t max_resp, fake_env *env)
{
    static fake_env empty;
    tp_aws_client_options o = TP_AWS_CLIENT_OPTIONS_INIT;
    tp_http_options ho = TP_HTTP_OPTIONS_INIT;
    tp_kinesis *k = NULL;
    tp_error err;
    ho.timeout_ms = timeout_ms;
    ho.max_response_bytes = max_resp;
    o.http = &ho;
    o.max_attempts = max_attempts;
    o.retry_quota = quota;
    o.max_backoff_ms = 20;
    o.region = "us-west-2";
    o.endpoint_url = g_fault.base;
    o.credentials = g_creds;
    o.getenv_fn = fake_getenv;
    o.getenv_payload = env ? env : &empty;
    ck_assert_msg(tp_kinesis_new(&k, &o, &err) == TP_OK, "%s", err.message);
    return k;
}

#define OK_PUT "{\"status\":200,\"body\":\"{\\\"ShardId\\\":\\\"shardId-000000000001\\\",\\\"SequenceNumber\\\":\\\"4955\\\"}\"}"
#define THROTTLE                                                                                   \
    "{\"status\":400,\"headers\":{\"x-amzn-RequestId\":\"req-123\"},\"body\":\"{\\\"__type\\\":"     \
    "\\\"ProvisionedThroughputExceededException\\\",\\\"message\\\":\\\"Rate exceeded for "         \
    "shard\\\"}\"}"
#define S503 "{\"status\":503,\"body\":\"<html>Service Unavailable</html>\"}"
#define EXPIRED                                                                                    \
    "{\"status\":400,\"body\":\"{\\\"__type\\\":\\\"ExpiredTokenException\\\",\\\"message\\\":"     \
    "\\\"The security token included in the request is expired\\\"}\"}"

static const struct {
    const char *name;
    const char *script;
    uint32_t max_attempts, quota, timeout_ms;
    size_t max_resp;
    tp_status want;
    int want_requests;
    int32_t want_http;
    const char *want_code, *want_msg, *want_reqid;
} rows[] = {
    {"503 twice then OK", "[" S503 "," S503 "," OK_PUT "]", 0, 0, 0, 0, TP_OK, 3, 0, "", "", ""},
    {"throttled out", "[" THROTTLE "," THROTTLE "," THROTTLE "]", 0, 0, 0, 0, TP_E_THROTTLED, 3,
     400, "ProvisionedThroughputExceededException", "Rate exceeded for shard", "req-123"},
    {"throttled, 5 attempts", "[" THROTTLE "," THROTTLE "," THROTTLE "," THROTTLE "," OK_PUT "]", 5,
     0, 0, 0, TP_OK, 5, 0, "", "", ""},
    {"validation not retried",
     "[{\"status\":400,\"body\":\"{\\\"__type\\\":\\\"com.amazonaws.kinesis.v20131202#"
     "ValidationException\\\",\\\"Message\\\":\\\"1 validation error\\\"}\"}]",
     0, 0, 0, 0, TP_E_AWS, 1, 400, "ValidationException", "1 validation error", ""},
    {"5xx with HTML out", "[" S503 "," S503 "," S503 "]", 0, 0, 0, 0, TP_E_AWS, 3, 503, "",
     "HTTP 503", ""},
    {"reset then OK", "[{\"mode\":\"reset\"}," OK_PUT "]", 0, 0, 0, 0, TP_OK, 2, 0, "", "", ""},
    {"truncated out",
     "[{\"mode\":\"truncate\",\"body\":\"{\\\"ShardId\\\":\\\"x\\\"}\"},{\"mode\":\"truncate\","
     "\"body\":\"{\\\"ShardId\\\":\\\"x\\\"}\"},{\"mode\":\"reset_mid\",\"body\":\"{\\\"ShardId\\\":"
     "\\\"x\\\"}\"}]",
     0, 0, 0, 0, TP_E_HTTP, 3, 200, "", "curl error", ""},
    {"timeout then OK", "[{\"mode\":\"slow\",\"delay_ms\":1500}," OK_PUT "]", 0, 0, 300, 0, TP_OK,
     2, 0, "", "", ""},
    {"malformed 200 not retried", "[{\"status\":200,\"body\":\"{\\\"ShardId\\\":\"}]", 0, 0, 0, 0,
     TP_E_PARSE, 1, 200, "", "not a JSON object", ""},
    {"200 lacking a field", "[{\"status\":200,\"body\":\"{\\\"ShardId\\\":\\\"s\\\"}\"}]", 0, 0, 0,
     0, TP_E_PARSE, 1, 0, "", "SequenceNumber", ""},
    {"huge not retried", "[{\"body\":\"0123456789\",\"repeat\":100000}]", 0, 0, 0, 50000,
     TP_E_TOO_LARGE, 1, 200, "", "over the limit", ""},
    {"quota exhausted", "[" S503 "," S503 "," S503 "," S503 "," OK_PUT "]", 5, 12, 0, 0, TP_E_AWS,
     3, 503, "", "retry quota exhausted", ""},
    {"one attempt", "[" THROTTLE "," OK_PUT "]", 1, 0, 0, 0, TP_E_THROTTLED, 1, 400,
     "ProvisionedThroughputExceededException", "", "req-123"},
    {"RequestTimeout code retried",
     "[{\"status\":400,\"body\":\"{\\\"__type\\\":\\\"RequestTimeout\\\"}\"}," OK_PUT "]", 0, 0, 0,
     0, TP_OK, 2, 0, "", "", ""},
    /* expired credentials: refreshed and retried once, at once and at no
     * quota cost; a second refusal is the answer */
    {"expired token refreshed", "[" EXPIRED "," OK_PUT "]", 0, 0, 0, 0, TP_OK, 2, 0, "", "", ""},
    {"expired token twice", "[" EXPIRED "," EXPIRED "," OK_PUT "]", 0, 0, 0, 0, TP_E_AWS, 2, 400,
     "ExpiredTokenException", "security token included in the request is expired", ""},
    {"expired token after a 503", "[" S503 "," EXPIRED "," OK_PUT "]", 0, 0, 0, 0, TP_OK, 3, 0, "",
     "", ""},
    /* long-term keys (no session token): InvalidClientTokenId is final */
    {"unknown key id not retried",
     "[{\"status\":400,\"body\":\"{\\\"__type\\\":\\\"InvalidClientTokenId\\\"}\"}," OK_PUT "]",
     0, 0, 0, 0, TP_E_AWS, 1, 400, "InvalidClientTokenId", "", ""},
    {"not found", "[{\"status\":400,\"body\":\"{\\\"__type\\\":\\\"ResourceNotFoundException\\\","
                  "\\\"message\\\":\\\"Stream s under account 1 not found.\\\"}\"}]",
     0, 0, 0, 0, TP_E_NOT_FOUND, 1, 400, "ResourceNotFoundException", "not found", ""},
};

START_TEST(test_retry_table)
{
    tp_kinesis *k = client(rows[_i].max_attempts, rows[_i].quota, rows[_i].timeout_ms,
                           rows[_i].max_resp, NULL);
    tp_error err;
    tp_kinesis_put_result pr;
    tp_error_clear(&err);
    ck_assert_int_eq(tpt_fault_script(&g_fault, rows[_i].script), 0);
    tp_status st = tp_kinesis_put_record(k, "s", tp_cursor_from_str("data"), "pk", NULL, NULL,
                                         &pr, &err);
    ck_assert_msg(st == rows[_i].want, "%s: got %d (%s)", rows[_i].name, st, err.message);
    char *log = tpt_fault_log(&g_fault);
    json_t *j = json_loads(log, 0, NULL);
    ck_assert_msg((int)json_array_size(j) == rows[_i].want_requests, "%s: %zu requests",
                  rows[_i].name, json_array_size(j));
    /* Every attempt is signed afresh and numbered. */
    for (size_t i = 0; i < json_array_size(j); i++) {
        json_t *h = json_object_get(json_array_get(j, i), "headers");
        const char *auth = json_string_value(json_object_get(h, "authorization"));
        ck_assert_ptr_nonnull(auth);
        ck_assert_ptr_nonnull(strstr(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"));
        ck_assert_ptr_nonnull(strstr(auth, "/us-west-2/kinesis/aws4_request"));
        ck_assert_str_eq(json_string_value(json_object_get(h, "x-amz-target")),
                         "Kinesis_20131202.PutRecord");
        ck_assert_str_eq(json_string_value(json_object_get(h, "content-type")),
                         "application/x-amz-json-1.1");
        char want[48];
        snprintf(want, sizeof want, "attempt=%zu; max=%u", i + 1,
                 rows[_i].max_attempts ? rows[_i].max_attempts : 3);
        ck_assert_str_eq(json_string_value(json_object_get(h, "amz-sdk-request")), want);
    }
    json_decref(j);
    free(log);
    if (st == TP_OK) {
        ck_assert_str_eq(pr.shard_id, "shardId-000000000001");
        ck_assert_str_eq(pr.sequence_number, "4955");
    } else {
        ck_assert_int_eq(err.code, st);
        if (st != TP_E_PARSE)
            ck_assert_uint_eq(err.attempts, rows[_i].want_requests);
        ck_assert_int_eq(err.http_status, rows[_i].want_http);
        ck_assert_str_eq(err.aws_code, rows[_i].want_code);
        ck_assert_msg(strstr(err.message, rows[_i].want_msg), "%s: message '%s'", rows[_i].name,
                      err.message);
        ck_assert_str_eq(err.request_id, rows[_i].want_reqid);
        ck_assert_ptr_null(strstr(err.message, "SECRETSECRET"));
    }
    tp_kinesis_free(k);
}
END_TEST

/* A source that counts its fetches and gives temporary credentials. */
static int g_fetches;

static tp_status counting_fetch(void *payload, const tp_credentials **out, int64_t now_ms,
                                tp_error *err)
{
    (void)payload;
    g_fetches++;
    return tp_credentials_new(out, "ASIATEMP", "SECRETSECRET", "TOKEN", now_ms + 3600 * 1000, NULL,
                              err);
}

START_TEST(test_expired_token_refresh)
{
    static const tp_credentials_source src = {TP_CREDENTIALS_SOURCE_VERSION, 0, "counting",
                                              counting_fetch, NULL};
    tp_credentials_provider *temp, *chain;
    tp_error err;
    ck_assert_int_eq(tp_credentials_provider_new_custom(&temp, &src, NULL, NULL, &err), TP_OK);
    ck_assert_int_eq(tp_credentials_provider_new_chain(&chain, &temp, 1, NULL, &err), TP_OK);
    tp_credentials_provider *saved = g_creds;
    g_creds = chain; /* through a chain: the refresh reaches the provider that gave them */
    tp_kinesis *k = client(0, 0, 0, 0, NULL);
    g_fetches = 0;
    tp_kinesis_put_result pr;
    static const char *const codes[] = {"ExpiredTokenException", "ExpiredToken",
                                        "InvalidClientTokenId"};
    for (size_t i = 0; i < TP_ARRAY_LEN(codes); i++) {
        char script[512];
        snprintf(script, sizeof script,
                 "[" OK_PUT ",{\"status\":400,\"body\":\"{\\\"__type\\\":\\\"%s\\\"}\"}," OK_PUT
                 "]",
                 codes[i]);
        ck_assert_int_eq(tpt_fault_reset(&g_fault), 0);
        ck_assert_int_eq(tpt_fault_script(&g_fault, script), 0);
        int before = g_fetches;
        ck_assert_int_eq(tp_kinesis_put_record(k, "s", tp_cursor_from_str("d"), "pk", NULL, NULL,
                                               &pr, &err),
                         TP_OK);
        ck_assert_int_eq(g_fetches, before + (i == 0 ? 1 : 0)); /* cached */
        ck_assert_msg(tp_kinesis_put_record(k, "s", tp_cursor_from_str("d"), "pk", NULL, NULL, &pr,
                                            &err) == TP_OK,
                      "%s: %s", codes[i], err.message);
        ck_assert_int_eq(g_fetches, before + (i == 0 ? 2 : 1)); /* one refresh */
        char *log = tpt_fault_log(&g_fault);
        json_t *j = json_loads(log, 0, NULL);
        ck_assert_uint_eq(json_array_size(j), 3);
        const char *tok = json_string_value(
            json_object_get(json_object_get(json_array_get(j, 2), "headers"), "x-amz-security-token"));
        ck_assert_str_eq(tok, "TOKEN");
        json_decref(j);
        free(log);
    }
    tp_kinesis_free(k);
    g_creds = saved;
    tp_credentials_provider_free(chain);
}
END_TEST

START_TEST(test_max_attempts_env)
{
    fake_env env = {{"AWS_MAX_ATTEMPTS", "2"}};
    tp_kinesis *k = client(0, 0, 0, 0, &env);
    tp_error err;
    tp_kinesis_put_result pr;
    ck_assert_int_eq(tpt_fault_script(&g_fault, "[" S503 "," S503 "," OK_PUT "]"), 0);
    ck_assert_int_eq(tp_kinesis_put_record(k, "s", tp_cursor_from_str("d"), "pk", NULL, NULL, &pr,
                                           &err),
                     TP_E_AWS);
    ck_assert_uint_eq(err.attempts, 2);
    tp_kinesis_free(k);

    fake_env bad = {{"AWS_MAX_ATTEMPTS", "lots"}};
    tp_aws_client_options o = TP_AWS_CLIENT_OPTIONS_INIT;
    o.endpoint_url = g_fault.base;
    o.credentials = g_creds;
    o.getenv_fn = fake_getenv;
    o.getenv_payload = &bad;
    ck_assert_int_eq(tp_kinesis_new(&k, &o, &err), TP_E_CONFIG);
    ck_assert_str_eq(err.field, "AWS_MAX_ATTEMPTS");
}
END_TEST

START_TEST(test_quota_refills)
{
    /* A bucket of 10: one retried call takes 5 and gives it back on success;
     * successes without retries add 1 up to the cap. */
    tp_kinesis *k = client(3, 10, 0, 0, NULL);
    tp_error err;
    tp_kinesis_put_result pr;
    for (int round = 0; round < 4; round++) {
        ck_assert_int_eq(tpt_fault_script(&g_fault, "[" S503 "," OK_PUT "]"), 0);
        ck_assert_int_eq(tp_kinesis_put_record(k, "s", tp_cursor_from_str("d"), "pk", NULL, NULL,
                                               &pr, &err),
                         TP_OK);
    }
    /* Two failing retries drain it; the next call cannot retry at all. */
    ck_assert_int_eq(tpt_fault_script(&g_fault, "[" S503 "," S503 "," S503 "]"), 0);
    ck_assert_int_eq(tp_kinesis_put_record(k, "s", tp_cursor_from_str("d"), "pk", NULL, NULL, &pr,
                                           &err),
                     TP_E_AWS);
    ck_assert_uint_eq(err.attempts, 3);
    ck_assert_int_eq(tpt_fault_script(&g_fault, "[" S503 "," OK_PUT "]"), 0);
    ck_assert_int_eq(tp_kinesis_put_record(k, "s", tp_cursor_from_str("d"), "pk", NULL, NULL, &pr,
                                           &err),
                     TP_E_AWS);
    ck_assert_uint_eq(err.attempts, 1);
    ck_assert_ptr_nonnull(strstr(err.message, "retry quota exhausted"));
    tp_kinesis_free(k);
}
END_TEST

START_TEST(test_clock_skew)
{
    tp_kinesis *k = client(0, 0, 0, 0, NULL);
    tp_error err;
    tp_kinesis_put_result pr;
    ck_assert_int_eq(
        tpt_fault_script(&g_fault,
                         "[{\"status\":400,\"headers\":{\"Date\":\"Sun, 06 Nov 1994 08:49:37 GMT\"},"
                         "\"body\":\"{\\\"__type\\\":\\\"InvalidSignatureException\\\",\\\"message\\\""
                         ":\\\"Signature expired\\\"}\"}," OK_PUT "]"),
        0);
    ck_assert_msg(tp_kinesis_put_record(k, "s", tp_cursor_from_str("d"), "pk", NULL, NULL, &pr,
                                        &err) == TP_OK,
                  "%s", err.message);
    char *log = tpt_fault_log(&g_fault);
    json_t *j = json_loads(log, 0, NULL);
    ck_assert_uint_eq(json_array_size(j), 2);
    const char *d1 = json_string_value(
        json_object_get(json_object_get(json_array_get(j, 0), "headers"), "x-amz-date"));
    const char *d2 = json_string_value(
        json_object_get(json_object_get(json_array_get(j, 1), "headers"), "x-amz-date"));
    ck_assert(strncmp(d1, "20", 2) == 0 && strncmp(d1, "1994", 4) != 0);
    /* The retry was signed with the service's clock. */
    ck_assert_msg(strncmp(d2, "19941106T0849", 13) == 0, "x-amz-date %s", d2);
    json_decref(j);
    free(log);

    /* Same error with our clock already right: not retried. */
    ck_assert_int_eq(tpt_fault_reset(&g_fault), 0);
    ck_assert_int_eq(
        tpt_fault_script(&g_fault,
                         "[{\"status\":400,\"headers\":{\"Date\":\"Sun, 06 Nov 1994 08:49:37 GMT\"},"
                         "\"body\":\"{\\\"__type\\\":\\\"InvalidSignatureException\\\"}\"}," OK_PUT
                         "]"),
        0);
    ck_assert_int_eq(tp_kinesis_put_record(k, "s", tp_cursor_from_str("d"), "pk", NULL, NULL, &pr,
                                           &err),
                     TP_E_AWS);
    ck_assert_str_eq(err.aws_code, "InvalidSignatureException");
    ck_assert_uint_eq(err.attempts, 1);
    tp_kinesis_free(k);
}
END_TEST

START_TEST(test_put_records_partial)
{
    tp_kinesis *k = client(0, 0, 0, 0, NULL);
    tp_error err;
    tp_kinesis_entry e[3] = {{tp_cursor_from_str("a"), "k1", NULL},
                             {tp_cursor_from_str("b"), "k2", "12345"},
                             {tp_cursor_from_str("c"), "k3", NULL}};
    tp_kinesis_put_result r[3];
    uint32_t failed = 0;
    ck_assert_int_eq(
        tpt_fault_script(
            &g_fault,
            "[{\"body\":\"{\\\"FailedRecordCount\\\":2,\\\"Records\\\":[{\\\"SequenceNumber\\\":"
            "\\\"1\\\",\\\"ShardId\\\":\\\"shardId-000000000000\\\"},{\\\"ErrorCode\\\":"
            "\\\"ProvisionedThroughputExceededException\\\",\\\"ErrorMessage\\\":\\\"Rate exceeded "
            "for shard shardId-000000000001\\\"},{\\\"ErrorCode\\\":\\\"InternalFailure\\\","
            "\\\"ErrorMessage\\\":\\\"Internal service failure.\\\"}]}\"}]"),
        0);
    ck_assert_int_eq(tp_kinesis_put_records(k, "s", e, 3, r, &failed, &err), TP_OK);
    ck_assert_uint_eq(failed, 2);
    ck_assert_str_eq(r[0].error_code, "");
    ck_assert_str_eq(r[0].sequence_number, "1");
    ck_assert_str_eq(r[1].error_code, "ProvisionedThroughputExceededException");
    ck_assert_str_eq(r[1].error_message, "Rate exceeded for shard shardId-000000000001");
    ck_assert_str_eq(r[2].error_code, "InternalFailure");
    /* The request we sent. */
    char *log = tpt_fault_log(&g_fault);
    json_t *j = json_loads(log, 0, NULL);
    json_t *body = json_loads(json_string_value(json_object_get(json_array_get(j, 0), "body")), 0,
                              NULL);
    ck_assert_ptr_nonnull(body);
    ck_assert_str_eq(json_string_value(json_object_get(body, "StreamName")), "s");
    json_t *recs = json_object_get(body, "Records");
    ck_assert_uint_eq(json_array_size(recs), 3);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(recs, 1), "ExplicitHashKey")),
                     "12345");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(recs, 2), "Data")), "Yw==");
    json_decref(body);
    json_decref(j);
    free(log);

    /* An answer with the wrong number of records. */
    ck_assert_int_eq(tpt_fault_script(&g_fault, "[{\"body\":\"{\\\"FailedRecordCount\\\":0,"
                                                "\\\"Records\\\":[]}\"}]"),
                     0);
    ck_assert_int_eq(tp_kinesis_put_records(k, "s", e, 3, r, &failed, &err), TP_E_PARSE);
    ck_assert_str_eq(err.field, "Records");
    tp_kinesis_free(k);
}
END_TEST

START_TEST(test_list_shards_paging)
{
    tp_kinesis *k = client(0, 0, 0, 0, NULL);
    tp_error err;
#define SHARD(id, parent)                                                                          \
    "{\\\"ShardId\\\":\\\"" id "\\\"," parent "\\\"HashKeyRange\\\":{\\\"StartingHashKey\\\":"      \
    "\\\"0\\\",\\\"EndingHashKey\\\":\\\"9\\\"},\\\"SequenceNumberRange\\\":{"                      \
    "\\\"StartingSequenceNumber\\\":\\\"1\\\"}}"
    ck_assert_int_eq(
        tpt_fault_script(&g_fault, "[{\"body\":\"{\\\"Shards\\\":[" SHARD("shardId-1", "")
                                   "],\\\"NextToken\\\":\\\"tok-1\\\"}\"},{\"body\":\"{\\\"Shards\\\""
                                   ":[" SHARD("shardId-2", "\\\"ParentShardId\\\":\\\"shardId-1\\\",")
                                   "]}\"}]"),
        0);
    tp_kinesis_shards sh = {0};
    ck_assert_int_eq(tp_kinesis_list_shards(k, "s", 1, &sh, &err), TP_OK);
    ck_assert_uint_eq(sh.count, 2);
    ck_assert_uint_eq(sh.pages, 2);
    ck_assert_str_eq(sh.shards[1].shard_id, "shardId-2");
    ck_assert_str_eq(sh.shards[1].parent_shard_id, "shardId-1");
    char *log = tpt_fault_log(&g_fault);
    json_t *j = json_loads(log, 0, NULL);
    json_t *b1 = json_loads(json_string_value(json_object_get(json_array_get(j, 0), "body")), 0,
                            NULL);
    json_t *b2 = json_loads(json_string_value(json_object_get(json_array_get(j, 1), "body")), 0,
                            NULL);
    ck_assert_str_eq(json_string_value(json_object_get(b1, "StreamName")), "s");
    ck_assert_int_eq(json_integer_value(json_object_get(b1, "MaxResults")), 1);
    ck_assert_ptr_null(json_object_get(b2, "StreamName"));
    ck_assert_str_eq(json_string_value(json_object_get(b2, "NextToken")), "tok-1");
    json_decref(b1);
    json_decref(b2);
    json_decref(j);
    free(log);
    /* A shard without its ranges is refused, naming the field. */
    ck_assert_int_eq(tpt_fault_script(&g_fault, "[{\"body\":\"{\\\"Shards\\\":[{\\\"ShardId\\\":"
                                                "\\\"x\\\"}]}\"}]"),
                     0);
    ck_assert_int_eq(tp_kinesis_list_shards(k, "s", 0, &sh, &err), TP_E_PARSE);
    ck_assert_str_eq(err.field, "HashKeyRange");
    ck_assert_uint_eq(sh.count, 0);
    tp_kinesis_free(k);
}
END_TEST

START_TEST(test_get_records_children)
{
    tp_kinesis *k = client(0, 0, 0, 0, NULL);
    tp_error err;
    tp_kinesis_records r = {0};
    ck_assert_int_eq(
        tpt_fault_script(
            &g_fault,
            "[{\"body\":\"{\\\"Records\\\":[{\\\"Data\\\":\\\"aGk=\\\",\\\"SequenceNumber\\\":"
            "\\\"7\\\",\\\"PartitionKey\\\":\\\"p\\\",\\\"ApproximateArrivalTimestamp\\\":"
            "1761137915.123}],\\\"MillisBehindLatest\\\":42,\\\"ChildShards\\\":[{\\\"ShardId\\\":"
            "\\\"shardId-3\\\",\\\"ParentShards\\\":[\\\"shardId-1\\\",\\\"shardId-2\\\"],"
            "\\\"HashKeyRange\\\":{\\\"StartingHashKey\\\":\\\"0\\\",\\\"EndingHashKey\\\":"
            "\\\"99\\\"}}]}\"},"
            "{\"body\":\"{\\\"Records\\\":[{\\\"Data\\\":\\\"aGk=\\\",\\\"SequenceNumber\\\":"
            "\\\"7\\\",\\\"PartitionKey\\\":\\\"p\\\"},{\\\"Data\\\":\\\"not base64!\\\","
            "\\\"SequenceNumber\\\":\\\"8\\\",\\\"PartitionKey\\\":\\\"p\\\"}]}\"}]"),
        0);
    ck_assert_int_eq(tp_kinesis_get_records(k, "it", 0, &r, &err), TP_OK);
    ck_assert_uint_eq(r.count, 1);
    ck_assert_uint_eq(r.records[0].data.len, 2);
    ck_assert(memcmp(r.records[0].data.ptr, "hi", 2) == 0);
    ck_assert_int_eq(r.records[0].arrival_ms, 1761137915123LL);
    ck_assert_ptr_null(r.next_shard_iterator);
    ck_assert_int_eq(r.millis_behind_latest, 42);
    ck_assert_uint_eq(r.child_count, 1);
    ck_assert_str_eq(r.child_shards[0].shard_id, "shardId-3");
    ck_assert_uint_eq(r.child_shards[0].parent_count, 2);
    ck_assert_str_eq(r.child_shards[0].parent_shards[1], "shardId-2");
    ck_assert_str_eq(r.child_shards[0].hash_key_end, "99");
    ck_assert_int_eq(tp_kinesis_get_records(k, "it", 0, &r, &err), TP_E_PARSE);
    ck_assert_str_eq(err.field, "Data");
    ck_assert_uint_eq(err.offset, 1);
    ck_assert_uint_eq(r.count, 0);
    tp_kinesis_records_dispose(&r);
    tp_kinesis_free(k);
}
END_TEST

START_TEST(test_oom_sweep)
{
    const char *page = "[{\"body\":\"{\\\"Records\\\":[{\\\"Data\\\":\\\"aGk=\\\",\\\"SequenceNumber\\\":"
                       "\\\"7\\\",\\\"PartitionKey\\\":\\\"p\\\"}],\\\"NextShardIterator\\\":\\\"n\\\"}\"}]";
    for (long n = 1; n < 60; n++) {
        tpt_failing_alloc fa;
        tpt_failing_alloc_init(&fa, n);
        tp_aws_client_options o = TP_AWS_CLIENT_OPTIONS_INIT;
        o.endpoint_url = g_fault.base;
        o.credentials = g_creds;
        o.region = "us-east-1";
        o.alloc = &fa.a;
        tp_kinesis *k = NULL;
        tp_error err;
        tp_status st = tp_kinesis_new(&k, &o, &err);
        if (st == TP_OK) {
            ck_assert_int_eq(tpt_fault_reset(&g_fault), 0);
            ck_assert_int_eq(tpt_fault_script(&g_fault, page), 0);
            tp_kinesis_records r = {0};
            st = tp_kinesis_get_records(k, "it", 0, &r, &err);
            if (st == TP_OK)
                ck_assert_uint_eq(r.count, 1);
            tp_kinesis_records_dispose(&r);
            tp_kinesis_free(k);
        }
        if (st != TP_OK)
            ck_assert_msg(st == TP_E_NOMEM, "n=%ld: %d %s", n, st, err.message);
        ck_assert_int_eq(fa.live, 0);
    }
}
END_TEST

/* kinesalite 3.3.3 has no UpdateShardCount: its request and answer here. */
START_TEST(test_update_shard_count)
{
    tp_kinesis *k = client(0, 0, 0, 0, NULL);
    tp_error err;
    uint32_t cur = 0;
    ck_assert_int_eq(tpt_fault_script(&g_fault, "[{\"body\":\"{\\\"StreamName\\\":\\\"s\\\","
                                                "\\\"CurrentShardCount\\\":2,\\\"TargetShardCount\\\":4}\"}]"),
                     0);
    ck_assert_int_eq(tp_kinesis_update_shard_count(k, "s", 4, &cur, &err), TP_OK);
    ck_assert_uint_eq(cur, 2);
    char *log = tpt_fault_log(&g_fault);
    json_t *j = json_loads(log, 0, NULL);
    json_t *e = json_array_get(j, 0);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(e, "headers"),
                                                       "x-amz-target")),
                     "Kinesis_20131202.UpdateShardCount");
    json_t *b = json_loads(json_string_value(json_object_get(e, "body")), 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(b, "StreamName")), "s");
    ck_assert_int_eq(json_integer_value(json_object_get(b, "TargetShardCount")), 4);
    ck_assert_str_eq(json_string_value(json_object_get(b, "ScalingType")), "UNIFORM_SCALING");
    json_decref(b);
    json_decref(j);
    free(log);
    /* A LimitExceededException is throttling in the standard mode. */
    ck_assert_int_eq(tpt_fault_script(&g_fault, "[{\"status\":400,\"body\":\"{\\\"__type\\\":"
                                                "\\\"LimitExceededException\\\"}\"},{\"status\":400,"
                                                "\"body\":\"{\\\"__type\\\":\\\"LimitExceededException"
                                                "\\\"}\"},{\"status\":400,\"body\":\"{\\\"__type\\\":"
                                                "\\\"LimitExceededException\\\"}\"}]"),
                     0);
    ck_assert_int_eq(tp_kinesis_update_shard_count(k, "arn:aws:kinesis:us-east-1:1:stream/s", 4,
                                                   NULL, &err),
                     TP_E_THROTTLED);
    ck_assert_uint_eq(err.attempts, 3);
    log = tpt_fault_log(&g_fault);
    j = json_loads(log, 0, NULL);
    b = json_loads(json_string_value(json_object_get(json_array_get(j, 1), "body")), 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(b, "StreamARN")),
                     "arn:aws:kinesis:us-east-1:1:stream/s");
    ck_assert_ptr_null(json_object_get(b, "StreamName"));
    json_decref(b);
    json_decref(j);
    free(log);
    tp_kinesis_free(k);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("aws_retry");
    TCase *tc = tcase_create("fault");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_retry_table, 0, TP_ARRAY_LEN(rows));
    tcase_add_test(tc, test_max_attempts_env);
    tcase_add_test(tc, test_expired_token_refresh);
    tcase_add_test(tc, test_quota_refills);
    tcase_add_test(tc, test_clock_skew);
    tcase_add_test(tc, test_put_records_partial);
    tcase_add_test(tc, test_list_shards_paging);
    tcase_add_test(tc, test_get_records_children);
    tcase_add_test(tc, test_oom_sweep);
    tcase_add_test(tc, test_update_shard_count);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tpt_run_suite(suite());
}
