/* Shard leases in DynamoDB with the KCL's schema: see tradepipe/lease.h. */

#include <string.h>

#include "lease_int.h"

struct tp_lease_table {
    const tp_allocator *alloc;
    tp_dynamodb *d;
    char table[256];
    char worker[TP_LEASE_OWNER_MAX];
    uint32_t failover_ms, max_leases;
    tp_lease *leases; /* as last read or written */
    tp_buf *states;   /* states[i] backs leases[i].state */
    size_t n, cap;
    tp_lease_stats stats;
};

/* ---- values ------------------------------------------------------------------ */

/* A map of ":name" values built one by one; NULL on the first failure. */
typedef struct vals {
    tp_ddb_value *m;
    tp_status st;
} vals;

static void vals_init(vals *v, tp_error *err) { v->st = tp_ddb_m_new(&v->m, err); }

static void vals_s(vals *v, const char *name, const char *s, tp_error *err)
{
    if (v->st == TP_OK)
        v->st = tp_ddb_m_set_s(v->m, name, s, err);
}

static void vals_n(vals *v, const char *name, int64_t n, tp_error *err)
{
    if (v->st == TP_OK)
        v->st = tp_ddb_m_set_i64(v->m, name, n, err);
}

static void vals_b(vals *v, const char *name, tp_cursor b, tp_error *err)
{
    tp_ddb_value *x = NULL;
    if (v->st == TP_OK && (v->st = tp_ddb_b_new(&x, b, err)) == TP_OK)
        v->st = tp_ddb_m_set(v->m, name, x, err);
}

static tp_status key_of(tp_ddb_value **key, const char *lease_key, tp_error *err)
{
    tp_status st = tp_ddb_m_new(key, err);
    if (st == TP_OK && (st = tp_ddb_m_set_s(*key, "leaseKey", lease_key, err)) != TP_OK) {
        tp_ddb_value_free(*key);
        *key = NULL;
    }
    return st;
}

static tp_status bad_item(tp_error *err, const char *field, const char *key, const char *why)
{
    return tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, field, "lease table item %.60s: %s %s",
                        key ? key : "(no leaseKey)", field, why);
}

static tp_status get_s(const tp_ddb_value *item, const char *name, char *out, size_t cap,
                       int required, const char *key, tp_error *err)
{
    const tp_ddb_value *v = tp_ddb_m_get(item, name);
    tp_cursor c;
    out[0] = '\0';
    if (!v)
        return required ? bad_item(err, name, key, "is missing") : TP_OK;
    if (tp_ddb_value_s(v, &c) != TP_OK)
        return bad_item(err, name, key, "is not a string (S)");
    if (c.len >= cap)
        return bad_item(err, name, key, "is too long");
    memcpy(out, c.ptr, c.len);
    out[c.len] = '\0';
    return TP_OK;
}

static tp_status get_n(const tp_ddb_value *item, const char *name, int64_t *out, int required,
                       const char *key, tp_error *err)
{
    const tp_ddb_value *v = tp_ddb_m_get(item, name);
    *out = 0;
    if (!v)
        return required ? bad_item(err, name, key, "is missing") : TP_OK;
    if (tp_ddb_value_i64(v, out) != TP_OK)
        return bad_item(err, name, key, "is not a whole number (N)");
    return TP_OK;
}

tp_status tp_lease__parse(const tp_ddb_value *item, tp_lease *l, tp_buf *state, tp_error *err)
{
    memset(l, 0, sizeof *l);
    tp_status st = get_s(item, "leaseKey", l->lease_key, sizeof l->lease_key, 1, NULL, err);
    if (st == TP_OK && !l->lease_key[0])
        st = bad_item(err, "leaseKey", NULL, "is empty");
    const char *k = l->lease_key;
    if (st == TP_OK)
        st = get_s(item, "leaseOwner", l->lease_owner, sizeof l->lease_owner, 0, k, err);
    if (st == TP_OK)
        st = get_n(item, "leaseCounter", &l->lease_counter, 1, k, err);
    if (st == TP_OK)
        st = get_s(item, "checkpoint", l->checkpoint, sizeof l->checkpoint, 0, k, err);
    if (st == TP_OK)
        st = get_n(item, "checkpointSubSequenceNumber", &l->checkpoint_sub_sequence_number, 0, k,
                   err);
    if (st == TP_OK)
        st = get_n(item, "ownerSwitchesSinceCheckpoint", &l->owner_switches_since_checkpoint, 0,
                   k, err);
    if (st != TP_OK)
        return st;
    const tp_ddb_value *p = tp_ddb_m_get(item, "parentShardId");
    if (p) {
        if (tp_ddb_value_type(p) != TP_DDB_SS || tp_ddb_value_count(p) > 2)
            return bad_item(err, "parentShardId", k, "is not a set of one or two strings (SS)");
        for (size_t i = 0; i < tp_ddb_value_count(p); i++)
            tp__strlcpy(l->parent_shard_ids[i], tp_ddb_ss_get(p, i),
                        sizeof l->parent_shard_ids[i]);
        l->parent_count = (uint32_t)tp_ddb_value_count(p);
    }
    tp_buf_clear(state);
    const tp_ddb_value *s = tp_ddb_m_get(item, "tpState");
    if (s && tp_ddb_value_b(s, state, err) != TP_OK)
        return bad_item(err, "tpState", k, "is not bytes (B)");
    l->state = tp_buf_cursor(state);
    return TP_OK;
}

/* ---- the table ----------------------------------------------------------------- */

static size_t find(const tp_lease_table *t, const char *key)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->leases[i].lease_key, key))
            return i;
    return SIZE_MAX;
}

static tp_status room(tp_lease_table *t, size_t need, tp_error *err)
{
    if (need <= t->cap)
        return TP_OK;
    size_t cap = t->cap ? t->cap * 2 : 16;
    while (cap < need)
        cap *= 2;
    tp_lease *l = tp__realloc(t->alloc, t->leases, cap * sizeof *l);
    if (!l)
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    t->leases = l;
    tp_buf *b = tp__realloc(t->alloc, t->states, cap * sizeof *b);
    if (!b)
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    for (size_t i = t->cap; i < cap; i++)
        tp_buf_init(&b[i], t->alloc, 0);
    t->states = b;
    t->cap = cap;
    return TP_OK;
}

tp_status tp_lease_table_open(tp_lease_table **out, const char *uri, const char *worker_id,
                              const tp_lease_options *opts, tp_error *err)
{
    if (!out || !uri || !worker_id)
        return tp_error__set(err, TP_E_INVALID, "tp_lease_table_open: NULL argument");
    *out = NULL;
    tp_lease_options o = TP_LEASE_OPTIONS_INIT;
    if (opts) {
        if (opts->version != TP_LEASE_OPTIONS_VERSION)
            return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "version",
                                "lease options version %u is unknown", opts->version);
        o = *opts;
    }
    if (strncmp(uri, "dynamodb://", 11) != 0 || !uri[11])
        return tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, "table",
                            "lease table '%.100s': expected dynamodb://TABLE", uri);
    const char *name = uri + 11;
    size_t nl = strlen(name);
    if (nl < 3 || nl > 255)
        return tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, "table",
                            "lease table name '%.100s': 3 to 255 characters", name);
    for (size_t i = 0; i < nl; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return tp_error__at(err, TP_E_CONFIG, 11 + i, "table",
                                "lease table name '%.100s': byte %zu is not one of [a-zA-Z0-9_.-]",
                                name, i);
    }
    size_t wl = strlen(worker_id);
    if (wl == 0 || wl >= TP_LEASE_OWNER_MAX)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "worker_id",
                            "worker id of %zu bytes: 1 to %d", wl, TP_LEASE_OWNER_MAX - 1);
    const tp_allocator *a = o.client ? o.client->alloc : NULL;
    tp_lease_table *t = tp__calloc(a, 1, sizeof *t);
    if (!t)
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    t->alloc = a;
    memcpy(t->table, name, nl + 1);
    memcpy(t->worker, worker_id, wl + 1);
    t->failover_ms = o.failover_ms ? o.failover_ms : TP_LEASE_DEFAULT_FAILOVER_MS;
    t->max_leases = o.max_leases;
    tp_status st = tp_dynamodb_new(&t->d, o.client, err);
    tp_ddb_table_info info;
    if (st == TP_OK) {
        t->stats.requests++;
        st = tp_dynamodb_describe_table(t->d, t->table, &info, err);
    }
    if (st == TP_E_NOT_FOUND) {
        tp_ddb_key_schema ks = {"leaseKey", "S", NULL, NULL};
        t->stats.requests++;
        st = tp_dynamodb_create_table(t->d, t->table, &ks, 0, 0, err);
        if (st == TP_E_EXISTS) /* another worker made it meanwhile */
            st = TP_OK;
        if (st == TP_OK)
            st = tp_dynamodb_wait_active(t->d, t->table, 60000, err);
    } else if (st == TP_OK && strcmp(info.hash_name, "leaseKey") != 0) {
        st = tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, "table",
                          "table %s has hash key '%.60s': a lease table's is leaseKey", t->table,
                          info.hash_name);
    } else if (st == TP_OK && strcmp(info.status, "ACTIVE") != 0) {
        st = tp_dynamodb_wait_active(t->d, t->table, 60000, err);
    }
    if (st != TP_OK) {
        tp_lease_table_free(t);
        return st;
    }
    *out = t;
    return TP_OK;
}

void tp_lease_table_free(tp_lease_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->cap; i++)
        tp_buf_dispose(&t->states[i]);
    tp__free(t->alloc, t->states);
    tp__free(t->alloc, t->leases);
    tp_dynamodb_free(t->d);
    tp__free(t->alloc, t);
}

size_t tp_lease_table_count(const tp_lease_table *t) { return t ? t->n : 0; }

const tp_lease *tp_lease_table_get(const tp_lease_table *t, size_t i)
{
    return t && i < t->n ? &t->leases[i] : NULL;
}

const tp_lease *tp_lease_table_find(const tp_lease_table *t, const char *lease_key)
{
    size_t i = t && lease_key ? find(t, lease_key) : SIZE_MAX;
    return i == SIZE_MAX ? NULL : &t->leases[i];
}

void tp_lease_table_stats(const tp_lease_table *t, tp_lease_stats *out)
{
    if (!out)
        return;
    if (!t)
        memset(out, 0, sizeof *out);
    else
        *out = t->stats;
}

/* ---- reading ------------------------------------------------------------------- */

typedef struct scan_ctx {
    tp_lease_table *t;
    tp_lease *got;
    tp_buf *states;
    size_t n, cap;
    tp_error *err;
} scan_ctx;

static tp_status on_item(const tp_ddb_value *item, void *payload)
{
    scan_ctx *c = payload;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        tp_lease *g = tp__realloc(c->t->alloc, c->got, cap * sizeof *g);
        if (!g)
            return tp_error__set(c->err, TP_E_NOMEM, "out of memory");
        c->got = g;
        tp_buf *b = tp__realloc(c->t->alloc, c->states, cap * sizeof *b);
        if (!b)
            return tp_error__set(c->err, TP_E_NOMEM, "out of memory");
        for (size_t i = c->cap; i < cap; i++)
            tp_buf_init(&b[i], c->t->alloc, 0);
        c->states = b;
        c->cap = cap;
    }
    tp_status st = tp_lease__parse(item, &c->got[c->n], &c->states[c->n], c->err);
    if (st == TP_OK)
        c->n++;
    return st;
}

tp_status tp_lease_table_refresh(tp_lease_table *t, int64_t now_ms, tp_error *err)
{
    if (!t)
        return tp_error__set(err, TP_E_INVALID, "tp_lease_table_refresh: NULL handle");
    scan_ctx c = {t, NULL, NULL, 0, 0, err};
    tp_ddb_query q = TP_DDB_QUERY_INIT;
    q.consistent_read = 1;
    uint32_t pages = 0;
    tp_status st = tp_dynamodb_scan(t->d, t->table, &q, on_item, &c, &pages, err);
    t->stats.requests += pages ? pages : 1;
    if (st == TP_OK)
        st = room(t, c.n, err);
    if (st == TP_OK) {
        for (size_t i = 0; i < c.n; i++) {
            tp_lease *g = &c.got[i];
            size_t j = find(t, g->lease_key);
            g->seen_change_ms = now_ms;
            if (j != SIZE_MAX) {
                const tp_lease *was = &t->leases[j];
                if (was->lease_counter == g->lease_counter)
                    g->seen_change_ms = was->seen_change_ms;
                if (was->held) {
                    if (was->lease_counter == g->lease_counter &&
                        !strcmp(g->lease_owner, t->worker))
                        g->held = 1;
                    else
                        t->stats.lost++;
                }
            }
        }
        /* Swap the new list in: the state buffers go with their leases. */
        for (size_t i = 0; i < c.n; i++) {
            tp_buf tmp = t->states[i];
            t->states[i] = c.states[i];
            c.states[i] = tmp;
            t->leases[i] = c.got[i];
            t->leases[i].state = tp_buf_cursor(&t->states[i]);
        }
        t->n = c.n;
    }
    for (size_t i = 0; i < c.cap; i++)
        tp_buf_dispose(&c.states[i]);
    tp__free(t->alloc, c.states);
    tp__free(t->alloc, c.got);
    return st;
}

/* ---- writing -------------------------------------------------------------------- */

static int is_sentinel(const char *cp)
{
    return !strcmp(cp, TP_LEASE_TRIM_HORIZON) || !strcmp(cp, TP_LEASE_LATEST) ||
           !strcmp(cp, TP_LEASE_AT_TIMESTAMP) || !strcmp(cp, TP_LEASE_SHARD_END);
}

tp_status tp_lease_table_sync(tp_lease_table *t, const tp_kinesis_shards *shards,
                              const char *initial, tp_error *err)
{
    if (!t || !shards || !initial)
        return tp_error__set(err, TP_E_INVALID, "tp_lease_table_sync: NULL argument");
    if (strcmp(initial, TP_LEASE_TRIM_HORIZON) != 0 && strcmp(initial, TP_LEASE_LATEST) != 0 &&
        strcmp(initial, TP_LEASE_AT_TIMESTAMP) != 0)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "initial",
                            "initial position '%.40s': TRIM_HORIZON, LATEST or AT_TIMESTAMP",
                            initial);
    for (size_t i = 0; i < shards->count; i++) {
        const tp_kinesis_shard *sh = &shards->shards[i];
        if (find(t, sh->shard_id) != SIZE_MAX)
            continue;
        const char *parents[2];
        size_t np = 0;
        int parent_known = 0;
        const char *ids[2] = {sh->parent_shard_id, sh->adjacent_parent_shard_id};
        for (int k = 0; k < 2; k++) {
            if (!ids[k][0])
                continue;
            parents[np++] = ids[k];
            if (find(t, ids[k]) != SIZE_MAX)
                parent_known = 1;
            for (size_t j = 0; j < shards->count; j++)
                if (!strcmp(shards->shards[j].shard_id, ids[k]))
                    parent_known = 1;
        }
        tp_ddb_value *item = NULL, *ps = NULL;
        tp_status st = tp_ddb_m_new(&item, err);
        if (st == TP_OK)
            st = tp_ddb_m_set_s(item, "leaseKey", sh->shard_id, err);
        if (st == TP_OK)
            st = tp_ddb_m_set_i64(item, "leaseCounter", 0, err);
        if (st == TP_OK)
            st = tp_ddb_m_set_s(item, "checkpoint",
                                parent_known ? TP_LEASE_TRIM_HORIZON : initial, err);
        if (st == TP_OK)
            st = tp_ddb_m_set_i64(item, "checkpointSubSequenceNumber", 0, err);
        if (st == TP_OK)
            st = tp_ddb_m_set_i64(item, "ownerSwitchesSinceCheckpoint", 0, err);
        if (st == TP_OK && np && (st = tp_ddb_ss_new(&ps, parents, np, err)) == TP_OK)
            st = tp_ddb_m_set(item, "parentShardId", ps, err);
        if (st == TP_OK) {
            const char *names[] = {"#k", "leaseKey"};
            tp_ddb_expr e = {"attribute_not_exists(#k)", names, 1, NULL};
            t->stats.requests++;
            st = tp_dynamodb_put_item(t->d, t->table, item, &e, err);
            if (st == TP_E_CONDITION) /* made by another worker meanwhile */
                st = TP_OK;
        }
        tp_ddb_value_free(item);
        if (st != TP_OK)
            return st;
    }
    return TP_OK;
}

/* An UpdateItem of lease `i` conditional on what this worker last saw of
 * it (its counter, and its owner when `as_owner`), reading the item back
 * into the lease. */
static tp_status update(tp_lease_table *t, size_t i, const char *expr_text, vals *v, int as_owner,
                        int64_t now_ms, tp_error *err)
{
    tp_lease *l = &t->leases[i];
    tp_ddb_value *key = NULL, *after = NULL;
    vals_n(v, ":c", l->lease_counter, err);
    vals_n(v, ":one", 1, err);
    if (as_owner)
        vals_s(v, ":me", t->worker, err);
    tp_status st = v->st;
    if (st == TP_OK)
        st = key_of(&key, l->lease_key, err);
    if (st == TP_OK) {
        const char *names[] = {"#c", "leaseCounter", "#o", "leaseOwner"};
        tp_ddb_expr e = {as_owner ? "#c = :c AND #o = :me" : "#c = :c", names, 2, v->m};
        t->stats.requests++;
        st = tp_dynamodb_update_item(t->d, t->table, key, expr_text, &e, &after, err);
    }
    if (st == TP_E_CONDITION) {
        /* A retried write whose first attempt was applied (a timeout, a
         * 5xx) is refused by its own condition: the item then shows this
         * worker as owner with the counter one past what it expected, as
         * the KCL's renewLease checks. */
        tp_ddb_value *now = NULL;
        tp_error gerr;
        int64_t expected = l->lease_counter + 1;
        t->stats.requests++;
        if (tp_dynamodb_get_item(t->d, t->table, key, 1, &now, &gerr) == TP_OK) {
            tp_lease seen;
            tp_buf tmp;
            tp_buf_init(&tmp, t->alloc, 0);
            if (tp_lease__parse(now, &seen, &tmp, &gerr) == TP_OK &&
                !strcmp(seen.lease_owner, t->worker) && seen.lease_counter == expected) {
                after = now;
                now = NULL;
                st = TP_OK;
            }
            tp_buf_dispose(&tmp);
        }
        tp_ddb_value_free(now);
    }
    if (st == TP_OK) {
        int64_t seen = now_ms;
        st = tp_lease__parse(after, l, &t->states[i], err);
        l->seen_change_ms = seen;
    } else if (st == TP_E_CONDITION) {
        t->stats.conflicts++;
        if (l->held) {
            l->held = 0;
            t->stats.lost++;
        }
    }
    tp_ddb_value_free(after);
    tp_ddb_value_free(key);
    tp_ddb_value_free(v->m);
    v->m = NULL;
    return st;
}

static tp_status take_one(tp_lease_table *t, size_t i, int64_t now_ms, tp_error *err)
{
    tp_lease *l = &t->leases[i];
    /* An owner switch is counted when the lease had another owner (the
     * KCL's getDynamoTakeLeaseUpdate), not when it had none. */
    int switching = l->lease_owner[0] && strcmp(l->lease_owner, t->worker) != 0;
    vals v;
    vals_init(&v, err);
    vals_s(&v, ":me", t->worker, err);
    if (switching)
        vals_n(&v, ":zero", 0, err);
    const char *x =
        switching ? "SET #o = :me, #c = #c + :one, ownerSwitchesSinceCheckpoint = "
                    "if_not_exists(ownerSwitchesSinceCheckpoint, :zero) + :one"
                  : "SET #o = :me, #c = #c + :one";
    tp_status st = update(t, i, x, &v, 0, now_ms, err);
    if (st == TP_OK) {
        t->leases[i].held = 1;
        t->stats.taken++;
    }
    return st;
}

static int parents_done(const tp_lease_table *t, const tp_lease *l)
{
    for (uint32_t k = 0; k < l->parent_count; k++) {
        size_t j = find(t, l->parent_shard_ids[k]);
        if (j != SIZE_MAX && strcmp(t->leases[j].checkpoint, TP_LEASE_SHARD_END) != 0)
            return 0;
    }
    return 1;
}

static int expired(const tp_lease_table *t, const tp_lease *l, int64_t now_ms)
{
    return !l->lease_owner[0] || now_ms - l->seen_change_ms >= (int64_t)t->failover_ms;
}

tp_status tp_lease_table_take(tp_lease_table *t, int64_t now_ms, uint32_t *taken, tp_error *err)
{
    if (taken)
        *taken = 0;
    if (!t)
        return tp_error__set(err, TP_E_INVALID, "tp_lease_table_take: NULL handle");
    /* Workers: owners of live leases, and this one. Counted by a pass over
     * the owners seen first at each index (a few hundred leases at most). */
    size_t active = 0, held = 0, workers = 1;
    for (size_t i = 0; i < t->n; i++) {
        const tp_lease *l = &t->leases[i];
        if (!strcmp(l->checkpoint, TP_LEASE_SHARD_END))
            continue;
        active++;
        held += l->held;
        if (l->held || expired(t, l, now_ms) || !strcmp(l->lease_owner, t->worker))
            continue;
        size_t j = 0;
        for (; j < i; j++) {
            const tp_lease *m = &t->leases[j];
            if (strcmp(m->checkpoint, TP_LEASE_SHARD_END) != 0 && !expired(t, m, now_ms) &&
                !strcmp(m->lease_owner, l->lease_owner))
                break;
        }
        workers += j == i;
    }
    size_t target = (active + workers - 1) / workers;
    if (t->max_leases && target > t->max_leases)
        target = t->max_leases;
    tp_status st = TP_OK;
    uint32_t got = 0;
    /* Free leases first: nobody's, expired, or ours from an earlier run. */
    for (size_t i = 0; i < t->n && held < target && st == TP_OK; i++) {
        const tp_lease *l = &t->leases[i];
        if (l->held || !strcmp(l->checkpoint, TP_LEASE_SHARD_END) || !parents_done(t, l) ||
            !(expired(t, l, now_ms) || !strcmp(l->lease_owner, t->worker)))
            continue;
        st = take_one(t, i, now_ms, err);
        if (st == TP_OK) {
            held++;
            got++;
        } else if (st == TP_E_CONDITION) {
            st = TP_OK; /* another worker was quicker */
        }
    }
    if (st == TP_OK && held < target) {
        /* Still short: one lease from the most loaded live worker, when it
         * holds more than its share. */
        size_t best = SIZE_MAX, best_count = 0;
        for (size_t i = 0; i < t->n; i++) {
            const tp_lease *l = &t->leases[i];
            if (l->held || !l->lease_owner[0] || expired(t, l, now_ms) ||
                !strcmp(l->checkpoint, TP_LEASE_SHARD_END) || !parents_done(t, l))
                continue;
            size_t count = 0;
            for (size_t j = 0; j < t->n; j++)
                count += !strcmp(t->leases[j].lease_owner, l->lease_owner) &&
                         strcmp(t->leases[j].checkpoint, TP_LEASE_SHARD_END) != 0;
            if (count > best_count) {
                best = i;
                best_count = count;
            }
        }
        if (best != SIZE_MAX && best_count > target) {
            st = take_one(t, best, now_ms, err);
            if (st == TP_OK) {
                got++;
                t->stats.stolen++;
            } else if (st == TP_E_CONDITION) {
                st = TP_OK;
            }
        }
    }
    if (taken)
        *taken = got;
    return st;
}

tp_status tp_lease_table_renew(tp_lease_table *t, int64_t now_ms, uint32_t *lost, tp_error *err)
{
    if (lost)
        *lost = 0;
    if (!t)
        return tp_error__set(err, TP_E_INVALID, "tp_lease_table_renew: NULL handle");
    for (size_t i = 0; i < t->n; i++) {
        if (!t->leases[i].held)
            continue;
        vals v;
        vals_init(&v, err);
        tp_status st = update(t, i, "SET #c = #c + :one", &v, 1, now_ms, err);
        if (st == TP_E_CONDITION) {
            if (lost)
                (*lost)++;
            continue;
        }
        if (st != TP_OK)
            return st;
        t->leases[i].held = 1;
    }
    return TP_OK;
}

/* The index of the lease of `lease_key`, which we must hold, and the
 * values of its update expression, started. */
static tp_status held_lease(tp_lease_table *t, const char *lease_key, size_t *i, vals *v,
                            tp_error *err)
{
    *i = lease_key ? find(t, lease_key) : SIZE_MAX;
    if (*i == SIZE_MAX || !t->leases[*i].held)
        return tp_error__at(err, TP_E_STATE, TP_NO_OFFSET, "leaseKey",
                            "worker %s does not hold the lease of %.60s", t->worker,
                            lease_key ? lease_key : "(NULL)");
    vals_init(v, err);
    return TP_OK;
}

tp_status tp_lease_table_checkpoint(tp_lease_table *t, const char *lease_key,
                                    const char *checkpoint, int64_t sub_sequence_number,
                                    tp_cursor state, tp_error *err)
{
    if (!t || !checkpoint)
        return tp_error__set(err, TP_E_INVALID, "tp_lease_table_checkpoint: NULL argument");
    size_t n = strlen(checkpoint), digits = strspn(checkpoint, "0123456789");
    if (!is_sentinel(checkpoint) &&
        (n == 0 || n > 128 || digits != n || (checkpoint[0] == '0' && n > 1)))
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "checkpoint",
                            "'%.60s' is neither a sequence number nor a sentinel", checkpoint);
    if (sub_sequence_number < 0)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "checkpointSubSequenceNumber",
                            "negative sub-sequence number");
    if (state.len > TP_LEASE_STATE_MAX)
        return tp_error__at(err, TP_E_TOO_LARGE, TP_NO_OFFSET, "tpState",
                            "state of %zu bytes for %.60s: at most %zu fit in a lease item",
                            state.len, lease_key ? lease_key : "", TP_LEASE_STATE_MAX);
    size_t i;
    vals v;
    tp_status st = held_lease(t, lease_key, &i, &v, err);
    if (st != TP_OK)
        return st;
    vals_s(&v, ":cp", checkpoint, err);
    vals_n(&v, ":sub", sub_sequence_number, err);
    vals_n(&v, ":zero", 0, err);
    if (state.len)
        vals_b(&v, ":st", state, err);
    st = update(t, i,
                state.len ? "SET #c = #c + :one, checkpoint = :cp, checkpointSubSequenceNumber = "
                            ":sub, ownerSwitchesSinceCheckpoint = :zero, tpState = :st"
                          : "SET #c = #c + :one, checkpoint = :cp, checkpointSubSequenceNumber = "
                            ":sub, ownerSwitchesSinceCheckpoint = :zero REMOVE tpState",
                &v, 1, t->leases[i].seen_change_ms, err);
    if (st == TP_OK) {
        t->leases[i].held = 1;
        t->stats.checkpoints++;
    }
    return st;
}

tp_status tp_lease_table_release(tp_lease_table *t, const char *lease_key, tp_error *err)
{
    if (!t)
        return tp_error__set(err, TP_E_INVALID, "tp_lease_table_release: NULL handle");
    size_t i;
    vals v;
    tp_status st = held_lease(t, lease_key, &i, &v, err);
    if (st != TP_OK)
        return st;
    st = update(t, i, "SET #c = #c + :one REMOVE #o", &v, 1, t->leases[i].seen_change_ms, err);
    t->leases[i].held = 0;
    return st;
}
