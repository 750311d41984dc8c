/* Floor 3: the signed, retried AWS call every service client makes. */
#include "aws_int.h"
#include "tradepipe/credentials_net.h"

#include <errno.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

#define MAX_SEND_HEADERS 24
/* A clock-skew error is retried when the service's clock moved us by more
 * than this (otherwise the skew is not the cause). */
#define SKEW_MIN_MS (60 * 1000)

static const char *env_get(const tp_aws_client_options *o, const char *name)
{
    const char *v = o->getenv_fn ? o->getenv_fn(name, o->getenv_payload) : getenv(name);
    return v && *v ? v : NULL;
}

static tp_status split_endpoint(tp_aws_conn *c, tp_error *err)
{
    const char *u = c->endpoint;
    const char *p = strstr(u, "://");
    if (!p)
        return tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, "endpoint_url",
                            "endpoint URL without a scheme");
    size_t sl = (size_t)(p - u);
    if (sl >= sizeof c->scheme)
        return tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, "endpoint_url", "bad URL scheme");
    memcpy(c->scheme, u, sl);
    c->scheme[sl] = 0;
    const char *h = p + 3;
    const char *slash = strchr(h, '/');
    size_t hl = slash ? (size_t)(slash - h) : strlen(h);
    if (hl == 0 || hl >= sizeof c->host || memchr(h, '?', hl) || memchr(h, '@', hl))
        return tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, "endpoint_url",
                            "endpoint URL with a bad host");
    memcpy(c->host, h, hl);
    c->host[hl] = 0;
    const char *bp = slash ? slash : "";
    if (strlen(bp) >= sizeof c->base_path || strchr(bp, '?'))
        return tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, "endpoint_url",
                            "endpoint URL path too long or with a query");
    tp__strlcpy(c->base_path, bp, sizeof c->base_path);
    size_t bl = strlen(c->base_path);
    while (bl && c->base_path[bl - 1] == '/')
        c->base_path[--bl] = 0;
    return TP_OK;
}

tp_status tp_aws__conn_init(tp_aws_conn *c, const char *service, int protocol,
                            uint32_t sign_flags, const tp_aws_client_options *opts, tp_error *err)
{
    tp_aws_client_options o = TP_AWS_CLIENT_OPTIONS_INIT;
    tp_status st = TP_OK;

    memset(c, 0, sizeof *c);
    if (opts) {
        if (opts->version != TP_AWS_CLIENT_OPTIONS_VERSION)
            return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "version",
                                "unknown tp_aws_client_options version %u", opts->version);
        o = *opts;
    }
    if (o.alloc) {
        c->alloc_copy = *o.alloc;
        c->alloc = &c->alloc_copy;
    }
    tp_buf_init(&c->url, c->alloc, 0);
    tp_buf_init(&c->scratch, c->alloc, 0);
    c->service = service;
    c->protocol = protocol;
    c->sign_flags = sign_flags;

    st = tp_retry__max_attempts(&c->max_attempts, o.max_attempts,
                                env_get(&o, "AWS_MAX_ATTEMPTS"), err);
    if (st != TP_OK)
        goto done;
    c->max_backoff_ms = o.max_backoff_ms ? o.max_backoff_ms : TP_RETRY_DEFAULT_MAX_BACKOFF_MS;
    tp_retry__quota_init(&c->quota, (int32_t)(o.retry_quota ? o.retry_quota : 0));
    tp_rng__seed(&c->rng, (uint64_t)tp_time_now_us() ^ (uint64_t)(uintptr_t)c ^
                              ((uint64_t)tp_time_mono_ns() << 17));

    if (o.region) {
        if (strlen(o.region) >= sizeof c->region) {
            st = tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, "region", "region name too long");
            goto done;
        }
        tp__strlcpy(c->region, o.region, sizeof c->region);
    } else {
        tp_credentials_provider_options co = TP_CREDENTIALS_PROVIDER_OPTIONS_INIT;
        co.getenv_fn = o.getenv_fn;
        co.getenv_payload = o.getenv_payload;
        co.alloc = o.alloc;
        tp_error rerr;
        tp_status rs = tp_credentials_resolve_region(c->region, &co, &rerr);
        if (rs == TP_E_NOT_FOUND) {
            c->region[0] = 0;
        } else if (rs != TP_OK) {
            if (err)
                *err = rerr;
            st = rs;
            goto done;
        }
    }
    if (o.endpoint_url) {
        if (strlen(o.endpoint_url) >= sizeof c->endpoint) {
            st = tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, "endpoint_url", "URL too long");
            goto done;
        }
        tp__strlcpy(c->endpoint, o.endpoint_url, sizeof c->endpoint);
        size_t n = strlen(c->endpoint);
        while (n && c->endpoint[n - 1] == '/')
            c->endpoint[--n] = 0;
        c->custom_endpoint = 1;
    } else {
        st = tp_aws_endpoint_resolve(c->endpoint, &c->custom_endpoint, service,
                                     c->region[0] ? c->region : NULL, o.getenv_fn,
                                     o.getenv_payload, err);
        if (st != TP_OK)
            goto done;
    }
    if (strncmp(c->endpoint, "http://", 7) != 0 && strncmp(c->endpoint, "https://", 8) != 0) {
        st = tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, "endpoint_url",
                          "endpoint URL must start with http:// or https://");
        goto done;
    }
    /* Emulators and other custom endpoints still need a region to sign with. */
    if (!c->region[0])
        tp__strlcpy(c->region, "us-east-1", sizeof c->region);
    st = split_endpoint(c, err);
    if (st != TP_OK)
        goto done;

    tp_http_options ho = TP_HTTP_OPTIONS_INIT;
    if (o.http)
        ho = *o.http;
    if (!ho.alloc)
        ho.alloc = c->alloc;
    st = tp_http_client_new(&c->http, &ho, err);
    if (st != TP_OK)
        goto done;
    tp_sigv4_signer_options so = TP_SIGV4_SIGNER_OPTIONS_INIT;
    so.alloc = c->alloc;
    st = tp_sigv4_signer_new(&c->signer, &so, err);
    if (st != TP_OK)
        goto done;
    if (o.credentials) {
        c->creds = o.credentials;
    } else {
        tp_credentials_provider_options co = TP_CREDENTIALS_PROVIDER_OPTIONS_INIT;
        co.getenv_fn = o.getenv_fn;
        co.getenv_payload = o.getenv_payload;
        co.alloc = o.alloc;
        st = tp_credentials_provider_new_default(&c->creds, &co, err);
        if (st != TP_OK)
            goto done;
        c->own_creds = 1;
    }
done:
    if (st != TP_OK)
        tp_aws__conn_dispose(c);
    return st;
}

void tp_aws__conn_dispose(tp_aws_conn *c)
{
    if (!c)
        return;
    tp_http_client_free(c->http);
    c->http = NULL;
    tp_sigv4_signer_free(c->signer);
    c->signer = NULL;
    if (c->own_creds)
        tp_credentials_provider_free(c->creds);
    c->creds = NULL;
    tp_buf_dispose(&c->url);
    tp_buf_dispose(&c->scratch);
}

tp_status tp_aws__status_for(const char *code, int32_t http_status, int throttled)
{
    static const struct {
        const char *code;
        tp_status st;
    } map[] = {
        {"ResourceNotFoundException", TP_E_NOT_FOUND},
        {"NoSuchKey", TP_E_NOT_FOUND},
        {"NoSuchBucket", TP_E_NOT_FOUND},
        {"NoSuchUpload", TP_E_NOT_FOUND},
        {"NotFound", TP_E_NOT_FOUND},
        {"ResourceInUseException", TP_E_EXISTS},
        {"BucketAlreadyExists", TP_E_EXISTS},
        {"BucketAlreadyOwnedByYou", TP_E_EXISTS},
        {"ConditionalCheckFailedException", TP_E_CONDITION},
        {"PreconditionFailed", TP_E_CONDITION},
    };
    if (throttled || tp_retry__is_throttle(code))
        return TP_E_THROTTLED;
    for (size_t i = 0; code && i < TP_ARRAY_LEN(map); i++)
        if (strcmp(code, map[i].code) == 0)
            return map[i].st;
    if ((!code || !*code) && http_status == 404)
        return TP_E_NOT_FOUND;
    if ((!code || !*code) && http_status == 412)
        return TP_E_CONDITION;
    return TP_E_AWS;
}

static void header_value(const tp_http_response *resp, const char *name, char *out, size_t cap)
{
    tp_cursor v;
    out[0] = 0;
    if (tp_http_response_header(resp, name, &v) == TP_OK) {
        size_t n = v.len < cap - 1 ? v.len : cap - 1;
        memcpy(out, v.ptr, n);
        out[n] = 0;
    }
}

/* Parse the error of a non-2xx answer into `info`. */
static void parse_error(tp_aws_conn *c, const tp_http_response *resp, tp_aws_errinfo *info)
{
    tp_cursor type = {NULL, 0}, query = {NULL, 0};
    memset(info, 0, sizeof *info);
    tp_error ignored;
    if (c->protocol == TP_AWS_PROTO_JSON) {
        tp_http_response_header(resp, "x-amzn-ErrorType", &type);
        tp_http_response_header(resp, "x-amzn-query-error", &query);
        tp_aws__json_error(info, tp_buf_cursor(&resp->body), type, query, &ignored);
    } else if (resp->body.len) {
        tp_aws__s3_error(info, tp_buf_cursor(&resp->body), c->alloc, &ignored);
    }
    if (!info->request_id[0]) {
        static const char *const ids[] = {"x-amzn-RequestId", "x-amz-request-id"};
        for (size_t i = 0; i < TP_ARRAY_LEN(ids) && !info->request_id[0]; i++)
            header_value(resp, ids[i], info->request_id, sizeof info->request_id);
    }
}

/* The service's clock from the Date header, in ms; -1 when absent. */
static int64_t server_time_ms(const tp_http_response *resp)
{
    char date[64];
    header_value(resp, "Date", date, sizeof date);
    int64_t s = tp_http__parse_date(date);
    return s < 0 ? -1 : s * 1000;
}

static tp_status build_and_sign(tp_aws_conn *c, const tp_aws_req *r, uint32_t attempt,
                                const tp_credentials *creds, tp_sigv4_output *sig,
                                tp_http_header *hh, size_t *n_hh, char *host, size_t host_cap,
                                char *sdk_req, size_t sdk_cap, tp_error *err)
{
    tp_sigv4_header sh[MAX_SEND_HEADERS];
    size_t ns = 0;
    tp_status st;

    if (r->n_headers + 2 > MAX_SEND_HEADERS)
        return tp_error__set(err, TP_E_INVALID, "too many request headers");
    int hn = snprintf(host, host_cap, "%s%s", r->host_prefix ? r->host_prefix : "", c->host);
    if (hn < 0 || (size_t)hn >= host_cap)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "host", "host name too long");

    tp_buf_clear(&c->url);
    st = tp_buf_appendf(&c->url, err, "%s://%s%s%s%s%s", c->scheme, host, c->base_path, r->path,
                        r->query && *r->query ? "?" : "", r->query ? r->query : "");
    if (st != TP_OK)
        return st;
    tp_buf_clear(&c->scratch);
    st = tp_buf_appendf(&c->scratch, err, "%s%s", c->base_path, r->path);
    if (st != TP_OK)
        return st;

    sh[ns].name = tp_cursor_from_str("host");
    sh[ns++].value = tp_cursor_from_str(host);
    for (size_t i = 0; i < r->n_headers; i++) {
        sh[ns].name = tp_cursor_from_str(r->headers[i].name);
        sh[ns++].value = tp_cursor_from_str(r->headers[i].value);
    }
    tp_sigv4_request sr = TP_SIGV4_REQUEST_INIT;
    sr.method = tp_cursor_from_str(r->method);
    sr.path = tp_buf_cursor(&c->scratch);
    /* Views with a non-NULL pointer even when empty (the signer adds offsets to it). */
    sr.query = tp_cursor_from_str(r->query ? r->query : "");
    sr.headers = sh;
    sr.header_count = ns;
    sr.body = r->body.ptr ? r->body : tp_cursor_make("", 0);
    if (r->body_read)
        sr.payload_hash = tp_cursor_from_str("UNSIGNED-PAYLOAD");
    tp_sigv4_config cfg = TP_SIGV4_CONFIG_INIT;
    cfg.flags = c->sign_flags;
    cfg.region = c->region;
    cfg.service = c->service;
    cfg.now_ms = tp_time_now_us() / 1000 + c->skew_ms;
    st = tp_sigv4_sign(c->signer, sig, creds, &sr, &cfg, err);
    if (st != TP_OK)
        return st;

    /* Send: the caller's headers, the signer's, and the SDK attempt header.
     * Host goes out as it was signed (curl would write its own, leaving out
     * a default port such as :443 that the endpoint URL spelled). */
    size_t n = 0;
    hh[n].name = "host";
    hh[n++].value = host;
    for (size_t i = 0; i < r->n_headers; i++)
        hh[n++] = r->headers[i];
    *n_hh = n;
    snprintf(sdk_req, sdk_cap, "attempt=%u; max=%u", attempt, c->max_attempts);
    return TP_OK;
}

/* The error codes that mean "these credentials have expired": STS and most
 * services (ExpiredToken), the JSON services (ExpiredTokenException), and for
 * temporary credentials InvalidClientTokenId (a session token past its life
 * is no longer known) -- the codes the SDKs refresh on. */
static int token_expired(const char *code, const tp_credentials *creds)
{
    if (!strcmp(code, "ExpiredToken") || !strcmp(code, "ExpiredTokenException"))
        return 1;
    return !strcmp(code, "InvalidClientTokenId") && creds && creds->session_token &&
           creds->session_token[0];
}

tp_status tp_aws__call(tp_aws_conn *c, const tp_aws_req *r, tp_http_response *resp,
                       const char *what, tp_error *err)
{
    tp_status st = TP_OK;
    const tp_credentials *creds = NULL;
    tp_aws_errinfo info;
    int32_t last_cost = 0;
    uint32_t attempt = 0;
    int32_t final_http = 0;
    int refreshed = 0;
    memset(&info, 0, sizeof info);
    /* tp_aws__fail keeps a message set during this call (a transport error's),
     * so nothing the caller's err held before may pass for one (an answer
     * without an error body, such as a HEAD's 404, read it otherwise). */
    if (err)
        tp_error_clear(err);
    /* Strings that live in the signer output must outlive the send: copied. */
    enum { NV = TP_SIGV4_OUT_HEADERS_MAX };
    char names[NV][32];
    char *values[NV] = {NULL};

    for (;;) {
        attempt++;
        int64_t now_ms = tp_time_now_us() / 1000;
        tp_credentials_release(creds);
        creds = NULL;
        st = tp_credentials_provider_get(c->creds, &creds, now_ms, err);
        if (st != TP_OK) {
            if (st == TP_E_NOT_FOUND)
                st = tp_error__set(err, TP_E_CREDENTIALS, "%s: no AWS credentials found", what);
            goto done;
        }
        tp_sigv4_output sig;
        tp_http_header hh[MAX_SEND_HEADERS + NV + 1];
        size_t nh = 0;
        char host[320], sdk_req[48];
        st = build_and_sign(c, r, attempt, creds, &sig, hh, &nh, host, sizeof host, sdk_req,
                            sizeof sdk_req, err);
        if (st != TP_OK)
            goto done;
        for (size_t i = 0; i < sig.header_count && i < NV; i++) {
            size_t ln = sig.headers[i].name.len < 31 ? sig.headers[i].name.len : 31;
            memcpy(names[i], sig.headers[i].name.ptr, ln);
            names[i][ln] = 0;
            tp__free(c->alloc, values[i]);
            values[i] = tp__malloc(c->alloc, sig.headers[i].value.len + 1);
            if (!values[i]) {
                st = tp_error__set(err, TP_E_NOMEM, "%s: out of memory", what);
                goto done;
            }
            memcpy(values[i], sig.headers[i].value.ptr, sig.headers[i].value.len);
            values[i][sig.headers[i].value.len] = 0;
            hh[nh].name = names[i];
            hh[nh++].value = values[i];
        }
        hh[nh].name = "amz-sdk-request";
        hh[nh++].value = sdk_req;

        tp_http_request hr = TP_HTTP_REQUEST_INIT;
        hr.method = r->method;
        hr.url = (const char *)c->url.ptr;
        hr.headers = hh;
        hr.n_headers = nh;
        if (r->body_read) {
            hr.body_read = r->body_read;
            hr.body_read_payload = r->body_read_payload;
            hr.body_read_len = r->body_read_len;
        } else if (r->body.ptr || strcmp(r->method, "POST") == 0 || strcmp(r->method, "PUT") == 0) {
            hr.body = r->body.ptr ? r->body.ptr : (const uint8_t *)"";
            hr.body_len = r->body.len;
        }
        hr.sink = r->sink;
        hr.sink_payload = r->sink_payload;

        tp_error terr;
        tp_error_clear(&terr);
        tp_status ts = tp_http_send(c->http, &hr, resp, &terr);
        memset(&info, 0, sizeof info);
        if (ts == TP_OK && resp->status >= 200 && resp->status < 300) {
            tp_retry__quota_release(&c->quota, last_cost);
            st = TP_OK;
            goto done;
        }
        if (ts == TP_OK)
            parse_error(c, resp, &info);
        final_http = ts == TP_OK ? resp->status : terr.http_status;
        int cls = tp_retry__classify(ts, final_http, info.code);

        /* Credentials the service calls expired before their Expiration
         * said (revoked, a clock apart): refresh once and retry, as the SDKs
         * do, rather than fail until the cached expiry passes. */
        if (ts == TP_OK && !refreshed && token_expired(info.code, creds) && !r->body_read &&
            !(r->sink && resp->body_bytes)) {
            refreshed = 1;
            tp_credentials_provider_invalidate(c->creds, creds);
            continue;
        }

        /* The final answer of this attempt, should it be the last. */
        if (ts != TP_OK) {
            if (err)
                *err = terr;
            st = ts;
        } else {
            st = tp_aws__status_for(info.code, resp->status, cls == TP_RETRY_THROTTLE);
        }

        int retry = cls != TP_RETRY_NO && attempt < c->max_attempts && !r->body_read &&
                    !(r->sink && resp->body_bytes && ts != TP_OK);
        uint32_t delay = 0;
        if (retry && cls == TP_RETRY_SKEW) {
            int64_t server = ts == TP_OK ? server_time_ms(resp) : -1;
            int64_t skew = server < 0 ? c->skew_ms : server - tp_time_now_us() / 1000;
            int64_t change = skew - c->skew_ms;
            if (server >= 0 && (change > SKEW_MIN_MS || change < -SKEW_MIN_MS))
                c->skew_ms = skew; /* retried at once, with no quota cost */
            else
                retry = 0;
        } else if (retry) {
            int32_t cost = tp_retry__quota_acquire(&c->quota, cls);
            if (cost == 0) {
                retry = 0;
                if (err && ts == TP_OK) {
                    tp_aws__fail(err, st, resp->status, &info, attempt, what);
                    size_t ml = strlen(err->message);
                    snprintf(err->message + ml, sizeof err->message - ml,
                             " (retry quota exhausted)");
                    goto done;
                }
            } else {
                last_cost = cost;
                delay = tp_retry__backoff_ms(attempt, tp_rng__next01(&c->rng), c->max_backoff_ms);
            }
        }
        if (!retry)
            break;
        if (delay)
            tp__sleep_ms(delay);
    }
    if (st != TP_OK)
        tp_aws__fail(err, st, final_http, &info, attempt, what);
done:
    if (st != TP_OK && err)
        err->attempts = attempt;
    for (size_t i = 0; i < NV; i++)
        tp__free(c->alloc, values[i]);
    tp_credentials_release(creds);
    return st;
}

/* ---- one signed attempt, without waiting ---------------------------------- */

typedef struct aws_started {
    tp_aws_conn *c;
    const tp_credentials *creds; /* what it was signed with */
    tp_aws_outcome_fn done;
    void *payload;
    const uint8_t *body; /* read through body_from_memory */
    size_t body_len, body_off;
} aws_started;

/* The body goes out through a read callback rather than from memory as a
 * whole, for one reason: curl can then not send it a second time on its
 * own. (It silently re-sends an in-memory body on a fresh connection when a
 * reused one closes before any answer; if the service had acted on the
 * first, that is a duplicate nobody counts. Without a way to rewind, curl
 * fails instead, and the caller's retry counts the duplicate it may make.) */
static size_t body_from_memory(void *dst, size_t cap, void *payload)
{
    aws_started *a = payload;
    size_t k = a->body_len - a->body_off < cap ? a->body_len - a->body_off : cap;
    if (k)
        memcpy(dst, a->body + a->body_off, k);
    a->body_off += k;
    return k;
}

static void started_done(tp_status ts, const tp_error *terr, tp_http_response *resp, void *payload)
{
    aws_started *a = payload;
    tp_aws_conn *c = a->c;
    tp_aws_outcome o;
    memset(&o, 0, sizeof o);
    if (ts == TP_OK && resp->status >= 200 && resp->status < 300) {
        o.st = TP_OK;
        o.http_status = resp->status;
    } else {
        if (ts == TP_OK)
            parse_error(c, resp, &o.info);
        else if (terr)
            tp__strlcpy(o.transport, terr->message, sizeof o.transport);
        o.http_status = ts == TP_OK ? resp->status : (terr ? terr->http_status : 0);
        int cls = tp_retry__classify(ts, o.http_status, o.info.code);
        o.st = ts != TP_OK ? ts : tp_aws__status_for(o.info.code, resp->status,
                                                      cls == TP_RETRY_THROTTLE);
        o.retry = cls;
        o.ambiguous = ts != TP_OK;
        if (cls == TP_RETRY_SKEW && ts == TP_OK) {
            int64_t server = server_time_ms(resp);
            if (server >= 0)
                c->skew_ms = server - tp_time_now_us() / 1000;
        }
        if (ts == TP_OK && token_expired(o.info.code, a->creds)) {
            tp_credentials_provider_invalidate(c->creds, a->creds);
            o.retry = TP_RETRY_TRANSIENT;
        }
    }
    tp_aws_outcome_fn done = a->done;
    void *up = a->payload;
    tp_credentials_release(a->creds);
    tp__free(c->alloc, a);
    done(&o, resp, up);
}

tp_status tp_aws__start(tp_aws_conn *c, const tp_aws_req *r, tp_http_response *resp,
                        tp_aws_outcome_fn done, void *payload, tp_error *err)
{
    const tp_credentials *creds = NULL;
    tp_status st = tp_credentials_provider_get(c->creds, &creds, tp_time_now_us() / 1000, err);
    if (st != TP_OK)
        return st == TP_E_NOT_FOUND ? tp_error__set(err, TP_E_CREDENTIALS, "no AWS credentials found")
                                    : st;
    enum { NV = TP_SIGV4_OUT_HEADERS_MAX };
    tp_sigv4_output sig;
    tp_http_header hh[MAX_SEND_HEADERS + NV + 1];
    size_t nh = 0;
    char host[320], sdk_req[48];
    aws_started *a = NULL;
    tp_buf hv;
    tp_buf_init(&hv, c->alloc, 0);
    st = build_and_sign(c, r, 1, creds, &sig, hh, &nh, host, sizeof host, sdk_req, sizeof sdk_req,
                        err);
    /* The signer's headers as NUL-terminated strings (tp_http_start copies). */
    char names[NV][32];
    size_t offs[NV];
    for (size_t i = 0; st == TP_OK && i < sig.header_count && i < NV; i++) {
        size_t ln = sig.headers[i].name.len < 31 ? sig.headers[i].name.len : 31;
        memcpy(names[i], sig.headers[i].name.ptr, ln);
        names[i][ln] = 0;
        offs[i] = hv.len;
        st = tp_buf_append(&hv, sig.headers[i].value.ptr, sig.headers[i].value.len, err);
        if (st == TP_OK)
            st = tp_buf_append(&hv, "", 1, err);
    }
    for (size_t i = 0; st == TP_OK && i < sig.header_count && i < NV; i++) {
        hh[nh].name = names[i];
        hh[nh++].value = (const char *)hv.ptr + offs[i];
    }
    if (st == TP_OK) {
        hh[nh].name = "amz-sdk-request";
        hh[nh++].value = sdk_req;
        a = tp__malloc(c->alloc, sizeof *a);
        if (!a)
            st = tp_error__set(err, TP_E_NOMEM, "out of memory starting a request");
    }
    if (st == TP_OK) {
        a->c = c;
        a->creds = creds;
        a->done = done;
        a->payload = payload;
        tp_http_request hr = TP_HTTP_REQUEST_INIT;
        hr.method = r->method;
        hr.url = (const char *)c->url.ptr;
        hr.headers = hh;
        hr.n_headers = nh;
        a->body = r->body.ptr ? r->body.ptr : (const uint8_t *)"";
        a->body_len = r->body.len;
        a->body_off = 0;
        hr.body_read = body_from_memory;
        hr.body_read_payload = a;
        hr.body_read_len = (int64_t)r->body.len;
        st = tp_http_start(c->http, &hr, resp, started_done, a, err);
        if (st != TP_OK)
            tp__free(c->alloc, a);
        else
            creds = NULL; /* a holds it */
    }
    tp_buf_dispose(&hv);
    tp_credentials_release(creds);
    return st;
}
