/* Credentials: values, the caching provider (refresh, fallback, threads),
 * environment, shared files and profiles, credential_process, the chain,
 * region resolution; every error path with its file, line and key. */
#include "testutil.h"

#include "aws/credentials_profile_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AKID   "AKIDEXAMPLE"
#define SECRET "SECRETwJalrXUtnFEMIK7MDENG"
#define TOKEN  "TOKENabc123"

/* ---- an environment for getenv_fn ----------------------------------------- */

typedef struct fake_env {
    const char *k[12];
    const char *v[12];
} fake_env;

static const char *fake_getenv(const char *name, void *payload)
{
    fake_env *e = payload;
    for (int i = 0; i < 12 && e->k[i]; i++)
        if (strcmp(e->k[i], name) == 0)
            return e->v[i];
    return NULL;
}

static void env_set(fake_env *e, const char *k, const char *v)
{
    for (int i = 0; i < 12; i++) {
        if (!e->k[i] || strcmp(e->k[i], k) == 0) {
            e->k[i] = k;
            e->v[i] = v;
            return;
        }
    }
    ck_abort_msg("fake_env full");
}

static tp_credentials_provider_options opts_with(fake_env *e)
{
    tp_credentials_provider_options o = TP_CREDENTIALS_PROVIDER_OPTIONS_INIT;
    o.getenv_fn = fake_getenv;
    o.getenv_payload = e;
    return o;
}

static void no_secret_in(const tp_error *err)
{
    ck_assert_ptr_null(strstr(err->message, SECRET));
    ck_assert_ptr_null(strstr(err->message, TOKEN));
}

/* ---- values ---------------------------------------------------------------- */

START_TEST(test_values)
{
    const tp_credentials *c = NULL;
    tp_error err;
    ck_assert_int_eq(tp_credentials_new(&c, AKID, SECRET, TOKEN, 42, NULL, &err), TP_OK);
    ck_assert_str_eq(c->access_key_id, AKID);
    ck_assert_str_eq(c->secret_access_key, SECRET);
    ck_assert_str_eq(c->session_token, TOKEN);
    ck_assert_int_eq(c->expiration_ms, 42);
    ck_assert_ptr_eq(tp_credentials_acquire(c), c);
    tp_credentials_release(c);
    tp_credentials_release(c);
    tp_credentials_release(NULL);
    ck_assert_ptr_null(tp_credentials_acquire(NULL));

    ck_assert_int_eq(tp_credentials_new(&c, AKID, SECRET, "", 0, NULL, &err), TP_OK);
    ck_assert_ptr_null(c->session_token);
    tp_credentials_release(c);

    ck_assert_int_eq(tp_credentials_new(&c, "", SECRET, NULL, 0, NULL, &err), TP_E_CREDENTIALS);
    ck_assert_str_eq(err.field, "access_key_id");
    ck_assert_ptr_null(c);
    ck_assert_int_eq(tp_credentials_new(&c, AKID, NULL, NULL, 0, NULL, &err), TP_E_CREDENTIALS);
    ck_assert_str_eq(err.field, "secret_access_key");
    ck_assert_int_eq(tp_credentials_new(NULL, AKID, SECRET, NULL, 0, NULL, &err), TP_E_INVALID);

    tpt_failing_alloc fa;
    tpt_failing_alloc_init(&fa, 1);
    ck_assert_int_eq(tp_credentials_new(&c, AKID, SECRET, NULL, 0, &fa.a, &err), TP_E_NOMEM);
    ck_assert_int_eq(fa.live, 0);
}
END_TEST

/* ---- a custom source: counts fetches, scripted answers --------------------- */

typedef struct script {
    pthread_mutex_t mu;
    int fetches;
    tp_status next;     /* what fetch returns */
    int64_t expires_in; /* expiration = now + this (INT64_MAX: never) */
    int destroyed;
} script;

static tp_status script_fetch(void *payload, const tp_credentials **out, int64_t now_ms,
                              tp_error *err)
{
    script *s = payload;
    pthread_mutex_lock(&s->mu);
    s->fetches++;
    tp_status st = s->next;
    int64_t exp = s->expires_in == INT64_MAX ? TP_CREDENTIALS_NO_EXPIRY : now_ms + s->expires_in;
    pthread_mutex_unlock(&s->mu);
    if (st != TP_OK)
        return tp_error__set(err, st, "scripted failure");
    return tp_credentials_new(out, AKID, SECRET, TOKEN, exp, NULL, err);
}

static void script_destroy(void *payload) { ((script *)payload)->destroyed++; }

static const tp_credentials_source script_src = {TP_CREDENTIALS_SOURCE_VERSION, 0, "script",
                                                 script_fetch, script_destroy};

START_TEST(test_refresh_and_fallback)
{
    script s = {PTHREAD_MUTEX_INITIALIZER, 0, TP_OK, 10 * 60 * 1000, 0};
    tp_credentials_provider *p;
    tp_error err;
    ck_assert_int_eq(tp_credentials_provider_new_custom(&p, &script_src, &s, NULL, &err), TP_OK);
    const tp_credentials *c;
    int64_t t0 = INT64_C(1761137915000);
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, t0, &err), TP_OK);
    ck_assert_int_eq(s.fetches, 1);
    ck_assert_int_eq(c->expiration_ms, t0 + 600000);
    tp_credentials_release(c);
    /* 4 minutes later: more than 5 minutes left, cached */
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, t0 + 4 * 60000, &err), TP_OK);
    ck_assert_int_eq(s.fetches, 1);
    tp_credentials_release(c);
    /* 6 minutes later: inside the refresh window, fetched again */
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, t0 + 6 * 60000, &err), TP_OK);
    ck_assert_int_eq(s.fetches, 2);
    ck_assert_int_eq(c->expiration_ms, t0 + 16 * 60000);
    const tp_credentials *held = c; /* outlives a replacement */
    /* inside the window again, the refresh fails: the unexpired ones are kept */
    s.next = TP_E_HTTP;
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, t0 + 13 * 60000, &err), TP_OK);
    ck_assert_int_eq(s.fetches, 3);
    ck_assert_ptr_eq(c, held);
    ck_assert_int_eq(err.code, TP_OK);
    tp_credentials_release(c);
    /* expired and the refresh fails: the failure */
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, t0 + 17 * 60000, &err), TP_E_HTTP);
    ck_assert_ptr_null(c);
    ck_assert_str_eq(err.message, "scripted failure");
    s.next = TP_OK;
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, t0 + 17 * 60000, &err), TP_OK);
    ck_assert_ptr_ne(c, held);
    ck_assert_str_eq(held->secret_access_key, SECRET);
    tp_credentials_release(held);
    tp_credentials_release(c);
    tp_credentials_provider_free(p);
    ck_assert_int_eq(s.destroyed, 1);

    /* a custom refresh window */
    tp_credentials_provider_options o = TP_CREDENTIALS_PROVIDER_OPTIONS_INIT;
    o.refresh_before_ms = 60000;
    s.fetches = 0;
    ck_assert_int_eq(tp_credentials_provider_new_custom(&p, &script_src, &s, &o, &err), TP_OK);
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, t0, &err), TP_OK);
    tp_credentials_release(c);
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, t0 + 8 * 60000, &err), TP_OK);
    tp_credentials_release(c);
    ck_assert_int_eq(s.fetches, 1);
    tp_credentials_provider_free(p);
}
END_TEST

typedef struct thread_arg {
    tp_credentials_provider *p;
    int failures;
} thread_arg;

static void *hammer(void *arg)
{
    thread_arg *a = arg;
    for (int i = 0; i < 2000; i++) {
        const tp_credentials *c;
        if (tp_credentials_provider_get(a->p, &c, INT64_C(1761137915000) + i, NULL) != TP_OK ||
            strcmp(c->secret_access_key, SECRET) != 0)
            a->failures++;
        else
            tp_credentials_release(c);
    }
    return NULL;
}

START_TEST(test_threads)
{
    script s = {PTHREAD_MUTEX_INITIALIZER, 0, TP_OK, INT64_MAX, 0};
    tp_credentials_provider *p;
    ck_assert_int_eq(tp_credentials_provider_new_custom(&p, &script_src, &s, NULL, NULL), TP_OK);
    pthread_t th[8];
    thread_arg args[8];
    for (int i = 0; i < 8; i++) {
        args[i].p = p;
        args[i].failures = 0;
        ck_assert_int_eq(pthread_create(&th[i], NULL, hammer, &args[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(args[i].failures, 0);
    }
    ck_assert_int_eq(s.fetches, 1);
    tp_credentials_provider_free(p);
}
END_TEST

START_TEST(test_custom_errors)
{
    script s = {PTHREAD_MUTEX_INITIALIZER, 0, TP_OK, INT64_MAX, 0};
    tp_credentials_provider *p = (tp_credentials_provider *)&s;
    tp_error err;
    tp_credentials_source bad = script_src;
    bad.fetch = NULL;
    ck_assert_int_eq(tp_credentials_provider_new_custom(&p, &bad, &s, NULL, &err), TP_E_INVALID);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(s.destroyed, 1); /* the payload is owned even on failure */
    tp_credentials_provider_options o = TP_CREDENTIALS_PROVIDER_OPTIONS_INIT;
    o.version = 9;
    ck_assert_int_eq(tp_credentials_provider_new_custom(&p, &script_src, &s, &o, &err),
                     TP_E_INVALID);
    ck_assert_str_eq(err.field, "version");
    ck_assert_int_eq(s.destroyed, 2);
    o.version = TP_CREDENTIALS_PROVIDER_OPTIONS_VERSION;
    o.refresh_before_ms = -1;
    ck_assert_int_eq(tp_credentials_provider_new_custom(&p, &script_src, &s, &o, &err),
                     TP_E_INVALID);
    ck_assert_str_eq(err.field, "refresh_before_ms");
    ck_assert_int_eq(tp_credentials_provider_get(NULL, NULL, 0, &err), TP_E_INVALID);
    tp_credentials_provider_free(NULL);
    ck_assert_int_eq(tp_credentials_provider_options_init(&o, 2), TP_E_INVALID);
    ck_assert_int_eq(tp_credentials_provider_options_init(&o, 1), TP_OK);

    /* OOM while creating: the payload is destroyed, nothing leaks */
    for (long n = 1; n <= 3; n++) {
        tpt_failing_alloc fa;
        tpt_failing_alloc_init(&fa, n);
        o = (tp_credentials_provider_options)TP_CREDENTIALS_PROVIDER_OPTIONS_INIT;
        o.alloc = &fa.a;
        o.profile = "p";
        s.destroyed = 0;
        tp_status st = tp_credentials_provider_new_custom(&p, &script_src, &s, &o, &err);
        if (st == TP_OK) {
            tp_credentials_provider_free(p);
        } else {
            ck_assert_int_eq(st, TP_E_NOMEM);
        }
        ck_assert_int_eq(s.destroyed, 1);
        ck_assert_int_eq(fa.live, 0);
    }
}
END_TEST

/* ---- static and environment ------------------------------------------------ */

START_TEST(test_static)
{
    tp_credentials_provider *p;
    tp_error err;
    ck_assert_int_eq(tp_credentials_provider_new_static(&p, AKID, SECRET, NULL, NULL, &err), TP_OK);
    const tp_credentials *c;
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, 0, &err), TP_OK);
    ck_assert_str_eq(c->access_key_id, AKID);
    ck_assert_int_eq(c->expiration_ms, TP_CREDENTIALS_NO_EXPIRY);
    tp_credentials_release(c);
    tp_credentials_provider_free(p);
    ck_assert_int_eq(tp_credentials_provider_new_static(&p, AKID, "", NULL, NULL, &err),
                     TP_E_CREDENTIALS);
    ck_assert_str_eq(err.field, "secret_access_key");
    ck_assert_ptr_null(p);
}
END_TEST

static const struct {
    const char *id, *secret, *token, *exp;
    tp_status want;
    const char *field;
    int64_t want_exp;
} env_rows[] = {
    {NULL, NULL, NULL, NULL, TP_E_NOT_FOUND, "AWS_ACCESS_KEY_ID", 0},
    {AKID, NULL, NULL, NULL, TP_E_CREDENTIALS, "AWS_SECRET_ACCESS_KEY", 0},
    {NULL, SECRET, TOKEN, NULL, TP_E_CREDENTIALS, "AWS_ACCESS_KEY_ID", 0},
    {AKID, SECRET, NULL, NULL, TP_OK, "", TP_CREDENTIALS_NO_EXPIRY},
    {AKID, SECRET, TOKEN, NULL, TP_OK, "", TP_CREDENTIALS_NO_EXPIRY},
    {AKID, SECRET, TOKEN, "2025-10-22T12:58:35Z", TP_OK, "", INT64_C(1761137915000)},
    {AKID, SECRET, TOKEN, "tomorrow", TP_E_CREDENTIALS, "AWS_CREDENTIAL_EXPIRATION", 0},
    {"", "", NULL, NULL, TP_E_NOT_FOUND, "AWS_ACCESS_KEY_ID", 0}, /* empty is unset */
};

START_TEST(test_environment)
{
    fake_env e = {{0}, {0}};
    if (env_rows[_i].id)
        env_set(&e, "AWS_ACCESS_KEY_ID", env_rows[_i].id);
    if (env_rows[_i].secret)
        env_set(&e, "AWS_SECRET_ACCESS_KEY", env_rows[_i].secret);
    if (env_rows[_i].token)
        env_set(&e, "AWS_SESSION_TOKEN", env_rows[_i].token);
    if (env_rows[_i].exp)
        env_set(&e, "AWS_CREDENTIAL_EXPIRATION", env_rows[_i].exp);
    tp_credentials_provider_options o = opts_with(&e);
    tp_credentials_provider *p;
    tp_error err;
    ck_assert_int_eq(tp_credentials_provider_new_environment(&p, &o, &err), TP_OK);
    const tp_credentials *c = NULL;
    tp_status st = tp_credentials_provider_get(p, &c, 0, &err);
    ck_assert_int_eq(st, env_rows[_i].want);
    if (st == TP_OK) {
        ck_assert_str_eq(c->access_key_id, AKID);
        ck_assert_str_eq(c->secret_access_key, SECRET);
        if (env_rows[_i].token)
            ck_assert_str_eq(c->session_token, TOKEN);
        else
            ck_assert_ptr_null(c->session_token);
        ck_assert_int_eq(c->expiration_ms, env_rows[_i].want_exp);
        tp_credentials_release(c);
    } else {
        ck_assert_ptr_null(c);
        ck_assert_int_eq(err.code, st);
        ck_assert_str_eq(err.field, env_rows[_i].field);
        no_secret_in(&err);
    }
    tp_credentials_provider_free(p);
}
END_TEST

/* ---- the file parser --------------------------------------------------------- */

static const struct {
    int kind;
    const char *text;
    tp_status want;
    uint32_t line;
    const char *field;
    const char *msg;
    const char *profile, *key, *value; /* a lookup that must succeed */
} parse_rows[] = {
    {TP_PROFILE_FILE_CREDENTIALS, "[default]\naws_access_key_id = A\n", TP_OK, 0, "", "", "default",
     "aws_access_key_id", "A"},
    {TP_PROFILE_FILE_CREDENTIALS, "# c\n; c\n\n  [ dev ]  # note\r\nKey=v = w \r\n", TP_OK, 0, "",
     "", "dev", "key", "v = w"},
    {TP_PROFILE_FILE_CONFIG, "[profile dev]\nregion=eu-west-1\n[default]\nregion=us-east-1\n",
     TP_OK, 0, "", "", "dev", "region", "eu-west-1"},
    {TP_PROFILE_FILE_CONFIG, "[profile  dev ]\nregion=a\n[profile dev]\nregion=b\n", TP_OK, 0, "",
     "", "dev", "region", "b"},
    {TP_PROFILE_FILE_CONFIG, "[default]\ns3 =\n  max_concurrent_requests = 10\n  x=y\nregion=r\n",
     TP_OK, 0, "", "", "default", "s3.x", "y"},
    {TP_PROFILE_FILE_CONFIG, "[default]\nk = a\n  b\n", TP_OK, 0, "", "", "default", "k", "a\nb"},
    {TP_PROFILE_FILE_CONFIG, "[default]\nk = a # not a comment\n", TP_OK, 0, "", "", "default", "k",
     "a # not a comment"},
    {TP_PROFILE_FILE_CONFIG, "[default]\nk=\n", TP_OK, 0, "", "", "default", "k", ""},
    {TP_PROFILE_FILE_CONFIG, "[default]\nk = 1\nk = 2\n", TP_OK, 0, "", "", "default", "k", "2"},
    {TP_PROFILE_FILE_CONFIG, "[default]\nno equals sign\n", TP_E_CONFIG, 2, "",
     "neither [section] nor key = value", NULL, NULL, NULL},
    {TP_PROFILE_FILE_CONFIG, "k = v\n", TP_E_CONFIG, 1, "", "before any [section]", NULL, NULL,
     NULL},
    {TP_PROFILE_FILE_CONFIG, "[default\nk = v\n", TP_E_CONFIG, 1, "", "without ']'", NULL, NULL,
     NULL},
    {TP_PROFILE_FILE_CONFIG, "[default] x\n", TP_E_CONFIG, 1, "", "text after a section header",
     NULL, NULL, NULL},
    {TP_PROFILE_FILE_CONFIG, "[ ]\n", TP_E_CONFIG, 1, "", "empty section name", NULL, NULL, NULL},
    {TP_PROFILE_FILE_CONFIG, "[default]\n= v\n", TP_E_CONFIG, 2, "", "empty key", NULL, NULL, NULL},
    {TP_PROFILE_FILE_CONFIG, "[default]\ns3 =\n  nested\n", TP_E_CONFIG, 3, "s3", "without '='",
     NULL, NULL, NULL},
    {TP_PROFILE_FILE_CONFIG, "[default]\ns3 =\n  = 1\n", TP_E_CONFIG, 3, "s3", "empty key", NULL,
     NULL, NULL},
    {TP_PROFILE_FILE_CONFIG, "  x = 1\n", TP_E_CONFIG, 1, "", "outside of any section", NULL, NULL,
     NULL},
    {TP_PROFILE_FILE_CONFIG, "[default]\nk = a\0b\n", TP_E_CONFIG, 2, "", "NUL", NULL, NULL, NULL},
};

START_TEST(test_parse)
{
    const char *text = parse_rows[_i].text;
    size_t len = strlen(text);
    if (strstr(parse_rows[_i].msg, "NUL"))
        len += 3; /* the row holds a NUL in the middle */
    tp_profile_file *f = NULL;
    tp_error err;
    tp_status st =
        tp_profile__parse(&f, tp_cursor_make(text, len), "cfg", parse_rows[_i].kind, NULL, &err);
    ck_assert_int_eq(st, parse_rows[_i].want);
    if (st != TP_OK) {
        ck_assert_ptr_null(f);
        ck_assert_int_eq(err.code, st);
        ck_assert_uint_eq(err.line, parse_rows[_i].line);
        ck_assert_str_eq(err.field, parse_rows[_i].field);
        ck_assert_msg(strstr(err.message, parse_rows[_i].msg) != NULL, "\"%s\" lacks \"%s\"",
                      err.message, parse_rows[_i].msg);
        char where[32];
        snprintf(where, sizeof where, "cfg line %u: ", (unsigned)parse_rows[_i].line);
        ck_assert_msg(strncmp(err.message, where, strlen(where)) == 0, "%s", err.message);
        return;
    }
    const char *v = tp_profile__get(f, parse_rows[_i].profile, parse_rows[_i].key, NULL);
    ck_assert_ptr_nonnull(v);
    ck_assert_str_eq(v, parse_rows[_i].value);
    ck_assert_str_eq(tp_profile__path(f), "cfg");
    tp_profile__free(f);
}
END_TEST

START_TEST(test_parse_sections)
{
    const char *cfg = "[default]\nregion=a\n[dev]\nregion=b\n[sso-session x]\nregion=c\n"
                      "[profile]\nregion=d\n";
    tp_profile_file *f;
    ck_assert_int_eq(
        tp_profile__parse(&f, tp_cursor_from_str(cfg), "c", TP_PROFILE_FILE_CONFIG, NULL, NULL),
        TP_OK);
    ck_assert(tp_profile__has(f, "default"));
    ck_assert(!tp_profile__has(f, "dev")); /* config profiles need "profile " */
    ck_assert(!tp_profile__has(f, "x"));
    ck_assert(!tp_profile__has(f, "profile"));
    uint32_t line;
    ck_assert_str_eq(tp_profile__get(f, "default", "region", &line), "a");
    ck_assert_uint_eq(line, 2);
    ck_assert_ptr_null(tp_profile__get(f, "dev", "region", NULL));
    ck_assert_ptr_null(tp_profile__get(NULL, "dev", "region", NULL));
    tp_profile__free(f);
    /* the same text as a credentials file: every section is a profile */
    ck_assert_int_eq(tp_profile__parse(&f, tp_cursor_from_str(cfg), "c",
                                       TP_PROFILE_FILE_CREDENTIALS, NULL, NULL),
                     TP_OK);
    ck_assert_str_eq(tp_profile__get(f, "dev", "region", NULL), "b");
    ck_assert_str_eq(tp_profile__get(f, "sso-session x", "region", NULL), "c");
    tp_profile__free(f);
    tp_profile__free(NULL);

    for (long n = 1; n < 40; n++) {
        tpt_failing_alloc fa;
        tpt_failing_alloc_init(&fa, n);
        tp_error err;
        tp_status st = tp_profile__parse(&f, tp_cursor_from_str(cfg), "c", TP_PROFILE_FILE_CONFIG,
                                         &fa.a, &err);
        if (st == TP_OK)
            tp_profile__free(f);
        else
            ck_assert_int_eq(st, TP_E_NOMEM);
        ck_assert_int_eq(fa.live, 0);
    }
}
END_TEST

/* ---- files on disk ------------------------------------------------------------ */

typedef struct files {
    char *dir;
    char creds[4096], config[4096];
    fake_env env;
    tp_credentials_provider_options o;
} files;

static void files_setup(files *f, const char *creds, const char *config)
{
    memset(f, 0, sizeof *f);
    f->dir = tpt_mkdtemp();
    ck_assert_ptr_nonnull(f->dir);
    snprintf(f->creds, sizeof f->creds, "%s/credentials", f->dir);
    snprintf(f->config, sizeof f->config, "%s/config", f->dir);
    if (creds)
        ck_assert_int_eq(tpt_write_file(f->creds, creds, strlen(creds)), 0);
    if (config)
        ck_assert_int_eq(tpt_write_file(f->config, config, strlen(config)), 0);
    env_set(&f->env, "AWS_SHARED_CREDENTIALS_FILE", f->creds);
    env_set(&f->env, "AWS_CONFIG_FILE", f->config);
    f->o = opts_with(&f->env);
}

static void files_teardown(files *f)
{
    tpt_rmtree(f->dir);
    free(f->dir);
}

static tp_status profile_get(files *f, const tp_credentials **c, tp_error *err)
{
    tp_credentials_provider *p;
    ck_assert_int_eq(tp_credentials_provider_new_profile(&p, &f->o, err), TP_OK);
    tp_status st = tp_credentials_provider_get(p, c, INT64_C(1761137915000), err);
    tp_credentials_provider_free(p);
    return st;
}

#define PROC_JSON(extra)                                                                           \
    "printf '%s' '{\"Version\": 1, \"AccessKeyId\": \"" AKID "\", \"SecretAccessKey\": \"" SECRET  \
    "\"" extra "}'"

static const struct {
    const char *creds, *config, *profile_env, *profile_opt;
    tp_status want;
    const char *field;
    uint32_t line;
    const char *msg;
    const char *want_token;
    int64_t want_exp;
} prof_rows[] = {
    /* keys in the credentials file */
    {"[default]\naws_access_key_id=" AKID "\naws_secret_access_key=" SECRET "\n", NULL, NULL, NULL,
     TP_OK, "", 0, "", NULL, TP_CREDENTIALS_NO_EXPIRY},
    {"[dev]\naws_access_key_id=" AKID "\naws_secret_access_key=" SECRET "\naws_session_token=" TOKEN
     "\n",
     NULL, "dev", NULL, TP_OK, "", 0, "", TOKEN, TP_CREDENTIALS_NO_EXPIRY},
    /* the option wins over AWS_PROFILE */
    {"[dev]\naws_access_key_id=" AKID "\naws_secret_access_key=" SECRET "\n", NULL, "other", "dev",
     TP_OK, "", 0, "", NULL, TP_CREDENTIALS_NO_EXPIRY},
    /* keys in the config file */
    {NULL, "[profile dev]\nAWS_ACCESS_KEY_ID=" AKID "\naws_secret_access_key=" SECRET "\n", "dev",
     NULL, TP_OK, "", 0, "", NULL, TP_CREDENTIALS_NO_EXPIRY},
    /* a credentials profile without keys falls through to the config file */
    {"[dev]\nregion=x\n",
     "[profile dev]\naws_access_key_id=" AKID "\naws_secret_access_key=" SECRET "\n", "dev", NULL,
     TP_OK, "", 0, "", NULL, TP_CREDENTIALS_NO_EXPIRY},
    /* credential_process, with and without expiry */
    {NULL, "[default]\ncredential_process = " PROC_JSON(", \"SessionToken\": \"" TOKEN "\"") "\n",
     NULL, NULL, TP_OK, "", 0, "", TOKEN, TP_CREDENTIALS_NO_EXPIRY},
    {NULL,
     "[default]\ncredential_process = " PROC_JSON(
         ", \"Expiration\": \"2030-01-01T00:00:00Z\"") "\n",
     NULL, NULL, TP_OK, "", 0, "", NULL, INT64_C(1893456000000)},
    /* errors */
    {"[default]\naws_access_key_id=" AKID "\n", NULL, NULL, NULL, TP_E_CONFIG,
     "aws_secret_access_key", 2, "has aws_access_key_id but no aws_secret_access_key", NULL, 0},
    {NULL, "[default]\n\naws_secret_access_key=" SECRET "\n", NULL, NULL, TP_E_CONFIG,
     "aws_access_key_id", 3, "has aws_secret_access_key but no aws_access_key_id", NULL, 0},
    {"[default]\naws_access_key_id=" AKID "\n", NULL, "nope", NULL, TP_E_CONFIG, "profile", 0,
     "profile \"nope\" is in neither", NULL, 0},
    {"[default]\naws_access_key_id=" AKID "\n", NULL, NULL, "nope", TP_E_CONFIG, "profile", 0,
     "profile \"nope\" is in neither", NULL, 0},
    {"[other]\nx=1\n", NULL, NULL, NULL, TP_E_NOT_FOUND, "profile", 0,
     "profile \"default\" is in neither", NULL, 0},
    {NULL, NULL, NULL, NULL, TP_E_NOT_FOUND, "profile", 0, "is in neither", NULL, 0},
    {"[default]\nregion=x\n", NULL, NULL, NULL, TP_E_NOT_FOUND, "profile", 0,
     "no aws_access_key_id", NULL, 0},
    {"[default]\naws_access_key_id\n", NULL, NULL, NULL, TP_E_CONFIG, "", 2,
     "neither [section] nor key = value", NULL, 0},
    {NULL, "[default]\ncredential_process = exit 3\n", NULL, NULL, TP_E_CREDENTIALS,
     "credential_process", 2, "status 3", NULL, 0},
    {NULL, "[default]\ncredential_process = kill -9 $$\n", NULL, NULL, TP_E_CREDENTIALS,
     "credential_process", 2, "signal 9", NULL, 0},
    {NULL, "[default]\ncredential_process = echo '{\"Version\": 1, \"AccessKeyId\": \"A\"'\n", NULL,
     NULL, TP_E_CREDENTIALS, "", 2, "not valid JSON", NULL, 0},
    {NULL, "[default]\ncredential_process = echo '{\"AccessKeyId\": \"A\"}'\n", NULL, NULL,
     TP_E_CREDENTIALS, "Version", 2, "Version is missing", NULL, 0},
    {NULL, "[default]\ncredential_process = " PROC_JSON(", \"Expiration\": \"soon\"") "\n", NULL,
     NULL, TP_E_CREDENTIALS, "Expiration", 2, "Expiration is not an ISO-8601", NULL, 0},
    {NULL, "[default]\ncredential_process = echo '{\"Version\": 1, \"AccessKeyId\": 7}'\n", NULL,
     NULL, TP_E_CREDENTIALS, "AccessKeyId", 2, "AccessKeyId is not a string", NULL, 0},
    {NULL, "[default]\ncredential_process = /nonexistent/program\n", NULL, NULL, TP_E_CREDENTIALS,
     "credential_process", 2, "status 127", NULL, 0},
};

START_TEST(test_profiles)
{
    files f;
    files_setup(&f, prof_rows[_i].creds, prof_rows[_i].config);
    if (prof_rows[_i].profile_env)
        env_set(&f.env, "AWS_PROFILE", prof_rows[_i].profile_env);
    f.o.profile = prof_rows[_i].profile_opt;
    const tp_credentials *c = NULL;
    tp_error err;
    tp_status st = profile_get(&f, &c, &err);
    ck_assert_msg(st == prof_rows[_i].want, "got %d (%s)", st, err.message);
    if (st == TP_OK) {
        ck_assert_str_eq(c->access_key_id, AKID);
        ck_assert_str_eq(c->secret_access_key, SECRET);
        if (prof_rows[_i].want_token)
            ck_assert_str_eq(c->session_token, prof_rows[_i].want_token);
        else
            ck_assert_ptr_null(c->session_token);
        ck_assert_int_eq(c->expiration_ms, prof_rows[_i].want_exp);
        tp_credentials_release(c);
    } else {
        ck_assert_ptr_null(c);
        ck_assert_int_eq(err.code, st);
        ck_assert_str_eq(err.field, prof_rows[_i].field);
        ck_assert_uint_eq(err.line, prof_rows[_i].line);
        ck_assert_msg(strstr(err.message, prof_rows[_i].msg) != NULL, "\"%s\" lacks \"%s\"",
                      err.message, prof_rows[_i].msg);
        if (prof_rows[_i].line) {
            /* the file is named with its line */
            ck_assert_msg(strstr(err.message, prof_rows[_i].creds ? "/credentials line "
                                                                  : "/config line ") != NULL,
                          "%s", err.message);
        }
        no_secret_in(&err);
    }
    files_teardown(&f);
}
END_TEST

START_TEST(test_process_provider)
{
    tp_credentials_provider_options o = TP_CREDENTIALS_PROVIDER_OPTIONS_INIT;
    tp_credentials_provider *p;
    tp_error err;
    ck_assert_int_eq(tp_credentials_provider_new_process(
                         &p, PROC_JSON(", \"Expiration\": \"2025-10-22T13:08:35Z\""), &o, &err),
                     TP_OK);
    const tp_credentials *c;
    int64_t now = INT64_C(1761137915000); /* 10 minutes before Expiration */
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, now, &err), TP_OK);
    ck_assert_int_eq(c->expiration_ms, now + 600000);
    const tp_credentials *first = c;
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, now + 60000, &err), TP_OK);
    ck_assert_ptr_eq(c, first); /* cached */
    tp_credentials_release(c);
    /* in the refresh window: the process runs again (same answer, new value) */
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, now + 6 * 60000, &err), TP_OK);
    ck_assert_ptr_ne(c, first);
    tp_credentials_release(c);
    tp_credentials_release(first);
    tp_credentials_provider_free(p);

    /* a time limit */
    o.process_timeout_ms = 200;
    ck_assert_int_eq(tp_credentials_provider_new_process(&p, "sleep 5", &o, &err), TP_OK);
    int64_t t0 = tp_time_mono_ns();
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, now, &err), TP_E_TIMEOUT);
    ck_assert_int_lt(tp_time_mono_ns() - t0, INT64_C(3000000000));
    ck_assert_str_eq(err.field, "credential_process");
    tp_credentials_provider_free(p);
    /* an output limit */
    o.process_timeout_ms = 0;
    o.max_file_bytes = 100;
    ck_assert_int_eq(tp_credentials_provider_new_process(&p, "head -c 5000 /dev/zero", &o, &err),
                     TP_OK);
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, now, &err), TP_E_TOO_LARGE);
    tp_credentials_provider_free(p);
    ck_assert_int_eq(tp_credentials_provider_new_process(&p, "", &o, &err), TP_E_INVALID);
    ck_assert_str_eq(err.field, "command");
}
END_TEST

START_TEST(test_expired_from_source)
{
    /* A credential_process that answers with credentials already expired:
     * an error naming Expiration, and the process is not run on every call. */
    char dir[] = "/tmp/tp-cred-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char counter[128], cmd[512];
    snprintf(counter, sizeof counter, "%s/runs", dir);
    snprintf(cmd, sizeof cmd,
             "sh -c 'echo x >> %s; echo \"{\\\"Version\\\": 1, \\\"AccessKeyId\\\": \\\"" AKID
             "\\\", \\\"SecretAccessKey\\\": \\\"" SECRET
             "\\\", \\\"Expiration\\\": \\\"2001-01-01T00:00:00Z\\\"}\"'",
             counter);
    tp_credentials_provider *p;
    tp_error err;
    ck_assert_int_eq(tp_credentials_provider_new_process(&p, cmd, NULL, &err), TP_OK);
    const tp_credentials *c = NULL;
    int64_t now = INT64_C(1761137915000);
    for (int i = 0; i < 50; i++) {
        ck_assert_int_eq(tp_credentials_provider_get(p, &c, now + i * 10, &err), TP_E_CREDENTIALS);
        ck_assert_ptr_null(c);
        ck_assert_str_eq(err.field, "Expiration");
        ck_assert_ptr_nonnull(strstr(err.message, "already expired"));
        ck_assert_ptr_nonnull(strstr(err.message, "2001-01-01T00:00:00Z"));
        ck_assert_ptr_null(strstr(err.message, SECRET));
    }
    /* after a second, asked again; then after 2 s more, not 1 */
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, now + 1000, &err), TP_E_CREDENTIALS);
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, now + 2500, &err), TP_E_CREDENTIALS);
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, now + 3100, &err), TP_E_CREDENTIALS);
    tp_credentials_provider_free(p);
    FILE *f = fopen(counter, "r");
    ck_assert_ptr_nonnull(f);
    int runs = 0, ch;
    while ((ch = fgetc(f)) != EOF)
        runs += ch == '\n';
    fclose(f);
    ck_assert_int_eq(runs, 3); /* at 0, 1000 and 3100 */
    remove(counter);
    rmdir(dir);

    /* A custom source: expired, then good again once the wait is over. */
    script s = {PTHREAD_MUTEX_INITIALIZER, 0, TP_OK, -1, 0};
    ck_assert_int_eq(tp_credentials_provider_new_custom(&p, &script_src, &s, NULL, &err), TP_OK);
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, now, &err), TP_E_CREDENTIALS);
    s.expires_in = 3600 * 1000;
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, now + 500, &err), TP_E_CREDENTIALS);
    ck_assert_int_eq(s.fetches, 1);
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, now + 1000, &err), TP_OK);
    ck_assert_int_eq(s.fetches, 2);
    tp_credentials_release(c);
    /* invalidated by the service's ExpiredToken: fetched once more, and only
     * for the credentials that were refused */
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, now + 2000, &err), TP_OK);
    const tp_credentials *refused = c;
    tp_credentials_provider_invalidate(p, refused);
    tp_credentials_provider_invalidate(p, refused);
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, now + 2001, &err), TP_OK);
    ck_assert_int_eq(s.fetches, 3);
    ck_assert_ptr_ne(c, refused);
    tp_credentials_provider_invalidate(p, refused); /* stale news: nothing */
    tp_credentials_release(c);
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, now + 2002, &err), TP_OK);
    ck_assert_int_eq(s.fetches, 3);
    tp_credentials_release(c);
    tp_credentials_release(refused);
    /* a source that only gives credentials inside the refresh window (2 min
     * left, the window is 5): asked at most once a second, not per call */
    s.expires_in = 120000;
    for (int i = 0; i < 100; i++) {
        ck_assert_int_eq(tp_credentials_provider_get(p, &c, now + 3600 * 1000 - 60000 + i, &err),
                         TP_OK);
        tp_credentials_release(c);
    }
    ck_assert_int_eq(s.fetches, 4);
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, now + 3600 * 1000 - 60000 + 1000, &err),
                     TP_OK);
    ck_assert_int_eq(s.fetches, 5);
    tp_credentials_release(c);
    tp_credentials_provider_free(p);
}
END_TEST

START_TEST(test_chain)
{
    files f;
    files_setup(&f, "[default]\naws_access_key_id=" AKID "\naws_secret_access_key=" SECRET "\n",
                NULL);
    tp_credentials_provider *ps[2];
    tp_error err;
    ck_assert_int_eq(tp_credentials_provider_new_environment(&ps[0], &f.o, &err), TP_OK);
    ck_assert_int_eq(tp_credentials_provider_new_profile(&ps[1], &f.o, &err), TP_OK);
    tp_credentials_provider *chain;
    ck_assert_int_eq(tp_credentials_provider_new_chain(&chain, ps, 2, &f.o, &err), TP_OK);
    const tp_credentials *c;
    ck_assert_int_eq(tp_credentials_provider_get(chain, &c, 0, &err), TP_OK);
    ck_assert_str_eq(c->access_key_id, AKID);
    tp_credentials_release(c);
    tp_credentials_provider_free(chain);

    /* a broken source stops the chain with its error */
    files_teardown(&f);
    files_setup(&f, "[default]\naws_access_key_id=" AKID "\n", NULL);
    ck_assert_int_eq(tp_credentials_provider_new_environment(&ps[0], &f.o, &err), TP_OK);
    ck_assert_int_eq(tp_credentials_provider_new_profile(&ps[1], &f.o, &err), TP_OK);
    ck_assert_int_eq(tp_credentials_provider_new_chain(&chain, ps, 2, &f.o, &err), TP_OK);
    ck_assert_int_eq(tp_credentials_provider_get(chain, &c, 0, &err), TP_E_CONFIG);
    ck_assert_uint_eq(err.line, 2);
    tp_credentials_provider_free(chain);

    /* nothing anywhere */
    files_teardown(&f);
    files_setup(&f, NULL, NULL);
    ck_assert_int_eq(tp_credentials_provider_new_environment(&ps[0], &f.o, &err), TP_OK);
    ck_assert_int_eq(tp_credentials_provider_new_profile(&ps[1], &f.o, &err), TP_OK);
    ck_assert_int_eq(tp_credentials_provider_new_chain(&chain, ps, 2, &f.o, &err), TP_OK);
    ck_assert_int_eq(tp_credentials_provider_get(chain, &c, 0, &err), TP_E_NOT_FOUND);
    ck_assert_str_eq(err.message, "no credentials found (tried: environment, profile)");
    tp_credentials_provider_free(chain);
    ck_assert_int_eq(tp_credentials_provider_new_chain(&chain, NULL, 1, NULL, &err), TP_E_INVALID);
    files_teardown(&f);
}
END_TEST

START_TEST(test_oom_providers)
{
    files f;
    files_setup(&f,
                "[default]\nregion=x\n[dev]\naws_access_key_id=" AKID
                "\naws_secret_access_key=" SECRET "\n",
                "[profile dev]\nregion=eu-west-1\ns3 =\n  a = 1\n");
    env_set(&f.env, "AWS_PROFILE", "dev");
    env_set(&f.env, "AWS_ACCESS_KEY_ID", AKID);
    env_set(&f.env, "AWS_SECRET_ACCESS_KEY", SECRET);
    int done = 0;
    for (long n = 1; n < 200 && !done; n++) {
        tpt_failing_alloc fa;
        tpt_failing_alloc_init(&fa, n);
        tp_credentials_provider_options o = f.o;
        o.alloc = &fa.a;
        tp_credentials_provider *ps[2] = {NULL, NULL}, *chain = NULL;
        tp_error err;
        tp_status st = tp_credentials_provider_new_profile(&ps[0], &o, &err);
        if (st == TP_OK)
            st = tp_credentials_provider_new_environment(&ps[1], &o, &err);
        else
            ps[1] = NULL;
        if (st == TP_OK) {
            st = tp_credentials_provider_new_chain(&chain, ps, 2, &o, &err);
        } else {
            tp_credentials_provider_free(ps[0]);
            tp_credentials_provider_free(ps[1]);
        }
        const tp_credentials *c = NULL;
        if (st == TP_OK)
            st = tp_credentials_provider_get(chain, &c, 0, &err);
        char region[TP_REGION_MAX];
        if (st == TP_OK)
            st = tp_credentials_resolve_region(region, &o, &err);
        if (st == TP_OK) {
            ck_assert_str_eq(c->access_key_id, AKID);
            ck_assert_str_eq(region, "eu-west-1");
            done = 1;
        } else {
            ck_assert_msg(st == TP_E_NOMEM, "n=%ld: %d %s", n, st, err.message);
        }
        tp_credentials_release(c);
        tp_credentials_provider_free(chain);
        ck_assert_int_eq(fa.live, 0);
    }
    ck_assert(done);
    files_teardown(&f);
}
END_TEST

/* ---- region ------------------------------------------------------------------ */

static const struct {
    const char *aws_region, *default_region, *profile, *config;
    tp_status want;
    const char *region; /* or the error field */
    uint32_t line;
    const char *msg;
} region_rows[] = {
    {"eu-west-1", "us-east-1", NULL, "[default]\nregion=ap-south-1\n", TP_OK, "eu-west-1", 0, ""},
    {NULL, "us-east-2", NULL, "[default]\nregion=ap-south-1\n", TP_OK, "us-east-2", 0, ""},
    {NULL, NULL, NULL, "[default]\nregion = ap-south-1\n", TP_OK, "ap-south-1", 0, ""},
    {NULL, NULL, "dev", "[default]\nregion=a\n[profile dev]\nregion = b-1\n", TP_OK, "b-1", 0, ""},
    {NULL, NULL, NULL, NULL, TP_E_NOT_FOUND, "region", 0, "does not exist"},
    {NULL, NULL, "dev", "[default]\nregion=a\n", TP_E_NOT_FOUND, "region", 0, "profile \"dev\""},
    {"Bad Region", NULL, NULL, NULL, TP_E_CONFIG, "AWS_REGION", 0, "not a region name"},
    {NULL, NULL, NULL, "[default]\n\nregion=us_east\n", TP_E_CONFIG, "region", 3, "/config line 3"},
    {NULL, NULL, NULL, "[default\n", TP_E_CONFIG, "", 1, "without ']'"},
};

START_TEST(test_region)
{
    files f;
    files_setup(&f, NULL, region_rows[_i].config);
    if (region_rows[_i].aws_region)
        env_set(&f.env, "AWS_REGION", region_rows[_i].aws_region);
    if (region_rows[_i].default_region)
        env_set(&f.env, "AWS_DEFAULT_REGION", region_rows[_i].default_region);
    if (region_rows[_i].profile)
        env_set(&f.env, "AWS_PROFILE", region_rows[_i].profile);
    char out[TP_REGION_MAX];
    tp_error err;
    tp_status st = tp_credentials_resolve_region(out, &f.o, &err);
    ck_assert_msg(st == region_rows[_i].want, "got %d (%s)", st, err.message);
    if (st == TP_OK) {
        ck_assert_str_eq(out, region_rows[_i].region);
    } else {
        ck_assert_str_eq(out, "");
        ck_assert_str_eq(err.field, region_rows[_i].region);
        ck_assert_uint_eq(err.line, region_rows[_i].line);
        ck_assert_msg(strstr(err.message, region_rows[_i].msg) != NULL, "\"%s\" lacks \"%s\"",
                      err.message, region_rows[_i].msg);
    }
    files_teardown(&f);
}
END_TEST

START_TEST(test_home_paths)
{
    fake_env e = {{0}, {0}};
    tp_credentials_provider_options o = opts_with(&e);
    char path[64];
    tp_error err;
    ck_assert_int_eq(tp_profile__path_for(path, sizeof path, TP_PROFILE_FILE_CONFIG, &o, &err),
                     TP_E_NOT_FOUND);
    ck_assert_str_eq(err.field, "HOME");
    env_set(&e, "HOME", "/home/u");
    ck_assert_int_eq(tp_profile__path_for(path, sizeof path, TP_PROFILE_FILE_CONFIG, &o, &err),
                     TP_OK);
    ck_assert_str_eq(path, "/home/u/.aws/config");
    ck_assert_int_eq(tp_profile__path_for(path, sizeof path, TP_PROFILE_FILE_CREDENTIALS, &o, &err),
                     TP_OK);
    ck_assert_str_eq(path, "/home/u/.aws/credentials");
    o.credentials_file = "~/x";
    ck_assert_int_eq(tp_profile__path_for(path, sizeof path, TP_PROFILE_FILE_CREDENTIALS, &o, &err),
                     TP_OK);
    ck_assert_str_eq(path, "/home/u/x");
    env_set(&e, "HOME", "/a-home-directory-with-a-name-far-too-long-for-the-buffer-given");
    ck_assert_int_eq(tp_profile__path_for(path, sizeof path, TP_PROFILE_FILE_CONFIG, &o, &err),
                     TP_E_TOO_LARGE);
    /* a directory where a file should be */
    tp_profile_file *pf;
    o.max_file_bytes = 1 << 20;
    ck_assert_int_eq(tp_profile__load(&pf, "/", TP_PROFILE_FILE_CONFIG, &o, &err), TP_E_IO);
    ck_assert_str_eq(err.field, "path");
}
END_TEST

/* ---- the JSON document ---------------------------------------------------------- */

static const struct {
    const char *json;
    uint32_t flags;
    tp_status want;
    const char *field;
    const char *msg;
    int has_token;
} json_rows[] = {
    {"{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET "\",\"Token\":\"" TOKEN "\","
     "\"Expiration\":\"2025-10-22T12:58:35Z\",\"Code\":\"Success\"}",
     0, TP_OK, "", "", 1},
    {"{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET "\"}",
     TP_CREDENTIALS_JSON_VERSION1, TP_OK, "", "", 0},
    {"{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET "\",\"SessionToken\":null}", 0, TP_OK,
     "", "", 0},
    {"{\"Version\":2,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET "\"}",
     TP_CREDENTIALS_JSON_VERSION1, TP_E_CREDENTIALS, "Version", "not 1", 0},
    {"{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"\"}", 0, TP_E_CREDENTIALS, "SecretAccessKey",
     "empty", 0},
    {"{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET "\",\"Token\":5}", 0, TP_E_CREDENTIALS,
     "Token", "not a string", 0},
    {"[1]", 0, TP_E_CREDENTIALS, "", "not a JSON object", 0},
    {"{\"SecretAccessKey\":\"" SECRET "\" junk", 0, TP_E_CREDENTIALS, "", "not valid JSON", 0},
    {"{\"AccessKeyId\":\"A\",\"AccessKeyId\":\"B\",\"SecretAccessKey\":\"s\"}", 0, TP_E_CREDENTIALS,
     "", "not valid JSON", 0},
};

START_TEST(test_json)
{
    const tp_credentials *c;
    tp_error err;
    tp_status st = tp_credentials__from_json(&c, tp_cursor_from_str(json_rows[_i].json), "doc",
                                             json_rows[_i].flags, NULL, &err);
    ck_assert_int_eq(st, json_rows[_i].want);
    if (st == TP_OK) {
        ck_assert_str_eq(c->access_key_id, "A");
        ck_assert_str_eq(c->secret_access_key, SECRET);
        if (json_rows[_i].has_token)
            ck_assert_str_eq(c->session_token, TOKEN);
        else
            ck_assert_ptr_null(c->session_token);
        tp_credentials_release(c);
        return;
    }
    ck_assert_ptr_null(c);
    ck_assert_str_eq(err.field, json_rows[_i].field);
    ck_assert_msg(strstr(err.message, json_rows[_i].msg) != NULL, "%s", err.message);
    ck_assert_msg(strncmp(err.message, "doc", 3) == 0, "%s", err.message);
    no_secret_in(&err);
}
END_TEST

static Suite *credentials_suite(void)
{
    Suite *s = suite_create("credentials");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_values);
    tcase_add_test(tc, test_refresh_and_fallback);
    tcase_add_test(tc, test_threads);
    tcase_add_test(tc, test_custom_errors);
    tcase_add_test(tc, test_static);
    tcase_add_loop_test(tc, test_environment, 0, (int)(sizeof env_rows / sizeof env_rows[0]));
    tcase_add_loop_test(tc, test_json, 0, (int)(sizeof json_rows / sizeof json_rows[0]));
    suite_add_tcase(s, tc);
    tc = tcase_create("files");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_parse, 0, (int)(sizeof parse_rows / sizeof parse_rows[0]));
    tcase_add_test(tc, test_parse_sections);
    tcase_add_loop_test(tc, test_profiles, 0, (int)(sizeof prof_rows / sizeof prof_rows[0]));
    tcase_add_test(tc, test_process_provider);
    tcase_add_test(tc, test_expired_from_source);
    tcase_add_test(tc, test_chain);
    tcase_add_test(tc, test_oom_providers);
    tcase_add_loop_test(tc, test_region, 0, (int)(sizeof region_rows / sizeof region_rows[0]));
    tcase_add_test(tc, test_home_paths);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tpt_run_suite(credentials_suite()); }
