#ifndef TP_CORE_INT_H
#define TP_CORE_INT_H

/* Internal helpers shared by every lib/ file (not installed). */

#include "tradepipe/core.h"

#include <stdarg.h>
#include <string.h>

/* Fill `err` (if not NULL) and return `code`. Message is printf-formatted,
 * truncated to fit; offset set to TP_NO_OFFSET and field cleared. */
tp_status tp_error__set(tp_error *err, tp_status code, const char *fmt, ...) TP_PRINTF(3, 4);
/* As tp_error__set, with a byte offset and a field name (NULL: none). */
tp_status tp_error__at(tp_error *err, tp_status code, uint64_t offset, const char *field,
                       const char *fmt, ...) TP_PRINTF(5, 6);
tp_status tp_error__vset(tp_error *err, tp_status code, uint64_t offset, const char *field,
                         const char *fmt, va_list ap) TP_PRINTF(5, 0);
/* Copy `src` into `dst` of `cap` bytes, truncated, always NUL-terminated. */
void tp__strlcpy(char *dst, const char *src, size_t cap);

void *tp__malloc(const tp_allocator *a, size_t n);
void *tp__realloc(const tp_allocator *a, void *p, size_t n);
void tp__free(const tp_allocator *a, void *p);
/* calloc-like: n*size checked for overflow, zeroed. */
void *tp__calloc(const tp_allocator *a, size_t n, size_t size);
/* Room for `need` elements of `size` bytes in the array `items` of capacity
 * *cap: `items` itself when it has it, else the array reallocated with the
 * capacity doubled (from 8) until it does, *cap updated. NULL, with `items`
 * and *cap untouched, when out of memory or on overflow. */
void *tp__grow(const tp_allocator *a, void *items, size_t *cap, size_t need, size_t size);

/* Sleep `ms` milliseconds (resumed after signals). */
void tp__sleep_ms(uint32_t ms);
/* The value of hex digit `c` (either case), or -1. */
int tp__hex_val(uint8_t c);
/* Write the padded base64 of in[0..n) to out: exactly (n + 2) / 3 * 4
 * bytes, no terminator (SSSE3 where the CPU has it). */
void tp__base64_encode_raw(char *out, const uint8_t *in, size_t n);

/* The body of every public *_init(struct, version): copy `size` bytes of
 * the defaults at `init` to `out` when `version` is `want` (the caller's
 * header is this release's). @return TP_OK; TP_E_INVALID on NULL `out` or
 * another version. */
static inline tp_status tp__init_versioned(void *out, const void *init, size_t size,
                                           uint32_t version, uint32_t want)
{
    if (!out || version != want)
        return TP_E_INVALID;
    memcpy(out, init, size);
    return TP_OK;
}

/* Free `obj`, whose allocator `alloc` (NULL: the default) may be a copy kept
 * inside `obj` itself. */
static inline void tp__free_owner(const tp_allocator *alloc, void *obj)
{
    if (!alloc) {
        tp__free(NULL, obj);
        return;
    }
    tp_allocator copy = *alloc;
    tp__free(&copy, obj);
}

/* Define the public `tp_status FN(TYPE *o, uint32_t version)` that fills *o
 * with the defaults `...` (the header's TYPE_INIT) for version `WANT`. */
#define TP__DEFINE_INIT(FN, TYPE, WANT, ...)                                   \
    tp_status FN(TYPE *o, uint32_t version)                                    \
    {                                                                          \
        static const TYPE d = __VA_ARGS__;                                     \
        return tp__init_versioned(o, &d, sizeof d, version, WANT);             \
    }

#define TP_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define TP_LIKELY(x)   __builtin_expect(!!(x), 1)
#define TP_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define TP_LIKELY(x)   (x)
#define TP_UNLIKELY(x) (x)
#endif

#endif
