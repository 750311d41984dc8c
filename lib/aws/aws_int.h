#ifndef TP_AWS_INT_H
#define TP_AWS_INT_H

/* Internals of the AWS protocol layer (lib/aws_*.c): error parsing for AWS
 * JSON 1.0/1.1 and S3 REST-XML, an XML walker over expat, and the signed,
 * retried call every service client makes. Not installed. */

#include "core/core_int.h"
#include "http_int.h"
#include "retry_int.h"
#include "tradepipe/aws.h"
#include "tradepipe/sigv4.h"

#include <jansson.h>

/* What a service said about a failed call. */
typedef struct tp_aws_errinfo {
    char code[TP_ERROR_AWS_MAX];
    char message[TP_ERROR_MESSAGE_MAX];
    char request_id[TP_ERROR_REQID_MAX];
} tp_aws_errinfo;

/* Copy an AWS error code into `dst`: the part after the last '#' (a
 * namespace prefix such as "com.amazonaws.kinesis.v20131202#"), cut at the
 * first ':' (x-amzn-ErrorType carries ":http://internal..." suffixes), blanks
 * trimmed, non-printable bytes dropped. */
void tp_aws__norm_code(char *dst, size_t cap, const char *src, size_t len);

/*
 * The error of an AWS JSON 1.0/1.1 answer. The code comes from the
 * x-amzn-query-error header ("Code;Sender"), else x-amzn-ErrorType, else the
 * body's "__type" (else "code"/"Code"); the message from "message", else
 * "Message", else "errorMessage". Any header may be an empty view.
 * @return TP_OK when a code was found; TP_E_NOT_FOUND when none was (the
 *         message may still be set); TP_E_PARSE when the body is neither
 *         empty nor a JSON object and no header named the code (err->offset
 *         set). `out` is always filled as far as possible.
 */
tp_status tp_aws__json_error(tp_aws_errinfo *out, tp_cursor body, tp_cursor error_type_header,
                             tp_cursor query_error_header, tp_error *err);

/* ---- XML ---------------------------------------------------------------- */

/* Called for every element end: `path` is "Root/Child/Leaf" (element local
 * names joined with '/'), `text` the element's own character data (only
 * meaningful when `leaf`: it had no child elements). Return TP_OK to go on. */
typedef tp_status (*tp_xml_fn)(void *payload, const char *path, size_t depth, tp_cursor text,
                               int leaf, tp_error *err);

#define TP_XML_MAX_DEPTH 32

/*
 * Walk `xml` with expat, calling `fn` at every element end. DOCTYPE
 * declarations are refused (no entity expansion at all); nesting deeper than
 * TP_XML_MAX_DEPTH and text over 1 MiB per element are refused.
 * @return TP_OK; TP_E_PARSE (expat's message, err->offset the byte,
 *         err->line the line); TP_E_TOO_LARGE; TP_E_NOMEM; fn's failures.
 */
tp_status tp_xml__walk(tp_cursor xml, tp_xml_fn fn, void *payload, const tp_allocator *alloc,
                       tp_error *err);

/*
 * An S3 error body: <Error><Code/><Message/><RequestId/></Error>.
 * @return TP_OK when a Code was found; TP_E_NOT_FOUND (well-formed, no
 *         Error/Code); TP_E_PARSE (malformed, err->offset); TP_E_NOMEM.
 */
tp_status tp_aws__s3_error(tp_aws_errinfo *out, tp_cursor body, const tp_allocator *alloc,
                           tp_error *err);

/* ---- the signed, retried call ------------------------------------------ */

/* Error-body dialects */
#define TP_AWS_PROTO_JSON 0 /* AWS JSON 1.0/1.1 (Kinesis, DynamoDB, STS JSON) */
#define TP_AWS_PROTO_XML  1 /* REST-XML (S3) */

/* What a service client keeps: HTTP client, credentials, signer, endpoint,
 * retry state. One thread at a time (as the owning client). */
typedef struct tp_aws_conn {
    const tp_allocator *alloc;
    tp_allocator alloc_copy;
    tp_http_client *http;
    tp_credentials_provider *creds;
    int own_creds;
    tp_sigv4_signer *signer;
    const char *service; /* signing name: "kinesis", "dynamodb", "s3" */
    int protocol;        /* TP_AWS_PROTO_* */
    uint32_t sign_flags; /* TP_SIGV4_* for every request */
    char region[TP_REGION_MAX];
    char endpoint[TP_ENDPOINT_MAX];
    char scheme[8];      /* "http" / "https" */
    char host[256];      /* host[:port] of the endpoint */
    char base_path[256]; /* the endpoint's own path, "" or "/prefix" */
    int32_t custom_endpoint;
    uint32_t max_attempts, max_backoff_ms;
    tp_retry_quota quota;
    tp_rng rng;
    int64_t skew_ms; /* server clock minus ours, learned from skew errors */
    tp_buf url, scratch;
} tp_aws_conn;

/* Set up `c` for `service` from `o` (NULL: defaults): region, endpoint,
 * credentials (the default chain when none is given), HTTP client,
 * signer, retry settings.
 * @return TP_OK; TP_E_CONFIG; TP_E_INVALID; TP_E_NOMEM; TP_E_HTTP. */
tp_status tp_aws__conn_init(tp_aws_conn *c, const char *service, int protocol,
                            uint32_t sign_flags, const tp_aws_client_options *o, tp_error *err);
void tp_aws__conn_dispose(tp_aws_conn *c);

typedef struct tp_aws_req {
    const char *method;
    const char *path;        /* wire form (percent-encoded), starts with '/' */
    const char *query;       /* wire form without '?', NULL or "" for none */
    const char *host_prefix; /* e.g. "bucket." for S3 virtual-hosted style; NULL */
    const tp_http_header *headers; /* signed and sent (content-type, x-amz-target, ...) */
    size_t n_headers;
    tp_cursor body;
    tp_http_read_fn body_read; /* streamed body (signed UNSIGNED-PAYLOAD, never retried) */
    void *body_read_payload;
    int64_t body_read_len;
    tp_http_write_fn sink; /* streamed 2xx body */
    void *sink_payload;
} tp_aws_req;

/*
 * Sign and send `r`, retrying as the standard policy says. `resp`
 * (initialised by the caller) holds the last answer. `what` names the
 * operation in errors ("Kinesis.PutRecord").
 * @return TP_OK (a 2xx answer); TP_E_NOT_FOUND, TP_E_EXISTS, TP_E_CONDITION,
 *         TP_E_THROTTLED or TP_E_AWS for service errors, TP_E_HTTP /
 *         TP_E_TIMEOUT for transport ones, each with err->http_status,
 *         aws_code, message, request_id and attempts set; TP_E_CREDENTIALS;
 *         TP_E_NOMEM.
 */
tp_status tp_aws__call(tp_aws_conn *c, const tp_aws_req *r, tp_http_response *resp,
                       const char *what, tp_error *err);

/* ---- one signed attempt, without waiting --------------------------------- */

/* How one attempt ended, for a caller that owns its retries (the producer). */
typedef struct tp_aws_outcome {
    tp_status st;          /* TP_OK: a 2xx answer is in the response */
    int retry;             /* TP_RETRY_*: NO for a final failure (or success) */
    int ambiguous;         /* the request may have been acted on though no answer
                              came back (a timeout or reset after sending) */
    int32_t http_status;   /* 0 when no answer came */
    tp_aws_errinfo info;   /* the service's error, when it answered one */
    char transport[TP_ERROR_MESSAGE_MAX]; /* the transport failure, when one */
} tp_aws_outcome;

/* Called once from tp_http_poll on the connection's HTTP client. */
typedef void (*tp_aws_outcome_fn)(const tp_aws_outcome *o, tp_http_response *resp,
                                  void *payload);

/*
 * Sign `r` now and start it on c->http (tp_http_start): it progresses in
 * tp_http_poll(c->http, ...), which calls `done` once. No retry is made;
 * the outcome says whether one may be (throttled, 5xx, transport, skew --
 * the clock correction is learned as tp_aws__call learns it --, expired
 * credentials, which are invalidated for the next signing). `r->body` must
 * stay valid until `done` runs; `resp` (initialised) receives the answer.
 * The body is sent at most once: where curl would re-send it by itself (a
 * reused connection closed before any answer), the attempt fails instead,
 * as ambiguous, so the caller knows a retry may duplicate.
 * @return TP_OK (started); TP_E_CREDENTIALS; TP_E_INVALID; TP_E_NOMEM;
 *         TP_E_HTTP (then `done` is never called).
 */
tp_status tp_aws__start(tp_aws_conn *c, const tp_aws_req *r, tp_http_response *resp,
                        tp_aws_outcome_fn done, void *payload, tp_error *err);

/* Map an AWS error code (and status) to the tp_status a caller sees. */
tp_status tp_aws__status_for(const char *code, int32_t http_status, int throttled);

/* ---- AWS JSON 1.0/1.1 calls ---------------------------------------------- */

/*
 * POST `body` (a JSON document) with X-Amz-Target: `target` and Content-Type
 * application/x-amz-json-`json_version` ("1.0", "1.1"), then parse the 2xx
 * answer into *out (an empty body gives an empty object).
 * @return as tp_aws__call; TP_E_PARSE (answer not a JSON object: offset).
 */
tp_status tp_aws__json_call(tp_aws_conn *c, const char *json_version, const char *target,
                            tp_cursor body, json_t **out, tp_error *err);
/* As tp_aws__json_call, the 2xx answer left unparsed in `resp` (initialised
 * by the caller; reusable across calls). */
tp_status tp_aws__json_call_raw(tp_aws_conn *c, const char *json_version, const char *target,
                                tp_cursor body, tp_http_response *resp, tp_error *err);
/* Parse a 2xx answer body as tp_aws__json_call does. */
tp_status tp_aws__json_parse_answer(tp_cursor body, const char *target, int32_t http_status,
                                    json_t **out, tp_error *err);
/* As tp_aws__json_call, with the body built by jansson. */
tp_status tp_aws__json_call_obj(tp_aws_conn *c, const char *json_version, const char *target,
                                json_t *body, json_t **out, tp_error *err);

/* Typed getters that fill `err` naming the field when it is missing/wrong. */
tp_status tp_aws__get_str(json_t *o, const char *key, int required, const char **out,
                          tp_error *err);
tp_status tp_aws__get_int(json_t *o, const char *key, int required, int64_t *out,
                          tp_error *err);
/* An epoch-seconds timestamp (integer or with a fraction) as ms. */
tp_status tp_aws__get_epoch_ms(json_t *o, const char *key, int required, int64_t *out,
                               tp_error *err);
/* Copy a string field into a fixed array; too long is TP_E_RANGE. */
tp_status tp_aws__copy_str(json_t *o, const char *key, int required, char *dst, size_t cap,
                           tp_error *err);

/* Fill `err` with the final detail of a failed AWS call. */
tp_status tp_aws__fail(tp_error *err, tp_status st, int32_t http_status,
                       const tp_aws_errinfo *info, uint32_t attempts, const char *what);

#endif
