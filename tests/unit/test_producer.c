/* Floor 5: the producer against the scripted fault fixture, for what
 * kinesalite cannot do: throttled entries, 5xx answers, resets (a lost
 * answer: possible duplicates counted), expiry after the time-to-live,
 * final errors, per-key order through retries, the buffered-bytes cap.
 * The script's answers are built with jansson (readable, and always valid
 * JSON). */
#include "testutil.h"

#include "../fixtures/fault.h"
#include "core/core_int.h"
#include "tradepipe/producer.h"

#include <jansson.h>
#include <pthread.h>
#include <unistd.h>

#define MAXREC 16

static tpt_fault g_fault;
static tp_credentials_provider *g_creds;

typedef struct outcome {
    pthread_mutex_t mu;
    int done[MAXREC];
    tp_status status[MAXREC];
    uint32_t attempts[MAXREC];
    char first_code[MAXREC][64];
    int64_t sub[MAXREC];
    char seq[MAXREC][64];
    int order[MAXREC]; /* completion order */
    int n;
} outcome;

static outcome g_out;

static void on_done(const tp_producer_result *r, void *payload)
{
    outcome *o = payload;
    int i = (int)(intptr_t)r->user;
    pthread_mutex_lock(&o->mu);
    o->done[i]++;
    o->status[i] = r->status;
    o->attempts[i] = r->n_attempts;
    snprintf(o->first_code[i], sizeof o->first_code[i], "%s",
             r->n_attempts ? r->attempts[0].error_code : "");
    o->sub[i] = r->sub_sequence;
    snprintf(o->seq[i], sizeof o->seq[i], "%s", r->sequence_number);
    o->order[o->n++] = i;
    pthread_mutex_unlock(&o->mu);
}

static void setup(void)
{
    tp_error err;
    ck_assert_int_eq(tpt_fault_start(&g_fault), 0);
    ck_assert_int_eq(tp_credentials_provider_new_static(&g_creds, "AKID", "SECRET", NULL, NULL,
                                                        &err),
                     TP_OK);
    memset(&g_out, 0, sizeof g_out);
    pthread_mutex_init(&g_out.mu, NULL);
}

static void teardown(void)
{
    tp_credentials_provider_free(g_creds);
    tpt_fault_stop(&g_fault);
}

/* ---- scripted answers ------------------------------------------------------------ */

static json_t *answer(int status, json_t *body)
{
    json_t *a = json_object();
    json_object_set_new(a, "status", json_integer(status));
    char *text = json_dumps(body, JSON_COMPACT);
    json_object_set_new(a, "body", json_string(text));
    free(text);
    json_decref(body);
    return a;
}

static json_t *summary(void)
{
    return answer(200, json_pack("{s:{s:s,s:s,s:s,s:i,s:i,s:f,s:i}}", "StreamDescriptionSummary",
                                 "StreamName", "s", "StreamARN",
                                 "arn:aws:kinesis:us-east-1:123456789012:stream/s", "StreamStatus",
                                 "ACTIVE", "OpenShardCount", 1, "RetentionPeriodHours", 24,
                                 "StreamCreationTimestamp", 1761137915.0, "ConsumerCount", 0));
}

static json_t *one_shard(void)
{
    return answer(200, json_pack("{s:[{s:s,s:{s:s,s:s},s:{s:s}}]}", "Shards", "ShardId",
                                 "shardId-000000000000", "HashKeyRange", "StartingHashKey", "0",
                                 "EndingHashKey", "340282366920938463463374607431768211455",
                                 "SequenceNumberRange", "StartingSequenceNumber", "1"));
}

/* A PutRecords answer: codes[i] NULL for a written record. */
static json_t *put_answer(int n, const char *const *codes)
{
    json_t *recs = json_array();
    int failed = 0;
    static int seq = 1000;
    for (int i = 0; i < n; i++) {
        if (codes && codes[i]) {
            failed++;
            json_array_append_new(recs, json_pack("{s:s,s:s}", "ErrorCode", codes[i],
                                                  "ErrorMessage", "Rate exceeded for shard"));
        } else {
            char s[32];
            snprintf(s, sizeof s, "4960%d", seq++);
            json_array_append_new(recs, json_pack("{s:s,s:s}", "ShardId", "shardId-000000000000",
                                                  "SequenceNumber", s));
        }
    }
    return answer(200, json_pack("{s:i,s:o}", "FailedRecordCount", failed, "Records", recs));
}

static void script(json_t *actions)
{
    char *text = json_dumps(actions, JSON_COMPACT);
    ck_assert_int_eq(tpt_fault_script(&g_fault, text), 0);
    free(text);
    json_decref(actions);
}

static tp_producer *producer(int aggregate, uint32_t ttl_ms, uint64_t max_buffered,
                             const char *dlq)
{
    tp_aws_client_options ao = TP_AWS_CLIENT_OPTIONS_INIT;
    ao.endpoint_url = g_fault.base;
    ao.credentials = g_creds;
    ao.region = "us-east-1";
    ao.max_backoff_ms = 10;
    tp_producer_options o;
    tp_producer_options_init(&o, TP_PRODUCER_OPTIONS_VERSION);
    o.stream = "s";
    o.aws = &ao;
    o.aggregate = aggregate;
    o.linger_ms = 300; /* the puts of a test go in one request (flush sends at once) */
    o.record_ttl_ms = ttl_ms;
    o.max_buffered_bytes = max_buffered;
    o.dead_letter_path = dlq;
    o.on_done = on_done;
    o.on_done_payload = &g_out;
    tp_producer *p = NULL;
    tp_error err;
    ck_assert_msg(tp_producer_new(&p, &o, &err) == TP_OK, "%s", err.message);
    return p;
}

static void put(tp_producer *p, int i, const char *key, const char *data)
{
    tp_producer_record r = {tp_cursor_from_str(data), key, NULL, (void *)(intptr_t)i};
    tp_error err;
    ck_assert_msg(tp_producer_put(p, &r, 1000, &err) == TP_OK, "%s", err.message);
}

/* The PutRecords bodies the fixture received, as JSON. */
static json_t *put_bodies(void)
{
    char *log = tpt_fault_log(&g_fault);
    json_t *all = json_loads(log, 0, NULL);
    free(log);
    json_t *out = json_array();
    for (size_t i = 0; i < json_array_size(all); i++) {
        json_t *e = json_array_get(all, i);
        const char *t =
            json_string_value(json_object_get(json_object_get(e, "headers"), "x-amz-target"));
        if (t && !strcmp(t, "Kinesis_20131202.PutRecords"))
            json_array_append_new(out, json_loads(json_string_value(json_object_get(e, "body")), 0,
                                                  NULL));
    }
    json_decref(all);
    return out;
}

/* ---- tests -------------------------------------------------------------------------- */

START_TEST(test_throttled_entry_retried_alone)
{
    static const char *const codes[] = {NULL, "ProvisionedThroughputExceededException", NULL};
    script(json_pack("[o,o,o,o]", summary(), one_shard(), put_answer(3, codes),
                     put_answer(1, NULL)));
    tp_producer *p = producer(0, 0, 0, NULL);
    put(p, 0, "A", "a0");
    put(p, 1, "B", "b0");
    put(p, 2, "C", "c0");
    tp_error err;
    ck_assert_int_eq(tp_producer_flush(p, 10000, &err), TP_OK);
    tp_producer_stats st;
    tp_producer_get_stats(p, &st);
    tp_producer_close(p);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(g_out.done[i], 1);
        ck_assert_int_eq(g_out.status[i], TP_OK);
        ck_assert_int_eq(g_out.sub[i], -1);
    }
    ck_assert_uint_eq(g_out.attempts[1], 2);
    ck_assert_str_eq(g_out.first_code[1], "ProvisionedThroughputExceededException");
    ck_assert_uint_eq(g_out.attempts[0], 1);
    ck_assert_uint_eq(st.throttles, 1);
    ck_assert_uint_eq(st.retries, 1);
    ck_assert_uint_eq(st.possible_duplicates, 0);
    ck_assert_uint_eq(st.requests, 2);
    /* only the throttled entry was sent again */
    json_t *b = put_bodies();
    ck_assert_uint_eq(json_array_size(b), 2);
    json_t *second = json_object_get(json_array_get(b, 1), "Records");
    ck_assert_uint_eq(json_array_size(second), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(second, 0), "PartitionKey")),
                     "B");
    json_decref(b);
}
END_TEST

START_TEST(test_5xx_and_reset)
{
    /* a 503 is an answer: retried, no duplicate possible; an answer cut
     * off half-way (the service did the work) is lost: retried, and the
     * records counted as possible duplicates. (A connection reset before
     * any byte of the answer may be retried by curl itself on a fresh
     * connection, when the connection was a reused one: not scripted here.) */
    json_t *cut = put_answer(2, NULL);
    json_object_set_new(cut, "mode", json_string("reset_mid"));
    script(json_pack("[o,o,o,o,o]", summary(), one_shard(),
                     answer(503, json_pack("{s:s}", "message", "Service Unavailable")), cut,
                     put_answer(2, NULL)));
    tp_producer *p = producer(0, 0, 0, NULL);
    put(p, 0, "A", "a0");
    put(p, 1, "B", "b0");
    tp_error err;
    tp_producer_stats st;
    tp_status fst = tp_producer_flush(p, 20000, &err);
    tp_producer_get_stats(p, &st);
    ck_assert_msg(fst == TP_OK, "flush: %s; requests %llu, retries %llu, pending %llu, in flight %u",
                  err.message, (unsigned long long)st.requests, (unsigned long long)st.retries,
                  (unsigned long long)st.user_records_pending, st.requests_in_flight);
    tp_producer_close(p);
    ck_assert_int_eq(g_out.status[0], TP_OK);
    ck_assert_int_eq(g_out.status[1], TP_OK);
    ck_assert_uint_eq(g_out.attempts[0], 3);
    ck_assert_uint_eq(st.requests, 3);
    ck_assert_uint_eq(st.retries, 4); /* two records, twice */
    ck_assert_uint_eq(st.possible_duplicates, 2);
    ck_assert_uint_eq(st.user_records_put, 2);
}
END_TEST

START_TEST(test_same_key_order_through_retries)
{
    /* A#0 throttled twice: A#1 waits behind it (one record of a key in
     * flight), B goes on */
    static const char *const thr[] = {"ProvisionedThroughputExceededException", NULL};
    static const char *const thr1[] = {"ProvisionedThroughputExceededException"};
    script(json_pack("[o,o,o,o,o,o,o]", summary(), one_shard(), put_answer(2, thr),
                     put_answer(1, thr1), put_answer(1, NULL), put_answer(1, NULL),
                     put_answer(1, NULL)));
    tp_producer *p = producer(0, 0, 0, NULL);
    put(p, 0, "A", "a0");
    put(p, 1, "B", "b0");
    put(p, 2, "A", "a1");
    tp_error err;
    ck_assert_int_eq(tp_producer_flush(p, 20000, &err), TP_OK);
    tp_producer_close(p);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(g_out.status[i], TP_OK);
    /* a0 reached the service (its last attempt) before a1 was ever sent */
    json_t *b = put_bodies();
    int a0_last = -1, a1_first = -1;
    for (size_t i = 0; i < json_array_size(b); i++) {
        json_t *recs = json_object_get(json_array_get(b, i), "Records");
        for (size_t j = 0; j < json_array_size(recs); j++) {
            const char *d = json_string_value(json_object_get(json_array_get(recs, j), "Data"));
            if (!strcmp(d, "YTA=")) /* a0 */
                a0_last = (int)i;
            if (!strcmp(d, "YTE=") && a1_first < 0) /* a1 */
                a1_first = (int)i;
        }
    }
    json_decref(b);
    ck_assert_int_ge(a0_last, 0);
    ck_assert_int_gt(a1_first, a0_last);
    ck_assert_uint_eq(g_out.attempts[0], 3);
}
END_TEST

START_TEST(test_expiry_and_final_errors)
{
    char dlq[] = "/tmp/tp-producer-dlq-XXXXXX";
    int fd = mkstemp(dlq);
    ck_assert_int_ge(fd, 0);
    close(fd);
    static const char *const thr1[] = {"ProvisionedThroughputExceededException"};
    json_t *acts = json_pack("[o,o]", summary(), one_shard());
    for (int i = 0; i < 40; i++)
        json_array_append_new(acts, put_answer(1, thr1));
    script(acts);
    tp_producer *p = producer(0, 400, 0, dlq);
    put(p, 0, "A", "a0");
    tp_error err;
    ck_assert_int_eq(tp_producer_flush(p, 20000, &err), TP_OK);
    ck_assert_int_eq(g_out.status[0], TP_E_TIMEOUT);
    ck_assert_uint_ge(g_out.attempts[0], 2);
    ck_assert_str_eq(g_out.first_code[0], "ProvisionedThroughputExceededException");
    tp_producer_stats st;
    tp_producer_get_stats(p, &st);
    ck_assert_uint_eq(st.user_records_expired, 1);
    /* a final request error: every record of it fails at once */
    ck_assert_int_eq(tpt_fault_reset(&g_fault), 0);
    script(json_pack("[o]", answer(400, json_pack("{s:s,s:s}", "__type",
                                                  "ResourceNotFoundException", "message",
                                                  "Stream s not found."))));
    put(p, 1, "B", "b0");
    put(p, 2, "C", "c0");
    ck_assert_int_eq(tp_producer_flush(p, 20000, &err), TP_OK);
    tp_producer_close(p);
    ck_assert_int_eq(g_out.status[1], TP_E_NOT_FOUND);
    ck_assert_int_eq(g_out.status[2], TP_E_NOT_FOUND);
    ck_assert_uint_eq(g_out.attempts[1], 1);
    ck_assert_str_eq(g_out.first_code[1], "ResourceNotFoundException");
    /* the dead-letter file holds exactly those three */
    FILE *f = fopen(dlq, "r");
    char line[4096];
    int n = 0;
    const char *want[] = {"YTA=", "YjA=", "YzA="};
    while (fgets(line, sizeof line, f)) {
        json_t *j = json_loads(line, 0, NULL);
        ck_assert_ptr_nonnull(j);
        int hit = 0;
        for (int i = 0; i < 3; i++)
            hit += !strcmp(json_string_value(json_object_get(j, "data")), want[i]);
        ck_assert_int_eq(hit, 1);
        json_decref(j);
        n++;
    }
    fclose(f);
    remove(dlq);
    ck_assert_int_eq(n, 3);
}
END_TEST

START_TEST(test_aggregated_sub_sequences)
{
    script(json_pack("[o,o,o]", summary(), one_shard(), put_answer(1, NULL)));
    tp_producer *p = producer(1, 0, 0, NULL);
    put(p, 0, "A", "a0");
    put(p, 1, "B", "b0");
    put(p, 2, "A", "a1");
    tp_error err;
    ck_assert_int_eq(tp_producer_flush(p, 10000, &err), TP_OK);
    tp_producer_close(p);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(g_out.status[i], TP_OK);
        ck_assert_int_eq(g_out.sub[i], i);
        ck_assert_str_eq(g_out.seq[i], g_out.seq[0]);
    }
    json_t *b = put_bodies();
    ck_assert_uint_eq(json_array_size(b), 1);
    json_t *rec = json_array_get(json_object_get(json_array_get(b, 0), "Records"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(rec, "PartitionKey")), "A");
    ck_assert_ptr_nonnull(json_string_value(json_object_get(rec, "ExplicitHashKey")));
    /* the magic F3 89 9A C2 in base64 */
    ck_assert(!strncmp(json_string_value(json_object_get(rec, "Data")), "84maw", 5));
    json_decref(b);
}
END_TEST

START_TEST(test_buffer_cap)
{
    /* the answer takes a second: meanwhile the cap is reached and put says
     * full (timeout 0) or waits for room (timeout) */
    script(json_pack("[o,o,{s:s,s:i,s:s}]", summary(), one_shard(), "mode", "slow", "delay_ms",
                     800, "body", "{\"FailedRecordCount\":0,\"Records\":[{\"ShardId\":"
                                  "\"shardId-000000000000\",\"SequenceNumber\":\"1\"}]}"));
    tp_producer *p = producer(0, 0, 1024, NULL);
    char big[600];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    tp_producer_record r = {tp_cursor_from_str(big), "A", NULL, (void *)(intptr_t)0};
    tp_error err;
    ck_assert_int_eq(tp_producer_put(p, &r, 0, &err), TP_OK);
    r.user = (void *)(intptr_t)1;
    ck_assert_int_eq(tp_producer_put(p, &r, 0, &err), TP_E_LIMIT);
    ck_assert_ptr_nonnull(strstr(err.message, "full"));
    tp_producer_stats st;
    tp_producer_get_stats(p, &st);
    ck_assert_uint_le(st.buffered_bytes, 1024);
    ck_assert_uint_eq(st.user_records_received, 1);
    /* with a wait, room comes once the first is written */
    script(json_pack("[o]", put_answer(1, NULL)));
    ck_assert_int_eq(tp_producer_put(p, &r, 5000, &err), TP_OK);
    ck_assert_int_eq(tp_producer_flush(p, 10000, &err), TP_OK);
    tp_producer_close(p);
    ck_assert_int_eq(g_out.status[0], TP_OK);
    ck_assert_int_eq(g_out.status[1], TP_OK);
}
END_TEST

START_TEST(test_bad_options_and_records)
{
    tp_producer *p = NULL;
    tp_error err;
    tp_producer_options o;
    ck_assert_int_eq(tp_producer_options_init(&o, 99), TP_E_INVALID);
    tp_producer_options_init(&o, TP_PRODUCER_OPTIONS_VERSION);
    ck_assert_int_eq(tp_producer_new(&p, &o, &err), TP_E_INVALID);
    ck_assert_str_eq(err.field, "stream");
    script(json_pack("[o,o]", summary(), one_shard()));
    p = producer(1, 0, 0, NULL);
    tp_producer_record r = {tp_cursor_from_str("x"), "", NULL, NULL};
    ck_assert_int_eq(tp_producer_put(p, &r, 0, &err), TP_E_INVALID);
    ck_assert_str_eq(err.field, "PartitionKey");
    r.partition_key = "k";
    r.explicit_hash_key = "340282366920938463463374607431768211456"; /* 2^128 */
    ck_assert_int_eq(tp_producer_put(p, &r, 0, &err), TP_E_INVALID);
    ck_assert_str_eq(err.field, "ExplicitHashKey");
    tp_producer_stats st;
    tp_producer_get_stats(p, &st);
    ck_assert_uint_eq(st.user_records_refused, 2);
    ck_assert_uint_eq(st.user_records_received, 0);
    tp_producer_close(p);
    tp_producer_close(NULL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("producer");
    TCase *tc = tcase_create("fault");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_throttled_entry_retried_alone);
    tcase_add_test(tc, test_5xx_and_reset);
    tcase_add_test(tc, test_same_key_order_through_retries);
    tcase_add_test(tc, test_expiry_and_final_errors);
    tcase_add_test(tc, test_aggregated_sub_sequences);
    tcase_add_test(tc, test_buffer_cap);
    tcase_add_test(tc, test_bad_options_and_records);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tpt_run_suite(suite());
}
