#ifndef TP_KPL_INT_H
#define TP_KPL_INT_H

/* Internals of lib/kpl.c (not installed), also used by the Kinesis client
 * (floor 4) to check keys the way the service does. */

#include "core_int.h"
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

#endif
