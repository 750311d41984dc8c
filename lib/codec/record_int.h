#ifndef TP_RECORD_INT_H
#define TP_RECORD_INT_H

#include "tradepipe/record.h"

#include "core/core_int.h"

/* Results of the specialised scanner. */
#define TP_SCAN_OK       0 /* a valid record; *used bytes consumed */
#define TP_SCAN_INVALID  1 /* a complete, well-formed object that is not a valid record */
#define TP_SCAN_FALLBACK 2 /* not JSON in a way only the reference path classifies (invalid
                              UTF-8 next to a syntax error, a lone surrogate, nesting past
                              jansson's depth limit, a NUL in a key): never a valid record */
#define TP_SCAN_MORE     3 /* the value runs past `end` (all before it is valid JSON) */
#define TP_SCAN_NOTJSON  4 /* not JSON: err is TP_E_PARSE with the offset of the fault */
#define TP_SCAN_BADUTF8  5 /* a balanced value whose first fault is invalid UTF-8: an invalid
                              record (TP_E_RECORD) whatever follows it, as on the reference
                              path; *used is its span */

/* Decode the object starting at p[0] == '{' within [p, end): any valid
 * JSON (keys in any order, any whitespace, escapes, UTF-8, nested values of
 * unknown fields, literals), checked as jansson checks it, numbers of any
 * magnitude. p[0] == '[' is an array: INVALID once it is checked whole.
 * On OK and INVALID, *used is the value's length; on INVALID, BADUTF8 and NOTJSON
 * err is filled, its offsets relative to p plus `base`. Reads nothing at or
 * past `end`. */
int tp_record__scan(tp_trade *out, const uint8_t *p, const uint8_t *end, uint32_t flags,
                    size_t base, size_t *used, tp_error *err);

/* Decode [p, p+len), one JSON value, through jansson (the reference path).
 * TP_OK; TP_E_PARSE (not JSON; err->offset); TP_E_RECORD (JSON, not a
 * valid trade; arrays and scalars included). */
tp_status tp_record__decode_ref(tp_trade *out, const uint8_t *p, size_t len, uint32_t flags,
                                tp_error *err);

#endif
