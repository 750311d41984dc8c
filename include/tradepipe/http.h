#ifndef TRADEPIPE_HTTP_H
#define TRADEPIPE_HTTP_H

/* Floor 3: an HTTP client over libcurl. One client keeps one connection cache
 * and one DNS cache; requests are blocking (tp_http_send) or several in
 * flight at once (tp_http_start + tp_http_poll). TLS peer and host
 * verification is always on for https:// URLs; plain http:// URLs (local
 * emulators, the metadata endpoints) are used as given. Proxies come from the
 * environment as curl reads them (http_proxy, https_proxy, no_proxy).
 *
 * Thread rule: one thread at a time per tp_http_client. */

#include "tradepipe/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tp_http_client tp_http_client; /* opaque */

typedef struct tp_http_options {
    uint32_t version;           /* TP_HTTP_OPTIONS_VERSION */
    uint32_t connect_timeout_ms; /* 0 = 10 000 */
    uint32_t timeout_ms;        /* whole request; 0 = 60 000 */
    uint32_t max_connections;   /* connection cache size; 0 = 16 */
    size_t max_response_bytes;  /* cap on a buffered response body; 0 = 64 MiB */
    const char *ca_bundle;      /* CA file; NULL = $AWS_CA_BUNDLE, else the system store */
    const tp_allocator *alloc;  /* NULL = malloc/free */
} tp_http_options;
#define TP_HTTP_OPTIONS_VERSION 1
#define TP_HTTP_OPTIONS_INIT    {TP_HTTP_OPTIONS_VERSION, 0, 0, 0, 0, NULL, NULL}

/** Fill `o` with the defaults of options version `version`. @return TP_OK; TP_E_INVALID. */
TP_API tp_status tp_http_options_init(tp_http_options *o, uint32_t version);

/** One request header; both strings are copied by the call that takes them. */
typedef struct tp_http_header {
    const char *name;
    const char *value;
} tp_http_header;

/**
 * Streaming upload: copy up to `cap` bytes of the body into `dst`; return the
 * count, 0 at the end, or TP_HTTP_READ_ABORT to fail the request.
 */
typedef size_t (*tp_http_read_fn)(void *dst, size_t cap, void *payload);
#define TP_HTTP_READ_ABORT ((size_t)-1)
/**
 * Streaming download: consume `len` bytes of a 2xx response body. Return
 * TP_OK to go on; anything else aborts the request with that status.
 */
typedef tp_status (*tp_http_write_fn)(const uint8_t *data, size_t len, void *payload);

/** Ready-made callbacks over a file descriptor; `payload` points to an int fd. */
TP_API size_t tp_http_read_fd(void *dst, size_t cap, void *payload);
TP_API tp_status tp_http_write_fd(const uint8_t *data, size_t len, void *payload);

typedef struct tp_http_request {
    uint32_t version;               /* TP_HTTP_REQUEST_VERSION */
    const char *method;             /* "GET", "PUT", "POST", "HEAD", "DELETE" */
    const char *url;                /* absolute http:// or https:// URL */
    const tp_http_header *headers;  /* n_headers entries */
    size_t n_headers;
    const uint8_t *body;            /* in-memory body (body_len bytes), or */
    size_t body_len;
    tp_http_read_fn body_read;      /* a streamed body of body_read_len bytes */
    void *body_read_payload;
    int64_t body_read_len;          /* -1: unknown (chunked) */
    tp_http_write_fn sink;          /* NULL: a 2xx body is kept in response->body */
    void *sink_payload;
    uint32_t timeout_ms;            /* 0: the client's */
} tp_http_request;
#define TP_HTTP_REQUEST_VERSION 1
#define TP_HTTP_REQUEST_INIT                                                                      \
    {TP_HTTP_REQUEST_VERSION, "GET", NULL, NULL, 0, NULL, 0, NULL, NULL, -1, NULL, NULL, 0}

/** Fill `r` with the defaults (GET, no body). @return TP_OK; TP_E_INVALID. */
TP_API tp_status tp_http_request_init(tp_http_request *r, uint32_t version);

/**
 * A response. `body` holds the body unless the request had a sink and the
 * status was 2xx (then it is empty and `body_bytes` counts what was streamed);
 * error bodies are always kept, so they can be parsed. `headers` holds the
 * final response's header lines ("Name: value\r\n").
 */
typedef struct tp_http_response {
    int32_t status;      /* HTTP status, 0 when none arrived */
    uint64_t body_bytes; /* body bytes received */
    tp_buf body;
    tp_buf headers;
} tp_http_response;

/** Initialise `r` empty, its buffers using `alloc` (NULL: malloc). */
TP_API void tp_http_response_init(tp_http_response *r, const tp_allocator *alloc);
/** Release the buffers; `r` is empty and reusable afterwards. NULL: no-op. */
TP_API void tp_http_response_dispose(tp_http_response *r);
/**
 * Find header `name` (case-insensitive) in `r`; `out` views its value with
 * surrounding blanks trimmed (valid until `r` changes).
 * @return TP_OK; TP_E_NOT_FOUND.
 */
TP_API tp_status tp_http_response_header(const tp_http_response *r, const char *name,
                                         tp_cursor *out);

/** Create a client. @return TP_OK; TP_E_INVALID (bad options); TP_E_NOMEM; TP_E_HTTP. */
TP_API tp_status tp_http_client_new(tp_http_client **out, const tp_http_options *opts,
                                    tp_error *err);
/** Free a client; requests still in flight are abandoned (their callbacks are not called). */
TP_API void tp_http_client_free(tp_http_client *c);

/**
 * Called once when a started request ends: `st` is TP_OK when a response
 * arrived (whatever its status), else TP_E_HTTP (connect, TLS, reset,
 * truncated body), TP_E_TIMEOUT, TP_E_TOO_LARGE (over max_response_bytes),
 * TP_E_NOMEM, or the status a sink returned; `err` details it.
 */
typedef void (*tp_http_done_fn)(tp_status st, const tp_error *err, tp_http_response *resp,
                                void *payload);

/**
 * Start `req` without waiting; it progresses in tp_http_poll. `req` is copied
 * (headers, URL, method) except its body, read callback and sink payloads,
 * which must stay valid until `done` is called. `resp` (initialised) receives
 * the answer. @return TP_OK; TP_E_INVALID; TP_E_NOMEM; TP_E_HTTP.
 */
TP_API tp_status tp_http_start(tp_http_client *c, const tp_http_request *req,
                               tp_http_response *resp, tp_http_done_fn done, void *payload,
                               tp_error *err);
/**
 * Make progress on the requests in flight, waiting up to `wait_ms` for
 * network activity; finished requests' callbacks run from here.
 * @param in_flight (may be NULL) requests still running afterwards.
 * @return TP_OK; TP_E_HTTP when curl itself fails.
 */
TP_API tp_status tp_http_poll(tp_http_client *c, uint32_t wait_ms, size_t *in_flight,
                              tp_error *err);
/**
 * Send `req` and wait for the answer (other requests in flight progress too).
 * @return as the done callback's `st`; on TP_OK `resp->status` is set.
 */
TP_API tp_status tp_http_send(tp_http_client *c, const tp_http_request *req,
                              tp_http_response *resp, tp_error *err);

#ifdef __cplusplus
}
#endif
#endif
