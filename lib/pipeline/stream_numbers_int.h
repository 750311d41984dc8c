#ifndef TP_STREAM_NUMBERS_INT_H
#define TP_STREAM_NUMBERS_INT_H

/* The numbers and names of the Kinesis data model that the stream interface
 * and its backends share (lib/pipeline/stream_numbers.c): shard ids, hash-key
 * ranges, sequence numbers, CRC32C. Not installed. */

#include "core/core_int.h"
#include "tradepipe/kinesis.h"

__extension__ typedef unsigned __int128 tp_u128;

/* "shardId-%012u", as Kinesis names the shards of a new stream. */
void tp_stream__shard_id(char out[24], uint32_t index);
/* The first hash key of shard `i` of `n`, split as CreateStream splits:
 * floor(2^128 / n) * i. */
tp_u128 tp_stream__range_start(uint32_t i, uint32_t n);
/* Decimal text of `v` (up to 39 digits) and a NUL; returns the length. */
size_t tp_stream__u128_format(char out[TP_KINESIS_HASH_MAX], tp_u128 v);
/* Parse a hash key as Kinesis accepts it: 0|[1-9][0-9]{0,38}, at most 2^128-1.
 * Returns 0 on success. */
int tp_stream__u128_parse(tp_u128 *out, const char *s);
/* A sequence number as Kinesis writes them: 1..128 decimal digits, no
 * leading zero (Kinesis' are about 56 digits: more than 128 bits). */
int tp_stream__seq_valid(const char *s);
/* Compare two valid sequence numbers as numbers: <0, 0, >0. */
int tp_stream__seq_cmp(const char *a, const char *b);
/* Decimal text of `v` and a NUL (at most 21 bytes); returns the length. */
size_t tp_stream__u64_format(char *out, uint64_t v);
/* Standard CRC32C (Castagnoli) of `n` bytes. */
uint32_t tp_stream__crc32c(const void *p, size_t n);

#endif
