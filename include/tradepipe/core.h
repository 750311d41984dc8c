#ifndef TRADEPIPE_CORE_H
#define TRADEPIPE_CORE_H

/* Floor 1: allocator hooks, byte views and buffers, time, hex and base64. */

#include "tradepipe/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Allocator hooks, set per handle in its options (never process-wide).
 * NULL anywhere a `const tp_allocator *` is taken means malloc/realloc/free.
 * realloc_fn(NULL, n) must behave as malloc; free_fn(NULL) as a no-op.
 */
typedef struct tp_allocator {
    void *(*malloc_fn)(size_t size, void *payload);
    void *(*realloc_fn)(void *ptr, size_t size, void *payload);
    void (*free_fn)(void *ptr, void *payload);
    void *payload;
} tp_allocator;

/** A read-only view of bytes; never owns, needs no NUL. */
typedef struct tp_cursor {
    const uint8_t *ptr;
    size_t len;
} tp_cursor;

/** A view of `len` bytes at `ptr`. */
TP_API tp_cursor tp_cursor_make(const void *ptr, size_t len);
/** A view of the NUL-terminated string `s` (without its NUL); NULL gives an empty view. */
TP_API tp_cursor tp_cursor_from_str(const char *s);

/**
 * An owned, growable byte buffer. It grows up to `max` bytes (0: no limit
 * but SIZE_MAX) and keeps a NUL after `len` whenever it holds memory, so text
 * built in it is a C string. Zero-initialised is valid (malloc, no limit).
 * One thread at a time per buffer.
 */
typedef struct tp_buf {
    uint8_t *ptr;
    size_t len;
    size_t cap;
    size_t max;
    const tp_allocator *alloc;
} tp_buf;

/** Initialise `b` empty, using `alloc` (NULL: malloc) and growing up to `max` (0: no limit). */
TP_API void tp_buf_init(tp_buf *b, const tp_allocator *alloc, size_t max);
/**
 * Make room for `extra` more bytes (plus the trailing NUL).
 * @return TP_OK; TP_E_TOO_LARGE past `max` or on size overflow; TP_E_NOMEM.
 */
TP_API tp_status tp_buf_reserve(tp_buf *b, size_t extra, tp_error *err);
/** Append `n` bytes. @return as tp_buf_reserve. */
TP_API tp_status tp_buf_append(tp_buf *b, const void *data, size_t n, tp_error *err);
/** Append a C string (without its NUL). @return as tp_buf_reserve. */
TP_API tp_status tp_buf_append_str(tp_buf *b, const char *s, tp_error *err);
/** Append printf-formatted text. @return as tp_buf_reserve; TP_E_INVALID on a bad format. */
TP_API tp_status tp_buf_appendf(tp_buf *b, tp_error *err, const char *fmt, ...) TP_PRINTF(3, 4);
/** Forget the contents, keep the memory. */
TP_API void tp_buf_clear(tp_buf *b);
/** The contents as a view (valid until the buffer changes). */
TP_API tp_cursor tp_buf_cursor(const tp_buf *b);
/** Release the memory; `b` is empty (and reusable) afterwards. NULL: no-op. */
TP_API void tp_buf_dispose(tp_buf *b);
/** As tp_buf_dispose, but the bytes are wiped first (keys, secrets). */
TP_API void tp_buf_dispose_secure(tp_buf *b);
/** Wipe `n` bytes at `p` in a way the compiler may not optimise away. */
TP_API void tp_secure_zero(void *p, size_t n);

/* ---- time ---------------------------------------------------------------- */

/** Wall-clock time, microseconds since 1970-01-01T00:00:00Z. */
TP_API int64_t tp_time_now_us(void);
/** Monotonic time in nanoseconds (for deadlines and benchmarks). */
TP_API int64_t tp_time_mono_ns(void);

/** Room for any ISO-8601 text tp_time_format_iso8601 writes, NUL included. */
#define TP_ISO8601_MAX 40

/**
 * Parse an ISO-8601 / RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS, an optional
 * fraction (up to 9 digits, kept to the microsecond, finer digits must be 0)
 * and an optional zone (Z, +HH:MM, +HHMM, +HH; none means UTC). 't' and a
 * single space are accepted for 'T'.
 * @param out_us microseconds since the epoch, UTC.
 * @return TP_OK; TP_E_PARSE with err->offset at the first bad byte; TP_E_RANGE.
 */
TP_API tp_status tp_time_parse_iso8601(int64_t *out_us, tp_cursor text, tp_error *err);

/**
 * Format `us` (microseconds since the epoch) as UTC ISO-8601 with
 * `frac_digits` fraction digits (0, 3 or 6; others are clamped to 6), e.g.
 * "2025-10-22T12:58:35.123Z". Writes a NUL; returns the length.
 */
TP_API size_t tp_time_format_iso8601(char out[TP_ISO8601_MAX], int64_t us, unsigned frac_digits);

/** Days since 1970-01-01 of a proleptic Gregorian date (no range check). */
TP_API int64_t tp_time_days_from_civil(int64_t y, unsigned m, unsigned d);
/** The civil date of `days` since 1970-01-01. */
TP_API void tp_time_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* ---- hex and base64 ------------------------------------------------------ */

/** Write 2*n lower-case hex digits of `in` and a NUL to `out` (2*n+1 bytes). */
TP_API void tp_hex_encode(char *out, const uint8_t *in, size_t n);
/**
 * Decode hex text into `out` (appended).
 * @return TP_OK; TP_E_PARSE (odd length, bad digit, err->offset set); buffer errors.
 */
TP_API tp_status tp_hex_decode(tp_buf *out, tp_cursor in, tp_error *err);
/** Append the standard (padded) base64 of `in` to `out`. @return buffer errors. */
TP_API tp_status tp_base64_encode(tp_buf *out, tp_cursor in, tp_error *err);
/**
 * Append the decoded bytes of standard base64 `in` (padding required unless
 * the length is a multiple of 4; no whitespace) to `out`.
 * @return TP_OK; TP_E_PARSE with err->offset at the bad byte; buffer errors.
 */
TP_API tp_status tp_base64_decode(tp_buf *out, tp_cursor in, tp_error *err);

#ifdef __cplusplus
}
#endif
#endif
