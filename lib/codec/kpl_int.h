#ifndef TP_KPL_INT_H
#define TP_KPL_INT_H

/* Internals of lib/codec/kpl.c (not installed), also used by the Kinesis client
 * (floor 4) to check keys the way the service does. */

#include "core/core_int.h"
#include "tradepipe/kpl.h"

/* Count the Unicode characters of UTF-8 text `s` (no overlongs, no
 * surrogates, at most U+10FFFF, no NUL byte). Returns the count, or
 * SIZE_MAX with *bad (may be NULL) set to the offset of the first bad byte. */
size_t tp_kpl__utf8_chars(tp_cursor s, size_t *bad);

/* Check a hash key as Kinesis takes it: 0|[1-9][0-9]{0,38}, at most
 * 2^128-1. Returns 0 when good, else -1 with *bad (may be NULL) at the first
 * bad byte (its length when it is empty or too big). */
int tp_kpl__hash_key_check(tp_cursor s, size_t *bad);

/* The 128-bit hash key Kinesis gives partition key `pk` (MD5, big-endian),
 * as decimal text with a NUL. Returns 0, or -1 when MD5 is unavailable. */
int tp_kpl__hash_key_of(char out[TP_KPL_HASH_KEY_MAX], tp_cursor pk);

/* MD5 of `in` into out[16]. Returns 0, or -1 when MD5 is unavailable. */
int tp_kpl__md5(uint8_t out[16], tp_cursor in);

/* The records part (field 3) of the aggregate being built, and the offset in
 * the blob tp_kpl_aggregator_finish would write where that part starts
 * (magic + both key tables). A record's data added last ends at the end of
 * the records part, so a producer can point into the finished blob without
 * parsing it. */
tp_cursor tp_kpl__aggregator_records(const tp_kpl_aggregator *a, size_t *blob_offset);

/* Leave `head` bytes free in front of the records part of every aggregate
 * `a` builds (empty `a` only), so that tp_kpl__aggregator_finish_swap can
 * write the magic and the key tables there instead of copying the records.
 * Returns TP_OK; TP_E_STATE (not empty); TP_E_NOMEM. */
tp_status tp_kpl__aggregator_set_head(tp_kpl_aggregator *a, size_t head, tp_error *err);

/* Finish the aggregate in place: the magic and key tables go into the
 * headroom (the records move up when the tables are larger), the MD5 after
 * the records. The buffer holding it is swapped with `buf` (an equal allocator;
 * its contents are dropped, it becomes the records buffer of the next
 * aggregate): on TP_OK the blob is buf->ptr[*blob_off .. buf->len), byte for
 * byte what tp_kpl_aggregator_finish writes, and `a` is reset. The outer keys
 * are not computed (the caller has them). Returns TP_OK; TP_E_STATE (empty);
 * TP_E_NOMEM, TP_E_UNSUPPORTED (no MD5): nothing changed. */
tp_status tp_kpl__aggregator_finish_swap(tp_kpl_aggregator *a, tp_buf *buf, size_t *blob_off,
                                         tp_error *err);

#endif
