#ifndef TP_RETRY_INT_H
#define TP_RETRY_INT_H

/* The AWS "standard" retry policy (lib/aws/retry.c), as botocore's
 * retries/standard.py and the other SDKs implement it:
 *  - at most max_attempts attempts (default 3, AWS_MAX_ATTEMPTS);
 *  - retryable: transient errors (connection failures, 500/502/503/504,
 *    RequestTimeout, RequestTimeoutException, PriorRequestNotComplete),
 *    throttling codes, and clock-skew errors once the skew is corrected;
 *  - delay before retry i (1-based): min(rand[0,1) * 2^(i-1), 20) seconds;
 *  - a retry token bucket (500): a retry costs 5 (10 after a timeout); a
 *    success gives back what its retry took, or 1 when it needed none; an
 *    empty bucket stops retries. */

#include "core/core_int.h"

/* tp_retry__classify results */
#define TP_RETRY_NO        0
#define TP_RETRY_TRANSIENT 1 /* 5xx, connection reset, RequestTimeout... */
#define TP_RETRY_THROTTLE  2 /* ThrottlingException, SlowDown, ... */
#define TP_RETRY_TIMEOUT   3 /* our own connect/read timeout (costs 10) */
#define TP_RETRY_SKEW      4 /* RequestTimeTooSkewed & co: retry after fixing the clock */

#define TP_RETRY_COST         5
#define TP_RETRY_TIMEOUT_COST 10
#define TP_RETRY_NO_RETRY_INC 1

/* Classify one failed attempt: `st` is the transport result (TP_OK when an
 * HTTP answer arrived), `http_status` its status, `aws_code` the parsed
 * error code (NULL or "" if none). */
int tp_retry__classify(tp_status st, int32_t http_status, const char *aws_code);

/* Whether `aws_code` is a throttling code. */
int tp_retry__is_throttle(const char *aws_code);

/* Delay in ms before the retry that follows attempt `attempt` (1-based),
 * with `r01` uniform in [0,1) and a cap of `max_backoff_ms`. */
uint32_t tp_retry__backoff_ms(uint32_t attempt, double r01, uint32_t max_backoff_ms);

typedef struct tp_retry_quota {
    int32_t available;
    int32_t max;
} tp_retry_quota;

void tp_retry__quota_init(tp_retry_quota *q, int32_t max);
/* Take the cost of one retry of class `cls`; returns the cost taken, or 0
 * when the bucket cannot pay (no retry). */
int32_t tp_retry__quota_acquire(tp_retry_quota *q, int cls);
/* After a successful call: `last_cost` is what its last retry took (0 when
 * it needed no retry, which gives back TP_RETRY_NO_RETRY_INC). */
void tp_retry__quota_release(tp_retry_quota *q, int32_t last_cost);

/* max_attempts to use: `opt` if not 0, else AWS_MAX_ATTEMPTS (1..100) if
 * set, else 3. A malformed AWS_MAX_ATTEMPTS is TP_E_CONFIG. */
tp_status tp_retry__max_attempts(uint32_t *out, uint32_t opt, const char *env_value,
                                 tp_error *err);

/* A small per-client PRNG (xorshift64*) for the jitter. */
typedef struct tp_rng {
    uint64_t s;
} tp_rng;
void tp_rng__seed(tp_rng *r, uint64_t seed);
double tp_rng__next01(tp_rng *r);

#endif
