#ifndef TP_S3_INT_H
#define TP_S3_INT_H

/* Internals of lib/clients/s3.c (not installed). */

#include "core/core_int.h"
#include "tradepipe/s3.h"

/*
 * Parse one ListObjectsV2 answer (ListBucketResult): `fn` is called for each
 * Contents entry; `next_token` gets NextContinuationToken ("" if none),
 * `truncated` IsTruncated.
 * @return TP_OK; TP_E_PARSE (malformed XML, not a ListBucketResult, an
 *         entry without a Key, a bad Size or LastModified: err->field);
 *         fn's status; buffer errors.
 */
tp_status tp_s3__parse_list(tp_cursor xml, tp_s3_list_fn fn, void *payload, tp_buf *next_token,
                            int *truncated, const tp_allocator *alloc, tp_error *err);

#endif
