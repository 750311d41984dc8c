/* Fuzz the engine snapshot parser (tp_engine_restore). Each input is tried
 * as is, then with the engine parameters taken from its own header and its
 * CRC rewritten, so the fuzzer reaches the per-symbol parser instead of
 * stopping at the checksum. A snapshot that restores must snapshot back to
 * the same bytes, and ticks applied afterwards must keep working. */
#include "tradepipe.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void try_restore(const uint8_t *data, size_t size, const tp_engine_options *o)
{
    tp_engine *e = NULL, *f = NULL;
    tp_error err;
    tp_buf a, b;
    tp_buf_init(&a, NULL, 0);
    tp_buf_init(&b, NULL, 0);
    if (tp_engine_new(&e, o, &err) != TP_OK)
        return;
    if (tp_engine_restore(e, tp_cursor_make(data, size), &err) == TP_OK) {
        if (tp_engine_snapshot(e, tp_cursor_from_str(""), &a, &err) != TP_OK)
            abort();
        if (tp_engine_new(&f, o, &err) != TP_OK ||
            tp_engine_restore(f, tp_buf_cursor(&a), &err) != TP_OK ||
            tp_engine_snapshot(f, tp_cursor_from_str(""), &b, &err) != TP_OK || a.len != b.len ||
            memcmp(a.ptr, b.ptr, a.len) != 0)
            abort(); /* what restores must round-trip exactly */
        for (size_t i = 0; i < tp_engine_symbol_count(e) && i < 8; i++) {
            tp_position p;
            if (tp_engine_position_at(e, i, &p, &err) != TP_OK)
                abort();
            /* A tick after the last one restored must be accepted. */
            char seq[TP_SEQUENCE_MAX + 1] = "1";
            if (p.last_sequence[0] && strcmp(p.last_sequence, "0") != 0) {
                size_t n = strlen(p.last_sequence);
                memcpy(seq, p.last_sequence, n);
                seq[n] = '0';
                seq[n + 1] = 0;
                if (n + 1 >= TP_SEQUENCE_MAX)
                    continue;
            }
            tp_tick t;
            t.symbol = tp_cursor_from_str(p.symbol);
            t.shard = tp_cursor_from_str(p.last_shard);
            t.sequence = tp_cursor_from_str(seq);
            t.price_e8 = 1 + (int64_t)(size % 1000000);
            t.ts_us = TP_ENGINE_NO_TIME;
            tp_engine_event ev;
            size_t n;
            tp_status st = tp_engine_apply(e, &t, &ev, &n, &err);
            if (st != TP_OK && st != TP_E_RANGE)
                abort();
        }
    } else if (err.code == TP_OK || err.message[0] == 0) {
        abort(); /* a failure always says why */
    }
    tp_buf_dispose(&a);
    tp_buf_dispose(&b);
    tp_engine_free(e);
    tp_engine_free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tp_engine_options o = TP_ENGINE_OPTIONS_INIT;
    try_restore(data, size, &o);
    if (size < 56 || size > (1u << 20))
        return 0;
    /* Parameters from the header (the window kept small: memory is
     * symbols x window), then a valid CRC. */
    o.flags = le32(data + 8) & TP_ENGINE_STOP_LOSS;
    o.window = 1 + le32(data + 12) % 64;
    o.drop_pct_e8 = (int64_t)le64(data + 16);
    o.take_profit_pct_e8 = (int64_t)le64(data + 24);
    o.stop_loss_pct_e8 = (int64_t)le64(data + 32);
    o.order_size = (int64_t)le64(data + 40);
    uint8_t *copy = malloc(size);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    memcpy(copy, "TPES", 4);
    copy[4] = 1;
    copy[5] = copy[6] = copy[7] = 0;
    for (int i = 0; i < 4; i++) {
        copy[8 + i] = (uint8_t)(o.flags >> (8 * i));
        copy[12 + i] = (uint8_t)(o.window >> (8 * i));
    }
    uint32_t crc = (uint32_t)crc32(0L, copy, (uInt)(size - 4));
    for (int i = 0; i < 4; i++)
        copy[size - 4 + i] = (uint8_t)(crc >> (8 * i));
    try_restore(copy, size, &o);
    free(copy);
    return 0;
}
