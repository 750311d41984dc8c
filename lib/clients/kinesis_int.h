#ifndef TP_KINESIS_INT_H
#define TP_KINESIS_INT_H

/* Internals of lib/clients/kinesis.c (not installed). */

#include "aws/aws_int.h"
#include "core/core_int.h"
#include "tradepipe/kinesis.h"

/* The PutRecords answer scanner: 1 when it read `body` as a PutRecords
 * answer for `n` records (results and *failed filled), 0 when it leaves the
 * answer to jansson. */
int tp_kinesis__scan_put_records(tp_cursor body, size_t n, tp_kinesis_put_result *res,
                                 uint32_t *failed);

/* The same answer read through jansson (the general path).
 * @return TP_OK; TP_E_PARSE (err->field, err->offset = record index). */
tp_status tp_kinesis__parse_put_records_json(tp_cursor body, size_t n,
                                             tp_kinesis_put_result *results, uint32_t *failed,
                                             tp_error *err);

/* A GetRecords answer (taking `ans`, whatever happens) into `out`, whose
 * allocator the caller set: records (Data decoded), NextShardIterator,
 * MillisBehindLatest, ChildShards. @return TP_OK; TP_E_PARSE (err->field,
 * err->offset = record index); TP_E_NOMEM. */
tp_status tp_kinesis__parse_get_records(json_t *ans, tp_kinesis_records *out, tp_error *err);

/* For the producer, which sends PutRecords itself without waiting. */
tp_aws_conn *tp_kinesis__conn(tp_kinesis *k);
const tp_kinesis_limits *tp_kinesis__limits(const tp_kinesis *k);
/* The PutRecords body of e[0..n) (entries already checked) into `b`. */
tp_status tp_kinesis__put_records_body(tp_buf *b, const char *stream, const tp_kinesis_entry *e,
                                       size_t n, tp_error *err);
/* Check one record against the client's limits as PutRecords does: TP_OK with
 * *size (data + partition key bytes), or TP_E_INVALID / TP_E_TOO_LARGE with
 * the field at fault and why (the record named as record `index`). */
tp_status tp_kinesis__check_record(const tp_kinesis *k, tp_cursor data, const char *pk,
                                   const char *ehk, size_t index, uint64_t *size,
                                   const char **field, char *why, size_t why_cap);
/* PutRecords answer of `n` records into res[0..n) (scanner, else jansson). */
tp_status tp_kinesis__read_put_records(tp_cursor body, size_t n, tp_kinesis_put_result *res,
                                       uint32_t *failed, tp_error *err);

#endif
