#ifndef TP_HTTP_INT_H
#define TP_HTTP_INT_H

/* Internals of lib/aws/http.c shared with the AWS layers (not installed). */

#include "tradepipe/http.h"

/* Seconds since the epoch of an HTTP date ("Wed, 25 Nov 2026 16:57:52 GMT",
 * and the other forms RFC 9110 allows), or -1 when it is not one. `s` is
 * NUL-terminated. */
int64_t tp_http__parse_date(const char *s);

/* One header line as curl hands it over (with its CRLF): a status line
 * ("HTTP/...") clears the headers kept so far and sets r->status; a blank
 * line is skipped; any other line is appended to r->headers, where
 * tp_http_response_header finds it. 0; 1 out of memory; 2 over the headers'
 * cap. */
int tp_http__header_line(tp_http_response *r, const char *data, size_t len);

/* The client's allocator (never NULL: the default one when none was given). */
const tp_allocator *tp_http__alloc(const tp_http_client *c);

/* Make a tp_http_poll waiting in another thread return now (thread-safe). */
void tp_http__wakeup(tp_http_client *c);

#endif
