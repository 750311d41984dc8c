/* What the pipeline programs (tp-producer, tp-consumer, tp-firehose) share:
 * messages, option values, signals, live progress and status files. Header
 * only (static functions), public API only. */
#ifndef TP_CLI_H
#define TP_CLI_H

#include <tradepipe.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* How often a --status file is rewritten (ms): often enough for a live view
 * and for a benchmark to see when a follower has caught up. */
#define CLI_STATUS_MS 100

static const char *cli_name __attribute__((unused)) = "tp";

/* Set by SIGINT and SIGTERM: finish the work in hand, save, exit 0. */
static volatile sig_atomic_t cli_stop;

static inline void cli_on_signal(int sig)
{
    (void)sig;
    cli_stop = 1;
}

/* No SA_RESTART: a blocking wait returns at once on the signal. A SIGINT
 * ignored by whoever started us (a shell's background job) stays ignored,
 * so a Ctrl-C meant for a script does not stop its followers early. */
static inline void cli_signals(void)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = cli_on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, NULL, &old) == 0 && old.sa_handler != SIG_IGN)
        sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static inline int cli_fail(const char *fmt, ...) TP_PRINTF(1, 2);

/* "NAME: message" on stderr; returns 2 (the usage / fatal exit status). */
static inline int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", cli_name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 2;
}

/* The value of the option at argv[*i], moving *i onto it; NULL after a
 * message when argv[*i] is not an option or has no value. */
static inline const char *cli_value(int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (strncmp(a, "--", 2) != 0) {
        fprintf(stderr, "%s: unexpected argument '%s' (--help lists the options)\n", cli_name, a);
        return NULL;
    }
    if (*i + 1 >= argc) {
        fprintf(stderr, "%s: %s needs a value (--help lists the options)\n", cli_name, a);
        return NULL;
    }
    return argv[++*i];
}

/* An integer option value in [min, max]; 0, or 2 after a message. */
static inline int cli_int(const char *opt, const char *v, int64_t min, int64_t max, int64_t *out)
{
    if (tp_int_parse(out, tp_cursor_from_str(v), NULL) != TP_OK || *out < min || *out > max)
        return cli_fail("%s: '%s' is not an integer in %lld..%lld", opt, v, (long long)min,
                        (long long)max);
    return 0;
}

/* A duration in seconds, decimals allowed ("2.5"), as milliseconds. */
static inline int cli_seconds(const char *opt, const char *v, int64_t *out_ms)
{
    int64_t e8 = 0;
    if (tp_price_parse(&e8, tp_cursor_from_str(v), NULL) != TP_OK || e8 < 0 ||
        e8 > INT64_C(100000000) * 100000000)
        return cli_fail("%s: '%s' is not a number of seconds (a decimal >= 0)", opt, v);
    *out_ms = e8 / 100000;
    return 0;
}

/* Milliseconds on the monotonic clock. */
static inline int64_t cli_now_ms(void) { return tp_time_mono_ns() / 1000000; }

/* CPU seconds (user + system) and peak RSS (KiB) of this process so far. */
static inline void cli_usage(double *cpu_s, long *max_rss_kb)
{
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    getrusage(RUSAGE_SELF, &ru);
    *cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
             (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    *max_rss_kb = ru.ru_maxrss;
}

/* Live progress: a line rewritten in place on a terminal; otherwise, with
 * --progress S, a plain line every S seconds. */
typedef struct cli_progress {
    int tty;
    int64_t every_ms; /* plain lines: 0 = none */
    int64_t next_ms;
    int shown; /* a live line is on screen */
} cli_progress;

static inline void cli_progress_init(cli_progress *p, int64_t plain_every_ms)
{
    p->tty = isatty(2);
    p->every_ms = p->tty ? 250 : plain_every_ms;
    p->next_ms = cli_now_ms() + p->every_ms;
    p->shown = 0;
}

/* Is a progress line due now? */
static inline int cli_progress_due(cli_progress *p)
{
    if (!p->every_ms)
        return 0;
    int64_t now = cli_now_ms();
    if (now < p->next_ms)
        return 0;
    p->next_ms = now + p->every_ms;
    return 1;
}

static inline void cli_progress_line(cli_progress *p, const char *text)
{
    if (p->tty) {
        fprintf(stderr, "\r\033[K%s: %s", cli_name, text);
        p->shown = 1;
    } else {
        fprintf(stderr, "%s: %s\n", cli_name, text);
    }
    fflush(stderr);
}

/* End the live line before the summary. */
static inline void cli_progress_end(cli_progress *p)
{
    if (p->tty && p->shown) {
        fputs("\r\033[K", stderr);
        p->shown = 0;
    }
}

/* Replace the file `path` by `text` (a temporary file renamed over it), so a
 * reader never sees half a status. Failures are reported once. */
static inline void cli_status_write(const char *path, const char *text)
{
    static int warned;
    if (!path)
        return;
    size_t n = strlen(path);
    char *tmp = malloc(n + 8);
    if (!tmp)
        return;
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp", 5);
    FILE *f = fopen(tmp, "w");
    int ok = f && fputs(text, f) >= 0;
    if (f && fclose(f) != 0)
        ok = 0;
    if (ok && rename(tmp, path) != 0)
        ok = 0;
    if (!ok) {
        if (!warned)
            fprintf(stderr, "%s: cannot write status file %s: %s\n", cli_name, path,
                    strerror(errno));
        warned = 1;
        unlink(tmp);
    }
    free(tmp);
}

/* Create the directory holding `path` and its missing parents (mkdir -p of
 * its dirname). 0, or -1 with errno set. */
static inline int cli_mkdirs_for(const char *path)
{
    char *p = strdup(path);
    if (!p)
        return -1;
    char *slash = strrchr(p, '/');
    int rc = 0;
    if (slash && slash != p) {
        *slash = '\0';
        for (char *q = p + 1; rc == 0; q++) {
            if (*q != '/' && *q != '\0')
                continue;
            char c = *q;
            *q = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST)
                rc = -1;
            *q = c;
            if (!c)
                break;
        }
    }
    free(p);
    return rc;
}

/* Thousands separators for the eye: 1234567 -> "1,234,567". */
static inline const char *cli_count(char out[32], uint64_t v)
{
    char d[24];
    int n = snprintf(d, sizeof d, "%llu", (unsigned long long)v), o = 0;
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = d[i];
    }
    out[o] = '\0';
    return out;
}

static inline int cli_cmp_position(const void *a, const void *b)
{
    return strcmp(((const tp_position *)a)->symbol, ((const tp_position *)b)->symbol);
}

/* An engine's whole state as tp-consumer's checkpoints and the Lambda
 * bootstrap's shard items keep it: each symbol's snapshot, sorted by symbol,
 * each behind its length (4 bytes, little-endian), so the bytes depend on the
 * state alone, not on the order in which symbols appeared. Appended to `out`. */
static inline tp_status cli_engine_state(const tp_engine *e, tp_buf *out)
{
    size_t n = tp_engine_symbol_count(e);
    tp_position *all = calloc(n ? n : 1, sizeof *all);
    if (!all)
        return TP_E_NOMEM;
    for (size_t i = 0; i < n; i++)
        tp_engine_position_at(e, i, &all[i], NULL);
    qsort(all, n, sizeof *all, cli_cmp_position);
    tp_status st = TP_OK;
    tp_buf one;
    tp_buf_init(&one, NULL, 0);
    for (size_t i = 0; i < n && st == TP_OK; i++) {
        tp_buf_clear(&one);
        st = tp_engine_snapshot(e, tp_cursor_from_str(all[i].symbol), &one, NULL);
        uint8_t len[4] = {(uint8_t)one.len, (uint8_t)(one.len >> 8), (uint8_t)(one.len >> 16),
                          (uint8_t)(one.len >> 24)};
        if (st == TP_OK)
            st = tp_buf_append(out, len, 4, NULL);
        if (st == TP_OK)
            st = tp_buf_append(out, one.ptr, one.len, NULL);
    }
    tp_buf_dispose(&one);
    free(all);
    return st;
}

/* Restore what cli_engine_state wrote into `e`. @return TP_OK; TP_E_STATE
 * (cut short); tp_engine_restore's errors. */
static inline tp_status cli_engine_restore(tp_engine *e, tp_cursor s, tp_error *err)
{
    size_t off = 0;
    while (off < s.len) {
        size_t n = s.len - off < 4
                       ? SIZE_MAX
                       : (size_t)s.ptr[off] | (size_t)s.ptr[off + 1] << 8 |
                             (size_t)s.ptr[off + 2] << 16 | (size_t)s.ptr[off + 3] << 24;
        off += 4;
        if (n > s.len - off || off > s.len) {
            if (err) {
                tp_error_clear(err);
                snprintf(err->message, sizeof err->message, "cut short at byte %zu", off - 4);
            }
            return TP_E_STATE;
        }
        tp_status st = tp_engine_restore(e, tp_cursor_make(s.ptr + off, n), err);
        if (st != TP_OK)
            return st;
        off += n;
    }
    return TP_OK;
}

#endif
