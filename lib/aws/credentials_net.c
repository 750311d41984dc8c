/* Floor 3: credential providers over the network (ECS, IMDSv2, web identity)
 * and the default chain. */
#include "aws_int.h"
#include "credentials_int.h"
#include "tradepipe/credentials_net.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#define KIND_ECS  1
#define KIND_IMDS 2
#define KIND_WEB  3

#define ECS_HOST          "http://169.254.170.2"
#define IMDS_ENDPOINT     "http://169.254.169.254"
#define NET_MAX_RESPONSE  ((size_t)256 << 10)
#define IMDS_TIMEOUT_MS   1000u
#define OTHER_TIMEOUT_MS  5000u

typedef struct net_src {
    int kind;
    const tp_allocator *alloc;
    tp_allocator alloc_copy;
    tp_getenv_fn getenv_fn;
    void *getenv_payload;
    uint64_t max_file_bytes;
    tp_http_client *http;
} net_src;

static const char *env(net_src *n, const char *name)
{
    const char *v = n->getenv_fn ? n->getenv_fn(name, n->getenv_payload) : getenv(name);
    return v && *v ? v : NULL;
}

static tp_status http_for(net_src *n, tp_error *err)
{
    if (n->http)
        return TP_OK;
    tp_http_options o = TP_HTTP_OPTIONS_INIT;
    uint32_t t = n->kind == KIND_IMDS ? IMDS_TIMEOUT_MS : OTHER_TIMEOUT_MS;
    o.connect_timeout_ms = t;
    o.timeout_ms = t;
    o.max_response_bytes = NET_MAX_RESPONSE;
    o.alloc = n->alloc;
    return tp_http_client_new(&n->http, &o, err);
}

/* One request; TP_OK means an HTTP answer arrived (any status). */
static tp_status request(net_src *n, const char *method, const char *url,
                         const tp_http_header *h, size_t nh, tp_cursor body,
                         tp_http_response *resp, tp_error *err)
{
    tp_status st = http_for(n, err);
    if (st != TP_OK)
        return st;
    tp_http_request r = TP_HTTP_REQUEST_INIT;
    r.method = method;
    r.url = url;
    r.headers = h;
    r.n_headers = nh;
    if (body.ptr) {
        r.body = body.ptr;
        r.body_len = body.len;
    }
    return tp_http_send(n->http, &r, resp, err);
}

/* Read a token file: whole file, trailing blanks and newlines trimmed. */
static tp_status read_token_file(net_src *n, const char *path, const char *var, tp_buf *out,
                                 tp_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, var, "cannot open the file %s names",
                            var);
    tp_status st = TP_OK;
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (out->len + got > n->max_file_bytes) {
            st = tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, var, "the file %s names is too large",
                              var);
            break;
        }
        if ((st = tp_buf_append(out, chunk, got, err)) != TP_OK)
            break;
    }
    if (st == TP_OK && ferror(f))
        st = tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, var, "cannot read the file %s names", var);
    fclose(f);
    while (st == TP_OK && out->len &&
           (out->ptr[out->len - 1] == '\n' || out->ptr[out->len - 1] == '\r' ||
            out->ptr[out->len - 1] == ' ' || out->ptr[out->len - 1] == '\t'))
        out->ptr[--out->len] = 0;
    if (st == TP_OK && !out->len)
        st = tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, var, "the file %s names is empty", var);
    return st;
}

/* ---- ECS ----------------------------------------------------------------- */

/* http:// FULL_URI hosts the SDKs allow: loopback, the ECS and EKS agents. */
static int ecs_host_allowed(const char *url)
{
    if (strncmp(url, "https://", 8) == 0)
        return 1;
    if (strncmp(url, "http://", 7) != 0)
        return 0;
    const char *h = url + 7;
    size_t hl = strcspn(h, "/?#");
    char host[256];
    if (hl == 0 || hl >= sizeof host)
        return 0;
    memcpy(host, h, hl);
    host[hl] = 0;
    if (host[0] == '[') {
        char *close = strchr(host, ']');
        if (!close)
            return 0;
        *close = 0;
        return !strcasecmp(host + 1, "::1") || !strcasecmp(host + 1, "fd00:ec2::23");
    }
    char *colon = strchr(host, ':');
    if (colon)
        *colon = 0;
    if (!strcasecmp(host, "localhost") || !strcmp(host, "169.254.170.2") ||
        !strcmp(host, "169.254.170.23"))
        return 1;
    unsigned a, b, c, d;
    char extra;
    return sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &extra) == 4 && a == 127 && b < 256 &&
           c < 256 && d < 256;
}

static tp_status ecs_fetch(net_src *n, const tp_credentials **out, tp_error *err)
{
    const char *rel = env(n, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = env(n, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
    tp_buf url, token;
    tp_http_response resp;
    tp_status st = TP_OK;
    if (!rel && !full)
        return tp_error__set(err, TP_E_NOT_FOUND, "ECS: no container credentials URI set");
    tp_buf_init(&url, n->alloc, 4096);
    tp_buf_init(&token, n->alloc, 0);
    tp_http_response_init(&resp, n->alloc);
    if (rel) {
        if (rel[0] != '/') {
            st = tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET,
                              "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "must start with '/'");
            goto done;
        }
        st = tp_buf_appendf(&url, err, ECS_HOST "%s", rel);
    } else {
        if (!ecs_host_allowed(full)) {
            st = tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                              "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or http to a "
                              "loopback, ECS or EKS address");
            goto done;
        }
        st = tp_buf_append_str(&url, full, err);
    }
    if (st != TP_OK)
        goto done;
    const char *tfile = env(n, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *tok = env(n, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
    if (tfile)
        st = read_token_file(n, tfile, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", &token, err);
    else if (tok)
        st = tp_buf_append_str(&token, tok, err);
    if (st != TP_OK)
        goto done;
    if (token.len && (memchr(token.ptr, '\r', token.len) || memchr(token.ptr, '\n', token.len))) {
        st = tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                          "the authorization token holds a line break");
        goto done;
    }
    tp_http_header h = {"Authorization", token.len ? (const char *)token.ptr : ""};
    st = request(n, "GET", (const char *)url.ptr, &h, token.len ? 1 : 0, tp_cursor_make(NULL, 0),
                 &resp, err);
    if (st != TP_OK)
        goto done;
    if (resp.status != 200) {
        st = tp_error__set(err, TP_E_CREDENTIALS, "ECS credentials endpoint answered HTTP %d",
                           (int)resp.status);
        if (err)
            err->http_status = resp.status;
        goto done;
    }
    st = tp_credentials__from_json(out, tp_buf_cursor(&resp.body), "ECS response", 0, n->alloc,
                                   err);
done:
    tp_buf_dispose(&url);
    tp_buf_dispose_secure(&token);
    tp_buf_dispose_secure(&resp.body);
    tp_http_response_dispose(&resp);
    return st;
}

/* ---- IMDSv2 -------------------------------------------------------------- */

static tp_status imds_fetch(net_src *n, const tp_credentials **out, tp_error *err)
{
    const char *off = env(n, "AWS_EC2_METADATA_DISABLED");
    if (off && !strcasecmp(off, "true"))
        return tp_error__set(err, TP_E_NOT_FOUND, "IMDS: disabled by AWS_EC2_METADATA_DISABLED");
    const char *base = env(n, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if (!base)
        base = IMDS_ENDPOINT;
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    char url[1024], token[256], role[256];
    tp_http_response resp;
    tp_status st;
    tp_error terr;
    if (bl > 512)
        return tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                            "endpoint too long");
    tp_http_response_init(&resp, n->alloc);

    snprintf(url, sizeof url, "%.*s/latest/api/token", (int)bl, base);
    tp_http_header th = {"X-aws-ec2-metadata-token-ttl-seconds", "21600"};
    st = request(n, "PUT", url, &th, 1, tp_cursor_make("", 0), &resp, &terr);
    if (st == TP_E_HTTP || st == TP_E_TIMEOUT) {
        st = tp_error__set(err, TP_E_NOT_FOUND, "IMDS: no instance metadata service (%s)",
                           terr.message);
        goto done;
    }
    if (st != TP_OK) {
        if (err)
            *err = terr;
        goto done;
    }
    if (resp.status != 200 || resp.body.len == 0 || resp.body.len >= sizeof token) {
        st = tp_error__set(err, TP_E_NOT_FOUND, "IMDS: the token request answered HTTP %d",
                           (int)resp.status);
        goto done;
    }
    memcpy(token, resp.body.ptr, resp.body.len);
    token[resp.body.len] = 0;
    if (strpbrk(token, "\r\n")) {
        st = tp_error__set(err, TP_E_CREDENTIALS, "IMDS: malformed session token");
        goto done;
    }
    tp_http_header ah = {"X-aws-ec2-metadata-token", token};

    snprintf(url, sizeof url, "%.*s/latest/meta-data/iam/security-credentials/", (int)bl, base);
    st = request(n, "GET", url, &ah, 1, tp_cursor_make(NULL, 0), &resp, err);
    if (st != TP_OK)
        goto done;
    if (resp.status == 404) {
        st = tp_error__set(err, TP_E_NOT_FOUND, "IMDS: no IAM role attached to this instance");
        goto done;
    }
    size_t rl = strcspn(resp.body.ptr ? (const char *)resp.body.ptr : "", "\r\n");
    if (resp.status != 200 || rl == 0 || rl >= sizeof role) {
        st = tp_error__set(err, TP_E_CREDENTIALS, "IMDS: the role request answered HTTP %d",
                           (int)resp.status);
        if (err)
            err->http_status = resp.status;
        goto done;
    }
    memcpy(role, resp.body.ptr, rl);
    role[rl] = 0;
    for (size_t i = 0; i < rl; i++) {
        char c = role[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("+=,.@_-", c))) {
            st = tp_error__set(err, TP_E_CREDENTIALS, "IMDS: the role name has a bad character");
            goto done;
        }
    }
    snprintf(url, sizeof url, "%.*s/latest/meta-data/iam/security-credentials/%s", (int)bl, base,
             role);
    st = request(n, "GET", url, &ah, 1, tp_cursor_make(NULL, 0), &resp, err);
    if (st != TP_OK)
        goto done;
    if (resp.status != 200) {
        st = tp_error__set(err, TP_E_CREDENTIALS, "IMDS: the credentials request answered HTTP %d",
                           (int)resp.status);
        if (err)
            err->http_status = resp.status;
        goto done;
    }
    json_t *doc = json_loadb((const char *)resp.body.ptr, resp.body.len, 0, NULL);
    json_t *code = json_object_get(doc, "Code");
    int bad_code = code && (!json_is_string(code) || strcmp(json_string_value(code), "Success"));
    json_decref(doc);
    if (bad_code) {
        st = tp_error__at(err, TP_E_CREDENTIALS, TP_NO_OFFSET, "Code",
                          "IMDS: the credentials document's Code is not Success");
        goto done;
    }
    st = tp_credentials__from_json(out, tp_buf_cursor(&resp.body), "IMDS response", 0, n->alloc,
                                   err);
done:
    tp_secure_zero(token, sizeof token);
    tp_buf_dispose_secure(&resp.body);
    tp_http_response_dispose(&resp);
    return st;
}

/* ---- web identity -------------------------------------------------------- */

typedef struct sts_creds {
    tp_buf key, secret, token, exp, code, message, reqid;
} sts_creds;

static tp_status sts_leaf(void *payload, const char *path, size_t depth, tp_cursor text,
                          int leaf, tp_error *err)
{
    sts_creds *c = payload;
    (void)depth;
    if (!leaf)
        return TP_OK;
    static const char creds[] =
        "AssumeRoleWithWebIdentityResponse/AssumeRoleWithWebIdentityResult/Credentials/";
    tp_buf *dst = NULL;
    if (!strncmp(path, creds, sizeof creds - 1)) {
        const char *k = path + sizeof creds - 1;
        dst = !strcmp(k, "AccessKeyId")       ? &c->key
              : !strcmp(k, "SecretAccessKey") ? &c->secret
              : !strcmp(k, "SessionToken")    ? &c->token
              : !strcmp(k, "Expiration")      ? &c->exp
                                              : NULL;
    } else if (!strcmp(path, "ErrorResponse/Error/Code")) {
        dst = &c->code;
    } else if (!strcmp(path, "ErrorResponse/Error/Message")) {
        dst = &c->message;
    } else if (!strcmp(path, "ErrorResponse/RequestId")) {
        dst = &c->reqid;
    }
    if (!dst)
        return TP_OK;
    tp_buf_clear(dst);
    return tp_buf_append(dst, text.ptr ? text.ptr : (const uint8_t *)"", text.len, err);
}

static tp_status form_add(tp_buf *b, const char *name, const char *value, tp_error *err)
{
    tp_status st = tp_buf_appendf(b, err, "%s%s=", b->len ? "&" : "", name);
    return st != TP_OK ? st : tp_sigv4_uri_encode(b, tp_cursor_from_str(value), 0, err);
}

tp_status tp_credentials__sts_answer(const tp_credentials **out, int32_t http_status,
                                     tp_cursor body, const tp_allocator *alloc, tp_error *err)
{
    sts_creds c;
    tp_status st;
    memset(&c, 0, sizeof c);
    tp_buf *bufs[] = {&c.key, &c.secret, &c.token, &c.exp, &c.code, &c.message, &c.reqid};
    for (size_t i = 0; i < TP_ARRAY_LEN(bufs); i++)
        tp_buf_init(bufs[i], alloc, 64 << 10);
    tp_error xerr;
    tp_status xs = tp_xml__walk(body, sts_leaf, &c, alloc, &xerr);
    if (http_status != 200 || xs != TP_OK) {
        if (xs == TP_OK && c.code.len) {
            tp_error__set(err, TP_E_CREDENTIALS, "STS AssumeRoleWithWebIdentity: %s%s%s",
                          (const char *)c.code.ptr, c.message.len ? ": " : "",
                          c.message.len ? (const char *)c.message.ptr : "");
            if (err) {
                tp__strlcpy(err->aws_code, (const char *)c.code.ptr, sizeof err->aws_code);
                if (c.reqid.len)
                    tp__strlcpy(err->request_id, (const char *)c.reqid.ptr,
                                sizeof err->request_id);
            }
        } else {
            tp_error__set(err, TP_E_CREDENTIALS,
                          "STS AssumeRoleWithWebIdentity: HTTP %d%s", (int)http_status,
                          xs == TP_OK ? "" : ", the answer is not XML");
        }
        if (err)
            err->http_status = http_status;
        st = TP_E_CREDENTIALS;
        goto done;
    }
    if (!c.key.len || !c.secret.len) {
        st = tp_error__at(err, TP_E_CREDENTIALS, TP_NO_OFFSET,
                          c.key.len ? "SecretAccessKey" : "AccessKeyId",
                          "STS AssumeRoleWithWebIdentity: the answer lacks credentials");
        goto done;
    }
    int64_t exp_ms = TP_CREDENTIALS_NO_EXPIRY;
    if (c.exp.len) {
        int64_t us;
        tp_error terr;
        if (tp_time_parse_iso8601(&us, tp_buf_cursor(&c.exp), &terr) != TP_OK) {
            st = tp_error__at(err, TP_E_CREDENTIALS, TP_NO_OFFSET, "Expiration",
                              "STS AssumeRoleWithWebIdentity: bad Expiration");
            goto done;
        }
        exp_ms = us / 1000;
    }
    st = tp_credentials_new(out, (const char *)c.key.ptr, (const char *)c.secret.ptr,
                            c.token.len ? (const char *)c.token.ptr : NULL, exp_ms, alloc, err);
done:
    for (size_t i = 0; i < TP_ARRAY_LEN(bufs); i++)
        tp_buf_dispose_secure(bufs[i]);
    return st;
}

static tp_status web_fetch(net_src *n, const tp_credentials **out, int64_t now_ms, tp_error *err)
{
    const char *tfile = env(n, "AWS_WEB_IDENTITY_TOKEN_FILE");
    const char *arn = env(n, "AWS_ROLE_ARN");
    const char *session = env(n, "AWS_ROLE_SESSION_NAME");
    char session_buf[64], region[TP_REGION_MAX], endpoint[TP_ENDPOINT_MAX];
    tp_buf token, body;
    tp_http_response resp;
    tp_status st;
    if (!tfile && !arn)
        return tp_error__set(err, TP_E_NOT_FOUND, "web identity: no token file and role set");
    if (!tfile || !arn)
        return tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET,
                            tfile ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE",
                            "web identity needs both AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN");
    tp_buf_init(&token, n->alloc, 0);
    tp_buf_init(&body, n->alloc, 0);
    tp_http_response_init(&resp, n->alloc);
    if (!session) {
        snprintf(session_buf, sizeof session_buf, "tradepipe-%lld", (long long)now_ms);
        session = session_buf;
    }
    tp_credentials_provider_options ro = TP_CREDENTIALS_PROVIDER_OPTIONS_INIT;
    ro.getenv_fn = n->getenv_fn;
    ro.getenv_payload = n->getenv_payload;
    tp_error rerr;
    if (tp_credentials_resolve_region(region, &ro, &rerr) != TP_OK)
        tp__strlcpy(region, "us-east-1", sizeof region);
    st = tp_aws_endpoint_resolve(endpoint, NULL, "sts", region, n->getenv_fn, n->getenv_payload,
                                 err);
    if (st == TP_OK)
        st = read_token_file(n, tfile, "AWS_WEB_IDENTITY_TOKEN_FILE", &token, err);
    if (st == TP_OK)
        st = form_add(&body, "Action", "AssumeRoleWithWebIdentity", err);
    if (st == TP_OK)
        st = form_add(&body, "RoleArn", arn, err);
    if (st == TP_OK)
        st = form_add(&body, "RoleSessionName", session, err);
    if (st == TP_OK)
        st = form_add(&body, "Version", "2011-06-15", err);
    if (st == TP_OK)
        st = form_add(&body, "WebIdentityToken", (const char *)token.ptr, err);
    if (st != TP_OK)
        goto done;
    size_t el = strlen(endpoint);
    if (el + 2 > sizeof endpoint) {
        st = tp_error__set(err, TP_E_CONFIG, "STS endpoint too long");
        goto done;
    }
    endpoint[el] = '/';
    endpoint[el + 1] = 0;
    tp_http_header h = {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"};
    st = request(n, "POST", endpoint, &h, 1, tp_buf_cursor(&body), &resp, err);
    if (st != TP_OK)
        goto done;
    st = tp_credentials__sts_answer(out, resp.status, tp_buf_cursor(&resp.body), n->alloc, err);
done:
    tp_buf_dispose_secure(&token);
    tp_buf_dispose_secure(&body);
    tp_buf_dispose_secure(&resp.body);
    tp_http_response_dispose(&resp);
    return st;
}

/* ---- the sources --------------------------------------------------------- */

static tp_status net_fetch(void *payload, const tp_credentials **out, int64_t now_ms,
                           tp_error *err)
{
    net_src *n = payload;
    switch (n->kind) {
    case KIND_ECS:
        return ecs_fetch(n, out, err);
    case KIND_IMDS:
        return imds_fetch(n, out, err);
    default:
        return web_fetch(n, out, now_ms, err);
    }
}

static void net_destroy(void *payload)
{
    net_src *n = payload;
    if (!n)
        return;
    tp_http_client_free(n->http);
    tp_allocator a = n->alloc_copy;
    int has = n->alloc != NULL;
    tp__free(has ? &a : NULL, n);
}

static tp_status new_net(tp_credentials_provider **out, int kind, const char *name,
                         const tp_credentials_provider_options *opts, tp_error *err)
{
    tp_credentials_provider_options o;
    tp_status st = tp_credentials__opts(&o, opts, err);
    if (st != TP_OK)
        return st;
    net_src *n = tp__calloc(o.alloc, 1, sizeof *n);
    if (!n)
        return tp_error__set(err, TP_E_NOMEM, "out of memory creating the %s provider", name);
    n->kind = kind;
    if (o.alloc) {
        n->alloc_copy = *o.alloc;
        n->alloc = &n->alloc_copy;
    }
    n->getenv_fn = o.getenv_fn;
    n->getenv_payload = o.getenv_payload;
    n->max_file_bytes = o.max_file_bytes ? o.max_file_bytes : TP_CREDENTIALS_DEFAULT_FILE_MAX;
    tp_credentials_source src = {TP_CREDENTIALS_SOURCE_VERSION, 0, name, net_fetch, net_destroy};
    return tp_credentials_provider_new_custom(out, &src, n, &o, err);
}

tp_status tp_credentials_provider_new_ecs(tp_credentials_provider **out,
                                          const tp_credentials_provider_options *opts,
                                          tp_error *err)
{
    return new_net(out, KIND_ECS, "ecs", opts, err);
}

tp_status tp_credentials_provider_new_imds(tp_credentials_provider **out,
                                           const tp_credentials_provider_options *opts,
                                           tp_error *err)
{
    return new_net(out, KIND_IMDS, "imds", opts, err);
}

tp_status tp_credentials_provider_new_web_identity(tp_credentials_provider **out,
                                                   const tp_credentials_provider_options *opts,
                                                   tp_error *err)
{
    return new_net(out, KIND_WEB, "web-identity", opts, err);
}

tp_status tp_credentials_provider_new_default(tp_credentials_provider **out,
                                              const tp_credentials_provider_options *opts,
                                              tp_error *err)
{
    tp_credentials_provider *p[5] = {NULL};
    tp_status st = tp_credentials_provider_new_environment(&p[0], opts, err);
    if (st == TP_OK)
        st = tp_credentials_provider_new_web_identity(&p[1], opts, err);
    if (st == TP_OK)
        st = tp_credentials_provider_new_profile(&p[2], opts, err);
    if (st == TP_OK)
        st = tp_credentials_provider_new_ecs(&p[3], opts, err);
    if (st == TP_OK)
        st = tp_credentials_provider_new_imds(&p[4], opts, err);
    if (st != TP_OK) {
        for (size_t i = 0; i < 5; i++)
            tp_credentials_provider_free(p[i]);
        return st;
    }
    return tp_credentials_provider_new_chain(out, p, 5, opts, err);
}
