/* tp-firehose: the local Kinesis Data Firehose. Reads a stream and delivers
 * gzip batches laid out as Firehose lays them out in S3.
 * A thin program on the public API: stream + firehose. */
#include "tp_cli.h"

static const char usage[] =
    "usage: tp-firehose --source file:DIR|kinesis://STREAM --out DIR [--buffer-bytes N]\n"
    "                   [--buffer-seconds S] [--follow] [--name NAME] [options]\n"
    "\n"
    "Read every shard of a stream (made by tp-producer) and deliver its records\n"
    "as Kinesis Data Firehose delivers them to S3: each object is the records'\n"
    "bytes concatenated with no delimiter, gzip, at\n"
    "  OUT/raw-data/YYYY/MM/DD/HH/NAME-1-YYYY-MM-DD-HH-MM-SS-UUID.gz\n"
    "where both times are the UTC arrival time of the object's oldest record and\n"
    "the UUID is derived from what the object holds (its shards' sequence\n"
    "ranges). An object is delivered when its records reach --buffer-bytes or\n"
    "its first record has waited --buffer-seconds.\n"
    "\n"
    "Exactly once: each object appears whole (a temporary file, fsync, rename),\n"
    "and the checkpoint moves past its records only afterwards; killed at any\n"
    "point and started again, tp-firehose writes the same object again rather\n"
    "than a duplicate, so every record lands in raw-data exactly once.\n"
    "\n"
    "  --source URI         the stream: file:DIR (made by tp-producer) or\n"
    "                       kinesis://STREAM (KPL aggregated records are\n"
    "                       de-aggregated, as Firehose does; endpoint, region and\n"
    "                       credentials as the AWS CLI finds them)\n"
    "  --out DIR            the destination, laid out like the bucket\n"
    "  --buffer-bytes N     buffer size (default 5242880, 5 MiB; at most 128 MiB)\n"
    "  --buffer-seconds S   buffer interval (default 300; decimals allowed)\n"
    "  --follow             keep delivering as records arrive, until SIGINT or\n"
    "                       SIGTERM (then the buffer is delivered; exit 0); without\n"
    "                       it, stop once every shard is read to its end\n"
    "  --name NAME          delivery stream name (default tradepipe; [a-zA-Z0-9_.-])\n"
    "  --newline            append a newline to every record (Firehose's\n"
    "                       AppendDelimiterToRecord processor)\n"
    "  --prefix P           object key prefix (default raw-data/)\n"
    "  --gzip-level L       0 (fastest) to 3 (ISA-L levels; default 1)\n"
    "  --from trim-horizon|latest   where to start with no checkpoint (default\n"
    "                       trim-horizon)\n"
    "  --checkpoints file:PATH  (default OUT/.tp-firehose/NAME.checkpoint)\n"
    "  --status PATH        keep a one-line JSON status in PATH (10 times a second)\n"
    "  --progress S         a progress line every S seconds on stderr when it is\n"
    "                       not a terminal (on a terminal: a live line)\n"
    "\n"
    "Exit status: 0 done; 2 usage error, or a stream, object or checkpoint that\n"
    "cannot be read or written (start again: nothing is lost).\n";

static void status(const char *path, const tp_firehose_stats *s, const char *state)
{
    char text[512];
    snprintf(text, sizeof text,
             "{\"program\":\"tp-firehose\",\"state\":\"%s\",\"records\":%llu,"
             "\"records_delivered\":%llu,\"objects\":%llu,\"bytes_delivered\":%llu,"
             "\"bytes_written\":%llu,\"buffered_records\":%llu,\"lag_ms\":%lld}\n",
             state, (unsigned long long)s->records_read, (unsigned long long)s->records_delivered,
             (unsigned long long)s->objects, (unsigned long long)s->bytes_delivered,
             (unsigned long long)s->bytes_written, (unsigned long long)s->buffered_records,
             (long long)s->lag_ms);
    cli_status_write(path, text);
}

int main(int argc, char **argv)
{
    cli_name = "tp-firehose";
    const char *source = NULL, *out = NULL, *status_path = NULL, *from = NULL;
    int follow = 0;
    int64_t x = 0, buffer_ms = 0, progress_ms = 0;
    tp_firehose_options fo = TP_FIREHOSE_OPTIONS_INIT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return 0;
        }
        if (!strcmp(a, "--follow")) {
            follow = 1;
            continue;
        }
        if (!strcmp(a, "--newline")) {
            fo.flags |= TP_FIREHOSE_NEWLINE;
            continue;
        }
        const char *v = cli_value(argc, argv, &i);
        if (!v)
            return 2;
        if (!strcmp(a, "--source"))
            source = v;
        else if (!strcmp(a, "--out"))
            out = v;
        else if (!strcmp(a, "--name"))
            fo.name = v;
        else if (!strcmp(a, "--prefix"))
            fo.prefix = v;
        else if (!strcmp(a, "--checkpoints"))
            fo.checkpoints = v;
        else if (!strcmp(a, "--status"))
            status_path = v;
        else if (!strcmp(a, "--from"))
            from = v;
        else if (!strcmp(a, "--buffer-bytes")) {
            if (cli_int(a, v, 1, (int64_t)TP_FIREHOSE_MAX_BUFFER_BYTES, &x))
                return 2;
            fo.buffer_bytes = (uint64_t)x;
        } else if (!strcmp(a, "--buffer-seconds")) {
            if (cli_seconds(a, v, &buffer_ms))
                return 2;
            if (!buffer_ms)
                return cli_fail("--buffer-seconds: must be at least 0.001");
            fo.buffer_ms = buffer_ms;
        } else if (!strcmp(a, "--gzip-level")) {
            if (cli_int(a, v, 0, 3, &x))
                return 2;
            fo.gzip_level = (int32_t)x;
        } else if (!strcmp(a, "--progress")) {
            if (cli_seconds(a, v, &progress_ms))
                return 2;
        } else {
            fprintf(stderr, "%s: unknown option '%s' (--help lists the options)\n", cli_name, a);
            return 2;
        }
    }
    if (!source || !out) {
        fprintf(stderr, "%s: --source and --out are required (--help lists the options)\n",
                cli_name);
        return 2;
    }
    if (from && strcmp(from, "trim-horizon") != 0 && strcmp(from, "latest") != 0)
        return cli_fail("--from '%s': expected trim-horizon or latest", from);
    if (from && !strcmp(from, "latest"))
        fo.flags |= TP_FIREHOSE_FROM_LATEST;

    tp_error err;
    tp_stream *s = NULL;
    tp_firehose *f = NULL;
    int rc = 0;
    char *dest = malloc(strlen(out) + 6);
    if (!dest)
        return cli_fail("out of memory");
    sprintf(dest, "file:%s", out);
    if (tp_stream_open(&s, source, NULL, &err) != TP_OK) {
        rc = cli_fail("--source %s: %s", source, err.message);
        goto done;
    }
    if (tp_firehose_new(&f, s, dest, &fo, &err) != TP_OK) {
        /* Name the option at fault: the library names its field. */
        static const char *const opt[][2] = {{"name", "--name"},
                                             {"prefix", "--prefix"},
                                             {"buffer_bytes", "--buffer-bytes"},
                                             {"buffer_ms", "--buffer-seconds"},
                                             {"gzip_level", "--gzip-level"}};
        const char *which = NULL;
        for (size_t k = 0; k < sizeof opt / sizeof opt[0]; k++)
            if (!strcmp(err.field, opt[k][0]))
                which = opt[k][1];
        rc = which ? cli_fail("%s: %s", which, err.message) : cli_fail("%s", err.message);
        goto done;
    }
    cli_signals();
    cli_progress prog;
    cli_progress_init(&prog, progress_ms);
    int64_t t0 = cli_now_ms(), status_next = 0;
    tp_firehose_stats st0;
    tp_firehose_stats_get(f, &st0);
    while (!cli_stop) {
        size_t n = 0;
        int64_t now = cli_now_ms();
        if (tp_firehose_poll(f, now, &n, &err) != TP_OK) {
            rc = cli_fail("%s", err.message);
            break;
        }
        tp_firehose_stats fs;
        tp_firehose_stats_get(f, &fs);
        if (status_path && now >= status_next) {
            status(status_path, &fs, "running");
            status_next = now + CLI_STATUS_MS;
        }
        if (cli_progress_due(&prog)) {
            char a[32], b[32], line[200];
            snprintf(line, sizeof line,
                     "%s records read, %s delivered in %llu object(s), lag %lld ms",
                     cli_count(a, fs.records_read), cli_count(b, fs.records_delivered),
                     (unsigned long long)fs.objects, (long long)fs.lag_ms);
            cli_progress_line(&prog, line);
        }
        if (n)
            continue;
        if (!follow)
            break;
        int64_t wait = tp_firehose_next_flush_ms(f, cli_now_ms());
        tp_status ws = tp_stream_wait(s, (uint32_t)(wait < 250 ? wait : 250), &err);
        if (ws != TP_OK && ws != TP_E_TIMEOUT) {
            rc = cli_fail("%s: %s", source, err.message);
            break;
        }
    }
    /* What is buffered is delivered: at the end of the stream, or on a signal. */
    if (!rc && tp_firehose_flush(f, &err) != TP_OK)
        rc = cli_fail("%s", err.message);
    cli_progress_end(&prog);
    tp_firehose_stats fs;
    tp_firehose_stats_get(f, &fs);
    status(status_path, &fs, "done");
    double secs = (double)(cli_now_ms() - t0) / 1000.0, cpu;
    long rss;
    cli_usage(&cpu, &rss);
    uint64_t here = fs.records_read - st0.records_read;
    char a[32], b[32], c[32], d[32];
    fprintf(stderr,
            "%s: %s records delivered in %llu object%s (%s bytes, gzip %s bytes), %s read in "
            "%.2f s\n",
            cli_name, cli_count(a, fs.records_delivered), (unsigned long long)fs.objects,
            fs.objects == 1 ? "" : "s", cli_count(b, fs.bytes_delivered),
            cli_count(c, fs.bytes_written), cli_count(d, here), secs);
    if (fs.torn_tails)
        fprintf(stderr, "%s: %llu torn segment tails skipped (left by a crashed writer)\n",
                cli_name, (unsigned long long)fs.torn_tails);
    if (tp_firehose_last_key(f)[0])
        fprintf(stderr, "%s: last object %s/%s\n", cli_name, out, tp_firehose_last_key(f));
    fprintf(stderr, "%s: cpu %.2f s (%.2f us/record), peak RSS %.1f MB\n", cli_name, cpu,
            here ? cpu * 1e6 / (double)here : 0.0, (double)rss / 1024.0);
done:
    tp_firehose_free(f);
    tp_stream_free(s);
    free(dest);
    return rc;
}
