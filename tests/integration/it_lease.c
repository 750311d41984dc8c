/* Shard leases (tradepipe/lease.h) against dynalite: the KCL's item layout
 * read back by awscli, a lease written as the Java KCL writes it read by us,
 * taking, balancing by stealing, renewing, failover, fencing of a stale
 * owner, parents before children, release. Clock values are passed in, so
 * expiry is tested without sleeping. */
#include "it_util.h"

#include "tradepipe/lease.h"

static char g_table[64], g_uri[96];

static void setup(void)
{
    ck_assert_int_eq(it_env_setup(), 0);
    it_name(g_table, sizeof g_table, "it-leases");
    snprintf(g_uri, sizeof g_uri, "dynamodb://%s", g_table);
}

static tp_lease_table *open_worker(const char *worker, uint32_t failover_ms)
{
    tp_lease_table *t = NULL;
    tp_error err;
    tp_lease_options o = TP_LEASE_OPTIONS_INIT;
    o.failover_ms = failover_ms;
    ck_assert_msg(tp_lease_table_open(&t, g_uri, worker, &o, &err) == TP_OK, "%s", err.message);
    return t;
}

/* Shards 0..3: 0 and 1 open, 2 closed with children 4 and 5 (a split), 3 open. */
static void shard_list(tp_kinesis_shards *ls)
{
    static tp_kinesis_shard sh[6];
    memset(sh, 0, sizeof sh);
    const char *ids[] = {"shardId-000000000000", "shardId-000000000001", "shardId-000000000002",
                         "shardId-000000000003", "shardId-000000000004", "shardId-000000000005"};
    for (int i = 0; i < 6; i++)
        snprintf(sh[i].shard_id, sizeof sh[i].shard_id, "%s", ids[i]);
    snprintf(sh[2].sequence_end, sizeof sh[2].sequence_end, "%s", "4968");
    snprintf(sh[4].parent_shard_id, sizeof sh[4].parent_shard_id, "%s", ids[2]);
    snprintf(sh[5].parent_shard_id, sizeof sh[5].parent_shard_id, "%s", ids[2]);
    ls->shards = sh;
    ls->count = 6;
    ls->alloc = NULL;
}

static size_t held_count(const tp_lease_table *t)
{
    size_t n = 0;
    for (size_t i = 0; i < tp_lease_table_count(t); i++)
        n += tp_lease_table_get(t, i)->held;
    return n;
}

static const tp_lease *first_held(const tp_lease_table *t)
{
    for (size_t i = 0; i < tp_lease_table_count(t); i++)
        if (tp_lease_table_get(t, i)->held)
            return tp_lease_table_get(t, i);
    return NULL;
}

START_TEST(test_layout_as_the_kcl)
{
    tp_error err;
    tp_lease_table *a = open_worker("worker-a", 1000);
    tp_kinesis_shards ls;
    shard_list(&ls);
    ck_assert_msg(tp_lease_table_sync(a, &ls, TP_LEASE_LATEST, &err) == TP_OK, "%s", err.message);
    int rc;
    json_t *j = it_aws(&rc, "dynamodb", "get-item", "--table-name", g_table, "--key",
                       "{\"leaseKey\":{\"S\":\"shardId-000000000004\"}}", "--consistent-read",
                       NULL);
    ck_assert_int_eq(rc, 0);
    json_t *item = json_object_get(j, "Item");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(item, "leaseKey"), "S")),
                     "shardId-000000000004");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(item, "leaseCounter"), "N")),
                     "0");
    /* a child of a shard we know starts at its beginning, whatever the initial position */
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(item, "checkpoint"), "S")),
                     "TRIM_HORIZON");
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(item, "checkpointSubSequenceNumber"), "N")),
                     "0");
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(item, "ownerSwitchesSinceCheckpoint"), "N")),
                     "0");
    json_t *ps = json_object_get(json_object_get(item, "parentShardId"), "SS");
    ck_assert(json_is_array(ps) && json_array_size(ps) == 1);
    ck_assert_str_eq(json_string_value(json_array_get(ps, 0)), "shardId-000000000002");
    ck_assert_ptr_null(json_object_get(item, "leaseOwner"));
    json_decref(j);
    j = it_aws(&rc, "dynamodb", "get-item", "--table-name", g_table, "--key",
               "{\"leaseKey\":{\"S\":\"shardId-000000000000\"}}", "--consistent-read", NULL);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_object_get(j, "Item"), "checkpoint"), "S")),
                     "LATEST");
    json_decref(j);

    /* A lease as a Java KCL application leaves it: we read its place. */
    j = it_aws(&rc, "dynamodb", "put-item", "--table-name", g_table, "--item",
               "{\"leaseKey\":{\"S\":\"shardId-000000000009\"},\"leaseOwner\":{\"S\":\"java-1\"},"
               "\"leaseCounter\":{\"N\":\"42\"},\"checkpoint\":{\"S\":"
               "\"49590338271490256608559692538361571095921575989136588898\"},"
               "\"checkpointSubSequenceNumber\":{\"N\":\"7\"},"
               "\"ownerSwitchesSinceCheckpoint\":{\"N\":\"2\"},"
               "\"parentShardId\":{\"SS\":[\"shardId-000000000001\",\"shardId-000000000003\"]}}",
               NULL);
    ck_assert_int_eq(rc, 0);
    json_decref(j);
    ck_assert_msg(tp_lease_table_refresh(a, 0, &err) == TP_OK, "%s", err.message);
    ck_assert_uint_eq(tp_lease_table_count(a), 7);
    const tp_lease *l = tp_lease_table_find(a, "shardId-000000000009");
    ck_assert_ptr_nonnull(l);
    ck_assert_str_eq(l->lease_owner, "java-1");
    ck_assert_int_eq(l->lease_counter, 42);
    ck_assert_str_eq(l->checkpoint, "49590338271490256608559692538361571095921575989136588898");
    ck_assert_int_eq(l->checkpoint_sub_sequence_number, 7);
    ck_assert_int_eq(l->owner_switches_since_checkpoint, 2);
    ck_assert_uint_eq(l->parent_count, 2);
    ck_assert_uint_eq(l->held, 0);
    tp_lease_table_free(a);
}
END_TEST

START_TEST(test_take_balance_fence_failover)
{
    tp_error err;
    tp_lease_table *a = open_worker("worker-a", 1000), *b = open_worker("worker-b", 1000);
    tp_kinesis_shards ls;
    shard_list(&ls);
    ck_assert_int_eq(tp_lease_table_sync(a, &ls, TP_LEASE_TRIM_HORIZON, &err), TP_OK);
    /* a alone: every lease it may take (4 and 5 wait for their parent 2) */
    ck_assert_int_eq(tp_lease_table_refresh(a, 0, &err), TP_OK);
    uint32_t taken = 0;
    ck_assert_msg(tp_lease_table_take(a, 0, &taken, &err) == TP_OK, "%s", err.message);
    ck_assert_uint_eq(taken, 4);
    ck_assert_ptr_null(tp_lease_table_find(a, "shardId-000000000004")->held ? (void *)1 : NULL);
    /* b comes: a's leases are live, so b steals one (a holds 4 > ceil(4/2)) */
    ck_assert_int_eq(tp_lease_table_refresh(b, 0, &err), TP_OK);
    ck_assert_int_eq(tp_lease_table_take(b, 100, &taken, &err), TP_OK);
    ck_assert_uint_eq(taken, 1);
    ck_assert_uint_eq(held_count(b), 1);
    const tp_lease *stolen = first_held(b);
    ck_assert_ptr_nonnull(stolen);
    if (!stolen)
        return;
    char sid[TP_KINESIS_SHARD_ID_MAX];
    snprintf(sid, sizeof sid, "%s", stolen->lease_key);
    ck_assert_int_eq(stolen->owner_switches_since_checkpoint, 1); /* a -> b (nobody -> a is no switch) */
    /* a, which has not looked, is fenced off at its next write */
    ck_assert_int_eq(tp_lease_table_checkpoint(a, sid, "123", 0, tp_cursor_make("s", 1), &err),
                     TP_E_CONDITION);
    ck_assert_uint_eq(tp_lease_table_find(a, sid)->held, 0);
    uint32_t lost = 0;
    ck_assert_int_eq(tp_lease_table_renew(a, 200, &lost, &err), TP_OK);
    ck_assert_uint_eq(lost, 0); /* already dropped */
    ck_assert_uint_eq(held_count(a), 3);
    /* b checkpoints with a state; the owner switches are reset */
    ck_assert_int_eq(tp_lease_table_checkpoint(b, sid, "4567", 3, tp_cursor_make("state!", 6), &err),
                     TP_OK);
    ck_assert_int_eq(tp_lease_table_refresh(a, 300, &err), TP_OK);
    const tp_lease *seen = tp_lease_table_find(a, sid);
    ck_assert_str_eq(seen->lease_owner, "worker-b");
    ck_assert_str_eq(seen->checkpoint, "4567");
    ck_assert_int_eq(seen->checkpoint_sub_sequence_number, 3);
    ck_assert_int_eq(seen->owner_switches_since_checkpoint, 0);
    ck_assert_uint_eq(seen->state.len, 6);
    ck_assert(memcmp(seen->state.ptr, "state!", 6) == 0);
    /* 6 leases (the children count), 2 workers: a share is 3; a holds 3,
     * so b steals no more */
    ck_assert_int_eq(tp_lease_table_refresh(b, 400, &err), TP_OK);
    ck_assert_int_eq(tp_lease_table_take(b, 400, &taken, &err), TP_OK);
    ck_assert_uint_eq(taken, 0);
    ck_assert_int_eq(tp_lease_table_refresh(a, 500, &err), TP_OK);
    ck_assert_uint_eq(held_count(a), 3);
    ck_assert_int_eq(tp_lease_table_take(a, 500, &taken, &err), TP_OK);
    ck_assert_uint_eq(taken, 0);
    /* b stops renewing: once its lease stood still for the failover time
     * (seen changing at 300), a takes it over */
    ck_assert_int_eq(tp_lease_table_renew(a, 1200, &lost, &err), TP_OK);
    ck_assert_int_eq(tp_lease_table_refresh(a, 1250, &err), TP_OK);
    ck_assert_int_eq(tp_lease_table_take(a, 1250, &taken, &err), TP_OK);
    ck_assert_uint_eq(taken, 0);
    ck_assert_int_eq(tp_lease_table_refresh(a, 1600, &err), TP_OK);
    ck_assert_int_eq(tp_lease_table_take(a, 1600, &taken, &err), TP_OK);
    ck_assert_uint_eq(taken, 1);
    ck_assert_uint_eq(held_count(a), 4);
    ck_assert_int_eq(tp_lease_table_find(a, sid)->owner_switches_since_checkpoint, 1);
    /* parent 2 ends: its children may be taken */
    ck_assert_int_eq(tp_lease_table_checkpoint(a, "shardId-000000000002", TP_LEASE_SHARD_END, 0,
                                               tp_cursor_make("", 0), &err),
                     TP_OK);
    ck_assert_int_eq(tp_lease_table_refresh(a, 1700, &err), TP_OK);
    ck_assert_int_eq(tp_lease_table_take(a, 1700, &taken, &err), TP_OK);
    ck_assert_uint_eq(taken, 2);
    ck_assert_uint_eq(tp_lease_table_find(a, "shardId-000000000004")->held, 1);
    /* release: the owner is gone from the item, and b takes it at once */
    ck_assert_int_eq(tp_lease_table_release(a, "shardId-000000000004", &err), TP_OK);
    ck_assert_int_eq(tp_lease_table_checkpoint(a, "shardId-000000000004", "1", 0,
                                               tp_cursor_make("", 0), &err),
                     TP_E_STATE);
    ck_assert_int_eq(tp_lease_table_refresh(b, 1800, &err), TP_OK);
    ck_assert_str_eq(tp_lease_table_find(b, "shardId-000000000004")->lease_owner, "");
    ck_assert_int_eq(tp_lease_table_take(b, 1800, &taken, &err), TP_OK);
    ck_assert_uint_eq(tp_lease_table_find(b, "shardId-000000000004")->held, 1);
    tp_lease_stats st;
    tp_lease_table_stats(a, &st);
    ck_assert_uint_ge(st.conflicts, 1);
    ck_assert_uint_ge(st.lost, 1);
    tp_lease_table_free(a);
    tp_lease_table_free(b);
}
END_TEST

START_TEST(test_bad_arguments)
{
    tp_lease_table *t = NULL;
    tp_error err;
    ck_assert_int_eq(tp_lease_table_open(&t, "file:/tmp/x", "w", NULL, &err), TP_E_CONFIG);
    ck_assert_str_eq(err.field, "table");
    ck_assert_int_eq(tp_lease_table_open(&t, "dynamodb://a b c", "w", NULL, &err), TP_E_CONFIG);
    ck_assert_int_eq(tp_lease_table_open(&t, g_uri, "", NULL, &err), TP_E_INVALID);
    ck_assert_str_eq(err.field, "worker_id");
    t = open_worker("w", 1000);
    tp_kinesis_shards ls;
    shard_list(&ls);
    ck_assert_int_eq(tp_lease_table_sync(t, &ls, "SOMEWHERE", &err), TP_E_INVALID);
    ck_assert_int_eq(tp_lease_table_sync(t, &ls, TP_LEASE_TRIM_HORIZON, &err), TP_OK);
    ck_assert_int_eq(tp_lease_table_refresh(t, 0, &err), TP_OK);
    uint32_t taken;
    ck_assert_int_eq(tp_lease_table_take(t, 0, &taken, &err), TP_OK);
    ck_assert_int_eq(tp_lease_table_checkpoint(t, "shardId-000000000000", "01", 0,
                                               tp_cursor_make("", 0), &err),
                     TP_E_INVALID);
    ck_assert_int_eq(tp_lease_table_checkpoint(t, "shardId-000000000000", "12", -1,
                                               tp_cursor_make("", 0), &err),
                     TP_E_INVALID);
    static uint8_t big[TP_LEASE_STATE_MAX + 1];
    ck_assert_int_eq(tp_lease_table_checkpoint(t, "shardId-000000000000", "12", 0,
                                               tp_cursor_make(big, sizeof big), &err),
                     TP_E_TOO_LARGE);
    tp_lease_table_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("it_lease");
    TCase *tc = tcase_create("lease");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_layout_as_the_kcl);
    tcase_add_test(tc, test_take_balance_fence_failover);
    tcase_add_test(tc, test_bad_arguments);
    suite_add_tcase(s, tc);
    return tpt_run_suite(s);
}
