/* Fuzz target for the streaming Firehose reader: any bytes (plain or gzip)
 * through a memory source; the transcript must not depend on how the bytes
 * are delivered (all at once vs. in small pieces, threaded or not), and the
 * counters must add up. The two inflaters: over a source that can go back
 * (memory, files) ISA-L gives exactly zlib's transcript, broken streams
 * included; over one that cannot (pipes, callbacks) the same on every
 * stream that is not broken. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tradepipe.h"

#include "../drip_source.h"


/* A small rolling digest of what the reader returned. */
static uint64_t run(tp_source *src, uint32_t flags, uint64_t *count, int *broken)
{
    *broken = 0;
    tp_reader_options o = TP_READER_OPTIONS_INIT;
    o.flags = flags;
    o.max_record_bytes = 4096;
    tp_reader *r;
    if (tp_reader_new(&r, src, &o, NULL) != TP_OK)
        abort();
    uint64_t h = 1469598103934665603ULL, n = 0, ok = 0, bad = 0;
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
                *broken = 1;
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
    *count = n;
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tp_source *src;
    uint64_t n1, n1z, n2, n3, n3i;
    int b1, b1z, b2, b3, b3i;
    if (tp_source_from_memory(&src, data, size, NULL) != TP_OK)
        abort();
    uint64_t h1 = run(src, TP_READ_NO_THREAD, &n1, &b1);
    tp_source_free(src);
    if (tp_source_from_memory(&src, data, size, NULL) != TP_OK)
        abort();
    uint64_t h1z = run(src, TP_READ_NO_THREAD | TP_READ_ZLIB, &n1z, &b1z);
    tp_source_free(src);

    drip d = {data, size, 0, 1 + size % 7};
    if (tp_source_from_callback(&src, drip_read, &d, NULL) != TP_OK)
        abort();
    uint64_t h2 = run(src, TP_READ_NO_THREAD | TP_READ_ZLIB, &n2, &b2);
    tp_source_free(src);

    drip d3 = {data, size, 0, 3};
    if (tp_source_from_callback(&src, drip_read, &d3, NULL) != TP_OK)
        abort();
    uint64_t h3 = run(src, TP_READ_ZLIB, &n3, &b3);
    tp_source_free(src);

    drip d4 = {data, size, 0, 5};
    if (tp_source_from_callback(&src, drip_read, &d4, NULL) != TP_OK)
        abort();
    uint64_t h3i = run(src, 0, &n3i, &b3i);
    tp_source_free(src);
    if (h1 != h1z || n1 != n1z)
        abort(); /* ISA-L (able to go back) differs from zlib */
    if (h1z != h2 || n1z != n2 || h1z != h3 || n1z != n3)
        abort(); /* the delivery changed the transcript */
    if (!b1 && (h3i != h1 || n3i != n1))
        abort(); /* ISA-L through a callback differs on a sound stream */
    return 0;
}
