#ifndef TP_RECORD_INT_H
#define TP_RECORD_INT_H

#include "tradepipe/record.h"

#include "core_int.h"

/* Results of the specialised scanner. */
#define TP_SCAN_OK       0 /* a valid record; *used bytes consumed */
#define TP_SCAN_INVALID  1 /* a complete, well-formed object that is not a valid record */
#define TP_SCAN_FALLBACK 2 /* something unusual: decide with the general path */
#define TP_SCAN_MORE     3 /* the object runs past `end` */

/* Decode the flat object starting at p[0] == '{' within [p, end).
 * On OK and INVALID, *used is the object's length; on INVALID err is filled
 * (offsets relative to p). Reads nothing at or past `end`. */
int tp_record__scan(tp_trade *out, const uint8_t *p, const uint8_t *end, uint32_t flags,
                    size_t *used, tp_error *err);

/* Decode [p, p+len), one JSON value, through jansson (the reference path).
 * TP_OK; TP_E_PARSE (not JSON; err->offset); TP_E_RECORD (JSON, not a
 * valid trade; arrays and scalars included). */
tp_status tp_record__decode_ref(tp_trade *out, const uint8_t *p, size_t len, uint32_t flags,
                                tp_error *err);

#endif
