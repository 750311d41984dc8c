#ifndef TP_STORE_AWS_INT_H
#define TP_STORE_AWS_INT_H

/* The URI openers of the AWS backends (lib/pipeline/store_aws.c), for the
 * dispatch in lib/pipeline/store_open.c. Not installed. */

#include "core/core_int.h"
#include "tradepipe/store.h"

/* `uri` starts with "dynamodb://" or "s3://". @return as tp_positions_store_open. */
tp_status tp_store__dynamodb_open(tp_positions_store **out, const char *uri,
                                  const tp_allocator *alloc, tp_error *err);
tp_status tp_store__s3_open(tp_trade_archive **out, const char *uri, const tp_allocator *alloc,
                            tp_error *err);

#endif
