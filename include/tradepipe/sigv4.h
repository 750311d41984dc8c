#ifndef TRADEPIPE_SIGV4_H
#define TRADEPIPE_SIGV4_H

/* Floor 2: AWS Signature Version 4 (pure: no I/O, no global state).
 *
 * Two forms:
 *  - tp_sigv4_sign: the Authorization header form. It returns the headers to
 *    add to the request (X-Amz-Security-Token, X-Amz-Date,
 *    x-amz-content-sha256, Authorization, in that order, only those that
 *    apply);
 *  - tp_sigv4_presign: the query-string form (a presigned URL with an
 *    expiry). It appends the request target (path?query) to a buffer.
 *
 * The request is described in wire form: the path and the query exactly as
 * they will be sent (already percent-encoded, as a client sends them). The
 * signer canonicalizes from there as AWS specifies:
 *  - path: dot segments and empty segments removed, then percent-encoded
 *    once more ("double encoding"), except with TP_SIGV4_S3, where the path
 *    is signed as given (only bytes that cannot appear in a URI at all, such
 *    as a space or a non-ASCII byte, are percent-encoded);
 *  - query: split on '&' and '=', each name and value percent-decoded and
 *    re-encoded (RFC 3986 unreserved characters kept, everything else %XX in
 *    upper case; '+' is a literal plus), sorted by name then value, duplicates
 *    and empty values kept;
 *  - headers: names lower-cased, values trimmed of spaces and tabs at both
 *    ends with inner runs of spaces folded to one, repeated names joined with
 *    ',' in the order given, sorted by name. Every header passed is signed:
 *    pass only the headers to sign (Host is required).
 *
 * The derived signing key is cached in the signer per (secret, date, region,
 * service); the steady path (same key, buffers warmed up) allocates nothing.
 * The canonical request and the string to sign of the last call are kept for
 * debugging; the secret key and the signing key never appear in them, in
 * errors or anywhere else (the session token does appear in the canonical
 * request, as the specification requires). */

#include "tradepipe/core.h"
#include "tradepipe/credentials.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A header: name and value views (no NUL needed). */
typedef struct tp_sigv4_header {
    tp_cursor name;
    tp_cursor value;
} tp_sigv4_header;

/* tp_sigv4_config.flags */
/** S3 rules: path neither normalized nor re-encoded, x-amz-content-sha256 added and signed. */
#define TP_SIGV4_S3 0x01u
/** Keep '.', '..' and empty path segments (path still re-encoded unless TP_SIGV4_S3). */
#define TP_SIGV4_NO_PATH_NORMALIZE 0x02u
/** Sign the path as given, without the second percent-encoding (implied by TP_SIGV4_S3). */
#define TP_SIGV4_NO_DOUBLE_ENCODE 0x04u
/** Add and sign x-amz-content-sha256 with the payload hash (implied by TP_SIGV4_S3). */
#define TP_SIGV4_CONTENT_SHA256 0x08u
/** Use "UNSIGNED-PAYLOAD" as the payload hash (the body is not hashed). */
#define TP_SIGV4_UNSIGNED_PAYLOAD 0x10u
/** Add the session token after signing, outside the signature (some services want this). */
#define TP_SIGV4_OMIT_SESSION_TOKEN 0x20u

/** Default and maximum presigned-URL lifetime (seconds). */
#define TP_SIGV4_DEFAULT_EXPIRES_S 3600
#define TP_SIGV4_MAX_EXPIRES_S     604800

/**
 * How to sign: region, service, time and flags. Per call, so one signer can
 * serve several services.
 */
typedef struct tp_sigv4_config {
    uint32_t version;    /* TP_SIGV4_CONFIG_VERSION */
    uint32_t flags;      /* TP_SIGV4_* */
    const char *region;  /* e.g. "us-east-1"; required */
    const char *service; /* e.g. "kinesis", "s3"; required */
    int64_t now_ms;      /* signing time, ms since the epoch (UTC), from the caller's clock */
    int64_t expires_s;   /* tp_sigv4_presign: X-Amz-Expires, 1..604800; 0 = 3600 */
} tp_sigv4_config;
#define TP_SIGV4_CONFIG_VERSION 1
#define TP_SIGV4_CONFIG_INIT                                                                       \
    {                                                                                              \
        TP_SIGV4_CONFIG_VERSION, 0, NULL, NULL, 0, 0                                               \
    }

/** Set `c` to TP_SIGV4_CONFIG_INIT. @return TP_OK; TP_E_INVALID for an unknown version. */
TP_API tp_status tp_sigv4_config_init(tp_sigv4_config *c, uint32_t version);

/**
 * The request to sign, in wire form. All views are borrowed for the call only.
 */
typedef struct tp_sigv4_request {
    uint32_t version;               /* TP_SIGV4_REQUEST_VERSION */
    uint32_t reserved;              /* 0 */
    tp_cursor method;               /* "GET", "POST", ... (signed as given) */
    tp_cursor path;                 /* percent-encoded, no query; empty means "/" */
    tp_cursor query;                /* percent-encoded, without the '?'; may be empty */
    const tp_sigv4_header *headers; /* the headers to sign, Host included */
    size_t header_count;
    tp_cursor body;         /* hashed unless payload_hash is set or UNSIGNED_PAYLOAD */
    tp_cursor payload_hash; /* if not empty: used verbatim as the payload hash
                               (64 lower-case hex digits of SHA-256, or a literal
                               such as "UNSIGNED-PAYLOAD"); the body is not read */
} tp_sigv4_request;
#define TP_SIGV4_REQUEST_VERSION 1
#define TP_SIGV4_REQUEST_INIT                                                                      \
    {                                                                                              \
        TP_SIGV4_REQUEST_VERSION, 0, {NULL, 0}, {NULL, 0}, {NULL, 0}, NULL, 0, {NULL, 0},          \
        {                                                                                          \
            NULL, 0                                                                                \
        }                                                                                          \
    }

/** Set `r` to TP_SIGV4_REQUEST_INIT. @return TP_OK; TP_E_INVALID for an unknown version. */
TP_API tp_status tp_sigv4_request_init(tp_sigv4_request *r, uint32_t version);

/** Lengths of fixed-size results (without the NUL). */
#define TP_SIGV4_DATE_LEN      16 /* "20150830T123600Z" */
#define TP_SIGV4_SIGNATURE_LEN 64 /* lower-case hex */
#define TP_SIGV4_HASH_HEX_LEN  64 /* lower-case hex SHA-256 */
/** Most headers tp_sigv4_sign adds. */
#define TP_SIGV4_OUT_HEADERS_MAX 4

/**
 * What tp_sigv4_sign returns: the headers to add to the request, in order
 * (X-Amz-Security-Token, X-Amz-Date, x-amz-content-sha256, Authorization; only
 * those that apply). The views point into the signer and the credentials:
 * valid until the next call on the signer and while the credentials live.
 */
typedef struct tp_sigv4_output {
    size_t header_count;
    tp_sigv4_header headers[TP_SIGV4_OUT_HEADERS_MAX];
    char amz_date[TP_SIGV4_DATE_LEN + 1];       /* NUL-terminated */
    char signature[TP_SIGV4_SIGNATURE_LEN + 1]; /* NUL-terminated */
} tp_sigv4_output;

/** A signer: reusable scratch buffers and the signing-key cache. One thread at a time. */
typedef struct tp_sigv4_signer tp_sigv4_signer;

typedef struct tp_sigv4_signer_options {
    uint32_t version;           /* TP_SIGV4_SIGNER_OPTIONS_VERSION */
    uint32_t reserved;          /* 0 */
    uint64_t max_scratch_bytes; /* cap on the canonical request etc.; 0 = 1 MiB */
    const tp_allocator *alloc;  /* NULL = malloc/free */
} tp_sigv4_signer_options;
#define TP_SIGV4_SIGNER_OPTIONS_VERSION 1
#define TP_SIGV4_SIGNER_OPTIONS_INIT                                                               \
    {                                                                                              \
        TP_SIGV4_SIGNER_OPTIONS_VERSION, 0, 0, NULL                                                \
    }

/** Set `o` to TP_SIGV4_SIGNER_OPTIONS_INIT. @return TP_OK; TP_E_INVALID for an unknown version. */
TP_API tp_status tp_sigv4_signer_options_init(tp_sigv4_signer_options *o, uint32_t version);

/** Create a signer (`opts` NULL: defaults). @return TP_OK; TP_E_INVALID; TP_E_NOMEM. */
TP_API tp_status tp_sigv4_signer_new(tp_sigv4_signer **out, const tp_sigv4_signer_options *opts,
                                     tp_error *err);
/** Free a signer; cached keys are wiped. NULL: no-op. */
TP_API void tp_sigv4_signer_free(tp_sigv4_signer *s);

/**
 * Sign `req` with the Authorization header form.
 * @param out   the headers to add (see tp_sigv4_output), filled on success.
 * @param creds access key, secret, optional session token (borrowed for the call;
 *              the output views of the token point into it).
 * @return TP_OK; TP_E_INVALID (bad config, method, path or query, a header name
 *         or value that cannot be sent, a header the signer adds itself, no Host
 *         header; err->field names it, err->offset where it applies);
 *         TP_E_RANGE (now_ms outside 1970..9999); TP_E_CREDENTIALS (missing or
 *         malformed key id, secret or token); TP_E_TOO_LARGE (over
 *         max_scratch_bytes); TP_E_NOMEM. On failure `out` is empty and the
 *         debugging views are empty.
 */
TP_API tp_status tp_sigv4_sign(tp_sigv4_signer *s, tp_sigv4_output *out,
                               const tp_credentials *creds, const tp_sigv4_request *req,
                               const tp_sigv4_config *cfg, tp_error *err);

/**
 * Presign `req` (query-string form): append the request target to `out`,
 * every byte as it was signed: the path, '?', the original parameters in
 * their order, each name and value re-encoded as the canonical query has
 * them (unreserved bytes as they are, any other byte %XX, escapes kept:
 * "a b=\xc3\xa9" is written "a%20b=%C3%A9"), then X-Amz-Algorithm,
 * X-Amz-Credential, X-Amz-Date, X-Amz-SignedHeaders, X-Amz-Expires,
 * X-Amz-Security-Token if any, X-Amz-Signature. An S3 path (TP_SIGV4_S3 or
 * TP_SIGV4_NO_DOUBLE_ENCODE) is written in its signed form; any other path
 * is signed as the wire form, so one holding a byte a URL cannot carry as it
 * is (space, non-ASCII) is refused (TP_E_INVALID, field "path", its offset;
 * the debugging views then still show what was signed).
 * Prefix it with "https://" and the host to make the URL. The payload hash is
 * the body's unless payload_hash or TP_SIGV4_UNSIGNED_PAYLOAD says otherwise,
 * and UNSIGNED-PAYLOAD with TP_SIGV4_S3 (as S3 presigned URLs are signed);
 * TP_SIGV4_CONTENT_SHA256 does not apply. A query that already holds an
 * X-Amz-Signature/-Credential/... parameter is refused (err->field names it).
 * @return as tp_sigv4_sign; buffer errors from `out` (which is then left as
 *         it was).
 */
TP_API tp_status tp_sigv4_presign(tp_sigv4_signer *s, tp_buf *out, const tp_credentials *creds,
                                  const tp_sigv4_request *req, const tp_sigv4_config *cfg,
                                  tp_error *err);

/** The canonical request of the last successful call (valid until the next call on `s`). */
TP_API tp_cursor tp_sigv4_signer_canonical_request(const tp_sigv4_signer *s);
/** The string to sign of the last successful call (valid until the next call on `s`). */
TP_API tp_cursor tp_sigv4_signer_string_to_sign(const tp_sigv4_signer *s);

/** Write the lower-case hex SHA-256 of `data` and a NUL (a payload hash). */
TP_API void tp_sigv4_sha256_hex(char out[TP_SIGV4_HASH_HEX_LEN + 1], tp_cursor data);

/* tp_sigv4_uri_encode flags */
#define TP_SIGV4_ENCODE_KEEP_SLASH 0x1u /* leave '/' as is (paths, S3 keys) */

/**
 * Append `in` percent-encoded as SigV4 wants it (RFC 3986 unreserved bytes
 * kept, every other byte as %XX upper case) to `out`: the way to build the
 * wire form of a path segment, an S3 key or a query name or value.
 * @return TP_OK; buffer errors.
 */
TP_API tp_status tp_sigv4_uri_encode(tp_buf *out, tp_cursor in, uint32_t flags, tp_error *err);

#ifdef __cplusplus
}
#endif
#endif
