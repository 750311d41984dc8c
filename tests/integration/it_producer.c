/* The producer (include/tradepipe/producer.h) against kinesalite, through the
 * signature checker: everything put is read back, by our client and by
 * awscli, de-aggregated, with nothing lost and each partition key's records
 * in put order; resharding while producing; a record over the limits and
 * final failures in the dead-letter file. */
#include "it_util.h"

#include "core/core_int.h"
#include "tradepipe/kinesis.h"
#include "tradepipe/kpl.h"
#include "tradepipe/producer.h"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#define NKEYS 10

static tp_kinesis *g_k;

static void setup(void)
{
    tp_error err;
    ck_assert_int_eq(it_env_setup(), 0);
    tp_aws_client_options o = TP_AWS_CLIENT_OPTIONS_INIT;
    o.max_backoff_ms = 200;
    ck_assert_msg(tp_kinesis_new(&g_k, &o, &err) == TP_OK, "%s", err.message);
}

static void teardown(void)
{
    tp_kinesis_free(g_k);
    g_k = NULL;
}

static void make_stream(char *name, size_t cap, uint32_t shards)
{
    tp_error err;
    it_name(name, cap, "it-producer");
    ck_assert_msg(tp_kinesis_create_stream(g_k, name, shards, &err) == TP_OK, "%s", err.message);
    ck_assert_msg(tp_kinesis_wait_active(g_k, name, 10000, &err) == TP_OK, "%s", err.message);
}

/* Streams go when their test is done (kinesalite counts shards against a
 * limit across the suites). */
static void drop_stream(const char *name)
{
    tp_kinesis_delete_stream(g_k, name, 0, NULL);
}

/* What the completions said. */
typedef struct done_log {
    pthread_mutex_t mu;
    uint64_t ok, failed;
    uint64_t with_seq;
} done_log;

static void on_done(const tp_producer_result *r, void *payload)
{
    done_log *d = payload;
    pthread_mutex_lock(&d->mu);
    if (r->status == TP_OK) {
        d->ok++;
        d->with_seq += r->shard_id[0] && r->sequence_number[0] && r->n_attempts >= 1 &&
                       r->attempts[r->n_attempts - 1].error_code[0] == 0;
    } else {
        d->failed++;
    }
    pthread_mutex_unlock(&d->mu);
}

/* ---- reading back ------------------------------------------------------------- */

/* The user records read back: "KEY:N" each, per key in the order read. */
typedef struct seen {
    const char *shard; /* being read */
    uint64_t total, dupes, out_of_order, bad;
    int64_t next[NKEYS]; /* the next N expected per key */
} seen;

static void see(seen *s, const uint8_t *p, size_t n)
{
    char buf[64];
    if (n >= sizeof buf) {
        s->bad++;
        return;
    }
    memcpy(buf, p, n);
    buf[n] = 0;
    unsigned key;
    long long seq;
    if (sscanf(buf, "k%u:%lld", &key, &seq) != 2 || key >= NKEYS) {
        s->bad++;
        return;
    }
    s->total++;
    if (seq < s->next[key])
        s->dupes++;
    else if (seq > s->next[key])
        s->out_of_order++;
    if (seq > s->next[key] && s->out_of_order <= 5)
        fprintf(stderr, "  key k%u: read %lld where %lld was next: a gap (shard %s)\n", key, seq,
                (long long)s->next[key], s->shard ? s->shard : "?");
    if (seq >= s->next[key])
        s->next[key] = seq + 1;
}

static void see_record(seen *s, tp_kpl_reader *rd, tp_cursor data)
{
    if (!tp_kpl_is_aggregated(data)) {
        see(s, data.ptr, data.len);
        return;
    }
    size_t count = 0;
    tp_error err;
    ck_assert_msg(tp_kpl_reader_begin(rd, data, &count, &err) == TP_OK, "%s", err.message);
    tp_kpl_record ur;
    for (size_t i = 0; i < count; i++) {
        ck_assert_int_eq(tp_kpl_reader_next(rd, &ur), TP_OK);
        see(s, ur.data.ptr, ur.data.len);
    }
}

/* Every shard, parents before children, each from TRIM_HORIZON to its end. */
static void read_back_ours(const char *name, seen *s)
{
    tp_error err;
    tp_kinesis_shards ls = {0};
    ck_assert_int_eq(tp_kinesis_list_shards(g_k, name, 0, &ls, &err), TP_OK);
    int *done = calloc(ls.count, sizeof *done);
    tp_kpl_reader *rd;
    ck_assert_int_eq(tp_kpl_reader_new(&rd, NULL, &err), TP_OK);
    for (size_t pass = 0; pass < ls.count; pass++) {
        for (size_t i = 0; i < ls.count; i++) {
            if (done[i])
                continue;
            /* parents first */
            int ready = 1;
            for (size_t j = 0; j < ls.count; j++)
                if (!done[j] && (!strcmp(ls.shards[i].parent_shard_id, ls.shards[j].shard_id) ||
                                 !strcmp(ls.shards[i].adjacent_parent_shard_id,
                                         ls.shards[j].shard_id)))
                    ready = 0;
            if (!ready)
                continue;
            char it[TP_KINESIS_ITERATOR_MAX];
            s->shard = ls.shards[i].shard_id;
            ck_assert_int_eq(tp_kinesis_get_shard_iterator(g_k, name, ls.shards[i].shard_id,
                                                           TP_KINESIS_TRIM_HORIZON, NULL, 0, it,
                                                           &err),
                             TP_OK);
            for (int round = 0; round < 100000; round++) {
                tp_kinesis_records recs = {0};
                ck_assert_msg(tp_kinesis_get_records(g_k, it, 10000, &recs, &err) == TP_OK, "%s",
                              err.message);
                for (size_t r = 0; r < recs.count; r++)
                    see_record(s, rd, recs.records[r].data);
                int end = !recs.next_shard_iterator ||
                          (recs.count == 0 && recs.millis_behind_latest == 0);
                if (recs.next_shard_iterator)
                    snprintf(it, sizeof it, "%s", recs.next_shard_iterator);
                tp_kinesis_records_dispose(&recs);
                if (end)
                    break;
            }
            done[i] = 1;
        }
    }
    tp_kpl_reader_free(rd);
    free(done);
    tp_kinesis_shards_dispose(&ls);
}

/* The same through awscli (the independent client): get-records until the
 * shard is read, data base64-decoded, then de-aggregated. */
static void read_back_awscli(const char *name, uint32_t shards, seen *s)
{
    tp_kpl_reader *rd;
    tp_error err;
    ck_assert_int_eq(tp_kpl_reader_new(&rd, NULL, &err), TP_OK);
    for (uint32_t i = 0; i < shards; i++) {
        char shard[32];
        snprintf(shard, sizeof shard, "shardId-%012u", i);
        int rc;
        json_t *j = it_aws(&rc, "kinesis", "get-shard-iterator", "--stream-name", name,
                           "--shard-id", shard, "--shard-iterator-type", "TRIM_HORIZON", NULL);
        ck_assert_int_eq(rc, 0);
        char *it = strdup(json_string_value(json_object_get(j, "ShardIterator")));
        json_decref(j);
        for (int round = 0; round < 1000; round++) {
            j = it_aws(&rc, "kinesis", "get-records", "--shard-iterator", it, "--limit", "10000",
                       NULL);
            ck_assert_int_eq(rc, 0);
            json_t *recs = json_object_get(j, "Records");
            for (size_t r = 0; r < json_array_size(recs); r++) {
                const char *b64 = json_string_value(json_object_get(json_array_get(recs, r), "Data"));
                tp_buf raw;
                tp_buf_init(&raw, NULL, 0);
                ck_assert_int_eq(tp_base64_decode(&raw, tp_cursor_from_str(b64), NULL), TP_OK);
                see_record(s, rd, tp_buf_cursor(&raw));
                tp_buf_dispose(&raw);
            }
            size_t n = json_array_size(recs);
            int64_t behind = json_integer_value(json_object_get(j, "MillisBehindLatest"));
            const char *next = json_string_value(json_object_get(j, "NextShardIterator"));
            free(it);
            it = next ? strdup(next) : NULL;
            json_decref(j);
            if (!it || (n == 0 && behind == 0))
                break;
        }
        free(it);
    }
    tp_kpl_reader_free(rd);
}

/* ---- producing ----------------------------------------------------------------- */

static tp_producer *new_producer(const char *name, int aggregate, const char *dead_letter,
                                 done_log *d, uint32_t ttl_ms)
{
    tp_producer_options o;
    tp_error err;
    ck_assert_int_eq(tp_producer_options_init(&o, TP_PRODUCER_OPTIONS_VERSION), TP_OK);
    o.stream = name;
    o.aggregate = aggregate;
    o.linger_ms = 20;
    o.record_ttl_ms = ttl_ms;
    o.dead_letter_path = dead_letter;
    o.on_done = on_done;
    o.on_done_payload = d;
    tp_producer *p = NULL;
    ck_assert_msg(tp_producer_new(&p, &o, &err) == TP_OK, "%s", err.message);
    return p;
}

static void put_range(tp_producer *p, int64_t *next, uint64_t n)
{
    char data[64];
    char key[8];
    tp_error err;
    for (uint64_t i = 0; i < n; i++) {
        unsigned k = (unsigned)(i % NKEYS);
        int len = snprintf(data, sizeof data, "k%u:%lld", k, (long long)next[k]++);
        snprintf(key, sizeof key, "K%u", k);
        tp_producer_record r = {tp_cursor_make(data, (size_t)len), key, NULL, NULL};
        ck_assert_msg(tp_producer_put(p, &r, 30000, &err) == TP_OK, "%s", err.message);
    }
}

static void check_seen(const seen *s, uint64_t want, const char *who)
{
    ck_assert_msg(s->bad == 0, "%s: %llu unreadable records", who, (unsigned long long)s->bad);
    ck_assert_msg(s->out_of_order == 0, "%s: %llu records out of order or missing", who,
                  (unsigned long long)s->out_of_order);
    ck_assert_msg(s->dupes == 0, "%s: %llu duplicates", who, (unsigned long long)s->dupes);
    ck_assert_msg(s->total == want, "%s: read %llu of %llu", who, (unsigned long long)s->total,
                  (unsigned long long)want);
    uint64_t sum = 0;
    for (int k = 0; k < NKEYS; k++)
        sum += (uint64_t)s->next[k];
    ck_assert_uint_eq(sum, want);
}

START_TEST(test_100k_four_shards)
{
    char name[64];
    make_stream(name, sizeof name, 4);
    done_log d = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
    tp_producer *p = new_producer(name, 1, NULL, &d, 0);
    int64_t next[NKEYS] = {0};
    put_range(p, next, 100000);
    tp_producer_stats st;
    tp_producer_close(p); /* drains */
    ck_assert_uint_eq(d.ok, 100000);
    ck_assert_uint_eq(d.failed, 0);
    ck_assert_uint_eq(d.with_seq, 100000);
    seen ours = {0}, cli = {0};
    read_back_ours(name, &ours);
    check_seen(&ours, 100000, "our client");
    read_back_awscli(name, 4, &cli);
    check_seen(&cli, 100000, "awscli");
    (void)st;
    drop_stream(name);
}
END_TEST

START_TEST(test_not_aggregated)
{
    char name[64];
    make_stream(name, sizeof name, 2);
    done_log d = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
    tp_producer *p = new_producer(name, 0, NULL, &d, 0);
    int64_t next[NKEYS] = {0};
    put_range(p, next, 3000);
    tp_error err;
    ck_assert_int_eq(tp_producer_flush(p, 60000, &err), TP_OK);
    tp_producer_stats st;
    tp_producer_get_stats(p, &st);
    ck_assert_uint_eq(st.kinesis_records_put, 3000); /* one Kinesis record each */
    ck_assert_uint_eq(st.user_records_pending, 0);
    tp_producer_close(p);
    ck_assert_uint_eq(d.ok, 3000);
    seen ours = {0};
    read_back_ours(name, &ours);
    check_seen(&ours, 3000, "our client");
    drop_stream(name);
}
END_TEST

typedef struct reshard_arg {
    const char *name;
} reshard_arg;

/* Split shard 0 in two, then merge shards 1 and 2 (adjacent), while the
 * producer runs. */
static void *reshard(void *arg)
{
    reshard_arg *a = arg;
    tp_error err;
    tp_aws_client_options o = TP_AWS_CLIENT_OPTIONS_INIT;
    tp_kinesis *k = NULL;
    if (tp_kinesis_new(&k, &o, &err) != TP_OK)
        return "client";
    usleep(300000);
    tp_kinesis_shards ls = {0};
    const char *why = NULL;
    if (tp_kinesis_list_shards(k, a->name, 0, &ls, &err) != TP_OK || ls.count != 3)
        why = "list";
    /* the middle of shard 0's range */
    char mid[TP_KINESIS_HASH_MAX];
    if (!why) {
        /* shard 0 of 3 starts at 0 and ends near 2^128/3: split at 2^125 */
        snprintf(mid, sizeof mid, "%s", "42535295865117307932921825928971026432");
        if (tp_kinesis_split_shard(k, a->name, "shardId-000000000000", mid, &err) != TP_OK)
            why = "split";
    }
    if (!why && tp_kinesis_wait_active(k, a->name, 20000, &err) != TP_OK)
        why = "wait after split";
    if (!why) {
        usleep(300000);
        if (tp_kinesis_merge_shards(k, a->name, "shardId-000000000001", "shardId-000000000002",
                                    &err) != TP_OK)
            why = "merge";
    }
    if (!why && tp_kinesis_wait_active(k, a->name, 20000, &err) != TP_OK)
        why = "wait after merge";
    tp_kinesis_shards_dispose(&ls);
    tp_kinesis_free(k);
    return (void *)why;
}

START_TEST(test_resharding_while_producing)
{
    char name[64];
    make_stream(name, sizeof name, 3);
    done_log d = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
    tp_producer *p = new_producer(name, 1, NULL, &d, 0);
    reshard_arg ra = {name};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, reshard, &ra), 0);
    int64_t next[NKEYS] = {0};
    uint64_t total = 0;
    int64_t t0 = tp_time_mono_ns();
    /* keep producing for a while after the reshard */
    while (tp_time_mono_ns() - t0 < INT64_C(4000000000)) {
        put_range(p, next, 500);
        total += 500;
        usleep(20000);
    }
    void *why = NULL;
    pthread_join(t, &why);
    ck_assert_msg(why == NULL, "resharding failed: %s", (const char *)why);
    put_range(p, next, 2000);
    total += 2000;
    tp_producer_stats st;
    tp_error err;
    ck_assert_int_eq(tp_producer_flush(p, 60000, &err), TP_OK);
    tp_producer_get_stats(p, &st);
    tp_producer_close(p);
    ck_assert_uint_eq(d.ok, total);
    ck_assert_uint_eq(d.failed, 0);
    ck_assert_msg(st.shard_map_refreshes >= 1, "the map was never refreshed");
    seen ours = {0};
    read_back_ours(name, &ours);
    check_seen(&ours, total, "our client after resharding");
    drop_stream(name);
}
END_TEST

START_TEST(test_too_large_and_dead_letters)
{
    char name[64], dlq[256];
    make_stream(name, sizeof name, 1);
    snprintf(dlq, sizeof dlq, "%s/dead-letters-%ld.ndjson", it_state(), (long)getpid());
    remove(dlq);
    done_log d = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
    tp_producer *p = new_producer(name, 1, dlq, &d, 3000);
    int64_t next[NKEYS] = {0};
    put_range(p, next, 100);
    /* over the record limit (1 MiB with its key): fails alone, at once */
    size_t big = (1u << 20) - 1;
    uint8_t *data = calloc(1, big);
    tp_producer_record r = {tp_cursor_make(data, big), "KBIG", NULL, NULL};
    tp_error err;
    ck_assert_int_eq(tp_producer_put(p, &r, 0, &err), TP_E_TOO_LARGE);
    ck_assert_ptr_nonnull(strstr(err.message, "over the record limit"));
    r.data.len = big - 4; /* exactly 1 MiB with "KBIG": fits */
    ck_assert_int_eq(tp_producer_put(p, &r, 0, &err), TP_OK);
    free(data);
    ck_assert_int_eq(tp_producer_flush(p, 60000, &err), TP_OK);
    ck_assert_uint_eq(d.ok, 101);
    /* a final failure: the stream goes away; what is put then fails */
    ck_assert_int_eq(tp_kinesis_delete_stream(g_k, name, 0, NULL), TP_OK);
    tp_kinesis_stream_summary sum;
    for (int i = 0; i < 200 && tp_kinesis_describe_stream_summary(g_k, name, &sum, NULL) == TP_OK;
         i++)
        usleep(50000);
    char data2[32];
    for (int i = 0; i < 5; i++) {
        int len = snprintf(data2, sizeof data2, "lost-%d", i);
        tp_producer_record lr = {tp_cursor_make(data2, (size_t)len), "KL", NULL, NULL};
        ck_assert_int_eq(tp_producer_put(p, &lr, 0, &err), TP_OK);
    }
    tp_producer_close(p);
    ck_assert_uint_eq(d.failed, 5);
    /* the dead-letter file: exactly the big record and the five */
    FILE *f = fopen(dlq, "r");
    ck_assert_ptr_nonnull(f);
    char *line = NULL;
    size_t cap = 0;
    int n = 0, big_seen = 0, lost_seen = 0;
    while (getline(&line, &cap, f) > 0) {
        json_error_t je;
        json_t *j = json_loads(line, 0, &je);
        ck_assert_msg(j != NULL, "dead letter %d is not JSON: %s", n, je.text);
        const char *pk = json_string_value(json_object_get(j, "partition_key"));
        const char *b64 = json_string_value(json_object_get(j, "data"));
        const char *why = json_string_value(json_object_get(j, "error"));
        ck_assert_ptr_nonnull(why);
        if (!strcmp(pk, "KBIG")) {
            big_seen++;
            ck_assert_uint_eq(strlen(b64), ((1u << 20) - 1 + 2) / 3 * 4);
            ck_assert_ptr_nonnull(strstr(why, "refused"));
        } else {
            ck_assert_str_eq(pk, "KL");
            tp_buf raw;
            tp_buf_init(&raw, NULL, 0);
            ck_assert_int_eq(tp_base64_decode(&raw, tp_cursor_from_str(b64), NULL), TP_OK);
            ck_assert(raw.len >= 6 && !memcmp(raw.ptr, "lost-", 5));
            tp_buf_dispose(&raw);
            ck_assert_ptr_nonnull(strstr(why, "ResourceNotFoundException"));
            ck_assert_int_ge(json_array_size(json_object_get(j, "attempts")), 1);
            lost_seen++;
        }
        json_decref(j);
        n++;
    }
    free(line);
    fclose(f);
    ck_assert_int_eq(big_seen, 1);
    ck_assert_int_eq(lost_seen, 5);
    ck_assert_int_eq(n, 6);
    remove(dlq);
}
END_TEST

/* A second signature checker, injecting faults into PutRecords (503,
 * resets, throttled entries, answers lost after the write) at `rate`, in
 * front of kinesalite itself. Its pid in *pid, its endpoint in `url`. */
static void start_faulty(double rate, unsigned seed, char *dir, pid_t *pid, char *url, size_t cap)
{
    char path[4096], line[256], port[256] = "";
    snprintf(path, sizeof path, "%s/direct.env", it_state());
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "AWS_ENDPOINT_URL_KINESIS=http://127.0.0.1:", 42))
            snprintf(port, sizeof port, "%s", line + 42);
    fclose(f);
    port[strcspn(port, "\r\n")] = 0;
    ck_assert(port[0]);
    char script[4096], rate_s[32], seed_s[32], up[64];
    snprintf(script, sizeof script, "%s/tests/services/sigcheck.py", tpt_source_dir());
    snprintf(rate_s, sizeof rate_s, "%g", rate);
    snprintf(seed_s, sizeof seed_s, "%u", seed);
    snprintf(up, sizeof up, "kinesis=%s", port);
    *pid = fork();
    ck_assert_int_ge(*pid, 0);
    if (*pid == 0) {
        execl("/usr/bin/python3", "python3", script, "--faults", rate_s, "--seed", seed_s, dir,
              up, (char *)NULL);
        _exit(127);
    }
    snprintf(path, sizeof path, "%s/sigcheck-kinesis.port", dir);
    for (int i = 0; i < 200; i++) {
        size_t n = 0;
        uint8_t *pp = tpt_read_file(path, &n);
        if (pp && n) {
            snprintf(url, cap, "http://127.0.0.1:%s", (char *)pp);
            free(pp);
            return;
        }
        free(pp);
        usleep(50000);
    }
    kill(*pid, SIGTERM);
    ck_abort_msg("the faulty checker did not start");
}

/* What the faulty checker did: its report as JSON. */
static json_t *faulty_report(const char *url)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c 'import urllib.request,sys;"
             "sys.stdout.write(urllib.request.urlopen(\"%s/__sigcheck/report\").read().decode())'",
             url);
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    pclose(f);
    return json_loads(buf, 0, NULL);
}

START_TEST(test_under_faults)
{
    char name[64];
    make_stream(name, sizeof name, 4);
    char *dir = tpt_mkdtemp();
    pid_t pid;
    char url[128];
    start_faulty(0.15, 7, dir, &pid, url, sizeof url);
    tp_aws_client_options ao = TP_AWS_CLIENT_OPTIONS_INIT;
    ao.endpoint_url = url;
    done_log d = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
    tp_producer_options o;
    tp_error err;
    tp_producer_options_init(&o, TP_PRODUCER_OPTIONS_VERSION);
    o.stream = name;
    o.aws = &ao;
    o.linger_ms = 5;
    o.aggregation_max_bytes = 1024; /* many small requests: many faults */
    o.on_done = on_done;
    o.on_done_payload = &d;
    tp_producer *p = NULL;
    ck_assert_msg(tp_producer_new(&p, &o, &err) == TP_OK, "%s", err.message);
    int64_t next[NKEYS] = {0};
    const uint64_t want = 20000;
    for (int round = 0; round < 40; round++) {
        put_range(p, next, want / 40);
        usleep(5000);
    }
    ck_assert_int_eq(tp_producer_flush(p, 120000, &err), TP_OK);
    tp_producer_stats st;
    tp_producer_get_stats(p, &st);
    tp_producer_close(p);
    json_t *rep = faulty_report(url);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    tpt_rmtree(dir);
    free(dir);
    ck_assert_ptr_nonnull(rep);
    ck_assert_int_eq(json_integer_value(json_object_get(rep, "mismatched")), 0);
    json_t *faults = json_object_get(rep, "faults");
    json_int_t lost = json_integer_value(json_object_get(faults, "lost"));
    json_int_t total_faults = 0;
    const char *k;
    json_t *v;
    json_object_foreach(faults, k, v) total_faults += json_integer_value(v);
    char *kinds = json_dumps(faults, JSON_COMPACT);
    fprintf(stderr, "  under faults: %lld injected (%s), %llu requests, %llu retries, %llu "
                    "throttles, %llu possible duplicates\n",
            (long long)total_faults, kinds ? kinds : "?", (unsigned long long)st.requests,
            (unsigned long long)st.retries, (unsigned long long)st.throttles,
            (unsigned long long)st.possible_duplicates);
    free(kinds);
    ck_assert_int_ge(total_faults, 10);
    ck_assert_uint_eq(d.ok, want);
    ck_assert_uint_eq(d.failed, 0);
    /* 0 lost, in order per key; duplicates only from lost answers, and
     * every one of them counted */
    seen ours = {0};
    read_back_ours(name, &ours);
    ck_assert_msg(ours.out_of_order == 0 && ours.bad == 0, "%llu missing or out of order",
                  (unsigned long long)ours.out_of_order);
    ck_assert_uint_eq(ours.total - ours.dupes, want);
    ck_assert_msg(ours.dupes <= st.possible_duplicates,
                  "%llu duplicates read, %llu counted", (unsigned long long)ours.dupes,
                  (unsigned long long)st.possible_duplicates);
    if (lost == 0)
        ck_assert_uint_eq(ours.dupes, 0);
    else
        ck_assert_uint_gt(st.possible_duplicates, 0);
    json_decref(rep);
    drop_stream(name);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("producer");
    TCase *tc = tcase_create("kinesalite");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_100k_four_shards);
    tcase_add_test(tc, test_not_aggregated);
    tcase_add_test(tc, test_resharding_while_producing);
    tcase_add_test(tc, test_too_large_and_dead_letters);
    tcase_add_test(tc, test_under_faults);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tpt_run_suite(suite());
}
