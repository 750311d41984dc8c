/* Floor 3: the AWS "standard" retry policy (see lib/aws/retry_int.h). */
#include "retry_int.h"
#include "tradepipe/aws.h"

#include <stdlib.h>

static const char *const g_transient_codes[] = {
    "RequestTimeout",
    "RequestTimeoutException",
    "PriorRequestNotComplete",
};

/* The union of throttling codes the SDKs know. */
static const char *const g_throttle_codes[] = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
};

/* Answers to a request signed with a clock too far from the service's. */
static const char *const g_skew_codes[] = {
    "RequestTimeTooSkewed",
    "RequestExpired",
    "RequestInTheFuture",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "AuthFailure",
};

static int in_list(const char *code, const char *const *list, size_t n)
{
    if (!code || !*code)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(code, list[i]) == 0)
            return 1;
    return 0;
}

int tp_retry__is_throttle(const char *aws_code)
{
    return in_list(aws_code, g_throttle_codes, TP_ARRAY_LEN(g_throttle_codes));
}

int tp_retry__classify(tp_status st, int32_t http_status, const char *aws_code)
{
    if (st == TP_E_TIMEOUT)
        return TP_RETRY_TIMEOUT;
    if (st == TP_E_HTTP)
        return TP_RETRY_TRANSIENT;
    if (st != TP_OK)
        return TP_RETRY_NO; /* our own failures: memory, limits, callbacks */
    if (http_status >= 200 && http_status < 300)
        return TP_RETRY_NO;
    if (tp_retry__is_throttle(aws_code))
        return TP_RETRY_THROTTLE;
    if (in_list(aws_code, g_transient_codes, TP_ARRAY_LEN(g_transient_codes)))
        return TP_RETRY_TRANSIENT;
    if (in_list(aws_code, g_skew_codes, TP_ARRAY_LEN(g_skew_codes)))
        return TP_RETRY_SKEW;
    if (http_status == 500 || http_status == 502 || http_status == 503 || http_status == 504)
        return TP_RETRY_TRANSIENT;
    /* 429 without a code is throttling in every SDK. */
    if (http_status == 429)
        return TP_RETRY_THROTTLE;
    return TP_RETRY_NO;
}

uint32_t tp_retry__backoff_ms(uint32_t attempt, double r01, uint32_t max_backoff_ms)
{
    if (attempt == 0)
        attempt = 1;
    if (!(r01 >= 0.0) || r01 >= 1.0)
        r01 = 0.0;
    /* 2^(attempt-1) seconds, saturating long before it could overflow. */
    double base_ms = attempt > 31 ? 2147483648.0 * 1000.0 : (double)(1u << (attempt - 1)) * 1000.0;
    double d = r01 * base_ms;
    if (d > (double)max_backoff_ms)
        d = (double)max_backoff_ms;
    return (uint32_t)d;
}

void tp_retry__quota_init(tp_retry_quota *q, int32_t max)
{
    q->max = max > 0 ? max : TP_RETRY_DEFAULT_QUOTA;
    q->available = q->max;
}

int32_t tp_retry__quota_acquire(tp_retry_quota *q, int cls)
{
    int32_t cost = cls == TP_RETRY_TIMEOUT ? TP_RETRY_TIMEOUT_COST : TP_RETRY_COST;
    if (q->available < cost)
        return 0;
    q->available -= cost;
    return cost;
}

void tp_retry__quota_release(tp_retry_quota *q, int32_t last_cost)
{
    int32_t give = last_cost > 0 ? last_cost : TP_RETRY_NO_RETRY_INC;
    q->available = q->available > q->max - give ? q->max : q->available + give;
}

tp_status tp_retry__max_attempts(uint32_t *out, uint32_t opt, const char *env_value,
                                 tp_error *err)
{
    if (opt) {
        *out = opt;
        return TP_OK;
    }
    if (env_value && *env_value) {
        char *end = NULL;
        long v = strtol(env_value, &end, 10);
        if (!end || *end || v < 1 || v > 100)
            return tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, "AWS_MAX_ATTEMPTS",
                                "AWS_MAX_ATTEMPTS must be an integer from 1 to 100");
        *out = (uint32_t)v;
        return TP_OK;
    }
    *out = 3;
    return TP_OK;
}

void tp_rng__seed(tp_rng *r, uint64_t seed)
{
    r->s = seed ? seed : UINT64_C(0x9E3779B97F4A7C15);
}

double tp_rng__next01(tp_rng *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    uint64_t v = x * UINT64_C(2685821657736338717);
    return (double)(v >> 11) * (1.0 / 9007199254740992.0);
}
