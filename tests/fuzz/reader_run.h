#ifndef TP_FUZZ_READER_RUN_H
#define TP_FUZZ_READER_RUN_H

/* What fuzz_reader and fuzz_reader_threads share: one read of a source to
 * its end, summed up in a small rolling digest of what the reader returned,
 * with the reader's counters checked against it. The reader's big buffers
 * come from the block cache, so an input maps no memory. */
#include <stdint.h>
#include <stdlib.h>

#include "tradepipe.h"

#include "../drip_source.h"
#include "block_cache.h"

typedef struct reader_run {
    uint64_t digest; /* of every status, trade and error offset */
    uint64_t calls;  /* tp_reader_next calls */
    int broken;      /* a TP_E_GZIP came */
} reader_run;

static reader_run reader_run_source(tp_source *src, uint32_t flags)
{
    reader_run out = {1469598103934665603ULL, 0, 0};
    tp_reader_options o = TP_READER_OPTIONS_INIT;
    o.flags = flags;
    o.max_record_bytes = 4096;
    o.alloc = &bc_allocator;
    tp_reader *r;
    if (tp_reader_new(&r, src, &o, NULL) != TP_OK)
        abort();
    uint64_t h = out.digest, n = 0, ok = 0, bad = 0;
    tp_trade t;
    tp_error err;
    for (;;) {
        tp_status st = tp_reader_next(r, &t, &err);
        if (st == TP_DONE)
            break;
        if (++n > 10 * 1000 * 1000)
            abort(); /* must end */
        h = (h ^ (uint64_t)(int64_t)st) * 1099511628211ULL;
        if (st == TP_OK) {
            ok++;
            h = (h ^ (uint64_t)t.price_e8 ^ (uint64_t)t.volume) * 1099511628211ULL;
            for (const char *c = t.symbol; *c; c++)
                h = (h ^ (uint8_t)*c) * 1099511628211ULL;
        } else {
            if (err.message[0] == '\0')
                abort();
            if (st == TP_E_GZIP)
                out.broken = 1;
            if (st == TP_E_RECORD || st == TP_E_TOO_LARGE) {
                bad++;
                h = (h ^ err.offset) * 1099511628211ULL;
            }
        }
    }
    tp_reader_stats rs;
    tp_reader_stats_get(r, &rs);
    if (rs.records != ok || rs.errors != bad)
        abort();
    tp_reader_free(r);
    out.digest = h;
    out.calls = n;
    return out;
}

/* The bytes from memory (a source that can go back). */
static reader_run reader_run_memory(const uint8_t *data, size_t size, uint32_t flags)
{
    tp_source *src;
    if (tp_source_from_memory(&src, data, size, NULL) != TP_OK)
        abort();
    reader_run r = reader_run_source(src, flags);
    tp_source_free(src);
    return r;
}

/* The bytes `step` at a time through a callback (a source that cannot). */
static reader_run reader_run_drip(const uint8_t *data, size_t size, size_t step, uint32_t flags)
{
    tp_source *src;
    drip d = {data, size, 0, step};
    if (tp_source_from_callback(&src, drip_read, &d, NULL) != TP_OK)
        abort();
    reader_run r = reader_run_source(src, flags);
    tp_source_free(src);
    return r;
}

static int reader_run_same(reader_run a, reader_run b)
{
    return a.digest == b.digest && a.calls == b.calls;
}

#endif
