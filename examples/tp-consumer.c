/* tp-consumer: replay trade records through the signal engine.
 * A thin program on the public API: reader + engine + positions store +
 * trade archive. */
#include <tradepipe.h>
#include <tradepipe/store.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: tp-consumer --source file:PATH --events - [options]\n"
    "\n"
    "Replay trade records through the signal engine and print one NDJSON event\n"
    "per signal:\n"
    "  {\"symbol\":\"AAPL\",\"side\":\"buy\"|\"sell\",\"price\":P,\"quantity\":N,\n"
    "   \"timestamp\":T,\"sequence\":N}            (+ \"pnl\":X on sells)\n"
    "T is the record's timestamp as in the input (string or number), null if\n"
    "absent. Prices and P&L are exact, in plain decimal notation.\n"
    "\n"
    "  --source file:PATH      records: NDJSON or Firehose concatenated JSON,\n"
    "                          gzip or not, read in file order (file:- is stdin).\n"
    "                          The sequence of a record is its 1-based position\n"
    "                          in the input, malformed records included; the\n"
    "                          shard is \"file:\" and the file's base name.\n"
    "  --events -              where events go (- is stdout; file:PATH also works)\n"
    "  --window W              reference = highest of the previous W ticks (20)\n"
    "  --drop-pct P            buy when flat and the price is more than P% under\n"
    "                          the reference (2)\n"
    "  --take-profit-pct P     sell when long and the price is more than P% over\n"
    "                          the entry (5)\n"
    "  --stop-loss-pct P       also sell when more than P% under the entry (off)\n"
    "  --order-size N          shares per buy (100)\n"
    "  --max-symbols N         refuse ticks of new symbols past N (100000)\n"
    "  --positions file:PATH   load engine state from PATH; save it back\n"
    "                          atomically after events (at most once per\n"
    "                          --checkpoint-ms) and at the end\n"
    "  --checkpoint-ms N       least time between two positions saves (1000;\n"
    "                          0: after every event)\n"
    "  --trades file:DIR       write each completed trade to\n"
    "                          DIR/completed-trades/SYMBOL/<key>.json\n"
    "Percentages are exact decimals (2.5 is fine). With --positions, running the\n"
    "same input again changes nothing and prints no new events. A trade is\n"
    "archived before any later positions save, so after a crash running the\n"
    "same input again redoes what was not saved and gives the same positions\n"
    "and trades (a trade is overwritten, never duplicated).\n"
    "\n"
    "Malformed records are reported on stderr as PATH:BYTE_OFFSET: reason\n"
    "(offsets count uncompressed bytes) and skipped, as tp-parse does; so is a\n"
    "tick the engine refuses (a P&L overflow, too many symbols). A summary goes\n"
    "to stderr at the end.\n"
    "\n"
    "Exit status: 0 all records valid; 1 some records malformed or refused;\n"
    "2 usage error, unreadable input, broken gzip stream, or a store that cannot\n"
    "be read or written. 2 wins over 1.\n";

typedef struct consumer {
    const char *path; /* the input path (file: stripped) */
    char shard[TP_SHARD_MAX];
    tp_engine *engine;
    tp_engine_options opts;
    tp_positions_store *positions;
    tp_trade_archive *trades;
    FILE *events;
    tp_buf line;
    uint64_t records, malformed, refused, applied, dups, buys, sells;
    int dirty; /* applied ticks not saved yet */
    int64_t checkpoint_ns, last_save_ns;
    int rc;
} consumer;

static int fail(const char *fmt, ...) TP_PRINTF(1, 2);

static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tp-consumer: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 2;
}

static int parse_pct(const char *opt, const char *v, int64_t *out)
{
    tp_error err;
    if (tp_price_parse(out, tp_cursor_from_str(v), &err) != TP_OK || *out < 0) {
        fprintf(stderr, "tp-consumer: %s: '%s' is not a percentage (a decimal >= 0)\n", opt, v);
        return 2;
    }
    return 0;
}

static int parse_count(const char *opt, const char *v, int64_t min, int64_t max, int64_t *out)
{
    tp_error err;
    if (tp_int_parse(out, tp_cursor_from_str(v), &err) != TP_OK || *out < min || *out > max) {
        fprintf(stderr, "tp-consumer: %s: '%s' is not an integer in %lld..%lld\n", opt, v,
                (long long)min, (long long)max);
        return 2;
    }
    return 0;
}

/* Append `s` as a JSON string. */
static tp_status json_string(tp_buf *b, const char *s)
{
    tp_status st = tp_buf_append(b, "\"", 1, NULL);
    for (const unsigned char *p = (const unsigned char *)s; *p && st == TP_OK; p++) {
        if (*p == '"' || *p == '\\')
            st = tp_buf_appendf(b, NULL, "\\%c", *p);
        else if (*p < 0x20)
            st = tp_buf_appendf(b, NULL, "\\u%04x", *p);
        else
            st = tp_buf_append(b, p, 1, NULL);
    }
    if (st == TP_OK)
        st = tp_buf_append(b, "\"", 1, NULL);
    return st;
}

static int print_event(consumer *C, const tp_engine_event *ev, const tp_trade *t)
{
    char px[TP_PRICE_STR_MAX];
    tp_buf *b = &C->line;
    tp_buf_clear(b);
    tp_status st = tp_buf_append_str(b, "{\"symbol\":", NULL);
    if (st == TP_OK)
        st = json_string(b, ev->symbol);
    tp_price_format(px, ev->price_e8);
    if (st == TP_OK)
        st = tp_buf_appendf(b, NULL,
                            ",\"side\":\"%s\",\"price\":%s,\"quantity\":%lld,\"timestamp\":",
                            ev->side == TP_SIDE_BUY ? "buy" : "sell", px, (long long)ev->quantity);
    if (st == TP_OK) {
        if (t->ts_kind == TP_TS_STRING)
            st = json_string(b, t->timestamp);
        else if (t->ts_kind == TP_TS_NUMBER)
            st = tp_buf_append_str(b, t->timestamp, NULL);
        else
            st = tp_buf_append_str(b, "null", NULL);
    }
    if (st == TP_OK)
        st = tp_buf_appendf(b, NULL, ",\"sequence\":%s", ev->sequence);
    if (st == TP_OK && ev->side == TP_SIDE_SELL) {
        tp_price_format(px, ev->pnl_e8);
        st = tp_buf_appendf(b, NULL, ",\"pnl\":%s", px);
    }
    if (st == TP_OK)
        st = tp_buf_append_str(b, "}\n", NULL);
    if (st != TP_OK) {
        fprintf(stderr, "tp-consumer: out of memory\n");
        return 2;
    }
    if (fwrite(b->ptr, 1, b->len, C->events) != b->len) {
        fprintf(stderr, "tp-consumer: cannot write events: %s\n", strerror(errno));
        return 2;
    }
    return 0;
}

/* Save if something changed; unless `force`, at most once per checkpoint. */
static int save_positions(consumer *C, int force)
{
    tp_error err;
    if (!C->positions || !C->dirty)
        return 0;
    int64_t now = tp_time_mono_ns();
    if (!force && now - C->last_save_ns < C->checkpoint_ns)
        return 0;
    C->last_save_ns = now;
    if (tp_positions_store_save(C->positions, C->engine, NULL, 0, &err) != TP_OK) {
        fprintf(stderr, "tp-consumer: saving positions: %s\n", err.message);
        return 2;
    }
    C->dirty = 0;
    return 0;
}

/* Apply one valid record. Returns 0, or 2 on a fatal error. */
static int on_trade(consumer *C, const tp_trade *t, uint64_t offset)
{
    char seq[24];
    snprintf(seq, sizeof seq, "%llu", (unsigned long long)C->records);
    tp_tick tick;
    tick.symbol = tp_cursor_make(t->symbol, t->symbol_len);
    tick.shard = tp_cursor_from_str(C->shard);
    tick.sequence = tp_cursor_from_str(seq);
    tick.price_e8 = t->price_e8;
    tick.ts_us = (t->flags & TP_TRADE_TS_PARSED) ? t->ts_us : TP_ENGINE_NO_TIME;
    tp_engine_event ev[TP_ENGINE_EVENTS_MAX];
    size_t n = 0;
    tp_error err;
    tp_engine_stats before;
    tp_engine_stats_get(C->engine, &before);
    tp_status st = tp_engine_apply(C->engine, &tick, ev, &n, &err);
    if (st == TP_E_NOMEM) {
        fprintf(stderr, "tp-consumer: %s\n", err.message);
        return 2;
    }
    if (st != TP_OK) {
        /* The engine refused the tick (P&L overflow, symbol limit): it is
         * reported and skipped like a malformed record. */
        fprintf(stderr, "%s:%llu: tick not applied: %s\n", C->path, (unsigned long long)offset,
                err.message);
        C->refused++;
        if (C->rc < 1)
            C->rc = 1;
        return 0;
    }
    tp_engine_stats after;
    tp_engine_stats_get(C->engine, &after);
    if (after.duplicates != before.duplicates) {
        C->dups++;
        return 0;
    }
    C->applied++;
    C->dirty = 1;
    for (size_t i = 0; i < n; i++) {
        if (ev[i].side == TP_SIDE_SELL) {
            C->sells++;
            /* The trade is durable before the position that forgets it. */
            if (C->trades && tp_trade_archive_put(C->trades, &ev[i], &C->opts, &err) != TP_OK) {
                fprintf(stderr, "tp-consumer: archiving a trade: %s\n", err.message);
                return 2;
            }
        } else {
            C->buys++;
        }
        if (save_positions(C, 0))
            return 2;
        if (print_event(C, &ev[i], t))
            return 2;
    }
    return 0;
}

static int cmp_pos(const void *a, const void *b)
{
    return strcmp(((const tp_position *)a)->symbol, ((const tp_position *)b)->symbol);
}

static void summary(consumer *C)
{
    size_t n = tp_engine_symbol_count(C->engine);
    tp_position *all = calloc(n ? n : 1, sizeof *all);
    fprintf(stderr,
            "tp-consumer: %llu records, %llu malformed, %llu refused; %llu ticks applied, %llu "
            "already applied; %llu buys, %llu sells\n",
            (unsigned long long)C->records, (unsigned long long)C->malformed,
            (unsigned long long)C->refused, (unsigned long long)C->applied,
            (unsigned long long)C->dups, (unsigned long long)C->buys, (unsigned long long)C->sells);
    if (!all)
        return;
    for (size_t i = 0; i < n; i++)
        tp_engine_position_at(C->engine, i, &all[i], NULL);
    qsort(all, n, sizeof *all, cmp_pos);
    fprintf(stderr, "%-10s %10s %6s %6s %20s  %s\n", "symbol", "ticks", "buys", "sells",
            "realized_pnl", "position");
    size_t open = 0;
    for (size_t i = 0; i < n; i++) {
        char pnl[TP_PRICE_STR_MAX], entry[TP_PRICE_STR_MAX];
        tp_price_format(pnl, all[i].realized_pnl_e8);
        tp_price_format(entry, all[i].entry_price_e8);
        fprintf(stderr, "%-10s %10llu %6llu %6llu %20s  ", all[i].symbol,
                (unsigned long long)all[i].ticks, (unsigned long long)all[i].buys,
                (unsigned long long)all[i].sells, pnl);
        if (all[i].quantity) {
            open++;
            fprintf(stderr, "long %lld @ %s (sequence %s)\n", (long long)all[i].quantity, entry,
                    all[i].entry_sequence);
        } else {
            fprintf(stderr, "flat\n");
        }
    }
    fprintf(stderr, "open positions: %zu\n", open);
    free(all);
}

static int run(consumer *C)
{
    tp_source *src = NULL;
    tp_reader *rd = NULL;
    tp_error err;
    int rc = 0;
    if (tp_source_open(&src, C->path, &err) != TP_OK)
        return fail("%s", err.message);
    tp_reader_options o;
    tp_reader_options_init(&o, TP_READER_OPTIONS_VERSION);
    o.decode_flags = TP_DECODE_LENIENT;
    if (tp_reader_new(&rd, src, &o, &err) != TP_OK) {
        tp_source_free(src);
        return fail("%s: %s", C->path, err.message);
    }
    tp_trade t;
    for (;;) {
        tp_status st = tp_reader_next(rd, &t, &err);
        if (st == TP_DONE)
            break;
        if (st == TP_OK) {
            C->records++;
            tp_reader_stats rs;
            tp_reader_stats_get(rd, &rs);
            rc = on_trade(C, &t, rs.record_offset);
            if (rc)
                break;
            continue;
        }
        if (st == TP_E_RECORD || st == TP_E_TOO_LARGE) {
            C->records++; /* a malformed record still takes its sequence */
            C->malformed++;
            fprintf(stderr, "%s:%llu: %s\n", C->path, (unsigned long long)err.offset, err.message);
            if (C->rc < 1)
                C->rc = 1;
            continue;
        }
        fprintf(stderr, "tp-consumer: %s: %s\n", C->path, err.message);
        rc = 2;
        break;
    }
    tp_reader_free(rd);
    tp_source_free(src);
    return rc;
}

int main(int argc, char **argv)
{
    consumer C;
    memset(&C, 0, sizeof C);
    C.checkpoint_ns = 1000000000;
    tp_engine_options_init(&C.opts, TP_ENGINE_OPTIONS_VERSION);
    const char *source = NULL, *events = NULL, *positions = NULL, *trades = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help")) {
            fputs(usage, stdout);
            return 0;
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "tp-consumer: unexpected argument '%s'\n%s", a, usage);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "tp-consumer: %s needs a value\n%s", a, usage);
            return 2;
        }
        const char *v = argv[++i];
        int64_t x = 0;
        if (!strcmp(a, "--source"))
            source = v;
        else if (!strcmp(a, "--events"))
            events = v;
        else if (!strcmp(a, "--positions"))
            positions = v;
        else if (!strcmp(a, "--trades"))
            trades = v;
        else if (!strcmp(a, "--window")) {
            if (parse_count(a, v, 1, TP_ENGINE_MAX_WINDOW, &x))
                return 2;
            C.opts.window = (uint32_t)x;
        } else if (!strcmp(a, "--drop-pct")) {
            if (parse_pct(a, v, &C.opts.drop_pct_e8))
                return 2;
        } else if (!strcmp(a, "--take-profit-pct")) {
            if (parse_pct(a, v, &C.opts.take_profit_pct_e8))
                return 2;
        } else if (!strcmp(a, "--stop-loss-pct")) {
            if (parse_pct(a, v, &C.opts.stop_loss_pct_e8))
                return 2;
            C.opts.flags |= TP_ENGINE_STOP_LOSS;
        } else if (!strcmp(a, "--order-size")) {
            if (parse_count(a, v, 1, INT64_MAX, &C.opts.order_size))
                return 2;
        } else if (!strcmp(a, "--checkpoint-ms")) {
            if (parse_count(a, v, 0, INT64_MAX / 1000000, &x))
                return 2;
            C.checkpoint_ns = x * 1000000;
        } else if (!strcmp(a, "--max-symbols")) {
            if (parse_count(a, v, 1, UINT32_MAX, &x))
                return 2;
            C.opts.max_symbols = (uint32_t)x;
        } else {
            fprintf(stderr, "tp-consumer: unknown option '%s'\n%s", a, usage);
            return 2;
        }
    }
    if (!source || !events) {
        fprintf(stderr, "tp-consumer: --source and --events are required\n%s", usage);
        return 2;
    }
    if (strncmp(source, "file:", 5) != 0 || !source[5])
        return fail("--source '%s': expected file:PATH (kinesis:// is not built into this "
                    "version)",
                    source);
    C.path = source + 5;
    const char *base = strrchr(C.path, '/');
    base = base ? base + 1 : C.path;
    snprintf(C.shard, sizeof C.shard, "file:%s", base);
    if (!strcmp(events, "-")) {
        C.events = stdout;
    } else if (!strncmp(events, "file:", 5) && events[5]) {
        C.events = fopen(events + 5, "w");
        if (!C.events)
            return fail("--events %s: %s", events, strerror(errno));
    } else {
        return fail("--events '%s': expected - or file:PATH", events);
    }

    tp_error err;
    int rc = 0;
    tp_buf_init(&C.line, NULL, 0);
    if (tp_engine_new(&C.engine, &C.opts, &err) != TP_OK) {
        rc = fail("bad engine option %s: %s", err.field, err.message);
        goto done;
    }
    tp_engine_options_get(C.engine, &C.opts);
    if (positions) {
        if (tp_positions_store_open(&C.positions, positions, NULL, &err) != TP_OK ||
            tp_positions_store_load(C.positions, C.engine, &err) != TP_OK) {
            rc = fail("--positions %s: %s", positions, err.message);
            goto done;
        }
    }
    if (trades && tp_trade_archive_open(&C.trades, trades, NULL, &err) != TP_OK) {
        rc = fail("--trades %s: %s", trades, err.message);
        goto done;
    }
    rc = run(&C);
    /* What was applied is saved even when the input broke off. */
    if (save_positions(&C, 1))
        rc = 2;
    if (fflush(C.events) != 0) {
        fprintf(stderr, "tp-consumer: cannot write events: %s\n", strerror(errno));
        rc = 2;
    }
    summary(&C);
done:
    if (C.events && C.events != stdout)
        fclose(C.events);
    tp_buf_dispose(&C.line);
    tp_positions_store_free(C.positions);
    tp_trade_archive_free(C.trades);
    tp_engine_free(C.engine);
    if (rc < C.rc)
        rc = C.rc;
    return rc;
}
