/* Credentials: reference-counted values, the caching provider, and the
 * static, environment and chain sources; the JSON credential document
 * shared by credential_process, ECS and IMDS. */
#include "credentials_int.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- credentials values -------------------------------------------------- */

typedef struct cred_box {
    tp_credentials pub; /* first: a tp_credentials * is a cred_box * */
    atomic_long refs;
    const tp_allocator *alloc;
    size_t size;
} cred_box;

tp_status tp_credentials_new(const tp_credentials **out, const char *access_key_id,
                             const char *secret_access_key, const char *session_token,
                             int64_t expiration_ms, const tp_allocator *alloc, tp_error *err)
{
    if (!out)
        return tp_error__set(err, TP_E_INVALID, "tp_credentials_new: out is NULL");
    *out = NULL;
    if (!access_key_id || !*access_key_id)
        return tp_error__at(err, TP_E_CREDENTIALS, TP_NO_OFFSET, "access_key_id",
                            "the access key id is missing");
    if (!secret_access_key || !*secret_access_key)
        return tp_error__at(err, TP_E_CREDENTIALS, TP_NO_OFFSET, "secret_access_key",
                            "the secret access key is missing");
    size_t a = strlen(access_key_id) + 1, s = strlen(secret_access_key) + 1;
    size_t t = session_token && *session_token ? strlen(session_token) + 1 : 0;
    if (a > SIZE_MAX / 4 || s > SIZE_MAX / 4 || t > SIZE_MAX / 4)
        return tp_error__set(err, TP_E_TOO_LARGE, "credentials too large");
    size_t size = sizeof(cred_box) + a + s + t;
    cred_box *b = tp__malloc(alloc, size);
    if (!b)
        return tp_error__set(err, TP_E_NOMEM, "out of memory copying credentials");
    char *p = (char *)(b + 1);
    memcpy(p, access_key_id, a);
    b->pub.access_key_id = p;
    p += a;
    memcpy(p, secret_access_key, s);
    b->pub.secret_access_key = p;
    p += s;
    b->pub.session_token = NULL;
    if (t) {
        memcpy(p, session_token, t);
        b->pub.session_token = p;
    }
    b->pub.expiration_ms = expiration_ms;
    atomic_init(&b->refs, 1);
    b->alloc = alloc;
    b->size = size;
    *out = &b->pub;
    return TP_OK;
}

const tp_credentials *tp_credentials_acquire(const tp_credentials *c)
{
    if (c) {
        cred_box *b = (cred_box *)(uintptr_t)c;
        atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    }
    return c;
}

void tp_credentials_release(const tp_credentials *c)
{
    if (!c)
        return;
    cred_box *b = (cred_box *)(uintptr_t)c;
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
        return;
    const tp_allocator *a = b->alloc;
    tp_secure_zero(b, b->size);
    tp__free(a, b);
}

/* ---- options ------------------------------------------------------------- */

TP__DEFINE_INIT(tp_credentials_provider_options_init, tp_credentials_provider_options,
                TP_CREDENTIALS_PROVIDER_OPTIONS_VERSION, TP_CREDENTIALS_PROVIDER_OPTIONS_INIT)

tp_status tp_credentials__opts(tp_credentials_provider_options *out,
                               const tp_credentials_provider_options *in, tp_error *err)
{
    tp_credentials_provider_options d = TP_CREDENTIALS_PROVIDER_OPTIONS_INIT;
    if (in) {
        if (in->version != TP_CREDENTIALS_PROVIDER_OPTIONS_VERSION)
            return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "version",
                                "unknown tp_credentials_provider_options version %u",
                                (unsigned)in->version);
        d = *in;
    }
    if (d.refresh_before_ms < 0)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "refresh_before_ms",
                            "refresh_before_ms is negative");
    if (d.process_timeout_ms < 0)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "process_timeout_ms",
                            "process_timeout_ms is negative");
    if (!d.refresh_before_ms)
        d.refresh_before_ms = TP_CREDENTIALS_DEFAULT_REFRESH_MS;
    if (!d.process_timeout_ms)
        d.process_timeout_ms = TP_CREDENTIALS_DEFAULT_PROCESS_MS;
    if (!d.max_file_bytes)
        d.max_file_bytes = TP_CREDENTIALS_DEFAULT_FILE_MAX;
    *out = d;
    return TP_OK;
}

tp_status tp_credentials__provider_opts(tp_credentials_provider **out,
                                       tp_credentials_provider_options *o,
                                       const tp_credentials_provider_options *in, tp_error *err)
{
    if (out)
        *out = NULL;
    return tp_credentials__opts(o, in, err);
}

const char *tp_credentials__getenv(const tp_credentials_provider_options *o, const char *name)
{
    const char *v = (o && o->getenv_fn) ? o->getenv_fn(name, o->getenv_payload) : getenv(name);
    return v && *v ? v : NULL;
}

const char *tp_credentials__profile_name(const tp_credentials_provider_options *o)
{
    if (o && o->profile && *o->profile)
        return o->profile;
    const char *p = tp_credentials__getenv(o, "AWS_PROFILE");
    return p ? p : "default";
}

/* A deep copy of the options: the strings live in the same block. */
static tp_credentials_provider_options *opts_dup(const tp_credentials_provider_options *in,
                                                 tp_error *err)
{
    const char *strs[3] = {in->profile, in->credentials_file, in->config_file};
    size_t lens[3], total = sizeof(tp_credentials_provider_options);
    for (int i = 0; i < 3; i++) {
        lens[i] = strs[i] ? strlen(strs[i]) + 1 : 0;
        if (lens[i] > SIZE_MAX / 4) {
            tp_error__set(err, TP_E_TOO_LARGE, "option string too long");
            return NULL;
        }
        total += lens[i];
    }
    tp_credentials_provider_options *o = tp__malloc(in->alloc, total);
    if (!o) {
        tp_error__set(err, TP_E_NOMEM, "out of memory copying provider options");
        return NULL;
    }
    *o = *in;
    char *p = (char *)(o + 1);
    const char **dst[3] = {&o->profile, &o->credentials_file, &o->config_file};
    for (int i = 0; i < 3; i++) {
        if (!strs[i])
            continue;
        memcpy(p, strs[i], lens[i]);
        *dst[i] = p;
        p += lens[i];
    }
    return o;
}

/* ---- the caching provider ------------------------------------------------ */

struct tp_credentials_provider {
    tp_credentials_source src;
    void *payload;
    tp_credentials_provider_options *opts; /* owned copy */
    pthread_mutex_t mu;
    const tp_credentials *cached;
    int stale;                /* the service said `cached` expired: fetch anew */
    int64_t last_fetch_ms;    /* when fetch last ran */
    int64_t expired_until_ms; /* the source gave expired credentials: no fetch before */
    int64_t expired_wait_ms;  /* the wait after the next such answer */
    tp_error expired_err;     /* what to answer meanwhile */
};

/* No source is asked more than once a second while what it gave last is
 * still valid (inside the refresh window, every call would ask again). */
#define REFETCH_MIN_MS 1000
/* A source that hands out expired credentials is asked again after 1 s,
 * then 2, 4, ... up to a minute, not on every call. */
#define EXPIRED_WAIT_MIN_MS 1000
#define EXPIRED_WAIT_MAX_MS 60000

static int still_fresh(const tp_credentials *c, int64_t now_ms, int64_t before_ms)
{
    if (c->expiration_ms == TP_CREDENTIALS_NO_EXPIRY)
        return 1;
    int64_t limit =
        c->expiration_ms < INT64_MIN + before_ms ? INT64_MIN : c->expiration_ms - before_ms;
    return now_ms < limit;
}

tp_status tp_credentials_provider_new_custom(tp_credentials_provider **out,
                                             const tp_credentials_source *source, void *payload,
                                             const tp_credentials_provider_options *opts,
                                             tp_error *err)
{
    tp_status st = TP_OK;
    tp_credentials_provider *p = NULL;
    tp_credentials_provider_options o;
    if (out)
        *out = NULL;
    if (!out || !source || source->version != TP_CREDENTIALS_SOURCE_VERSION || !source->fetch) {
        st = tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "source", "%s",
                          !out ? "out is NULL"
                               : "no source, a source without fetch, or an "
                                 "unknown source version");
        goto fail;
    }
    if ((st = tp_credentials__opts(&o, opts, err)) != TP_OK)
        goto fail;
    p = tp__calloc(o.alloc, 1, sizeof *p);
    if (!p) {
        st = tp_error__set(err, TP_E_NOMEM, "out of memory creating a credentials provider");
        goto fail;
    }
    p->opts = opts_dup(&o, err);
    if (!p->opts) {
        st = err ? err->code : TP_E_NOMEM;
        goto fail;
    }
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        st = tp_error__set(err, TP_E_NOMEM, "cannot create a mutex");
        goto fail;
    }
    p->src = *source;
    p->payload = payload;
    *out = p;
    return TP_OK;
fail:
    if (source && source->destroy)
        source->destroy(payload);
    if (p) {
        tp__free(o.alloc, p->opts);
        tp__free(o.alloc, p);
    }
    return st;
}

static int expired_at(const tp_credentials *c, int64_t now_ms)
{
    return c->expiration_ms != TP_CREDENTIALS_NO_EXPIRY && now_ms >= c->expiration_ms;
}

tp_status tp_credentials_provider_get(tp_credentials_provider *p, const tp_credentials **out,
                                      int64_t now_ms, tp_error *err)
{
    if (!p || !out)
        return tp_error__set(err, TP_E_INVALID, "tp_credentials_provider_get: %s is NULL",
                             p ? "out" : "provider");
    *out = NULL;
    pthread_mutex_lock(&p->mu);
    tp_status st = TP_OK;
    const int usable = p->cached && !p->stale && !expired_at(p->cached, now_ms);
    if (usable && (still_fresh(p->cached, now_ms, p->opts->refresh_before_ms) ||
                   now_ms - p->last_fetch_ms < REFETCH_MIN_MS)) {
        *out = tp_credentials_acquire(p->cached);
        goto done;
    }
    if (!usable && !p->stale && now_ms < p->expired_until_ms) {
        if (err)
            *err = p->expired_err;
        st = p->expired_err.code;
        goto done;
    }
    const tp_credentials *fresh = NULL;
    p->last_fetch_ms = now_ms;
    st = p->src.fetch(p->payload, &fresh, now_ms, err);
    if (st == TP_OK && !fresh)
        st = tp_error__set(err, TP_E_CREDENTIALS, "source %s returned no credentials",
                           p->src.name ? p->src.name : "?");
    if (st == TP_OK && expired_at(fresh, now_ms)) {
        /* botocore: "refreshed credentials are still expired" */
        char when[TP_ISO8601_MAX];
        tp_time_format_iso8601(when, fresh->expiration_ms * 1000, 0);
        st = tp_error__at(err, TP_E_CREDENTIALS, TP_NO_OFFSET, "Expiration",
                          "credentials from %s are already expired (Expiration %s)",
                          p->src.name ? p->src.name : "?", when);
        tp_credentials_release(fresh);
        int64_t wait = p->expired_wait_ms ? p->expired_wait_ms : EXPIRED_WAIT_MIN_MS;
        p->expired_until_ms = now_ms + wait;
        p->expired_wait_ms = wait * 2 < EXPIRED_WAIT_MAX_MS ? wait * 2 : EXPIRED_WAIT_MAX_MS;
        tp_error_clear(&p->expired_err);
        if (err)
            p->expired_err = *err;
        else
            p->expired_err.code = st;
        p->stale = 0;
        goto done;
    }
    if (st == TP_OK) {
        tp_credentials_release(p->cached);
        p->cached = fresh;
        p->stale = 0;
        p->expired_until_ms = 0;
        p->expired_wait_ms = 0;
        *out = tp_credentials_acquire(fresh);
    } else if (usable) {
        /* the refresh failed, but what we have has not expired yet */
        *out = tp_credentials_acquire(p->cached);
        tp_error_clear(err);
        st = TP_OK;
    }
done:
    pthread_mutex_unlock(&p->mu);
    return st;
}

void tp_credentials_provider_free(tp_credentials_provider *p)
{
    if (!p)
        return;
    const tp_allocator *a = p->opts->alloc;
    if (p->src.destroy)
        p->src.destroy(p->payload);
    tp_credentials_release(p->cached);
    pthread_mutex_destroy(&p->mu);
    tp__free(a, p->opts);
    tp__free(a, p);
}

/* ---- static -------------------------------------------------------------- */

static tp_status static_fetch(void *payload, const tp_credentials **out, int64_t now_ms,
                              tp_error *err)
{
    (void)now_ms;
    (void)err;
    *out = tp_credentials_acquire(payload);
    return TP_OK;
}

static void static_destroy(void *payload) { tp_credentials_release(payload); }

tp_status
tp_credentials_provider_new_static(tp_credentials_provider **out, const char *access_key_id,
                                   const char *secret_access_key, const char *session_token,
                                   const tp_credentials_provider_options *opts, tp_error *err)
{
    tp_credentials_provider_options o;
    tp_status st = tp_credentials__provider_opts(out, &o, opts, err);
    if (st != TP_OK)
        return st;
    const tp_credentials *c = NULL;
    st = tp_credentials_new(&c, access_key_id, secret_access_key, session_token,
                            TP_CREDENTIALS_NO_EXPIRY, o.alloc, err);
    if (st != TP_OK)
        return st;
    static const tp_credentials_source src = {TP_CREDENTIALS_SOURCE_VERSION, 0, "static",
                                              static_fetch, static_destroy};
    return tp_credentials_provider_new_custom(out, &src, (void *)(uintptr_t)c, &o, err);
}

/* ---- environment --------------------------------------------------------- */

static tp_status env_fetch(void *payload, const tp_credentials **out, int64_t now_ms, tp_error *err)
{
    (void)now_ms;
    const tp_credentials_provider_options *o = payload;
    const char *id = tp_credentials__getenv(o, "AWS_ACCESS_KEY_ID");
    const char *secret = tp_credentials__getenv(o, "AWS_SECRET_ACCESS_KEY");
    const char *token = tp_credentials__getenv(o, "AWS_SESSION_TOKEN");
    const char *exp = tp_credentials__getenv(o, "AWS_CREDENTIAL_EXPIRATION");
    if (!id && !secret)
        return tp_error__at(err, TP_E_NOT_FOUND, TP_NO_OFFSET, "AWS_ACCESS_KEY_ID",
                            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set");
    if (!id || !secret)
        return tp_error__at(
            err, TP_E_CREDENTIALS, TP_NO_OFFSET, id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID",
            "%s is set but %s is not", id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
            id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
    int64_t exp_ms = TP_CREDENTIALS_NO_EXPIRY;
    if (exp) {
        int64_t us;
        tp_error e2;
        if (tp_time_parse_iso8601(&us, tp_cursor_from_str(exp), &e2) != TP_OK)
            return tp_error__at(err, TP_E_CREDENTIALS, e2.offset, "AWS_CREDENTIAL_EXPIRATION",
                                "AWS_CREDENTIAL_EXPIRATION is not an ISO-8601 time (byte %llu)",
                                (unsigned long long)e2.offset);
        exp_ms = us / 1000;
    }
    return tp_credentials_new(out, id, secret, token, exp_ms, o->alloc, err);
}

static void opts_destroy(void *payload)
{
    tp_credentials_provider_options *o = payload;
    if (o)
        tp__free(o->alloc, o);
}

tp_status tp_credentials__new_opts_provider(tp_credentials_provider **out, const char *name,
                                            tp_status (*fetch)(void *payload,
                                                               const tp_credentials **out,
                                                               int64_t now_ms, tp_error *err),
                                            const tp_credentials_provider_options *opts,
                                            tp_error *err)
{
    tp_credentials_provider_options o;
    tp_status st = tp_credentials__provider_opts(out, &o, opts, err);
    if (st != TP_OK)
        return st;
    tp_credentials_provider_options *copy = opts_dup(&o, err);
    if (!copy)
        return err ? err->code : TP_E_NOMEM;
    tp_credentials_source src = {TP_CREDENTIALS_SOURCE_VERSION, 0, name, fetch, opts_destroy};
    return tp_credentials_provider_new_custom(out, &src, copy, &o, err);
}

tp_status tp_credentials_provider_new_environment(tp_credentials_provider **out,
                                                  const tp_credentials_provider_options *opts,
                                                  tp_error *err)
{
    return tp_credentials__new_opts_provider(out, "environment", env_fetch, opts, err);
}

tp_credentials_provider_options *tp_credentials__opts_dup(const tp_credentials_provider_options *o,
                                                          tp_error *err)
{
    return opts_dup(o, err);
}

/* ---- chain --------------------------------------------------------------- */

typedef struct chain {
    const tp_allocator *alloc;
    size_t n;
    tp_credentials_provider *p[];
} chain;

static tp_status chain_fetch(void *payload, const tp_credentials **out, int64_t now_ms,
                             tp_error *err)
{
    chain *c = payload;
    char tried[TP_ERROR_MESSAGE_MAX - 40];
    size_t used = 0;
    tried[0] = 0;
    for (size_t i = 0; i < c->n; i++) {
        tp_status st = tp_credentials_provider_get(c->p[i], out, now_ms, err);
        if (st != TP_E_NOT_FOUND)
            return st; /* found, or a source that is there but broken */
        const char *name = c->p[i]->src.name ? c->p[i]->src.name : "?";
        int w = snprintf(tried + used, sizeof tried - used, "%s%s", used ? ", " : "", name);
        if (w > 0 && (size_t)w < sizeof tried - used)
            used += (size_t)w;
    }
    return tp_error__set(err, TP_E_NOT_FOUND, "no credentials found (tried: %s)",
                         used ? tried : "nothing");
}

static void chain_destroy(void *payload)
{
    chain *c = payload;
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        tp_credentials_provider_free(c->p[i]);
    tp__free(c->alloc, c);
}

void tp_credentials_provider_invalidate(tp_credentials_provider *p, const tp_credentials *used)
{
    if (!p || !used)
        return;
    pthread_mutex_lock(&p->mu);
    int mine = p->cached == used;
    if (mine)
        p->stale = 1;
    pthread_mutex_unlock(&p->mu);
    if (mine && p->src.fetch == chain_fetch) {
        /* the chain handed out what one of its providers caches */
        chain *c = p->payload;
        for (size_t i = 0; i < c->n; i++)
            tp_credentials_provider_invalidate(c->p[i], used);
    }
}

tp_status tp_credentials_provider_new_chain(tp_credentials_provider **out,
                                            tp_credentials_provider *const *providers, size_t n,
                                            const tp_credentials_provider_options *opts,
                                            tp_error *err)
{
    tp_credentials_provider_options o;
    tp_status st = tp_credentials__provider_opts(out, &o, opts, err);
    chain *c = NULL;
    if (st == TP_OK && (n && !providers)) {
        st = tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "providers",
                          "%zu providers but the array is NULL", n);
    }
    if (st == TP_OK && n > (SIZE_MAX - sizeof *c) / sizeof c->p[0])
        st = tp_error__set(err, TP_E_INVALID, "too many providers");
    if (st == TP_OK) {
        c = tp__malloc(o.alloc, sizeof *c + n * sizeof c->p[0]);
        if (!c)
            st = tp_error__set(err, TP_E_NOMEM, "out of memory creating a chain");
    }
    if (st != TP_OK) {
        for (size_t i = 0; providers && i < n; i++)
            tp_credentials_provider_free(providers[i]);
        return st;
    }
    c->alloc = o.alloc;
    c->n = n;
    for (size_t i = 0; i < n; i++)
        c->p[i] = providers[i];
    static const tp_credentials_source src = {TP_CREDENTIALS_SOURCE_VERSION, 0, "chain",
                                              chain_fetch, chain_destroy};
    return tp_credentials_provider_new_custom(out, &src, c, &o, err);
}

/* ---- the JSON credential document ---------------------------------------- */

/* Wipe a jansson string in place before it is freed (it may hold a secret). */
static void wipe_json_string(json_t *v)
{
    if (json_is_string(v))
        tp_secure_zero((void *)(uintptr_t)json_string_value(v), json_string_length(v));
}

tp_status tp_credentials__from_json(const tp_credentials **out, tp_cursor text, const char *what,
                                    uint32_t flags, const tp_allocator *alloc, tp_error *err)
{
    *out = NULL;
    json_error_t je;
    json_t *root = json_loadb((const char *)text.ptr, text.len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        /* je.text may quote the input: never copy it, the input holds secrets */
        return tp_error__at(err, TP_E_CREDENTIALS, (uint64_t)(je.position > 0 ? je.position : 0),
                            NULL, "%s is not valid JSON (line %d, column %d)", what, je.line,
                            je.column);
    tp_status st = TP_OK;
    static const char *const names[] = {"AccessKeyId", "SecretAccessKey"};
    const char *vals[2];
    if (!json_is_object(root)) {
        st = tp_error__set(err, TP_E_CREDENTIALS, "%s is not a JSON object", what);
        goto done;
    }
    if (flags & TP_CREDENTIALS_JSON_VERSION1) {
        json_t *v = json_object_get(root, "Version");
        if (!json_is_integer(v) || json_integer_value(v) != 1) {
            st = tp_error__at(err, TP_E_CREDENTIALS, TP_NO_OFFSET, "Version",
                              "%s: Version is %s (want 1)", what,
                              !v ? "missing" : (json_is_integer(v) ? "not 1" : "not a number"));
            goto done;
        }
    }
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(root, names[i]);
        if (!v || !json_is_string(v) || json_string_length(v) == 0) {
            st = tp_error__at(err, TP_E_CREDENTIALS, TP_NO_OFFSET, names[i], "%s: %s is %s", what,
                              names[i],
                              !v ? "missing" : (json_is_string(v) ? "empty" : "not a string"));
            goto done;
        }
        vals[i] = json_string_value(v);
    }
    const char *token = NULL;
    const char *token_keys[] = {"SessionToken", "Token"};
    for (int i = 0; i < 2 && !token; i++) {
        json_t *v = json_object_get(root, token_keys[i]);
        if (v && !json_is_null(v) && !json_is_string(v)) {
            st = tp_error__at(err, TP_E_CREDENTIALS, TP_NO_OFFSET, token_keys[i],
                              "%s: %s is not a string", what, token_keys[i]);
            goto done;
        }
        if (v && json_is_string(v))
            token = json_string_value(v);
    }
    int64_t exp_ms = TP_CREDENTIALS_NO_EXPIRY;
    json_t *ex = json_object_get(root, "Expiration");
    if (ex && !json_is_null(ex)) {
        int64_t us;
        tp_error e2;
        if (!json_is_string(ex) ||
            tp_time_parse_iso8601(&us, tp_cursor_from_str(json_string_value(ex)), &e2) != TP_OK) {
            st = tp_error__at(err, TP_E_CREDENTIALS, TP_NO_OFFSET, "Expiration",
                              "%s: Expiration is not an ISO-8601 time", what);
            goto done;
        }
        exp_ms = us / 1000;
    }
    st = tp_credentials_new(out, vals[0], vals[1], token, exp_ms, alloc, err);
done:
    wipe_json_string(json_object_get(root, "SecretAccessKey"));
    wipe_json_string(json_object_get(root, "SessionToken"));
    wipe_json_string(json_object_get(root, "Token"));
    json_decref(root);
    return st;
}
