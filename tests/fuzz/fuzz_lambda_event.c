/* Fuzz the Kinesis event of AWS Lambda (tp_lambda_kinesis_event_parse, what
 * tp-lambda-bootstrap reads each invocation). An event that parses holds
 * records of one shard, their sequence numbers digit strings in increasing
 * order, every borrowed string NUL-terminated; one that does not says why. */
#include "tradepipe.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tp_lambda_kinesis_event *ev = NULL;
    tp_error err;
    tp_status st = tp_lambda_kinesis_event_parse(&ev, tp_cursor_make(data, size), NULL, &err);
    if (st != TP_OK) {
        if (ev || err.code != st || !err.message[0])
            abort();
        if (st != TP_E_PARSE && st != TP_E_RECORD && st != TP_E_LIMIT && st != TP_E_NOMEM)
            abort();
        return 0;
    }
    size_t n = tp_lambda_kinesis_event_count(ev);
    const char *shard = tp_lambda_kinesis_event_shard(ev);
    if (strlen(shard) >= TP_LAMBDA_SHARD_MAX || (n > 0) != (shard[0] != 0))
        abort();
    tp_cursor prev = {NULL, 0};
    for (size_t i = 0; i < n; i++) {
        tp_lambda_kinesis_record r;
        if (tp_lambda_kinesis_event_record(ev, i, &r) != TP_OK)
            abort();
        const tp_cursor s = r.sequence;
        if (s.len < 1 || s.len > TP_LAMBDA_SEQUENCE_DIGITS_MAX || s.ptr[0] == '0' ||
            s.ptr[s.len] != 0)
            abort();
        for (size_t j = 0; j < s.len; j++)
            if (s.ptr[j] < '0' || s.ptr[j] > '9')
                abort();
        if (i && (s.len < prev.len || (s.len == prev.len && memcmp(prev.ptr, s.ptr, s.len) >= 0)))
            abort(); /* not after the previous record's */
        prev = s;
        if (r.data.ptr && r.data.ptr[r.data.len] != 0)
            abort();
        if (!r.data.ptr && r.data.len)
            abort();
        if (r.arrival_ms < -1 || r.arrival_ms >= (int64_t)1e14)
            abort();
        if (r.data.ptr) {
            /* what the bootstrap does next with it */
            tp_buf b;
            tp_buf_init(&b, NULL, 0);
            (void)tp_base64_decode(&b, r.data, &err);
            tp_buf_dispose(&b);
        }
    }
    tp_lambda_kinesis_record r;
    if (tp_lambda_kinesis_event_record(ev, n, &r) != TP_E_INVALID)
        abort();
    tp_lambda_kinesis_event_free(ev);
    return 0;
}
