/* tp-parse: summarize Firehose / NDJSON trade files (plain or gzip).
 * A thin program on the public API: reader + stats. */
#include <tradepipe.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
    "usage: tp-parse [--json] [--strict] PATH...\n"
    "\n"
    "Summarize trade records from Firehose files: JSON objects one after another,\n"
    "separated by nothing (Firehose's \"}{\") or by whitespace (NDJSON), plain or\n"
    "gzip (detected by its magic bytes; multi-member gzip allowed).\n"
    "\n"
    "PATH   a file; a directory (every regular file below it, recursively, in\n"
    "       byte-wise sorted path order; symbolic links inside are not followed);\n"
    "       or - for standard input.\n"
    "\n"
    "A valid record is a JSON object with \"symbol\" (a non-empty string), \"price\"\n"
    "(a number > 0, exact to 8 decimal places; fraction and exponent allowed) and\n"
    "\"volume\" (an integer >= 0 without fraction or exponent). Other fields are\n"
    "ignored. Anything else is a malformed record: reported on stderr as\n"
    "PATH:BYTE_OFFSET: reason (offsets count uncompressed bytes), counted, skipped.\n"
    "A run of bytes that is not JSON counts as one malformed record; reading\n"
    "resumes at the next '{' that starts a parsable object.\n"
    "\n"
    "Output: total records, then one line per symbol (sorted): count, average,\n"
    "minimum and maximum price, total volume.\n"
    "  --json    print exactly one JSON object instead:\n"
    "            {\"records\":N,\"errors\":N,\"bytes\":N,\"symbols\":{\"SYM\":{\"count\":N,\n"
    "             \"min_price\":X,\"max_price\":X,\"avg_price\":X,\"total_volume\":N},...}}\n"
    "  --strict  stop at the first malformed record: report it, print no summary.\n"
    "  --help    this text.\n"
    "\n"
    "Exit status: 0 all records valid; 1 some records malformed (the summary is\n"
    "still printed; with --strict, none); 2 usage error, or a file that cannot be\n"
    "read or whose gzip stream is truncated or corrupt (named on stderr; the other\n"
    "files are still processed and summarized). 2 wins over 1.\n"
    "\n"
    "Plain files of TP_PARSE_SPLIT_BYTES or more (default 33554432; 0: never) are\n"
    "read in two halves by two threads; the output is the same as with one.\n";

typedef struct paths {
    char **v;
    size_t n, cap;
} paths;

static int paths_add(paths *p, const char *s)
{
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 16;
        char **nv = realloc(p->v, nc * sizeof *nv);
        if (!nv)
            return -1;
        p->v = nv;
        p->cap = nc;
    }
    p->v[p->n] = strdup(s);
    if (!p->v[p->n])
        return -1;
    p->n++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collect every regular file below `dir` (symbolic links not followed).
 * Returns 0, or 2 after reporting an unreadable directory. */
static int walk(const char *dir, paths *out)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "tp-parse: %s: cannot read directory: %s\n", dir, strerror(errno));
        return 2;
    }
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        size_t n = strlen(dir) + strlen(e->d_name) + 2;
        char *sub = malloc(n);
        if (!sub) {
            fprintf(stderr, "tp-parse: out of memory\n");
            rc = 2;
            break;
        }
        snprintf(sub, n, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", e->d_name);
        struct stat st;
        if (lstat(sub, &st) != 0) {
            fprintf(stderr, "tp-parse: %s: %s\n", sub, strerror(errno));
            rc = 2;
        } else if (S_ISDIR(st.st_mode)) {
            if (walk(sub, out) != 0)
                rc = 2;
        } else if (S_ISREG(st.st_mode)) {
            if (paths_add(out, sub) != 0) {
                fprintf(stderr, "tp-parse: out of memory\n");
                rc = 2;
            }
        }
        free(sub);
    }
    closedir(d);
    return rc;
}

typedef struct run {
    tp_stats *stats;
    uint64_t errors, bytes;
    int strict, rc, stopped;
} run;

#define NO_STOP UINT64_MAX
#define SPLIT_MIN_BYTES ((uint64_t)32 << 20)  /* files below this are read by one thread */
#define REPORTS_MAX ((size_t)16 << 20)        /* buffered reports of a second half */

/* One reader over a file, or over the part of it from `base` on. */
typedef struct pass {
    const char *path;
    tp_source *src;
    uint64_t base;       /* file offset of the source's first byte */
    uint64_t stop_at;    /* stop before an item that starts here (NO_STOP: never) */
    atomic_int *cancel;  /* set by the other thread: this pass is not needed */
    int buffer;          /* keep reports in `reports` instead of writing stderr */
    int strict;
    uint32_t read_flags;
    tp_stats *stats;
    uint64_t errors, bytes;
    int rc, stopped, at_boundary, overflow;
    tp_buf reports;
} pass;

static void report(pass *P, const char *fmt, ...) TP_PRINTF(2, 3);
static void report(pass *P, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (!P->buffer) {
        fputs(line, stderr);
        return;
    }
    if (P->reports.len + strlen(line) > REPORTS_MAX ||
        tp_buf_append_str(&P->reports, line, NULL) != TP_OK)
        P->overflow = 1;
}

/* Read items until the end (or stop_at). Sets rc (1 malformed, 2 broken). */
static void run_pass(pass *P)
{
    tp_reader *rd = NULL;
    tp_error err;
    tp_reader_options o;
    tp_reader_options_init(&o, TP_READER_OPTIONS_VERSION);
    o.decode_flags = TP_DECODE_MINIMAL;
    o.flags = P->read_flags;
    if (tp_reader_new(&rd, P->src, &o, &err) != TP_OK) {
        report(P, "tp-parse: %s: %s\n", P->path, err.message);
        P->rc = 2;
        return;
    }
    tp_trade t;
    tp_reader_stats rs;
    for (uint64_t n = 0;; n++) {
        tp_status st = tp_reader_next(rd, &t, &err);
        if (P->stop_at != NO_STOP && st != TP_DONE) {
            tp_reader_stats_get(rd, &rs);
            uint64_t at = P->base + rs.record_offset;
            if (at >= P->stop_at) {
                if (at == P->stop_at) {
                    P->at_boundary = 1;
                    break;
                }
                P->stop_at = NO_STOP; /* not a record boundary: read on alone */
            }
        }
        if (P->cancel && (n & 4095) == 0 && atomic_load(P->cancel)) {
            P->overflow = 1;
            break;
        }
        if (st == TP_OK) {
            if (tp_stats_add(P->stats, &t, &err) != TP_OK) {
                report(P, "tp-parse: %s\n", err.message);
                P->rc = 2;
                break;
            }
            continue;
        }
        if (st == TP_DONE)
            break;
        if (st == TP_E_RECORD || st == TP_E_TOO_LARGE) {
            report(P, "%s:%llu: %s\n", P->path, (unsigned long long)(P->base + err.offset),
                   err.message);
            P->errors++;
            if (P->rc < 1)
                P->rc = 1;
            if (P->overflow)
                break;
            if (P->strict) {
                /* A record cut by a broken gzip stream is followed by the
                 * stream's own error, which decides the exit status. */
                if (tp_reader_next(rd, &t, &err) == TP_E_GZIP) {
                    report(P, "tp-parse: %s: %s\n", P->path, err.message);
                    P->rc = 2;
                }
                P->stopped = 1;
                break;
            }
            continue;
        }
        /* The stream broke (TP_E_GZIP, TP_E_IO) or a hard failure. */
        report(P, "tp-parse: %s: %s\n", P->path, err.message);
        P->rc = 2;
        break;
    }
    tp_reader_stats_get(rd, &rs);
    P->bytes = P->at_boundary ? P->stop_at - P->base : rs.bytes;
    tp_reader_free(rd);
}

static void *pass_thread(void *arg)
{
    run_pass(arg);
    return NULL;
}

/* Where to cut a large plain file in two: the first '{' after the middle
 * that follows a '}' and optional whitespace. Only a guess (the pair could
 * sit inside a string): the first half confirms it by reaching an item that
 * starts exactly there. Returns 0 for "do not split". */
static uint64_t find_split(int fd, uint64_t size)
{
    static unsigned char buf[1 << 16];
    unsigned char magic[2];
    uint64_t min = SPLIT_MIN_BYTES;
    const char *env = getenv("TP_PARSE_SPLIT_BYTES");
    if (env && *env)
        min = strtoull(env, NULL, 10);
    if (min == 0 || size < min || size < 2 || pread(fd, magic, 2, 0) != 2 ||
        (magic[0] == 0x1f && magic[1] == 0x8b))
        return 0;
    uint64_t mid = size / 2;
    ssize_t n = pread(fd, buf, sizeof buf, (off_t)mid);
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] != '}')
            continue;
        ssize_t j = i + 1;
        while (j < n && (buf[j] == ' ' || buf[j] == '\n' || buf[j] == '\r' || buf[j] == '\t'))
            j++;
        if (j < n && buf[j] == '{')
            return mid + (uint64_t)j;
    }
    return 0;
}

static void add_pass(run *R, const pass *P)
{
    R->errors += P->errors;
    R->bytes += P->bytes;
    if (P->rc > R->rc)
        R->rc = P->rc;
    if (P->stopped)
        R->stopped = 1;
}

/* Read one input: a large plain file in two threads (each half on its own
 * core), anything else in one. Updates R. */
static void parse_one(run *R, const char *path)
{
    tp_error err;
    pass A = {0};
    A.path = path;
    A.stats = R->stats;
    A.strict = R->strict;
    A.stop_at = NO_STOP;
    if (tp_source_open(&A.src, path, &err) != TP_OK) {
        fprintf(stderr, "tp-parse: %s\n", err.message);
        R->rc = 2;
        return;
    }
    uint64_t split = 0;
    int fd2 = -1;
    struct stat st;
    if (!R->strict && strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
        (fd2 = open(path, O_RDONLY | O_CLOEXEC)) >= 0)
        split = find_split(fd2, (uint64_t)st.st_size);
    pass B = {0};
    pthread_t thread;
    atomic_int cancel = 0;
    int threaded = 0;
    if (split && lseek(fd2, (off_t)split, SEEK_SET) == (off_t)split &&
        tp_source_from_fd(&B.src, fd2, &err) == TP_OK &&
        tp_stats_new(&B.stats, NULL, &err) == TP_OK) {
        B.path = path;
        B.base = split;
        B.stop_at = NO_STOP;
        B.buffer = 1;
        B.cancel = &cancel;
        tp_buf_init(&B.reports, NULL, 0);
        /* Two parsing threads fill both cores: no read-ahead threads. */
        A.read_flags = B.read_flags = TP_READ_NO_THREAD;
        A.stop_at = split;
        threaded = pthread_create(&thread, NULL, pass_thread, &B) == 0;
        if (!threaded)
            A.stop_at = NO_STOP;
    }
    run_pass(&A);
    add_pass(R, &A);
    if (threaded) {
        if (!A.at_boundary)
            atomic_store(&cancel, 1); /* A read the whole file itself */
        pthread_join(thread, NULL);
        if (A.at_boundary && !B.overflow) {
            if (B.reports.len)
                fwrite(B.reports.ptr, 1, B.reports.len, stderr);
            if (tp_stats_merge(R->stats, B.stats, &err) != TP_OK) {
                fprintf(stderr, "tp-parse: %s\n", err.message);
                R->rc = 2;
            }
            add_pass(R, &B);
        } else if (A.at_boundary) {
            /* The second half's reports did not fit in memory: read it
             * again from the confirmed boundary, reporting as we go. */
            pass C = {0};
            C.path = path;
            C.base = split;
            C.stop_at = NO_STOP;
            C.stats = R->stats;
            if (lseek(fd2, (off_t)split, SEEK_SET) != (off_t)split ||
                tp_source_from_fd(&C.src, fd2, &err) != TP_OK) {
                fprintf(stderr, "tp-parse: %s: cannot read again from byte %llu\n", path,
                        (unsigned long long)split);
                R->rc = 2;
            } else {
                run_pass(&C);
                add_pass(R, &C);
                tp_source_free(C.src);
            }
        }
    }
    tp_buf_dispose(&B.reports);
    tp_stats_free(B.stats);
    tp_source_free(B.src);
    tp_source_free(A.src);
    if (fd2 >= 0)
        close(fd2);
}

static void print_json_string(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

/* 1234567 -> "1,234,567" (the original utility's volume format). */
static void group_thousands(char *out, const char *digits)
{
    size_t n = strlen(digits), o = 0, i = 0;
    if (digits[0] == '-') {
        out[o++] = '-';
        i = 1;
    }
    for (; i < n; i++) {
        out[o++] = digits[i];
        size_t left = n - i - 1;
        if (left && left % 3 == 0)
            out[o++] = ',';
    }
    out[o] = 0;
}

static void print_summary(const run *R, int json)
{
    size_t n = tp_stats_symbols(R->stats);
    char a[TP_DECIMAL_STR_MAX], mn[TP_DECIMAL_STR_MAX], mx[TP_DECIMAL_STR_MAX],
        vol[TP_DECIMAL_STR_MAX], grouped[TP_DECIMAL_STR_MAX * 2];
    if (json) {
        printf("{\"records\":%llu,\"errors\":%llu,\"bytes\":%llu,\"symbols\":{",
               (unsigned long long)tp_stats_records(R->stats), (unsigned long long)R->errors,
               (unsigned long long)R->bytes);
        for (size_t i = 0; i < n; i++) {
            const tp_symbol_stats *e = tp_stats_get(R->stats, i);
            tp_price_format(mn, e->min_price_e8);
            tp_price_format(mx, e->max_price_e8);
            tp_stats_format_avg(a, e, 20, 0);
            tp_stats_format_sum(vol, e->volume_sum_hi, e->volume_sum_lo);
            if (i)
                putchar(',');
            print_json_string(e->symbol);
            printf(":{\"count\":%llu,\"min_price\":%s,\"max_price\":%s,\"avg_price\":%s,"
                   "\"total_volume\":%s}",
                   (unsigned long long)e->count, mn, mx, a, vol);
        }
        printf("}}\n");
        return;
    }
    printf("Total records: %llu\n", (unsigned long long)tp_stats_records(R->stats));
    if (R->errors)
        printf("Malformed records: %llu\n", (unsigned long long)R->errors);
    printf("\nSymbol Analysis:\n");
    printf("------------------------------------------------------------\n");
    for (size_t i = 0; i < n; i++) {
        const tp_symbol_stats *e = tp_stats_get(R->stats, i);
        tp_symbol_stats one = *e;
        tp_stats_format_avg(a, e, 2, 1);
        /* min and max with two decimals, rounded like the average. */
        one.count = 1;
        one.price_sum_hi = 0;
        one.price_sum_lo = (uint64_t)e->min_price_e8;
        tp_stats_format_avg(mn, &one, 2, 1);
        one.price_sum_lo = (uint64_t)e->max_price_e8;
        tp_stats_format_avg(mx, &one, 2, 1);
        tp_stats_format_sum(vol, e->volume_sum_hi, e->volume_sum_lo);
        group_thousands(grouped, vol);
        printf("%-5s | Records: %3llu | Avg: $%7s | Range: $%7s-$%7s | Volume: %s\n", e->symbol,
               (unsigned long long)e->count, a, mn, mx, grouped);
    }
}

int main(int argc, char **argv)
{
    int json = 0, strict = 0, dashdash = 0;
    paths inputs = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!dashdash && !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return 0;
        } else if (!dashdash && !strcmp(a, "--json")) {
            json = 1;
        } else if (!dashdash && !strcmp(a, "--strict")) {
            strict = 1;
        } else if (!dashdash && !strcmp(a, "--")) {
            dashdash = 1;
        } else if (!dashdash && a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "tp-parse: unknown option '%s'\n%s", a, usage);
            return 2;
        } else if (paths_add(&inputs, a) != 0) {
            fprintf(stderr, "tp-parse: out of memory\n");
            return 2;
        }
    }
    if (inputs.n == 0) {
        fprintf(stderr, "tp-parse: no PATH given\n%s", usage);
        return 2;
    }
    run R = {0};
    R.strict = strict;
    tp_error err;
    if (tp_stats_new(&R.stats, NULL, &err) != TP_OK) {
        fprintf(stderr, "tp-parse: %s\n", err.message);
        return 2;
    }
    int rc2 = 0;
    for (size_t i = 0; i < inputs.n && !R.stopped; i++) {
        const char *p = inputs.v[i];
        struct stat st;
        if (strcmp(p, "-") != 0 && stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            paths files = {0};
            if (walk(p, &files) != 0)
                rc2 = 2;
            qsort(files.v, files.n, sizeof *files.v, cmp_str);
            for (size_t k = 0; k < files.n && !R.stopped; k++)
                parse_one(&R, files.v[k]);
            for (size_t k = 0; k < files.n; k++)
                free(files.v[k]);
            free(files.v);
        } else {
            parse_one(&R, p);
        }
    }
    if (rc2 > R.rc)
        R.rc = rc2;
    if (!R.stopped)
        print_summary(&R, json);
    for (size_t i = 0; i < inputs.n; i++)
        free(inputs.v[i]);
    free(inputs.v);
    tp_stats_free(R.stats);
    return R.rc;
}
