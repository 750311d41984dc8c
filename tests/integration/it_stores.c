/* The AWS backends of the positions store (DynamoDB, against dynalite) and
 * the trade archive (S3, against s3rver), through the signature checker,
 * with a real engine; what they write is read back by awscli. */
#include "it_util.h"

#include "core/core_int.h"
#include "tradepipe/store.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

static tp_dynamodb *g_d;
static tp_s3 *g_s;

static void setup(void)
{
    tp_error err;
    ck_assert_int_eq(it_env_setup(), 0);
    tp_aws_client_options o = TP_AWS_CLIENT_OPTIONS_INIT;
    o.max_backoff_ms = 200;
    ck_assert_msg(tp_dynamodb_new(&g_d, &o, &err) == TP_OK, "%s", err.message);
    ck_assert_msg(tp_s3_new(&g_s, &o, &err) == TP_OK, "%s", err.message);
}

static void teardown(void)
{
    tp_dynamodb_free(g_d);
    tp_s3_free(g_s);
    g_d = NULL;
    g_s = NULL;
}

static int64_t P(const char *s)
{
    int64_t v = 0;
    ck_assert_int_eq(tp_price_parse(&v, tp_cursor_from_str(s), NULL), TP_OK);
    return v;
}

static tp_engine *new_engine(uint32_t window)
{
    tp_engine_options o = TP_ENGINE_OPTIONS_INIT;
    o.window = window;
    tp_engine *e = NULL;
    ck_assert_int_eq(tp_engine_new(&e, &o, NULL), TP_OK);
    return e;
}

/* Apply one tick; returns the number of events (0 or 1), the event in *ev. */
static size_t tick(tp_engine *e, const char *sym, const char *shard, long seq, int64_t price_e8,
                   tp_engine_event *ev)
{
    char s[24];
    snprintf(s, sizeof s, "%ld", seq);
    tp_tick t;
    t.symbol = tp_cursor_from_str(sym);
    t.shard = tp_cursor_from_str(shard);
    t.sequence = tp_cursor_from_str(s);
    t.price_e8 = price_e8;
    t.ts_us = seq % 5 == 0 ? TP_ENGINE_NO_TIME : 1761137915123000 + (int64_t)seq * 1000;
    tp_engine_event tmp;
    size_t n = 0;
    tp_error err;
    ck_assert_msg(tp_engine_apply(e, &t, ev ? ev : &tmp, &n, &err) == TP_OK, "%s", err.message);
    return n;
}

#define SHARD0 "shardId-000000000000"
#define SHARD1 "shardId-000000000001"

/* Ticks [from, to) of `sym` on SHARD0, prices wandering so buys and sells happen. */
static int ticks(tp_engine *e, const char *sym, long from, long to)
{
    int events = 0;
    for (long k = from; k < to; k++) {
        uint64_t x = (uint64_t)(k + 1) * 0x9e3779b97f4a7c15ULL ^ (uint64_t)(unsigned char)sym[0];
        x ^= x >> 29;
        events +=
            (int)tick(e, sym, SHARD0, k + 1, 9000000000 + (int64_t)((x >> 8) % 2000000000), NULL);
    }
    return events;
}

static const char *const SYMS[] = {"AAPL", "MSFT", "BRK.B", "NVDA", "T", "GOOG"};
#define NSYM ((int)TP_ARRAY_LEN(SYMS))

static void feed_all(tp_engine *e, long from, long to)
{
    for (int i = 0; i < NSYM; i++)
        ticks(e, SYMS[i], from, to);
}


static tp_positions_store_dynamodb_stats stats_of(const tp_positions_store *s)
{
    tp_positions_store_dynamodb_stats st;
    tp_error err;
    ck_assert_int_eq(tp_positions_store_dynamodb_stats_get(s, &st, &err), TP_OK);
    return st;
}

/* Open dynamodb://NAME on a fresh table name: the opener creates it. */
static tp_positions_store *open_new_table(char *name, size_t cap)
{
    char uri[128];
    tp_error err;
    it_name(name, cap, "it-positions");
    snprintf(uri, sizeof uri, "dynamodb://%s", name);
    tp_positions_store *s = NULL;
    ck_assert_msg(tp_positions_store_open(&s, uri, NULL, &err) == TP_OK, "%s", err.message);
    return s;
}

static tp_positions_store *open_table(const char *name)
{
    tp_positions_store *s = NULL;
    tp_error err;
    ck_assert_msg(tp_positions_store_dynamodb_new(&s, g_d, name, NULL, &err) == TP_OK, "%s",
                  err.message);
    return s;
}

/* awscli's view of one item (the "Item" object, owned by the returned root). */
static json_t *cli_item(json_t **root, const char *table, const char *sym)
{
    char key[200];
    snprintf(key, sizeof key, "{\"symbol\":{\"S\":\"%s\"}}", sym);
    int rc;
    *root = it_aws(&rc, "dynamodb", "get-item", "--table-name", table, "--consistent-read", "--key",
                   key, NULL);
    ck_assert_int_eq(rc, 0);
    return json_object_get(*root, "Item");
}

static const char *cli_attr(json_t *item, const char *name, const char *type)
{
    return json_string_value(json_object_get(json_object_get(item, name), type));
}

START_TEST(test_roundtrip)
{
    char table[64];
    tp_error err;
    tp_positions_store *s = open_new_table(table, sizeof table);
    tp_ddb_table_info ti;
    ck_assert_int_eq(tp_dynamodb_describe_table(g_d, table, &ti, &err), TP_OK);
    ck_assert_str_eq(ti.status, "ACTIVE");
    ck_assert_str_eq(ti.hash_name, "symbol");

    /* An empty table loads nothing. */
    tp_engine *a = new_engine(5);
    ck_assert_msg(tp_positions_store_load(s, a, &err) == TP_OK, "%s", err.message);
    ck_assert_uint_eq(tp_engine_symbol_count(a), 0);
    feed_all(a, 0, 300);
    tp_engine_stats es;
    tp_engine_stats_get(a, &es);
    ck_assert_uint_gt(es.buys, 0);
    ck_assert_uint_gt(es.sells, 0);
    ck_assert_msg(tp_positions_store_save(s, a, NULL, 0, &err) == TP_OK, "%s", err.message);
    tp_positions_store_dynamodb_stats st = stats_of(s);
    ck_assert_uint_eq(st.writes, NSYM);
    ck_assert_uint_eq(st.reads, 0); /* loaded: new symbols are known to be absent */
    ck_assert_uint_eq(st.conflicts, 0);

    /* Another store on the table (the opener finds it there) loads the same state. */
    char uri[128];
    snprintf(uri, sizeof uri, "dynamodb://%s", table);
    tp_positions_store *s2 = NULL;
    ck_assert_msg(tp_positions_store_open(&s2, uri, NULL, &err) == TP_OK, "%s", err.message);
    tp_engine *b = new_engine(5);
    ck_assert_msg(tp_positions_store_load(s2, b, &err) == TP_OK, "%s", err.message);
    tpt_assert_same_state(a, b);
    st = stats_of(s2);
    ck_assert_uint_eq(st.loaded, NSYM);
    ck_assert_uint_ge(st.scan_pages, 1);
    /* and carries on as the engine that never stopped */
    ck_assert_int_eq(ticks(a, "AAPL", 300, 400), ticks(b, "AAPL", 300, 400));
    tpt_assert_same_state(a, b);

    /* The item, as awscli reads it: documented attributes and types. */
    int rc;
    json_t *j = it_aws(&rc, "dynamodb", "scan", "--table-name", table, "--select", "COUNT", NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "Count")), NSYM);
    json_decref(j);
    for (int i = 0; i < NSYM; i++) {
        tp_position p;
        ck_assert_int_eq(tp_engine_position(a, tp_cursor_from_str(SYMS[i]), &p, NULL), TP_OK);
        if (!strcmp(SYMS[i], "AAPL"))
            continue; /* moved on since the save */
        json_t *item = cli_item(&j, table, SYMS[i]);
        ck_assert_ptr_nonnull(item);
        char q[32], pnl[TP_PRICE_STR_MAX], entry[TP_PRICE_STR_MAX];
        snprintf(q, sizeof q, "%lld", (long long)p.quantity);
        tp_price_format(pnl, p.realized_pnl_e8);
        tp_price_format(entry, p.entry_price_e8);
        ck_assert_str_eq(cli_attr(item, "symbol", "S"), SYMS[i]);
        ck_assert_str_eq(cli_attr(item, "quantity", "N"), q);
        ck_assert_str_eq(cli_attr(item, "realized_pnl", "N"), pnl);
        if (p.quantity)
            ck_assert_str_eq(cli_attr(item, "entry_price", "N"), entry);
        else
            ck_assert_ptr_null(json_object_get(item, "entry_price"));
        if (p.entry_ts_us == TP_ENGINE_NO_TIME)
            ck_assert_ptr_null(json_object_get(item, "entry_time"));
        else
            ck_assert_ptr_nonnull(cli_attr(item, "entry_time", "S"));
        ck_assert_str_eq(cli_attr(item, "entry_shard", "S"), p.entry_shard);
        ck_assert_str_eq(cli_attr(item, "entry_sequence", "S"), p.entry_sequence);
        ck_assert_str_eq(cli_attr(item, "last_shard", "S"), SHARD0);
        ck_assert_str_eq(cli_attr(item, "last_sequence", "S"), p.last_sequence);
        ck_assert_ptr_nonnull(cli_attr(item, "updated_at", "S"));
        /* state: the engine's snapshot of the symbol, byte for byte */
        tp_buf snap, blob;
        tp_buf_init(&snap, NULL, 0);
        tp_buf_init(&blob, NULL, 0);
        ck_assert_int_eq(tp_engine_snapshot(a, tp_cursor_from_str(SYMS[i]), &snap, NULL), TP_OK);
        ck_assert_int_eq(
            tp_base64_decode(&blob, tp_cursor_from_str(cli_attr(item, "state", "B")), NULL), TP_OK);
        ck_assert_uint_eq(blob.len, snap.len);
        ck_assert_mem_eq(blob.ptr, snap.ptr, snap.len);
        tp_buf_dispose(&snap);
        tp_buf_dispose(&blob);
        json_decref(j);
    }

    /* An engine with other parameters refuses the table and stays as it was. */
    tp_engine *c = new_engine(6);
    tick(c, "KEEP", SHARD0, 1, P("10"), NULL);
    ck_assert_int_eq(tp_positions_store_load(s2, c, &err), TP_E_STATE);
    ck_assert_str_eq(err.field, "window");
    ck_assert_ptr_nonnull(strstr(err.message, table));
    ck_assert_uint_eq(tp_engine_symbol_count(c), 1);

    /* An item edited by hand is refused, naming the attribute. */
    j = it_aws(&rc, "dynamodb", "update-item", "--table-name", table, "--key",
               "{\"symbol\":{\"S\":\"MSFT\"}}", "--update-expression", "SET quantity = :q",
               "--expression-attribute-values", "{\":q\":{\"N\":\"12345\"}}", NULL);
    ck_assert_int_eq(rc, 0);
    json_decref(j);
    tp_engine *d = new_engine(5);
    tick(d, "KEEP", SHARD0, 1, P("10"), NULL);
    ck_assert_int_eq(tp_positions_store_load(s2, d, &err), TP_E_STATE);
    ck_assert_str_eq(err.field, "quantity");
    ck_assert_ptr_nonnull(strstr(err.message, "MSFT"));
    ck_assert_uint_eq(tp_engine_symbol_count(d), 1);

    tp_engine_free(a);
    tp_engine_free(b);
    tp_engine_free(c);
    tp_engine_free(d);
    tp_positions_store_free(s);
    tp_positions_store_free(s2);
    tp_dynamodb_delete_table(g_d, table, &err);
}
END_TEST

START_TEST(test_only_changed_written)
{
    char table[64];
    tp_error err;
    tp_positions_store *s = open_new_table(table, sizeof table);
    tp_engine *a = new_engine(5);
    feed_all(a, 0, 100);
    ck_assert_msg(tp_positions_store_save(s, a, NULL, 0, &err) == TP_OK, "%s", err.message);
    ck_assert_uint_eq(stats_of(s).writes, NSYM);
    ck_assert_uint_eq(stats_of(s).reads, NSYM); /* no load: each symbol read first */

    /* A checkpoint with nothing new: no request at all. */
    ck_assert_int_eq(tp_positions_store_save(s, a, NULL, 0, &err), TP_OK);
    tp_positions_store_dynamodb_stats st = stats_of(s);
    ck_assert_uint_eq(st.writes, NSYM);
    ck_assert_uint_eq(st.reads, NSYM);
    ck_assert_uint_eq(st.skipped, NSYM);
    /* Two symbols move: two writes. */
    ticks(a, "NVDA", 100, 110);
    ticks(a, "T", 100, 103);
    ck_assert_int_eq(tp_positions_store_save(s, a, NULL, 0, &err), TP_OK);
    st = stats_of(s);
    ck_assert_uint_eq(st.writes, NSYM + 2);
    ck_assert_uint_eq(st.skipped, 2 * NSYM - 2);
    ck_assert_uint_eq(st.conflicts, 0);
    /* Only the symbols asked for (a duplicate tick changes nothing). */
    ticks(a, "GOOG", 110, 112);
    ticks(a, "AAPL", 99, 100);
    tp_cursor only[] = {tp_cursor_from_str("AAPL"), tp_cursor_from_str("GOOG")};
    ck_assert_int_eq(tp_positions_store_save(s, a, only, 2, &err), TP_OK);
    st = stats_of(s);
    ck_assert_uint_eq(st.writes, NSYM + 3);
    tp_cursor nosuch = tp_cursor_from_str("NOPE");
    ck_assert_int_eq(tp_positions_store_save(s, a, &nosuch, 1, &err), TP_E_NOT_FOUND);
    ck_assert_str_eq(err.field, "symbols");

    /* A store after load writes nothing for an unchanged engine. */
    tp_positions_store *s2 = open_table(table);
    tp_engine *b = new_engine(5);
    ck_assert_int_eq(tp_positions_store_load(s2, b, &err), TP_OK);
    ck_assert_int_eq(tp_positions_store_save(s2, b, NULL, 0, &err), TP_OK);
    st = stats_of(s2);
    ck_assert_uint_eq(st.writes, 0);
    ck_assert_uint_eq(st.reads, 0);
    ck_assert_uint_eq(st.skipped, NSYM);

    /* A consumer restored from a checkpoint does not load: one read per
     * symbol, then only what changed. Its checkpoint is older than the
     * table for NVDA: the table is ahead on the same shard, so NVDA is not
     * written back (stale), and the replay that follows converges to it. */
    tp_engine *c = new_engine(5);
    feed_all(c, 0, 100);
    ticks(c, "T", 100, 103);
    ticks(c, "GOOG", 110, 112);
    tp_positions_store *s3 = open_table(table);
    ck_assert_int_eq(tp_positions_store_save(s3, c, NULL, 0, &err), TP_OK);
    st = stats_of(s3);
    ck_assert_uint_eq(st.reads, NSYM);
    ck_assert_uint_eq(st.writes, 0);
    ck_assert_uint_eq(st.stale, 1);
    ck_assert_uint_eq(st.skipped, NSYM - 1);
    ticks(c, "NVDA", 100, 110);
    ck_assert_int_eq(tp_positions_store_save(s3, c, NULL, 0, &err), TP_OK);
    st = stats_of(s3);
    ck_assert_uint_eq(st.reads, NSYM);
    ck_assert_uint_eq(st.writes, 0);
    ck_assert_uint_eq(st.skipped, 2 * NSYM - 1);
    tpt_assert_same_state(a, c);

    tp_engine_free(a);
    tp_engine_free(b);
    tp_engine_free(c);
    tp_positions_store_free(s);
    tp_positions_store_free(s2);
    tp_positions_store_free(s3);
    tp_dynamodb_delete_table(g_d, table, &err);
}
END_TEST

/* ---- a relay for the one race an emulator cannot be asked for ------------
 * Another writer's PutItem landing between our read after a conflict and
 * our second PutItem. The relay sits between a client and the DynamoDB
 * endpoint (the signature checker: requests go through unchanged, Host
 * included, so their signatures still verify), counts PutItem requests and
 * calls a hook before relaying the one numbered hook_at. Its answers say
 * "Connection: close", so requests come one per connection, one at a time. */

typedef struct relay {
    int lfd, port, up_port;
    pthread_t th;
    pthread_mutex_t mu;
    int puts;
    int hook_at;
    void (*hook)(void *);
    void *hook_arg;
} relay;

/* Read one HTTP message (headers, then a Content-Length body) into b. */
static int read_http(int fd, tp_buf *b)
{
    size_t hdr = 0, body = 0;
    tp_buf_clear(b);
    for (;;) {
        if (hdr && b->len >= hdr + body)
            return 0;
        char tmp[16384];
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n <= 0 || tp_buf_append(b, tmp, (size_t)n, NULL) != TP_OK)
            return -1;
        char *end = hdr ? NULL : memmem(b->ptr, b->len, "\r\n\r\n", 4);
        if (end) {
            hdr = (size_t)(end - (char *)b->ptr) + 4;
            char *cl = strcasestr((char *)b->ptr, "\r\ncontent-length:");
            body = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
        }
    }
}

static int write_all(int fd, const void *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return -1;
        p = (const char *)p + w;
        n -= (size_t)w;
    }
    return 0;
}

static void *relay_main(void *arg)
{
    relay *r = arg;
    tp_buf req, resp;
    tp_buf_init(&req, NULL, 0);
    tp_buf_init(&resp, NULL, 0);
    for (;;) {
        int c = accept(r->lfd, NULL, NULL);
        if (c < 0)
            break; /* shut down */
        if (read_http(c, &req) == 0) {
            char *end = memmem(req.ptr, req.len, "\r\n\r\n", 4);
            if (memmem(req.ptr, (size_t)(end - (char *)req.ptr), "DynamoDB_20120810.PutItem", 25)) {
                pthread_mutex_lock(&r->mu);
                int n = ++r->puts;
                void (*hook)(void *) = n == r->hook_at ? r->hook : NULL;
                pthread_mutex_unlock(&r->mu);
                if (hook)
                    hook(r->hook_arg);
            }
            struct sockaddr_in up = {0};
            up.sin_family = AF_INET;
            up.sin_port = htons((uint16_t)r->up_port);
            up.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            int u = socket(AF_INET, SOCK_STREAM, 0);
            if (u >= 0 && connect(u, (struct sockaddr *)&up, sizeof up) == 0 &&
                write_all(u, req.ptr, req.len) == 0 && read_http(u, &resp) == 0) {
                char *eol = memmem(resp.ptr, resp.len, "\r\n", 2);
                size_t first = (size_t)(eol - (char *)resp.ptr) + 2;
                static const char close_hdr[] = "Connection: close\r\n";
                if (write_all(c, resp.ptr, first) == 0 &&
                    write_all(c, close_hdr, sizeof close_hdr - 1) == 0)
                    write_all(c, resp.ptr + first, resp.len - first);
            }
            if (u >= 0)
                close(u);
        }
        close(c);
    }
    tp_buf_dispose(&req);
    tp_buf_dispose(&resp);
    return NULL;
}

static void relay_start(relay *r)
{
    memset(r, 0, sizeof *r);
    const char *ep = getenv("AWS_ENDPOINT_URL_DYNAMODB");
    ck_assert_ptr_nonnull(ep);
    const char *colon = strrchr(ep, ':');
    ck_assert_ptr_nonnull(colon);
    r->up_port = atoi(colon + 1);
    r->lfd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(r->lfd, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ck_assert_int_eq(bind(r->lfd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(r->lfd, 16), 0);
    ck_assert_int_eq(getsockname(r->lfd, (struct sockaddr *)&a, &len), 0);
    r->port = ntohs(a.sin_port);
    pthread_mutex_init(&r->mu, NULL);
    ck_assert_int_eq(pthread_create(&r->th, NULL, relay_main, r), 0);
}

static void relay_stop(relay *r)
{
    shutdown(r->lfd, SHUT_RDWR);
    pthread_join(r->th, NULL);
    close(r->lfd);
    pthread_mutex_destroy(&r->mu);
}

static int relay_puts(relay *r)
{
    pthread_mutex_lock(&r->mu);
    int n = r->puts;
    pthread_mutex_unlock(&r->mu);
    return n;
}

/* Call hook(arg) before relaying the PutItem after the next one. */
static void relay_arm(relay *r, void (*hook)(void *), void *arg)
{
    pthread_mutex_lock(&r->mu);
    r->hook_at = r->puts + 2;
    r->hook = hook;
    r->hook_arg = arg;
    pthread_mutex_unlock(&r->mu);
}

/* The other writer's move, run by the relay's thread while the first
 * writer waits for its answer (so nothing else uses g_d or these). */
typedef struct other_write {
    tp_engine *engine;
    tp_positions_store *store;
    tp_status st;
    tp_error err;
} other_write;

static void other_writes_again(void *arg)
{
    other_write *w = arg;
    tp_tick t;
    t.symbol = tp_cursor_from_str("GOOG");
    t.shard = tp_cursor_from_str("shardId-000000000001");
    t.sequence = tp_cursor_from_str("8");
    t.price_e8 = 9600000000;
    t.ts_us = TP_ENGINE_NO_TIME;
    tp_engine_event ev;
    size_t n;
    tp_cursor goog = tp_cursor_from_str("GOOG");
    w->st = tp_engine_apply(w->engine, &t, &ev, &n, &w->err);
    if (w->st == TP_OK)
        w->st = tp_positions_store_save(w->store, w->engine, &goog, 1, &w->err);
}

START_TEST(test_conditional_fencing)
{
    char table[64];
    tp_error err;
    tp_positions_store *s0 = open_new_table(table, sizeof table); /* made the table */
    tp_positions_store_free(s0);
    /* The first writer talks to DynamoDB through the relay. */
    relay r;
    relay_start(&r);
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", r.port);
    tp_aws_client_options o = TP_AWS_CLIENT_OPTIONS_INIT;
    o.max_backoff_ms = 200;
    o.endpoint_url = ep;
    tp_dynamodb *relayed = NULL;
    ck_assert_msg(tp_dynamodb_new(&relayed, &o, &err) == TP_OK, "%s", err.message);
    tp_positions_store *sa = NULL;
    ck_assert_int_eq(tp_positions_store_dynamodb_new(&sa, relayed, table, NULL, &err), TP_OK);
    tp_engine *a = new_engine(5);
    feed_all(a, 0, 40);
    ck_assert_int_eq(tp_positions_store_save(sa, a, NULL, 0, &err), TP_OK);
    ck_assert_int_eq(relay_puts(&r), NSYM);
    /* A second writer starts from the same table. */
    tp_positions_store *sb = open_table(table);
    tp_engine *b = new_engine(5);
    ck_assert_int_eq(tp_positions_store_load(sb, b, &err), TP_OK);
    tpt_assert_same_state(a, b);

    /* AAPL: the second writer moves it to another shard (a reshard) and
     * saves. The first writer's state, on the old shard, cannot be ordered
     * against it: refused once, it reads the item and writes over it. */
    tick(b, "AAPL", SHARD1, 7, P("95"), NULL);
    ck_assert_int_eq(tp_positions_store_save(sb, b, NULL, 0, &err), TP_OK);
    ck_assert_uint_eq(stats_of(sb).writes, 1);
    ticks(a, "AAPL", 40, 45);
    tp_positions_store_dynamodb_stats before = stats_of(sa);
    ck_assert_msg(tp_positions_store_save(sa, a, NULL, 0, &err) == TP_OK, "%s", err.message);
    tp_positions_store_dynamodb_stats after = stats_of(sa);
    ck_assert_uint_eq(after.conflicts, before.conflicts + 1);
    ck_assert_uint_eq(after.reads, before.reads + 1);
    ck_assert_uint_eq(after.writes, before.writes + 1);
    json_t *root;
    json_t *item = cli_item(&root, table, "AAPL");
    ck_assert_str_eq(cli_attr(item, "last_shard", "S"), SHARD0);
    ck_assert_str_eq(cli_attr(item, "last_sequence", "S"), "45");
    json_decref(root);

    /* GOOG: the same, but the second writer writes again between the first
     * writer's read and its second PutItem: refused twice, TP_E_STATE naming
     * the symbol, the table and both pairs; the other writer's state stays. */
    tick(b, "GOOG", SHARD1, 7, P("95"), NULL);
    tp_cursor goog = tp_cursor_from_str("GOOG");
    ck_assert_int_eq(tp_positions_store_save(sb, b, &goog, 1, &err), TP_OK);
    ticks(a, "GOOG", 40, 45);
    other_write w = {b, sb, TP_E_INVALID, {0}};
    relay_arm(&r, other_writes_again, &w);
    before = stats_of(sa);
    tp_status st = tp_positions_store_save(sa, a, NULL, 0, &err);
    ck_assert_msg(w.st == TP_OK, "the other writer: %s", w.err.message);
    ck_assert_msg(st == TP_E_STATE, "%d %s", st, err.message);
    ck_assert_str_eq(err.field, "last_shard");
    ck_assert_int_eq(err.http_status, 400);
    ck_assert_str_eq(err.aws_code, "ConditionalCheckFailedException");
    ck_assert_ptr_nonnull(strstr(err.message, "GOOG"));
    ck_assert_ptr_nonnull(strstr(err.message, table));
    ck_assert_ptr_nonnull(strstr(err.message, "(" SHARD1 ", 8)"));
    ck_assert_ptr_nonnull(strstr(err.message, "(" SHARD0 ", 45)"));
    after = stats_of(sa);
    ck_assert_uint_eq(after.conflicts, before.conflicts + 2);
    ck_assert_uint_eq(after.reads, before.reads + 2);
    ck_assert_uint_eq(after.writes, before.writes);
    item = cli_item(&root, table, "GOOG");
    ck_assert_str_eq(cli_attr(item, "last_shard", "S"), SHARD1);
    ck_assert_str_eq(cli_attr(item, "last_sequence", "S"), "8");
    json_decref(root);
    /* With nobody in between, the next save writes over it (last read: (1, 8)). */
    ck_assert_msg(tp_positions_store_save(sa, a, &goog, 1, &err) == TP_OK, "%s", err.message);
    ck_assert_uint_eq(stats_of(sa).writes, after.writes + 1);
    ck_assert_uint_eq(stats_of(sa).conflicts, after.conflicts);

    /* MSFT: the second writer gets further on the same shard (60); the first
     * one replays to 50: its older state is skipped, not written... */
    ticks(b, "MSFT", 40, 60);
    tp_cursor msft = tp_cursor_from_str("MSFT");
    ck_assert_int_eq(tp_positions_store_save(sb, b, &msft, 1, &err), TP_OK);
    ticks(a, "MSFT", 40, 50);
    before = stats_of(sa);
    ck_assert_msg(tp_positions_store_save(sa, a, &msft, 1, &err) == TP_OK, "%s", err.message);
    after = stats_of(sa);
    ck_assert_uint_eq(after.conflicts, before.conflicts + 1);
    ck_assert_uint_eq(after.stale, before.stale + 1);
    ck_assert_uint_eq(after.writes, before.writes);
    item = cli_item(&root, table, "MSFT");
    ck_assert_str_eq(cli_attr(item, "last_sequence", "S"), "60");
    json_decref(root);
    /* ... and once it has caught up, its state is the stored one: no request. */
    ticks(a, "MSFT", 50, 60);
    ck_assert_int_eq(tp_positions_store_save(sa, a, &msft, 1, &err), TP_OK);
    after = stats_of(sa);
    ck_assert_uint_eq(after.writes, before.writes);
    ck_assert_uint_eq(after.skipped, before.skipped + 1);
    ck_assert_uint_eq(after.reads, before.reads + 1);
    /* Further on, it writes again, conditional on what the other wrote. */
    ticks(a, "MSFT", 60, 61);
    ck_assert_int_eq(tp_positions_store_save(sa, a, &msft, 1, &err), TP_OK);
    ck_assert_uint_eq(stats_of(sa).writes, before.writes + 1);

    /* NVDA: the first writer gets ahead (45); the second, behind it on the
     * same shard but further than what it knew (40 -> 50), writes over once
     * more with the new condition. */
    ticks(a, "NVDA", 40, 45);
    tp_cursor nvda = tp_cursor_from_str("NVDA");
    ck_assert_int_eq(tp_positions_store_save(sa, a, &nvda, 1, &err), TP_OK);
    ticks(b, "NVDA", 40, 50);
    before = stats_of(sb);
    ck_assert_msg(tp_positions_store_save(sb, b, &nvda, 1, &err) == TP_OK, "%s", err.message);
    after = stats_of(sb);
    ck_assert_uint_eq(after.conflicts, before.conflicts + 1);
    ck_assert_uint_eq(after.writes, before.writes + 1);
    item = cli_item(&root, table, "NVDA");
    ck_assert_str_eq(cli_attr(item, "last_sequence", "S"), "50");
    json_decref(root);

    tp_engine_free(a);
    tp_engine_free(b);
    tp_positions_store_free(sa);
    tp_positions_store_free(sb);
    tp_dynamodb_free(relayed);
    relay_stop(&r);
    tp_dynamodb_delete_table(g_d, table, &err);
}
END_TEST

START_TEST(test_exact_prices)
{
    char table[64];
    tp_error err;
    tp_positions_store *s = open_new_table(table, sizeof table);
    tp_engine *e = new_engine(5);
    tp_engine_event ev;
    ck_assert_uint_eq(tick(e, "XPRC", SHARD0, 1, P("130"), &ev), 0);
    ck_assert_uint_eq(tick(e, "XPRC", SHARD0, 2, P("123.45678901"), &ev), 1);
    ck_assert_uint_eq(ev.side, TP_SIDE_BUY);
    ck_assert_int_eq(tp_positions_store_save(s, e, NULL, 0, &err), TP_OK);
    json_t *root;
    json_t *item = cli_item(&root, table, "XPRC");
    ck_assert_str_eq(cli_attr(item, "entry_price", "N"), "123.45678901");
    ck_assert_str_eq(cli_attr(item, "quantity", "N"), "100");
    ck_assert_str_eq(cli_attr(item, "realized_pnl", "N"), "0");
    ck_assert_str_eq(cli_attr(item, "entry_time", "S"), "2025-10-22T12:58:35.125000Z");
    json_decref(root);
    /* Sold at 130.00000001: P&L 654.32110000 exactly, written as such. */
    ck_assert_uint_eq(tick(e, "XPRC", SHARD0, 3, P("130.00000001"), &ev), 1);
    ck_assert_uint_eq(ev.side, TP_SIDE_SELL);
    ck_assert_int_eq(tp_positions_store_save(s, e, NULL, 0, &err), TP_OK);
    item = cli_item(&root, table, "XPRC");
    ck_assert_str_eq(cli_attr(item, "realized_pnl", "N"), "654.3211");
    ck_assert_str_eq(cli_attr(item, "quantity", "N"), "0");
    ck_assert_ptr_null(json_object_get(item, "entry_price"));
    json_decref(root);
    tp_engine *b = new_engine(5);
    ck_assert_int_eq(tp_positions_store_load(s, b, &err), TP_OK);
    tp_position p;
    ck_assert_int_eq(tp_engine_position(b, tp_cursor_from_str("XPRC"), &p, NULL), TP_OK);
    ck_assert_int_eq(p.realized_pnl_e8, P("654.3211"));
    tp_engine_free(e);
    tp_engine_free(b);
    tp_positions_store_free(s);
    tp_dynamodb_delete_table(g_d, table, &err);
}
END_TEST

START_TEST(test_dynamodb_errors)
{
    tp_error err;
    char table[64];
    /* A table keyed otherwise is refused by the opener. */
    it_name(table, sizeof table, "it-otherkey");
    tp_ddb_key_schema ks = {"pk", "S", NULL, NULL};
    ck_assert_int_eq(tp_dynamodb_create_table(g_d, table, &ks, 0, 0, &err), TP_OK);
    ck_assert_int_eq(tp_dynamodb_wait_active(g_d, table, 10000, &err), TP_OK);
    char uri[128];
    snprintf(uri, sizeof uri, "dynamodb://%s", table);
    tp_positions_store *s = NULL;
    ck_assert_int_eq(tp_positions_store_open(&s, uri, NULL, &err), TP_E_CONFIG);
    ck_assert_str_eq(err.field, "positions");
    ck_assert_ptr_nonnull(strstr(err.message, "pk"));
    ck_assert_ptr_null(s);
    tp_dynamodb_delete_table(g_d, table, &err);

    /* No such table (made without the opener): the service's code comes through. */
    it_name(table, sizeof table, "it-missing");
    s = open_table(table);
    tp_engine *e = new_engine(5);
    ck_assert_int_eq(tp_positions_store_load(s, e, &err), TP_E_NOT_FOUND);
    ck_assert_str_eq(err.aws_code, "ResourceNotFoundException");
    ck_assert_int_eq(err.http_status, 400);
    ck_assert_ptr_nonnull(strstr(err.message, table));
    tick(e, "AAPL", SHARD0, 1, P("10"), NULL);
    ck_assert_int_eq(tp_positions_store_save(s, e, NULL, 0, &err), TP_E_NOT_FOUND);
    ck_assert_str_eq(err.aws_code, "ResourceNotFoundException");
    tp_positions_store_free(s);
    tp_engine_free(e);

    /* A state over DynamoDB's 400 KB item limit: refused before it is sent.
     * (Falling prices: the window keeps every one of them, 16 bytes each.) */
    s = open_new_table(table, sizeof table);
    e = new_engine(30000);
    for (long k = 1; k <= 30000; k++)
        tick(e, "WIDE", SHARD0, k, P("1000") - k, NULL);
    ck_assert_int_eq(tp_positions_store_save(s, e, NULL, 0, &err), TP_E_TOO_LARGE);
    ck_assert_str_eq(err.field, "state");
    ck_assert_ptr_nonnull(strstr(err.message, "WIDE"));
    ck_assert_uint_eq(stats_of(s).writes, 0);
    tp_engine_free(e);
    /* A store of another kind has no DynamoDB counters. */
    tp_positions_store *f = NULL;
    ck_assert_int_eq(tp_positions_store_file_new(&f, "/nonexistent/p.ndjson", NULL, &err), TP_OK);
    tp_positions_store_dynamodb_stats st;
    ck_assert_int_eq(tp_positions_store_dynamodb_stats_get(f, &st, &err), TP_E_INVALID);
    tp_positions_store_free(f);
    tp_positions_store_free(s);
    tp_dynamodb_delete_table(g_d, table, &err);
}
END_TEST

/* ---- S3 ------------------------------------------------------------------ */

static void make_bucket(char *name, size_t cap)
{
    tp_error err;
    it_name(name, cap, "it-trades");
    ck_assert_msg(tp_s3_create_bucket(g_s, name, &err) == TP_OK, "%s", err.message);
}

/* A real sell event: a buy on a 3% drop, a sell over +5%. */
static tp_engine_event sell_of(tp_engine *e, const char *sym)
{
    tp_engine_event ev;
    ck_assert_uint_eq(tick(e, sym, SHARD0, 11, P("100"), &ev), 0);
    ck_assert_uint_eq(tick(e, sym, SHARD0, 12, P("97"), &ev), 1);
    ck_assert_uint_eq(ev.side, TP_SIDE_BUY);
    ck_assert_uint_eq(tick(e, sym, SHARD0, 13, P("102.12345678"), &ev), 1);
    ck_assert_uint_eq(ev.side, TP_SIDE_SELL);
    return ev;
}

static tp_status count_obj(const tp_s3_list_entry *le, void *payload)
{
    (void)le;
    (*(int *)payload)++;
    return TP_OK;
}

static void check_archived(const char *bucket, const char *prefix, const tp_engine_event *ev,
                           const tp_engine_options *o)
{
    tp_error err;
    char key[TP_TRADE_KEY_MAX], full[TP_TRADE_KEY_MAX + 64];
    ck_assert_int_eq(tp_completed_trade_key(key, ev, &err), TP_OK);
    snprintf(full, sizeof full, "%s%s", prefix, key);
    tp_buf want, got;
    tp_buf_init(&want, NULL, 0);
    tp_buf_init(&got, NULL, 0);
    ck_assert_int_eq(tp_completed_trade_json(&want, ev, o, &err), TP_OK);
    tp_s3_object_info info;
    ck_assert_msg(tp_s3_get_object_buf(g_s, bucket, full, &got, &info, &err) == TP_OK, "%s: %s",
                  full, err.message);
    ck_assert_uint_eq(got.len, want.len);
    ck_assert_mem_eq(got.ptr, want.ptr, want.len);
    ck_assert_str_eq(info.content_type, "application/json");
    /* awscli reads the same bytes */
    char *dir = tpt_mkdtemp();
    char path[4096];
    snprintf(path, sizeof path, "%s/trade.json", dir);
    int rc;
    json_t *j = it_aws(&rc, "s3api", "get-object", "--bucket", bucket, "--key", full, path, NULL);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(json_string_value(json_object_get(j, "ContentType")), "application/json");
    json_decref(j);
    size_t n = 0;
    uint8_t *back = tpt_read_file(path, &n);
    ck_assert_uint_eq(n, want.len);
    ck_assert_mem_eq(back, want.ptr, n);
    free(back);
    tpt_rmtree(dir);
    free(dir);
    tp_buf_dispose(&want);
    tp_buf_dispose(&got);
}

START_TEST(test_archive_s3)
{
    char b[64], uri[160];
    tp_error err;
    make_bucket(b, sizeof b);
    tp_engine *e = new_engine(5);
    tp_engine_options o;
    tp_engine_options_get(e, &o);
    tp_engine_event ev = sell_of(e, "BRK.B");

    /* s3://BUCKET/PREFIX/: one '/' between the prefix and the key. */
    snprintf(uri, sizeof uri, "s3://%s/archive/v1/", b);
    tp_trade_archive *a = NULL;
    ck_assert_msg(tp_trade_archive_open(&a, uri, NULL, &err) == TP_OK, "%s", err.message);
    ck_assert_msg(tp_trade_archive_put(a, &ev, &o, &err) == TP_OK, "%s", err.message);
    ck_assert_int_eq(tp_trade_archive_put(a, &ev, &o, &err), TP_OK); /* redelivered */
    check_archived(b, "archive/v1/", &ev, &o);
    int n = 0;
    ck_assert_int_eq(tp_s3_list_objects(g_s, b, NULL, 0, count_obj, &n, NULL, &err), TP_OK);
    ck_assert_int_eq(n, 1);
    tp_trade_archive_free(a);

    /* s3://BUCKET and s3://BUCKET/: keys at the top. */
    tp_engine_event ev2 = sell_of(e, "MSFT");
    for (int k = 0; k < 2; k++) {
        snprintf(uri, sizeof uri, "s3://%s%s", b, k ? "/" : "");
        ck_assert_msg(tp_trade_archive_open(&a, uri, NULL, &err) == TP_OK, "%s", err.message);
        ck_assert_int_eq(tp_trade_archive_put(a, &ev2, &o, &err), TP_OK);
        tp_trade_archive_free(a);
    }
    check_archived(b, "", &ev2, &o);
    n = 0;
    ck_assert_int_eq(tp_s3_list_objects(g_s, b, NULL, 0, count_obj, &n, NULL, &err), TP_OK);
    ck_assert_int_eq(n, 2);

    /* Over a client of the caller's, the prefix trimmed of its slashes. */
    ck_assert_int_eq(tp_trade_archive_s3_new(&a, g_s, b, "/other//", NULL, &err), TP_OK);
    ck_assert_int_eq(tp_trade_archive_put(a, &ev, &o, &err), TP_OK);
    check_archived(b, "other/", &ev, &o);

    /* The bucket goes away: the put names it. */
    char key[TP_TRADE_KEY_MAX], full[TP_TRADE_KEY_MAX + 64];
    ck_assert_int_eq(tp_completed_trade_key(key, &ev, &err), TP_OK);
    const char *prefixes[] = {"archive/v1/", "", "other/"};
    for (int i = 0; i < 3; i++) {
        snprintf(full, sizeof full, "%s%s", prefixes[i], key);
        tp_s3_delete_object(g_s, b, full, &err);
    }
    ck_assert_int_eq(tp_completed_trade_key(key, &ev2, &err), TP_OK);
    tp_s3_delete_object(g_s, b, key, &err);
    ck_assert_msg(tp_s3_delete_bucket(g_s, b, &err) == TP_OK, "%s", err.message);
    ck_assert_int_eq(tp_trade_archive_put(a, &ev, &o, &err), TP_E_NOT_FOUND);
    ck_assert_str_eq(err.aws_code, "NoSuchBucket");
    ck_assert_int_eq(err.http_status, 404);
    ck_assert_ptr_nonnull(strstr(err.message, b));
    tp_trade_archive_free(a);

    /* ... and the opener refuses a bucket that is not there (none is made). */
    snprintf(uri, sizeof uri, "s3://%s/x", b);
    a = NULL;
    ck_assert_int_eq(tp_trade_archive_open(&a, uri, NULL, &err), TP_E_NOT_FOUND);
    ck_assert_int_eq(err.http_status, 404);
    ck_assert_ptr_nonnull(strstr(err.message, b));
    ck_assert_ptr_null(a);
    int rc;
    json_t *j = it_aws(&rc, "s3api", "head-bucket", "--bucket", b, NULL);
    ck_assert_int_ne(rc, 0);
    json_decref(j);
    tp_engine_free(e);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("it_stores");
    TCase *tc = tcase_create("aws");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_roundtrip);
    tcase_add_test(tc, test_only_changed_written);
    tcase_add_test(tc, test_conditional_fencing);
    tcase_add_test(tc, test_exact_prices);
    tcase_add_test(tc, test_dynamodb_errors);
    tcase_add_test(tc, test_archive_s3);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tpt_run_suite(suite()); }
