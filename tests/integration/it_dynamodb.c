/* The DynamoDB client against dynalite, cross-checked with awscli: we
 * write, awscli reads; awscli writes, we read. */
#include "it_util.h"

#include "core/core_int.h"
#include "tradepipe/dynamodb.h"

static tp_dynamodb *g_d;

static void setup(void)
{
    tp_error err;
    ck_assert_int_eq(it_env_setup(), 0);
    tp_aws_client_options o = TP_AWS_CLIENT_OPTIONS_INIT;
    o.max_backoff_ms = 200;
    ck_assert_msg(tp_dynamodb_new(&g_d, &o, &err) == TP_OK, "%s", err.message);
}

static void teardown(void)
{
    tp_dynamodb_free(g_d);
    g_d = NULL;
}

static void make_table(char *name, size_t cap, const char *range)
{
    tp_error err;
    it_name(name, cap, "it-table");
    tp_ddb_key_schema ks = {range ? "pk" : "symbol", "S", range, range ? "N" : NULL};
    ck_assert_msg(tp_dynamodb_create_table(g_d, name, &ks, 0, 0, &err) == TP_OK, "%s",
                  err.message);
    ck_assert_msg(tp_dynamodb_wait_active(g_d, name, 10000, &err) == TP_OK, "%s", err.message);
}

static tp_ddb_value *key_of(const char *symbol)
{
    tp_ddb_value *k;
    ck_assert_int_eq(tp_ddb_m_new(&k, NULL), TP_OK);
    ck_assert_int_eq(tp_ddb_m_set_s(k, "symbol", symbol, NULL), TP_OK);
    return k;
}

/* An item with every attribute type. */
static tp_ddb_value *full_item(const char *symbol)
{
    tp_ddb_value *it = key_of(symbol), *v, *m, *l;
    tp_error err;
    ck_assert_int_eq(tp_ddb_m_set_n(it, "price", "187.23", &err), TP_OK);
    ck_assert_int_eq(tp_ddb_m_set_n(it, "tiny", "-0.00000001", &err), TP_OK);
    ck_assert_int_eq(tp_ddb_m_set_n(it, "big", "12345678901234567890123456789012345678", &err),
                     TP_OK);
    ck_assert_int_eq(tp_ddb_m_set_i64(it, "qty", 1200, &err), TP_OK);
    ck_assert_int_eq(tp_ddb_b_new(&v, tp_cursor_make("\x00\x01\xfe\xff", 4), &err), TP_OK);
    ck_assert_int_eq(tp_ddb_m_set(it, "raw", v, &err), TP_OK);
    ck_assert_int_eq(tp_ddb_bool_new(&v, 1, &err), TP_OK);
    ck_assert_int_eq(tp_ddb_m_set(it, "open", v, &err), TP_OK);
    ck_assert_int_eq(tp_ddb_null_new(&v, &err), TP_OK);
    ck_assert_int_eq(tp_ddb_m_set(it, "exit", v, &err), TP_OK);
    ck_assert_int_eq(tp_ddb_m_new(&m, &err), TP_OK);
    ck_assert_int_eq(tp_ddb_m_set_s(m, "exchange", "XNAS \"quoted\" \xc3\xa9", &err), TP_OK);
    ck_assert_int_eq(tp_ddb_l_new(&l, &err), TP_OK);
    ck_assert_int_eq(tp_ddb_n_new(&v, "1", &err), TP_OK);
    ck_assert_int_eq(tp_ddb_l_append(l, v, &err), TP_OK);
    ck_assert_int_eq(tp_ddb_s_new(&v, tp_cursor_from_str("two"), &err), TP_OK);
    ck_assert_int_eq(tp_ddb_l_append(l, v, &err), TP_OK);
    ck_assert_int_eq(tp_ddb_m_set(m, "list", l, &err), TP_OK);
    ck_assert_int_eq(tp_ddb_m_set(it, "meta", m, &err), TP_OK);
    return it;
}

static const char *n_of(const tp_ddb_value *m, const char *name)
{
    const char *s = NULL;
    ck_assert_int_eq(tp_ddb_value_n(tp_ddb_m_get(m, name), &s), TP_OK);
    return s;
}

START_TEST(test_table_lifecycle)
{
    char name[64];
    tp_error err;
    make_table(name, sizeof name, NULL);
    tp_ddb_table_info ti;
    ck_assert_int_eq(tp_dynamodb_describe_table(g_d, name, &ti, &err), TP_OK);
    ck_assert_str_eq(ti.status, "ACTIVE");
    ck_assert_str_eq(ti.hash_name, "symbol");
    ck_assert_str_eq(ti.range_name, "");
    int rc;
    json_t *j = it_aws(&rc, "dynamodb", "describe-table", "--table-name", name, NULL);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "Table"), "TableArn")),
                     ti.arn);
    json_decref(j);
    tp_ddb_key_schema ks = {"symbol", "S", NULL, NULL};
    ck_assert_int_eq(tp_dynamodb_create_table(g_d, name, &ks, 0, 0, &err), TP_E_EXISTS);
    ck_assert_str_eq(err.aws_code, "ResourceInUseException");
    ck_assert_int_eq(err.http_status, 400);
    ks.hash_type = "X";
    ck_assert_int_eq(tp_dynamodb_create_table(g_d, name, &ks, 0, 0, &err), TP_E_INVALID);
    ck_assert_str_eq(err.field, "KeySchema");

    ck_assert_int_eq(tp_dynamodb_delete_table(g_d, name, &err), TP_OK);
    tp_status st = TP_OK;
    for (int i = 0; i < 100 && st == TP_OK; i++) {
        st = tp_dynamodb_describe_table(g_d, name, &ti, &err);
        if (st == TP_OK)
            usleep(50000);
    }
    ck_assert_int_eq(st, TP_E_NOT_FOUND);
    ck_assert_str_eq(err.aws_code, "ResourceNotFoundException");
    j = it_aws(&rc, "dynamodb", "describe-table", "--table-name", name, NULL);
    ck_assert_int_ne(rc, 0);
    json_decref(j);
    tp_ddb_value *k = key_of("AAPL"), *out = NULL;
    ck_assert_int_eq(tp_dynamodb_get_item(g_d, name, k, 1, &out, &err), TP_E_NOT_FOUND);
    ck_assert_str_eq(err.aws_code, "ResourceNotFoundException");
    tp_ddb_value_free(k);
}
END_TEST

START_TEST(test_we_write_awscli_reads)
{
    char name[64];
    tp_error err;
    make_table(name, sizeof name, NULL);
    tp_ddb_value *it = full_item("AAPL");
    ck_assert_msg(tp_dynamodb_put_item(g_d, name, it, NULL, &err) == TP_OK, "%s", err.message);
    int rc;
    json_t *j = it_aws(&rc, "dynamodb", "get-item", "--table-name", name, "--consistent-read",
                       "--key", "{\"symbol\":{\"S\":\"AAPL\"}}", NULL);
    ck_assert_int_eq(rc, 0);
    json_t *item = json_object_get(j, "Item");
    ck_assert_ptr_nonnull(item);
    /* awscli's view is exactly ours, type tags and all. */
    json_t *ours = json_object_get((json_t *)it, "M");
    ck_assert_msg(json_equal(item, ours), "items differ");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(item, "raw"), "B")),
                     "AAH+/w==");
    json_decref(j);
    tp_ddb_value_free(it);
    tp_dynamodb_delete_table(g_d, name, &err);
}
END_TEST

START_TEST(test_awscli_writes_we_read)
{
    char name[64];
    tp_error err;
    make_table(name, sizeof name, NULL);
    int rc;
    json_t *j = it_aws(&rc, "dynamodb", "put-item", "--table-name", name, "--item",
                       "{\"symbol\":{\"S\":\"MSFT\"},\"price\":{\"N\":\"412.5\"},\"raw\":{\"B\":"
                       "\"aGVsbG8=\"},\"flag\":{\"BOOL\":false},\"none\":{\"NULL\":true},"
                       "\"tags\":{\"L\":[{\"S\":\"a\"},{\"M\":{\"x\":{\"N\":\"-1\"}}}]}}",
                       NULL);
    ck_assert_int_eq(rc, 0);
    json_decref(j);
    tp_ddb_value *k = key_of("MSFT"), *out = NULL;
    ck_assert_int_eq(tp_dynamodb_get_item(g_d, name, k, 1, &out, &err), TP_OK);
    ck_assert_int_eq(tp_ddb_value_type(out), TP_DDB_M);
    ck_assert_uint_eq(tp_ddb_value_count(out), 6);
    ck_assert_str_eq(n_of(out, "price"), "412.5");
    tp_buf b;
    tp_buf_init(&b, NULL, 0);
    ck_assert_int_eq(tp_ddb_value_b(tp_ddb_m_get(out, "raw"), &b, &err), TP_OK);
    ck_assert_uint_eq(b.len, 5);
    ck_assert(memcmp(b.ptr, "hello", 5) == 0);
    tp_buf_dispose(&b);
    int32_t flag = 1;
    ck_assert_int_eq(tp_ddb_value_bool(tp_ddb_m_get(out, "flag"), &flag), TP_OK);
    ck_assert_int_eq(flag, 0);
    ck_assert_int_eq(tp_ddb_value_type(tp_ddb_m_get(out, "none")), TP_DDB_NULL);
    const tp_ddb_value *tags = tp_ddb_m_get(out, "tags");
    ck_assert_int_eq(tp_ddb_value_type(tags), TP_DDB_L);
    ck_assert_uint_eq(tp_ddb_value_count(tags), 2);
    int64_t x = 0;
    ck_assert_int_eq(tp_ddb_value_i64(tp_ddb_m_get(tp_ddb_l_get(tags, 1), "x"), &x), TP_OK);
    ck_assert_int_eq(x, -1);
    tp_ddb_value_free(out);
    /* A key that is not there. */
    tp_ddb_value_free(k);
    k = key_of("NOPE");
    ck_assert_int_eq(tp_dynamodb_get_item(g_d, name, k, 0, &out, &err), TP_E_NOT_FOUND);
    ck_assert_str_eq(err.aws_code, "");
    ck_assert_ptr_null(out);
    tp_ddb_value_free(k);
    tp_dynamodb_delete_table(g_d, name, &err);
}
END_TEST

/* DynamoDB's number rules at their edges, through the service and back: what
 * we write is stored, what the service (or awscli) writes we can read, in
 * whatever form the service hands it back (1E+100 comes back written out). */
static const char *const edge_numbers[] = {
    "1E+100", "-1E+100", "110111111111111110000000000000000000000",
    "9.9999999999999999999999999999999999999E+125", "1E-130", "-1E-130", "0.1E-129",
    "12345678901234567890123456789012345678", "0e5", "1E+3", "0.00042e7",
};

START_TEST(test_number_edges)
{
    char name[64];
    tp_error err;
    make_table(name, sizeof name, NULL);
    tp_ddb_value *it;
    ck_assert_int_eq(tp_ddb_m_new(&it, &err), TP_OK);
    ck_assert_int_eq(tp_ddb_m_set_s(it, "symbol", "NUMS", &err), TP_OK);
    char attr[16];
    for (size_t i = 0; i < TP_ARRAY_LEN(edge_numbers); i++) {
        snprintf(attr, sizeof attr, "n%zu", i);
        ck_assert_msg(tp_ddb_m_set_n(it, attr, edge_numbers[i], &err) == TP_OK, "%s: %s",
                      edge_numbers[i], err.message);
    }
    ck_assert_msg(tp_dynamodb_put_item(g_d, name, it, NULL, &err) == TP_OK, "%s", err.message);
    /* and one written by awscli */
    int rc;
    json_t *j = it_aws(&rc, "dynamodb", "put-item", "--table-name", name, "--item",
                       "{\"symbol\":{\"S\":\"CLI\"},\"big\":{\"N\":\"1E+100\"},"
                       "\"tiny\":{\"N\":\"-1E-130\"}}",
                       NULL);
    ck_assert_int_eq(rc, 0);
    json_decref(j);

    tp_ddb_value *k = key_of("NUMS"), *out = NULL;
    ck_assert_msg(tp_dynamodb_get_item(g_d, name, k, 1, &out, &err) == TP_OK, "%s", err.message);
    ck_assert_uint_eq(tp_ddb_value_count(out), TP_ARRAY_LEN(edge_numbers) + 1);
    /* The same number as awscli reads it back (the service's form). */
    j = it_aws(&rc, "dynamodb", "get-item", "--table-name", name, "--consistent-read", "--key",
               "{\"symbol\":{\"S\":\"NUMS\"}}", NULL);
    ck_assert_int_eq(rc, 0);
    json_t *item = json_object_get(j, "Item");
    for (size_t i = 0; i < TP_ARRAY_LEN(edge_numbers); i++) {
        snprintf(attr, sizeof attr, "n%zu", i);
        const char *cli = json_string_value(json_object_get(json_object_get(item, attr), "N"));
        ck_assert_ptr_nonnull(cli);
        ck_assert_str_eq(n_of(out, attr), cli);
    }
    json_decref(j);
    int64_t x = 0;
    ck_assert_int_eq(tp_ddb_value_i64(tp_ddb_m_get(out, "n9"), &x), TP_OK);
    ck_assert_int_eq(x, 1000);
    ck_assert_int_eq(tp_ddb_value_i64(tp_ddb_m_get(out, "n10"), &x), TP_OK);
    ck_assert_int_eq(x, 4200);
    ck_assert_int_eq(tp_ddb_value_i64(tp_ddb_m_get(out, "n0"), &x), TP_E_RANGE);
    tp_ddb_value_free(out);
    tp_ddb_value_free(k);

    k = key_of("CLI");
    ck_assert_msg(tp_dynamodb_get_item(g_d, name, k, 1, &out, &err) == TP_OK, "%s", err.message);
    const char *big = n_of(out, "big");
    ck_assert_msg(strcmp(big, "1E+100") == 0 || (strlen(big) == 101 && big[0] == '1' &&
                                                  strspn(big + 1, "0") == 100),
                  "big: %s", big);
    tp_ddb_value_free(out);
    tp_ddb_value_free(k);

    /* Outside the rules: refused before any request is sent. */
    tp_ddb_value *v = NULL;
    ck_assert_int_eq(tp_ddb_n_new(&v, "1E+126", &err), TP_E_RANGE);
    ck_assert_int_eq(tp_ddb_n_new(&v, "1E-131", &err), TP_E_RANGE);
    ck_assert_int_eq(tp_ddb_n_new(&v, "123456789012345678901234567890123456789", &err),
                     TP_E_RANGE);
    tp_ddb_value_free(it);
    tp_dynamodb_delete_table(g_d, name, &err);
}
END_TEST

START_TEST(test_conditions)
{
    char name[64];
    tp_error err;
    make_table(name, sizeof name, NULL);
    tp_ddb_value *it = key_of("AAPL"), *vals, *out = NULL;
    ck_assert_int_eq(tp_ddb_m_set_i64(it, "qty", 100, &err), TP_OK);
    ck_assert_int_eq(tp_ddb_m_set_s(it, "last_seq", "00010", &err), TP_OK);
    tp_ddb_expr create_only = {"attribute_not_exists(symbol)", NULL, 0, NULL};
    ck_assert_int_eq(tp_dynamodb_put_item(g_d, name, it, &create_only, &err), TP_OK);
    ck_assert_int_eq(tp_dynamodb_put_item(g_d, name, it, &create_only, &err), TP_E_CONDITION);
    ck_assert_int_eq(err.code, TP_E_CONDITION);
    ck_assert_str_eq(err.aws_code, "ConditionalCheckFailedException");
    ck_assert_int_eq(err.http_status, 400);
    ck_assert_uint_eq(err.attempts, 1);

    /* Apply a record once: the sequence number guards the update. */
    ck_assert_int_eq(tp_ddb_m_new(&vals, &err), TP_OK);
    ck_assert_int_eq(tp_ddb_m_set_i64(vals, ":d", -30, &err), TP_OK);
    ck_assert_int_eq(tp_ddb_m_set_s(vals, ":seq", "00011", &err), TP_OK);
    const char *names[] = {"#q", "qty", "#s", "last_seq"};
    tp_ddb_expr guard = {"#s < :seq", names, 2, vals};
    tp_ddb_value *key = key_of("AAPL");
    ck_assert_msg(tp_dynamodb_update_item(g_d, name, key, "SET #q = #q + :d, #s = :seq", &guard,
                                          &out, &err) == TP_OK,
                  "%s", err.message);
    ck_assert_str_eq(n_of(out, "qty"), "70");
    tp_ddb_value_free(out);
    out = NULL;
    /* The same record again: refused, nothing changes. */
    ck_assert_int_eq(tp_dynamodb_update_item(g_d, name, key, "SET #q = #q + :d, #s = :seq", &guard,
                                             &out, &err),
                     TP_E_CONDITION);
    ck_assert_ptr_null(out);
    int rc;
    json_t *j = it_aws(&rc, "dynamodb", "get-item", "--table-name", name, "--consistent-read",
                       "--key", "{\"symbol\":{\"S\":\"AAPL\"}}", NULL);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_object_get(j, "Item"), "qty"), "N")),
                     "70");
    json_decref(j);
    /* Conditional delete (every value given must be used, as the service says). */
    tp_ddb_value *dvals;
    ck_assert_int_eq(tp_ddb_m_new(&dvals, &err), TP_OK);
    ck_assert_int_eq(tp_ddb_m_set_i64(dvals, ":d", -30, &err), TP_OK);
    tp_ddb_expr unused = {"#q = :d", names, 1, vals};
    ck_assert_int_eq(tp_dynamodb_delete_item(g_d, name, key, &unused, &err), TP_E_AWS);
    ck_assert_str_eq(err.aws_code, "ValidationException");
    tp_ddb_expr wrong = {"#q = :d", names, 1, dvals};
    ck_assert_int_eq(tp_dynamodb_delete_item(g_d, name, key, &wrong, &err), TP_E_CONDITION);
    ck_assert_int_eq(tp_dynamodb_delete_item(g_d, name, key, NULL, &err), TP_OK);
    ck_assert_int_eq(tp_dynamodb_get_item(g_d, name, key, 1, &out, &err), TP_E_NOT_FOUND);
    j = it_aws(&rc, "dynamodb", "get-item", "--table-name", name, "--consistent-read", "--key",
               "{\"symbol\":{\"S\":\"AAPL\"}}", NULL);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_null(json_object_get(j, "Item"));
    json_decref(j);
    /* A malformed expression is the service's validation error. */
    tp_ddb_expr bad = {"#q <<< :d", names, 1, dvals};
    ck_assert_int_eq(tp_dynamodb_put_item(g_d, name, it, &bad, &err), TP_E_AWS);
    ck_assert_str_eq(err.aws_code, "ValidationException");
    tp_ddb_expr badnames = {"#q = :d", (const char *[]){"q", "qty"}, 1, dvals};
    ck_assert_int_eq(tp_dynamodb_put_item(g_d, name, it, &badnames, &err), TP_E_INVALID);
    ck_assert_str_eq(err.field, "ExpressionAttributeNames");
    tp_ddb_value_free(vals);
    tp_ddb_value_free(dvals);
    tp_ddb_value_free(key);
    tp_ddb_value_free(it);
    tp_dynamodb_delete_table(g_d, name, &err);
}
END_TEST

static tp_status count_item(const tp_ddb_value *item, void *payload)
{
    long *n = payload;
    ck_assert_int_eq(tp_ddb_value_type(item), TP_DDB_M);
    (*n)++;
    return TP_OK;
}

typedef struct {
    int64_t sk[64];
    int n;
} sk_list;

static tp_status collect_sk(const tp_ddb_value *item, void *payload)
{
    sk_list *l = payload;
    int64_t v = 0;
    ck_assert_int_eq(tp_ddb_value_i64(tp_ddb_m_get(item, "sk"), &v), TP_OK);
    if (l->n < 64)
        l->sk[l->n++] = v;
    return TP_OK;
}

static tp_status stop_at_3(const tp_ddb_value *item, void *payload)
{
    (void)item;
    long *n = payload;
    return ++*n == 3 ? TP_E_LIMIT : TP_OK;
}

START_TEST(test_batch_scan_query)
{
    char name[64];
    tp_error err;
    make_table(name, sizeof name, "sk");
    enum { N = 60 };
    tp_ddb_value *items[N];
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(tp_ddb_m_new(&items[i], &err), TP_OK);
        ck_assert_int_eq(tp_ddb_m_set_s(items[i], "pk", i < 40 ? "AAPL" : "MSFT", &err), TP_OK);
        ck_assert_int_eq(tp_ddb_m_set_i64(items[i], "sk", i, &err), TP_OK);
        ck_assert_int_eq(tp_ddb_m_set_s(items[i], "side", i % 2 ? "sell" : "buy", &err), TP_OK);
    }
    size_t left = 99;
    ck_assert_msg(tp_dynamodb_batch_write(g_d, name, (const tp_ddb_value *const *)items, N, NULL,
                                          0, 0, &left, &err) == TP_OK,
                  "%s", err.message);
    ck_assert_uint_eq(left, 0);
    int rc;
    json_t *j = it_aws(&rc, "dynamodb", "scan", "--table-name", name, "--select", "COUNT", NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "Count")), N);
    json_decref(j);

    /* Scan in pages of 7. */
    long n = 0;
    uint32_t pages = 0;
    tp_ddb_query q = TP_DDB_QUERY_INIT;
    q.page_size = 7;
    ck_assert_int_eq(tp_dynamodb_scan(g_d, name, &q, count_item, &n, &pages, &err), TP_OK);
    ck_assert_int_eq(n, N);
    ck_assert_uint_ge(pages, 9);
    /* Scan with a filter. */
    tp_ddb_value *vals;
    ck_assert_int_eq(tp_ddb_m_new(&vals, &err), TP_OK);
    ck_assert_int_eq(tp_ddb_m_set_s(vals, ":p", "AAPL", &err), TP_OK);
    ck_assert_int_eq(tp_ddb_m_set_i64(vals, ":a", 10, &err), TP_OK);
    ck_assert_int_eq(tp_ddb_m_set_i64(vals, ":b", 19, &err), TP_OK);
    ck_assert_int_eq(tp_ddb_m_set_s(vals, ":side", "sell", &err), TP_OK);
    const char *names[] = {"#side", "side"};
    tp_ddb_query fq = TP_DDB_QUERY_INIT;
    fq.filter = "#side = :side";
    fq.key.names = names;
    fq.key.n_names = 1;
    fq.key.values = vals;
    tp_ddb_value *fvals;
    ck_assert_int_eq(tp_ddb_m_new(&fvals, &err), TP_OK);
    ck_assert_int_eq(tp_ddb_m_set_s(fvals, ":side", "sell", &err), TP_OK);
    fq.key.values = fvals;
    n = 0;
    ck_assert_msg(tp_dynamodb_scan(g_d, name, &fq, count_item, &n, NULL, &err) == TP_OK, "%s",
                  err.message);
    ck_assert_int_eq(n, N / 2);

    /* Query a key range, paged, both directions. */
    tp_ddb_query kq = TP_DDB_QUERY_INIT;
    kq.key.condition = "pk = :p AND sk BETWEEN :a AND :b";
    kq.key.values = vals;
    kq.page_size = 4;
    kq.consistent_read = 1;
    sk_list l = {{0}, 0};
    tp_ddb_value *kvals;
    ck_assert_int_eq(tp_ddb_m_new(&kvals, &err), TP_OK);
    ck_assert_int_eq(tp_ddb_m_set_s(kvals, ":p", "AAPL", &err), TP_OK);
    ck_assert_int_eq(tp_ddb_m_set_i64(kvals, ":a", 10, &err), TP_OK);
    ck_assert_int_eq(tp_ddb_m_set_i64(kvals, ":b", 19, &err), TP_OK);
    kq.key.values = kvals;
    ck_assert_msg(tp_dynamodb_query(g_d, name, &kq, collect_sk, &l, &pages, &err) == TP_OK, "%s",
                  err.message);
    ck_assert_int_eq(l.n, 10);
    ck_assert_uint_ge(pages, 3);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(l.sk[i], 10 + i);
    kq.descending = 1;
    l.n = 0;
    ck_assert_int_eq(tp_dynamodb_query(g_d, name, &kq, collect_sk, &l, NULL, &err), TP_OK);
    ck_assert_int_eq(l.n, 10);
    ck_assert_int_eq(l.sk[0], 19);
    /* awscli agrees on the count. */
    j = it_aws(&rc, "dynamodb", "query", "--table-name", name, "--key-condition-expression",
               "pk = :p AND sk BETWEEN :a AND :b", "--expression-attribute-values",
               "{\":p\":{\"S\":\"AAPL\"},\":a\":{\"N\":\"10\"},\":b\":{\"N\":\"19\"}}", NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "Count")), 10);
    json_decref(j);
    /* The callback can stop the walk. */
    n = 0;
    ck_assert_int_eq(tp_dynamodb_scan(g_d, name, &q, stop_at_3, &n, NULL, &err), TP_E_LIMIT);
    ck_assert_int_eq(n, 3);
    /* Query without a key condition. */
    ck_assert_int_eq(tp_dynamodb_query(g_d, name, NULL, count_item, &n, NULL, &err),
                     TP_E_INVALID);
    ck_assert_str_eq(err.field, "KeyConditionExpression");

    /* Batch deletes. */
    tp_ddb_value *keys[N];
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(tp_ddb_m_new(&keys[i], &err), TP_OK);
        ck_assert_int_eq(tp_ddb_m_set_s(keys[i], "pk", i < 40 ? "AAPL" : "MSFT", &err), TP_OK);
        ck_assert_int_eq(tp_ddb_m_set_i64(keys[i], "sk", i, &err), TP_OK);
    }
    ck_assert_int_eq(tp_dynamodb_batch_write(g_d, name, NULL, 0,
                                             (const tp_ddb_value *const *)keys, 50, 0, NULL, &err),
                     TP_OK);
    n = 0;
    ck_assert_int_eq(tp_dynamodb_scan(g_d, name, NULL, count_item, &n, NULL, &err), TP_OK);
    ck_assert_int_eq(n, 10);
    for (int i = 0; i < N; i++) {
        tp_ddb_value_free(items[i]);
        tp_ddb_value_free(keys[i]);
    }
    tp_ddb_value_free(vals);
    tp_ddb_value_free(fvals);
    tp_ddb_value_free(kvals);
    tp_dynamodb_delete_table(g_d, name, &err);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("it_dynamodb");
    TCase *tc = tcase_create("dynalite");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_table_lifecycle);
    tcase_add_test(tc, test_we_write_awscli_reads);
    tcase_add_test(tc, test_awscli_writes_we_read);
    tcase_add_test(tc, test_number_edges);
    tcase_add_test(tc, test_conditions);
    tcase_add_test(tc, test_batch_scan_query);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tpt_run_suite(suite());
}
