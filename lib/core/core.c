/* Floor 1: status strings, error detail, allocator, buffers. */
#include "core_int.h"

#include <stdio.h>
#include <stdlib.h>

const char *tp_strerror(tp_status st)
{
    /* No default: -Wswitch would not flag a new code without a message, but
     * every code is listed, and unknown values fall through to the end. */
    switch (st) {
    case TP_OK:
        return "success";
    case TP_DONE:
        return "end of input";
    case TP_E_INVALID:
        return "invalid argument";
    case TP_E_NOMEM:
        return "out of memory";
    case TP_E_IO:
        return "input/output error";
    case TP_E_RANGE:
        return "value out of range";
    case TP_E_PARSE:
        return "malformed input";
    case TP_E_RECORD:
        return "invalid record";
    case TP_E_TOO_LARGE:
        return "input over the size limit";
    case TP_E_GZIP:
        return "truncated or corrupt gzip stream";
    case TP_E_UNSUPPORTED:
        return "not supported";
    case TP_E_NOT_FOUND:
        return "not found";
    case TP_E_CONFIG:
        return "bad configuration";
    case TP_E_CREDENTIALS:
        return "no usable credentials";
    case TP_E_HTTP:
        return "HTTP transport error";
    case TP_E_TIMEOUT:
        return "timed out";
    case TP_E_AWS:
        return "AWS service error";
    case TP_E_THROTTLED:
        return "throttled by the service";
    case TP_E_CONDITION:
        return "condition failed";
    case TP_E_LIMIT:
        return "limit reached";
    case TP_E_STATE:
        return "invalid state";
    case TP_E_CHECKSUM:
        return "checksum mismatch";
    case TP_E_EXISTS:
        return "already exists";
    }
    return "unknown status";
}

const char *tp_version(void)
{
    return TP_VERSION_STRING;
}

uint32_t tp_version_number(void)
{
    return TP_VERSION_NUMBER;
}

void tp_error_clear(tp_error *err)
{
    if (!err)
        return;
    memset(err, 0, sizeof *err);
    err->offset = TP_NO_OFFSET;
}

void tp__strlcpy(char *dst, const char *src, size_t cap)
{
    if (cap == 0)
        return;
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

tp_status tp_error__vset(tp_error *err, tp_status code, uint64_t offset, const char *field,
                         const char *fmt, va_list ap)
{
    if (!err)
        return code;
    tp_error_clear(err);
    err->code = code;
    err->offset = offset;
    tp__strlcpy(err->field, field, sizeof err->field);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    return code;
}

tp_status tp_error__set(tp_error *err, tp_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tp_error__vset(err, code, TP_NO_OFFSET, NULL, fmt, ap);
    va_end(ap);
    return code;
}

tp_status tp_error__at(tp_error *err, tp_status code, uint64_t offset, const char *field,
                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tp_error__vset(err, code, offset, field, fmt, ap);
    va_end(ap);
    return code;
}

/* ---- allocator ----------------------------------------------------------- */

void *tp__malloc(const tp_allocator *a, size_t n)
{
    if (a && a->malloc_fn)
        return a->malloc_fn(n ? n : 1, a->payload);
    return malloc(n ? n : 1);
}

void *tp__realloc(const tp_allocator *a, void *p, size_t n)
{
    if (a && a->realloc_fn)
        return a->realloc_fn(p, n ? n : 1, a->payload);
    return realloc(p, n ? n : 1);
}

void tp__free(const tp_allocator *a, void *p)
{
    if (!p)
        return;
    if (a && a->free_fn)
        a->free_fn(p, a->payload);
    else
        free(p);
}

void *tp__calloc(const tp_allocator *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = tp__malloc(a, n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void *tp__grow(const tp_allocator *a, void *items, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return items;
    size_t n = *cap ? *cap : 8;
    while (n < need) {
        if (n > SIZE_MAX / 2)
            return NULL;
        n *= 2;
    }
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = tp__realloc(a, items, n * size);
    if (p)
        *cap = n;
    return p;
}

/* ---- views and buffers --------------------------------------------------- */

tp_cursor tp_cursor_make(const void *ptr, size_t len)
{
    tp_cursor c = {(const uint8_t *)ptr, len};
    return c;
}

tp_cursor tp_cursor_from_str(const char *s)
{
    tp_cursor c = {(const uint8_t *)s, s ? strlen(s) : 0};
    return c;
}

void tp_buf_init(tp_buf *b, const tp_allocator *alloc, size_t max)
{
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
    b->alloc = alloc;
}

tp_status tp_buf_reserve(tp_buf *b, size_t extra, tp_error *err)
{
    size_t max = b->max ? b->max : SIZE_MAX - 1;
    if (extra > max || b->len > max - extra)
        return tp_error__set(err, TP_E_TOO_LARGE, "buffer would exceed its limit of %zu bytes",
                             max);
    size_t need = b->len + extra + 1; /* room for the trailing NUL */
    if (need <= b->cap)
        return TP_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > max + 1)
        cap = max + 1;
    uint8_t *p = tp__realloc(b->alloc, b->ptr, cap);
    if (!p)
        return tp_error__set(err, TP_E_NOMEM, "out of memory growing a buffer to %zu bytes", cap);
    b->ptr = p;
    b->cap = cap;
    b->ptr[b->len] = 0;
    return TP_OK;
}

tp_status tp_buf_append(tp_buf *b, const void *data, size_t n, tp_error *err)
{
    tp_status st = tp_buf_reserve(b, n, err);
    if (st != TP_OK)
        return st;
    if (n)
        memcpy(b->ptr + b->len, data, n);
    b->len += n;
    b->ptr[b->len] = 0;
    return TP_OK;
}

tp_status tp_buf_append_str(tp_buf *b, const char *s, tp_error *err)
{
    return tp_buf_append(b, s, s ? strlen(s) : 0, err);
}

tp_status tp_buf_appendf(tp_buf *b, tp_error *err, const char *fmt, ...)
{
    va_list ap;
    char small[256];
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return tp_error__set(err, TP_E_INVALID, "bad format string");
    if ((size_t)n < sizeof small)
        return tp_buf_append(b, small, (size_t)n, err);
    tp_status st = tp_buf_reserve(b, (size_t)n, err);
    if (st != TP_OK)
        return st;
    va_start(ap, fmt);
    vsnprintf((char *)b->ptr + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return TP_OK;
}

void tp_buf_clear(tp_buf *b)
{
    b->len = 0;
    if (b->ptr)
        b->ptr[0] = 0;
}

tp_cursor tp_buf_cursor(const tp_buf *b)
{
    return tp_cursor_make(b->ptr, b->len);
}

void tp_buf_dispose(tp_buf *b)
{
    if (!b)
        return;
    tp__free(b->alloc, b->ptr);
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
}

void tp_secure_zero(void *p, size_t n)
{
    /* A volatile function pointer keeps the compiler from eliding the wipe. */
    static void *(*const volatile wipe)(void *, int, size_t) = memset;
    if (p && n)
        wipe(p, 0, n);
}

void tp_buf_dispose_secure(tp_buf *b)
{
    if (!b)
        return;
    tp_secure_zero(b->ptr, b->cap);
    tp_buf_dispose(b);
}
