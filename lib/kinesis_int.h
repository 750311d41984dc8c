#ifndef TP_KINESIS_INT_H
#define TP_KINESIS_INT_H

/* Internals of lib/kinesis.c (not installed). */

#include "core_int.h"
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

#endif
