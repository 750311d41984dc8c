/* Floor 3: the HTTP client, the only file that includes curl.h.
 *
 * Every request, blocking or not, runs on the client's curl multi handle, so
 * they all share its connection cache (keep-alive) and DNS cache. Finished
 * easy handles go back to a small pool and are reset before reuse. */
#include "core/core_int.h"
#include "http_int.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

#define DEFAULT_CONNECT_MS   10000u
#define DEFAULT_TIMEOUT_MS   60000u
#define DEFAULT_CONNECTIONS  16u
#define DEFAULT_MAX_RESPONSE ((size_t)64 << 20)
#define MAX_HEADER_BYTES     ((size_t)64 << 10)
#define POOL_MAX             32

typedef struct xfer {
    struct xfer *next, *prev;
    tp_http_client *client;
    CURL *easy;
    struct curl_slist *hdrs;
    tp_http_response *resp;
    tp_http_done_fn done;
    void *payload;
    /* body source */
    const uint8_t *body;
    size_t body_len, body_pos;
    tp_http_read_fn body_read;
    void *body_read_payload;
    int read_aborted;
    /* body sink */
    tp_http_write_fn sink;
    void *sink_payload;
    tp_status sink_status;
    int too_large;
    int headers_too_large;
    int nomem;
    char errbuf[CURL_ERROR_SIZE];
    char what[96]; /* "METHOD scheme://host[:port]" for messages (no path, no query) */
} xfer;

struct tp_http_client {
    const tp_allocator *alloc;
    tp_allocator alloc_copy;
    int has_alloc;
    CURLM *multi;
    uint32_t connect_timeout_ms, timeout_ms;
    size_t max_response;
    char *ca_bundle;
    xfer *active;
    size_t n_active;
    CURL *pool[POOL_MAX];
    size_t n_pool;
};

static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;
static CURLcode g_curl_init_rc = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
    g_curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

const tp_allocator *tp_http__alloc(const tp_http_client *c)
{
    return c->alloc;
}

int64_t tp_http__parse_date(const char *s)
{
    if (!s || !*s)
        return -1;
    time_t t = curl_getdate(s, NULL);
    return t == (time_t)-1 ? -1 : (int64_t)t;
}

TP__DEFINE_INIT(tp_http_options_init, tp_http_options,
                TP_HTTP_OPTIONS_VERSION, TP_HTTP_OPTIONS_INIT)

TP__DEFINE_INIT(tp_http_request_init, tp_http_request,
                TP_HTTP_REQUEST_VERSION, TP_HTTP_REQUEST_INIT)

size_t tp_http_read_fd(void *dst, size_t cap, void *payload)
{
    int fd = *(const int *)payload;
    for (;;) {
        ssize_t n = read(fd, dst, cap);
        if (n >= 0)
            return (size_t)n;
        if (errno != EINTR)
            return TP_HTTP_READ_ABORT;
    }
}

tp_status tp_http_write_fd(const uint8_t *data, size_t len, void *payload)
{
    int fd = *(const int *)payload;
    while (len) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return TP_E_IO;
        }
        data += n;
        len -= (size_t)n;
    }
    return TP_OK;
}

void tp_http_response_init(tp_http_response *r, const tp_allocator *alloc)
{
    r->status = 0;
    r->body_bytes = 0;
    tp_buf_init(&r->body, alloc, 0);
    tp_buf_init(&r->headers, alloc, MAX_HEADER_BYTES);
}

void tp_http_response_dispose(tp_http_response *r)
{
    if (!r)
        return;
    tp_buf_dispose(&r->body);
    tp_buf_dispose(&r->headers);
    r->status = 0;
    r->body_bytes = 0;
}

static int is_blank(uint8_t ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

tp_status tp_http_response_header(const tp_http_response *r, const char *name, tp_cursor *out)
{
    size_t nlen = name ? strlen(name) : 0;
    const uint8_t *p = r ? r->headers.ptr : NULL;
    const uint8_t *end = p ? p + r->headers.len : NULL;
    while (p && p < end) {
        const uint8_t *eol = memchr(p, '\n', (size_t)(end - p));
        const uint8_t *line_end = eol ? eol : end;
        const uint8_t *colon = memchr(p, ':', (size_t)(line_end - p));
        if (colon && (size_t)(colon - p) == nlen && strncasecmp((const char *)p, name, nlen) == 0) {
            const uint8_t *v = colon + 1, *ve = line_end;
            while (v < ve && is_blank(*v))
                v++;
            while (ve > v && is_blank(ve[-1]))
                ve--;
            if (out)
                *out = tp_cursor_make(v, (size_t)(ve - v));
            return TP_OK;
        }
        p = eol ? eol + 1 : end;
    }
    return TP_E_NOT_FOUND;
}

tp_status tp_http_client_new(tp_http_client **out, const tp_http_options *opts, tp_error *err)
{
    tp_http_options o = TP_HTTP_OPTIONS_INIT;
    tp_http_client *c = NULL;
    tp_status st = TP_OK;

    if (!out)
        return tp_error__set(err, TP_E_INVALID, "tp_http_client_new: out is NULL");
    *out = NULL;
    if (opts) {
        if (opts->version != TP_HTTP_OPTIONS_VERSION)
            return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "version",
                                "unknown tp_http_options version %u", opts->version);
        o = *opts;
    }
    pthread_once(&g_curl_once, curl_init_once);
    if (g_curl_init_rc != CURLE_OK)
        return tp_error__set(err, TP_E_HTTP, "curl_global_init failed: %s",
                             curl_easy_strerror(g_curl_init_rc));

    c = tp__calloc(o.alloc, 1, sizeof *c);
    if (!c)
        return tp_error__set(err, TP_E_NOMEM, "out of memory creating an HTTP client");
    if (o.alloc) {
        c->alloc_copy = *o.alloc;
        c->alloc = &c->alloc_copy;
        c->has_alloc = 1;
    }
    c->connect_timeout_ms = o.connect_timeout_ms ? o.connect_timeout_ms : DEFAULT_CONNECT_MS;
    c->timeout_ms = o.timeout_ms ? o.timeout_ms : DEFAULT_TIMEOUT_MS;
    c->max_response = o.max_response_bytes ? o.max_response_bytes : DEFAULT_MAX_RESPONSE;
    const char *ca = o.ca_bundle;
    if (!ca) {
        ca = getenv("AWS_CA_BUNDLE");
        if (ca && !*ca)
            ca = NULL;
    }
    if (ca) {
        size_t n = strlen(ca);
        c->ca_bundle = tp__malloc(c->alloc, n + 1);
        if (!c->ca_bundle) {
            st = tp_error__set(err, TP_E_NOMEM, "out of memory creating an HTTP client");
            goto done;
        }
        memcpy(c->ca_bundle, ca, n + 1);
    }
    c->multi = curl_multi_init();
    if (!c->multi) {
        st = tp_error__set(err, TP_E_HTTP, "curl_multi_init failed");
        goto done;
    }
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS,
                      (long)(o.max_connections ? o.max_connections : DEFAULT_CONNECTIONS));
done:
    if (st != TP_OK) {
        tp_http_client_free(c);
        return st;
    }
    *out = c;
    return TP_OK;
}

static void xfer_free(tp_http_client *c, xfer *x)
{
    if (x->easy) {
        curl_multi_remove_handle(c->multi, x->easy);
        if (c->n_pool < POOL_MAX)
            c->pool[c->n_pool++] = x->easy;
        else
            curl_easy_cleanup(x->easy);
    }
    curl_slist_free_all(x->hdrs);
    tp__free(c->alloc, x);
}

static void xfer_unlink(tp_http_client *c, xfer *x)
{
    if (x->prev)
        x->prev->next = x->next;
    else
        c->active = x->next;
    if (x->next)
        x->next->prev = x->prev;
    x->next = x->prev = NULL;
    c->n_active--;
}

void tp_http_client_free(tp_http_client *c)
{
    if (!c)
        return;
    while (c->active) {
        xfer *x = c->active;
        xfer_unlink(c, x);
        xfer_free(c, x);
    }
    for (size_t i = 0; i < c->n_pool; i++)
        curl_easy_cleanup(c->pool[i]);
    if (c->multi)
        curl_multi_cleanup(c->multi);
    tp__free(c->alloc, c->ca_bundle);
    const tp_allocator *a = c->has_alloc ? &c->alloc_copy : NULL;
    tp_allocator copy;
    if (a) {
        copy = *a;
        a = &copy;
    }
    tp__free(a, c);
}

/* ---- curl callbacks ------------------------------------------------------ */

/* Append what curl handed over to `b`: its length, or 0 (curl then stops
 * the transfer) with x->nomem or *too_large set. */
static size_t keep(xfer *x, tp_buf *b, const char *data, size_t len, int *too_large)
{
    tp_status st = tp_buf_append(b, data, len, NULL);
    if (st == TP_OK)
        return len;
    if (st == TP_E_NOMEM)
        x->nomem = 1;
    else
        *too_large = 1;
    return 0;
}

int tp_http__header_line(tp_http_response *r, const char *data, size_t len)
{
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        /* A new status line: an interim 100 Continue or the final answer.
         * Keep only the last response's headers. */
        tp_buf_clear(&r->headers);
        const char *sp = memchr(data, ' ', len);
        long code = 0;
        if (sp) {
            size_t i = (size_t)(sp - data) + 1;
            for (int k = 0; k < 3 && i < len && data[i] >= '0' && data[i] <= '9'; k++, i++)
                code = code * 10 + (data[i] - '0');
        }
        r->status = (int32_t)code;
        return 0;
    }
    if (len <= 2 && (len == 0 || data[0] == '\r' || data[0] == '\n'))
        return 0;
    tp_status st = tp_buf_append(&r->headers, data, len, NULL);
    if (st != TP_OK)
        return st == TP_E_NOMEM ? 1 : 2;
    return 0;
}

static size_t on_header(char *data, size_t size, size_t n, void *p)
{
    xfer *x = p;
    size_t len = size * n;
    int rc = tp_http__header_line(x->resp, data, len);
    if (rc == 1)
        x->nomem = 1;
    else if (rc == 2)
        x->headers_too_large = 1;
    return rc ? 0 : len;
}

static size_t on_write(char *data, size_t size, size_t n, void *p)
{
    xfer *x = p;
    size_t len = size * n;
    tp_http_response *r = x->resp;
    r->body_bytes += len;
    if (x->sink && r->status >= 200 && r->status < 300) {
        tp_status st = x->sink((const uint8_t *)data, len, x->sink_payload);
        if (st != TP_OK) {
            x->sink_status = st;
            return 0;
        }
        return len;
    }
    if (r->body.len + len > x->client->max_response || r->body.len + len < r->body.len) {
        x->too_large = 1;
        return 0;
    }
    return keep(x, &r->body, data, len, &x->too_large);
}

static size_t on_read(char *dst, size_t size, size_t n, void *p)
{
    xfer *x = p;
    size_t cap = size * n;
    if (x->body_read) {
        size_t got = x->body_read(dst, cap, x->body_read_payload);
        if (got == TP_HTTP_READ_ABORT || got > cap) {
            x->read_aborted = 1;
            return CURL_READFUNC_ABORT;
        }
        return got;
    }
    size_t left = x->body_len - x->body_pos;
    size_t k = left < cap ? left : cap;
    if (k)
        memcpy(dst, x->body + x->body_pos, k);
    x->body_pos += k;
    return k;
}

/* curl rewinds an in-memory body when it retries on a fresh connection after
 * a reused one turned out closed; a streamed body cannot be rewound. */
static int on_seek(void *p, curl_off_t off, int origin)
{
    xfer *x = p;
    if (x->body_read || origin != SEEK_SET || off < 0 || (uint64_t)off > x->body_len)
        return CURL_SEEKFUNC_CANTSEEK;
    x->body_pos = (size_t)off;
    return CURL_SEEKFUNC_OK;
}

/* ---- starting and finishing ---------------------------------------------- */

static void describe(xfer *x, const char *method, const char *url)
{
    /* Method and origin only: paths and query strings may carry presigned
     * credentials or object keys the caller does not want in logs. */
    const char *p = strstr(url, "://");
    size_t n = p ? (size_t)(p - url) + 3 : 0;
    if (p) {
        const char *q = p + 3;
        while (*q && *q != '/' && *q != '?' && *q != '#')
            q++;
        n = (size_t)(q - url);
    }
    snprintf(x->what, sizeof x->what, "%s %.*s", method, (int)(n > 80 ? 80 : n), url);
}

static int valid_token(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (*s <= ' ' || *s == ':' || (unsigned char)*s >= 0x7f)
            return 0;
    return 1;
}

static int valid_value(const char *s)
{
    if (!s)
        return 0;
    for (; *s; s++)
        if (*s == '\r' || *s == '\n')
            return 0;
    return 1;
}

tp_status tp_http_start(tp_http_client *c, const tp_http_request *req, tp_http_response *resp,
                        tp_http_done_fn done, void *payload, tp_error *err)
{
    xfer *x = NULL;
    tp_status st = TP_OK;
    tp_buf line;
    tp_buf_init(&line, c ? c->alloc : NULL, 0);

    if (!c || !req || !resp)
        return tp_error__set(err, TP_E_INVALID, "tp_http_start: NULL argument");
    if (req->version != TP_HTTP_REQUEST_VERSION)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "version",
                            "unknown tp_http_request version %u", req->version);
    if (!req->url || (strncmp(req->url, "http://", 7) != 0 && strncmp(req->url, "https://", 8) != 0))
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "url",
                            "URL must start with http:// or https://");
    if (!valid_token(req->method))
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "method", "bad HTTP method");
    if (req->body && req->body_read)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "body",
                            "a request has an in-memory body or a read callback, not both");

    x = tp__calloc(c->alloc, 1, sizeof *x);
    if (!x)
        return tp_error__set(err, TP_E_NOMEM, "out of memory starting an HTTP request");
    x->client = c;
    x->resp = resp;
    x->done = done;
    x->payload = payload;
    x->body = req->body;
    x->body_len = req->body ? req->body_len : 0;
    x->body_read = req->body_read;
    x->body_read_payload = req->body_read_payload;
    x->sink = req->sink;
    x->sink_payload = req->sink_payload;
    describe(x, req->method, req->url);

    for (size_t i = 0; i < req->n_headers; i++) {
        const tp_http_header *h = &req->headers[i];
        if (!valid_token(h->name) || !valid_value(h->value)) {
            st = tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "headers",
                              "bad HTTP header at index %zu", i);
            goto done;
        }
        tp_buf_clear(&line);
        st = tp_buf_appendf(&line, err, "%s: %s", h->name, h->value);
        if (st != TP_OK)
            goto done;
        struct curl_slist *nl = curl_slist_append(x->hdrs, (const char *)line.ptr);
        if (!nl) {
            st = tp_error__set(err, TP_E_NOMEM, "out of memory building HTTP headers");
            goto done;
        }
        x->hdrs = nl;
    }
    /* No "Expect: 100-continue" round trip, no curl default Accept, and no
     * form Content-Type that the caller did not ask for. */
    int has_ctype = 0;
    for (size_t i = 0; i < req->n_headers; i++)
        has_ctype |= strcasecmp(req->headers[i].name, "content-type") == 0;
    static const char *const extra[] = {"Expect:", "Accept:", "Content-Type:"};
    for (size_t i = 0; i < TP_ARRAY_LEN(extra) - (size_t)has_ctype; i++) {
        struct curl_slist *nl = curl_slist_append(x->hdrs, extra[i]);
        if (!nl) {
            st = tp_error__set(err, TP_E_NOMEM, "out of memory building HTTP headers");
            goto done;
        }
        x->hdrs = nl;
    }

    if (c->n_pool) {
        x->easy = c->pool[--c->n_pool];
        curl_easy_reset(x->easy);
    } else {
        x->easy = curl_easy_init();
        if (!x->easy) {
            st = tp_error__set(err, TP_E_NOMEM, "curl_easy_init failed");
            goto done;
        }
    }
    CURL *e = x->easy;
    uint32_t timeout = req->timeout_ms ? req->timeout_ms : c->timeout_ms;
    int is_head = strcmp(req->method, "HEAD") == 0;
    int has_body = req->body != NULL || req->body_read != NULL;
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (rc == CURLE_OK)                                                                        \
            rc = curl_easy_setopt(e, opt, val);                                                    \
    } while (0)
    SET(CURLOPT_URL, req->url);
    /* The request line carries the path as given, byte for byte: a signed
     * request is signed over it (curl would otherwise squash "/a/../b" and
     * "./" segments after signing). */
    SET(CURLOPT_PATH_AS_IS, 1L);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    SET(CURLOPT_CONNECTTIMEOUT_MS, (long)(c->connect_timeout_ms < timeout ? c->connect_timeout_ms
                                                                           : timeout));
    SET(CURLOPT_TIMEOUT_MS, (long)timeout);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->ca_bundle)
        SET(CURLOPT_CAINFO, c->ca_bundle);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    /* Fewer, larger reads for answers of tens of KB (PutRecords, GetRecords). */
    SET(CURLOPT_BUFFERSIZE, 256L * 1024L);
    SET(CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024L);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_ERRORBUFFER, x->errbuf);
    SET(CURLOPT_PRIVATE, (void *)x);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, (void *)x);
    SET(CURLOPT_WRITEFUNCTION, on_write);
    SET(CURLOPT_WRITEDATA, (void *)x);
    SET(CURLOPT_HTTPHEADER, x->hdrs);
    if (is_head) {
        SET(CURLOPT_NOBODY, 1L);
    } else if (req->body) {
        /* In-memory bodies go out straight from the caller's memory. */
        SET(CURLOPT_POSTFIELDS, (const char *)req->body);
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        SET(CURLOPT_CUSTOMREQUEST, req->method);
    } else if (has_body) {
        SET(CURLOPT_UPLOAD, 1L);
        SET(CURLOPT_READFUNCTION, on_read);
        SET(CURLOPT_READDATA, (void *)x);
        SET(CURLOPT_SEEKFUNCTION, on_seek);
        SET(CURLOPT_SEEKDATA, (void *)x);
        curl_off_t size = req->body ? (curl_off_t)req->body_len : (curl_off_t)req->body_read_len;
        SET(CURLOPT_INFILESIZE_LARGE, size);
        SET(CURLOPT_CUSTOMREQUEST, req->method);
    } else if (strcmp(req->method, "GET") == 0) {
        SET(CURLOPT_HTTPGET, 1L);
    } else if (strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0) {
        /* An empty body still says Content-Length: 0. */
        SET(CURLOPT_POSTFIELDS, "");
        SET(CURLOPT_POSTFIELDSIZE, 0L);
        SET(CURLOPT_CUSTOMREQUEST, req->method);
    } else {
        SET(CURLOPT_CUSTOMREQUEST, req->method);
    }
#undef SET
    if (rc != CURLE_OK) {
        st = tp_error__set(err, rc == CURLE_OUT_OF_MEMORY ? TP_E_NOMEM : TP_E_HTTP,
                           "%s: setting up the request failed: %s", x->what,
                           curl_easy_strerror(rc));
        goto done;
    }
    resp->status = 0;
    resp->body_bytes = 0;
    tp_buf_clear(&resp->body);
    tp_buf_clear(&resp->headers);
    CURLMcode mrc = curl_multi_add_handle(c->multi, e);
    if (mrc != CURLM_OK) {
        st = tp_error__set(err, mrc == CURLM_OUT_OF_MEMORY ? TP_E_NOMEM : TP_E_HTTP,
                           "%s: curl_multi_add_handle failed: %s", x->what,
                           curl_multi_strerror(mrc));
        goto done;
    }
    x->next = c->active;
    if (c->active)
        c->active->prev = x;
    c->active = x;
    c->n_active++;
    x = NULL;
done:
    tp_buf_dispose(&line);
    if (x) {
        if (x->easy) {
            /* never added to the multi handle: only pool it */
            if (c->n_pool < POOL_MAX)
                c->pool[c->n_pool++] = x->easy;
            else
                curl_easy_cleanup(x->easy);
            x->easy = NULL;
        }
        curl_slist_free_all(x->hdrs);
        tp__free(c->alloc, x);
    }
    return st;
}

static void finish(tp_http_client *c, xfer *x, CURLcode rc)
{
    tp_error e;
    tp_status st = TP_OK;
    tp_error_clear(&e);
    tp_http_response *r = x->resp;
    const char *why = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);

    if (rc == CURLE_OK) {
        long code = 0;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
        r->status = (int32_t)code;
    } else if (x->too_large) {
        st = tp_error__set(&e, TP_E_TOO_LARGE, "%s: response body over the limit of %zu bytes",
                           x->what, c->max_response);
    } else if (x->headers_too_large) {
        st = tp_error__set(&e, TP_E_TOO_LARGE, "%s: response headers over %zu bytes", x->what,
                           MAX_HEADER_BYTES);
    } else if (x->nomem) {
        st = tp_error__set(&e, TP_E_NOMEM, "%s: out of memory buffering the response", x->what);
    } else if (x->sink_status != TP_OK) {
        st = tp_error__set(&e, x->sink_status, "%s: the response sink failed (%s)", x->what,
                           tp_strerror(x->sink_status));
    } else if (x->read_aborted || rc == CURLE_ABORTED_BY_CALLBACK) {
        st = tp_error__set(&e, TP_E_IO, "%s: the request body callback failed", x->what);
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        st = tp_error__set(&e, TP_E_TIMEOUT, "%s: %s", x->what, why);
    } else if (rc == CURLE_OUT_OF_MEMORY) {
        st = tp_error__set(&e, TP_E_NOMEM, "%s: %s", x->what, why);
    } else {
        st = tp_error__set(&e, TP_E_HTTP, "%s: %s (curl error %d)", x->what, why, (int)rc);
    }
    if (st != TP_OK)
        e.http_status = r->status;
    tp_http_done_fn done = x->done;
    void *payload = x->payload;
    xfer_unlink(c, x);
    xfer_free(c, x);
    if (done)
        done(st, &e, r, payload);
}

static tp_status drain(tp_http_client *c)
{
    CURLMsg *m;
    int left = 0;
    while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        xfer *x = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        if (x)
            finish(c, x, m->data.result);
    }
    return TP_OK;
}

void tp_http__wakeup(tp_http_client *c)
{
    if (c)
        curl_multi_wakeup(c->multi);
}

tp_status tp_http_poll(tp_http_client *c, uint32_t wait_ms, size_t *in_flight, tp_error *err)
{
    int running = 0;
    if (!c)
        return tp_error__set(err, TP_E_INVALID, "tp_http_poll: client is NULL");
    CURLMcode mrc = curl_multi_perform(c->multi, &running);
    if (mrc == CURLM_OK)
        drain(c);
    if (mrc == CURLM_OK && c->n_active && wait_ms) {
        mrc = curl_multi_poll(c->multi, NULL, 0, (int)(wait_ms > 60000 ? 60000 : wait_ms), NULL);
        if (mrc == CURLM_OK)
            mrc = curl_multi_perform(c->multi, &running);
        if (mrc == CURLM_OK)
            drain(c);
    }
    if (in_flight)
        *in_flight = c->n_active;
    if (mrc != CURLM_OK)
        return tp_error__set(err, mrc == CURLM_OUT_OF_MEMORY ? TP_E_NOMEM : TP_E_HTTP,
                             "curl multi: %s", curl_multi_strerror(mrc));
    return TP_OK;
}

typedef struct {
    int finished;
    tp_status st;
    tp_error err;
} send_state;

static void send_done(tp_status st, const tp_error *err, tp_http_response *resp, void *payload)
{
    (void)resp;
    send_state *s = payload;
    s->finished = 1;
    s->st = st;
    if (err)
        s->err = *err;
}

tp_status tp_http_send(tp_http_client *c, const tp_http_request *req, tp_http_response *resp,
                       tp_error *err)
{
    send_state s;
    memset(&s, 0, sizeof s);
    tp_error_clear(&s.err);
    tp_status st = tp_http_start(c, req, resp, send_done, &s, err);
    if (st != TP_OK)
        return st;
    /* curl's own timeouts end every transfer, so this loop ends too. */
    while (!s.finished) {
        st = tp_http_poll(c, 1000, NULL, err);
        if (st != TP_OK) {
            /* `s` lives on this stack: the transfer must not outlive it. */
            for (xfer *x = c->active; x; x = x->next) {
                if (x->payload == &s && x->done == send_done) {
                    xfer_unlink(c, x);
                    xfer_free(c, x);
                    break;
                }
            }
            return st;
        }
    }
    if (s.st != TP_OK && err)
        *err = s.err;
    return s.st;
}
