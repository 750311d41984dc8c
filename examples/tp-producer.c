/* tp-producer: synthetic market data (or a replayed file) into a stream.
 * A thin program on the public API: generator or reader, record encoder,
 * stream. */
#include "tp_cli.h"

#include <pthread.h>
#include <time.h>

static const char usage[] =
    "usage: tp-producer --to file:DIR | kinesis://STREAM | - [--shards N]\n"
    "                   [--symbols AAPL,MSFT,...]\n"
    "                   [--rate N] [--count N | --duration S] [--seed N]\n"
    "                   [--start ISO8601|now] [--from FILE] [options]\n"
    "\n"
    "Put trade records into a stream, partition key = the symbol, one JSON object\n"
    "per record: {\"symbol\":\"AAPL\",\"price\":187.23,\"volume\":1200,\n"
    "\"timestamp\":\"2025-10-22T12:00:00.001Z\"}.\n"
    "\n"
    "Synthetic market data: per symbol a random walk in ticks of 0.01 with calm\n"
    "and volatile spells, dips and rallies of several percent, volumes in lots of\n"
    "100, and one clock whose timestamps strictly increase (by 1 ms at --rate 0\n"
    "or above 1000, else by 1/N s on average). The same --seed, --count, --rate,\n"
    "--symbols and --start give byte-identical records whatever --to is, so\n"
    "`tp-producer --to -` with a run's options reproduces that run's records in\n"
    "put order.\n"
    "\n"
    "  --to file:DIR       the local stream in DIR (created when missing), or - for\n"
    "                      NDJSON on standard output\n"
    "  --to kinesis://S    the Kinesis data stream S (created with --shards when\n"
    "                      missing), through the library's producer: KPL\n"
    "                      aggregation, shard-aware batching and rate limits,\n"
    "                      retries; endpoint, region and credentials as the AWS\n"
    "                      SDKs read them (AWS_ENDPOINT_URL_KINESIS, AWS_REGION...)\n"
    "  --shards N          shards of a stream created now (default 2); an existing\n"
    "                      stream must have N (its count is fixed at creation)\n"
    "  --symbols LIST      comma-separated symbols (default AAPL,MSFT,GOOGL,AMZN,\n"
    "                      TSLA,META,NVDA,JPM,V,NFLX)\n"
    "  --rate N            records per second (default 1000; 0: as fast as possible)\n"
    "  --count N           stop after N records (0: only create the stream)\n"
    "  --duration S        stop after S seconds (decimals allowed); without --count\n"
    "                      or --duration, run until interrupted\n"
    "  --seed N            random seed (default 1)\n"
    "  --start T           the first trade's time, ISO-8601 or 'now' (default\n"
    "                      2025-10-22T12:00:00Z, fixed so runs are reproducible)\n"
    "  --from FILE         replay the records of a Firehose or NDJSON file (plain or\n"
    "                      gzip, - for stdin) instead of generating; each valid\n"
    "                      record's bytes are put as they are, malformed ones are\n"
    "                      reported as FILE:BYTE_OFFSET: reason and skipped\n"
    "  --segment-bytes N   file: roll segments over past N bytes (default: the\n"
    "                      stream's, 64 MiB when created)\n"
    "  --retention-hours H file: delete segments older than H hours (default: the\n"
    "                      stream's, 24 when created)\n"
    "  --sync              file: fsync every batch before going on (survives a\n"
    "                      power loss, not only a crash; slower)\n"
    "  --aggregate on|off  kinesis: KPL aggregation (default on)\n"
    "  --linger-ms N       kinesis: longest wait of a record for its batch (100)\n"
    "  --dead-letter PATH  kinesis: append every record that finally failed, in\n"
    "                      full, as NDJSON (data in base64, every attempt's error)\n"
    "  --shard-rate R,B    kinesis: per-shard limits the producer keeps under,\n"
    "                      records/s and bytes/s (default 1000,1048576; 0,0: none,\n"
    "                      for an emulator)\n"
    "  --status PATH       keep a one-line JSON status in PATH (rewritten 10 times\n"
    "                      a second and at the end)\n"
    "  --progress S        a progress line on stderr every S seconds when stderr is\n"
    "                      not a terminal (on a terminal: a live line)\n"
    "\n"
    "Records go out in PutRecords-sized batches (at most 500 records, 4 MiB, or\n"
    "100 ms of waiting). SIGINT or SIGTERM: put what is batched, print the\n"
    "summary, exit 0. With kinesis:// the progress line shows records, rate,\n"
    "requests in flight, retries and throttles; the exit waits until every\n"
    "record is written or has failed (at most its 30 s time-to-live).\n"
    "\n"
    "Exit status: 0 every record put; 1 some records refused by the stream or\n"
    "malformed in --from; 2 usage error, or a stream or file that fails.\n";

#define BATCH_MAX_RECORDS 500
#define BATCH_MAX_BYTES   (4u << 20)
#define BATCH_MAX_WAIT_MS 100

typedef struct producer {
    /* options */
    const char *to, *from, *status_path;
    int to_stdout;
    uint32_t shards;
    uint64_t count; /* UINT64_MAX: no limit */
    int64_t duration_ms, rate, progress_ms;
    /* sources */
    tp_gen *gen;
    tp_source *src;
    tp_reader *rd;
    /* the batch: data and keys in `arena`, entries set just before the put */
    tp_stream *stream;
    tp_buf arena;
    size_t data_off[BATCH_MAX_RECORDS], data_len[BATCH_MAX_RECORDS], key_off[BATCH_MAX_RECORDS];
    tp_kinesis_entry ents[BATCH_MAX_RECORDS];
    tp_kinesis_put_result res[BATCH_MAX_RECORDS];
    size_t n;
    int64_t batch_t0_ms;
    /* counters */
    uint64_t records, bytes, failed, malformed, batches;
    uint64_t *shard_records;
    char (*shard_last)[TP_KINESIS_SEQ_MAX];
    int64_t t0_ms;
    cli_progress prog;
    int64_t status_next_ms;
    /* kinesis:// */
    tp_producer *kp;
    const char *kstream;
    pthread_mutex_t kmu;
    uint64_t k_ok, k_failed;
    char (*k_shard)[TP_KINESIS_SHARD_ID_MAX];
    uint64_t *k_shard_records;
    uint32_t k_nshards, k_cap;
} producer;

/* The producer's completion (on its thread). */
static void on_done(const tp_producer_result *r, void *payload)
{
    producer *P = payload;
    pthread_mutex_lock(&P->kmu);
    if (r->status == TP_OK) {
        P->k_ok++;
        uint32_t i = 0;
        while (i < P->k_nshards && strcmp(P->k_shard[i], r->shard_id) != 0)
            i++;
        if (i == P->k_nshards && i < P->k_cap) {
            snprintf(P->k_shard[i], sizeof P->k_shard[i], "%s", r->shard_id);
            P->k_nshards++;
        }
        if (i < P->k_nshards)
            P->k_shard_records[i]++;
    } else {
        P->k_failed++;
        const char *why = r->n_attempts ? r->attempts[r->n_attempts - 1].error_message : "";
        fprintf(stderr, "%s: a record (key %s) failed after %u attempts: %s: %s\n", cli_name,
                r->partition_key, r->n_attempts, tp_strerror(r->status), why);
    }
    pthread_mutex_unlock(&P->kmu);
}

/* Put the batch. Returns 0, or 2 on a stream failure. */
static int flush(producer *P)
{
    if (!P->n)
        return 0;
    if (P->to_stdout) {
        size_t len = P->arena.len, w = fwrite(P->arena.ptr, 1, len, stdout);
        tp_buf_clear(&P->arena);
        P->n = 0;
        if (w != len)
            return cli_fail("cannot write to standard output: %s", strerror(errno));
        return 0;
    }
    tp_error err;
    if (P->kp) {
        /* the producer batches itself: hand every record over (it copies) */
        for (size_t i = 0; i < P->n; i++) {
            tp_producer_record r = {tp_cursor_make(P->arena.ptr + P->data_off[i], P->data_len[i]),
                                    (const char *)P->arena.ptr + P->key_off[i], NULL, NULL};
            tp_status st = tp_producer_put(P->kp, &r, 60000, &err);
            if (st == TP_E_TOO_LARGE || st == TP_E_INVALID) {
                fprintf(stderr, "%s: record %llu (key %s) refused: %s\n", cli_name,
                        (unsigned long long)(P->records - P->n + i + 1), r.partition_key,
                        err.message);
                P->failed++;
            } else if (st != TP_OK) {
                return cli_fail("%s: %s", P->to, err.message);
            }
        }
        P->batches++;
        tp_buf_clear(&P->arena);
        P->n = 0;
        return 0;
    }
    for (size_t i = 0; i < P->n; i++) {
        P->ents[i].data = tp_cursor_make(P->arena.ptr + P->data_off[i], P->data_len[i]);
        P->ents[i].partition_key = (const char *)P->arena.ptr + P->key_off[i];
        P->ents[i].explicit_hash_key = NULL;
    }
    uint32_t failed = 0;
    tp_status st = tp_stream_put_records(P->stream, P->ents, P->n, P->res, &failed, &err);
    if (st != TP_OK && st != TP_E_IO)
        return cli_fail("%s: %s", P->to, err.message);
    for (size_t i = 0; i < P->n; i++) {
        const tp_kinesis_put_result *r = &P->res[i];
        if (r->error_code[0]) {
            fprintf(stderr, "%s: record %llu (key %s) not put: %s: %s\n", cli_name,
                    (unsigned long long)(P->records - P->n + i + 1), P->ents[i].partition_key,
                    r->error_code, r->error_message);
            continue;
        }
        unsigned idx = (unsigned)strtoul(r->shard_id + 8, NULL, 10);
        if (idx < P->shards) {
            P->shard_records[idx]++;
            memcpy(P->shard_last[idx], r->sequence_number, sizeof P->shard_last[idx]);
        }
    }
    P->failed += failed;
    P->batches++;
    tp_buf_clear(&P->arena);
    P->n = 0;
    if (st == TP_E_IO)
        return cli_fail("%s: %s", P->to, err.message);
    return 0;
}

/* The next record's bytes into the batch. Returns 0, 1 at the end of
 * --from, or 2 on a fatal error. */
static int next_record(producer *P)
{
    tp_error err;
    tp_trade t;
    tp_cursor raw;
    size_t data_off = P->arena.len;
    if (P->gen) {
        if (tp_gen_next(P->gen, &t, &err) != TP_OK)
            return cli_fail("generator: %s", err.message);
        if (tp_record_encode(&P->arena, &t, 0, &err) != TP_OK)
            return cli_fail("encoding a record: %s", err.message);
    } else {
        for (;;) {
            tp_status st = tp_reader_next(P->rd, &t, &err);
            if (st == TP_DONE)
                return 1;
            if (st == TP_OK)
                break;
            if (st == TP_E_RECORD || st == TP_E_TOO_LARGE) {
                fprintf(stderr, "%s:%llu: %s\n", P->from, (unsigned long long)err.offset,
                        err.message);
                P->malformed++;
                continue;
            }
            return cli_fail("%s: %s", P->from, err.message);
        }
        raw = tp_reader_raw(P->rd);
        if (tp_buf_append(&P->arena, raw.ptr, raw.len, &err) != TP_OK)
            return cli_fail("%s", err.message);
        if (P->to_stdout) {
            /* NDJSON: a record spread over lines (pretty-printed) goes on
             * one; in valid JSON a raw line break can only be whitespace. */
            for (size_t i = data_off; i < P->arena.len; i++)
                if (P->arena.ptr[i] == '\n' || P->arena.ptr[i] == '\r')
                    P->arena.ptr[i] = ' ';
        }
    }
    size_t data_len = P->arena.len - data_off;
    P->records++;
    P->bytes += data_len;
    if (P->to_stdout) {
        if (tp_buf_append(&P->arena, "\n", 1, &err) != TP_OK)
            return cli_fail("%s", err.message);
    } else {
        P->key_off[P->n] = P->arena.len;
        if (tp_buf_append(&P->arena, t.symbol, (size_t)t.symbol_len + 1, &err) != TP_OK)
            return cli_fail("%s", err.message);
    }
    if (P->n == 0)
        P->batch_t0_ms = cli_now_ms();
    P->data_off[P->n] = data_off;
    P->data_len[P->n] = data_len;
    P->n++;
    if (P->n == BATCH_MAX_RECORDS || P->arena.len >= BATCH_MAX_BYTES)
        return flush(P);
    return 0;
}

static void status_text(producer *P, tp_buf *b, const char *state)
{
    int64_t el = cli_now_ms() - P->t0_ms;
    tp_buf_clear(b);
    tp_buf_appendf(b, NULL,
                   "{\"program\":\"tp-producer\",\"state\":\"%s\",\"records\":%llu,\"bytes\":%llu,"
                   "\"failed\":%llu,\"malformed\":%llu,\"elapsed_ms\":%lld,\"shards\":{",
                   state, (unsigned long long)P->records, (unsigned long long)P->bytes,
                   (unsigned long long)P->failed, (unsigned long long)P->malformed, (long long)el);
    for (uint32_t i = 0; !P->to_stdout && i < P->shards; i++)
        tp_buf_appendf(b, NULL, "%s\"shardId-%012u\":{\"records\":%llu,\"last_sequence\":\"%s\"}",
                       i ? "," : "", i, (unsigned long long)P->shard_records[i], P->shard_last[i]);
    tp_buf_append_str(b, "}}\n", NULL);
}

static void report_progress(producer *P, int force)
{
    int64_t now = cli_now_ms();
    if (P->status_path && (force || now >= P->status_next_ms)) {
        tp_buf b;
        tp_buf_init(&b, NULL, 0);
        status_text(P, &b, force ? "done" : "running");
        cli_status_write(P->status_path, b.ptr ? (const char *)b.ptr : "");
        tp_buf_dispose(&b);
        P->status_next_ms = now + CLI_STATUS_MS;
    }
    if (!force && cli_progress_due(&P->prog)) {
        char a[32], r[32];
        char line[256];
        double s = (double)(now - P->t0_ms) / 1000.0;
        if (P->kp) {
            tp_producer_stats ks;
            tp_producer_get_stats(P->kp, &ks);
            char w[32];
            snprintf(line, sizeof line,
                     "%s records put, %s written, %s records/s, %u requests in flight, %llu "
                     "retries, %llu throttles, %.1f s",
                     cli_count(a, P->records), cli_count(w, ks.user_records_put),
                     cli_count(r, s > 0 ? (uint64_t)((double)ks.user_records_put / s) : 0),
                     ks.requests_in_flight, (unsigned long long)ks.retries,
                     (unsigned long long)ks.throttles, s);
        } else {
            snprintf(line, sizeof line, "%s records put, %s records/s, %.1f s",
                     cli_count(a, P->records),
                     cli_count(r, s > 0 ? (uint64_t)((double)P->records / s) : 0), s);
        }
        cli_progress_line(&P->prog, line);
    }
}

static void summary(producer *P)
{
    cli_progress_end(&P->prog);
    double s = (double)(cli_now_ms() - P->t0_ms) / 1000.0, cpu;
    long rss;
    cli_usage(&cpu, &rss);
    char a[32], b[32], c[32];
    fprintf(stderr, "%s: %s records (%s bytes) to %s in %.2f s: %s records/s\n", cli_name,
            cli_count(a, P->records), cli_count(b, P->bytes), P->to, s,
            cli_count(c, s > 0 ? (uint64_t)((double)P->records / s) : P->records));
    for (uint32_t i = 0; !P->to_stdout && !P->kp && i < P->shards; i++)
        fprintf(stderr, "  shardId-%012u  %12s records  last sequence number %s\n", i,
                cli_count(a, P->shard_records[i]), P->shard_last[i][0] ? P->shard_last[i] : "-");
    if (P->kp) {
        tp_producer_stats ks;
        tp_producer_get_stats(P->kp, &ks);
        for (uint32_t i = 0; i < P->k_nshards; i++)
            fprintf(stderr, "  %s  %12s records\n", P->k_shard[i],
                    cli_count(a, P->k_shard_records[i]));
        fprintf(stderr,
                "  %llu written, %llu failed (%llu expired); %llu Kinesis records in %llu "
                "requests; %llu retries, %llu throttles, %llu possible duplicates; latency "
                "p50 %.0f ms, p99 %.0f ms, max %.0f ms\n",
                (unsigned long long)ks.user_records_put, (unsigned long long)ks.user_records_failed,
                (unsigned long long)ks.user_records_expired,
                (unsigned long long)ks.kinesis_records_put, (unsigned long long)ks.requests,
                (unsigned long long)ks.retries, (unsigned long long)ks.throttles,
                (unsigned long long)ks.possible_duplicates, ks.latency_ms_p50, ks.latency_ms_p99,
                ks.latency_ms_max);
    }
    if (P->failed || P->malformed)
        fprintf(stderr, "  %llu records refused by the stream, %llu malformed in the input\n",
                (unsigned long long)P->failed, (unsigned long long)P->malformed);
    fprintf(stderr, "  cpu %.2f s (%.2f us/record), peak RSS %.1f MB\n", cpu,
            P->records ? cpu * 1e6 / (double)P->records : 0.0, (double)rss / 1024.0);
}

/* Split "A,B,C" into a NULL-terminated array (in place). */
static char **split_symbols(char *list, uint32_t *n)
{
    size_t cap = 1;
    for (const char *p = list; *p; p++)
        cap += *p == ',';
    char **v = calloc(cap + 1, sizeof *v);
    if (!v)
        return NULL;
    uint32_t k = 0;
    for (char *tok = list;; k++) {
        char *comma = strchr(tok, ',');
        if (comma)
            *comma = '\0';
        v[k] = tok;
        if (!comma)
            break;
        tok = comma + 1;
    }
    *n = k + 1;
    return v;
}

static int run(producer *P)
{
    int rc = 0;
    int64_t gap_every = P->rate > 0 ? 1 : 64;
    for (uint64_t i = 0; !cli_stop && i < P->count; i++) {
        if (i % (uint64_t)gap_every == 0) {
            int64_t now = cli_now_ms();
            if (P->duration_ms && now - P->t0_ms >= P->duration_ms)
                break;
            if (P->rate > 0) {
                /* Record i is due at t0 + i / rate: sleep till then. What is
                 * batched goes out once it has waited BATCH_MAX_WAIT_MS (as
                 * the KPL's RecordMaxBufferedTime), not at every record. */
                int64_t at = (int64_t)(i * 1000 / (uint64_t)P->rate);
                if (P->duration_ms && at >= P->duration_ms)
                    break;
                int64_t due = P->t0_ms + at;
                while (!cli_stop && now < due) {
                    if (P->n && now - P->batch_t0_ms >= BATCH_MAX_WAIT_MS && (rc = flush(P)) != 0)
                        return rc;
                    int64_t until = P->n ? P->batch_t0_ms + BATCH_MAX_WAIT_MS : due;
                    int64_t ms = (until < due ? until : due) - now;
                    ms = ms < 1 ? 1 : ms > 50 ? 50 : ms;
                    struct timespec ts = {0, (long)ms * 1000000L};
                    nanosleep(&ts, NULL);
                    report_progress(P, 0);
                    now = cli_now_ms();
                }
                if (cli_stop)
                    break;
            }
            if (P->n && now - P->batch_t0_ms >= BATCH_MAX_WAIT_MS && (rc = flush(P)) != 0)
                break;
            report_progress(P, 0);
        }
        rc = next_record(P);
        if (rc == 1) {
            rc = 0;
            break;
        }
        if (rc)
            break;
    }
    int frc = flush(P);
    return rc ? rc : frc;
}

int main(int argc, char **argv)
{
    cli_name = "tp-producer";
    producer P;
    memset(&P, 0, sizeof P);
    P.count = UINT64_MAX;
    P.rate = 1000;
    const char *symbols = "AAPL,MSFT,GOOGL,AMZN,TSLA,META,NVDA,JPM,V,NFLX", *start = NULL;
    uint64_t seed = 1;
    int64_t x = 0, seg_bytes = 0, retention_h = 0, linger_ms = 0;
    int count_set = 0, sync = 0, symbols_set = 0, seed_set = 0, aggregate = -1;
    const char *dead_letter = NULL, *shard_rate = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return 0;
        }
        if (!strcmp(a, "--sync")) {
            sync = 1;
            continue;
        }
        const char *v = cli_value(argc, argv, &i);
        if (!v)
            return 2;
        if (!strcmp(a, "--to"))
            P.to = v;
        else if (!strcmp(a, "--from"))
            P.from = v;
        else if (!strcmp(a, "--symbols")) {
            symbols = v;
            symbols_set = 1;
        } else if (!strcmp(a, "--start"))
            start = v;
        else if (!strcmp(a, "--status"))
            P.status_path = v;
        else if (!strcmp(a, "--shards")) {
            if (cli_int(a, v, 1, TP_STREAM_MAX_SHARDS, &x))
                return 2;
            P.shards = (uint32_t)x;
        } else if (!strcmp(a, "--rate")) {
            if (cli_int(a, v, 0, INT64_C(1000000000), &P.rate))
                return 2;
        } else if (!strcmp(a, "--count")) {
            if (cli_int(a, v, 0, INT64_MAX, &x))
                return 2;
            P.count = (uint64_t)x;
            count_set = 1;
        } else if (!strcmp(a, "--duration")) {
            if (cli_seconds(a, v, &P.duration_ms))
                return 2;
            if (!P.duration_ms)
                return cli_fail("--duration: must be more than 0 seconds");
        } else if (!strcmp(a, "--seed")) {
            if (cli_int(a, v, 0, INT64_MAX, &x))
                return 2;
            seed = (uint64_t)x;
            seed_set = 1;
        } else if (!strcmp(a, "--segment-bytes")) {
            if (cli_int(a, v, 4096, INT64_MAX, &seg_bytes))
                return 2;
        } else if (!strcmp(a, "--retention-hours")) {
            if (cli_int(a, v, 1, 24 * 365, &retention_h))
                return 2;
        } else if (!strcmp(a, "--aggregate")) {
            if (strcmp(v, "on") && strcmp(v, "off"))
                return cli_fail("--aggregate: on or off, not '%s'", v);
            aggregate = !strcmp(v, "on");
        } else if (!strcmp(a, "--linger-ms")) {
            if (cli_int(a, v, 1, 60000, &linger_ms))
                return 2;
        } else if (!strcmp(a, "--dead-letter")) {
            dead_letter = v;
        } else if (!strcmp(a, "--shard-rate")) {
            shard_rate = v;
        } else if (!strcmp(a, "--progress")) {
            if (cli_seconds(a, v, &P.progress_ms))
                return 2;
        } else {
            fprintf(stderr, "%s: unknown option '%s' (--help lists the options)\n", cli_name, a);
            return 2;
        }
    }
    if (!P.to) {
        fprintf(stderr,
                "%s: --to is required: file:DIR, kinesis://STREAM or - (--help lists the "
                "options)\n",
                cli_name);
        return 2;
    }
    if (count_set && P.duration_ms)
        return cli_fail("--count and --duration: give one of them");
    P.to_stdout = !strcmp(P.to, "-");
    if (!strncmp(P.to, "kinesis://", 10)) {
        P.kstream = P.to + 10;
        if (!*P.kstream)
            return cli_fail("--to kinesis://STREAM: no stream name");
        if (seg_bytes || retention_h || sync)
            return cli_fail("--segment-bytes, --retention-hours and --sync are for a file: "
                            "stream, not for kinesis://");
    } else if (aggregate >= 0 || linger_ms || dead_letter || shard_rate) {
        return cli_fail("--aggregate, --linger-ms, --dead-letter and --shard-rate are for "
                        "--to kinesis://");
    }
    double rate_rec = 0, rate_bytes = 0;
    if (shard_rate) {
        char *end = NULL;
        rate_rec = strtod(shard_rate, &end);
        if (!end || *end != ',' || rate_rec < 0)
            return cli_fail("--shard-rate: RECORDS,BYTES per second, not '%s'", shard_rate);
        const char *b = end + 1;
        rate_bytes = strtod(b, &end);
        if (!end || *end || end == b || rate_bytes < 0)
            return cli_fail("--shard-rate: RECORDS,BYTES per second, not '%s'", shard_rate);
        /* 0 means "no limit" here; the library takes < 0 for that */
        rate_rec = rate_rec == 0 ? -1 : rate_rec;
        rate_bytes = rate_bytes == 0 ? -1 : rate_bytes;
    }
    if (P.to_stdout && (P.shards || seg_bytes || retention_h || sync))
        return cli_fail("--shards, --segment-bytes, --retention-hours and --sync are for a "
                        "file: stream, not for --to -");
    if (P.from && (start || symbols_set || seed_set))
        return cli_fail("--start, --symbols and --seed are for generated records, not for "
                        "--from");

    int rc = 0;
    tp_error err;
    char *symbols_copy = NULL;
    char **sym = NULL;
    tp_buf_init(&P.arena, NULL, 0);
    pthread_mutex_init(&P.kmu, NULL);
    if (P.kstream) {
        /* the stream: created when missing, then the producer on it */
        tp_kinesis *kc = NULL;
        tp_status st = tp_kinesis_new(&kc, NULL, &err);
        tp_kinesis_stream_summary sum;
        if (st == TP_OK)
            st = tp_kinesis_describe_stream_summary(kc, P.kstream, &sum, &err);
        if (st == TP_E_NOT_FOUND) {
            st = tp_kinesis_create_stream(kc, P.kstream, P.shards ? P.shards : 2, &err);
            if (st == TP_OK || st == TP_E_EXISTS)
                st = tp_kinesis_wait_active(kc, P.kstream, 60000, &err);
        } else if (st == TP_OK && P.shards && sum.open_shard_count != P.shards) {
            st = TP_E_CONFIG;
            snprintf(err.message, sizeof err.message,
                     "the stream has %u open shards, not --shards %u",
                     (unsigned)sum.open_shard_count, (unsigned)P.shards);
        }
        tp_kinesis_free(kc);
        if (st != TP_OK) {
            rc = cli_fail("--to %s: %s", P.to, err.message);
            goto done;
        }
        tp_producer_options po;
        tp_producer_options_init(&po, TP_PRODUCER_OPTIONS_VERSION);
        po.stream = P.kstream;
        po.aggregate = aggregate != 0;
        po.linger_ms = (uint32_t)linger_ms;
        po.dead_letter_path = dead_letter;
        po.shard_records_per_s = rate_rec;
        po.shard_bytes_per_s = rate_bytes;
        po.on_done = on_done;
        po.on_done_payload = &P;
        if (tp_producer_new(&P.kp, &po, &err) != TP_OK) {
            rc = cli_fail("--to %s: %s", P.to, err.message);
            goto done;
        }
        P.k_cap = 4096;
        P.k_shard = calloc(P.k_cap, sizeof *P.k_shard);
        P.k_shard_records = calloc(P.k_cap, sizeof *P.k_shard_records);
        if (!P.k_shard || !P.k_shard_records) {
            rc = cli_fail("out of memory");
            goto done;
        }
    } else if (!P.to_stdout) {
        tp_stream_options so = TP_STREAM_OPTIONS_INIT;
        so.flags = TP_STREAM_CREATE | TP_STREAM_WRITE | (sync ? TP_STREAM_SYNC : 0);
        so.shard_count = P.shards;
        so.segment_bytes = (uint64_t)seg_bytes;
        so.retention_ms = retention_h * 3600 * 1000;
        if (tp_stream_open(&P.stream, P.to, &so, &err) != TP_OK) {
            rc = cli_fail("--to %s: %s", P.to, err.message);
            goto done;
        }
        P.shards = tp_stream_shard_count(P.stream);
    }
    P.shard_records = calloc(P.shards ? P.shards : 1, sizeof *P.shard_records);
    P.shard_last = calloc(P.shards ? P.shards : 1, sizeof *P.shard_last);
    if (!P.shard_records || !P.shard_last) {
        rc = cli_fail("out of memory");
        goto done;
    }
    if (P.from) {
        tp_reader_options ro = TP_READER_OPTIONS_INIT;
        ro.decode_flags = TP_DECODE_MINIMAL;
        if (tp_source_open(&P.src, P.from, &err) != TP_OK ||
            tp_reader_new(&P.rd, P.src, &ro, &err) != TP_OK) {
            rc = cli_fail("--from %s: %s", P.from, err.message);
            goto done;
        }
    } else {
        tp_gen_options go = TP_GEN_OPTIONS_INIT;
        int64_t start_us = 1761134400000000; /* 2025-10-22T12:00:00Z */
        if (start && !strcmp(start, "now")) {
            start_us = tp_time_now_us() / 1000 * 1000;
        } else if (start) {
            if (tp_time_parse_iso8601(&start_us, tp_cursor_from_str(start), &err) != TP_OK) {
                rc = cli_fail("--start '%s': %s", start, err.message);
                goto done;
            }
            if (start_us % 1000) {
                rc = cli_fail("--start '%s': give whole milliseconds", start);
                goto done;
            }
        }
        symbols_copy = strdup(symbols);
        uint32_t nsym = 0;
        sym = symbols_copy ? split_symbols(symbols_copy, &nsym) : NULL;
        if (!sym) {
            rc = cli_fail("out of memory");
            goto done;
        }
        go.n_symbols = nsym;
        go.symbols = (const char *const *)sym;
        go.seed = seed;
        go.start_us = start_us;
        go.mean_gap_us = P.rate > 0 && P.rate < 1000 ? 1000000 / P.rate : 1000;
        if (tp_gen_new(&P.gen, &go, &err) != TP_OK) {
            rc = cli_fail("--%s: %s", strcmp(err.field, "symbols") ? "start" : "symbols",
                          err.message);
            goto done;
        }
    }
    cli_signals();
    cli_progress_init(&P.prog, P.progress_ms);
    P.t0_ms = cli_now_ms();
    rc = run(&P);
    if (P.kp) {
        /* every record completes: written, or failed after its retries */
        tp_producer_flush(P.kp, 0, NULL);
        P.failed += P.k_failed;
    }
    if (P.to_stdout && fflush(stdout) != 0 && !rc)
        rc = cli_fail("cannot write to standard output: %s", strerror(errno));
    report_progress(&P, 1);
    summary(&P);
    if (!rc && (P.failed || P.malformed))
        rc = 1;
done:
    tp_producer_close(P.kp);
    free(P.k_shard);
    free(P.k_shard_records);
    pthread_mutex_destroy(&P.kmu);
    tp_stream_free(P.stream);
    tp_gen_free(P.gen);
    tp_reader_free(P.rd);
    tp_source_free(P.src);
    tp_buf_dispose(&P.arena);
    free(P.shard_records);
    free(P.shard_last);
    free(sym);
    free(symbols_copy);
    return rc;
}
