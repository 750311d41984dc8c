/* The shared config and credentials files (~/.aws/config, ~/.aws/credentials),
 * the profile credentials source, and the region (AWS_REGION,
 * AWS_DEFAULT_REGION, then the profile's region in the config file).
 *
 * The format is the INI dialect the AWS CLI reads: [section] lines, key =
 * value lines (keys are case-insensitive, stored lower-case; values trimmed,
 * no inline comments in values), whole-line comments with '#' or ';', a
 * comment after a section header, and indented lines continuing a value or,
 * under a key with an empty value, holding sub-properties ("s3 =" then
 * "  max_concurrent_requests = 10" gives "s3.max_concurrent_requests"). In
 * the config file profiles are [default] and [profile NAME]; other sections
 * ([sso-session NAME], [services NAME]) are kept but are no profiles. */
#include "credentials_process_int.h"
#include "credentials_profile_int.h"

#include <errno.h>
#include <stdio.h>

typedef struct prof_sec {
    size_t name_off;
    int is_profile;
    uint32_t line;
} prof_sec;

typedef struct prof_kv {
    size_t sec;
    size_t key_off;
    size_t val_off;
    uint32_t line;
} prof_kv;

struct tp_profile_file {
    const tp_allocator *alloc;
    tp_buf arena; /* NUL-terminated strings, addressed by offset */
    size_t path_off;
    prof_sec *secs;
    size_t nsec, capsec;
    prof_kv *kvs;
    size_t nkv, capkv;
};

static tp_status arena_add(tp_profile_file *f, const char *s, size_t n, size_t *off, tp_error *err)
{
    *off = f->arena.len;
    tp_status st = tp_buf_append(&f->arena, s, n, err);
    if (st == TP_OK)
        st = tp_buf_append(&f->arena, "", 1, err);
    return st;
}

static const char *at(const tp_profile_file *f, size_t off)
{
    return (const char *)f->arena.ptr + off;
}

static tp_status parse_error(tp_error *err, const char *path, uint32_t line, const char *field,
                             const char *what)
{
    tp_status st = tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, field, "%s line %u: %s", path,
                                (unsigned)line, what);
    if (err)
        err->line = line;
    return st;
}

static int is_ws(char c) { return c == ' ' || c == '\t'; }

static void trim(const char **b, const char **e)
{
    while (*b < *e && (is_ws(**b) || **b == '\r'))
        (*b)++;
    while (*e > *b && (is_ws((*e)[-1]) || (*e)[-1] == '\r'))
        (*e)--;
}

static tp_status add_section(tp_profile_file *f, const char *name, size_t n, int is_profile,
                             uint32_t line, tp_error *err)
{
    prof_sec *grown = tp__grow(f->alloc, f->secs, &f->capsec, f->nsec + 1, sizeof *grown);
    if (!grown)
        return tp_error__set(err, TP_E_NOMEM, "out of memory reading a config file");
    f->secs = grown;
    prof_sec *s = &f->secs[f->nsec];
    tp_status st = arena_add(f, name, n, &s->name_off, err);
    if (st != TP_OK)
        return st;
    s->is_profile = is_profile;
    s->line = line;
    f->nsec++;
    return TP_OK;
}

static tp_status add_kv(tp_profile_file *f, const char *prefix, size_t pn, const char *key,
                        size_t kn, const char *val, size_t vn, uint32_t line, tp_error *err)
{
    prof_kv *grown = tp__grow(f->alloc, f->kvs, &f->capkv, f->nkv + 1, sizeof *grown);
    if (!grown)
        return tp_error__set(err, TP_E_NOMEM, "out of memory reading a config file");
    f->kvs = grown;
    prof_kv *kv = &f->kvs[f->nkv];
    kv->sec = f->nsec - 1;
    kv->line = line;
    kv->key_off = f->arena.len;
    tp_status st = TP_OK;
    if (pn)
        st = tp_buf_append(&f->arena, prefix, pn, err);
    if (st == TP_OK && pn)
        st = tp_buf_append(&f->arena, ".", 1, err);
    if (st == TP_OK)
        st = tp_buf_append(&f->arena, key, kn, err);
    if (st == TP_OK)
        st = tp_buf_append(&f->arena, "", 1, err);
    if (st == TP_OK)
        st = arena_add(f, val, vn, &kv->val_off, err);
    if (st != TP_OK)
        return st;
    /* keys are case-insensitive */
    for (size_t i = kv->key_off; f->arena.ptr[i]; i++)
        if (f->arena.ptr[i] >= 'A' && f->arena.ptr[i] <= 'Z')
            f->arena.ptr[i] = (uint8_t)(f->arena.ptr[i] + 32);
    f->nkv++;
    return TP_OK;
}

tp_status tp_profile__parse(tp_profile_file **out, tp_cursor text, const char *path, int kind,
                            const tp_allocator *alloc, tp_error *err)
{
    *out = NULL;
    tp_profile_file *f = tp__calloc(alloc, 1, sizeof *f);
    if (!f)
        return tp_error__set(err, TP_E_NOMEM, "out of memory reading a config file");
    f->alloc = alloc;
    tp_buf_init(&f->arena, alloc, 0);
    tp_status st = arena_add(f, path, strlen(path), &f->path_off, err);
    const char *p = (const char *)text.ptr, *end = p + text.len;
    uint32_t line = 0;
    int in_sub = 0;            /* indented lines are sub-properties of the last key */
    size_t last_kv = SIZE_MAX; /* the key an indented line continues */
    while (st == TP_OK && p < end) {
        const char *le = memchr(p, '\n', (size_t)(end - p));
        if (!le)
            le = end;
        line++;
        const char *b = p, *e = le;
        p = le < end ? le + 1 : end;
        if (memchr(b, '\0', (size_t)(e - b))) {
            st = parse_error(err, path, line, NULL, "a NUL byte");
            break;
        }
        int indented = b < e && is_ws(*b);
        trim(&b, &e);
        if (b == e)
            continue;
        if (*b == '#' || *b == ';')
            continue;
        if (indented && last_kv != SIZE_MAX) {
            prof_kv *kv = &f->kvs[last_kv];
            if (in_sub) {
                const char *eq = memchr(b, '=', (size_t)(e - b));
                if (!eq) {
                    st =
                        parse_error(err, path, line, at(f, kv->key_off),
                                    "an indented line without '=' under a key with sub-properties");
                    break;
                }
                const char *kb = b, *ke = eq, *vb = eq + 1, *ve = e;
                trim(&kb, &ke);
                trim(&vb, &ve);
                if (kb == ke) {
                    st = parse_error(err, path, line, at(f, kv->key_off), "an empty key");
                    break;
                }
                char parent[256];
                tp__strlcpy(parent, at(f, kv->key_off), sizeof parent);
                st = add_kv(f, parent, strlen(parent), kb, (size_t)(ke - kb), vb, (size_t)(ve - vb),
                            line, err);
                continue; /* further indented lines stay sub-properties of the same parent */
            }
            /* a value continued on the next line: "\n" + this line, appended
             * in place (this value is the last string in the arena) */
            f->arena.len--; /* drop its NUL */
            st = tp_buf_append(&f->arena, "\n", 1, err);
            if (st == TP_OK)
                st = tp_buf_append(&f->arena, b, (size_t)(e - b), err);
            if (st == TP_OK)
                st = tp_buf_append(&f->arena, "", 1, err);
            continue;
        }
        if (*b == '[') {
            const char *close = memchr(b, ']', (size_t)(e - b));
            if (!close) {
                st = parse_error(err, path, line, NULL, "a section header without ']'");
                break;
            }
            const char *rest = close + 1;
            while (rest < e && is_ws(*rest))
                rest++;
            if (rest < e && *rest != '#' && *rest != ';') {
                st = parse_error(err, path, line, NULL, "text after a section header");
                break;
            }
            const char *nb = b + 1, *ne = close;
            trim(&nb, &ne);
            if (nb == ne) {
                st = parse_error(err, path, line, NULL, "an empty section name");
                break;
            }
            int is_profile = 1;
            if (kind == TP_PROFILE_FILE_CONFIG) {
                size_t n = (size_t)(ne - nb);
                if (n > 8 && memcmp(nb, "profile", 7) == 0 && is_ws(nb[7])) {
                    nb += 8;
                    trim(&nb, &ne);
                } else if (!(n == 7 && memcmp(nb, "default", 7) == 0)) {
                    is_profile = 0; /* sso-session, services, ...: kept, not a profile */
                }
            }
            st = add_section(f, nb, (size_t)(ne - nb), is_profile, line, err);
            last_kv = SIZE_MAX;
            in_sub = 0;
            continue;
        }
        if (indented && last_kv == SIZE_MAX && f->nsec == 0) {
            st = parse_error(err, path, line, NULL, "an indented line outside of any section");
            break;
        }
        const char *eq = memchr(b, '=', (size_t)(e - b));
        if (!eq) {
            st = parse_error(err, path, line, NULL,
                             "a line that is neither [section] nor key = value");
            break;
        }
        if (f->nsec == 0) {
            st = parse_error(err, path, line, NULL, "a key = value line before any [section]");
            break;
        }
        const char *kb = b, *ke = eq, *vb = eq + 1, *ve = e;
        trim(&kb, &ke);
        trim(&vb, &ve);
        if (kb == ke) {
            st = parse_error(err, path, line, NULL, "an empty key before '='");
            break;
        }
        st = add_kv(f, NULL, 0, kb, (size_t)(ke - kb), vb, (size_t)(ve - vb), line, err);
        last_kv = f->nkv - 1;
        in_sub = vb == ve;
    }
    if (st != TP_OK) {
        tp_profile__free(f);
        return st;
    }
    *out = f;
    return TP_OK;
}

static int section_matches(const tp_profile_file *f, const prof_sec *s, const char *name)
{
    return s->is_profile && strcmp(at(f, s->name_off), name) == 0;
}

int tp_profile__has(const tp_profile_file *f, const char *name)
{
    if (!f)
        return 0;
    for (size_t i = 0; i < f->nsec; i++)
        if (section_matches(f, &f->secs[i], name))
            return 1;
    return 0;
}

const char *tp_profile__get(const tp_profile_file *f, const char *name, const char *key,
                            uint32_t *line)
{
    const char *v = NULL;
    if (line)
        *line = 0;
    if (!f)
        return NULL;
    /* the last one wins: repeated sections merge, a repeated key overrides */
    for (size_t i = 0; i < f->nkv; i++) {
        const prof_kv *kv = &f->kvs[i];
        if (!section_matches(f, &f->secs[kv->sec], name) || strcmp(at(f, kv->key_off), key) != 0)
            continue;
        v = at(f, kv->val_off);
        if (line)
            *line = kv->line;
    }
    return v;
}

const char *tp_profile__path(const tp_profile_file *f) { return f ? at(f, f->path_off) : ""; }

void tp_profile__free(tp_profile_file *f)
{
    if (!f)
        return;
    const tp_allocator *a = f->alloc;
    tp_buf_dispose_secure(&f->arena);
    tp__free(a, f->secs);
    tp__free(a, f->kvs);
    tp__free(a, f);
}

tp_status tp_profile__path_for(char *out, size_t cap, int kind,
                               const tp_credentials_provider_options *opts, tp_error *err)
{
    const char *given = kind == TP_PROFILE_FILE_CONFIG ? opts->config_file : opts->credentials_file;
    const char *var =
        kind == TP_PROFILE_FILE_CONFIG ? "AWS_CONFIG_FILE" : "AWS_SHARED_CREDENTIALS_FILE";
    const char *def = kind == TP_PROFILE_FILE_CONFIG ? "~/.aws/config" : "~/.aws/credentials";
    const char *p = given && *given ? given : tp_credentials__getenv(opts, var);
    if (!p)
        p = def;
    int n;
    if (p[0] == '~' && (p[1] == '/' || p[1] == 0)) {
        const char *home = tp_credentials__getenv(opts, "HOME");
        if (!home)
            return tp_error__at(err, TP_E_NOT_FOUND, TP_NO_OFFSET, "HOME",
                                "HOME is not set, so %s cannot be found", p);
        n = snprintf(out, cap, "%s%s", home, p + 1);
    } else {
        n = snprintf(out, cap, "%s", p);
    }
    if (n < 0 || (size_t)n >= cap)
        return tp_error__at(err, TP_E_TOO_LARGE, TP_NO_OFFSET, var, "the path of %s is too long",
                            var);
    return TP_OK;
}

tp_status tp_profile__load(tp_profile_file **out, const char *path, int kind,
                           const tp_credentials_provider_options *opts, tp_error *err)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR)
            return tp_error__at(err, TP_E_NOT_FOUND, TP_NO_OFFSET, "path", "%s does not exist",
                                path);
        return tp_error__at(err, TP_E_IO, TP_NO_OFFSET, "path", "cannot open %s: %s", path,
                            strerror(e));
    }
    size_t max = opts->max_file_bytes > SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)opts->max_file_bytes;
    tp_buf b;
    tp_buf_init(&b, opts->alloc, 0);
    tp_status st = TP_OK;
    for (;;) {
        if ((st = tp_buf_reserve(&b, 4096, err)) != TP_OK)
            break;
        size_t n = fread(b.ptr + b.len, 1, 4096, fp);
        b.len += n;
        if (b.len > max) {
            st = tp_error__at(err, TP_E_TOO_LARGE, TP_NO_OFFSET, "path",
                              "%s is larger than %zu bytes", path, max);
            break;
        }
        if (n < 4096) {
            if (ferror(fp))
                st = tp_error__at(err, TP_E_IO, TP_NO_OFFSET, "path", "cannot read %s", path);
            break;
        }
    }
    fclose(fp);
    if (st == TP_OK)
        st = tp_profile__parse(out, tp_buf_cursor(&b), path, kind, opts->alloc, err);
    tp_buf_dispose_secure(&b);
    return st;
}

/* ---- the profile source -------------------------------------------------- */

static tp_status profile_fetch(void *payload, const tp_credentials **out, int64_t now_ms,
                               tp_error *err)
{
    (void)now_ms;
    const tp_credentials_provider_options *o = payload;
    const char *name = tp_credentials__profile_name(o);
    int explicit_name = (o->profile && *o->profile) || tp_credentials__getenv(o, "AWS_PROFILE");
    char paths[2][4096];
    tp_profile_file *files[2] = {NULL, NULL};
    const int kinds[2] = {TP_PROFILE_FILE_CREDENTIALS, TP_PROFILE_FILE_CONFIG};
    tp_status st = TP_OK;
    for (int i = 0; i < 2; i++) {
        paths[i][0] = 0;
        st = tp_profile__path_for(paths[i], sizeof paths[i], kinds[i], o, err);
        if (st == TP_OK)
            st = tp_profile__load(&files[i], paths[i], kinds[i], o, err);
        if (st == TP_E_NOT_FOUND)
            st = TP_OK;
        if (st != TP_OK)
            goto done;
    }
    for (int i = 0; i < 2; i++) {
        if (!tp_profile__has(files[i], name))
            continue;
        uint32_t l_id = 0, l_secret = 0, l_token = 0;
        const char *id = tp_profile__get(files[i], name, "aws_access_key_id", &l_id);
        const char *secret = tp_profile__get(files[i], name, "aws_secret_access_key", &l_secret);
        const char *token = tp_profile__get(files[i], name, "aws_session_token", &l_token);
        if (id && !*id)
            id = NULL;
        if (secret && !*secret)
            secret = NULL;
        if (!id && !secret)
            continue;
        if (!id || !secret) {
            st = tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET,
                              id ? "aws_secret_access_key" : "aws_access_key_id",
                              "%s line %u: profile \"%s\" has %s but no %s", paths[i],
                              (unsigned)(id ? l_id : l_secret), name,
                              id ? "aws_access_key_id" : "aws_secret_access_key",
                              id ? "aws_secret_access_key" : "aws_access_key_id");
            if (err)
                err->line = id ? l_id : l_secret;
            goto done;
        }
        st = tp_credentials_new(out, id, secret, token, TP_CREDENTIALS_NO_EXPIRY, o->alloc, err);
        goto done;
    }
    uint32_t l_proc = 0;
    const char *proc = tp_profile__get(files[1], name, "credential_process", &l_proc);
    if (proc && *proc) {
        st = tp_credentials__run_process(out, proc, o, err);
        if (st != TP_OK && err && err->line == 0) {
            /* point at where the command came from */
            char msg[TP_ERROR_MESSAGE_MAX];
            if (snprintf(msg, sizeof msg, "%s line %u: %s", paths[1], (unsigned)l_proc,
                         err->message) < 0)
                msg[0] = 0; /* truncation is fine: the message is cut */
            tp__strlcpy(err->message, msg, sizeof err->message);
            err->line = l_proc;
        }
        goto done;
    }
    if (tp_profile__has(files[0], name) || tp_profile__has(files[1], name)) {
        st = tp_error__at(err, TP_E_NOT_FOUND, TP_NO_OFFSET, "profile",
                          "profile \"%s\" has no aws_access_key_id/aws_secret_access_key and no "
                          "credential_process",
                          name);
    } else {
        st = tp_error__at(err, explicit_name ? TP_E_CONFIG : TP_E_NOT_FOUND, TP_NO_OFFSET,
                          "profile", "profile \"%s\" is in neither %s nor %s", name,
                          paths[0][0] ? paths[0] : "(no credentials file)",
                          paths[1][0] ? paths[1] : "(no config file)");
    }
done:
    tp_profile__free(files[0]);
    tp_profile__free(files[1]);
    return st;
}

tp_status tp_credentials_provider_new_profile(tp_credentials_provider **out,
                                              const tp_credentials_provider_options *opts,
                                              tp_error *err)
{
    return tp_credentials__new_opts_provider(out, "profile", profile_fetch, opts, err);
}

/* ---- region -------------------------------------------------------------- */

static tp_status check_region(const char *v, const char *where, uint32_t line, tp_error *err)
{
    size_t n = strlen(v);
    int ok = n > 0 && n < TP_REGION_MAX;
    for (size_t i = 0; ok && i < n; i++) {
        char c = v[i];
        ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    }
    if (ok)
        return TP_OK;
    tp_status st = tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, "region",
                                "%s: the region is not a region name (lower-case letters, digits "
                                "and '-', under %d bytes)",
                                where, TP_REGION_MAX);
    if (err)
        err->line = line;
    return st;
}

tp_status tp_credentials_resolve_region(char out[TP_REGION_MAX],
                                        const tp_credentials_provider_options *opts, tp_error *err)
{
    if (!out)
        return tp_error__set(err, TP_E_INVALID, "tp_credentials_resolve_region: out is NULL");
    out[0] = 0;
    tp_credentials_provider_options o;
    tp_status st = tp_credentials__opts(&o, opts, err);
    if (st != TP_OK)
        return st;
    static const char *const vars[] = {"AWS_REGION", "AWS_DEFAULT_REGION"};
    for (int i = 0; i < 2; i++) {
        const char *v = tp_credentials__getenv(&o, vars[i]);
        if (!v)
            continue;
        if ((st = check_region(v, vars[i], 0, err)) != TP_OK) {
            if (err)
                tp__strlcpy(err->field, vars[i], sizeof err->field);
            return st;
        }
        tp__strlcpy(out, v, TP_REGION_MAX);
        return TP_OK;
    }
    char path[4096];
    if ((st = tp_profile__path_for(path, sizeof path, TP_PROFILE_FILE_CONFIG, &o, err)) != TP_OK)
        return st == TP_E_NOT_FOUND
                   ? tp_error__at(err, TP_E_NOT_FOUND, TP_NO_OFFSET, "region",
                                  "no region: AWS_REGION and AWS_DEFAULT_REGION are not set and "
                                  "there is no config file")
                   : st;
    tp_profile_file *f = NULL;
    st = tp_profile__load(&f, path, TP_PROFILE_FILE_CONFIG, &o, err);
    if (st == TP_E_NOT_FOUND)
        return tp_error__at(err, TP_E_NOT_FOUND, TP_NO_OFFSET, "region",
                            "no region: AWS_REGION and AWS_DEFAULT_REGION are not set and %s "
                            "does not exist",
                            path);
    if (st != TP_OK)
        return st;
    const char *profile = tp_credentials__profile_name(&o);
    uint32_t line = 0;
    const char *v = tp_profile__get(f, profile, "region", &line);
    if (!v || !*v) {
        st = tp_error__at(err, TP_E_NOT_FOUND, TP_NO_OFFSET, "region",
                          "no region: AWS_REGION and AWS_DEFAULT_REGION are not set and profile "
                          "\"%s\" in %s has none",
                          profile, path);
    } else {
        char where[TP_ERROR_MESSAGE_MAX];
        if (snprintf(where, sizeof where, "%s line %u", path, (unsigned)line) < 0)
            where[0] = 0; /* truncation is fine: a long path is cut */
        st = check_region(v, where, line, err);
        if (st == TP_OK)
            tp__strlcpy(out, v, TP_REGION_MAX);
    }
    tp_profile__free(f);
    return st;
}
