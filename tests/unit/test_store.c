/* Floor 5: positions store (local file), trade archive (local directory),
 * and the interfaces other backends plug into. */
#include "testutil.h"

#include "core/core_int.h"
#include "tradepipe/store.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *dir;

static void setup(void)
{
    dir = tpt_mkdtemp();
    ck_assert_ptr_nonnull(dir);
}

static void teardown(void)
{
    tpt_rmtree(dir);
    free(dir);
}

static char *path_in(const char *name)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

static int64_t P(const char *s)
{
    int64_t v = 0;
    ck_assert_int_eq(tp_price_parse(&v, tp_cursor_from_str(s), NULL), TP_OK);
    return v;
}

static tp_engine_options opts(void)
{
    tp_engine_options o = TP_ENGINE_OPTIONS_INIT;
    o.window = 5;
    o.flags = TP_ENGINE_STOP_LOSS;
    o.stop_loss_pct_e8 = P("3.5");
    return o;
}

static tp_engine *new_engine(const tp_engine_options *o)
{
    tp_engine *e = NULL;
    ck_assert_int_eq(tp_engine_new(&e, o, NULL), TP_OK);
    return e;
}

/* Ticks k in [from, to) of a fixed stream over `nsym` symbols; returns events. */
static int feed(tp_engine *e, int from, int to, int nsym, tp_engine_event *last_sell)
{
    int events = 0;
    for (int k = from; k < to; k++) {
        uint64_t x = (uint64_t)(k + 1) * 0x9e3779b97f4a7c15ULL;
        x ^= x >> 29;
        char sym[16], seq[24];
        snprintf(sym, sizeof sym, "S%d", (int)(x % (uint64_t)nsym));
        snprintf(seq, sizeof seq, "%d", k + 1);
        tp_tick t;
        t.symbol = tp_cursor_from_str(sym);
        t.shard = tp_cursor_from_str("shardId-000000000000");
        t.sequence = tp_cursor_from_str(seq);
        t.price_e8 = 9000000000 + (int64_t)((x >> 8) % 2000000000);
        t.ts_us = (k % 7 == 0) ? TP_ENGINE_NO_TIME : 1761137915123000 + (int64_t)k * 1000;
        tp_engine_event ev;
        size_t n;
        tp_error err;
        ck_assert_int_eq(tp_engine_apply(e, &t, &ev, &n, &err), TP_OK);
        events += (int)n;
        if (n && ev.side == TP_SIDE_SELL && last_sell)
            *last_sell = ev;
    }
    return events;
}

static void snap(const tp_engine *e, tp_buf *b)
{
    tp_buf_init(b, NULL, 0);
    ck_assert_int_eq(tp_engine_snapshot(e, tp_cursor_from_str(""), b, NULL), TP_OK);
}

/* Two engines hold the same symbols in the same states (order aside). */

/* ---- positions file ------------------------------------------------------ */

START_TEST(test_positions_roundtrip_and_replay)
{
    tp_engine_options o = opts();
    char *path = path_in("positions.ndjson");
    char *uri = malloc(strlen(path) + 6);
    sprintf(uri, "file:%s", path);
    tp_positions_store *s = NULL;
    tp_error err;
    ck_assert_int_eq(tp_positions_store_open(&s, uri, NULL, &err), TP_OK);

    /* No file yet: an empty store. */
    tp_engine *a = new_engine(&o);
    ck_assert_int_eq(tp_positions_store_load(s, a, &err), TP_OK);
    ck_assert_uint_eq(tp_engine_symbol_count(a), 0);

    int events = feed(a, 0, 2000, 6, NULL);
    ck_assert_int_gt(events, 10);
    ck_assert_int_eq(tp_positions_store_save(s, a, NULL, 0, &err), TP_OK);

    /* The file is readable NDJSON with the documented fields. */
    size_t len;
    char *text = (char *)tpt_read_file(path, &len);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(strstr(text, "{\"format\":\"tradepipe-positions\",\"version\":1,"
                                       "\"symbols\":6,\"params\":{\"window\":5,\"drop_pct\":\"2\","
                                       "\"take_profit_pct\":\"5\",\"stop_loss_pct\":\"3.5\","
                                       "\"order_size\":100}}\n"));
    ck_assert_ptr_nonnull(strstr(text, "\"last_shard\":\"shardId-000000000000\""));
    free(text);

    tp_engine *b = new_engine(&o);
    ck_assert_int_eq(tp_positions_store_load(s, b, &err), TP_OK);
    tpt_assert_same_state(a, b);

    /* The same input again on the loaded state: nothing happens. */
    tp_buf before, after;
    snap(b, &before);
    ck_assert_int_eq(feed(b, 0, 2000, 6, NULL), 0);
    snap(b, &after);
    ck_assert_uint_eq(before.len, after.len);
    ck_assert_mem_eq(before.ptr, after.ptr, before.len);
    /* And going on gives the events a never-stopped engine gives. */
    ck_assert_int_eq(feed(a, 2000, 3000, 6, NULL), feed(b, 2000, 3000, 6, NULL));
    tpt_assert_same_state(a, b);
    tp_buf_dispose(&before);
    tp_buf_dispose(&after);

    /* No temporary file is left behind. */
    DIR *d = opendir(dir);
    struct dirent *de;
    int files = 0;
    while ((de = readdir(d)) != NULL)
        files += de->d_name[0] != '.';
    closedir(d);
    ck_assert_int_eq(files, 1);

    tp_engine_free(a);
    tp_engine_free(b);
    tp_positions_store_free(s);
    free(uri);
    free(path);
}
END_TEST

/* Edits of a good file, each with the error it must give. */
static const struct {
    const char *name;
    const char *find, *replace; /* first occurrence; find NULL: see special */
    int special;                /* 1 truncate mid-line, 2 drop the last line, 3 empty file,
                                   4 duplicate the last line, 5 other engine window */
    tp_status want;
    const char *field;
    uint32_t line;
} bad_files[] = {
    {"not JSON", "{\"format\"", "x{\"format\"", 0, TP_E_PARSE, "", 1},
    {"other format", "tradepipe-positions", "something-else", 0, TP_E_PARSE, "format", 1},
    {"version 2", "\"version\":1", "\"version\":2", 0, TP_E_UNSUPPORTED, "version", 1},
    {"params edited", "\"take_profit_pct\":\"5\"", "\"take_profit_pct\":\"6\"", 0, TP_E_STATE,
     "take_profit_pct", 1},
    {"quantity edited", "\"quantity\":100", "\"quantity\":200", 0, TP_E_STATE, "quantity", 0},
    {"pnl edited", "\"realized_pnl\":\"", "\"realized_pnl\":\"1", 0, TP_E_STATE, "realized_pnl", 0},
    {"last sequence edited", "\"last_sequence\":\"", "\"last_sequence\":\"9", 0, TP_E_STATE,
     "last_sequence", 0},
    {"state not base64", "\"state\":\"", "\"state\":\"!", 0, TP_E_PARSE, "state", 2},
    {"state corrupt", "\"state\":\"VFBF", "\"state\":\"VFBG", 0, TP_E_PARSE, "state", 2},
    {"state missing", "\"state\":", "\"xstate\":", 0, TP_E_PARSE, "state", 2},
    {"symbol renamed", "{\"symbol\":\"S", "{\"symbol\":\"T", 0, TP_E_STATE, "symbol", 2},
    {"truncated mid-line", NULL, NULL, 1, TP_E_PARSE, "", 0},
    {"last line dropped", NULL, NULL, 2, TP_E_PARSE, "symbols", 0},
    {"empty file", NULL, NULL, 3, TP_E_PARSE, "", 1},
    {"a symbol twice", NULL, NULL, 4, TP_E_STATE, "symbol", 0},
    {"engine with another window", NULL, NULL, 5, TP_E_STATE, "window", 1},
};

START_TEST(test_positions_bad_files)
{
    tp_engine_options o = opts();
    char *path = path_in("p.ndjson");
    tp_positions_store *s = NULL;
    tp_error err;
    ck_assert_int_eq(tp_positions_store_file_new(&s, path, NULL, &err), TP_OK);
    tp_engine *a = new_engine(&o);
    feed(a, 0, 300, 3, NULL);
    ck_assert_int_eq(tp_positions_store_save(s, a, NULL, 0, &err), TP_OK);
    size_t len;
    char *text = (char *)tpt_read_file(path, &len);
    char *edited = malloc(len * 2 + 64);
    const char *f = bad_files[_i].find;
    if (f) {
        char *at = strstr(text, f);
        ck_assert_msg(at != NULL, "%s: '%s' not in the file", bad_files[_i].name, f);
        size_t pre = (size_t)(at - text);
        memcpy(edited, text, pre);
        strcpy(edited + pre, bad_files[_i].replace);
        strcat(edited, at + strlen(f));
    } else {
        strcpy(edited, text);
        size_t el = strlen(edited);
        char *last = edited + el - 1;
        while (last > edited && last[-1] != '\n')
            last--;
        switch (bad_files[_i].special) {
        case 1:
            edited[el - 10] = 0;
            break;
        case 2:
            *last = 0;
            break;
        case 3:
            edited[0] = 0;
            break;
        case 4: {
            char *dup = strdup(last);
            strcat(edited, dup);
            free(dup);
            break;
        }
        }
    }
    ck_assert_int_eq(tpt_write_file(path, edited, strlen(edited)), 0);
    if (bad_files[_i].special == 5)
        o.window = 6;
    tp_engine *b = new_engine(&o);
    tp_tick t;
    t.symbol = tp_cursor_from_str("KEEP");
    t.shard = tp_cursor_from_str("");
    t.sequence = tp_cursor_from_str("1");
    t.price_e8 = 100;
    t.ts_us = TP_ENGINE_NO_TIME;
    tp_engine_event ev;
    size_t n;
    ck_assert_int_eq(tp_engine_apply(b, &t, &ev, &n, NULL), TP_OK);
    tp_status st = tp_positions_store_load(s, b, &err);
    ck_assert_msg(st == bad_files[_i].want, "%s: got %d: %s", bad_files[_i].name, st, err.message);
    ck_assert_str_eq(err.field, bad_files[_i].field);
    if (bad_files[_i].line)
        ck_assert_uint_eq(err.line, bad_files[_i].line);
    else
        ck_assert_uint_ge(err.line, 2);
    ck_assert_ptr_nonnull(strstr(err.message, "p.ndjson"));
    ck_assert_uint_eq(tp_engine_symbol_count(b), 1); /* unchanged */
    tp_engine_free(a);
    tp_engine_free(b);
    tp_positions_store_free(s);
    free(text);
    free(edited);
    free(path);
}
END_TEST

START_TEST(test_positions_io_errors)
{
    tp_engine *e = new_engine(NULL);
    /* A missing directory is created; one under a regular file cannot be. */
    char *path = path_in("no/such/dir/p.ndjson");
    tp_positions_store *s = NULL;
    tp_error err;
    ck_assert_int_eq(tp_positions_store_file_new(&s, path, NULL, &err), TP_OK);
    ck_assert_int_eq(tp_positions_store_save(s, e, NULL, 0, &err), TP_OK);
    tp_positions_store_free(s);
    free(path);
    char *plain = path_in("plain");
    ck_assert_int_eq(tpt_write_file(plain, "x", 1), 0);
    free(plain);
    path = path_in("plain/p.ndjson");
    ck_assert_int_eq(tp_positions_store_file_new(&s, path, NULL, &err), TP_OK);
    ck_assert_int_eq(tp_positions_store_save(s, e, NULL, 0, &err), TP_E_IO);
    ck_assert_ptr_nonnull(strstr(err.message, "plain"));
    tp_positions_store_free(s);
    /* A directory where the file should be. */
    ck_assert_int_eq(tp_positions_store_file_new(&s, dir, NULL, &err), TP_OK);
    ck_assert_int_eq(tp_positions_store_load(s, e, &err), TP_E_IO);
    tp_positions_store_free(s);
    free(path);

    ck_assert_int_eq(tp_positions_store_new(&s, NULL, NULL, NULL, &err), TP_E_INVALID);
    tp_engine_free(e);
}
END_TEST

START_TEST(test_positions_oom_sweep)
{
    tp_engine_options o = opts();
    tp_engine *a = new_engine(&o);
    feed(a, 0, 200, 4, NULL);
    char *path = path_in("oom.ndjson");
    int saved = 0, loaded = 0;
    for (long fail = 1; fail < 400 && !saved; fail++) {
        tpt_failing_alloc fa;
        tpt_failing_alloc_init(&fa, fail);
        tp_positions_store *s = NULL;
        tp_error err;
        tp_status st = tp_positions_store_file_new(&s, path, &fa.a, &err);
        if (st == TP_OK)
            st = tp_positions_store_save(s, a, NULL, 0, &err);
        if (st == TP_OK)
            saved = 1;
        else
            ck_assert_int_eq(st, TP_E_NOMEM);
        tp_positions_store_free(s);
        ck_assert_int_eq(fa.live, 0);
    }
    for (long fail = 1; fail < 400 && !loaded; fail++) {
        tpt_failing_alloc fa;
        tpt_failing_alloc_init(&fa, fail);
        tp_positions_store *s = NULL;
        tp_engine *b = NULL;
        tp_error err;
        tp_engine_options ob = o;
        ob.alloc = &fa.a;
        tp_status st = tp_positions_store_file_new(&s, path, &fa.a, &err);
        if (st == TP_OK)
            st = tp_engine_new(&b, &ob, &err);
        if (st == TP_OK) {
            st = tp_positions_store_load(s, b, &err);
            if (st == TP_OK) {
                tpt_assert_same_state(a, b);
                loaded = 1;
            } else {
                ck_assert_uint_eq(tp_engine_symbol_count(b), 0);
            }
        }
        if (st != TP_OK)
            ck_assert_int_eq(st, TP_E_NOMEM);
        tp_engine_free(b);
        tp_positions_store_free(s);
        ck_assert_int_eq(fa.live, 0);
    }
    ck_assert(saved && loaded);
    tp_engine_free(a);
    free(path);
}
END_TEST

/* ---- URIs and the AWS backends without a service -------------------------- */

/* Unknown and malformed URIs: refused before any client or request. */
static const struct {
    const char *uri;
    int archive; /* 0 positions, 1 trades */
    const char *why;
} bad_uris[] = {
    {"ftp://x", 0, "file:PATH or dynamodb://TABLE"},
    {"file:", 0, "file:PATH or dynamodb://TABLE"},
    {"dynamodb://", 0, "no table name"},
    {"dynamodb://ab", 0, "3 to 255"},
    {"dynamodb://bad table", 0, "3 to 255"},
    {"dynamodb://tbl/extra", 0, "3 to 255"},
    {"dynamodb://t\xc3\xa4" "ble", 0, "3 to 255"},
    {"dynamodb:/tbl", 0, "file:PATH or dynamodb://TABLE"},
    {"bucket", 1, "file:DIR or s3://BUCKET/PREFIX"},
    {"s3://", 1, "no bucket"},
    {"s3:///prefix", 1, "no bucket"},
    {"s3://Bucket/x", 1, "3 to 63"},
    {"s3://ab", 1, "3 to 63"},
    {"s3://-bucket/x", 1, "3 to 63"},
    {"s3://bucket./x", 1, "3 to 63"},
    {"s3://bucket_x/x", 1, "3 to 63"},
    {"s3://bucket/a\tb", 1, "control characters"},
};

START_TEST(test_bad_uris)
{
    tp_error err;
    memset(&err, 0, sizeof err);
    if (bad_uris[_i].archive) {
        tp_trade_archive *a = (tp_trade_archive *)&err; /* set to NULL on failure */
        ck_assert_int_eq(tp_trade_archive_open(&a, bad_uris[_i].uri, NULL, &err), TP_E_CONFIG);
        ck_assert_ptr_null(a);
        ck_assert_str_eq(err.field, "trades");
    } else {
        tp_positions_store *s = (tp_positions_store *)&err;
        ck_assert_int_eq(tp_positions_store_open(&s, bad_uris[_i].uri, NULL, &err), TP_E_CONFIG);
        ck_assert_ptr_null(s);
        ck_assert_str_eq(err.field, "positions");
    }
    ck_assert_msg(strstr(err.message, bad_uris[_i].why) != NULL, "%s: %s", bad_uris[_i].uri,
                  err.message);
}
END_TEST

START_TEST(test_bad_uri_long_table)
{
    char uri[300] = "dynamodb://";
    memset(uri + 11, 't', 256);
    uri[11 + 256] = 0;
    tp_positions_store *s = NULL;
    tp_error err;
    ck_assert_int_eq(tp_positions_store_open(&s, uri, NULL, &err), TP_E_CONFIG);
    ck_assert_str_eq(err.field, "positions");
    uri[11 + 255] = 0; /* 255 is allowed: it gets as far as the client */
    setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:1", 1);
    setenv("AWS_MAX_ATTEMPTS", "1", 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
    setenv("AWS_REGION", "us-east-1", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    ck_assert_int_eq(tp_positions_store_open(&s, uri, NULL, &err), TP_E_HTTP);
}
END_TEST

/* Valid URIs with nothing listening: the client's transport error, nothing
 * left allocated, no store. */
START_TEST(test_aws_unreachable)
{
    setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:1", 1);
    setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1", 1);
    setenv("AWS_MAX_ATTEMPTS", "1", 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
    setenv("AWS_REGION", "us-east-1", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    unsetenv("AWS_PROFILE");
    setenv("AWS_CONFIG_FILE", "/dev/null", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null", 1);
    tpt_failing_alloc fa;
    tpt_failing_alloc_init(&fa, 0);
    tp_positions_store *s = NULL;
    tp_error err;
    ck_assert_int_eq(tp_positions_store_open(&s, "dynamodb://positions", &fa.a, &err), TP_E_HTTP);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(err.message, "positions table positions: DescribeTable"));
    ck_assert_ptr_null(strstr(err.message, "wJalrXUtnFEMI"));
    tp_trade_archive *a = NULL;
    ck_assert_int_eq(tp_trade_archive_open(&a, "s3://my-bucket/trades", &fa.a, &err), TP_E_HTTP);
    ck_assert_ptr_null(a);
    ck_assert_ptr_nonnull(strstr(err.message, "my-bucket"));
    ck_assert_int_eq(fa.live, 0);
}
END_TEST

START_TEST(test_aws_constructors)
{
    tp_aws_client_options o = TP_AWS_CLIENT_OPTIONS_INIT;
    o.region = "us-east-1";
    o.endpoint_url = "http://127.0.0.1:1";
    tp_dynamodb *d = NULL;
    tp_s3 *c3 = NULL;
    tp_error err;
    ck_assert_int_eq(tp_dynamodb_new(&d, &o, &err), TP_OK);
    ck_assert_int_eq(tp_s3_new(&c3, &o, &err), TP_OK);
    tp_positions_store *s = NULL;
    ck_assert_int_eq(tp_positions_store_dynamodb_new(&s, d, "no", NULL, &err), TP_E_INVALID);
    ck_assert_str_eq(err.field, "table");
    ck_assert_int_eq(tp_positions_store_dynamodb_new(&s, NULL, "positions", NULL, &err),
                     TP_E_INVALID);
    ck_assert_int_eq(tp_positions_store_dynamodb_ensure_table(d, "a b c", 1000, &err),
                     TP_E_INVALID);
    ck_assert_str_eq(err.field, "table");
    tp_trade_archive *a = NULL;
    ck_assert_int_eq(tp_trade_archive_s3_new(&a, c3, "No_Such", "p", NULL, &err), TP_E_INVALID);
    ck_assert_str_eq(err.field, "bucket");
    ck_assert_int_eq(tp_trade_archive_s3_new(&a, c3, "bucket", "a\nb", NULL, &err), TP_E_INVALID);
    ck_assert_str_eq(err.field, "prefix");
    /* Made without a request, in every allocation order; freed whole. */
    int made = 0;
    for (long fail = 1; fail < 50 && made < 2; fail++) {
        tpt_failing_alloc fa;
        tpt_failing_alloc_init(&fa, fail);
        made = 0;
        tp_status st = tp_positions_store_dynamodb_new(&s, d, "positions-table", &fa.a, &err);
        if (st == TP_OK) {
            made++;
            tp_positions_store_dynamodb_stats stats;
            memset(&stats, 0xff, sizeof stats);
            ck_assert_int_eq(tp_positions_store_dynamodb_stats_get(s, &stats, &err), TP_OK);
            ck_assert_uint_eq(stats.writes + stats.reads + stats.conflicts, 0);
            tp_positions_store_free(s);
        } else {
            ck_assert_int_eq(st, TP_E_NOMEM);
            ck_assert_ptr_null(s);
        }
        st = tp_trade_archive_s3_new(&a, c3, "bucket", "/trades/", &fa.a, &err);
        if (st == TP_OK) {
            made++;
            tp_trade_archive_free(a);
        } else {
            ck_assert_int_eq(st, TP_E_NOMEM);
            ck_assert_ptr_null(a);
        }
        ck_assert_int_eq(fa.live, 0);
    }
    ck_assert_int_eq(made, 2);
    /* The file store is not a DynamoDB one. */
    ck_assert_int_eq(tp_positions_store_file_new(&s, "p.ndjson", NULL, &err), TP_OK);
    tp_positions_store_dynamodb_stats stats;
    ck_assert_int_eq(tp_positions_store_dynamodb_stats_get(s, &stats, &err), TP_E_INVALID);
    tp_positions_store_free(s);
    tp_dynamodb_free(d);
    tp_s3_free(c3);
}
END_TEST

/* ---- trades -------------------------------------------------------------- */

static tp_engine_event sell_event(const char *symbol)
{
    tp_engine_event ev;
    memset(&ev, 0, sizeof ev);
    ev.side = TP_SIDE_SELL;
    ev.reason = TP_REASON_TAKE_PROFIT;
    ev.price_e8 = P("190");
    ev.quantity = 100;
    ev.ts_us = 1761137915123000;
    ev.entry_price_e8 = P("180");
    ev.entry_ts_us = TP_ENGINE_NO_TIME;
    ev.pnl_e8 = P("1000");
    strcpy(ev.symbol, symbol);
    strcpy(ev.shard, "shardId-000000000001");
    strcpy(ev.sequence, "40");
    strcpy(ev.entry_shard, "shardId-000000000001");
    strcpy(ev.entry_sequence, "12");
    return ev;
}

static const struct {
    const char *symbol, *key_dir;
} key_rows[] = {
    {"AAPL", "completed-trades/AAPL/"},
    {"BRK.B", "completed-trades/BRK.B/"},
    {"../etc", "completed-trades/%2E.%2Fetc/"},
    {".", "completed-trades/%2E/"},
    {"a b%c", "completed-trades/a%20b%25c/"},
    {"\xc3\xa9t\xc3\xa9", "completed-trades/%C3%A9t%C3%A9/"},
};

START_TEST(test_trade_key)
{
    tp_engine_event ev = sell_event(key_rows[_i].symbol);
    char key[TP_TRADE_KEY_MAX];
    tp_error err;
    ck_assert_int_eq(tp_completed_trade_key(key, &ev, &err), TP_OK);
    ck_assert_msg(strncmp(key, key_rows[_i].key_dir, strlen(key_rows[_i].key_dir)) == 0, "%s", key);
    const char *rest = key + strlen(key_rows[_i].key_dir);
    ck_assert_int_eq(strncmp(rest, "12-40-", 6), 0);
    ck_assert_uint_eq(strlen(rest), strlen("12-40-") + 8 + strlen(".json"));
    /* Another shard: another key; the same trade: the same key. */
    char again[TP_TRADE_KEY_MAX], other[TP_TRADE_KEY_MAX];
    ck_assert_int_eq(tp_completed_trade_key(again, &ev, &err), TP_OK);
    ck_assert_str_eq(key, again);
    strcpy(ev.shard, "shardId-000000000002");
    ck_assert_int_eq(tp_completed_trade_key(other, &ev, &err), TP_OK);
    ck_assert_str_ne(key, other);
    ev.side = TP_SIDE_BUY;
    ck_assert_int_eq(tp_completed_trade_key(other, &ev, &err), TP_E_INVALID);
}
END_TEST

START_TEST(test_trade_json)
{
    tp_engine_event ev = sell_event("AAPL");
    tp_engine_options o = opts();
    tp_buf b;
    tp_error err;
    tp_buf_init(&b, NULL, 0);
    ck_assert_int_eq(tp_completed_trade_json(&b, &ev, &o, &err), TP_OK);
    ck_assert_str_eq(
        (char *)b.ptr,
        "{\"symbol\":\"AAPL\",\"quantity\":100,"
        "\"entry\":{\"price\":180,\"time\":null,\"sequence\":\"12\",\"shard\":"
        "\"shardId-000000000001\"},"
        "\"exit\":{\"price\":190,\"time\":\"2025-10-22T12:58:35.123Z\",\"sequence\":\"40\","
        "\"shard\":\"shardId-000000000001\"},"
        "\"pnl\":1000,\"return_pct\":5.55555556,\"reason\":\"take_profit\","
        "\"params\":{\"window\":5,\"drop_pct\":2,\"take_profit_pct\":5,\"stop_loss_pct\":3.5,"
        "\"order_size\":100}}\n");
    /* A loss rounds half away from zero too: -1/3 % = -0.33333333. */
    tp_buf_clear(&b);
    ev.reason = TP_REASON_STOP_LOSS;
    ev.entry_price_e8 = P("300");
    ev.price_e8 = P("299");
    ev.pnl_e8 = P("-100");
    ev.entry_ts_us = 1761137915123456;
    o.flags = 0;
    ck_assert_int_eq(tp_completed_trade_json(&b, &ev, &o, &err), TP_OK);
    ck_assert_ptr_nonnull(strstr((char *)b.ptr, "\"return_pct\":-0.33333333,"));
    ck_assert_ptr_nonnull(strstr((char *)b.ptr, "\"reason\":\"stop_loss\""));
    ck_assert_ptr_nonnull(strstr((char *)b.ptr, "\"stop_loss_pct\":null"));
    ck_assert_ptr_nonnull(strstr((char *)b.ptr, "\"time\":\"2025-10-22T12:58:35.123456Z\""));
    tp_buf_clear(&b);
    ev.price_e8 = P("299.99999999");
    ev.entry_price_e8 = P("200");
    ck_assert_int_eq(tp_completed_trade_json(&b, &ev, &o, &err), TP_OK);
    ck_assert_ptr_nonnull(strstr((char *)b.ptr, "\"return_pct\":50,")); /* 49.999999995 */
    ev.side = TP_SIDE_BUY;
    ck_assert_int_eq(tp_completed_trade_json(&b, &ev, &o, &err), TP_E_INVALID);
    tp_buf_dispose(&b);
}
END_TEST

static int count_files(const char *d)
{
    DIR *dd = opendir(d);
    if (!dd)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dd)) != NULL)
        n += e->d_name[0] != '.' || (e->d_name[1] && e->d_name[1] != '.');
    closedir(dd);
    return n;
}

START_TEST(test_archive_dir)
{
    tp_trade_archive *a = NULL;
    tp_error err;
    char *uri = malloc(strlen(dir) + 8);
    sprintf(uri, "file:%s/", dir);
    ck_assert_int_eq(tp_trade_archive_open(&a, uri, NULL, &err), TP_OK);
    tp_engine_event ev = sell_event("BRK.B");
    tp_engine_options o = opts();
    ck_assert_int_eq(tp_trade_archive_put(a, &ev, &o, &err), TP_OK);
    ck_assert_int_eq(tp_trade_archive_put(a, &ev, &o, &err), TP_OK); /* overwrites */
    char key[TP_TRADE_KEY_MAX];
    ck_assert_int_eq(tp_completed_trade_key(key, &ev, &err), TP_OK);
    char *file = path_in(key);
    size_t len;
    char *body = (char *)tpt_read_file(file, &len);
    ck_assert_ptr_nonnull(body);
    tp_buf want;
    tp_buf_init(&want, NULL, 0);
    ck_assert_int_eq(tp_completed_trade_json(&want, &ev, &o, &err), TP_OK);
    ck_assert_str_eq(body, (char *)want.ptr);
    char *sub = path_in("completed-trades/BRK.B");
    ck_assert_int_eq(count_files(sub), 1);
    /* A trade of a symbol that looks like a path stays inside: nothing new
     * appears next to the archive's directory (a fresh one, in its own
     * fresh parent, so no stranger's file can be mistaken for ours). */
    char *parent = tpt_mkdtemp();
    char *inner = malloc(strlen(parent) + 16);
    sprintf(inner, "%s/inner", parent);
    ck_assert_int_eq(mkdir(inner, 0700), 0);
    char *inner_uri = malloc(strlen(inner) + 8);
    sprintf(inner_uri, "file:%s", inner);
    tp_trade_archive *a2 = NULL;
    ck_assert_int_eq(tp_trade_archive_open(&a2, inner_uri, NULL, &err), TP_OK);
    ev = sell_event("../x");
    ck_assert_int_eq(tp_trade_archive_put(a2, &ev, &o, &err), TP_OK);
    ck_assert_int_eq(tp_trade_archive_put(a, &ev, &o, &err), TP_OK);
    tp_trade_archive_free(a2);
    ck_assert_int_eq(count_files(parent), 1); /* the trade, inside inner/ */
    char *outside = malloc(strlen(parent) + 8);
    sprintf(outside, "%s/x", parent);
    struct stat sb;
    ck_assert_int_ne(stat(outside, &sb), 0);
    tpt_rmtree(parent);
    free(parent);
    free(inner);
    free(inner_uri);
    char *top = path_in("completed-trades");
    ck_assert_int_eq(count_files(top), 2);
    free(top);
    /* Sell events only. */
    ev.side = TP_SIDE_BUY;
    ck_assert_int_eq(tp_trade_archive_put(a, &ev, &o, &err), TP_E_INVALID);
    tp_trade_archive_free(a);

    /* A file where a directory must be: TP_E_IO naming it. */
    char *blocked = path_in("blocked");
    ck_assert_int_eq(tpt_write_file(blocked, "x", 1), 0);
    ck_assert_int_eq(tp_trade_archive_dir_new(&a, blocked, NULL, &err), TP_OK);
    ev.side = TP_SIDE_SELL;
    ck_assert_int_eq(tp_trade_archive_put(a, &ev, &o, &err), TP_E_IO);
    ck_assert_ptr_nonnull(strstr(err.message, "blocked"));
    tp_trade_archive_free(a);
    free(blocked);
    free(outside);
    free(sub);
    free(file);
    free(body);
    free(uri);
    tp_buf_dispose(&want);
}
END_TEST

/* Another backend through the same interface: objects kept in memory. */
typedef struct mem_archive {
    char key[TP_TRADE_KEY_MAX];
    char body[4096];
    int puts, freed;
} mem_archive;

static tp_status mem_put(void *payload, const char *key, tp_cursor body, const char *ct,
                         tp_error *err)
{
    mem_archive *m = payload;
    ck_assert_str_eq(ct, "application/json");
    if (body.len >= sizeof m->body)
        return tp_error__set(err, TP_E_TOO_LARGE, "too big");
    strcpy(m->key, key);
    memcpy(m->body, body.ptr, body.len);
    m->body[body.len] = 0;
    m->puts++;
    return TP_OK;
}

static void mem_free(void *payload) { ((mem_archive *)payload)->freed++; }

static const tp_trade_archive_vtable mem_vt = {TP_TRADE_ARCHIVE_VTABLE_VERSION, 0, mem_put,
                                               mem_free};

START_TEST(test_archive_custom_backend)
{
    mem_archive m;
    memset(&m, 0, sizeof m);
    tp_trade_archive *a = NULL;
    tp_error err;
    ck_assert_int_eq(tp_trade_archive_new(&a, &mem_vt, &m, NULL, &err), TP_OK);
    tp_engine_event ev = sell_event("MSFT");
    tp_engine_options o = opts();
    ck_assert_int_eq(tp_trade_archive_put(a, &ev, &o, &err), TP_OK);
    ck_assert_int_eq(m.puts, 1);
    ck_assert_int_eq(strncmp(m.key, "completed-trades/MSFT/12-40-", 28), 0);
    ck_assert_int_eq(strncmp(m.body, "{\"symbol\":\"MSFT\"", 16), 0);
    tp_trade_archive_free(a);
    ck_assert_int_eq(m.freed, 1);
    /* A bad vtable is refused, and the payload still released. */
    tp_trade_archive_vtable bad = mem_vt;
    bad.version = 99;
    ck_assert_int_eq(tp_trade_archive_new(&a, &bad, &m, NULL, &err), TP_E_INVALID);
    ck_assert_int_eq(m.freed, 2);
}
END_TEST

/* ---- crash tests ----------------------------------------------------------
 * A child process saves state after state as fast as it can; the parent
 * kills it (SIGKILL) at a random moment. Whatever the moment, the file must
 * load as one complete state: the initial one or one the child wrote. */

static long rnd_us(unsigned *seed, long max) { return (long)(rand_r(seed) % (unsigned)max); }

START_TEST(test_crash_positions_file)
{
    tp_engine_options o = opts();
    char *path = path_in("crash.ndjson");
    tp_positions_store *s = NULL;
    ck_assert_int_eq(tp_positions_store_file_new(&s, path, NULL, NULL), TP_OK);
    /* 300 symbols: each save is a few hundred kilobytes, so kills land mid-write. */
    tp_engine *e = new_engine(&o);
    feed(e, 0, 3000, 300, NULL);
    ck_assert_int_eq(tp_positions_store_save(s, e, NULL, 0, NULL), TP_OK);
    unsigned seed = 12345;
    int killed_mid_run = 0;
    for (int round = 0; round < 25; round++) {
        fflush(NULL);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            /* Round r: one tick per symbol per save, the state moves on. */
            for (int k = 0;; k++) {
                feed(e, 3000 + (round * 1000 + k) * 300, 3000 + (round * 1000 + k + 1) * 300, 300,
                     NULL);
                if (tp_positions_store_save(s, e, NULL, 0, NULL) != TP_OK)
                    _exit(3);
            }
        }
        usleep((useconds_t)(1000 + rnd_us(&seed, 40000)));
        kill(pid, SIGKILL);
        int wst;
        waitpid(pid, &wst, 0);
        killed_mid_run += WIFSIGNALED(wst);
        /* The file loads whole, and is a state some save wrote. */
        tp_engine *b = new_engine(&o);
        tp_error err;
        ck_assert_msg(tp_positions_store_load(s, b, &err) == TP_OK, "round %d: %s", round,
                      err.message);
        ck_assert_uint_eq(tp_engine_symbol_count(b), 300);
        tp_engine_stats st;
        uint64_t total = 0;
        for (size_t i = 0; i < 300; i++) {
            tp_position p;
            ck_assert_int_eq(tp_engine_position_at(b, i, &p, NULL), TP_OK);
            total += p.ticks;
        }
        tp_engine_stats_get(b, &st);
        ck_assert_uint_ge(total, 3000);
        ck_assert_uint_eq(total % 300, 0); /* whole saves only */
        tp_engine_free(b);
    }
    ck_assert_int_eq(killed_mid_run, 25);
    tp_engine_free(e);
    tp_positions_store_free(s);
    free(path);
}
END_TEST

START_TEST(test_crash_archive)
{
    char *adir = path_in("archive");
    tp_trade_archive *a = NULL;
    ck_assert_int_eq(tp_trade_archive_dir_new(&a, adir, NULL, NULL), TP_OK);
    tp_engine_event ev = sell_event("CRSH");
    tp_engine_options o = opts();
    /* A long symbol-sized body is small; make the bodies differ in length
     * through the window parameter so a torn write would show. */
    ck_assert_int_eq(tp_trade_archive_put(a, &ev, &o, NULL), TP_OK);
    char key[TP_TRADE_KEY_MAX];
    ck_assert_int_eq(tp_completed_trade_key(key, &ev, NULL), TP_OK);
    char *file = malloc(strlen(adir) + strlen(key) + 2);
    sprintf(file, "%s/%s", adir, key);
    unsigned seed = 777;
    for (int round = 0; round < 25; round++) {
        fflush(NULL);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            tp_engine_options oo = o;
            for (uint32_t k = 0;; k++) {
                oo.window = 1 + k % 999999;
                if (tp_trade_archive_put(a, &ev, &oo, NULL) != TP_OK)
                    _exit(3);
            }
        }
        usleep((useconds_t)(500 + rnd_us(&seed, 20000)));
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        size_t len;
        char *body = (char *)tpt_read_file(file, &len);
        ck_assert_ptr_nonnull(body);
        /* Whole JSON: parse the window back and rebuild the exact body. */
        const char *w = strstr(body, "\"window\":");
        ck_assert_ptr_nonnull(w);
        tp_engine_options oo = o;
        oo.window = (uint32_t)strtoul(w + 9, NULL, 10);
        tp_buf want;
        tp_buf_init(&want, NULL, 0);
        ck_assert_int_eq(tp_completed_trade_json(&want, &ev, &oo, NULL), TP_OK);
        ck_assert_str_eq(body, (char *)want.ptr);
        tp_buf_dispose(&want);
        free(body);
    }
    tp_trade_archive_free(a);
    free(file);
    free(adir);
}
END_TEST

static Suite *store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("store");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_positions_roundtrip_and_replay);
    tcase_add_loop_test(tc, test_positions_bad_files, 0, TP_ARRAY_LEN(bad_files));
    tcase_add_test(tc, test_positions_io_errors);
    tcase_add_test(tc, test_positions_oom_sweep);
    tcase_add_loop_test(tc, test_trade_key, 0, TP_ARRAY_LEN(key_rows));
    tcase_add_test(tc, test_trade_json);
    tcase_add_test(tc, test_archive_dir);
    tcase_add_test(tc, test_archive_custom_backend);
    tcase_add_loop_test(tc, test_bad_uris, 0, TP_ARRAY_LEN(bad_uris));
    tcase_add_test(tc, test_bad_uri_long_table);
    tcase_add_test(tc, test_aws_unreachable);
    tcase_add_test(tc, test_aws_constructors);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    TCase *crash = tcase_create("crash");
    tcase_add_checked_fixture(crash, setup, teardown);
    tcase_add_test(crash, test_crash_positions_file);
    tcase_add_test(crash, test_crash_archive);
    tcase_set_timeout(crash, 300);
    suite_add_tcase(s, crash);
    return s;
}

int main(void) { return tpt_run_suite(store_suite()); }
