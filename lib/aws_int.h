#ifndef TP_AWS_INT_H
#define TP_AWS_INT_H

/* Internals of the AWS protocol layer (lib/aws_*.c): error parsing for AWS
 * JSON 1.0/1.1 and S3 REST-XML, an XML walker over expat, and the signed,
 * retried call every service client makes. Not installed. */

#include "core_int.h"
#include "http_int.h"
#include "retry_int.h"
#include "tradepipe/aws.h"
#include "tradepipe/sigv4.h"

#include <jansson.h>

/* What a service said about a failed call. */
typedef struct tp_aws_errinfo {
    char code[TP_ERROR_AWS_MAX];
    char message[TP_ERROR_MESSAGE_MAX];
    char request_id[TP_ERROR_REQID_MAX];
} tp_aws_errinfo;

/* Copy an AWS error code into `dst`: the part after the last '#' (a
 * namespace prefix such as "com.amazonaws.kinesis.v20131202#"), cut at the
 * first ':' (x-amzn-ErrorType carries ":http://internal..." suffixes), blanks
 * trimmed, non-printable bytes dropped. */
void tp_aws__norm_code(char *dst, size_t cap, const char *src, size_t len);

/*
 * The error of an AWS JSON 1.0/1.1 answer. The code comes from the
 * x-amzn-query-error header ("Code;Sender"), else x-amzn-ErrorType, else the
 * body's "__type" (else "code"/"Code"); the message from "message", else
 * "Message", else "errorMessage". Any header may be an empty view.
 * @return TP_OK when a code was found; TP_E_NOT_FOUND when none was (the
 *         message may still be set); TP_E_PARSE when the body is neither
 *         empty nor a JSON object and no header named the code (err->offset
 *         set). `out` is always filled as far as possible.
 */
tp_status tp_aws__json_error(tp_aws_errinfo *out, tp_cursor body, tp_cursor error_type_header,
                             tp_cursor query_error_header, tp_error *err);

/* ---- XML ---------------------------------------------------------------- */

/* Called for every element end: `path` is "Root/Child/Leaf" (element local
 * names joined with '/'), `text` the element's own character data (only
 * meaningful when `leaf`: it had no child elements). Return TP_OK to go on. */
typedef tp_status (*tp_xml_fn)(void *payload, const char *path, size_t depth, tp_cursor text,
                               int leaf, tp_error *err);

#define TP_XML_MAX_DEPTH 32

/*
 * Walk `xml` with expat, calling `fn` at every element end. DOCTYPE
 * declarations are refused (no entity expansion at all); nesting deeper than
 * TP_XML_MAX_DEPTH and text over 1 MiB per element are refused.
 * @return TP_OK; TP_E_PARSE (expat's message, err->offset the byte,
 *         err->line the line); TP_E_TOO_LARGE; TP_E_NOMEM; fn's failures.
 */
tp_status tp_xml__walk(tp_cursor xml, tp_xml_fn fn, void *payload, const tp_allocator *alloc,
                       tp_error *err);

/*
 * An S3 error body: <Error><Code/><Message/><RequestId/></Error>.
 * @return TP_OK when a Code was found; TP_E_NOT_FOUND (well-formed, no
 *         Error/Code); TP_E_PARSE (malformed, err->offset); TP_E_NOMEM.
 */
tp_status tp_aws__s3_error(tp_aws_errinfo *out, tp_cursor body, const tp_allocator *alloc,
                           tp_error *err);

/* Fill `err` with the final detail of a failed AWS call. */
tp_status tp_aws__fail(tp_error *err, tp_status st, int32_t http_status,
                       const tp_aws_errinfo *info, uint32_t attempts, const char *what);

#endif
