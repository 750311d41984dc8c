/* The file: stream routes records as Kinesis does: the same 1,000 partition
 * keys (and a few explicit hash keys) put into a kinesalite stream and into
 * a file: stream of the same shard count land on the shard of the same
 * index, and both list the same hash-key ranges. */
#include "it_util.h"

#include "core/core_int.h"
#include "tradepipe/kinesis.h"
#include "tradepipe/stream.h"

static tp_kinesis *g_k;
static char *g_dir;

static void setup(void)
{
    tp_error err;
    ck_assert_int_eq(it_env_setup(), 0);
    tp_aws_client_options o = TP_AWS_CLIENT_OPTIONS_INIT;
    o.max_backoff_ms = 200;
    ck_assert_msg(tp_kinesis_new(&g_k, &o, &err) == TP_OK, "%s", err.message);
    g_dir = tpt_mkdtemp();
}

static void teardown(void)
{
    tp_kinesis_free(g_k);
    g_k = NULL;
    tpt_rmtree(g_dir);
    free(g_dir);
}

#define NKEYS 1000

/* Keys of every kind a producer may use: symbols, numbers, UTF-8, long. */
static void make_key(char *out, size_t cap, int i)
{
    static const char *const sym[] = {"AAPL", "MSFT", "GOOGL", "BRK.B", "7203.T", "SAP.DE"};
    switch (i % 5) {
    case 0:
        snprintf(out, cap, "%s", sym[(i / 5) % 6]);
        if (i >= 30)
            snprintf(out, cap, "%s-%d", sym[(i / 5) % 6], i);
        break;
    case 1:
        snprintf(out, cap, "%d", i * 7919);
        break;
    case 2:
        snprintf(out, cap, "B\xc3\xb6rse-%d-\xe6\x9d\xb1\xe4\xba\xac", i);
        break;
    case 3: {
        size_t n = (size_t)(i % 256) + 1; /* 1..256 bytes */
        if (n >= cap)
            n = cap - 1;
        for (size_t k = 0; k < n; k++)
            out[k] = (char)('a' + (int)((k * 31 + (size_t)i) % 26));
        out[n] = 0;
        break;
    }
    default:
        snprintf(out, cap, "user:%d/session=%x", i, (unsigned)(i * 2654435761u));
    }
}

static void same_routing(uint32_t shards)
{
    tp_error err;
    char name[128];
    it_name(name, sizeof name, "it-route");
    ck_assert_msg(tp_kinesis_create_stream(g_k, name, shards, &err) == TP_OK, "%s", err.message);
    ck_assert_msg(tp_kinesis_wait_active(g_k, name, 10000, &err) == TP_OK, "%s", err.message);

    char uri[600];
    snprintf(uri, sizeof uri, "file:%s/s%u", g_dir, shards);
    tp_stream_options so = TP_STREAM_OPTIONS_INIT;
    so.flags = TP_STREAM_CREATE | TP_STREAM_WRITE;
    so.shard_count = shards;
    tp_stream *fs = NULL;
    ck_assert_int_eq(tp_stream_open(&fs, uri, &so, &err), TP_OK);

    /* The hash-key ranges, as ListShards gives them on both. */
    tp_kinesis_shards kl = {0}, fl = {0};
    ck_assert_msg(tp_kinesis_list_shards(g_k, name, 0, &kl, &err) == TP_OK, "%s", err.message);
    ck_assert_int_eq(tp_stream_list_shards(fs, &fl, &err), TP_OK);
    ck_assert_uint_eq(kl.count, shards);
    ck_assert_uint_eq(fl.count, shards);
    for (uint32_t i = 0; i < shards; i++) {
        ck_assert_str_eq(fl.shards[i].shard_id, kl.shards[i].shard_id);
        ck_assert_str_eq(fl.shards[i].hash_key_start, kl.shards[i].hash_key_start);
        ck_assert_str_eq(fl.shards[i].hash_key_end, kl.shards[i].hash_key_end);
    }

    /* 1,000 keys through PutRecords on both; then a few explicit hash keys. */
    static char keys[NKEYS][260];
    static tp_kinesis_entry e[500];
    static tp_kinesis_put_result kr[500], fr[500];
    int differ = 0;
    for (int base = 0; base < NKEYS; base += 500) {
        for (int k = 0; k < 500; k++) {
            make_key(keys[base + k], sizeof keys[0], base + k);
            e[k].data = tp_cursor_make("x", 1);
            e[k].partition_key = keys[base + k];
            e[k].explicit_hash_key = NULL;
        }
        uint32_t kf = 0, ff = 0;
        ck_assert_msg(tp_kinesis_put_records(g_k, name, e, 500, kr, &kf, &err) == TP_OK, "%s",
                      err.message);
        ck_assert_int_eq(tp_stream_put_records(fs, e, 500, fr, &ff, &err), TP_OK);
        ck_assert_uint_eq(kf, 0);
        ck_assert_uint_eq(ff, 0);
        for (int k = 0; k < 500; k++)
            if (strcmp(kr[k].shard_id, fr[k].shard_id) != 0) {
                fprintf(stderr, "key '%s': kinesalite %s, file: %s\n", keys[base + k],
                        kr[k].shard_id, fr[k].shard_id);
                differ++;
            }
    }
    ck_assert_int_eq(differ, 0);

    const char *ehk[] = {"0", fl.shards[shards - 1].hash_key_start, fl.shards[0].hash_key_end,
                         "340282366920938463463374607431768211455",
                         "170141183460469231731687303715884105728"};
    for (size_t k = 0; k < TP_ARRAY_LEN(ehk); k++) {
        e[k].data = tp_cursor_make("y", 1);
        e[k].partition_key = "same-key";
        e[k].explicit_hash_key = ehk[k];
    }
    uint32_t kf = 0, ff = 0;
    ck_assert_msg(tp_kinesis_put_records(g_k, name, e, TP_ARRAY_LEN(ehk), kr, &kf, &err) == TP_OK,
                  "%s", err.message);
    ck_assert_int_eq(tp_stream_put_records(fs, e, TP_ARRAY_LEN(ehk), fr, &ff, &err), TP_OK);
    for (size_t k = 0; k < TP_ARRAY_LEN(ehk); k++)
        ck_assert_msg(!strcmp(kr[k].shard_id, fr[k].shard_id), "hash key %s: %s vs %s", ehk[k],
                      kr[k].shard_id, fr[k].shard_id);

    tp_kinesis_shards_dispose(&kl);
    tp_kinesis_shards_dispose(&fl);
    tp_stream_free(fs);
    tp_kinesis_delete_stream(g_k, name, 0, NULL);
}

static const uint32_t shard_counts[] = {2, 3, 5};

START_TEST(test_same_shard_as_kinesis) { same_routing(shard_counts[_i]); }
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("stream routing vs kinesalite");
    TCase *tc = tcase_create("routing");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_same_shard_as_kinesis, 0, TP_ARRAY_LEN(shard_counts));
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tpt_run_suite(suite()); }
