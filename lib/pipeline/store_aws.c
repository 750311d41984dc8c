/* Floor 5: the AWS backends of the positions store (DynamoDB) and the trade
 * archive (S3). See include/tradepipe/store.h for the contract.
 *
 * Positions: one item per symbol, key "symbol" (S), with the fields the file
 * backend writes per line (quantity, entry_price, entry_time, entry and last
 * (shard, sequence), realized_pnl as exact decimal numbers and strings) and
 * "state" (B), the symbol's engine snapshot, which is the truth: loading
 * refuses an item whose readable fields disagree with it.
 *
 * A checkpoint saves every symbol (n == 0) and DynamoDB bills by request, so
 * the store remembers, per symbol, what the table holds as far as it knows:
 * the (last_shard, last_sequence) of the stored state and a SHA-256 of its
 * snapshot bytes. An unchanged symbol costs no request; a changed one is one
 * PutItem, conditional on the stored (shard, sequence) being the one
 * remembered, so a write that another writer overtook is noticed. */
#include "codec/sigv4_int.h"
#include "store_aws_int.h"
#include "store_int.h"
#include "store_io_int.h"

#include <stdio.h>

#define DDB_ITEM_MAX      (400 * 1024) /* DynamoDB's item size limit, names included */
#define ENSURE_TIMEOUT_MS 120000u
#define SEQ_SHOWN         20 /* sequence digits shown in a message (middle elided) */

/* ---- errors ---------------------------------------------------------------- */

/* Copy the client's error `e` to `err` with `code`, its message prefixed by
 * the context in `fmt` (HTTP status, AWS code, request id and attempts kept). */
static tp_status wrap(tp_error *err, tp_status code, const tp_error *e, const char *fmt, ...)
    TP_PRINTF(4, 5);
static tp_status wrap(tp_error *err, tp_status code, const tp_error *e, const char *fmt, ...)
{
    if (!err)
        return code;
    char pre[TP_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    *err = *e;
    err->code = code;
    size_t n = strlen(pre), cap = sizeof err->message;
    memcpy(err->message, pre, n + 1);
    if (e->message[0] && n + 3 < cap) {
        memcpy(err->message + n, ": ", 3);
        tp__strlcpy(err->message + n + 2, e->message, cap - n - 2);
    }
    return code;
}

/* `s` shortened to at most SEQ_SHOWN characters (its ends kept) for a message. */
static const char *shown(char out[SEQ_SHOWN + 1], const char *s)
{
    size_t n = strlen(s);
    if (n <= SEQ_SHOWN)
        return s;
    size_t half = (SEQ_SHOWN - 2) / 2;
    memcpy(out, s, half);
    memcpy(out + half, "..", 2);
    memcpy(out + half + 2, s + n - half, half);
    out[2 * half + 2] = '\0';
    return out;
}

/* ---- what the store knows of the table ------------------------------------- */

typedef struct cache_entry {
    char *block;       /* NULL: a free slot. "symbol\0shard\0sequence\0" */
    const char *shard; /* in block: the stored state's last (shard, sequence) */
    const char *sequence;
    uint8_t hash[32]; /* SHA-256 of the stored snapshot */
    uint8_t known;    /* 0: read the item before writing it */
    uint8_t present;  /* when known: 1 an item (shard, sequence, hash), 0 none */
} cache_entry;

typedef struct cache {
    cache_entry *slots;
    size_t cap; /* 0 or a power of two */
    size_t used;
} cache;

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
    return h;
}

static void cache_clear(const tp_allocator *a, cache *c)
{
    for (size_t i = 0; i < c->cap; i++)
        tp__free(a, c->slots[i].block);
    tp__free(a, c->slots);
    memset(c, 0, sizeof *c);
}

static cache_entry *slot_for(cache_entry *slots, size_t cap, const char *sym)
{
    size_t i = (size_t)fnv1a(sym) & (cap - 1);
    while (slots[i].block && strcmp(slots[i].block, sym) != 0)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

static cache_entry *cache_find(const cache *c, const char *sym)
{
    if (!c->cap)
        return NULL;
    cache_entry *e = slot_for(c->slots, c->cap, sym);
    return e->block ? e : NULL;
}

/* The entry of `sym`, added (not known, *added set) when missing; NULL when
 * out of memory. */
static cache_entry *cache_get(const tp_allocator *a, cache *c, const char *sym, int *added)
{
    cache_entry *e = cache_find(c, sym);
    *added = 0;
    if (e)
        return e;
    if ((c->used + 1) * 10 > c->cap * 7) {
        size_t ncap = c->cap ? c->cap * 2 : 64;
        if (ncap < c->cap)
            return NULL;
        cache_entry *ns = tp__calloc(a, ncap, sizeof *ns);
        if (!ns)
            return NULL;
        for (size_t i = 0; i < c->cap; i++)
            if (c->slots[i].block)
                *slot_for(ns, ncap, c->slots[i].block) = c->slots[i];
        tp__free(a, c->slots);
        c->slots = ns;
        c->cap = ncap;
    }
    size_t n = strlen(sym);
    char *block = tp__malloc(a, n + 3);
    if (!block)
        return NULL;
    memcpy(block, sym, n + 1);
    block[n + 1] = block[n + 2] = '\0';
    e = slot_for(c->slots, c->cap, sym);
    memset(e, 0, sizeof *e);
    e->block = block;
    e->shard = block + n + 1;
    e->sequence = block + n + 2;
    c->used++;
    *added = 1;
    return e;
}

/* What one item says: present or not, its last (shard, sequence), its hash. */
typedef struct stored {
    int present;
    char shard[TP_SHARD_MAX];
    char sequence[TP_SEQUENCE_MAX];
    uint8_t hash[32];
} stored;

/* Make `e` say what `s` says. @return TP_OK; TP_E_NOMEM. */
static tp_status cache_set(const tp_allocator *a, cache_entry *e, const stored *s, tp_error *err)
{
    size_t n = strlen(e->block), ls = strlen(s->shard), lq = strlen(s->sequence);
    char *block = tp__malloc(a, n + ls + lq + 3);
    if (!block) {
        e->known = 0;
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    }
    memcpy(block, e->block, n + 1);
    memcpy(block + n + 1, s->shard, ls + 1);
    memcpy(block + n + ls + 2, s->sequence, lq + 1);
    tp__free(a, e->block);
    e->block = block;
    e->shard = block + n + 1;
    e->sequence = block + n + ls + 2;
    memcpy(e->hash, s->hash, sizeof e->hash);
    e->present = (uint8_t)(s->present != 0);
    e->known = 1;
    return TP_OK;
}

/* Kinesis sequence numbers: digits, no leading zero, compared as numbers. */
static int seq_cmp(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return la < lb ? -1 : 1;
    return strcmp(a, b);
}

/* ---- the DynamoDB positions store ------------------------------------------ */

typedef struct ddb_store {
    const tp_allocator *alloc;
    tp_dynamodb *client;
    int owns_client;
    char *table;
    cache known;
    int whole; /* `known` has every item as of the last load: no entry, no item */
    tp_positions_store_dynamodb_stats stats;
} ddb_store;

/* DynamoDB table names: 3 to 255 of [A-Za-z0-9_.-]. */
static int table_name_ok(const char *t, size_t n)
{
    if (n < 3 || n > 255)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

static tp_status key_of(tp_ddb_value **out, const char *sym, tp_error *err)
{
    tp_status st = tp_ddb_m_new(out, err);
    if (st == TP_OK && (st = tp_ddb_m_set_s(*out, "symbol", sym, err)) != TP_OK) {
        tp_ddb_value_free(*out);
        *out = NULL;
    }
    return st;
}

/* A string attribute of `item` copied into out[cap]; -1 missing or not S, -2 too long. */
static int get_s(const tp_ddb_value *item, const char *name, char *out, size_t cap)
{
    tp_cursor c;
    if (tp_ddb_value_s(tp_ddb_m_get(item, name), &c) != TP_OK)
        return -1;
    if (c.len >= cap || memchr(c.ptr, 0, c.len))
        return -2;
    memcpy(out, c.ptr, c.len);
    out[c.len] = '\0';
    return 0;
}

/* Read what `item` (of `sym`) says about the stored state: last (shard,
 * sequence) and the hash of "state"; the state's bytes are left in `blob`. */
static tp_status read_stored(ddb_store *d, const char *sym, const tp_ddb_value *item, stored *out,
                             tp_buf *blob, tp_error *err)
{
    static const char *const fields[] = {"last_shard", "last_sequence"};
    char *dst[] = {out->shard, out->sequence};
    size_t cap[] = {sizeof out->shard, sizeof out->sequence};
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < 2; i++)
        if (get_s(item, fields[i], dst[i], cap[i]) != 0)
            return tp_error__at(err, TP_E_STATE, TP_NO_OFFSET, fields[i],
                                "positions table %.60s item %.40s: %s is missing or not a "
                                "string of the right size",
                                d->table, sym, fields[i]);
    tp_buf_clear(blob);
    tp_status st = tp_ddb_value_b(tp_ddb_m_get(item, "state"), blob, err);
    if (st == TP_E_INVALID)
        return tp_error__at(err, TP_E_STATE, TP_NO_OFFSET, "state",
                            "positions table %.60s item %.40s: state is missing or not binary",
                            d->table, sym);
    if (st != TP_OK)
        return st;
    tp_sigv4__sha256(out->hash, blob->ptr ? blob->ptr : (const uint8_t *)"", blob->len);
    out->present = 1;
    return TP_OK;
}

/* GetItem (consistent) of `sym`: what the table holds now. */
static tp_status fetch_stored(ddb_store *d, const char *sym, stored *out, tp_buf *blob,
                              tp_error *err)
{
    tp_ddb_value *key = NULL, *item = NULL;
    tp_error e;
    memset(out, 0, sizeof *out);
    tp_status st = key_of(&key, sym, err);
    if (st != TP_OK)
        return st;
    d->stats.reads++;
    st = tp_dynamodb_get_item(d->client, d->table, key, 1, &item, &e);
    tp_ddb_value_free(key);
    if (st == TP_E_NOT_FOUND && !e.aws_code[0])
        return TP_OK; /* no item */
    if (st != TP_OK)
        return wrap(err, st, &e, "positions table %.60s: GetItem %.40s", d->table, sym);
    st = read_stored(d, sym, item, out, blob, err);
    tp_ddb_value_free(item);
    return st;
}

/* ---- load ------------------------------------------------------------------ */

typedef struct load_ctx {
    ddb_store *d;
    tp_engine *tmpe;
    tp_buf blob;
    cache fresh;   /* what the table holds, becomes d->known when all is well */
    tp_error *err; /* &mine: the scan's callback has no error argument */
    tp_error mine;
    int failed; /* the scan stopped on an item: `mine` says why */
} load_ctx;

static tp_status bad_item(load_ctx *L, tp_status code, const char *sym, const char *field,
                          const char *why)
{
    return tp_error__at(L->err, code, TP_NO_OFFSET, field,
                        "positions table %.60s item %.40s: %s%s%s", L->d->table, sym,
                        field ? field : "", field ? " " : "", why);
}

/* Whether number attribute `name` is the price `want`. */
static int n_is_price(const tp_ddb_value *item, const char *name, int64_t want)
{
    const char *text = NULL;
    int64_t v = 0;
    return tp_ddb_value_n(tp_ddb_m_get(item, name), &text) == TP_OK &&
           tp_price_parse(&v, tp_cursor_from_str(text), NULL) == TP_OK && v == want;
}

static int s_is(const tp_ddb_value *item, const char *name, const char *want)
{
    tp_cursor c;
    return tp_ddb_value_s(tp_ddb_m_get(item, name), &c) == TP_OK && c.len == strlen(want) &&
           memcmp(c.ptr, want, c.len) == 0;
}

/* Restore one item into the scratch engine and check its readable fields. */
static tp_status load_item(const tp_ddb_value *item, void *payload)
{
    load_ctx *L = payload;
    tp_error *err = L->err;
    char sym[TP_SYMBOL_MAX];
    L->failed = 1; /* until the item is through */
    int g = get_s(item, "symbol", sym, sizeof sym);
    if (g != 0 || !sym[0])
        return tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, "symbol",
                            "positions table %.60s: an item whose symbol is %s", L->d->table,
                            g == -2 ? "too long" : "not a non-empty string");
    stored s;
    tp_status st = read_stored(L->d, sym, item, &s, &L->blob, err);
    if (st != TP_OK)
        return st;
    size_t before = tp_engine_symbol_count(L->tmpe);
    st = tp_engine_restore(L->tmpe, tp_buf_cursor(&L->blob), err);
    if (st != TP_OK) {
        char why[TP_ERROR_MESSAGE_MAX], field[TP_ERROR_FIELD_MAX] = "state";
        tp__strlcpy(why, err ? err->message : "", sizeof why);
        if (st == TP_E_STATE && err && err->field[0])
            tp__strlcpy(field, err->field, sizeof field);
        return bad_item(L, st, sym, field, why);
    }
    tp_position p;
    if (tp_engine_symbol_count(L->tmpe) != before + 1 ||
        tp_engine_position(L->tmpe, tp_cursor_from_str(sym), &p, NULL) != TP_OK)
        return bad_item(L, TP_E_STATE, sym, "symbol", "is not the symbol of its state");
    int64_t q = 0, t = 0;
    const tp_ddb_value *tv = tp_ddb_m_get(item, "entry_time");
    tp_cursor tc;
    const char *bad = NULL;
    if (tp_ddb_value_i64(tp_ddb_m_get(item, "quantity"), &q) != TP_OK || q != p.quantity)
        bad = "quantity";
    else if (p.quantity ? !n_is_price(item, "entry_price", p.entry_price_e8)
                        : tp_ddb_m_get(item, "entry_price") != NULL)
        bad = "entry_price";
    else if (!n_is_price(item, "realized_pnl", p.realized_pnl_e8))
        bad = "realized_pnl";
    else if (!s_is(item, "entry_shard", p.entry_shard))
        bad = "entry_shard";
    else if (!s_is(item, "entry_sequence", p.entry_sequence))
        bad = "entry_sequence";
    else if (!s_is(item, "last_shard", p.last_shard))
        bad = "last_shard";
    else if (!s_is(item, "last_sequence", p.last_sequence))
        bad = "last_sequence";
    else if (p.entry_ts_us == TP_ENGINE_NO_TIME
                 ? tv != NULL
                 : tp_ddb_value_s(tv, &tc) != TP_OK ||
                       tp_time_parse_iso8601(&t, tc, NULL) != TP_OK || t != p.entry_ts_us)
        bad = "entry_time";
    if (bad)
        return bad_item(L, TP_E_STATE, sym, bad, "disagrees with the state");
    int added;
    cache_entry *ce = cache_get(L->d->alloc, &L->fresh, sym, &added);
    if (!ce)
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    st = cache_set(L->d->alloc, ce, &s, err);
    L->failed = st != TP_OK;
    return st;
}

static tp_status ddb_load(void *payload, tp_engine *e, tp_error *err)
{
    ddb_store *d = payload;
    load_ctx L;
    memset(&L, 0, sizeof L);
    L.d = d;
    tp_buf_init(&L.blob, d->alloc, 0);
    tp_buf all;
    tp_buf_init(&all, d->alloc, 0);
    tp_engine_options o;
    tp_engine_options_get(e, &o);
    o.max_symbols = 0xffffffffu; /* the target engine applies its own limit */
    tp_status st = tp_engine_new(&L.tmpe, &o, err);
    if (st == TP_OK) {
        tp_ddb_query q = TP_DDB_QUERY_INIT;
        q.consistent_read = 1;
        uint32_t pages = 0;
        tp_error se;
        L.err = &L.mine;
        st = tp_dynamodb_scan(d->client, d->table, &q, load_item, &L, &pages, &se);
        d->stats.scan_pages += pages;
        if (st != TP_OK && L.failed) {
            if (err)
                *err = L.mine;
        } else if (st != TP_OK) {
            wrap(err, st, &se, "positions table %.60s: Scan", d->table);
        }
    }
    /* The whole table restored at once: on any failure `e` is untouched. */
    if (st == TP_OK && tp_engine_symbol_count(L.tmpe))
        st = tp_engine_snapshot(L.tmpe, tp_cursor_from_str(""), &all, err);
    if (st == TP_OK && tp_engine_symbol_count(L.tmpe))
        st = tp_engine_restore(e, tp_buf_cursor(&all), err);
    if (st == TP_OK) {
        cache_clear(d->alloc, &d->known);
        d->known = L.fresh;
        d->whole = 1;
        memset(&L.fresh, 0, sizeof L.fresh);
        d->stats.loaded += tp_engine_symbol_count(L.tmpe);
    }
    cache_clear(d->alloc, &L.fresh);
    tp_engine_free(L.tmpe);
    tp_buf_dispose(&L.blob);
    tp_buf_dispose(&all);
    return st;
}

/* ---- save ------------------------------------------------------------------ */

static tp_status set_price(tp_ddb_value *m, const char *name, int64_t e8, tp_error *err)
{
    char s[TP_PRICE_STR_MAX];
    tp_price_format(s, e8);
    return tp_ddb_m_set_n(m, name, s, err);
}

static tp_status set_time(tp_ddb_value *m, const char *name, int64_t us, unsigned digits,
                          tp_error *err)
{
    char s[TP_ISO8601_MAX];
    tp_time_format_iso8601(s, us, digits);
    return tp_ddb_m_set_s(m, name, s, err);
}

/* The item of position `p` with snapshot `state`; *size its size as DynamoDB
 * counts it (names and values). */
static tp_status build_item(const tp_position *p, tp_cursor state, tp_ddb_value **out, size_t *size,
                            tp_error *err)
{
    tp_ddb_value *m = NULL, *b = NULL;
    tp_status st = tp_ddb_m_new(&m, err);
    if (st == TP_OK)
        st = tp_ddb_m_set_s(m, "symbol", p->symbol, err);
    if (st == TP_OK)
        st = tp_ddb_m_set_i64(m, "quantity", p->quantity, err);
    if (st == TP_OK && p->quantity)
        st = set_price(m, "entry_price", p->entry_price_e8, err);
    if (st == TP_OK && p->entry_ts_us != TP_ENGINE_NO_TIME)
        st = set_time(m, "entry_time", p->entry_ts_us, 6, err);
    if (st == TP_OK)
        st = tp_ddb_m_set_s(m, "entry_shard", p->entry_shard, err);
    if (st == TP_OK)
        st = tp_ddb_m_set_s(m, "entry_sequence", p->entry_sequence, err);
    if (st == TP_OK)
        st = tp_ddb_m_set_s(m, "last_shard", p->last_shard, err);
    if (st == TP_OK)
        st = tp_ddb_m_set_s(m, "last_sequence", p->last_sequence, err);
    if (st == TP_OK)
        st = set_price(m, "realized_pnl", p->realized_pnl_e8, err);
    if (st == TP_OK)
        st = tp_ddb_b_new(&b, state, err);
    if (st == TP_OK)
        st = tp_ddb_m_set(m, "state", b, err);
    if (st == TP_OK)
        st = set_time(m, "updated_at", tp_time_now_us(), 3, err);
    if (st != TP_OK) {
        tp_ddb_value_free(m);
        *out = NULL;
        return st;
    }
    /* Names and values: the fixed part (names, numbers, times) is < 400 bytes. */
    *size = 400 + strlen(p->symbol) + strlen(p->entry_shard) + strlen(p->entry_sequence) +
            strlen(p->last_shard) + strlen(p->last_sequence) + state.len;
    *out = m;
    return TP_OK;
}

/* The conditional PutItem of `item`, on the stored state being what `ce` says. */
static tp_status put_conditional(ddb_store *d, const cache_entry *ce, const tp_ddb_value *item,
                                 tp_error *e)
{
    static const char *const names[] = {"#k",         "symbol", "#ls",
                                        "last_shard", "#lq",    "last_sequence"};
    tp_ddb_value *vals = NULL;
    tp_ddb_expr x = {"attribute_not_exists(#k)", names, 1, NULL};
    tp_status st = TP_OK;
    if (ce->present) {
        st = tp_ddb_m_new(&vals, e);
        if (st == TP_OK)
            st = tp_ddb_m_set_s(vals, ":ps", ce->shard, e);
        if (st == TP_OK)
            st = tp_ddb_m_set_s(vals, ":pq", ce->sequence, e);
        x.condition = "attribute_not_exists(#k) OR (#ls = :ps AND #lq = :pq)";
        x.n_names = 3;
        x.values = vals;
    }
    if (st == TP_OK)
        st = tp_dynamodb_put_item(d->client, d->table, item, &x, e);
    tp_ddb_value_free(vals);
    return st;
}

/* Make the state of `sym` durable, unless the table holds it already. */
static tp_status save_symbol(ddb_store *d, const tp_engine *eng, const char *sym, tp_buf *snap,
                             tp_buf *blob, tp_error *err)
{
    tp_position p;
    tp_status st = tp_engine_position(eng, tp_cursor_from_str(sym), &p, err);
    if (st == TP_E_NOT_FOUND)
        return tp_error__at(err, TP_E_NOT_FOUND, TP_NO_OFFSET, "symbols",
                            "positions table %.60s: no symbol %.40s in the engine", d->table, sym);
    if (st != TP_OK)
        return st;
    tp_buf_clear(snap);
    if ((st = tp_engine_snapshot(eng, tp_cursor_from_str(sym), snap, err)) != TP_OK)
        return st;
    stored mine;
    memset(&mine, 0, sizeof mine);
    mine.present = 1;
    memcpy(mine.shard, p.last_shard, sizeof mine.shard);
    memcpy(mine.sequence, p.last_sequence, sizeof mine.sequence);
    tp_sigv4__sha256(mine.hash, snap->ptr, snap->len);

    int added;
    cache_entry *ce = cache_get(d->alloc, &d->known, sym, &added);
    if (!ce)
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    if (added && d->whole) {
        ce->known = 1; /* not in the table when it was loaded */
        ce->present = 0;
    }
    if (!ce->known) {
        /* Neither loaded nor written by this store (an engine restored from
         * a checkpoint): learn what the table holds before writing over it. */
        stored now;
        if ((st = fetch_stored(d, sym, &now, blob, err)) != TP_OK ||
            (st = cache_set(d->alloc, ce, &now, err)) != TP_OK)
            return st;
    }
    if (ce->present && memcmp(ce->hash, mine.hash, sizeof mine.hash) == 0) {
        d->stats.skipped++;
        return TP_OK;
    }
    if (ce->present && strcmp(ce->shard, mine.shard) == 0 &&
        seq_cmp(ce->sequence, mine.sequence) >= 0) {
        d->stats.stale++; /* the table is as far along this shard or further */
        return TP_OK;
    }

    tp_ddb_value *item = NULL;
    size_t size = 0;
    if ((st = build_item(&p, tp_buf_cursor(snap), &item, &size, err)) != TP_OK)
        return st;
    if (size > DDB_ITEM_MAX) {
        tp_ddb_value_free(item);
        return tp_error__at(err, TP_E_TOO_LARGE, TP_NO_OFFSET, "state",
                            "positions table %.60s item %.40s: %zu bytes, DynamoDB items hold "
                            "at most 400 KB (a smaller engine window makes smaller states)",
                            d->table, sym, size);
    }
    char a1[SEQ_SHOWN + 1], a2[SEQ_SHOWN + 1];
    for (int attempt = 0;; attempt++) {
        tp_error e;
        st = put_conditional(d, ce, item, &e);
        if (st == TP_OK) {
            d->stats.writes++;
            st = cache_set(d->alloc, ce, &mine, err);
            break;
        }
        if (st != TP_E_CONDITION) {
            /* Written or not, nobody can tell (a lost answer): read it next time. */
            ce->known = 0;
            st = wrap(err, st, &e, "positions table %.60s: PutItem %.40s", d->table, sym);
            break;
        }
        d->stats.conflicts++;
        stored now;
        if ((st = fetch_stored(d, sym, &now, blob, err)) != TP_OK)
            break;
        int same_shard = now.present && strcmp(now.shard, mine.shard) == 0;
        if (same_shard && seq_cmp(now.sequence, mine.sequence) >= 0) {
            /* Another writer (or an earlier run) got this shard as far or
             * further: a replay converges to it, nothing to write. */
            d->stats.stale++;
            st = cache_set(d->alloc, ce, &now, err);
            break;
        }
        /* Anything else means what we knew was old: the item is gone, behind
         * us on our shard, or on another shard, which sequences cannot order
         * against ours (a reshard, a lease that moved to another worker and
         * back). Write once more, conditional on what was just read. */
        if ((st = cache_set(d->alloc, ce, &now, err)) != TP_OK)
            break;
        if (attempt == 0)
            continue;
        /* Refused twice: another writer keeps writing this symbol. */
        st =
            wrap(err, TP_E_STATE, &e,
                 "positions %.40s in %.40s: refused twice: table has (%s, %s), this store "
                 "writes (%s, %s)",
                 sym, d->table, now.present ? now.shard : "-",
                 now.present ? shown(a1, now.sequence) : "-", mine.shard, shown(a2, mine.sequence));
        if (err)
            tp__strlcpy(err->field, same_shard ? "last_sequence" : "last_shard", sizeof err->field);
        break;
    }
    tp_ddb_value_free(item);
    return st;
}

static tp_status ddb_save(void *payload, const tp_engine *e, const tp_cursor *symbols, size_t n,
                          tp_error *err)
{
    ddb_store *d = payload;
    tp_buf snap, blob;
    tp_buf_init(&snap, d->alloc, 0);
    tp_buf_init(&blob, d->alloc, 0);
    tp_status st = TP_OK;
    size_t count = n ? n : tp_engine_symbol_count(e);
    for (size_t i = 0; i < count && st == TP_OK; i++) {
        char sym[TP_SYMBOL_MAX];
        if (n) {
            if (symbols[i].len == 0 || symbols[i].len >= sizeof sym ||
                memchr(symbols[i].ptr, 0, symbols[i].len)) {
                st = tp_error__at(err, TP_E_INVALID, i, "symbols", "symbol %zu is not a symbol", i);
                break;
            }
            memcpy(sym, symbols[i].ptr, symbols[i].len);
            sym[symbols[i].len] = '\0';
        } else {
            tp_position p;
            if ((st = tp_engine_position_at(e, i, &p, err)) != TP_OK)
                break;
            memcpy(sym, p.symbol, sizeof sym);
        }
        st = save_symbol(d, e, sym, &snap, &blob, err);
    }
    tp_buf_dispose(&snap);
    tp_buf_dispose(&blob);
    return st;
}

static void ddb_free(void *payload)
{
    ddb_store *d = payload;
    if (!d)
        return;
    const tp_allocator *a = d->alloc;
    cache_clear(a, &d->known);
    if (d->owns_client)
        tp_dynamodb_free(d->client);
    tp__free(a, d->table);
    tp__free(a, d);
}

static const tp_positions_store_vtable ddb_vtable = {TP_POSITIONS_STORE_VTABLE_VERSION, 0, ddb_load,
                                                     ddb_save, ddb_free};

static tp_status ddb_new(tp_positions_store **out, tp_dynamodb *client, int owns, const char *table,
                         const tp_allocator *alloc, tp_error *err)
{
    ddb_store *d = tp__calloc(alloc, 1, sizeof *d);
    if (!d) {
        if (owns)
            tp_dynamodb_free(client);
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    }
    d->alloc = alloc;
    d->client = client;
    d->owns_client = owns;
    d->table = tp_store__strndup(alloc, table, strlen(table));
    if (!d->table) {
        ddb_free(d);
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    }
    return tp_positions_store_new(out, &ddb_vtable, d, alloc, err);
}

tp_status tp_positions_store_dynamodb_new(tp_positions_store **out, tp_dynamodb *client,
                                          const char *table, const tp_allocator *alloc,
                                          tp_error *err)
{
    if (!out || !client || !table)
        return tp_error__set(err, TP_E_INVALID, "tp_positions_store_dynamodb_new: NULL argument");
    *out = NULL;
    if (!table_name_ok(table, strlen(table)))
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "table",
                            "table name '%.60s': 3 to 255 of A-Z a-z 0-9 _ . -", table);
    return ddb_new(out, client, 0, table, alloc, err);
}

tp_status tp_positions_store_dynamodb_ensure_table(tp_dynamodb *client, const char *table,
                                                   uint32_t timeout_ms, tp_error *err)
{
    if (!client || !table)
        return tp_error__set(err, TP_E_INVALID, "tp_positions_store_dynamodb_ensure_table: NULL");
    if (!table_name_ok(table, strlen(table)))
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "table",
                            "table name '%.60s': 3 to 255 of A-Z a-z 0-9 _ . -", table);
    tp_ddb_table_info info;
    tp_error e;
    tp_status st = tp_dynamodb_describe_table(client, table, &info, &e);
    if (st == TP_E_NOT_FOUND) {
        tp_ddb_key_schema ks = {"symbol", "S", NULL, NULL};
        st = tp_dynamodb_create_table(client, table, &ks, 0, 0, &e);
        if (st != TP_OK && st != TP_E_EXISTS) /* TP_E_EXISTS: someone else just did */
            return wrap(err, st, &e, "positions table %.60s: CreateTable", table);
        st = tp_dynamodb_describe_table(client, table, &info, &e);
    } else if (st != TP_OK &&
               (e.http_status == 403 || !strcmp(e.aws_code, "AccessDeniedException"))) {
        return TP_OK; /* no right to look: the first read or write will tell */
    }
    if (st != TP_OK)
        return wrap(err, st, &e, "positions table %.60s: DescribeTable", table);
    if (strcmp(info.hash_name, "symbol") != 0 || info.range_name[0])
        return tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, "positions",
                            "positions table %.60s: its key is %.40s%s%.40s, not symbol alone",
                            table, info.hash_name, info.range_name[0] ? " + " : "",
                            info.range_name);
    if (strcmp(info.status, "ACTIVE") != 0 &&
        (st = tp_dynamodb_wait_active(client, table, timeout_ms, &e)) != TP_OK)
        return wrap(err, st, &e, "positions table %.60s", table);
    return TP_OK;
}

tp_status tp_positions_store_dynamodb_stats_get(const tp_positions_store *s,
                                                tp_positions_store_dynamodb_stats *out,
                                                tp_error *err)
{
    const ddb_store *d = s ? tp_store__positions_payload(s, &ddb_vtable) : NULL;
    if (!d || !out)
        return tp_error__set(err, TP_E_INVALID, "not a DynamoDB positions store");
    *out = d->stats;
    return TP_OK;
}

tp_status tp_store__dynamodb_open(tp_positions_store **out, const char *uri,
                                  const tp_allocator *alloc, tp_error *err)
{
    const char *table = uri + strlen("dynamodb://");
    if (!table_name_ok(table, strlen(table)))
        return tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, "positions",
                            "positions store '%.80s': %s", uri,
                            *table ? "a table name is 3 to 255 of A-Z a-z 0-9 _ . -"
                                   : "no table name (dynamodb://TABLE)");
    tp_aws_client_options o = TP_AWS_CLIENT_OPTIONS_INIT;
    o.alloc = alloc;
    tp_dynamodb *client = NULL;
    tp_status st = tp_dynamodb_new(&client, &o, err);
    if (st == TP_OK)
        st = tp_positions_store_dynamodb_ensure_table(client, table, ENSURE_TIMEOUT_MS, err);
    if (st != TP_OK) {
        tp_dynamodb_free(client);
        return st;
    }
    return ddb_new(out, client, 1, table, alloc, err);
}

/* ---- the S3 trade archive -------------------------------------------------- */

typedef struct s3_archive {
    const tp_allocator *alloc;
    tp_s3 *client;
    int owns_client;
    char *bucket;
    char *prefix; /* "" or without a leading or trailing '/' */
    tp_buf key;
} s3_archive;

/* S3 bucket names (the rules tp_s3 applies): 3 to 63 of [a-z0-9.-], a
 * letter or digit at both ends. */
static int bucket_name_ok(const char *b, size_t n)
{
    if (n < 3 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = b[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
            return 0;
    }
    return b[0] != '.' && b[0] != '-' && b[n - 1] != '.' && b[n - 1] != '-';
}

/* A prefix: no control bytes, room left for keys under it. */
static int prefix_ok(const char *p, size_t n)
{
    if (n > 512)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
            return 0;
    return 1;
}

static tp_status s3_put(void *payload, const char *key, tp_cursor body, const char *content_type,
                        tp_error *err)
{
    s3_archive *a = payload;
    if (!key || !tp_store__key_ok(key))
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "key",
                            "archive key '%.100s' is not a safe relative key", key ? key : "");
    tp_buf_clear(&a->key);
    tp_status st = TP_OK;
    if (a->prefix[0])
        st = tp_buf_appendf(&a->key, err, "%s/", a->prefix);
    if (st == TP_OK)
        st = tp_buf_append_str(&a->key, key, err);
    if (st != TP_OK)
        return st;
    tp_error e;
    st = tp_s3_put_object(a->client, a->bucket, (const char *)a->key.ptr, body, content_type, NULL,
                          &e);
    if (st == TP_E_NOT_FOUND)
        return wrap(err, st, &e, "trade archive: bucket %.63s does not exist", a->bucket);
    if (st != TP_OK)
        return wrap(err, st, &e, "trade archive s3://%.63s: PutObject %.60s", a->bucket,
                    (const char *)a->key.ptr);
    return TP_OK;
}

static void s3_free(void *payload)
{
    s3_archive *a = payload;
    if (!a)
        return;
    const tp_allocator *al = a->alloc;
    if (a->owns_client)
        tp_s3_free(a->client);
    tp_buf_dispose(&a->key);
    tp__free(al, a->bucket);
    tp__free(al, a->prefix);
    tp__free(al, a);
}

static const tp_trade_archive_vtable s3_vtable = {TP_TRADE_ARCHIVE_VTABLE_VERSION, 0, s3_put,
                                                  s3_free};

/* `prefix` (n bytes) without its leading and trailing slashes. */
static void trim_slashes(const char **prefix, size_t *n)
{
    while (*n && **prefix == '/') {
        (*prefix)++;
        (*n)--;
    }
    while (*n && (*prefix)[*n - 1] == '/')
        (*n)--;
}

static tp_status s3_new(tp_trade_archive **out, tp_s3 *client, int owns, const char *bucket,
                        size_t bucket_len, const char *prefix, size_t prefix_len,
                        const tp_allocator *alloc, tp_error *err)
{
    s3_archive *a = tp__calloc(alloc, 1, sizeof *a);
    if (!a) {
        if (owns)
            tp_s3_free(client);
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    }
    a->alloc = alloc;
    a->client = client;
    a->owns_client = owns;
    tp_buf_init(&a->key, alloc, 0);
    trim_slashes(&prefix, &prefix_len);
    a->bucket = tp_store__strndup(alloc, bucket, bucket_len);
    a->prefix = tp_store__strndup(alloc, prefix, prefix_len);
    if (!a->bucket || !a->prefix) {
        s3_free(a);
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    }
    return tp_trade_archive_new(out, &s3_vtable, a, alloc, err);
}

tp_status tp_trade_archive_s3_new(tp_trade_archive **out, tp_s3 *client, const char *bucket,
                                  const char *prefix, const tp_allocator *alloc, tp_error *err)
{
    if (!out || !client || !bucket)
        return tp_error__set(err, TP_E_INVALID, "tp_trade_archive_s3_new: NULL argument");
    *out = NULL;
    if (!bucket_name_ok(bucket, strlen(bucket)))
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "bucket",
                            "bucket name '%.63s': 3 to 63 of a-z 0-9 . -", bucket);
    if (!prefix)
        prefix = "";
    if (!prefix_ok(prefix, strlen(prefix)))
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "prefix",
                            "key prefix: at most 512 bytes, no control characters");
    return s3_new(out, client, 0, bucket, strlen(bucket), prefix, strlen(prefix), alloc, err);
}

tp_status tp_store__s3_open(tp_trade_archive **out, const char *uri, const tp_allocator *alloc,
                            tp_error *err)
{
    const char *bucket = uri + strlen("s3://");
    const char *slash = strchr(bucket, '/');
    size_t bn = slash ? (size_t)(slash - bucket) : strlen(bucket);
    const char *prefix = slash ? slash + 1 : "";
    if (!bucket_name_ok(bucket, bn))
        return tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, "trades", "trade archive '%.80s': %s",
                            uri,
                            bn ? "a bucket name is 3 to 63 of a-z 0-9 . - (s3://BUCKET/PREFIX)"
                               : "no bucket (s3://BUCKET/PREFIX)");
    if (!prefix_ok(prefix, strlen(prefix)))
        return tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, "trades",
                            "trade archive '%.80s': the prefix is at most 512 bytes, no control "
                            "characters",
                            uri);
    char name[64];
    memcpy(name, bucket, bn);
    name[bn] = '\0';
    tp_aws_client_options o = TP_AWS_CLIENT_OPTIONS_INIT;
    o.alloc = alloc;
    tp_s3 *client = NULL;
    tp_status st = tp_s3_new(&client, &o, err);
    if (st != TP_OK)
        return st;
    /* Buckets are not created here: a mistyped name must not become a new
     * bucket. 403 (allowed to write, not to list) cannot tell: go on. */
    tp_error e;
    st = tp_s3_head_bucket(client, name, &e);
    if (st == TP_E_NOT_FOUND)
        st = wrap(err, st, &e,
                  "trade archive: bucket %s does not exist (it is not created "
                  "automatically)",
                  name);
    else if (st != TP_OK && e.http_status == 403)
        st = TP_OK;
    else if (st != TP_OK)
        st = wrap(err, st, &e, "trade archive: HeadBucket %s", name);
    if (st != TP_OK) {
        tp_s3_free(client);
        return st;
    }
    return s3_new(out, client, 1, bucket, bn, prefix, strlen(prefix), alloc, err);
}
