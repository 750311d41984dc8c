/* tp-gen: deterministic synthetic trade records, for demos and benchmarks.
 * Encodes with the library's record encoder (public API only). */
#include <tradepipe.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const char usage[] =
    "usage: tp-gen [--records N | --bytes N] [--seed S] [--format firehose|ndjson]\n"
    "              [--gzip] [--start ISO8601] [-o FILE]\n"
    "\n"
    "Write synthetic trades (symbol, price with 2 decimals, volume, ISO-8601\n"
    "timestamp, trade_id) as Firehose writes them (objects back to back, no\n"
    "delimiter) or as NDJSON. The same seed always gives the same bytes.\n"
    "  --records N   number of records (default 1000)\n"
    "  --bytes N     instead: stop once N bytes (uncompressed) are written\n"
    "  --seed S      random seed (default 1)\n"
    "  --format F    firehose (default) or ndjson\n"
    "  --gzip        gzip the output\n"
    "  --start T     first timestamp (default 2025-10-22T12:00:00Z); 1 s apart\n"
    "  -o FILE       output file (default standard output)\n";

static uint64_t rng(uint64_t *s)
{
    /* splitmix64: small, fast, and the same on every platform */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t records = 1000, bytes = 0, seed = 1;
    int ndjson = 0, gz = 0;
    const char *outpath = NULL, *start = "2025-10-22T12:00:00Z";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(a, "--gzip")) {
            gz = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "tp-gen: '%s' needs a value (or is unknown)\n%s", a, usage);
            return 2;
        }
        i++;
        if (!strcmp(a, "--records") && parse_u64(v, &records) == 0)
            continue;
        if (!strcmp(a, "--bytes") && parse_u64(v, &bytes) == 0)
            continue;
        if (!strcmp(a, "--seed") && parse_u64(v, &seed) == 0)
            continue;
        if (!strcmp(a, "--format") && (!strcmp(v, "firehose") || !strcmp(v, "ndjson"))) {
            ndjson = !strcmp(v, "ndjson");
            continue;
        }
        if (!strcmp(a, "--start")) {
            start = v;
            continue;
        }
        if (!strcmp(a, "-o")) {
            outpath = v;
            continue;
        }
        fprintf(stderr, "tp-gen: bad option or value: %s %s\n%s", a, v, usage);
        return 2;
    }
    int64_t t_us;
    tp_error err;
    if (tp_time_parse_iso8601(&t_us, tp_cursor_from_str(start), &err) != TP_OK) {
        fprintf(stderr, "tp-gen: --start: %s\n", err.message);
        return 2;
    }
    FILE *out = stdout;
    gzFile gzo = NULL;
    if (gz) {
        gzo = outpath ? gzopen(outpath, "wb6") : gzdopen(1, "wb6");
        if (!gzo) {
            fprintf(stderr, "tp-gen: cannot open %s for writing\n", outpath ? outpath : "stdout");
            return 2;
        }
        gzbuffer(gzo, 1 << 17);
    } else if (outpath && !(out = fopen(outpath, "wb"))) {
        fprintf(stderr, "tp-gen: %s: %s\n", outpath, strerror(errno));
        return 2;
    }

    static const char *const syms[] = {"AAPL", "MSFT", "GOOGL", "AMZN", "TSLA",
                                       "META", "NVDA", "JPM",   "V",    "NFLX"};
    int64_t px[10] = {18723, 41250, 16842, 17899, 24217, 51206, 45510, 19877, 27001, 61519};
    uint64_t s = seed;
    tp_buf buf;
    tp_buf_init(&buf, NULL, 0);
    uint64_t written = 0;
    int rc = 0;
    for (uint64_t n = 0; bytes ? written < bytes : n < records; n++) {
        tp_trade t;
        tp_trade_init(&t);
        size_t k = rng(&s) % 10;
        /* a random walk in cents, kept above 1.00 */
        int64_t step = (int64_t)(rng(&s) % 201) - 100;
        px[k] = px[k] + step > 100 ? px[k] + step : px[k];
        snprintf(t.symbol, sizeof t.symbol, "%s", syms[k]);
        t.symbol_len = (uint32_t)strlen(t.symbol);
        t.price_e8 = px[k] * 1000000;
        t.volume = (int64_t)(rng(&s) % 5000) + 1;
        t.ts_kind = TP_TS_STRING;
        tp_time_format_iso8601(t.timestamp, t_us + (int64_t)n * 1000000, 3);
        snprintf(t.trade_id, sizeof t.trade_id, "t-%llu", (unsigned long long)n);
        t.flags = TP_TRADE_HAS_TRADE_ID;
        size_t before = buf.len;
        if (tp_record_encode(&buf, &t, ndjson ? TP_ENCODE_NEWLINE : 0, &err) != TP_OK) {
            fprintf(stderr, "tp-gen: %s\n", err.message);
            rc = 1;
            break;
        }
        written += buf.len - before;
        if (buf.len >= (1 << 16)) {
            size_t w = gzo ? (size_t)gzwrite(gzo, buf.ptr, (unsigned)buf.len)
                           : fwrite(buf.ptr, 1, buf.len, out);
            if (w != buf.len) {
                fprintf(stderr, "tp-gen: write error\n");
                rc = 1;
                break;
            }
            tp_buf_clear(&buf);
        }
    }
    if (rc == 0 && buf.len) {
        size_t w = gzo ? (size_t)gzwrite(gzo, buf.ptr, (unsigned)buf.len)
                       : fwrite(buf.ptr, 1, buf.len, out);
        if (w != buf.len) {
            fprintf(stderr, "tp-gen: write error\n");
            rc = 1;
        }
    }
    tp_buf_dispose(&buf);
    if (gzo && gzclose(gzo) != Z_OK) {
        fprintf(stderr, "tp-gen: write error closing gzip output\n");
        rc = 1;
    }
    if (!gzo && out != stdout && fclose(out) != 0) {
        fprintf(stderr, "tp-gen: write error closing %s\n", outpath);
        rc = 1;
    }
    if (!gzo && out == stdout && fflush(stdout) != 0)
        rc = 1;
    return rc;
}
