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

/* Sleep `ms` milliseconds (resumed after signals). */
void tp__sleep_ms(uint32_t ms);
/* The value of hex digit `c` (either case), or -1. */
int tp__hex_val(uint8_t c);
/* Write the padded base64 of in[0..n) to out: exactly (n + 2) / 3 * 4
 * bytes, no terminator (SSSE3 where the CPU has it). */
void tp__base64_encode_raw(char *out, const uint8_t *in, size_t n);

#define TP_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define TP_LIKELY(x)   __builtin_expect(!!(x), 1)
#define TP_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define TP_LIKELY(x)   (x)
#define TP_UNLIKELY(x) (x)
#endif

#endif
