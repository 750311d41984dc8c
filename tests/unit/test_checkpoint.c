/* Floor 5: checkpoints: round trip, determinism, damaged files, bad values. */
#include "testutil.h"

#include "core/core_int.h"
#include "tradepipe/checkpoint.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *dir;
static char path[600], uri[620];

static void setup(void)
{
    dir = tpt_mkdtemp();
    ck_assert_ptr_nonnull(dir);
    snprintf(path, sizeof path, "%s/cp.json", dir);
    snprintf(uri, sizeof uri, "file:%s", path);
}

static void teardown(void)
{
    tpt_rmtree(dir);
    free(dir);
}

static tp_checkpoint *open_cp(void)
{
    tp_checkpoint *c = NULL;
    tp_error err;
    tp_status st = tp_checkpoint_open(&c, uri, NULL, &err);
    ck_assert_msg(st == TP_OK, "%s", err.message);
    return c;
}

START_TEST(test_round_trip)
{
    tp_checkpoint *c = open_cp();
    ck_assert_int_eq(tp_checkpoint_loaded(c), 0);
    ck_assert_ptr_null(tp_checkpoint_sequence(c, "shardId-000000000000"));
    ck_assert_uint_eq(tp_checkpoint_counter(c, "records"), 0);
    ck_assert_uint_eq(tp_checkpoint_state(c).len, 0);
    const uint8_t blob[] = {0, 1, 2, 255, 'x', 0};
    ck_assert_int_eq(tp_checkpoint_set_sequence(c, "shardId-000000000001", "42", NULL), TP_OK);
    ck_assert_int_eq(tp_checkpoint_set_sequence(
                         c, "shardId-000000000000",
                         "49590338271490256608559692538361571095921575989136588898", NULL),
                     TP_OK);
    ck_assert_int_eq(tp_checkpoint_set_counter(c, "records", 123456789012ull, NULL), TP_OK);
    ck_assert_int_eq(tp_checkpoint_set_string(c, "pending", "B\xc3\xb6rse \"q\"", NULL), TP_OK);
    ck_assert_int_eq(tp_checkpoint_set_string(c, "gone", "x", NULL), TP_OK);
    ck_assert_int_eq(tp_checkpoint_set_string(c, "gone", NULL, NULL), TP_OK);
    ck_assert_int_eq(tp_checkpoint_set_state(c, tp_cursor_make(blob, sizeof blob), NULL), TP_OK);
    ck_assert_int_eq(tp_checkpoint_save(c, NULL), TP_OK);
    ck_assert_int_eq(tp_checkpoint_loaded(c), 1);
    tp_checkpoint_free(c);

    size_t n1;
    char *first = (char *)tpt_read_file(path, &n1);
    c = open_cp();
    ck_assert_int_eq(tp_checkpoint_loaded(c), 1);
    ck_assert_str_eq(tp_checkpoint_sequence(c, "shardId-000000000001"), "42");
    ck_assert_str_eq(tp_checkpoint_sequence(c, "shardId-000000000000"),
                     "49590338271490256608559692538361571095921575989136588898");
    ck_assert_uint_eq(tp_checkpoint_counter(c, "records"), 123456789012ull);
    ck_assert_str_eq(tp_checkpoint_string(c, "pending"), "B\xc3\xb6rse \"q\"");
    ck_assert_ptr_null(tp_checkpoint_string(c, "gone"));
    tp_cursor st = tp_checkpoint_state(c);
    ck_assert_uint_eq(st.len, sizeof blob);
    ck_assert(!memcmp(st.ptr, blob, sizeof blob));
    /* The same content saves to the same bytes, keys sorted. */
    ck_assert_int_eq(tp_checkpoint_save(c, NULL), TP_OK);
    tp_checkpoint_free(c);
    size_t n2;
    char *second = (char *)tpt_read_file(path, &n2);
    ck_assert_uint_eq(n1, n2);
    ck_assert_str_eq(first, second);
    ck_assert(!strncmp(first, "{\"counters\":{\"records\":123456789012},\"format\":", 46));
    ck_assert_int_eq(first[n1 - 1], '\n');
    free(first);
    free(second);
    /* Nothing but the file is left in the directory. */
    DIR *d = opendir(dir);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d)) != NULL)
        files += e->d_name[0] != '.';
    closedir(d);
    ck_assert_int_eq(files, 1);
}
END_TEST

static const struct {
    const char *text;
    tp_status want;
    const char *field;
} bad_rows[] = {
    {"{\"format\":\"tradepipe-checkpoint\",", TP_E_PARSE, ""},
    {"[]", TP_E_STATE, ""},
    {"{\"format\":\"other\",\"version\":1,\"shards\":{},\"counters\":{},\"strings\":{},"
     "\"state\":\"\"}",
     TP_E_STATE, "format"},
    {"{\"format\":\"tradepipe-checkpoint\",\"version\":2,\"shards\":{},\"counters\":{},"
     "\"strings\":{},\"state\":\"\"}",
     TP_E_UNSUPPORTED, "version"},
    {"{\"format\":\"tradepipe-checkpoint\",\"version\":1,\"shards\":[],\"counters\":{},"
     "\"strings\":{},\"state\":\"\"}",
     TP_E_STATE, "shards"},
    {"{\"format\":\"tradepipe-checkpoint\",\"version\":1,\"shards\":{\"s\":\"01\"},"
     "\"counters\":{},\"strings\":{},\"state\":\"\"}",
     TP_E_STATE, "shards"},
    {"{\"format\":\"tradepipe-checkpoint\",\"version\":1,\"shards\":{\"s\":7},"
     "\"counters\":{},\"strings\":{},\"state\":\"\"}",
     TP_E_STATE, "shards"},
    {"{\"format\":\"tradepipe-checkpoint\",\"version\":1,\"shards\":{},\"counters\":{\"n\":-1},"
     "\"strings\":{},\"state\":\"\"}",
     TP_E_STATE, "counters"},
    {"{\"format\":\"tradepipe-checkpoint\",\"version\":1,\"shards\":{},\"counters\":{},"
     "\"strings\":{\"a\":1},\"state\":\"\"}",
     TP_E_STATE, "strings"},
    {"{\"format\":\"tradepipe-checkpoint\",\"version\":1,\"shards\":{},\"counters\":{},"
     "\"strings\":{},\"state\":\"@@@@\"}",
     TP_E_STATE, "state"},
    {"{\"format\":\"tradepipe-checkpoint\",\"version\":1,\"shards\":{},\"counters\":{},"
     "\"strings\":{}}",
     TP_E_STATE, "state"},
    {"{\"format\":\"tradepipe-checkpoint\",\"format\":\"tradepipe-checkpoint\"}", TP_E_PARSE, ""},
};

START_TEST(test_bad_files)
{
    ck_assert_int_eq(tpt_write_file(path, bad_rows[_i].text, strlen(bad_rows[_i].text)), 0);
    tp_checkpoint *c = NULL;
    tp_error err;
    tp_status st = tp_checkpoint_open(&c, uri, NULL, &err);
    ck_assert_msg(st == bad_rows[_i].want, "row %d: %d (%s)", _i, st, err.message);
    ck_assert_ptr_null(c);
    ck_assert_str_eq(err.field, bad_rows[_i].field);
    ck_assert_ptr_nonnull(strstr(err.message, "cp.json"));
    if (st == TP_E_PARSE)
        ck_assert_uint_ne(err.offset, TP_NO_OFFSET);
}
END_TEST

START_TEST(test_bad_values)
{
    tp_checkpoint *c = NULL;
    tp_error err;
    ck_assert_int_eq(tp_checkpoint_open(&c, "s3://bucket/x", NULL, &err), TP_E_CONFIG);
    ck_assert_int_eq(tp_checkpoint_open(&c, "file:", NULL, &err), TP_E_CONFIG);
    c = open_cp();
    ck_assert_int_eq(tp_checkpoint_set_sequence(c, "s", "", &err), TP_E_INVALID);
    ck_assert_str_eq(err.field, "sequence_number");
    ck_assert_int_eq(tp_checkpoint_set_sequence(c, "s", "012", &err), TP_E_INVALID);
    ck_assert_int_eq(tp_checkpoint_set_sequence(c, "s", "12a", &err), TP_E_INVALID);
    ck_assert_int_eq(tp_checkpoint_set_sequence(c, "", "12", &err), TP_E_INVALID);
    ck_assert_str_eq(err.field, "shard_id");
    ck_assert_int_eq(tp_checkpoint_set_counter(c, "", 1, &err), TP_E_INVALID);
    ck_assert_int_eq(tp_checkpoint_set_counter(c, "big", UINT64_MAX, &err), TP_E_INVALID);
    ck_assert_int_eq(tp_checkpoint_set_string(c, "s", "\xff\xfe", &err), TP_E_INVALID);
    char longname[80];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    ck_assert_int_eq(tp_checkpoint_set_string(c, longname, "v", &err), TP_E_INVALID);
    /* A place that cannot be written (under a regular file): the save
     * fails naming the path. */
    tp_checkpoint_free(c);
    char sub[700], file[700];
    snprintf(file, sizeof file, "%s/plain", dir);
    ck_assert_int_eq(tpt_write_file(file, "x", 1), 0);
    snprintf(sub, sizeof sub, "file:%s/plain/cp.json", dir);
    ck_assert_int_eq(tp_checkpoint_open(&c, sub, NULL, &err), TP_E_IO);
    ck_assert_ptr_nonnull(strstr(err.message, "plain"));
    /* Its directory missing: created at the first save. */
    snprintf(sub, sizeof sub, "file:%s/new/dir/cp.json", dir);
    ck_assert_int_eq(tp_checkpoint_open(&c, sub, NULL, &err), TP_OK);
    ck_assert_int_eq(tp_checkpoint_save(c, &err), TP_OK);
    tp_checkpoint_free(c);
}
END_TEST

/* One process at a time: a second open is refused, naming the holder. */
START_TEST(test_in_use)
{
    tp_checkpoint *a = open_cp(), *b = NULL;
    tp_error err;
    ck_assert_int_eq(tp_checkpoint_open(&b, uri, NULL, &err), TP_E_STATE);
    ck_assert_ptr_null(b);
    char pid[32];
    snprintf(pid, sizeof pid, "process %ld", (long)getpid());
    ck_assert_msg(strstr(err.message, pid) != NULL, "%s", err.message);
    ck_assert_ptr_nonnull(strstr(err.message, ".cp.json.lock"));
    tp_checkpoint_free(a);
    b = open_cp(); /* free released it */
    tp_checkpoint_free(b);
}
END_TEST

static Suite *checkpoint_suite(void)
{
    Suite *s = suite_create("checkpoint");
    TCase *tc = tcase_create("file");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_round_trip);
    tcase_add_loop_test(tc, test_bad_files, 0, TP_ARRAY_LEN(bad_rows));
    tcase_add_test(tc, test_bad_values);
    tcase_add_test(tc, test_in_use);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tpt_run_suite(checkpoint_suite()); }
