#ifndef TRADEPIPE_LAMBDA_H
#define TRADEPIPE_LAMBDA_H

/* Floor 5: the Kinesis event AWS Lambda hands a function fed by a Kinesis
 * event source mapping, as the AWS Lambda Developer Guide describes it
 * ("Using AWS Lambda with Amazon Kinesis", the example event):
 *
 *   {"Records":[{"kinesis":{"kinesisSchemaVersion":"1.0",
 *                 "partitionKey":"1",
 *                 "sequenceNumber":"49590338271490256608559692538361571095921575989136588898",
 *                 "data":"SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg==",
 *                 "approximateArrivalTimestamp":1545084650.987},
 *                "eventSource":"aws:kinesis","eventVersion":"1.0",
 *                "eventID":"shardId-000000000006:4959033827149025660855969253836157109592...",
 *                "eventName":"aws:kinesis:record","invokeIdentityArn":"arn:aws:iam::...",
 *                "awsRegion":"us-east-2","eventSourceARN":"arn:aws:kinesis:..."}, ...]}
 *
 * One batch holds records of one shard, in sequence order; eventID is
 * SHARD:SEQUENCE. The parser checks exactly that much and leaves kinesis.data
 * as the base64 text it is (a record that cannot be decoded is the caller's
 * to handle, record by record).
 *
 * One thread at a time per tp_lambda_kinesis_event; different events are
 * independent. */

#include "tradepipe/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Most digits in a record's sequenceNumber: room in a 130-byte user
 * sequence (TP_SEQUENCE_MAX) for the sequence number, 7 digits of
 * sub-sequence number (TP_STREAM_SUB_DIGITS) and a NUL. */
#define TP_LAMBDA_SEQUENCE_DIGITS_MAX 122
/** Room for the batch's shard id and its NUL. */
#define TP_LAMBDA_SHARD_MAX 129

typedef struct tp_lambda_kinesis_event tp_lambda_kinesis_event; /* opaque */

/** One record of the batch; every pointer is borrowed from the event, valid
 * until tp_lambda_kinesis_event_free. */
typedef struct tp_lambda_kinesis_record {
    tp_cursor sequence; /* kinesis.sequenceNumber: 1 to TP_LAMBDA_SEQUENCE_DIGITS_MAX digits,
                           no leading zero; a NUL follows it */
    tp_cursor data;     /* kinesis.data as in the event (base64; a NUL follows it);
                           ptr NULL when it is absent or not a string */
    int64_t arrival_ms; /* kinesis.approximateArrivalTimestamp (seconds) in ms; -1 when
                           absent, not a number or not in [0, 1e11) seconds */
} tp_lambda_kinesis_record;

/**
 * Parse the Kinesis event `body` (JSON; no NUL needed; not retained) into
 * `*out` (the caller frees it with tp_lambda_kinesis_event_free). Checked:
 * JSON without duplicate keys; a "Records" array (empty is a valid batch);
 * each record an object with an "eventID" string SHARD:SEQUENCE (a shard of
 * 1 to 128 bytes, the same in every record), a "kinesis" object with a
 * "sequenceNumber" (see tp_lambda_kinesis_record.sequence) above the
 * previous record's, and "eventSource", when present, "aws:kinesis".
 * `alloc` NULL: malloc/free (the JSON tree itself is jansson's).
 * @return TP_OK; TP_E_PARSE (not JSON: err->offset at the fault);
 *         TP_E_RECORD (not a Kinesis batch: err->field "Records", the
 *         message names the record); TP_E_LIMIT (over 2^32-1 records);
 *         TP_E_INVALID (out or body NULL); TP_E_NOMEM.
 */
TP_API tp_status tp_lambda_kinesis_event_parse(tp_lambda_kinesis_event **out, tp_cursor body,
                                               const tp_allocator *alloc, tp_error *err);

/** Records in the batch (0 for an empty one or NULL). */
TP_API size_t tp_lambda_kinesis_event_count(const tp_lambda_kinesis_event *ev);

/** The batch's shard id ("" for an empty batch or NULL); borrowed like the records. */
TP_API const char *tp_lambda_kinesis_event_shard(const tp_lambda_kinesis_event *ev);

/**
 * Record `i` of the batch into `out`.
 * @return TP_OK; TP_E_INVALID (ev or out NULL, i >= the count).
 */
TP_API tp_status tp_lambda_kinesis_event_record(const tp_lambda_kinesis_event *ev, size_t i,
                                                tp_lambda_kinesis_record *out);

/** Free the event (NULL: no-op); every borrowed pointer dies with it. */
TP_API void tp_lambda_kinesis_event_free(tp_lambda_kinesis_event *ev);

#ifdef __cplusplus
}
#endif

#endif
