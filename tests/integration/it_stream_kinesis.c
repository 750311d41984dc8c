/* The stream interface over kinesis:// against kinesalite: put, list,
 * read with KPL de-aggregation (user sequence numbers, sub-sequence
 * numbers), resuming inside an aggregate as the KCL does, a closed shard's
 * end after a split, and a record that claims to be an aggregate but is not. */
#include "it_util.h"

#include "tradepipe/kpl.h"
#include "tradepipe/stream.h"

static char g_name[64], g_uri[96];

static void setup(void)
{
    ck_assert_int_eq(it_env_setup(), 0);
    it_name(g_name, sizeof g_name, "it-skin");
    snprintf(g_uri, sizeof g_uri, "kinesis://%s", g_name);
}

static tp_stream *open_new(uint32_t shards)
{
    tp_stream *s = NULL;
    tp_error err;
    tp_stream_options o = TP_STREAM_OPTIONS_INIT;
    o.flags = TP_STREAM_CREATE | TP_STREAM_EXCL | TP_STREAM_WRITE;
    o.shard_count = shards;
    ck_assert_msg(tp_stream_open(&s, g_uri, &o, &err) == TP_OK, "%s", err.message);
    return s;
}

/* An aggregate of user records "a0", "a1", "a2" under partition key K. */
static void put_aggregate(tp_stream *s, tp_kinesis_put_result *res)
{
    tp_kpl_aggregator *agg = NULL;
    tp_error err;
    ck_assert_int_eq(tp_kpl_aggregator_new(&agg, NULL, &err), TP_OK);
    const char *data[] = {"a0", "a1", "a2"};
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(tp_kpl_aggregator_add(agg, tp_cursor_from_str("K"), tp_cursor_make(NULL, 0),
                                               tp_cursor_from_str(data[i]), &err),
                         TP_OK);
    tp_buf blob;
    tp_buf_init(&blob, NULL, 0);
    tp_kpl_outer outer;
    ck_assert_int_eq(tp_kpl_aggregator_finish(agg, &blob, &outer, &err), TP_OK);
    ck_assert_msg(tp_stream_put_record(s, tp_buf_cursor(&blob), outer.partition_key,
                                       outer.explicit_hash_key[0] ? outer.explicit_hash_key : NULL,
                                       res, &err) == TP_OK,
                  "%s", err.message);
    tp_buf_dispose(&blob);
    tp_kpl_aggregator_free(agg);
}

/* Read shard `id` of `s` from `pos` until nothing comes; returns the data
 * of every user record joined with ',' and the last batch's position. */
static void read_all(tp_stream *s, const char *id, const tp_stream_position *pos, char *out,
                     size_t cap, tp_stream_position *end)
{
    tp_stream_reader *r = NULL;
    tp_error err;
    ck_assert_msg(tp_stream_reader_new(&r, s, id, pos, &err) == TP_OK, "%s", err.message);
    out[0] = '\0';
    for (int i = 0; i < 5; i++) {
        tp_stream_records recs;
        tp_status st = tp_stream_reader_get(r, 0, &recs, &err);
        ck_assert_msg(st == TP_OK || st == TP_DONE, "%s", err.message);
        for (size_t k = 0; k < recs.count; k++) {
            const tp_stream_record *x = &recs.records[k];
            size_t n = strlen(out);
            snprintf(out + n, cap - n, "%s%.*s", n ? "," : "", (int)x->data.len,
                     (const char *)x->data.ptr);
            /* the user sequence: the sequence then 7 digits of sub-sequence */
            ck_assert_uint_eq(strlen(x->user_sequence_number),
                              strlen(x->sequence_number) + TP_STREAM_SUB_DIGITS);
            ck_assert(strncmp(x->user_sequence_number, x->sequence_number,
                              strlen(x->sequence_number)) == 0);
            char sub[16];
            snprintf(sub, sizeof sub, "%07llu", (unsigned long long)x->sub_sequence_number);
            ck_assert_str_eq(x->user_sequence_number + strlen(x->sequence_number), sub);
            ck_assert_int_eq(x->aggregated, x->data.ptr[0] == 'a');
            ck_assert_str_eq(x->partition_key, x->aggregated ? "K" : "P");
        }
        if (st == TP_DONE)
            break;
    }
    tp_stream_reader_position(r, end);
    tp_stream_reader_free(r);
}

START_TEST(test_aggregates_and_resume)
{
    tp_error err;
    tp_stream *s = open_new(1);
    ck_assert_str_ne(tp_stream_id(s), "");
    tp_kinesis_put_result first, agg, last;
    ck_assert_int_eq(tp_stream_put_record(s, tp_cursor_from_str("p0"), "P", NULL, &first, &err),
                     TP_OK);
    put_aggregate(s, &agg);
    ck_assert_int_eq(tp_stream_put_record(s, tp_cursor_from_str("p1"), "P", NULL, &last, &err),
                     TP_OK);
    char got[256];
    tp_stream_position end;
    read_all(s, agg.shard_id, NULL, got, sizeof got, &end);
    ck_assert_str_eq(got, "p0,a0,a1,a2,p1");
    ck_assert_int_eq(end.type, TP_KINESIS_AFTER_SEQUENCE_NUMBER);
    ck_assert_str_eq(end.sequence_number, last.sequence_number);
    ck_assert_int_eq(end.sub_sequence_number, 0);
    /* after user record 1 of the aggregate: 2 and what follows */
    tp_stream_position pos = {TP_KINESIS_AFTER_SEQUENCE_NUMBER, 1, 0, ""};
    snprintf(pos.sequence_number, sizeof pos.sequence_number, "%s", agg.sequence_number);
    read_all(s, agg.shard_id, &pos, got, sizeof got, &end);
    ck_assert_str_eq(got, "a2,p1");
    /* after the plain record: the aggregate whole */
    snprintf(pos.sequence_number, sizeof pos.sequence_number, "%s", first.sequence_number);
    pos.sub_sequence_number = 0;
    read_all(s, agg.shard_id, &pos, got, sizeof got, &end);
    ck_assert_str_eq(got, "a0,a1,a2,p1");
    /* at the aggregate */
    pos.type = TP_KINESIS_AT_SEQUENCE_NUMBER;
    snprintf(pos.sequence_number, sizeof pos.sequence_number, "%s", agg.sequence_number);
    read_all(s, agg.shard_id, &pos, got, sizeof got, &end);
    ck_assert_str_eq(got, "a0,a1,a2,p1");
    /* a record with the KPL magic that is not an aggregate: an error naming it */
    tp_kinesis_put_result bad;
    ck_assert_int_eq(tp_stream_put_record(s, tp_cursor_make("\xF3\x89\x9A\xC2garbage-garbage-xx", 22),
                                          "P", NULL, &bad, &err),
                     TP_OK);
    tp_stream_reader *r = NULL;
    snprintf(pos.sequence_number, sizeof pos.sequence_number, "%s", last.sequence_number);
    pos.type = TP_KINESIS_AFTER_SEQUENCE_NUMBER;
    ck_assert_int_eq(tp_stream_reader_new(&r, s, agg.shard_id, &pos, &err), TP_OK);
    tp_stream_records recs;
    ck_assert_int_eq(tp_stream_reader_get(r, 0, &recs, &err), TP_E_PARSE);
    ck_assert_ptr_nonnull(strstr(err.message, bad.sequence_number));
    tp_stream_reader_free(r);
    tp_stream_free(s);
}
END_TEST

START_TEST(test_closed_shard_ends)
{
    tp_error err;
    tp_stream *s = open_new(1);
    ck_assert_int_eq(tp_stream_put_record(s, tp_cursor_from_str("p0"), "P", NULL, NULL, &err),
                     TP_OK);
    tp_kinesis_shards ls = {0};
    ck_assert_int_eq(tp_stream_list_shards(s, &ls, &err), TP_OK);
    ck_assert_uint_eq(ls.count, 1);
    char parent[TP_KINESIS_SHARD_ID_MAX];
    snprintf(parent, sizeof parent, "%s", ls.shards[0].shard_id);
    int rc;
    json_t *j = it_aws(&rc, "kinesis", "split-shard", "--stream-name", g_name,
                       "--shard-to-split", parent, "--new-starting-hash-key",
                       "170141183460469231731687303715884105728", NULL);
    ck_assert_int_eq(rc, 0);
    json_decref(j);
    for (int i = 0; i < 100; i++) { /* kinesalite makes the children after a moment */
        ck_assert_int_eq(tp_stream_list_shards(s, &ls, &err), TP_OK);
        if (ls.count == 3)
            break;
        usleep(100000);
    }
    ck_assert_uint_eq(ls.count, 3);
    ck_assert_str_ne(ls.shards[0].sequence_end, "");
    ck_assert_str_eq(ls.shards[1].parent_shard_id, parent);
    /* the parent: its record, then its end */
    tp_stream_reader *r = NULL;
    ck_assert_int_eq(tp_stream_reader_new(&r, s, parent, NULL, &err), TP_OK);
    tp_stream_records recs;
    size_t n = 0;
    tp_status st = TP_OK;
    for (int i = 0; i < 10 && st == TP_OK; i++) {
        st = tp_stream_reader_get(r, 0, &recs, &err);
        if (st == TP_OK)
            n += recs.count;
    }
    ck_assert_int_eq(st, TP_DONE);
    ck_assert_uint_eq(n, 1);
    tp_stream_reader_stats rs;
    tp_stream_reader_stats_get(r, &rs);
    ck_assert_uint_ge(rs.requests, 2);
    tp_stream_reader_free(r);
    /* a child is found by its id although it came after the open */
    ck_assert_int_eq(tp_stream_reader_new(&r, s, ls.shards[2].shard_id, NULL, &err), TP_OK);
    tp_stream_reader_free(r);
    ck_assert_int_eq(tp_stream_reader_new(&r, s, "shardId-999999999999", NULL, &err),
                     TP_E_NOT_FOUND);
    tp_kinesis_shards_dispose(&ls);
    tp_stream_free(s);
    /* opening again: it exists (EXCL refuses), and read-only works */
    tp_stream_options o = TP_STREAM_OPTIONS_INIT;
    o.flags = TP_STREAM_CREATE | TP_STREAM_EXCL;
    ck_assert_int_eq(tp_stream_open(&s, g_uri, &o, &err), TP_E_EXISTS);
    ck_assert_int_eq(tp_stream_open(&s, g_uri, NULL, &err), TP_OK);
    ck_assert_uint_eq(tp_stream_shard_count(s), 2); /* the open ones */
    tp_stream_free(s);
    ck_assert_int_eq(tp_stream_open(&s, "kinesis://it-no-such-stream-x", NULL, &err),
                     TP_E_NOT_FOUND);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("it_stream_kinesis");
    TCase *tc = tcase_create("kinesis");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_aggregates_and_resume);
    tcase_add_test(tc, test_closed_shard_ends);
    suite_add_tcase(s, tc);
    return tpt_run_suite(s);
}
