#ifndef TP_STREAM_INT_H
#define TP_STREAM_INT_H

/* Internals of the stream interface (not installed): what a backend
 * implements, and the helpers shared by the backends and their tests. */

#include "core/core_int.h"
#include "stream_numbers_int.h"
#include "tradepipe/stream.h"

/* A backend: file: or kinesis://. `impl` is the backend's own. */
typedef struct tp_stream_ops {
    /* The index of shard `shard_id` (TP_E_NOT_FOUND naming it when there is none). */
    tp_status (*find_shard)(tp_stream *s, const char *shard_id, uint32_t *index, tp_error *err);
    tp_status (*list_shards)(tp_stream *s, tp_kinesis_shards *out, tp_error *err);
    /* Put entries[i] for which shard[i] != UINT32_MAX (already validated and
     * routed); fill results (may be NULL) and set ok[i] for those put. */
    tp_status (*put)(tp_stream *s, const tp_kinesis_entry *entries, const uint32_t *shard, size_t n,
                     tp_kinesis_put_result *results, uint8_t *ok, tp_error *err);
    tp_status (*wait)(tp_stream *s, uint32_t timeout_ms, tp_error *err);
    tp_status (*reader_new)(tp_stream_reader *r, uint32_t shard, const tp_stream_position *pos,
                            tp_error *err);
    tp_status (*reader_get)(tp_stream_reader *r, uint32_t limit, tp_stream_records *out,
                            tp_error *err);
    void (*reader_free)(tp_stream_reader *r);
    void (*close)(tp_stream *s);
} tp_stream_ops;

struct tp_stream {
    const tp_stream_ops *ops;
    void *impl;
    const tp_allocator *alloc;
    uint32_t shard_count;
    uint32_t writable;
    char id[33];          /* the stream's identity ("" when it has none) */
    tp_u128 *range_start; /* shard i owns [range_start[i], range_start[i+1]); a backend
                             may set it, else it is CreateStream's even split */
    void *md5;            /* EVP_MD_CTX, reused for routing */
    void *md5_alg;        /* EVP_MD */
};

struct tp_stream_reader {
    tp_stream *s;
    uint32_t shard;
    char shard_id[TP_KINESIS_SHARD_ID_MAX];
    void *impl;
    tp_stream_reader_stats stats;
    tp_stream_position pos; /* kept by the backend: see tp_stream_reader_position */
};

/* The file: backend. */
/* What a file: stream's segment holds (lib/pipeline/stream_file.c): its
 * valid frames, the largest sequence number among them, and whether
 * anything else is there (a torn tail, a damaged frame). */
typedef struct tp_stream_segscan {
    uint64_t size;      /* bytes in the segment */
    uint64_t valid_end; /* offset after the last valid frame (0: no valid header) */
    uint64_t max_seq;   /* the largest sequence number of a valid frame, if has_last */
    int64_t last_arrival_ms;
    int has_last;
    int clean; /* a header and valid frames to the very end */
} tp_stream_segscan;

/* The scan a writer reopening a shard and a LATEST reader make of a segment
 * file, over `len` bytes of a segment in memory (borrowed). Fuzz targets. */
void tp_stream__segment_scan(const uint8_t *seg, size_t len, tp_stream_segscan *out);

tp_status tp_stream__file_open(tp_stream *s, const char *dir, const tp_stream_options *o,
                               tp_error *err);
/* The kinesis:// backend (`name`: the stream's name). */
tp_status tp_stream__kinesis_open(tp_stream *s, const char *name, const tp_stream_options *o,
                                  tp_error *err);

#endif
