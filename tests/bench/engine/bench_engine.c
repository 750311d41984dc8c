/* Engine throughput: ticks per second through tp_engine_apply alone.
 *   bench_engine TICKS PASSES
 * The stream (100 symbols, random walks) is generated up front by the same
 * generator as engine_ref.py; pass p uses shard "p<p>", so every pass is
 * applied (not skipped as duplicates). Prints the events and P&L of the first
 * pass, for comparison with the Python implementation, then the timing. */
#include <tradepipe.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSYM 100

static uint64_t lcg(uint64_t *x)
{
    *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
    return *x >> 33;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    int passes = argc > 2 ? atoi(argv[2]) : 10;
    static char names[NSYM][8];
    int64_t px[NSYM];
    for (int s = 0; s < NSYM; s++) {
        snprintf(names[s], sizeof names[s], "S%02d", s);
        px[s] = 10000000000;
    }
    tp_tick *ticks = malloc(n * sizeof *ticks);
    char(*seqs)[12] = malloc(n * sizeof *seqs);
    if (!ticks || !seqs)
        return 1;
    uint64_t x = 42;
    for (size_t i = 0; i < n; i++) {
        int s = (int)(lcg(&x) % NSYM);
        int64_t step = ((int64_t)(lcg(&x) % 401) - 200) * 1000000; /* +-2 units */
        px[s] += step;
        if (px[s] < 100000000)
            px[s] = 100000000;
        snprintf(seqs[i], sizeof seqs[i], "%zu", i + 1);
        ticks[i].symbol = tp_cursor_make(names[s], 3);
        ticks[i].sequence = tp_cursor_from_str(seqs[i]);
        ticks[i].price_e8 = px[s];
        ticks[i].ts_us = TP_ENGINE_NO_TIME;
    }
    tp_engine *e = NULL;
    tp_error err;
    if (tp_engine_new(&e, NULL, &err) != TP_OK)
        return 1;
    uint64_t events = 0;
    int64_t pnl = 0;
    int64_t t0 = tp_time_mono_ns();
    for (int p = 0; p < passes; p++) {
        char shard[16];
        snprintf(shard, sizeof shard, "p%d", p);
        tp_cursor sh = tp_cursor_from_str(shard);
        for (size_t i = 0; i < n; i++) {
            tp_engine_event ev;
            size_t k;
            ticks[i].shard = sh;
            if (tp_engine_apply(e, &ticks[i], &ev, &k, &err) != TP_OK) {
                fprintf(stderr, "apply: %s\n", err.message);
                return 1;
            }
            if (p == 0 && k) {
                events++;
                if (ev.side == TP_SIDE_SELL)
                    pnl += ev.pnl_e8;
            }
        }
        if (p == 0) {
            char s[TP_PRICE_STR_MAX];
            tp_price_format(s, pnl);
            printf("first pass: events=%llu pnl=%s\n", (unsigned long long)events, s);
        }
    }
    double secs = (double)(tp_time_mono_ns() - t0) / 1e9;
    double total = (double)n * passes;
    printf("C engine: %.0f ticks in %.3f s: %.2f M ticks/s\n", total, secs, total / secs / 1e6);
    tp_engine_free(e);
    free(ticks);
    free(seqs);
    return 0;
}
