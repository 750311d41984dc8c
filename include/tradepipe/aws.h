#ifndef TRADEPIPE_AWS_H
#define TRADEPIPE_AWS_H

/* Floor 3: what every AWS service client shares: endpoint resolution, the
 * retry policy ("standard" mode as the AWS SDKs implement it) and the client
 * options the Kinesis, DynamoDB and S3 clients take.
 *
 * Every failed call fills the tp_error: code, http_status, aws_code, message
 * (the service's message), request_id and attempts. */

#include "tradepipe/core.h"
#include "tradepipe/credentials.h"
#include "tradepipe/http.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Room for an endpoint URL and its NUL. */
#define TP_ENDPOINT_MAX 512

/**
 * The endpoint of `service` ("kinesis", "dynamodb", "s3", "sts"):
 * AWS_ENDPOINT_URL_<SERVICE> (upper case), then AWS_ENDPOINT_URL (both
 * ignored when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is "true"), then the
 * regional AWS endpoint https://SERVICE.REGION.amazonaws.com (".com.cn" for
 * cn-* regions). A trailing '/' is removed.
 * @param getenv_fn NULL: the process environment.
 * @param is_custom (may be NULL) 1 when the URL came from the environment.
 * @return TP_OK; TP_E_CONFIG (a URL that is not http(s)://host..., field names
 *         the variable; a region with bad characters); TP_E_INVALID (no `out`, a
 *         service name not of lower-case letters, digits and '-'); TP_E_TOO_LARGE.
 */
TP_API tp_status tp_aws_endpoint_resolve(char out[TP_ENDPOINT_MAX], int32_t *is_custom,
                                         const char *service, const char *region,
                                         tp_getenv_fn getenv_fn, void *getenv_payload,
                                         tp_error *err);

/** Default retry settings (AWS "standard" mode). */
#define TP_RETRY_DEFAULT_MAX_ATTEMPTS 3
#define TP_RETRY_DEFAULT_MAX_BACKOFF_MS 20000
#define TP_RETRY_DEFAULT_QUOTA 500

/**
 * Options shared by the service clients (tp_kinesis_new, tp_dynamodb_new,
 * tp_s3_new). Borrowed pointers must outlive the client.
 */
typedef struct tp_aws_client_options {
    uint32_t version;               /* TP_AWS_CLIENT_OPTIONS_VERSION */
    uint32_t max_attempts;          /* 0: $AWS_MAX_ATTEMPTS, else 3 (1 = no retries) */
    uint32_t max_backoff_ms;        /* 0: 20 000 */
    uint32_t retry_quota;           /* retry token bucket size; 0: 500 */
    const char *region;             /* NULL: AWS_REGION, AWS_DEFAULT_REGION, the profile */
    const char *endpoint_url;       /* NULL: tp_aws_endpoint_resolve */
    tp_credentials_provider *credentials; /* borrowed; NULL: the default chain */
    const tp_http_options *http;    /* NULL: defaults */
    tp_getenv_fn getenv_fn;         /* NULL: the process environment */
    void *getenv_payload;
    const tp_allocator *alloc;      /* NULL: malloc/free */
} tp_aws_client_options;
#define TP_AWS_CLIENT_OPTIONS_VERSION 1
#define TP_AWS_CLIENT_OPTIONS_INIT                                                                 \
    {TP_AWS_CLIENT_OPTIONS_VERSION, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL}

/** Set `o` to TP_AWS_CLIENT_OPTIONS_INIT. @return TP_OK; TP_E_INVALID. */
TP_API tp_status tp_aws_client_options_init(tp_aws_client_options *o, uint32_t version);

#ifdef __cplusplus
}
#endif
#endif
