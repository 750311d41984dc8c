/* tp-consumer: trade records through the signal engine, replayed from a
 * file or following a stream, with positions, completed trades, events and
 * checkpoints kept so that every effect happens exactly once.
 * A thin program on the public API: stream or reader, record decoder,
 * engine, positions store, trade archive, checkpoint. */
#include "tp_cli.h"

#include <fcntl.h>
#include <sys/stat.h>

static const char usage[] =
    "usage: tp-consumer --source file:DIR|kinesis://STREAM --positions URI --trades URI\n"
    "                   [--follow] [--from trim-horizon|latest|TIME] [--checkpoints URI]\n"
    "                   [--events -|file:PATH] [--worker-id ID] [engine options]\n"
    "       tp-consumer --source file:PATH --events -|file:PATH [engine options]\n"
    "                   [--positions file:PATH] [--trades file:DIR]\n"
    "\n"
    "Apply trade records to the signal engine and keep its effects: positions,\n"
    "completed trades, and one NDJSON event per signal:\n"
    "  {\"symbol\":\"AAPL\",\"side\":\"buy\"|\"sell\",\"price\":P,\"quantity\":N,\n"
    "   \"timestamp\":T,\"sequence\":N}            (+ \"pnl\":X on sells)\n"
    "T is the record's timestamp as in the input (string or number), null if\n"
    "absent. Prices and P&L are exact, in plain decimal notation.\n"
    "\n"
    "Following a stream (--source file:DIR, a stream made by tp-producer):\n"
    "  every shard is read, from its checkpoint, else from --from (trim-horizon,\n"
    "  the default, latest, or an ISO-8601 time: the first record that arrived\n"
    "  then or after, AT_TIMESTAMP). Events carry \"shard\":\"shardId-...\" and the\n"
    "  record's \"sequence\":\"N\" (a string: Kinesis sequence numbers are long).\n"
    "  --follow keeps reading as records arrive until SIGINT or SIGTERM (then the\n"
    "  batch in hand is finished, saved and checkpointed; exit 0); without it,\n"
    "  the consumer stops at the end of every shard.\n"
    "  Effects are exactly once: the checkpoint file holds, per shard, the last\n"
    "  sequence number whose effects are durable, the engine state that goes\n"
    "  with it and the events file's length, all saved in one atomic write after\n"
    "  the events, trades and positions it covers. Killed at any point (kill -9)\n"
    "  and started again, the consumer resumes from there: positions, completed\n"
    "  trades, checkpoints and the events file (file:PATH) end up as if it had\n"
    "  never stopped (the events file is cut back to its checkpointed length;\n"
    "  events on - may repeat after a crash).\n"
    "\n"
    "A Kinesis data stream (--source kinesis://STREAM) is followed the same way;\n"
    "  KPL aggregated records are de-aggregated (events and trades then carry the\n"
    "  user record's sequence: the Kinesis sequence number followed by the 7-digit\n"
    "  sub-sequence number), and a child shard is read only after its parents\n"
    "  were read to their end. Endpoint, region and credentials as the AWS CLI\n"
    "  finds them (AWS_ENDPOINT_URL_KINESIS, AWS_REGION, ...).\n"
    "\n"
    "Shard leases (--checkpoints dynamodb://TABLE): workers share a stream's\n"
    "  shards as the Kinesis Client Library does, with its lease table (leaseKey,\n"
    "  leaseOwner, leaseCounter, checkpoint, checkpointSubSequenceNumber,\n"
    "  ownerSwitchesSinceCheckpoint, parentShardId), so a stream can move between\n"
    "  a Java KCL application and this one. Each worker takes a fair share, takes\n"
    "  over the leases of a worker that stopped renewing (--failover-ms) and\n"
    "  balances by taking one lease at a time from the busiest. Each shard has\n"
    "  its own engine state, saved in its lease with its checkpoint in one\n"
    "  conditional write per GetRecords batch, after that batch's trades and\n"
    "  positions; positions must then be dynamodb://TABLE (written only when they\n"
    "  change, conditionally on the last applied shard and sequence), trades\n"
    "  s3://BUCKET/PREFIX or file:DIR. A worker killed at any point and started\n"
    "  again, or replaced by another, ends with the same positions, trades and\n"
    "  checkpoints. SIGTERM: the batch in hand is finished and checkpointed and\n"
    "  the leases are released.\n"
    "\n"
    "Replaying a file (--source file:PATH): NDJSON or Firehose concatenated JSON,\n"
    "  gzip or not, in file order (file:- is stdin). A record's sequence is its\n"
    "  1-based position in the input, malformed records included; its shard is\n"
    "  \"file:\" and the file's base name. With --positions, running the same\n"
    "  input again changes nothing and prints no new events; with --events\n"
    "  file:PATH too (or --checkpoints), events are exactly once across crashes.\n"
    "\n";

static const char usage_options[] =
    "  --source URI            file:DIR or kinesis://STREAM (a stream), or\n"
    "                          file:PATH (a file to replay)\n"
    "  --positions URI         file:PATH (saved atomically when it changed) or\n"
    "                          dynamodb://TABLE (an item per symbol)\n"
    "  --trades URI            file:DIR or s3://BUCKET/PREFIX: each completed\n"
    "                          trade as completed-trades/SYMBOL/<key>.json\n"
    "  --checkpoints URI       file:PATH (default: the positions path +\n"
    "                          \".checkpoints\"; one worker) or dynamodb://TABLE\n"
    "                          (shard leases, any number of workers)\n"
    "  --worker-id ID          leases: this worker's name (default host:pid)\n"
    "  --metrics -|file:PATH   leases: a CloudWatch Embedded Metric Format line\n"
    "                          per shard batch (records, ticks, signals, trades,\n"
    "                          P&L, iterator age, throttles, conditional-write\n"
    "                          conflicts, batch latency; namespace tradepipe)\n"
    "  --failover-ms N         leases: a lease not renewed for N ms is taken over\n"
    "                          (10000)\n"
    "  --events -|file:PATH    where events go (- is stdout)\n"
    "  --checkpoint-ms N       least time between two saves (1000; 0: after every\n"
    "                          event); everything is saved when the input runs\n"
    "                          dry and at the end\n"
    "  --status PATH           keep a one-line JSON status in PATH (10 times a second)\n"
    "  --progress S            a progress line every S seconds on stderr when it\n"
    "                          is not a terminal (on a terminal: a live line)\n"
    "Engine options:\n"
    "  --window W              reference = highest of the previous W ticks (20)\n"
    "  --drop-pct P            buy when flat and the price is more than P% under\n"
    "                          the reference (2)\n"
    "  --take-profit-pct P     sell when long and the price is more than P% over\n"
    "                          the entry (5)\n"
    "  --stop-loss-pct P       also sell when more than P% under the entry (off)\n"
    "  --order-size N          shares per buy (100)\n"
    "  --max-symbols N         refuse ticks of new symbols past N (100000)\n"
    "Percentages are exact decimals (2.5 is fine). A trade is archived before any\n"
    "later save, so a crash never loses one, and a retried one is overwritten,\n"
    "never duplicated (its key is derived from the trade).\n"
    "\n"
    "Malformed records are reported on stderr (replay: PATH:BYTE_OFFSET: reason;\n"
    "stream: SHARD sequence N: byte B: reason) and skipped, as tp-parse does; so\n"
    "is a tick the engine refuses (a P&L overflow, too many symbols). A summary\n"
    "goes to stderr at the end.\n"
    "\n"
    "Exit status: 0 all records valid; 1 some records malformed or refused;\n"
    "2 usage error, unreadable input, broken gzip stream, or a store, stream or\n"
    "checkpoint that cannot be read or written. 2 wins over 1.\n";

/* Records a read asks for: file: streams 1000 (a save every so often);
 * Kinesis GetRecords' own default, 10,000 (fewer calls, 5 a second a shard). */
#define GET_LIMIT         1000
#define GET_LIMIT_KINESIS 10000
#define SAVE_CHECK_EVERY 1024u

/* What a shard's processing counts; saved with its lease in leased mode. */
typedef struct counters {
    uint64_t records, malformed, refused, applied, dups, buys, sells;
    int64_t realized_e8;
} counters;

/* Leased mode: a shard this worker holds, with its own engine (a symbol's
 * ticks are all in one shard, so a shard's state moves with its lease). */
typedef struct lshard {
    char id[TP_KINESIS_SHARD_ID_MAX];
    tp_stream_reader *reader;
    tp_engine *engine;
    counters c;
    uint64_t throttles_seen; /* the reader's throttles already reported */
    int64_t start_ms;        /* a LATEST / AT_TIMESTAMP start, pinned (0: none) */
    tp_buf touched;          /* symbols applied since positions were last saved, NUL after
                                each: only those are saved (an inherited sibling's never) */
    uint32_t ntouched;       /* how many; past TOUCHED_MAX: every symbol of the engine */
    int renew_failed;        /* the last renew or checkpoint failed for a passing reason */
    int64_t idle_mbl;        /* MillisBehindLatest of its last empty read */
} lshard;

typedef struct consumer {
    const char *source; /* as given */
    const char *path;   /* replay: the file, file: stripped */
    int stream_mode, follow, from_latest, from_time;
    uint32_t get_limit; /* records a read asks for */
    int64_t from_ms; /* --from TIMESTAMP: AT_TIMESTAMP, ms since the epoch */
    char shard[TP_SHARD_MAX]; /* replay: "file:" + base name */
    tp_engine *engine;
    tp_engine_options opts;
    tp_positions_store *positions;
    tp_trade_archive *trades;
    tp_checkpoint *cp; /* NULL: no exactly-once bookkeeping (plain replay) */
    /* events: `evbuf` holds lines not yet handed to the sink */
    FILE *events_out; /* stdout, or NULL */
    int events_fd;    /* file:PATH sink, or -1 */
    const char *events_path;
    tp_buf evbuf, line;
    uint64_t events_bytes; /* bytes written to the events file */
    /* stream */
    tp_stream *stream;
    tp_stream_reader **readers; /* NULL: waiting for its parents, or read to its end */
    uint32_t nshards, shards_cap;
    char (*last_seq)[TP_KINESIS_SEQ_MAX];
    char (*ids)[TP_KINESIS_SHARD_ID_MAX];
    uint8_t *ended; /* closed and read to its end (saved as such) */
    int reshard;    /* a shard ended: list the shards again after the next save */
    /* leased mode (--checkpoints dynamodb://TABLE) */
    tp_lease_table *leases;
    const char *worker_id;
    uint32_t failover_ms;
    lshard *held;
    uint32_t nheld, held_cap;
    tp_engine *engine0; /* the engine made from the options (C->engine swaps) */
    counters retired;   /* of shards this worker finished or released */
    int64_t next_take_ms, next_renew_ms;
    uint64_t lost_leases, checkpoints_written;
    FILE *metrics; /* --metrics: CloudWatch Embedded Metric Format lines, or NULL */
    uint64_t s3_requests; /* s3:// trades: HeadBucket and one PutObject a trade */
    lshard *cur;          /* leased mode: the shard being processed */
    int trades_s3;
    int64_t lag_ms;
    uint64_t skip_to; /* replay with a checkpoint: records up to this one are done */
    /* counters, cumulative across restarts when a checkpoint is kept */
    uint64_t records, malformed, refused, applied, dups, buys, sells;
    int64_t realized_e8;
    int dirty; /* ticks applied since the last save */
    int moved; /* records consumed since the last save */
    int64_t checkpoint_ns, last_save_ns;
    int rc;
    const char *status_path;
    cli_progress prog;
    int64_t t0_ms, status_next_ms;
    uint64_t records_at_start;
} consumer;

static int parse_pct(const char *opt, const char *v, int64_t *out)
{
    if (tp_price_parse(out, tp_cursor_from_str(v), NULL) != TP_OK || *out < 0)
        return cli_fail("%s: '%s' is not a percentage (a decimal >= 0)", opt, v);
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

static int write_fd(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Hand the buffered events to their sink; with `durable`, make them reach
 * it for good (fsync a file, flush stdout) before a save records them. */
static int events_out(consumer *C, int durable)
{
    if (C->evbuf.len) {
        if (C->events_fd >= 0) {
            if (write_fd(C->events_fd, C->evbuf.ptr, C->evbuf.len) != 0)
                return cli_fail("cannot write events to %s: %s", C->events_path, strerror(errno));
            C->events_bytes += C->evbuf.len;
        } else if (C->events_out &&
                   fwrite(C->evbuf.ptr, 1, C->evbuf.len, C->events_out) != C->evbuf.len) {
            return cli_fail("cannot write events: %s", strerror(errno));
        }
        tp_buf_clear(&C->evbuf);
    }
    if (durable) {
        if (C->events_fd >= 0 && fsync(C->events_fd) != 0)
            return cli_fail("cannot fsync %s: %s", C->events_path, strerror(errno));
        if (C->events_out && fflush(C->events_out) != 0)
            return cli_fail("cannot write events: %s", strerror(errno));
    }
    return 0;
}

static int print_event(consumer *C, const tp_engine_event *ev, const tp_trade *t)
{
    if (!C->events_out && C->events_fd < 0)
        return 0;
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
    if (st == TP_OK && C->stream_mode)
        st = tp_buf_appendf(b, NULL, ",\"shard\":\"%s\",\"sequence\":\"%s\"", ev->shard,
                            ev->sequence);
    else if (st == TP_OK)
        st = tp_buf_appendf(b, NULL, ",\"sequence\":%s", ev->sequence);
    if (st == TP_OK && ev->side == TP_SIDE_SELL) {
        tp_price_format(px, ev->pnl_e8);
        st = tp_buf_appendf(b, NULL, ",\"pnl\":%s", px);
    }
    if (st == TP_OK)
        st = tp_buf_append_str(b, "}\n", NULL);
    if (st == TP_OK)
        st = tp_buf_append(&C->evbuf, b->ptr, b->len, NULL);
    if (st != TP_OK)
        return cli_fail("out of memory");
    return C->evbuf.len >= (64u << 10) ? events_out(C, 0) : 0;
}

/* ---- saving --------------------------------------------------------------- */

static int cmp_pos(const void *a, const void *b)
{
    return strcmp(((const tp_position *)a)->symbol, ((const tp_position *)b)->symbol);
}

/* Every symbol's position, sorted by symbol (malloc'd; *n set). */
static tp_position *positions_sorted(consumer *C, size_t *n)
{
    *n = tp_engine_symbol_count(C->engine);
    tp_position *all = calloc(*n ? *n : 1, sizeof *all);
    if (!all)
        return NULL;
    for (size_t i = 0; i < *n; i++)
        tp_engine_position_at(C->engine, i, &all[i], NULL);
    qsort(all, *n, sizeof *all, cmp_pos);
    return all;
}

/* The engine state for the checkpoint (tp_cli.h: cli_engine_state). */
static tp_status engine_state(consumer *C, tp_buf *out)
{
    return cli_engine_state(C->engine, out);
}

static tp_status engine_restore_state(consumer *C, tp_cursor s, tp_error *err)
{
    return cli_engine_restore(C->engine, s, err);
}

static int set_counter(consumer *C, const char *name, uint64_t v)
{
    tp_error err;
    if (tp_checkpoint_set_counter(C->cp, name, v, &err) != TP_OK)
        return cli_fail("checkpoint: %s", err.message);
    return 0;
}

/* Make what was consumed durable: events first (they must reach their sink
 * before the state that suppresses them is saved), then positions, then
 * the checkpoint with the engine state, in one atomic write. */
static int save(consumer *C, int force)
{
    if (C->leases)
        return 0; /* leased mode checkpoints each shard after each batch */
    if (!C->dirty && !C->moved)
        return 0;
    int64_t now = tp_time_mono_ns();
    if (!force && now - C->last_save_ns < C->checkpoint_ns)
        return 0;
    C->last_save_ns = now;
    tp_error err;
    if (events_out(C, 1))
        return 2;
    if (C->positions && C->dirty &&
        tp_positions_store_save(C->positions, C->engine, NULL, 0, &err) != TP_OK)
        return cli_fail("saving positions: %s", err.message);
    C->dirty = 0;
    if (!C->cp) {
        C->moved = 0;
        return 0;
    }
    for (uint32_t i = 0; i < C->nshards; i++) {
        const char *id = C->shard, *seq = C->last_seq[i];
        tp_stream_position pos;
        if (C->stream_mode) {
            id = C->ids[i];
            if (C->readers[i]) {
                /* The reader's position: after its last record, or where a
                 * LATEST start was pinned before any record came. */
                tp_stream_reader_position(C->readers[i], &pos);
                seq = pos.type == TP_KINESIS_AFTER_SEQUENCE_NUMBER ? pos.sequence_number : "";
                /* and the user record within an aggregate (the KCL's
                 * checkpointSubSequenceNumber) */
                char name[TP_KINESIS_SHARD_ID_MAX + 8];
                snprintf(name, sizeof name, "sub:%s", id);
                if (seq[0] && (pos.sub_sequence_number || tp_checkpoint_counter(C->cp, name)) &&
                    tp_checkpoint_set_counter(C->cp, name, (uint64_t)pos.sub_sequence_number,
                                              &err) != TP_OK)
                    return cli_fail("checkpoint: %s", err.message);
            } else if (C->ended[i]) {
                char name[TP_KINESIS_SHARD_ID_MAX + 8];
                snprintf(name, sizeof name, "ended:%s", id);
                if (tp_checkpoint_set_string(C->cp, name, "SHARD_END", &err) != TP_OK)
                    return cli_fail("checkpoint: %s", err.message);
            }
        }
        if (seq[0] && tp_checkpoint_set_sequence(C->cp, id, seq, &err) != TP_OK)
            return cli_fail("checkpoint: %s", err.message);
    }
    tp_buf state;
    tp_buf_init(&state, NULL, 0);
    if (engine_state(C, &state) != TP_OK ||
        tp_checkpoint_set_state(C->cp, tp_buf_cursor(&state), &err) != TP_OK) {
        tp_buf_dispose(&state);
        return cli_fail("checkpoint: out of memory");
    }
    tp_buf_dispose(&state);
    char pnl[TP_PRICE_STR_MAX];
    tp_price_format(pnl, C->realized_e8);
    if (set_counter(C, "records", C->records) || set_counter(C, "malformed", C->malformed) ||
        set_counter(C, "refused", C->refused) || set_counter(C, "applied", C->applied) ||
        set_counter(C, "duplicates", C->dups) || set_counter(C, "buys", C->buys) ||
        set_counter(C, "sells", C->sells) ||
        (C->events_fd >= 0 && set_counter(C, "events_bytes", C->events_bytes)) ||
        tp_checkpoint_set_string(C->cp, "realized_pnl", pnl, NULL) != TP_OK)
        return 2;
    if (tp_checkpoint_save(C->cp, &err) != TP_OK)
        return cli_fail("saving the checkpoint: %s", err.message);
    C->moved = 0;
    return 0;
}

/* ---- applying records ----------------------------------------------------- */

#define TOUCHED_MAX 256

/* Note that `symbol` changed in shard `h` (see lshard.touched). */
static void touch(lshard *h, tp_cursor symbol)
{
    if (h->ntouched > TOUCHED_MAX)
        return;
    const char *p = (const char *)h->touched.ptr;
    for (size_t off = 0; p && off < h->touched.len; off += strlen(p + off) + 1)
        if (strlen(p + off) == symbol.len && !memcmp(p + off, symbol.ptr, symbol.len))
            return;
    if (h->ntouched == TOUCHED_MAX || tp_buf_append(&h->touched, symbol.ptr, symbol.len, NULL) ||
        tp_buf_append(&h->touched, "", 1, NULL))
        h->ntouched = TOUCHED_MAX + 1; /* too many (or no memory): save them all */
    else
        h->ntouched++;
}

/* Apply one valid record. Returns 0, or 2 on a fatal error. */
static int apply(consumer *C, const tp_trade *t, const char *shard, const char *seq,
                 const char *where)
{
    tp_tick tick;
    tick.symbol = tp_cursor_make(t->symbol, t->symbol_len);
    tick.shard = tp_cursor_from_str(shard);
    tick.sequence = tp_cursor_from_str(seq);
    tick.price_e8 = t->price_e8;
    /* the lenient decoder parses the time when the timestamp reads as one */
    tick.ts_us = (t->flags & TP_TRADE_TS_PARSED) ? t->ts_us : TP_ENGINE_NO_TIME;
    tp_engine_event ev[TP_ENGINE_EVENTS_MAX];
    size_t n = 0;
    tp_error err;
    tp_engine_stats before, after;
    tp_engine_stats_get(C->engine, &before);
    tp_status st = tp_engine_apply(C->engine, &tick, ev, &n, &err);
    if (st == TP_E_NOMEM)
        return cli_fail("%s", err.message);
    if (st != TP_OK) {
        /* The engine refused the tick (P&L overflow, symbol limit): it is
         * reported and skipped like a malformed record. */
        fprintf(stderr, "%s: tick not applied: %s\n", where, err.message);
        C->refused++;
        if (C->rc < 1)
            C->rc = 1;
        return 0;
    }
    tp_engine_stats_get(C->engine, &after);
    if (after.duplicates != before.duplicates) {
        C->dups++;
        return 0;
    }
    C->applied++;
    C->dirty = 1;
    if (C->cur)
        touch(C->cur, tick.symbol);
    for (size_t i = 0; i < n; i++) {
        if (ev[i].side == TP_SIDE_SELL) {
            C->sells++;
            C->realized_e8 += ev[i].pnl_e8;
            /* The trade is durable before any save that forgets the position. */
            if (C->trades && tp_trade_archive_put(C->trades, &ev[i], &C->opts, &err) != TP_OK)
                return cli_fail("archiving a trade: %s", err.message);
            C->s3_requests += (uint64_t)(C->trades_s3 != 0);
        } else {
            C->buys++;
        }
        if (print_event(C, &ev[i], t))
            return 2;
        if (!C->cp && save(C, 0))
            return 2;
    }
    return 0;
}

static void malformed(consumer *C)
{
    C->malformed++;
    if (C->rc < 1)
        C->rc = 1;
}

/* ---- progress and summary ------------------------------------------------- */

static void status_text(consumer *C, tp_buf *b, const char *state)
{
    char pnl[TP_PRICE_STR_MAX];
    tp_price_format(pnl, C->realized_e8);
    tp_buf_clear(b);
    tp_buf_appendf(b, NULL,
                   "{\"program\":\"tp-consumer\",\"state\":\"%s\",\"records\":%llu,"
                   "\"malformed\":%llu,\"applied\":%llu,\"buys\":%llu,\"sells\":%llu,"
                   "\"realized_pnl\":\"%s\",\"lag_ms\":%lld,",
                   state, (unsigned long long)C->records, (unsigned long long)C->malformed,
                   (unsigned long long)C->applied, (unsigned long long)C->buys,
                   (unsigned long long)C->sells, pnl, (long long)C->lag_ms);
    if (C->leases) {
        tp_lease_stats ls;
        tp_lease_table_stats(C->leases, &ls);
        tp_buf_appendf(b, NULL, "\"worker\":\"%s\",\"leases_held\":%u,\"lease_requests\":%llu,",
                       C->worker_id, C->nheld, (unsigned long long)ls.requests);
    }
    /* DynamoDB and S3 calls made (a benchmark's measure): leases, positions
     * (Scan pages, GetItem, PutItem, refused writes), trade objects. */
    tp_positions_store_dynamodb_stats ps;
    if (C->positions && tp_positions_store_dynamodb_stats_get(C->positions, &ps, NULL) == TP_OK) {
        tp_lease_stats ls;
        tp_lease_table_stats(C->leases, &ls);
        tp_buf_appendf(b, NULL, "\"requests\":{\"dynamodb\":%llu,\"s3\":%llu},",
                       (unsigned long long)(ls.requests + ps.scan_pages + ps.reads + ps.writes +
                                            ps.conflicts),
                       (unsigned long long)C->s3_requests);
    }
    tp_buf_append_str(b, "\"shards\":{", NULL);
    for (uint32_t i = 0; C->stream_mode && i < C->nshards; i++)
        tp_buf_appendf(b, NULL, "%s\"%s\":\"%s\"", i ? "," : "",
                       C->ids[i], C->last_seq[i]);
    tp_buf_append_str(b, "}}\n", NULL);
}

static void progress(consumer *C, int final)
{
    int64_t now = cli_now_ms();
    if (C->status_path && (final || now >= C->status_next_ms)) {
        tp_buf b;
        tp_buf_init(&b, NULL, 0);
        status_text(C, &b, final ? "done" : "running");
        cli_status_write(C->status_path, b.ptr ? (const char *)b.ptr : "");
        tp_buf_dispose(&b);
        C->status_next_ms = now + CLI_STATUS_MS;
    }
    if (final || !cli_progress_due(&C->prog))
        return;
    char a[32], r[32], pnl[TP_PRICE_STR_MAX], line[200];
    double s = (double)(now - C->t0_ms) / 1000.0;
    uint64_t here = C->records - C->records_at_start;
    tp_price_format(pnl, C->realized_e8);
    snprintf(line, sizeof line,
             "%s records, %s ticks/s, %llu buys, %llu sells, P&L %s, lag %lld ms",
             cli_count(a, C->records), cli_count(r, s > 0 ? (uint64_t)((double)here / s) : 0),
             (unsigned long long)C->buys, (unsigned long long)C->sells, pnl, (long long)C->lag_ms);
    cli_progress_line(&C->prog, line);
}

static void summary(consumer *C)
{
    cli_progress_end(&C->prog);
    fprintf(stderr,
            "tp-consumer: %llu records, %llu malformed, %llu refused; %llu ticks applied, %llu "
            "already applied; %llu buys, %llu sells\n",
            (unsigned long long)C->records, (unsigned long long)C->malformed,
            (unsigned long long)C->refused, (unsigned long long)C->applied,
            (unsigned long long)C->dups, (unsigned long long)C->buys, (unsigned long long)C->sells);
    for (uint32_t i = 0; C->stream_mode && i < C->nshards; i++) {
        tp_stream_reader_stats rs;
        if (!C->readers[i])
            continue;
        tp_stream_reader_stats_get(C->readers[i], &rs);
        if (rs.torn_tails || rs.trimmed)
            fprintf(stderr,
                    "tp-consumer: %s: %llu torn segment tails skipped (%llu bytes, left by a "
                    "crashed writer), %llu segments deleted by retention before being read\n",
                    tp_stream_reader_shard_id(C->readers[i]), (unsigned long long)rs.torn_tails,
                    (unsigned long long)rs.torn_bytes, (unsigned long long)rs.trimmed);
    }
    if (C->leases) {
        tp_lease_stats ls;
        tp_lease_table_stats(C->leases, &ls);
        char pnl[TP_PRICE_STR_MAX];
        tp_price_format(pnl, C->realized_e8);
        fprintf(stderr,
                "tp-consumer: worker %s: realized P&L %s; leases: %llu taken (%llu from busier "
                "workers), %llu lost to others, %llu checkpoints, %llu conditional-write "
                "conflicts, %llu lease-table requests\n",
                C->worker_id, pnl, (unsigned long long)ls.taken, (unsigned long long)ls.stolen,
                (unsigned long long)C->lost_leases, (unsigned long long)ls.checkpoints,
                (unsigned long long)ls.conflicts, (unsigned long long)ls.requests);
    }
    size_t n;
    tp_position *all = positions_sorted(C, &n);
    if (!all)
        return;
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
    if (C->stream_mode) {
        double cpu;
        long rss;
        cli_usage(&cpu, &rss);
        uint64_t here = C->records - C->records_at_start;
        fprintf(stderr, "tp-consumer: cpu %.2f s (%.2f us/record), peak RSS %.1f MB\n", cpu,
                here ? cpu * 1e6 / (double)here : 0.0, (double)rss / 1024.0);
    }
}

/* ---- the two modes -------------------------------------------------------- */

static int run_replay(consumer *C)
{
    tp_source *src = NULL;
    tp_reader *rd = NULL;
    tp_error err;
    int rc = 0;
    if (tp_source_open(&src, C->path, &err) != TP_OK)
        return cli_fail("%s", err.message);
    tp_reader_options o;
    tp_reader_options_init(&o, TP_READER_OPTIONS_VERSION);
    o.decode_flags = TP_DECODE_LENIENT;
    if (tp_reader_new(&rd, src, &o, &err) != TP_OK) {
        tp_source_free(src);
        return cli_fail("%s: %s", C->path, err.message);
    }
    tp_trade t;
    uint64_t index = 0; /* the record's position in the input */
    for (;;) {
        tp_status st = tp_reader_next(rd, &t, &err);
        if (st == TP_DONE)
            break;
        if (st != TP_OK && st != TP_E_RECORD && st != TP_E_TOO_LARGE) {
            rc = cli_fail("%s: %s", C->path, err.message);
            break;
        }
        if (++index <= C->skip_to)
            continue; /* done before the last checkpoint */
        C->records++;
        C->moved = 1;
        snprintf(C->last_seq[0], sizeof C->last_seq[0], "%llu", (unsigned long long)index);
        tp_reader_stats rs;
        tp_reader_stats_get(rd, &rs);
        char where[600];
        snprintf(where, sizeof where, "%s:%llu", C->path, (unsigned long long)rs.record_offset);
        if (st == TP_OK) {
            if ((rc = apply(C, &t, C->shard, C->last_seq[0], where)) != 0)
                break;
        } else {
            fprintf(stderr, "%s:%llu: %s\n", C->path, (unsigned long long)err.offset, err.message);
            malformed(C);
        }
        if (C->cp && index % SAVE_CHECK_EVERY == 0 && (rc = save(C, 0)) != 0)
            break;
    }
    tp_reader_free(rd);
    tp_source_free(src);
    return rc;
}

static int start_shards(consumer *C);

static int on_record(consumer *C, uint32_t shard, const tp_stream_record *r)
{
    C->records++;
    C->moved = 1;
    if (shard != UINT32_MAX)
        snprintf(C->last_seq[shard], sizeof C->last_seq[shard], "%s", r->sequence_number);
    tp_trade t;
    tp_error err;
    char where[300];
    if (r->aggregated)
        snprintf(where, sizeof where, "%s sequence %s user record %llu", r->shard_id,
                 r->sequence_number, (unsigned long long)r->sub_sequence_number);
    else
        snprintf(where, sizeof where, "%s sequence %s", r->shard_id, r->sequence_number);
    tp_status st = tp_record_decode(&t, r->data, TP_DECODE_LENIENT, &err);
    if (st == TP_OK) /* the user sequence tells the user records of an aggregate apart */
        return apply(C, &t, r->shard_id, r->user_sequence_number, where);
    if (st == TP_E_NOMEM)
        return cli_fail("%s", err.message);
    fprintf(stderr, "%s: byte %llu: %s\n", where,
            (unsigned long long)(err.offset == TP_NO_OFFSET ? 0 : err.offset), err.message);
    malformed(C);
    return 0;
}

static int run_stream(consumer *C)
{
    tp_error err;
    int rc = 0;
    uint64_t since_check = 0;
    while (!rc) {
        size_t got = 0;
        int64_t lag = 0;
        for (uint32_t i = 0; i < C->nshards && !rc; i++) {
            tp_stream_records recs;
            if (!C->readers[i])
                continue;
            tp_status gst = tp_stream_reader_get(C->readers[i], C->get_limit, &recs, &err);
            if (gst == TP_DONE) {
                /* A closed shard read to its end: saved as such, then its
                 * children may start. */
                tp_stream_reader_free(C->readers[i]);
                C->readers[i] = NULL;
                C->ended[i] = 1;
                C->moved = 1;
                C->reshard = 1;
                continue;
            }
            if (gst != TP_OK) {
                rc = cli_fail("%s %s: %s", C->source, C->ids[i], err.message);
                break;
            }
            for (size_t k = 0; k < recs.count && !rc; k++)
                rc = on_record(C, i, &recs.records[k]);
            got += recs.count;
            if (recs.millis_behind_latest > lag)
                lag = recs.millis_behind_latest;
            since_check += recs.count;
        }
        if (rc)
            break;
        C->lag_ms = lag;
        if (C->reshard) {
            C->reshard = 0;
            if ((rc = save(C, 1)) != 0 || (rc = start_shards(C)) != 0)
                break;
            got = 1; /* look at the new shards before waiting */
        }
        if (since_check >= SAVE_CHECK_EVERY || !got) {
            /* Busy or idle, a save at most every --checkpoint-ms: an idle
             * consumer comes back here after each wait. */
            since_check = 0;
            if ((rc = save(C, 0)) != 0)
                break;
            progress(C, 0);
        }
        if (cli_stop)
            break;
        if (!got) {
            if (!C->follow)
                break;
            tp_status st = tp_stream_wait(C->stream, 250, &err);
            if (st != TP_OK && st != TP_E_TIMEOUT)
                rc = cli_fail("%s: %s", C->source, err.message);
        }
    }
    return rc;
}

/* ---- setup ---------------------------------------------------------------- */

static int open_events(consumer *C, const char *events)
{
    C->events_fd = -1;
    if (!events)
        return 0;
    if (!strcmp(events, "-")) {
        C->events_out = stdout;
        return 0;
    }
    if (strncmp(events, "file:", 5) != 0 || !events[5])
        return cli_fail("--events '%s': expected - or file:PATH", events);
    C->events_path = events + 5;
    if (cli_mkdirs_for(C->events_path) != 0)
        return cli_fail("--events %s: cannot create its directory: %s", events, strerror(errno));
    C->events_fd = open(C->events_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (C->events_fd < 0)
        return cli_fail("--events %s: %s", events, strerror(errno));
    /* Cut back to what the checkpoint covers: what follows it was written
     * by a run that died before saving, and will be written again. */
    uint64_t keep =
        C->cp && tp_checkpoint_loaded(C->cp) ? tp_checkpoint_counter(C->cp, "events_bytes") : 0;
    struct stat sb;
    if (fstat(C->events_fd, &sb) != 0)
        return cli_fail("--events %s: %s", events, strerror(errno));
    if (sb.st_size == 0 && keep) {
        /* A new (or emptied) file: the events so far are elsewhere. */
        fprintf(stderr,
                "tp-consumer: %s is empty: the events from here on start it (%llu bytes of "
                "earlier events went elsewhere)\n",
                C->events_path, (unsigned long long)keep);
        keep = 0;
    }
    if ((uint64_t)sb.st_size < keep)
        return cli_fail("--events %s: the file has %lld bytes, its checkpoint says %llu: it was "
                        "changed behind the consumer's back",
                        events, (long long)sb.st_size, (unsigned long long)keep);
    if (ftruncate(C->events_fd, (off_t)keep) != 0 || lseek(C->events_fd, 0, SEEK_END) == (off_t)-1)
        return cli_fail("--events %s: %s", events, strerror(errno));
    C->events_bytes = keep;
    return 0;
}

/* Resume from the checkpoint, or from the positions file when there is none. */
static int load_state(consumer *C, const char *positions)
{
    tp_error err;
    if (C->cp && tp_checkpoint_loaded(C->cp)) {
        tp_status st = engine_restore_state(C, tp_checkpoint_state(C->cp), &err);
        if (st != TP_OK)
            return cli_fail("checkpoint: engine state: %s%s%s", err.message,
                            err.field[0] ? " (parameter " : "", err.field[0] ? err.field : "");
        C->records = tp_checkpoint_counter(C->cp, "records");
        C->malformed = tp_checkpoint_counter(C->cp, "malformed");
        C->refused = tp_checkpoint_counter(C->cp, "refused");
        C->applied = tp_checkpoint_counter(C->cp, "applied");
        C->dups = tp_checkpoint_counter(C->cp, "duplicates");
        C->buys = tp_checkpoint_counter(C->cp, "buys");
        C->sells = tp_checkpoint_counter(C->cp, "sells");
        const char *pnl = tp_checkpoint_string(C->cp, "realized_pnl");
        if (pnl && tp_price_parse(&C->realized_e8, tp_cursor_from_str(pnl), NULL) != TP_OK)
            return cli_fail("checkpoint: realized_pnl '%s' is not a decimal", pnl);
        if (!C->stream_mode) {
            const char *seq = tp_checkpoint_sequence(C->cp, C->shard);
            C->skip_to = seq ? strtoull(seq, NULL, 10) : 0;
        }
    } else if (C->positions && tp_positions_store_load(C->positions, C->engine, &err) != TP_OK) {
        return cli_fail("--positions %s: %s", positions, err.message);
    } else if (C->positions) {
        /* P&L so far, for the progress line. */
        size_t n;
        tp_position *all = positions_sorted(C, &n);
        for (size_t i = 0; all && i < n; i++)
            C->realized_e8 += all[i].realized_pnl_e8;
        free(all);
    }
    C->records_at_start = C->records;
    return 0;
}

static int shard_index(const consumer *C, const char *id)
{
    for (uint32_t i = 0; i < C->nshards; i++)
        if (!strcmp(C->ids[i], id))
            return (int)i;
    return -1;
}

/* Whether shard `id`'s parent is read to its end: one we never had is gone
 * (past the retention period) or read by an earlier run. */
static int parent_done(const consumer *C, const char *id)
{
    if (!id[0])
        return 1;
    int j = shard_index(C, id);
    return j < 0 || C->ended[j];
}

static int add_shard(consumer *C, const char *id)
{
    if (C->nshards == C->shards_cap) {
        uint32_t cap = C->shards_cap ? C->shards_cap * 2 : 8;
        void *r = realloc(C->readers, cap * sizeof *C->readers);
        if (r)
            C->readers = r;
        void *l = realloc(C->last_seq, cap * sizeof *C->last_seq);
        if (l)
            C->last_seq = l;
        void *d = realloc(C->ids, cap * sizeof *C->ids);
        if (d)
            C->ids = d;
        void *e = realloc(C->ended, cap * sizeof *C->ended);
        if (e)
            C->ended = e;
        if (!r || !l || !d || !e)
            return cli_fail("out of memory");
        C->shards_cap = cap;
    }
    uint32_t i = C->nshards++;
    C->readers[i] = NULL;
    C->last_seq[i][0] = '\0';
    snprintf(C->ids[i], sizeof C->ids[i], "%s", id);
    C->ended[i] = 0;
    return 0;
}

/* List the shards and start a reader on each one not started yet whose
 * parents are read to their end (a child shard is read only after its
 * parents, so that a symbol's ticks stay in order across a reshard). */
static int start_shards(consumer *C)
{
    tp_error err;
    tp_kinesis_shards ls = {0};
    if (tp_stream_list_shards(C->stream, &ls, &err) != TP_OK)
        return cli_fail("--source %s: %s", C->source, err.message);
    int rc = 0;
    for (size_t k = 0; !rc && k < ls.count; k++)
        if (shard_index(C, ls.shards[k].shard_id) < 0)
            rc = add_shard(C, ls.shards[k].shard_id);
    /* Parents come before their children in ListShards, but a pass per
     * generation is cheap and does not depend on it. */
    for (int changed = 1; !rc && changed;) {
        changed = 0;
        for (size_t k = 0; !rc && k < ls.count; k++) {
            const tp_kinesis_shard *sh = &ls.shards[k];
            int i = shard_index(C, sh->shard_id);
            if (C->readers[i] || C->ended[i] || !parent_done(C, sh->parent_shard_id) ||
                !parent_done(C, sh->adjacent_parent_shard_id))
                continue;
            char name[TP_KINESIS_SHARD_ID_MAX + 8];
            snprintf(name, sizeof name, "ended:%s", sh->shard_id);
            if (C->cp && tp_checkpoint_string(C->cp, name)) {
                C->ended[i] = 1; /* read to its end before a restart */
                changed = 1;
                continue;
            }
            const char *seq = C->cp ? tp_checkpoint_sequence(C->cp, sh->shard_id) : NULL;
            tp_stream_position pos = {
                C->from_latest ? TP_KINESIS_LATEST : TP_KINESIS_TRIM_HORIZON, 0, 0, ""};
            if (C->from_time) {
                pos.type = TP_KINESIS_AT_TIMESTAMP;
                pos.timestamp_ms = C->from_ms;
            }
            if ((C->from_latest || C->from_time) && (sh->parent_shard_id[0] || sh->adjacent_parent_shard_id[0]) &&
                (shard_index(C, sh->parent_shard_id) >= 0 ||
                 shard_index(C, sh->adjacent_parent_shard_id) >= 0))
                pos.type = TP_KINESIS_TRIM_HORIZON; /* a child of what we read: all of it */
            if (seq) {
                pos.type = TP_KINESIS_AFTER_SEQUENCE_NUMBER;
                snprintf(name, sizeof name, "sub:%s", sh->shard_id);
                pos.sub_sequence_number = (int32_t)tp_checkpoint_counter(C->cp, name);
                snprintf(pos.sequence_number, sizeof pos.sequence_number, "%s", seq);
                snprintf(C->last_seq[i], sizeof C->last_seq[i], "%s", seq);
            }
            if (tp_stream_reader_new(&C->readers[i], C->stream, sh->shard_id, &pos, &err) !=
                TP_OK) {
                rc = cli_fail("--source %s %s: %s", C->source, sh->shard_id, err.message);
                break;
            }
            /* A start that resolved to a place (LATEST) is saved as such. */
            tp_stream_reader_position(C->readers[i], &pos);
            if (!seq && pos.type == TP_KINESIS_AFTER_SEQUENCE_NUMBER)
                C->moved = 1;
        }
    }
    tp_kinesis_shards_dispose(&ls);
    return rc;
}

static int open_stream(consumer *C)
{
    tp_error err;
    if (tp_stream_open(&C->stream, C->source, NULL, &err) != TP_OK)
        return cli_fail("--source %s: %s", C->source, err.message);
    if (C->leases)
        return 0; /* leased mode: shards come with the leases taken */
    /* A checkpoint belongs to one stream: not to another one made since
     * under the same name. */
    const char *sid = tp_stream_id(C->stream);
    const char *was = tp_checkpoint_string(C->cp, "stream_id");
    if (was && sid[0] && strcmp(was, sid) != 0)
        return cli_fail("--source %s: the checkpoint was made on another stream (id %s; this one "
                        "is %s): was it deleted and made again? Remove the checkpoint, positions "
                        "and events to start over",
                        C->source, was, sid);
    if (sid[0] && tp_checkpoint_set_string(C->cp, "stream_id", sid, &err) != TP_OK)
        return cli_fail("checkpoint: %s", err.message);
    return start_shards(C);
}

/* ---- leased mode ---------------------------------------------------------- */

static void swap_in(consumer *C, lshard *h)
{
    C->cur = h;
    C->engine = h->engine;
    C->records = h->c.records;
    C->malformed = h->c.malformed;
    C->refused = h->c.refused;
    C->applied = h->c.applied;
    C->dups = h->c.dups;
    C->buys = h->c.buys;
    C->sells = h->c.sells;
    C->realized_e8 = h->c.realized_e8;
}

static void swap_out(consumer *C, lshard *h)
{
    h->c.records = C->records;
    h->c.malformed = C->malformed;
    h->c.refused = C->refused;
    h->c.applied = C->applied;
    h->c.dups = C->dups;
    h->c.buys = C->buys;
    h->c.sells = C->sells;
    h->c.realized_e8 = C->realized_e8;
    C->engine = C->engine0;
    C->cur = NULL;
}

static void counters_add(counters *to, const counters *c)
{
    to->records += c->records;
    to->malformed += c->malformed;
    to->refused += c->refused;
    to->applied += c->applied;
    to->dups += c->dups;
    to->buys += c->buys;
    to->sells += c->sells;
    to->realized_e8 += c->realized_e8;
}

/* The totals of every shard held now and of those finished or released. */
static void leased_totals(consumer *C)
{
    counters t = C->retired;
    for (uint32_t i = 0; i < C->nheld; i++)
        counters_add(&t, &C->held[i].c);
    C->records = t.records;
    C->malformed = t.malformed;
    C->refused = t.refused;
    C->applied = t.applied;
    C->dups = t.dups;
    C->buys = t.buys;
    C->sells = t.sells;
    C->realized_e8 = t.realized_e8;
}

#define LEASE_STATE_MAGIC "TPL2"

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* A shard's state in its lease (tpState), all integers little-endian:
 *   "TPL2", its counters (8 x u64: records, malformed, refused, applied,
 *   duplicates, buys, sells, realized P&L in 1e-8), i64 start_ms (where a
 *   LATEST or AT_TIMESTAMP start was pinned, 0: none), u16 length and the
 *   checkpoint written with this state, i64 its sub-sequence number, then
 *   the engine state as in a checkpoint file.
 * The checkpoint inside tells a state that still goes with the lease's
 * checkpoint from one left behind when another application (a Java KCL
 * one) moved the checkpoint on. Call between swap_in and swap_out. */
static tp_status lease_state(consumer *C, const lshard *h, const char *cp, int64_t sub,
                             tp_buf *out)
{
    size_t cl = strlen(cp);
    uint8_t head[4 + 8 * 8 + 8 + 2];
    memcpy(head, LEASE_STATE_MAGIC, 4);
    uint64_t v[8] = {C->records, C->malformed, C->refused, C->applied,
                     C->dups,    C->buys,      C->sells,   (uint64_t)C->realized_e8};
    for (int i = 0; i < 8; i++)
        put_u64(head + 4 + 8 * i, v[i]);
    put_u64(head + 68, (uint64_t)h->start_ms);
    head[76] = (uint8_t)cl;
    head[77] = (uint8_t)(cl >> 8);
    uint8_t subb[8];
    put_u64(subb, (uint64_t)sub);
    tp_buf_clear(out);
    tp_status st = tp_buf_append(out, head, sizeof head, NULL);
    if (st == TP_OK)
        st = tp_buf_append(out, cp, cl, NULL);
    if (st == TP_OK)
        st = tp_buf_append(out, subb, 8, NULL);
    return st == TP_OK ? engine_state(C, out) : st;
}

/* What a lease state holds, its engine state left as bytes. */
typedef struct lease_blob {
    counters c;
    int64_t start_ms;
    char checkpoint[TP_KINESIS_SEQ_MAX];
    int64_t sub;
    tp_cursor engine;
} lease_blob;

static int lease_blob_read(tp_cursor s, lease_blob *b, const char *from)
{
    const uint8_t *p = s.ptr;
    size_t cl = s.len >= 78 ? (size_t)p[76] | (size_t)p[77] << 8 : 0;
    if (s.len < 78 || memcmp(p, LEASE_STATE_MAGIC, 4) != 0 || cl >= sizeof b->checkpoint ||
        s.len < 78 + cl + 8)
        return cli_fail("lease of %s: tpState is not a tp-consumer state (%zu bytes)", from,
                        s.len);
    b->c.records = get_u64(p + 4);
    b->c.malformed = get_u64(p + 12);
    b->c.refused = get_u64(p + 20);
    b->c.applied = get_u64(p + 28);
    b->c.dups = get_u64(p + 36);
    b->c.buys = get_u64(p + 44);
    b->c.sells = get_u64(p + 52);
    b->c.realized_e8 = (int64_t)get_u64(p + 60);
    b->start_ms = (int64_t)get_u64(p + 68);
    memcpy(b->checkpoint, p + 78, cl);
    b->checkpoint[cl] = '\0';
    b->sub = (int64_t)get_u64(p + 78 + cl);
    b->engine = tp_cursor_make(p + 78 + cl + 8, s.len - 78 - cl - 8);
    return 0;
}

/* Restore engine state bytes into `e`; with a hash-key range, only the
 * symbols that hash into it (a parent's state split between its children). */
static int engine_load(consumer *C, tp_engine *e, tp_cursor state, const char *lo,
                       const char *hi, const char *from)
{
    tp_error err;
    tp_engine *keep = C->engine, *scratch = NULL;
    if (lo && tp_engine_new(&scratch, &C->opts, &err) != TP_OK)
        return cli_fail("engine: %s", err.message);
    C->engine = lo ? scratch : e;
    tp_status st = engine_restore_state(C, state, &err);
    C->engine = keep;
    int rc = 0;
    if (st != TP_OK)
        rc = cli_fail("lease of %s: engine state: %s%s%s", from, err.message,
                      err.field[0] ? " (parameter " : "", err.field[0] ? err.field : "");
    tp_buf one;
    tp_buf_init(&one, NULL, 0);
    for (size_t i = 0; !rc && lo && i < tp_engine_symbol_count(scratch); i++) {
        tp_position p;
        int in = 0;
        if (tp_engine_position_at(scratch, i, &p, &err) != TP_OK ||
            tp_stream_hash_key_in_range(p.symbol, lo, hi, &in, &err) != TP_OK) {
            rc = cli_fail("lease of %s: %s", from, err.message);
            break;
        }
        if (!in)
            continue; /* the sibling's */
        tp_buf_clear(&one);
        if (tp_engine_snapshot(scratch, tp_cursor_from_str(p.symbol), &one, &err) != TP_OK ||
            tp_engine_restore(e, tp_buf_cursor(&one), &err) != TP_OK)
            rc = cli_fail("lease of %s: symbol %s: %s", from, p.symbol, err.message);
    }
    tp_buf_dispose(&one);
    tp_engine_free(scratch);
    return rc;
}

static int held_checkpoint(consumer *C, lshard *h, int shard_end);
static void held_drop(consumer *C, uint32_t i, int keep);

static lshard *held_find(consumer *C, const char *id)
{
    for (uint32_t i = 0; i < C->nheld; i++)
        if (!strcmp(C->held[i].id, id))
            return &C->held[i];
    return NULL;
}

/* Stop working on held shard `i`: `keep` adds its counts to the totals
 * (finished or released, not lost to another worker). */
static void held_drop(consumer *C, uint32_t i, int keep)
{
    lshard *h = &C->held[i];
    if (keep)
        counters_add(&C->retired, &h->c);
    tp_stream_reader_free(h->reader);
    tp_engine_free(h->engine);
    tp_buf_dispose(&h->touched);
    C->held[i] = C->held[--C->nheld];
}

/* Start on a lease just taken: its engine from its state (a child's, when
 * it has none yet, from its parents' final states), its reader from its
 * checkpoint. */
static int held_start(consumer *C, const tp_lease *l)
{
    tp_error err;
    if (C->nheld == C->held_cap) {
        uint32_t cap = C->held_cap ? C->held_cap * 2 : 8;
        lshard *n = realloc(C->held, cap * sizeof *n);
        if (!n)
            return cli_fail("out of memory");
        C->held = n;
        C->held_cap = cap;
    }
    lshard *h = &C->held[C->nheld];
    memset(h, 0, sizeof *h);
    tp_buf_init(&h->touched, NULL, 0);
    snprintf(h->id, sizeof h->id, "%s", l->lease_key);
    if (tp_engine_new(&h->engine, &C->opts, &err) != TP_OK)
        return cli_fail("engine: %s", err.message);
    int rc = 0;
    lease_blob blob;
    memset(&blob, 0, sizeof blob);
    if (l->state.len) {
        rc = lease_blob_read(l->state, &blob, l->lease_key);
        if (!rc && (strcmp(blob.checkpoint, l->checkpoint) != 0 ||
                    blob.sub != l->checkpoint_sub_sequence_number))
            rc = cli_fail("lease of %s: its checkpoint (%s, %lld) is not the one our state was "
                          "saved with (%s, %lld): another application moved it on. Remove "
                          "tpState from the item to start this shard's engine afresh there",
                          l->lease_key, l->checkpoint,
                          (long long)l->checkpoint_sub_sequence_number, blob.checkpoint,
                          (long long)blob.sub);
        if (!rc) {
            h->c = blob.c;
            h->start_ms = blob.start_ms;
            rc = engine_load(C, h->engine, blob.engine, NULL, NULL, l->lease_key);
        }
    } else if (l->parent_count) {
        /* A child: its parents' final states, only the symbols that hash
         * into its own range (the rest went to its sibling). */
        tp_kinesis_shards ls = {0};
        if (tp_stream_list_shards(C->stream, &ls, &err) != TP_OK)
            rc = cli_fail("--source %s: %s", C->source, err.message);
        const tp_kinesis_shard *me = NULL;
        for (size_t k = 0; !rc && k < ls.count; k++)
            if (!strcmp(ls.shards[k].shard_id, l->lease_key))
                me = &ls.shards[k];
        for (uint32_t k = 0; !rc && me && k < l->parent_count; k++) {
            const tp_lease *p = tp_lease_table_find(C->leases, l->parent_shard_ids[k]);
            if (!p || !p->state.len)
                continue;
            lease_blob pb;
            rc = lease_blob_read(p->state, &pb, p->lease_key);
            if (!rc)
                rc = engine_load(C, h->engine, pb.engine, me->hash_key_start, me->hash_key_end,
                                 p->lease_key);
        }
        tp_kinesis_shards_dispose(&ls);
    }
    tp_stream_position pos = {TP_KINESIS_TRIM_HORIZON, 0, 0, ""};
    int pin = 0;
    if (!strcmp(l->checkpoint, TP_LEASE_LATEST) || !strcmp(l->checkpoint, TP_LEASE_AT_TIMESTAMP)) {
        /* LATEST is pinned to the time the shard is first taken, and kept in
         * the lease before any effect: a worker taking the shard over after
         * a crash resumes there, not at a later LATEST (the records in
         * between would have effects nobody's engine state holds). The KCL
         * keeps an AT_TIMESTAMP time in its configuration: --from TIME. */
        if (h->start_ms) {
            pos.timestamp_ms = h->start_ms;
        } else if (!strcmp(l->checkpoint, TP_LEASE_LATEST)) {
            pos.timestamp_ms = tp_time_now_us() / 1000;
            pin = 1;
        } else if (C->from_time) {
            pos.timestamp_ms = C->from_ms;
            pin = 1;
        }
        if (pos.timestamp_ms) {
            pos.type = TP_KINESIS_AT_TIMESTAMP;
            h->start_ms = pos.timestamp_ms;
        } else {
            fprintf(stderr, "tp-consumer: the lease of %s starts AT_TIMESTAMP but no --from "
                            "TIME was given: reading it from its trim horizon\n", h->id);
        }
    } else if (l->checkpoint[0] >= '0' && l->checkpoint[0] <= '9') {
        pos.type = TP_KINESIS_AFTER_SEQUENCE_NUMBER;
        pos.sub_sequence_number = (int32_t)l->checkpoint_sub_sequence_number;
        snprintf(pos.sequence_number, sizeof pos.sequence_number, "%s", l->checkpoint);
    }
    if (!rc && tp_stream_reader_new(&h->reader, C->stream, h->id, &pos, &err) != TP_OK)
        rc = cli_fail("--source %s %s: %s", C->source, h->id, err.message);
    if (rc) {
        tp_stream_reader_free(h->reader);
        tp_engine_free(h->engine);
        tp_buf_dispose(&h->touched);
        return rc;
    }
    C->nheld++;
    if (pin) { /* the pinned start goes into the lease before any effect */
        swap_in(C, h);
        rc = held_checkpoint(C, h, 0);
        swap_out(C, h);
        if (rc == 1) {
            held_drop(C, C->nheld - 1, 0);
            return 0;
        }
        if (rc)
            return rc;
    }
    if (l->owner_switches_since_checkpoint > 0 && l->checkpoint[0] >= '0' && l->checkpoint[0] <= '9')
        fprintf(stderr, "tp-consumer: took over the lease of %s at %s\n", h->id,
                l->checkpoint);
    return 0;
}

/* An AWS failure worth trying again later rather than stopping for: the
 * network, a timeout, throttling, a 5xx (the client's own retries spent). */
static int transient(tp_status st, const tp_error *err)
{
    return st == TP_E_HTTP || st == TP_E_TIMEOUT || st == TP_E_THROTTLED ||
           (st == TP_E_AWS && (err->http_status >= 500 || err->http_status == 429 ||
                               err->http_status == 0));
}

/* One CloudWatch Embedded Metric Format line for a processed batch
 * (Amazon CloudWatch User Guide, "Specification: Embedded metric format"):
 * CloudWatch Logs (and Lambda's log stream) turn it into metrics at no API
 * cost. `was` holds the shard's counters before the batch. */
static void metrics_line(consumer *C, const char *shard, const counters *was, const counters *now,
                         int64_t iterator_age_ms, int64_t latency_ms, uint64_t throttles,
                         uint64_t conflicts)
{
    if (!C->metrics)
        return;
    static const char *const names[][2] = {
        {"Records", "Count"},        {"Ticks", "Count"},
        {"Signals", "Count"},        {"Trades", "Count"},
        {"Duplicates", "Count"},     {"Malformed", "Count"},
        {"RealizedPnl", "None"},     {"IteratorAgeMilliseconds", "Milliseconds"},
        {"Throttles", "Count"},      {"ConditionalWriteConflicts", "Count"},
        {"BatchLatencyMilliseconds", "Milliseconds"}};
    char pnl[TP_PRICE_STR_MAX];
    tp_price_format(pnl, now->realized_e8 - was->realized_e8);
    fprintf(C->metrics, "{\"_aws\":{\"Timestamp\":%lld,\"CloudWatchMetrics\":[{\"Namespace\":"
                        "\"tradepipe\",\"Dimensions\":[[\"Shard\"]],\"Metrics\":[",
            (long long)(tp_time_now_us() / 1000));
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        fprintf(C->metrics, "%s{\"Name\":\"%s\",\"Unit\":\"%s\"}", i ? "," : "", names[i][0],
                names[i][1]);
    fprintf(C->metrics,
            "]}]},\"Shard\":\"%s\",\"Worker\":\"%s\",\"Records\":%llu,\"Ticks\":%llu,"
            "\"Signals\":%llu,\"Trades\":%llu,\"Duplicates\":%llu,\"Malformed\":%llu,"
            "\"RealizedPnl\":%s,\"IteratorAgeMilliseconds\":%lld,\"Throttles\":%llu,"
            "\"ConditionalWriteConflicts\":%llu,\"BatchLatencyMilliseconds\":%lld}\n",
            shard, C->worker_id ? C->worker_id : "",
            (unsigned long long)(now->records - was->records),
            (unsigned long long)(now->applied - was->applied),
            (unsigned long long)(now->buys + now->sells - was->buys - was->sells),
            (unsigned long long)(now->sells - was->sells),
            (unsigned long long)(now->dups - was->dups),
            (unsigned long long)(now->malformed - was->malformed), pnl,
            (long long)iterator_age_ms, (unsigned long long)throttles,
            (unsigned long long)conflicts, (long long)latency_ms);
    fflush(C->metrics);
}

/* Checkpoint held shard `h` (swapped in) at its reader's position or at
 * SHARD_END. Returns 0, 1 when the lease was lost (the shard is to be
 * dropped), 2 on an error. */
static int held_checkpoint(consumer *C, lshard *h, int shard_end)
{
    tp_error err;
    tp_stream_position pos;
    tp_stream_reader_position(h->reader, &pos);
    const char *cp = NULL;
    int64_t sub = 0;
    if (shard_end) {
        cp = TP_LEASE_SHARD_END;
    } else if (pos.type == TP_KINESIS_AFTER_SEQUENCE_NUMBER) {
        cp = pos.sequence_number;
        sub = pos.sub_sequence_number;
    } else if (h->start_ms) {
        cp = TP_LEASE_AT_TIMESTAMP; /* a pinned start, nothing read yet */
    } else {
        return 0; /* nothing read yet: the lease keeps its starting position */
    }
    tp_buf state;
    tp_buf_init(&state, NULL, 0);
    if (lease_state(C, h, cp, sub, &state) != TP_OK) {
        tp_buf_dispose(&state);
        return cli_fail("out of memory");
    }
    tp_status st = tp_lease_table_checkpoint(C->leases, h->id, cp, sub, tp_buf_cursor(&state), &err);
    tp_buf_dispose(&state);
    /* TP_E_CONDITION: the conditional write found another owner; TP_E_STATE:
     * a renewal during this batch already found it (the table marks the
     * lease not held). Either way the lease is gone, not the worker. */
    if (st == TP_E_CONDITION || st == TP_E_STATE) {
        fprintf(stderr, "tp-consumer: the lease of %s was taken over by another worker: "
                        "leaving it\n", h->id);
        C->lost_leases++;
        return 1;
    }
    if (st != TP_OK && transient(st, &err)) {
        /* The next checkpoint covers this one; until then a crash replays
         * from the last one, which the effects' idempotence absorbs. */
        fprintf(stderr, "tp-consumer: checkpointing %s failed for now (%s): retrying with the "
                        "next batch\n", h->id, err.message);
        h->renew_failed = 1;
        return 0;
    }
    if (st != TP_OK)
        return cli_fail("checkpointing %s: %s", h->id, err.message);
    h->renew_failed = 0;
    C->checkpoints_written++;
    return 0;
}

/* One GetRecords batch of held shard `i`: effects, then positions, then
 * the checkpoint with the shard's state (one conditional write). Sets
 * *got to the records read; drops the shard when it ended or was lost. */
static int renew_due(consumer *C);

/* Save the positions of the symbols `h` changed since the last save.
 * Returns 0 (saved), 1 (failed for now: keep them for the next batch and
 * checkpoint nothing meanwhile), 2 (fatal). Call between swap_in and swap_out. */
static int held_positions(consumer *C, lshard *h)
{
    tp_error err;
    if (!C->positions || (!h->ntouched && !C->dirty))
        return 0;
    size_t n = 0;
    tp_cursor *syms = NULL;
    if (h->ntouched <= TOUCHED_MAX && h->ntouched) {
        syms = calloc(h->ntouched, sizeof *syms);
        if (!syms)
            return cli_fail("out of memory");
        const char *p = (const char *)h->touched.ptr;
        for (size_t off = 0; p && off < h->touched.len && n < h->ntouched;
             off += strlen(p + off) + 1)
            syms[n++] = tp_cursor_from_str(p + off);
    }
    tp_status st = tp_positions_store_save(C->positions, C->engine, syms, n, &err);
    free(syms);
    if (st != TP_OK) {
        if (transient(st, &err)) {
            fprintf(stderr, "tp-consumer: saving positions of %s failed for now (%s): retrying "
                            "with the next batch\n", h->id, err.message);
            return 1;
        }
        return cli_fail("saving positions of %s: %s", h->id, err.message);
    }
    tp_buf_clear(&h->touched);
    h->ntouched = 0;
    C->dirty = 0;
    return 0;
}

static int held_batch(consumer *C, uint32_t i, size_t *got)
{
    lshard *h = &C->held[i];
    tp_error err;
    tp_stream_records recs;
    *got = 0;
    tp_status st = tp_stream_reader_get(h->reader, C->get_limit, &recs, &err);
    if (st != TP_OK && st != TP_DONE) {
        if (transient(st, &err)) {
            fprintf(stderr, "tp-consumer: %s: reading %s failed for now: %s\n", C->source,
                    h->id, err.message);
            return 0;
        }
        return cli_fail("%s %s: %s", C->source, h->id, err.message);
    }
    if (st == TP_OK && recs.count == 0) {
        h->idle_mbl = recs.millis_behind_latest;
        return 0;
    }
    h->idle_mbl = 0;
    int64_t t0 = cli_now_ms();
    counters was = h->c;
    tp_lease_stats ls0;
    tp_lease_table_stats(C->leases, &ls0);
    swap_in(C, h);
    int rc = 0;
    for (size_t k = 0; k < recs.count && !rc; k++) {
        rc = on_record(C, UINT32_MAX, &recs.records[k]);
        if (!rc && k % 512 == 511)
            rc = renew_due(C); /* a long batch must not let the leases expire */
    }
    if (recs.millis_behind_latest > C->lag_ms)
        C->lag_ms = recs.millis_behind_latest;
    int saved = rc ? 2 : held_positions(C, h);
    if (saved == 2)
        rc = 2;
    else if (saved == 0) /* the checkpoint only after the effects are durable */
        rc = held_checkpoint(C, h, st == TP_DONE);
    swap_out(C, h);
    *got = st == TP_DONE ? 1 : recs.count; /* an end is news: children may start */
    if (!rc) {
        tp_lease_stats ls1;
        tp_stream_reader_stats rs;
        tp_lease_table_stats(C->leases, &ls1);
        tp_stream_reader_stats_get(h->reader, &rs);
        metrics_line(C, h->id, &was, &h->c, recs.millis_behind_latest, cli_now_ms() - t0,
                     rs.throttles - h->throttles_seen, ls1.conflicts - ls0.conflicts);
        h->throttles_seen = rs.throttles;
    }
    if (rc == 1) { /* lost: the new owner redoes what follows its checkpoint */
        held_drop(C, i, 0);
        return 0;
    }
    if (!rc && st == TP_DONE && saved == 0 && !h->renew_failed) {
        if (tp_lease_table_release(C->leases, h->id, &err) != TP_OK)
            fprintf(stderr, "tp-consumer: releasing the ended lease of %s: %s\n", h->id,
                    err.message);
        held_drop(C, i, 1); /* its children may start */
        C->next_take_ms = 0;
    }
    return rc;
}

/* Renew the leases held when it is time (a third of the failover time).
 * A lease found taken over is marked so (tp_lease.held 0) and dropped by
 * leases_tend; a passing failure waits for the next time. Returns 0 or 2. */
static int renew_due(consumer *C)
{
    tp_error err;
    int64_t now = cli_now_ms();
    if (now < C->next_renew_ms)
        return 0;
    C->next_renew_ms = now + C->failover_ms / 3;
    tp_status st = tp_lease_table_renew(C->leases, now, NULL, &err);
    if (st == TP_OK)
        return 0;
    if (transient(st, &err)) {
        fprintf(stderr, "tp-consumer: renewing leases failed for now: %s\n", err.message);
        C->next_renew_ms = now + 500;
        return 0;
    }
    return cli_fail("renewing leases: %s", err.message);
}

/* Drop the shards whose lease another worker holds now. */
static void drop_lost(consumer *C)
{
    for (uint32_t i = C->nheld; i-- > 0;) {
        const tp_lease *l = tp_lease_table_find(C->leases, C->held[i].id);
        if (!l || !l->held) {
            fprintf(stderr, "tp-consumer: lost the lease of %s to another worker\n",
                    C->held[i].id);
            C->lost_leases++;
            held_drop(C, i, 0);
        }
    }
}

/* Renew, and every so often look for shards and leases to take. */
static int leases_tend(consumer *C)
{
    tp_error err;
    int rc = renew_due(C);
    if (rc)
        return rc;
    drop_lost(C);
    int64_t now = cli_now_ms();
    if (now < C->next_take_ms)
        return 0;
    C->next_take_ms = now + C->failover_ms / 2;
    tp_kinesis_shards ls = {0};
    tp_status st = tp_stream_list_shards(C->stream, &ls, &err);
    if (st == TP_OK)
        st = tp_lease_table_refresh(C->leases, now, &err);
    if (st == TP_OK)
        st = tp_lease_table_sync(C->leases, &ls,
                                 C->from_latest ? TP_LEASE_LATEST
                                 : C->from_time ? TP_LEASE_AT_TIMESTAMP
                                                : TP_LEASE_TRIM_HORIZON,
                                 &err);
    if (st == TP_OK)
        st = tp_lease_table_refresh(C->leases, now, &err);
    tp_kinesis_shards_dispose(&ls);
    uint32_t taken = 0;
    if (st == TP_OK)
        st = tp_lease_table_take(C->leases, now, &taken, &err);
    if (st != TP_OK) {
        if (!transient(st, &err))
            return cli_fail("leases: %s", err.message);
        fprintf(stderr, "tp-consumer: looking at the leases failed for now: %s\n", err.message);
        C->next_take_ms = now + 1000;
    }
    drop_lost(C); /* a refresh may have found some taken over */
    for (size_t i = 0; i < tp_lease_table_count(C->leases); i++) {
        const tp_lease *l = tp_lease_table_get(C->leases, i);
        if (l->held && !held_find(C, l->lease_key)) {
            rc = held_start(C, l);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int run_leased(consumer *C)
{
    tp_error err;
    int rc = 0;
    C->engine0 = C->engine;
    while (!rc) {
        if ((rc = leases_tend(C)) != 0)
            break;
        size_t got = 0;
        for (uint32_t i = C->nheld; i-- > 0 && !rc;) {
            size_t n = 0;
            rc = held_batch(C, i, &n);
            got += n;
        }
        if (rc)
            break;
        leased_totals(C);
        progress(C, 0);
        C->engine = C->engine0;
        if (cli_stop)
            break;
        if (!got) {
            /* Without --follow: stop once every shard held is read to its end.
             * An empty read is not proof of that on Kinesis: one behind the
             * newest record (MillisBehindLatest > 0), or a throttled one,
             * is read again. */
            int behind = 0;
            for (uint32_t i = 0; i < C->nheld; i++) {
                tp_stream_reader_stats rs;
                tp_stream_reader_stats_get(C->held[i].reader, &rs);
                behind |= C->held[i].idle_mbl > 0 || rs.throttles != C->held[i].throttles_seen;
                C->held[i].throttles_seen = rs.throttles;
            }
            if (!C->follow && !behind)
                break;
            tp_stream_wait(C->stream, 250, &err);
        }
    }
    /* Everything read was checkpointed batch by batch: hand the leases back
     * so that another worker takes them at once. */
    for (uint32_t i = C->nheld; i-- > 0;) {
        tp_lease_table_release(C->leases, C->held[i].id, &err);
        held_drop(C, i, 1);
    }
    leased_totals(C);
    C->engine = C->engine0;
    return rc;
}

int main(int argc, char **argv)
{
    cli_name = "tp-consumer";
    consumer C;
    memset(&C, 0, sizeof C);
    C.events_fd = -1;
    C.checkpoint_ns = 1000000000;
    tp_engine_options_init(&C.opts, TP_ENGINE_OPTIONS_VERSION);
    const char *metrics = NULL;
    const char *events = NULL, *positions = NULL, *trades = NULL, *checkpoints = NULL, *from = NULL;
    int64_t x = 0, progress_ms = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            fputs(usage_options, stdout);
            return 0;
        }
        if (!strcmp(a, "--follow")) {
            C.follow = 1;
            continue;
        }
        const char *v = cli_value(argc, argv, &i);
        if (!v)
            return 2;
        if (!strcmp(a, "--source"))
            C.source = v;
        else if (!strcmp(a, "--events"))
            events = v;
        else if (!strcmp(a, "--positions"))
            positions = v;
        else if (!strcmp(a, "--trades"))
            trades = v;
        else if (!strcmp(a, "--checkpoints"))
            checkpoints = v;
        else if (!strcmp(a, "--metrics"))
            metrics = v;
        else if (!strcmp(a, "--worker-id")) {
            /* It goes into JSON lines and DynamoDB items as it is. */
            for (const char *q = v; *q; q++)
                if ((unsigned char)*q < 0x20 || *q == '"' || *q == '\\' || *q == 0x7f)
                    return cli_fail("--worker-id '%s': byte %zu is a control character, a quote "
                                    "or a backslash",
                                    v, (size_t)(q - v));
            if (!*v || strlen(v) >= TP_LEASE_OWNER_MAX)
                return cli_fail("--worker-id: 1 to %d bytes", TP_LEASE_OWNER_MAX - 1);
            C.worker_id = v;
        }
        else if (!strcmp(a, "--failover-ms")) {
            if (cli_int(a, v, 300, 3600000, &x))
                return 2;
            C.failover_ms = (uint32_t)x;
        }
        else if (!strcmp(a, "--from"))
            from = v;
        else if (!strcmp(a, "--status"))
            C.status_path = v;
        else if (!strcmp(a, "--progress")) {
            if (cli_seconds(a, v, &progress_ms))
                return 2;
        } else if (!strcmp(a, "--window")) {
            if (cli_int(a, v, 1, TP_ENGINE_MAX_WINDOW, &x))
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
            if (cli_int(a, v, 1, INT64_MAX, &C.opts.order_size))
                return 2;
        } else if (!strcmp(a, "--checkpoint-ms")) {
            if (cli_int(a, v, 0, INT64_MAX / 1000000, &x))
                return 2;
            C.checkpoint_ns = x * 1000000;
        } else if (!strcmp(a, "--max-symbols")) {
            if (cli_int(a, v, 1, UINT32_MAX, &x))
                return 2;
            C.opts.max_symbols = (uint32_t)x;
        } else {
            fprintf(stderr, "tp-consumer: unknown option '%s' (--help lists the options)\n", a);
            return 2;
        }
    }
    if (!C.source) {
        fprintf(stderr, "tp-consumer: --source is required (--help lists the options)\n");
        return 2;
    }
    int kinesis = !strncmp(C.source, "kinesis://", 10);
    if (kinesis && !C.source[10])
        return cli_fail("--source kinesis://STREAM: no stream name");
    if (!kinesis && (strncmp(C.source, "file:", 5) != 0 || !C.source[5]))
        return cli_fail("--source '%s': expected file:DIR (a stream), kinesis://STREAM or "
                        "file:PATH (a file to replay)",
                        C.source);
    C.path = C.source + 5;
    struct stat sb;
    C.get_limit = kinesis ? GET_LIMIT_KINESIS : GET_LIMIT;
    if (kinesis) {
        C.stream_mode = 1;
    } else if (strcmp(C.path, "-") != 0 && stat(C.path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        char meta[4096];
        snprintf(meta, sizeof meta, "%s/stream.json", C.path);
        if (stat(meta, &sb) != 0)
            return cli_fail("--source %s: a directory but not a stream (no stream.json; "
                            "tp-producer --to file:DIR makes one)",
                            C.source);
        C.stream_mode = 1;
    }
    int leased = checkpoints && !strncmp(checkpoints, "dynamodb://", 11);
    if (leased) {
        if (!C.stream_mode)
            return cli_fail("--checkpoints dynamodb:// (shard leases) is for a stream source");
        if (!positions || !strncmp(positions, "file:", 5))
            return cli_fail("--checkpoints dynamodb:// shares shards between workers: --positions "
                            "must be a store every worker reaches, dynamodb://TABLE");
        if (events)
            return cli_fail("--events is not available with --checkpoints dynamodb:// (each "
                            "worker sees only the shards it holds)");
    }
    if (metrics) {
        if (!leased)
            return cli_fail("--metrics goes with --checkpoints dynamodb://TABLE (a line per "
                            "shard batch)");
        if (!strcmp(metrics, "-"))
            C.metrics = stdout;
        else if (!strncmp(metrics, "file:", 5) && metrics[5])
            C.metrics = fopen(metrics + 5, "a");
        if (!C.metrics)
            return cli_fail("--metrics '%s': expected - or file:PATH (%s)", metrics,
                            strncmp(metrics, "file:", 5) ? "unknown target" : strerror(errno));
    }
    if ((C.worker_id || C.failover_ms) && !leased)
        return cli_fail("--worker-id and --failover-ms go with --checkpoints dynamodb://TABLE");
    if (C.stream_mode) {
        if (!positions || !trades)
            return cli_fail("following a stream needs --positions file:PATH and --trades "
                            "file:DIR (where its effects go)");
        C.from_latest = from && !strcmp(from, "latest");
        if (from && strcmp(from, "trim-horizon") != 0 && !C.from_latest) {
            int64_t us = 0;
            if (tp_time_parse_iso8601(&us, tp_cursor_from_str(from), NULL) != TP_OK)
                return cli_fail("--from '%s': expected trim-horizon, latest or an ISO-8601 "
                                "time (2025-10-22T12:00:00Z)",
                                from);
            C.from_time = 1;
            C.from_ms = us / 1000;
        }
    } else {
        if (!events) {
            fprintf(stderr, "tp-consumer: --source and --events are required\n%s", usage);
            return 2;
        }
        if (C.follow || from)
            return cli_fail("--follow and --from are for a stream (--source file:DIR)");
        const char *base = strrchr(C.path, '/');
        base = base ? base + 1 : C.path;
        snprintf(C.shard, sizeof C.shard, "file:%s", base);
        C.nshards = 1;
        C.last_seq = calloc(1, sizeof *C.last_seq);
        if (!C.last_seq)
            return cli_fail("out of memory");
    }

    /* From here on SIGTERM and SIGINT finish cleanly, even during setup
     * (a worker stopped while it opens its stores still releases its
     * leases and exits 0). */
    cli_signals();
    tp_error err;
    int rc = 0;
    char *cp_uri = NULL;
    tp_buf_init(&C.line, NULL, 0);
    tp_buf_init(&C.evbuf, NULL, 0);
    if (tp_engine_new(&C.engine, &C.opts, &err) != TP_OK) {
        rc = cli_fail("bad engine option %s: %s", err.field, err.message);
        goto done;
    }
    tp_engine_options_get(C.engine, &C.opts);
    /* Exactly-once bookkeeping: always on a stream; on a replay when asked
     * for, or when events go to a file next to kept positions. */
    int keep_cp = !leased && (C.stream_mode || checkpoints ||
                              (positions && events && !strncmp(events, "file:", 5)));
    char worker[TP_LEASE_OWNER_MAX];
    if (leased) {
        if (!C.worker_id) {
            char host[64] = "localhost";
            gethostname(host, sizeof host - 1);
            host[sizeof host - 1] = '\0';
            snprintf(worker, sizeof worker, "%s:%ld", host, (long)getpid());
            C.worker_id = worker;
        }
        tp_lease_options lo = TP_LEASE_OPTIONS_INIT;
        lo.failover_ms = C.failover_ms;
        if (tp_lease_table_open(&C.leases, checkpoints, C.worker_id, &lo, &err) != TP_OK) {
            rc = cli_fail("--checkpoints %s: %s", checkpoints, err.message);
            goto done;
        }
        if (!C.failover_ms)
            C.failover_ms = TP_LEASE_DEFAULT_FAILOVER_MS;
    }
    if (keep_cp) {
        if (!checkpoints) {
            if (!positions) {
                rc = cli_fail("--checkpoints needs a path (no --positions to put it beside)");
                goto done;
            }
            cp_uri = malloc(strlen(positions) + 16);
            if (!cp_uri) {
                rc = cli_fail("out of memory");
                goto done;
            }
            sprintf(cp_uri, "%s.checkpoints", positions);
            checkpoints = cp_uri;
        }
        /* First: its lock keeps a second consumer from touching the same
         * positions, trades and events (opening the archive cleans up). */
        if (tp_checkpoint_open(&C.cp, checkpoints, NULL, &err) != TP_OK) {
            rc = cli_fail("%s", err.message);
            goto done;
        }
    }
    if (positions && tp_positions_store_open(&C.positions, positions, NULL, &err) != TP_OK) {
        rc = cli_fail("--positions %s: %s", positions, err.message);
        goto done;
    }
    if (trades && tp_trade_archive_open(&C.trades, trades, NULL, &err) != TP_OK) {
        rc = cli_fail("--trades %s: %s", trades, err.message);
        goto done;
    }
    C.trades_s3 = trades && !strncmp(trades, "s3://", 5);
    C.s3_requests = (uint64_t)C.trades_s3; /* the HeadBucket of the opener */
    if (!leased && ((rc = load_state(&C, positions)) != 0 || (rc = open_events(&C, events)) != 0))
        goto done;
    if (C.stream_mode && (rc = open_stream(&C)) != 0)
        goto done;
    if (C.cp && !tp_checkpoint_loaded(C.cp)) {
        /* A first checkpoint before any effect: without it, a crash between
         * the first positions save and the first checkpoint would leave the
         * positions ahead of a stream read again from its start (their
         * ticks then taken for duplicates, their events lost). */
        C.moved = 1;
        if ((rc = save(&C, 1)) != 0)
            goto done;
    }
    cli_progress_init(&C.prog, progress_ms);
    C.t0_ms = cli_now_ms();
    rc = leased ? run_leased(&C) : C.stream_mode ? run_stream(&C) : run_replay(&C);
    /* What was applied is saved even when the input broke off. */
    if (save(&C, 1))
        rc = 2;
    progress(&C, 1);
    summary(&C);
done:
    if (C.events_fd >= 0)
        close(C.events_fd);
    tp_buf_dispose(&C.line);
    tp_buf_dispose(&C.evbuf);
    for (uint32_t i = 0; C.readers && i < C.nshards; i++)
        tp_stream_reader_free(C.readers[i]);
    free(C.readers);
    free(C.last_seq);
    free(C.ids);
    free(C.ended);
    tp_stream_free(C.stream);
    tp_checkpoint_free(C.cp);
    tp_lease_table_free(C.leases);
    if (C.metrics && C.metrics != stdout)
        fclose(C.metrics);
    free(C.held);
    tp_positions_store_free(C.positions);
    tp_trade_archive_free(C.trades);
    tp_engine_free(C.engine);
    free(cp_uri);
    if (rc < C.rc)
        rc = C.rc;
    return rc;
}
