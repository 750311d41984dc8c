#ifndef TP_JSON_INT_H
#define TP_JSON_INT_H

/* Internal JSON helpers: value boundaries, number syntax, string escaping. */

#include "core_int.h"

/* Resumable search for the end of one JSON object or array: tracks only
 * nesting depth and string/escape state, so it finds the boundary of
 * balanced input quickly; whether the span is valid JSON is decided later. */
typedef struct tp_json_span {
    uint64_t depth;
    uint8_t in_string;
    uint8_t escape;
    uint8_t started;
} tp_json_span;

/* Scan bytes [p, end). Returns the number of bytes consumed: when the value
 * closed, *done = 1 and the count includes the closing bracket; otherwise
 * all bytes were consumed and the state is kept for the next call. */
size_t tp_json__span_feed(tp_json_span *st, const uint8_t *p, const uint8_t *end, int *done);

/* 1 if [p, p+len) is exactly a JSON number. */
int tp_json__number_ok(const uint8_t *p, size_t len);

/* Append `s` as a JSON string literal (quotes, escapes for '"', '\\' and
 * control characters; UTF-8 bytes kept as they are). */
tp_status tp_json__append_string(tp_buf *out, const char *s, size_t len, tp_error *err);

static inline int tp_json__is_ws(uint8_t c)
{
    /* Most bytes are above ' ': one compare rejects them. */
    return c <= ' ' && (c == ' ' || c == '\n' || c == '\r' || c == '\t');
}

#endif
