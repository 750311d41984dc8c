/* Floor 5: the local Firehose: object names, UUIDs, size and age limits,
 * delimiters, atomic objects, and a crash between an object and its
 * checkpoint (committed or redone, never duplicated). */
#include "testutil.h"

#include "core/core_int.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

static char *dir;
static char suri[600], dest[620], outdir[600];

static void setup(void)
{
    dir = tpt_mkdtemp();
    ck_assert_ptr_nonnull(dir);
    snprintf(suri, sizeof suri, "file:%s/stream", dir);
    snprintf(outdir, sizeof outdir, "%s/out", dir);
    snprintf(dest, sizeof dest, "file:%s", outdir);
}

static void teardown(void)
{
    tpt_rmtree(dir);
    free(dir);
}

static tp_stream *writer(uint32_t shards)
{
    tp_stream_options o = TP_STREAM_OPTIONS_INIT;
    o.flags = TP_STREAM_CREATE | TP_STREAM_WRITE;
    o.shard_count = shards;
    tp_stream *s = NULL;
    ck_assert_int_eq(tp_stream_open(&s, suri, &o, NULL), TP_OK);
    return s;
}

/* Put records "{"n":FROM}" .. "{"n":TO-1}" padded to `size` bytes, keys k0..k6. */
static void put_range(tp_stream *w, int from, int to, size_t size)
{
    for (int i = from; i < to; i++) {
        char data[4096], key[8];
        int n = snprintf(data, sizeof data, "{\"n\":%d,\"pad\":\"", i);
        while ((size_t)n < size - 2)
            data[n++] = 'x';
        data[n++] = '"';
        data[n++] = '}';
        snprintf(key, sizeof key, "k%d", i % 7);
        ck_assert_int_eq(
            tp_stream_put_record(w, tp_cursor_make(data, (size_t)n), key, NULL, NULL, NULL), TP_OK);
    }
}

static tp_firehose *open_fh(tp_stream *s, const tp_firehose_options *o)
{
    tp_firehose *f = NULL;
    tp_error err;
    tp_status st = tp_firehose_new(&f, s, dest, o, &err);
    ck_assert_msg(st == TP_OK, "firehose: %s", err.message);
    return f;
}

/* Every object under out/raw-data: count, and the concatenation of their
 * decompressed bytes in `all` (malloc'd). */
typedef struct objects {
    int count;
    size_t max_len; /* the largest object, uncompressed */
    char *all;
    size_t len;
} objects;

static void walk(const char *path, objects *o)
{
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char p[2048];
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        struct stat sb;
        ck_assert_int_eq(stat(p, &sb), 0);
        if (S_ISDIR(sb.st_mode)) {
            walk(p, o);
            continue;
        }
        ck_assert_msg(strstr(p, ".gz") != NULL, "not an object: %s", p);
        gzFile g = gzopen(p, "rb");
        ck_assert_ptr_nonnull(g);
        char buf[65536];
        int n;
        size_t one = 0;
        while ((n = gzread(g, buf, sizeof buf)) > 0) {
            o->all = realloc(o->all, o->len + (size_t)n + 1);
            memcpy(o->all + o->len, buf, (size_t)n);
            o->len += (size_t)n;
            o->all[o->len] = 0;
            one += (size_t)n;
        }
        ck_assert_int_eq(n, 0);
        gzclose(g);
        o->count++;
        if (one > o->max_len)
            o->max_len = one;
    }
    closedir(d);
}

static objects list_objects(void)
{
    objects o = {0, 0, NULL, 0};
    char p[700];
    snprintf(p, sizeof p, "%s/raw-data", outdir);
    walk(p, &o);
    return o;
}

/* How many times each record "n":i appears in what was delivered. */
static void check_each_once(const objects *o, int total)
{
    for (int i = 0; i < total; i++) {
        char needle[32];
        snprintf(needle, sizeof needle, "{\"n\":%d,", i);
        const char *p = o->all ? strstr(o->all, needle) : NULL;
        ck_assert_msg(p != NULL, "record %d missing", i);
        ck_assert_msg(strstr(p + 1, needle) == NULL, "record %d twice", i);
    }
}

START_TEST(test_uuid_and_key)
{
    /* RFC 4122 version 5, vector from Python's uuid module documentation:
     * uuid5(NAMESPACE_DNS, 'python.org') = 886313e1-3b8a-5372-9b90-0c9aee199e5d */
    static const uint8_t dns[16] = {0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1,
                                    0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};
    uint8_t u[16];
    tp_uuid_v5(u, dns, tp_cursor_from_str("python.org"));
    char key[TP_FIREHOSE_KEY_MAX];
    ck_assert_int_eq(tp_firehose_object_key(key, "raw-data/", "tradepipe", 1761137915123, u, NULL),
                     TP_OK);
    ck_assert_str_eq(key, "raw-data/2025/10/22/12/tradepipe-1-2025-10-22-12-58-35-"
                          "886313e1-3b8a-5372-9b90-0c9aee199e5d.gz");
    ck_assert_int_eq(tp_firehose_object_key(key, "", "my.stream_1-x", 0, u, NULL), TP_OK);
    ck_assert(!strncmp(key, "1970/01/01/00/my.stream_1-x-1-1970-01-01-00-00-00-", 50));
    tp_error err;
    ck_assert_int_eq(tp_firehose_object_key(key, "raw-data/", "bad name", 0, u, &err),
                     TP_E_INVALID);
    ck_assert_str_eq(err.field, "name");
    ck_assert_int_eq(tp_firehose_object_key(key, "raw-data/", "", 0, u, &err), TP_E_INVALID);
    ck_assert_int_eq(tp_firehose_object_key(key, "raw-data/", "x", -1, u, &err), TP_E_RANGE);
    char longp[600];
    memset(longp, 'p', sizeof longp - 1);
    longp[sizeof longp - 1] = 0;
    ck_assert_int_eq(tp_firehose_object_key(key, longp, "x", 0, u, &err), TP_E_INVALID);
}
END_TEST

START_TEST(test_age_and_delimiter)
{
    tp_stream *w = writer(2);
    put_range(w, 0, 40, 50);
    tp_stream *r = NULL;
    ck_assert_int_eq(tp_stream_open(&r, suri, NULL, NULL), TP_OK);
    tp_firehose_options o = TP_FIREHOSE_OPTIONS_INIT;
    o.buffer_ms = 1000;
    o.flags = TP_FIREHOSE_NEWLINE;
    tp_firehose *f = open_fh(r, &o);
    size_t n = 0;
    ck_assert_int_eq(tp_firehose_poll(f, 5000, &n, NULL), TP_OK);
    ck_assert_uint_eq(n, 40);
    ck_assert_int_eq(tp_firehose_next_flush_ms(f, 5000), 1000);
    ck_assert_int_eq(tp_firehose_poll(f, 5999, &n, NULL), TP_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(list_objects().count, 0); /* not due yet */
    ck_assert_int_eq(tp_firehose_poll(f, 6000, &n, NULL), TP_OK);
    ck_assert_int_eq(tp_firehose_next_flush_ms(f, 6000), INT64_MAX);
    objects got = list_objects();
    ck_assert_int_eq(got.count, 1);
    ck_assert_uint_eq(got.len, 40 * 51); /* each record and its newline */
    check_each_once(&got, 40);
    for (size_t i = 0; i < got.len; i += 51)
        ck_assert_int_eq(got.all[i + 50], '\n');
    /* The object is where last_key says, named as Firehose names them. */
    const char *key = tp_firehose_last_key(f);
    ck_assert(!strncmp(key, "raw-data/", 9));
    ck_assert_ptr_nonnull(strstr(key, "/tradepipe-1-"));
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", outdir, key);
    struct stat sb;
    ck_assert_int_eq(stat(p, &sb), 0);
    tp_firehose_stats fs;
    tp_firehose_stats_get(f, &fs);
    ck_assert_uint_eq(fs.records_delivered, 40);
    ck_assert_uint_eq(fs.objects, 1);
    ck_assert_uint_eq(fs.bytes_delivered, 40 * 51);
    ck_assert_uint_eq(fs.bytes_written, (uint64_t)sb.st_size);
    /* No temporary file is left. */
    snprintf(p, sizeof p, "%s/.tp-firehose/tmp", outdir);
    DIR *d = opendir(p);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d)) != NULL)
        files += e->d_name[0] != '.';
    closedir(d);
    ck_assert_int_eq(files, 0);
    free(got.all);
    tp_firehose_free(f);
    tp_stream_free(r);
    tp_stream_free(w);
}
END_TEST

START_TEST(test_size_limit)
{
    tp_stream *w = writer(3);
    put_range(w, 0, 200, 100);
    put_range(w, 200, 201, 2000); /* bigger than the buffer: an object of its own */
    put_range(w, 201, 230, 100);
    tp_stream *r = NULL;
    ck_assert_int_eq(tp_stream_open(&r, suri, NULL, NULL), TP_OK);
    tp_firehose_options o = TP_FIREHOSE_OPTIONS_INIT;
    o.buffer_bytes = 1000;
    tp_firehose *f = open_fh(r, &o);
    size_t n = 0;
    ck_assert_int_eq(tp_firehose_poll(f, 0, &n, NULL), TP_OK);
    ck_assert_uint_eq(n, 230);
    ck_assert_int_eq(tp_firehose_flush(f, NULL), TP_OK);
    objects got = list_objects();
    ck_assert_uint_eq(got.len, 229 * 100 + 2000); /* no delimiter */
    ck_assert_uint_eq(got.max_len, 2000);
    ck_assert_int_ge(got.count, 23 + 1);
    check_each_once(&got, 230);
    /* Every object but the big one is within the buffer size. */
    tp_firehose_stats fs;
    tp_firehose_stats_get(f, &fs);
    ck_assert_uint_eq(fs.objects, (uint64_t)got.count);
    ck_assert_uint_eq(fs.records_delivered, 230);
    free(got.all);
    tp_firehose_free(f);

    /* A new handle resumes after what was delivered: nothing twice. */
    put_range(w, 230, 260, 100);
    f = open_fh(r, &o);
    ck_assert_int_eq(tp_firehose_poll(f, 0, &n, NULL), TP_OK);
    ck_assert_uint_eq(n, 30);
    ck_assert_int_eq(tp_firehose_flush(f, NULL), TP_OK);
    got = list_objects();
    check_each_once(&got, 260);
    tp_firehose_stats_get(f, &fs);
    ck_assert_uint_eq(fs.records_delivered, 260); /* kept across handles */
    free(got.all);
    tp_firehose_free(f);
    tp_stream_free(r);
    tp_stream_free(w);
}
END_TEST

/* The checkpoint as it was before the second object, with that object
 * pending: what a crash right after writing it leaves. Committed when the
 * object is there; dropped and redone (same key) when it is not. */
static void crash_after_object(int object_survives)
{
    tp_stream *w = writer(2);
    put_range(w, 0, 50, 60);
    tp_stream *r = NULL;
    ck_assert_int_eq(tp_stream_open(&r, suri, NULL, NULL), TP_OK);
    tp_firehose *f = open_fh(r, NULL);
    size_t n;
    ck_assert_int_eq(tp_firehose_poll(f, 0, &n, NULL), TP_OK);
    ck_assert_int_eq(tp_firehose_flush(f, NULL), TP_OK);
    char cp[800], saved[800];
    snprintf(cp, sizeof cp, "%s/.tp-firehose/tradepipe.checkpoint", outdir);
    snprintf(saved, sizeof saved, "%s/saved.checkpoint", dir);
    size_t len;
    uint8_t *before = tpt_read_file(cp, &len);
    ck_assert_int_eq(tpt_write_file(saved, before, len), 0);
    free(before);

    put_range(w, 50, 90, 60);
    ck_assert_int_eq(tp_firehose_poll(f, 0, &n, NULL), TP_OK);
    /* What the pending entry said for this batch, rebuilt from the object. */
    tp_firehose_stats fs;
    tp_firehose_stats_get(f, &fs);
    ck_assert_int_eq(tp_firehose_flush(f, NULL), TP_OK);
    char key[TP_FIREHOSE_KEY_MAX];
    snprintf(key, sizeof key, "%s", tp_firehose_last_key(f));
    tp_firehose_stats after;
    tp_firehose_stats_get(f, &after);
    tp_firehose_free(f);

    /* Put the old checkpoint back with the second object pending. */
    ck_assert_int_eq(rename(saved, cp), 0);
    char uri[900];
    snprintf(uri, sizeof uri, "file:%s", cp);
    tp_checkpoint *c = NULL;
    ck_assert_int_eq(tp_checkpoint_open(&c, uri, NULL, NULL), TP_OK);
    char pending[2048];
    int pl = snprintf(pending, sizeof pending, "key %s\nrecords 40\nbytes %llu\nwritten %llu\n",
                      key, (unsigned long long)(after.bytes_delivered - fs.bytes_delivered),
                      (unsigned long long)(after.bytes_written - fs.bytes_written));
    tp_kinesis_shards ls = {0};
    ck_assert_int_eq(tp_stream_list_shards(r, &ls, NULL), TP_OK);
    /* Each shard's range in the second batch: after the first batch's last. */
    for (size_t i = 0; i < ls.count; i++) {
        const char *prev = tp_checkpoint_sequence(c, ls.shards[i].shard_id);
        tp_stream_reader *rd;
        tp_stream_position pos = {TP_KINESIS_AFTER_SEQUENCE_NUMBER, 0, 0, ""};
        snprintf(pos.sequence_number, sizeof pos.sequence_number, "%s", prev ? prev : "0");
        ck_assert_int_eq(tp_stream_reader_new(&rd, r, ls.shards[i].shard_id, &pos, NULL), TP_OK);
        tp_stream_records recs;
        ck_assert_int_eq(tp_stream_reader_get(rd, 0, &recs, NULL), TP_OK);
        if (recs.count)
            pl += snprintf(pending + pl, sizeof pending - (size_t)pl, "shard %s %s %s\n",
                           ls.shards[i].shard_id, recs.records[0].sequence_number,
                           recs.records[recs.count - 1].sequence_number);
        tp_stream_reader_free(rd);
    }
    tp_kinesis_shards_dispose(&ls);
    ck_assert_int_eq(tp_checkpoint_set_string(c, "pending", pending, NULL), TP_OK);
    ck_assert_int_eq(tp_checkpoint_save(c, NULL), TP_OK);
    tp_checkpoint_free(c);
    char obj[1200];
    snprintf(obj, sizeof obj, "%s/%s", outdir, key);
    if (!object_survives)
        ck_assert_int_eq(unlink(obj), 0);

    /* Start again. */
    f = open_fh(r, NULL);
    ck_assert_int_eq(tp_firehose_poll(f, 0, &n, NULL), TP_OK);
    ck_assert_uint_eq(n, object_survives ? 0 : 40);
    ck_assert_int_eq(tp_firehose_flush(f, NULL), TP_OK);
    objects got = list_objects();
    ck_assert_int_eq(got.count, 2);
    check_each_once(&got, 90);
    struct stat sb;
    ck_assert_int_eq(stat(obj, &sb), 0); /* the same key, written again if it was lost */
    tp_firehose_stats_get(f, &fs);
    ck_assert_uint_eq(fs.records_delivered, 90);
    ck_assert_uint_eq(fs.objects, 2);
    free(got.all);
    tp_firehose_free(f);
    tp_stream_free(r);
    tp_stream_free(w);
}

START_TEST(test_crash_object_written) { crash_after_object(1); }
END_TEST

START_TEST(test_crash_object_lost) { crash_after_object(0); }
END_TEST

START_TEST(test_options)
{
    tp_stream *w = writer(1);
    tp_firehose *f = NULL;
    tp_error err;
    tp_firehose_options o = TP_FIREHOSE_OPTIONS_INIT;
    o.name = "no spaces";
    ck_assert_int_eq(tp_firehose_new(&f, w, dest, &o, &err), TP_E_INVALID);
    ck_assert_str_eq(err.field, "name");
    o = (tp_firehose_options)TP_FIREHOSE_OPTIONS_INIT;
    o.buffer_bytes = TP_FIREHOSE_MAX_BUFFER_BYTES + 1;
    ck_assert_int_eq(tp_firehose_new(&f, w, dest, &o, &err), TP_E_INVALID);
    ck_assert_str_eq(err.field, "buffer_bytes");
    o = (tp_firehose_options)TP_FIREHOSE_OPTIONS_INIT;
    o.gzip_level = 4;
    ck_assert_int_eq(tp_firehose_new(&f, w, dest, &o, &err), TP_E_INVALID);
    ck_assert_str_eq(err.field, "gzip_level");
    o = (tp_firehose_options)TP_FIREHOSE_OPTIONS_INIT;
    o.prefix = "../escape/";
    ck_assert_int_eq(tp_firehose_new(&f, w, dest, &o, &err), TP_E_INVALID);
    ck_assert_str_eq(err.field, "prefix");
    ck_assert_int_eq(tp_firehose_new(&f, w, "s3://bucket/x", NULL, &err), TP_E_CONFIG);
    ck_assert_ptr_null(f);
    /* Every level writes gzip that zlib reads. */
    put_range(w, 0, 20, 80);
    for (int level = 0; level <= 3; level++) {
        tp_firehose_options lo = TP_FIREHOSE_OPTIONS_INIT;
        lo.gzip_level = level;
        char name[16];
        snprintf(name, sizeof name, "level%d", level);
        lo.name = name;
        f = open_fh(w, &lo);
        size_t n;
        ck_assert_int_eq(tp_firehose_poll(f, 0, &n, NULL), TP_OK);
        ck_assert_int_eq(tp_firehose_flush(f, NULL), TP_OK);
        tp_firehose_free(f);
    }
    objects got = list_objects();
    ck_assert_int_eq(got.count, 4);
    ck_assert_uint_eq(got.len, 4 * 20 * 80);
    free(got.all);
    tp_stream_free(w);
}
END_TEST

static Suite *firehose_suite(void)
{
    Suite *s = suite_create("firehose");
    TCase *tc = tcase_create("local");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_uuid_and_key);
    tcase_add_test(tc, test_age_and_delimiter);
    tcase_add_test(tc, test_size_limit);
    tcase_add_test(tc, test_crash_object_written);
    tcase_add_test(tc, test_crash_object_lost);
    tcase_add_test(tc, test_options);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tpt_run_suite(firehose_suite()); }
