/* Floor 5: the numbers and names of the Kinesis data model shared by the
 * stream interface and its backends (see stream_numbers_int.h). */
#include "stream_numbers_int.h"

#include <isa-l/crc.h>
#include <stdio.h>

void tp_stream__shard_id(char out[24], uint32_t index)
{
    snprintf(out, 24, "shardId-%012u", index);
}

tp_u128 tp_stream__range_start(uint32_t i, uint32_t n)
{
    /* floor(2^128 / n): (2^128 - 1) / n, plus one when n divides 2^128. */
    tp_u128 max = ~(tp_u128)0;
    tp_u128 q = max / n;
    if (max % n == (tp_u128)n - 1)
        q++;
    return q * i;
}

size_t tp_stream__u128_format(char out[TP_KINESIS_HASH_MAX], tp_u128 v)
{
    char tmp[TP_KINESIS_HASH_MAX];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return n;
}

int tp_stream__u128_parse(tp_u128 *out, const char *s)
{
    tp_u128 max = ~(tp_u128)0, v = 0;
    size_t n = strlen(s);
    if (n == 0 || n > 39 || (n > 1 && s[0] == '0'))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

size_t tp_stream__u64_format(char *out, uint64_t v)
{
    /* At most 20 digits: what out[21] holds, though the type says 48. */
    char tmp[TP_KINESIS_HASH_MAX];
    size_t n = tp_stream__u128_format(tmp, v);
    memcpy(out, tmp, n + 1);
    return n;
}

uint32_t tp_stream__crc32c(const void *p, size_t n)
{
    /* ISA-L's crc32_iscsi leaves the initial and final inversions to us.
     * Frames are at most a few MiB, far below INT_MAX. */
    return crc32_iscsi((unsigned char *)(uintptr_t)p, (int)n, 0xFFFFFFFFu) ^ 0xFFFFFFFFu;
}

int tp_stream__seq_valid(const char *s)
{
    size_t n = 0;
    while (n <= 128 && s[n] >= '0' && s[n] <= '9')
        n++;
    return n >= 1 && n <= 128 && s[n] == '\0' && (s[0] != '0' || n == 1);
}

int tp_stream__seq_cmp(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return la < lb ? -1 : 1;
    return strcmp(a, b);
}
