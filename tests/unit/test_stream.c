/* Floor 5: the stream interface and its file: backend: routing, framing,
 * torn tails, rollover, retention, readers and their positions, the writer
 * lock, bad input. */
#include "testutil.h"

#include "pipeline/stream_int.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char *dir;
static char uri[512];

static void setup(void)
{
    dir = tpt_mkdtemp();
    ck_assert_ptr_nonnull(dir);
    snprintf(uri, sizeof uri, "file:%s/s", dir);
}

static void teardown(void)
{
    tpt_rmtree(dir);
    free(dir);
}

static tp_stream *open_stream(uint32_t flags, uint32_t shards, uint64_t seg_bytes)
{
    tp_stream_options o = TP_STREAM_OPTIONS_INIT;
    o.flags = flags;
    o.shard_count = shards;
    o.segment_bytes = seg_bytes;
    tp_stream *s = NULL;
    tp_error err;
    tp_status st = tp_stream_open(&s, uri, &o, &err);
    ck_assert_msg(st == TP_OK, "open: %s", err.message);
    return s;
}

static tp_stream *open_writer(uint32_t shards, uint64_t seg_bytes)
{
    return open_stream(TP_STREAM_CREATE | TP_STREAM_WRITE, shards, seg_bytes);
}

static void put1(tp_stream *s, const char *data, const char *pk, tp_kinesis_put_result *res)
{
    tp_error err;
    tp_status st = tp_stream_put_record(s, tp_cursor_from_str(data), pk, NULL, res, &err);
    ck_assert_msg(st == TP_OK, "put: %s", err.message);
}

/* Everything a fresh reader of `shard` returns from `pos`, as
 * "seq|key|data\n" lines; *n counts them. */
static char *read_all(tp_stream *s, const char *shard, const tp_stream_position *pos, size_t *n,
                      tp_stream_reader_stats *stats)
{
    tp_stream_reader *r = NULL;
    tp_error err;
    ck_assert_int_eq(tp_stream_reader_new(&r, s, shard, pos, &err), TP_OK);
    tp_buf out;
    tp_buf_init(&out, NULL, 0);
    *n = 0;
    uint64_t last = 0;
    for (int i = 0; i < 100000; i++) {
        tp_stream_records recs;
        tp_status st = tp_stream_reader_get(r, 7, &recs, &err);
        ck_assert_msg(st == TP_OK, "get: %s", err.message);
        ck_assert_uint_le(recs.count, 7);
        if (!recs.count)
            break;
        for (size_t k = 0; k < recs.count; k++) {
            const tp_stream_record *x = &recs.records[k];
            uint64_t seq = strtoull(x->sequence_number, NULL, 10);
            ck_assert_uint_gt(seq, last); /* increasing within the shard */
            last = seq;
            ck_assert_str_eq(x->shard_id, shard);
            tp_buf_appendf(&out, NULL, "%s|%s|", x->sequence_number, x->partition_key);
            tp_buf_append(&out, x->data.ptr, x->data.len, NULL);
            tp_buf_append(&out, "\n", 1, NULL);
            (*n)++;
        }
    }
    if (stats)
        tp_stream_reader_stats_get(r, stats);
    tp_stream_reader_free(r);
    char *text = strdup(out.ptr ? (char *)out.ptr : "");
    tp_buf_dispose(&out);
    return text;
}

static char shard_dir_buf[600];
static const char *shard_dir(int i)
{
    snprintf(shard_dir_buf, sizeof shard_dir_buf, "%s/s/shardId-%012d", dir, i);
    return shard_dir_buf;
}

static int count_segments(int shard)
{
    DIR *d = opendir(shard_dir(shard));
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strstr(e->d_name, ".seg") != NULL;
    closedir(d);
    return n;
}

/* The path of the newest segment of a shard. */
static char *newest_segment(int shard)
{
    DIR *d = opendir(shard_dir(shard));
    ck_assert_ptr_nonnull(d);
    char best[300] = "";
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".seg") && strcmp(e->d_name, best) > 0)
            snprintf(best, sizeof best, "%s", e->d_name);
    closedir(d);
    ck_assert(best[0]);
    char *p = malloc(strlen(shard_dir(shard)) + 310);
    sprintf(p, "%s/%s", shard_dir(shard), best);
    return p;
}

/* ---- routing -------------------------------------------------------------- */

/* Expected shard indexes: computed independently with Python's hashlib,
 * int(md5(key).hexdigest(), 16) // (2**128 // n), capped at n - 1. */
static const struct {
    uint32_t n;
    int want[6];
} route_rows[] = {
    {2, {1, 1, 1, 0, 1, 1}},
    {3, {1, 2, 2, 0, 2, 2}},
    {4, {2, 2, 3, 0, 3, 3}},
    {7, {3, 4, 6, 0, 6, 5}},
};

START_TEST(test_route_md5)
{
    char long_key[257];
    memset(long_key, 'x', 256);
    long_key[256] = 0;
    const char *keys[6] = {"AAPL", "MSFT", "GOOGL", "a", "B\xc3\xb6rse", long_key};
    tp_stream *s = open_writer(route_rows[_i].n, 0);
    for (int k = 0; k < 6; k++) {
        uint32_t idx = 99;
        ck_assert_int_eq(tp_stream_route(s, keys[k], NULL, &idx, NULL), TP_OK);
        ck_assert_msg((int)idx == route_rows[_i].want[k], "n=%u key %d: shard %u, want %d",
                      route_rows[_i].n, k, idx, route_rows[_i].want[k]);
    }
    tp_stream_free(s);
}
END_TEST

START_TEST(test_route_hash_keys)
{
    tp_stream *s = open_writer(3, 0);
    /* 2^128 / 3 = 113427455640312821154458202477256070485.33 */
    static const struct {
        const char *ehk;
        int want;
    } rows[] = {
        {"0", 0},
        {"113427455640312821154458202477256070484", 0},
        {"113427455640312821154458202477256070485", 1},
        {"226854911280625642308916404954512140969", 1},
        {"226854911280625642308916404954512140970", 2},
        {"340282366920938463463374607431768211455", 2},
    };
    for (size_t i = 0; i < TP_ARRAY_LEN(rows); i++) {
        uint32_t idx = 99;
        ck_assert_int_eq(tp_stream_route(s, "k", rows[i].ehk, &idx, NULL), TP_OK);
        ck_assert_int_eq((int)idx, rows[i].want);
    }
    static const char *bad[] = {"",
                                "-1",
                                "01",
                                "1.0",
                                " 1",
                                "abc",
                                "340282366920938463463374607431768211456",
                                "1000000000000000000000000000000000000000"};
    for (size_t i = 0; i < TP_ARRAY_LEN(bad); i++) {
        uint32_t idx;
        tp_error err;
        ck_assert_int_eq(tp_stream_route(s, "k", bad[i], &idx, &err), TP_E_INVALID);
        ck_assert_str_eq(err.field, "ExplicitHashKey");
    }
    /* Shard ranges as ListShards reports them. */
    tp_kinesis_shards ls = {0};
    ck_assert_int_eq(tp_stream_list_shards(s, &ls, NULL), TP_OK);
    ck_assert_uint_eq(ls.count, 3);
    ck_assert_str_eq(ls.shards[0].shard_id, "shardId-000000000000");
    ck_assert_str_eq(ls.shards[0].hash_key_start, "0");
    ck_assert_str_eq(ls.shards[0].hash_key_end, "113427455640312821154458202477256070484");
    ck_assert_str_eq(ls.shards[1].hash_key_start, "113427455640312821154458202477256070485");
    ck_assert_str_eq(ls.shards[2].shard_id, "shardId-000000000002");
    ck_assert_str_eq(ls.shards[2].hash_key_end, "340282366920938463463374607431768211455");
    ck_assert_str_eq(ls.shards[2].sequence_start, ""); /* nothing put yet */
    ck_assert_str_eq(ls.shards[2].sequence_end, "");
    tp_kinesis_shards_dispose(&ls);
    tp_stream_free(s);
}
END_TEST

/* ---- put and read --------------------------------------------------------- */

START_TEST(test_round_trip)
{
    tp_stream *w = open_writer(2, 0);
    ck_assert_uint_eq(tp_stream_shard_count(w), 2);
    /* 1,000 records in batches, keys spread, data of many sizes with NULs. */
    static uint8_t data[1000][300];
    static char keys[1000][16];
    size_t lens[1000];
    int want_shard[1000];
    tp_kinesis_entry e[100];
    tp_kinesis_put_result res[100];
    int64_t before = tp_time_now_us() / 1000;
    for (int i = 0; i < 1000; i++) {
        snprintf(keys[i], sizeof keys[i], "key-%d", i % 37);
        lens[i] = (size_t)(i * 7919) % 300;
        for (size_t k = 0; k < lens[i]; k++)
            data[i][k] = (uint8_t)(i + k);
        uint32_t idx;
        ck_assert_int_eq(tp_stream_route(w, keys[i], NULL, &idx, NULL), TP_OK);
        want_shard[i] = (int)idx;
    }
    for (int b = 0; b < 10; b++) {
        for (int k = 0; k < 100; k++) {
            int i = b * 100 + k;
            e[k].data = tp_cursor_make(data[i], lens[i]);
            e[k].partition_key = keys[i];
            e[k].explicit_hash_key = NULL;
        }
        uint32_t failed = 9;
        tp_error err;
        ck_assert_int_eq(tp_stream_put_records(w, e, 100, res, &failed, &err), TP_OK);
        ck_assert_uint_eq(failed, 0);
        for (int k = 0; k < 100; k++) {
            char want[32];
            snprintf(want, sizeof want, "shardId-%012d", want_shard[b * 100 + k]);
            ck_assert_str_eq(res[k].shard_id, want);
            ck_assert_str_eq(res[k].error_code, "");
            ck_assert(res[k].sequence_number[0] >= '1' && res[k].sequence_number[0] <= '9');
        }
    }
    /* Each shard gives back its records in put order, nothing else. */
    tp_stream *r = open_stream(0, 0, 0);
    size_t total = 0;
    for (int sh = 0; sh < 2; sh++) {
        char id[32];
        snprintf(id, sizeof id, "shardId-%012d", sh);
        tp_stream_reader *rd = NULL;
        ck_assert_int_eq(tp_stream_reader_new(&rd, r, id, NULL, NULL), TP_OK);
        int next = 0;
        int64_t last_arrival = 0;
        for (;;) {
            tp_stream_records recs;
            ck_assert_int_eq(tp_stream_reader_get(rd, 0, &recs, NULL), TP_OK);
            if (!recs.count)
                break;
            for (size_t k = 0; k < recs.count; k++) {
                while (next < 1000 && want_shard[next] != sh)
                    next++;
                ck_assert_int_lt(next, 1000);
                const tp_stream_record *x = &recs.records[k];
                ck_assert_str_eq(x->partition_key, keys[next]);
                ck_assert_uint_eq(x->data.len, lens[next]);
                ck_assert(lens[next] == 0 || !memcmp(x->data.ptr, data[next], lens[next]));
                ck_assert_int_ge(x->arrival_ms, before);
                ck_assert_int_ge(x->arrival_ms, last_arrival);
                last_arrival = x->arrival_ms;
                next++;
                total++;
            }
        }
        tp_stream_reader_stats rs;
        tp_stream_reader_stats_get(rd, &rs);
        ck_assert_uint_eq(rs.torn_tails, 0);
        tp_stream_reader_free(rd);
    }
    ck_assert_uint_eq(total, 1000);
    tp_stream_free(r);
    tp_stream_free(w);
}
END_TEST

START_TEST(test_bad_records)
{
    tp_stream *w = open_writer(2, 0);
    size_t big = TP_STREAM_MAX_RECORD_BYTES;
    uint8_t *blob = calloc(1, big + 1);
    char key257[258], key256[257];
    memset(key257, 'k', 257);
    key257[257] = 0;
    memset(key256, 'k', 256);
    key256[256] = 0;
    tp_kinesis_entry e[] = {
        {tp_cursor_make("ok", 2), "a", NULL},
        {tp_cursor_make(blob, big), "a", NULL},      /* data + key over 1 MiB */
        {tp_cursor_make("x", 1), "", NULL},          /* empty key */
        {tp_cursor_make("x", 1), key257, NULL},      /* 257 bytes */
        {tp_cursor_make("x", 1), key256, NULL},      /* 256 bytes: fine */
        {tp_cursor_make(blob, big - 1), "a", NULL},  /* exactly 1 MiB with its key: fine */
        {tp_cursor_make("x", 1), "a", "12x"},        /* bad hash key */
        {tp_cursor_make("", 0), "empty-data", NULL}, /* no data: fine */
    };
    int ok[] = {1, 0, 0, 0, 1, 1, 0, 1};
    tp_kinesis_put_result res[8];
    uint32_t failed = 0;
    tp_error err;
    ck_assert_int_eq(tp_stream_put_records(w, e, 8, res, &failed, &err), TP_OK);
    ck_assert_uint_eq(failed, 4);
    for (int i = 0; i < 8; i++) {
        if (ok[i]) {
            ck_assert_str_eq(res[i].error_code, "");
            ck_assert(res[i].sequence_number[0]);
        } else {
            ck_assert_str_eq(res[i].error_code, "ValidationException");
            ck_assert_str_eq(res[i].sequence_number, "");
            ck_assert(strlen(res[i].error_message) > 10);
        }
    }
    ck_assert_ptr_nonnull(strstr(res[1].error_message, "1 MiB"));
    ck_assert_ptr_nonnull(strstr(res[2].error_message, "empty"));
    ck_assert_ptr_nonnull(strstr(res[3].error_message, "257 bytes"));

    /* PutRecord: a refusal names its field. */
    ck_assert_int_eq(tp_stream_put_record(w, tp_cursor_make("x", 1), "", NULL, NULL, &err),
                     TP_E_INVALID);
    ck_assert_str_eq(err.field, "PartitionKey");
    ck_assert_int_eq(tp_stream_put_record(w, tp_cursor_make("x", 1), key257, NULL, NULL, &err),
                     TP_E_INVALID);
    ck_assert_str_eq(err.field, "PartitionKey");
    ck_assert_int_eq(tp_stream_put_record(w, tp_cursor_make(blob, big), "a", NULL, NULL, &err),
                     TP_E_INVALID);
    ck_assert_str_eq(err.field, "Data");
    ck_assert_int_eq(tp_stream_put_record(w, tp_cursor_make("x", 1), "a", "-5", NULL, &err),
                     TP_E_INVALID);
    ck_assert_str_eq(err.field, "ExplicitHashKey");

    /* Call limits: 1..500 records, 5 MiB. */
    ck_assert_int_eq(tp_stream_put_records(w, e, 0, res, &failed, &err), TP_E_INVALID);
    static tp_kinesis_entry many[501];
    for (int i = 0; i < 501; i++)
        many[i] = e[0];
    ck_assert_int_eq(tp_stream_put_records(w, many, 501, NULL, &failed, &err), TP_E_INVALID);
    for (int i = 0; i < 6; i++)
        many[i] = e[5];
    ck_assert_int_eq(tp_stream_put_records(w, many, 6, NULL, &failed, &err), TP_E_TOO_LARGE);

    /* What was accepted reads back, what was refused does not. */
    tp_stream *r = open_stream(0, 0, 0);
    size_t n0, n1;
    char *t0 = read_all(r, "shardId-000000000000", NULL, &n0, NULL);
    char *t1 = read_all(r, "shardId-000000000001", NULL, &n1, NULL);
    ck_assert_uint_eq(n0 + n1, 4);
    free(t0);
    free(t1);
    /* A read-only handle cannot put. */
    ck_assert_int_eq(tp_stream_put_records(r, e, 1, NULL, NULL, &err), TP_E_INVALID);
    tp_stream_free(r);
    tp_stream_free(w);
    free(blob);
}
END_TEST

START_TEST(test_open_errors)
{
    tp_stream *s = NULL;
    tp_error err;
    ck_assert_int_eq(tp_stream_open(&s, uri, NULL, &err), TP_E_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(err.message, "no stream"));
    /* kinesis:// names are checked before any request */
    ck_assert_int_eq(tp_stream_open(&s, "kinesis://", NULL, &err), TP_E_CONFIG);
    ck_assert_str_eq(err.field, "stream");
    ck_assert_int_eq(tp_stream_open(&s, "kinesis://a b", NULL, &err), TP_E_CONFIG);
    ck_assert_int_eq(err.offset, 11);
    ck_assert_ptr_nonnull(strstr(err.message, "[a-zA-Z0-9_.-]"));
    ck_assert_int_eq(tp_stream_open(&s, "s3://x", NULL, &err), TP_E_CONFIG);
    ck_assert_int_eq(tp_stream_open(&s, "file:", NULL, &err), TP_E_CONFIG);
    tp_stream_options o = TP_STREAM_OPTIONS_INIT;
    o.shard_count = 2000;
    ck_assert_int_eq(tp_stream_open(&s, uri, &o, &err), TP_E_INVALID);
    ck_assert_str_eq(err.field, "shard_count");
    o.shard_count = 0;
    o.segment_bytes = 100;
    ck_assert_int_eq(tp_stream_open(&s, uri, &o, &err), TP_E_INVALID);
    ck_assert_str_eq(err.field, "segment_bytes");
    o.segment_bytes = 0;
    o.version = 99;
    ck_assert_int_eq(tp_stream_open(&s, uri, &o, &err), TP_E_INVALID);

    s = open_stream(TP_STREAM_CREATE, 3, 0); /* created read-only */
    tp_stream_free(s);
    o = (tp_stream_options)TP_STREAM_OPTIONS_INIT;
    o.flags = TP_STREAM_CREATE | TP_STREAM_EXCL;
    ck_assert_int_eq(tp_stream_open(&s, uri, &o, &err), TP_E_EXISTS);
    o.flags = 0;
    o.shard_count = 2;
    ck_assert_int_eq(tp_stream_open(&s, uri, &o, &err), TP_E_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.message, "has 3 shards"));
    o.shard_count = 3;
    ck_assert_int_eq(tp_stream_open(&s, uri, &o, &err), TP_OK);
    tp_stream_reader *rd;
    ck_assert_int_eq(tp_stream_reader_new(&rd, s, "shardId-000000000003", NULL, &err),
                     TP_E_NOT_FOUND);
    tp_stream_position pos = {TP_KINESIS_AT_SEQUENCE_NUMBER, 0, 0, "12a"};
    ck_assert_int_eq(tp_stream_reader_new(&rd, s, "shardId-000000000000", &pos, &err),
                     TP_E_INVALID);
    ck_assert_str_eq(err.field, "sequence_number");
    pos.type = 9;
    ck_assert_int_eq(tp_stream_reader_new(&rd, s, "shardId-000000000000", &pos, &err),
                     TP_E_INVALID);
    tp_stream_free(s);

    /* A damaged stream.json is named with its key. */
    static const struct {
        const char *text, *field;
    } bad[] = {
        {"{\"format\":\"x\",\"version\":1,\"shards\":2,\"segment_bytes\":65536,"
         "\"retention_ms\":5}",
         "format"},
        {"{\"format\":\"tradepipe-stream\",\"version\":1,\"shards\":0,\"segment_bytes\":65536,"
         "\"retention_ms\":5}",
         "shards"},
        {"{\"format\":\"tradepipe-stream\",\"version\":1,\"shards\":2,\"segment_bytes\":6,"
         "\"retention_ms\":5}",
         "segment_bytes"},
        {"{\"format\":\"tradepipe-stream\",\"version\":1,\"shards\":2,\"segment_bytes\":65536}",
         "retention_ms"},
        {"{\"format\":\"tradepipe-stream\",\"version\":2,\"shards\":2,\"segment_bytes\":65536,"
         "\"retention_ms\":5}",
         "version"},
        {"[1,2", ""},
    };
    char meta[600];
    snprintf(meta, sizeof meta, "%s/s/stream.json", dir);
    for (size_t i = 0; i < TP_ARRAY_LEN(bad); i++) {
        ck_assert_int_eq(tpt_write_file(meta, bad[i].text, strlen(bad[i].text)), 0);
        tp_status st = tp_stream_open(&s, uri, NULL, &err);
        ck_assert_msg(st == TP_E_CONFIG || st == TP_E_UNSUPPORTED, "row %zu: %d", i, st);
        ck_assert_str_eq(err.field, bad[i].field);
        ck_assert_ptr_nonnull(strstr(err.message, "stream.json"));
    }
}
END_TEST

START_TEST(test_writer_lock)
{
    tp_stream *w = open_writer(2, 0);
    tp_stream *w2 = NULL;
    tp_stream_options o = TP_STREAM_OPTIONS_INIT;
    o.flags = TP_STREAM_WRITE;
    tp_error err;
    ck_assert_int_eq(tp_stream_open(&w2, uri, &o, &err), TP_E_STATE);
    char pid[32];
    snprintf(pid, sizeof pid, "process %ld", (long)getpid());
    ck_assert_msg(strstr(err.message, pid) != NULL, "%s", err.message);
    ck_assert_ptr_nonnull(strstr(err.message, "writer.lock"));
    /* Readers are welcome meanwhile. */
    tp_stream *r = open_stream(0, 0, 0);
    tp_stream_free(r);
    tp_kinesis_put_result a, b;
    put1(w, "one", "k", &a);
    tp_stream_free(w);
    /* The next writer goes on with the sequence, in the same segment. */
    ck_assert_int_eq(tp_stream_open(&w2, uri, &o, &err), TP_OK);
    put1(w2, "two", "k", &b);
    ck_assert_str_eq(a.shard_id, b.shard_id);
    ck_assert_uint_eq(strtoull(b.sequence_number, NULL, 10),
                      strtoull(a.sequence_number, NULL, 10) + 1);
    ck_assert_int_eq(count_segments(a.shard_id[19] - '0'), 1);
    tp_stream_free(w2);
}
END_TEST

/* ---- torn and corrupt tails ----------------------------------------------- */

/* Cut the last frame of a segment at every byte: the reader returns the
 * records before it and never the cut one; a new writer starts a new
 * segment, after which the reader skips the torn tail and goes on. */
START_TEST(test_torn_tail_every_byte)
{
    tp_stream *w = open_writer(1, 0);
    put1(w, "first record", "k", NULL);
    put1(w, "second record", "k", NULL);
    tp_kinesis_put_result last;
    put1(w, "the last record, to be torn", "k", &last);
    tp_stream_free(w);
    char *seg = newest_segment(0);
    size_t full_len = 0;
    uint8_t *full = tpt_read_file(seg, &full_len);
    size_t frame = 8 + 18 + 1 + 1 + strlen("the last record, to be torn");
    size_t start = full_len - frame;
    char stream_dir[600];
    snprintf(stream_dir, sizeof stream_dir, "%s/s", dir);
    for (size_t cut = start; cut < full_len; cut++) {
        /* A fresh stream holding the segment cut at `cut`. */
        tpt_rmtree(stream_dir);
        tp_stream *c = open_writer(1, 0);
        tp_stream_free(c);
        char *path = malloc(strlen(shard_dir(0)) + 40);
        sprintf(path, "%s/%020d.seg", shard_dir(0), 1);
        ck_assert_int_eq(tpt_write_file(path, full, cut), 0);
        free(path);

        tp_stream *r = open_stream(0, 0, 0);
        size_t n;
        tp_stream_reader_stats rs;
        char *text = read_all(r, "shardId-000000000000", NULL, &n, &rs);
        ck_assert_uint_eq(n, 2); /* the torn one never comes back */
        ck_assert_ptr_null(strstr(text, "torn"));
        ck_assert_uint_eq(rs.torn_tails, 0); /* not yet known to be torn */
        free(text);

        /* The next writer starts a new segment and goes on. */
        tp_stream *w2 = open_stream(TP_STREAM_WRITE, 0, 0);
        tp_kinesis_put_result after;
        put1(w2, "after the crash", "k", &after);
        ck_assert_uint_gt(strtoull(after.sequence_number, NULL, 10), 2);
        tp_stream_free(w2);
        ck_assert_int_eq(count_segments(0), cut == start ? 1 : 2);
        text = read_all(r, "shardId-000000000000", NULL, &n, &rs);
        ck_assert_uint_eq(n, 3);
        ck_assert_ptr_nonnull(strstr(text, "after the crash"));
        ck_assert_ptr_null(strstr(text, "torn"));
        ck_assert_uint_eq(rs.torn_tails, cut == start ? 0 : 1);
        ck_assert_uint_eq(rs.torn_bytes, cut - start);
        free(text);
        tp_stream_free(r);
    }
    free(full);
    free(seg);
}
END_TEST

/* Damage with valid frames behind it is an error naming file and byte,
 * never a silent skip; a writer goes on past the largest sequence number
 * there, in a new segment. Bytes that are no frame at the very end of a
 * finished segment are a torn tail: skipped and counted. */
START_TEST(test_corrupt_frames)
{
    tp_stream *w = open_writer(1, 0);
    for (int i = 0; i < 5; i++)
        put1(w, "0123456789", "k", NULL);
    char *seg = newest_segment(0);
    size_t len;
    uint8_t *bytes = tpt_read_file(seg, &len);
    size_t frame = 8 + 18 + 2 + 10;
    ck_assert_uint_eq(len, 8 + 5 * frame);
    bytes[8 + 2 * frame + 30] ^= 0x10; /* one bit of the third record */
    ck_assert_int_eq(tpt_write_file(seg, bytes, len), 0);
    tp_stream *r = open_stream(0, 0, 0);
    tp_stream_reader *rd;
    ck_assert_int_eq(tp_stream_reader_new(&rd, r, "shardId-000000000000", NULL, NULL), TP_OK);
    tp_stream_records recs;
    tp_error err;
    ck_assert_int_eq(tp_stream_reader_get(rd, 0, &recs, &err), TP_OK);
    ck_assert_uint_eq(recs.count, 2);
    ck_assert_int_eq(tp_stream_reader_get(rd, 0, &recs, &err), TP_E_CHECKSUM);
    ck_assert_uint_eq(err.offset, 8 + 2 * frame);
    ck_assert_ptr_nonnull(strstr(err.message, ".seg"));
    char follow[64];
    snprintf(follow, sizeof follow, "follow at byte %zu", 8 + 3 * frame);
    ck_assert_msg(strstr(err.message, follow) != NULL, "%s", err.message);
    tp_stream_free(w);
    /* The next writer: a new segment, sequence numbers after the largest. */
    tp_stream *w2 = open_stream(TP_STREAM_WRITE, 0, 0);
    tp_kinesis_put_result res;
    put1(w2, "new", "k", &res);
    ck_assert_str_eq(res.sequence_number, "6");
    ck_assert_int_eq(count_segments(0), 2);
    ck_assert_int_eq(tp_stream_reader_get(rd, 0, &recs, &err), TP_E_CHECKSUM); /* still */
    tp_stream_reader_free(rd);
    tp_stream_free(w2);

    /* A torn tail: bytes at the end of a segment that are no frame. */
    tpt_rmtree(shard_dir(0));
    char stream_dir[600];
    snprintf(stream_dir, sizeof stream_dir, "%s/s", dir);
    tp_stream_free(r);
    tpt_rmtree(stream_dir);
    w = open_writer(1, 0);
    for (int i = 0; i < 3; i++)
        put1(w, "0123456789", "k", NULL);
    tp_stream_free(w);
    free(seg);
    seg = newest_segment(0);
    free(bytes);
    bytes = tpt_read_file(seg, &len);
    bytes = realloc(bytes, len + 20);
    memset(bytes + len, 0xA5, 20);
    ck_assert_int_eq(tpt_write_file(seg, bytes, len + 20), 0);
    r = open_stream(0, 0, 0);
    size_t n;
    tp_stream_reader_stats rs;
    free(read_all(r, "shardId-000000000000", NULL, &n, &rs));
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(rs.torn_tails, 0); /* not known to be torn yet */
    w = open_stream(TP_STREAM_WRITE, 0, 0);
    put1(w, "after", "k", &res);
    ck_assert_str_eq(res.sequence_number, "4");
    char *text = read_all(r, "shardId-000000000000", NULL, &n, &rs);
    ck_assert_uint_eq(n, 4);
    ck_assert_uint_eq(rs.torn_tails, 1);
    ck_assert_uint_eq(rs.torn_bytes, 20);
    free(text);
    tp_stream_free(w);

    /* A damaged segment header with frames behind it: an error too. */
    free(seg);
    seg = malloc(strlen(shard_dir(0)) + 40);
    sprintf(seg, "%s/%020d.seg", shard_dir(0), 1);
    free(bytes);
    bytes = tpt_read_file(seg, &len);
    bytes[0] = 'X';
    ck_assert_int_eq(tpt_write_file(seg, bytes, len), 0);
    ck_assert_int_eq(tp_stream_reader_new(&rd, r, "shardId-000000000000", NULL, NULL), TP_OK);
    ck_assert_int_eq(tp_stream_reader_get(rd, 0, &recs, &err), TP_E_CHECKSUM);
    ck_assert_uint_eq(err.offset, 0);
    tp_stream_reader_free(rd);
    tp_stream_free(r);
    free(bytes);
    free(seg);
}
END_TEST

/* ---- rollover and retention ----------------------------------------------- */

START_TEST(test_rollover_and_retention)
{
    tp_stream *w = open_writer(1, 4096);
    char data[200];
    memset(data, 'd', sizeof data - 1);
    data[sizeof data - 1] = 0;
    for (int i = 0; i < 100; i++)
        put1(w, data, "k", NULL);
    int segs = count_segments(0);
    ck_assert_int_ge(segs, 4); /* 100 * 227 bytes over 4 KiB segments */
    tp_stream *r = open_stream(0, 0, 0);
    size_t n;
    tp_stream_reader_stats rs;
    free(read_all(r, "shardId-000000000000", NULL, &n, &rs));
    ck_assert_uint_eq(n, 100);
    ck_assert_uint_eq(rs.segments, (uint64_t)segs);

    /* Make every segment but the newest two hours old; with a one-hour
     * retention the next rollover deletes them. */
    DIR *d = opendir(shard_dir(0));
    struct dirent *e;
    char *newest = newest_segment(0);
    int aged = 0;
    while ((e = readdir(d)) != NULL) {
        if (!strstr(e->d_name, ".seg"))
            continue;
        char p[1200];
        snprintf(p, sizeof p, "%s/%s", shard_dir(0), e->d_name);
        if (!strcmp(p, newest))
            continue;
        struct timespec ts[2];
        ts[0].tv_sec = ts[1].tv_sec = time(NULL) - 7200;
        ts[0].tv_nsec = ts[1].tv_nsec = 0;
        ck_assert_int_eq(utimensat(AT_FDCWD, p, ts, 0), 0);
        aged++;
    }
    closedir(d);
    free(newest);
    tp_stream_free(w);
    tp_stream_options o = TP_STREAM_OPTIONS_INIT;
    o.flags = TP_STREAM_WRITE;
    o.segment_bytes = 4096;
    o.retention_ms = 3600 * 1000;
    ck_assert_int_eq(tp_stream_open(&w, uri, &o, NULL), TP_OK);
    ck_assert_int_eq(count_segments(0), 1); /* swept at open */
    for (int i = 0; i < 30; i++)
        put1(w, data, "k", NULL);
    ck_assert_int_ge(count_segments(0), 2); /* the fresh ones stay */

    /* A reader starts at the oldest kept record; asking for a deleted
     * sequence number says so. */
    tp_kinesis_shards ls = {0};
    ck_assert_int_eq(tp_stream_list_shards(r, &ls, NULL), TP_OK);
    uint64_t oldest = strtoull(ls.shards[0].sequence_start, NULL, 10);
    ck_assert_uint_gt(oldest, 1);
    tp_kinesis_shards_dispose(&ls);
    free(read_all(r, "shardId-000000000000", NULL, &n, &rs));
    ck_assert_uint_eq(n, 130 - (oldest - 1));
    tp_stream_position pos = {TP_KINESIS_AT_SEQUENCE_NUMBER, 0, 0, "1"};
    free(read_all(r, "shardId-000000000000", &pos, &n, &rs));
    ck_assert_uint_eq(n, 130 - (oldest - 1));
    ck_assert_uint_eq(rs.trimmed, 0); /* "1": the very first, nothing was before it */
    pos.sequence_number[0] = '2';
    free(read_all(r, "shardId-000000000000", &pos, &n, &rs));
    ck_assert_uint_eq(rs.trimmed, 1);
    ck_assert_int_ge(aged, 2);
    tp_stream_free(r);
    tp_stream_free(w);
}
END_TEST

/* ---- positions and several readers ---------------------------------------- */

START_TEST(test_positions)
{
    tp_stream *w = open_writer(1, 4096);
    char data[64];
    for (int i = 1; i <= 60; i++) {
        snprintf(data, sizeof data, "record %d padded to a longer length", i);
        put1(w, data, "k", NULL);
    }
    struct timespec pause = {0, 20 * 1000000};
    nanosleep(&pause, NULL);
    int64_t mid = tp_time_now_us() / 1000;
    nanosleep(&pause, NULL);
    for (int i = 61; i <= 100; i++) {
        snprintf(data, sizeof data, "record %d padded to a longer length", i);
        put1(w, data, "k", NULL);
    }
    tp_stream *r = open_stream(0, 0, 0);
    const char *sh = "shardId-000000000000";
    size_t n;
    char *t;
    tp_stream_position pos = {TP_KINESIS_TRIM_HORIZON, 0, 0, ""};
    t = read_all(r, sh, &pos, &n, NULL);
    ck_assert_uint_eq(n, 100);
    ck_assert(!strncmp(t, "1|k|record 1 ", 13));
    free(t);
    strcpy(pos.sequence_number, "42");
    pos.type = TP_KINESIS_AT_SEQUENCE_NUMBER;
    t = read_all(r, sh, &pos, &n, NULL);
    ck_assert_uint_eq(n, 59);
    ck_assert(!strncmp(t, "42|k|record 42 ", 15));
    free(t);
    pos.type = TP_KINESIS_AFTER_SEQUENCE_NUMBER;
    t = read_all(r, sh, &pos, &n, NULL);
    ck_assert_uint_eq(n, 58);
    ck_assert(!strncmp(t, "43|k|record 43 ", 15));
    free(t);
    strcpy(pos.sequence_number, "100");
    t = read_all(r, sh, &pos, &n, NULL);
    ck_assert_uint_eq(n, 0);
    free(t);
    strcpy(pos.sequence_number, "340282366920938463463374607431768211455");
    t = read_all(r, sh, &pos, &n, NULL);
    ck_assert_uint_eq(n, 0);
    free(t);
    pos.type = TP_KINESIS_AT_TIMESTAMP;
    pos.timestamp_ms = mid;
    t = read_all(r, sh, &pos, &n, NULL);
    ck_assert_uint_eq(n, 40);
    ck_assert(!strncmp(t, "61|k|record 61 ", 15));
    free(t);
    pos.timestamp_ms = 0;
    t = read_all(r, sh, &pos, &n, NULL);
    ck_assert_uint_eq(n, 100);
    free(t);
    pos.timestamp_ms = mid + 3600 * 1000;
    t = read_all(r, sh, &pos, &n, NULL);
    ck_assert_uint_eq(n, 0);
    free(t);

    /* LATEST: only what is put afterwards. Two readers follow on their own. */
    tp_stream_position latest = {TP_KINESIS_LATEST, 0, 0, ""};
    tp_stream_reader *a = NULL, *b = NULL;
    ck_assert_int_eq(tp_stream_reader_new(&a, r, sh, &latest, NULL), TP_OK);
    ck_assert_int_eq(tp_stream_reader_new(&b, r, sh, NULL, NULL), TP_OK);
    tp_stream_records ra, rb;
    /* Where each stands: LATEST is pinned after the last record there. */
    tp_stream_position at;
    tp_stream_reader_position(a, &at);
    ck_assert_int_eq(at.type, TP_KINESIS_AFTER_SEQUENCE_NUMBER);
    ck_assert_str_eq(at.sequence_number, "100");
    tp_stream_reader_position(b, &at);
    ck_assert_int_eq(at.type, TP_KINESIS_TRIM_HORIZON);
    ck_assert_int_eq(tp_stream_reader_get(a, 0, &ra, NULL), TP_OK);
    ck_assert_uint_eq(ra.count, 0);
    ck_assert_int_eq(tp_stream_reader_get(b, 5, &rb, NULL), TP_OK);
    tp_stream_reader_position(b, &at);
    ck_assert_int_eq(at.type, TP_KINESIS_AFTER_SEQUENCE_NUMBER);
    ck_assert_str_eq(at.sequence_number, "5");
    static const char *const at_rows[][2] = {{"1", "0"}, {"10", "9"}, {"100", "99"}, {"42", "41"}};
    for (size_t k = 0; k < 4; k++) {
        tp_stream_reader *c = NULL;
        tp_stream_position p = {TP_KINESIS_AT_SEQUENCE_NUMBER, 0, 0, ""};
        strcpy(p.sequence_number, at_rows[k][0]);
        ck_assert_int_eq(tp_stream_reader_new(&c, r, sh, &p, NULL), TP_OK);
        tp_stream_reader_position(c, &at);
        ck_assert_int_eq(at.type, TP_KINESIS_AFTER_SEQUENCE_NUMBER);
        ck_assert_str_eq(at.sequence_number, at_rows[k][1]);
        tp_stream_reader_free(c);
    }
    ck_assert_uint_eq(rb.count, 5);
    ck_assert_str_eq(rb.records[4].sequence_number, "5");
    put1(w, "fresh", "k", NULL);
    ck_assert_int_eq(tp_stream_reader_get(a, 0, &ra, NULL), TP_OK);
    ck_assert_uint_eq(ra.count, 1);
    ck_assert_str_eq(ra.records[0].sequence_number, "101");
    ck_assert(ra.records[0].data.len == 5 && !memcmp(ra.records[0].data.ptr, "fresh", 5));
    ck_assert_int_eq(tp_stream_reader_get(b, 0, &rb, NULL), TP_OK);
    ck_assert_str_eq(rb.records[0].sequence_number, "6");
    ck_assert_str_eq(tp_stream_reader_shard_id(b), sh);
    tp_stream_reader_free(a);
    tp_stream_reader_free(b);
    tp_stream_free(r);
    tp_stream_free(w);
}
END_TEST

START_TEST(test_wait)
{
    tp_stream *w = open_writer(2, 0);
    tp_stream *r = open_stream(0, 0, 0);
    tp_error err;
    ck_assert_int_eq(tp_stream_wait(r, 5000, &err), TP_OK); /* the first returns at once */
    int64_t t0 = tp_time_mono_ns();
    ck_assert_int_eq(tp_stream_wait(r, 30, &err), TP_E_TIMEOUT);
    ck_assert_int_ge(tp_time_mono_ns() - t0, 25 * 1000000);
    put1(w, "wake up", "k", NULL);
    ck_assert_int_eq(tp_stream_wait(r, 60000, &err), TP_OK); /* at once: a write happened */
    ck_assert_int_eq(tp_stream_wait(r, 30, &err), TP_E_TIMEOUT);
    tp_stream_free(r);
    tp_stream_free(w);
}
END_TEST

/* ---- out of memory -------------------------------------------------------- */

START_TEST(test_oom)
{
    for (long n = 1; n < 400; n++) {
        tpt_failing_alloc f;
        tpt_failing_alloc_init(&f, n);
        char sub[600];
        snprintf(sub, sizeof sub, "%s/s", dir);
        tpt_rmtree(sub);
        tp_stream_options o = TP_STREAM_OPTIONS_INIT;
        o.flags = TP_STREAM_CREATE | TP_STREAM_WRITE;
        o.alloc = &f.a;
        tp_stream *s = NULL;
        tp_status st = tp_stream_open(&s, uri, &o, NULL);
        if (st == TP_OK) {
            tp_kinesis_entry e[3] = {{tp_cursor_from_str("a"), "k1", NULL},
                                     {tp_cursor_from_str("bb"), "k2", NULL},
                                     {tp_cursor_from_str("ccc"), "k3", "0"}};
            st = tp_stream_put_records(s, e, 3, NULL, NULL, NULL);
            tp_stream_reader *rd = NULL;
            if (st == TP_OK)
                st = tp_stream_reader_new(&rd, s, "shardId-000000000000", NULL, NULL);
            if (st == TP_OK) {
                tp_stream_records recs;
                st = tp_stream_reader_get(rd, 0, &recs, NULL);
                tp_stream_reader_free(rd);
            }
            tp_kinesis_shards ls = {0};
            if (st == TP_OK) {
                st = tp_stream_list_shards(s, &ls, NULL);
                tp_kinesis_shards_dispose(&ls);
            }
            tp_stream_free(s);
        }
        ck_assert_msg(st == TP_OK || st == TP_E_NOMEM, "fail at %ld: %d", n, st);
        ck_assert_int_eq(f.live, 0);
        if (st == TP_OK && f.calls < n)
            break;
    }
}
END_TEST

static Suite *stream_suite(void)
{
    Suite *s = suite_create("stream");
    TCase *tc = tcase_create("file");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_route_md5, 0, TP_ARRAY_LEN(route_rows));
    tcase_add_test(tc, test_route_hash_keys);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_bad_records);
    tcase_add_test(tc, test_open_errors);
    tcase_add_test(tc, test_writer_lock);
    tcase_add_test(tc, test_torn_tail_every_byte);
    tcase_add_test(tc, test_corrupt_frames);
    tcase_add_test(tc, test_rollover_and_retention);
    tcase_add_test(tc, test_positions);
    tcase_add_test(tc, test_wait);
    tcase_add_test(tc, test_oom);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tpt_run_suite(stream_suite()); }
