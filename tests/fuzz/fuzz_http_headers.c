/* Fuzz the HTTP response-header handling: the input, cut into lines as curl
 * hands them over, goes through the header-line parser the curl callback
 * uses (status lines, interim answers, blank lines, the 64 KiB cap); then
 * every header the library asks for is looked up (and a name the input
 * picks), and the dates parsed as the AWS layers parse them. A value found
 * lies inside the kept headers and has no blank at either end. */
#include "aws/http_int.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {
    "x-amzn-ErrorType",
    "x-amzn-query-error",
    "x-amzn-RequestId",
    "x-amz-request-id",
    "Date",
    "ETag",
    "Content-Type",
    "Content-Length",
    "Last-Modified",
    "x-amz-server-side-encryption-customer-algorithm",
    "x-amz-server-side-encryption",
    "Lambda-Runtime-Aws-Request-Id",
    "Lambda-Runtime-Deadline-Ms",
    "",
};

static void check(const tp_http_response *r, const char *name)
{
    tp_cursor v = {NULL, 0};
    if (tp_http_response_header(r, name, &v) != TP_OK)
        return;
    const uint8_t *lo = r->headers.ptr, *hi = lo + r->headers.len;
    if (v.len && (v.ptr < lo || v.ptr + v.len > hi))
        abort();
    if (v.len && (v.ptr[0] == ' ' || v.ptr[0] == '\t' || v.ptr[v.len - 1] == ' ' ||
                  v.ptr[v.len - 1] == '\r' || v.ptr[v.len - 1] == '\n'))
        abort();
    /* as aws_call.c and s3.c copy a value before parsing it as a date */
    char tmp[64];
    size_t n = v.len < sizeof tmp - 1 ? v.len : sizeof tmp - 1;
    memcpy(tmp, v.ptr, n);
    tmp[n] = 0;
    (void)tp_http__parse_date(tmp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tp_http_response r;
    tp_http_response_init(&r, NULL);
    const uint8_t *p = data, *end = data + size;
    while (p < end) {
        const uint8_t *eol = memchr(p, '\n', (size_t)(end - p));
        size_t len = eol ? (size_t)(eol - p) + 1 : (size_t)(end - p);
        /* curl's buffer is not NUL-terminated: give the parser an exact copy */
        char *line = malloc(len ? len : 1);
        if (!line)
            abort();
        memcpy(line, p, len);
        int rc = tp_http__header_line(&r, line, len);
        free(line);
        if (rc == 1)
            abort(); /* the default allocator does not fail here */
        if (rc == 2)
            break; /* curl stops the transfer */
        if (r.status < 0 || r.status > 999 || r.headers.len > ((size_t)64 << 10))
            abort();
        p += len;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        check(&r, names[i]);
    /* a name the input picks: the bytes before its first ':' */
    const uint8_t *colon = memchr(data, ':', size < 128 ? size : 128);
    if (colon) {
        char name[129];
        size_t n = (size_t)(colon - data);
        memcpy(name, data, n);
        name[n] = 0;
        check(&r, name);
    }
    tp_http_response_dispose(&r);
    return 0;
}
