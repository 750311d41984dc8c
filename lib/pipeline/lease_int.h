#ifndef TP_LEASE_INT_H
#define TP_LEASE_INT_H

/* Internals of the lease table (not installed), for its fuzz target. */

#include "core/core_int.h"
#include "tradepipe/lease.h"

/* Read a lease item (an M value as DynamoDB returns it) into `l`, its
 * tpState into `state` (l->state points into it).
 * @return TP_OK; TP_E_PARSE naming the attribute (err->field). */
tp_status tp_lease__parse(const tp_ddb_value *item, tp_lease *l, tp_buf *state, tp_error *err);

#endif
