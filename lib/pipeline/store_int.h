#ifndef TP_STORE_INT_H
#define TP_STORE_INT_H

/* What lib/pipeline/store.c (the positions-store and trade-archive
 * interfaces) gives the backends beyond the public API. Not installed. */

#include "core/core_int.h"
#include "tradepipe/store.h"

/* The payload of `s` when its vtable is `vt`, else NULL. */
void *tp_store__positions_payload(const tp_positions_store *s, const tp_positions_store_vtable *vt);

#endif
