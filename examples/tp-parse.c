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
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "usage: tp-parse [--json] [--strict] [--jobs N] PATH...\n"
    "\n"
    "Summarize trade records from Firehose files: JSON objects one after another,\n"
    "separated by nothing (Firehose's \"}{\") or by whitespace (NDJSON), plain or\n"
    "gzip (detected by its magic bytes; multi-member gzip allowed).\n"
    "\n"
    "PATH   a file; a directory (every regular file below it, recursively, in\n"
    "       byte-wise sorted path order; symbolic links inside are not followed);\n"
    "       or - for standard input; or s3://BUCKET/PREFIX: every object under the\n"
    "       prefix (in key order), streamed from S3 (no local copy; endpoint,\n"
    "       region and credentials as the AWS tools take them: AWS_ENDPOINT_URL_S3,\n"
    "       AWS_REGION, AWS_ACCESS_KEY_ID..., profiles, container or instance\n"
    "       roles). The output is the same as on a local copy of the objects.\n"
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
    "  --jobs N  parse up to N files (or objects) at a time, one thread each\n"
    "            (default: the number of CPUs); results are merged in path order,\n"
    "            so the output is the same for every N.\n"
    "  --help    this text.\n"
    "\n"
    "Exit status: 0 all records valid; 1 some records malformed (the summary is\n"
    "still printed; with --strict, none); 2 usage error, or a file that cannot be\n"
    "read or whose gzip stream is truncated or corrupt (named on stderr; the other\n"
    "files are still processed and summarized). 2 wins over 1.\n"
    "\n"
    "A single plain file of TP_PARSE_SPLIT_BYTES or more (default 33554432; 0:\n"
    "never) is read in two halves by two threads when --jobs allows; the output\n"
    "is the same as with one. With s3:// on a terminal, a progress line (objects,\n"
    "bytes, rate) is shown on stderr.\n";

/* One input, in the order of the output: a local path ("-" is stdin), an
 * S3 object, or a message to report in its place (a directory that could
 * not be read). */
typedef struct item {
    char *path;   /* for reports: the path, or s3://BUCKET/KEY */
    char *bucket; /* S3 objects */
    char *key;
    char *msg;    /* reported as is, exit status 2 */
} item;

typedef struct items {
    item *v;
    size_t n, cap;
} items;

/* Append an item (strings copied; NULLs stay NULL). 0, or -1 out of memory. */
static int items_add(items *l, const char *path, const char *bucket, const char *key,
                     const char *msg)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        item *nv = realloc(l->v, nc * sizeof *nv);
        if (!nv)
            return -1;
        l->v = nv;
        l->cap = nc;
    }
    item *it = &l->v[l->n];
    memset(it, 0, sizeof *it);
    it->path = path ? strdup(path) : NULL;
    it->bucket = bucket ? strdup(bucket) : NULL;
    it->key = key ? strdup(key) : NULL;
    it->msg = msg ? strdup(msg) : NULL;
    if ((path && !it->path) || (bucket && !it->bucket) || (key && !it->key) || (msg && !it->msg)) {
        free(it->path);
        free(it->bucket);
        free(it->key);
        free(it->msg);
        return -1;
    }
    l->n++;
    return 0;
}

static void items_free(items *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].path);
        free(l->v[i].bucket);
        free(l->v[i].key);
        free(l->v[i].msg);
    }
    free(l->v);
}

static int cmp_item_path(const void *a, const void *b)
{
    return strcmp(((const item *)a)->path, ((const item *)b)->path);
}

static int add_msg(items *l, const char *fmt, ...) TP_PRINTF(2, 3);
static int add_msg(items *l, const char *fmt, ...)
{
    char m[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    return items_add(l, NULL, NULL, NULL, m);
}

/* Collect every regular file below `dir` (symbolic links not followed)
 * into `files`, and what could not be read into `errs` as messages.
 * Returns -1 when out of memory. */
static int walk(const char *dir, items *files, items *errs)
{
    DIR *d = opendir(dir);
    if (!d)
        return add_msg(errs, "tp-parse: %s: cannot read directory: %s\n", dir, strerror(errno));
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        size_t n = strlen(dir) + strlen(e->d_name) + 2;
        char *sub = malloc(n);
        if (!sub) {
            rc = -1;
            break;
        }
        snprintf(sub, n, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", e->d_name);
        struct stat st;
        if (lstat(sub, &st) != 0)
            rc = add_msg(errs, "tp-parse: %s: %s\n", sub, strerror(errno));
        else if (S_ISDIR(st.st_mode))
            rc = walk(sub, files, errs);
        else if (S_ISREG(st.st_mode))
            rc = items_add(files, sub, NULL, NULL, NULL);
        free(sub);
    }
    closedir(d);
    return rc;
}

typedef struct sched sched;

/* The results of one input (or, for the whole run, of all of them). */
typedef struct run {
    tp_stats *stats;
    uint64_t errors, bytes;
    int strict, rc, stopped;
    sched *sc;           /* where reports go: NULL, stderr at once */
    size_t idx;          /* this input's place in sc */
    uint32_t read_flags; /* TP_READ_* for its readers */
    int allow_split;     /* a large plain file may be read in two halves */
    tp_s3 **s3;          /* the worker's S3 client, made on first use */
} run;

static void emit(run *R, const char *text);
static atomic_int *cancel_of(run *R);

#define NO_STOP UINT64_MAX
#define SPLIT_MIN_BYTES ((uint64_t)32 << 20)  /* files below this are read by one thread */
#define REPORTS_MAX ((size_t)16 << 20)        /* buffered reports of a second half */

/* One reader over a file, or over the part of it from `base` on. */
typedef struct pass {
    run *R;              /* whose reports these are */
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
        emit(P->R, line);
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

static void say(run *R, const char *fmt, ...) TP_PRINTF(2, 3);
static void say(run *R, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    emit(R, line);
}

/* Read one input: a large plain file in two threads (each half on its own
 * core), anything else in one. Updates R. */
static void parse_one(run *R, const char *path)
{
    tp_error err;
    pass A = {0};
    A.R = R;
    A.read_flags = R->read_flags;
    A.cancel = cancel_of(R); /* a --strict stop in an earlier file */
    A.path = path;
    A.stats = R->stats;
    A.strict = R->strict;
    A.stop_at = NO_STOP;
    if (tp_source_open(&A.src, path, &err) != TP_OK) {
        say(R, "tp-parse: %s\n", err.message);
        R->rc = 2;
        return;
    }
    uint64_t split = 0;
    int fd2 = -1;
    struct stat st;
    if (R->allow_split && !R->strict && strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
        (fd2 = open(path, O_RDONLY | O_CLOEXEC)) >= 0)
        split = find_split(fd2, (uint64_t)st.st_size);
    pass B = {0};
    pthread_t thread;
    atomic_int cancel = 0;
    int threaded = 0;
    if (split && lseek(fd2, (off_t)split, SEEK_SET) == (off_t)split &&
        tp_source_from_fd(&B.src, fd2, &err) == TP_OK &&
        tp_stats_new(&B.stats, NULL, &err) == TP_OK) {
        B.R = R;
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
                emit(R, (const char *)B.reports.ptr);
            if (tp_stats_merge(R->stats, B.stats, &err) != TP_OK) {
                say(R, "tp-parse: %s\n", err.message);
                R->rc = 2;
            }
            add_pass(R, &B);
        } else if (A.at_boundary) {
            /* The second half's reports did not fit in memory: read it
             * again from the confirmed boundary, reporting as we go. */
            pass C = {0};
            C.R = R;
            C.path = path;
            C.base = split;
            C.stop_at = NO_STOP;
            C.stats = R->stats;
            if (lseek(fd2, (off_t)split, SEEK_SET) != (off_t)split ||
                tp_source_from_fd(&C.src, fd2, &err) != TP_OK) {
                say(R, "tp-parse: %s: cannot read again from byte %llu\n", path,
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

/* ---- many inputs: workers, in-order merge, reports, progress -------------- */

#define WINDOW 64                            /* inputs taken ahead of the oldest unmerged */
#define SLOT_REPORTS_MAX ((size_t)1 << 20)  /* reports held for an input out of turn */

typedef struct slot {
    run r;
    tp_buf reports; /* held until the input's turn comes */
    int done;
} slot;

struct sched {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    const items *in;
    slot *slots;
    size_t next; /* the next input to take */
    size_t head; /* the oldest input not merged yet: its reports go straight out */
    run *total;
    int cancel;  /* --strict stopped: the rest is not wanted */
    atomic_int cancel_flag;
    /* progress on a terminal */
    int progress;
    int progress_shown;
    atomic_uint_fast64_t bytes_in;
    size_t objects_done;
    int64_t t0_us;
};

static int64_t now_us(void)
{
    return tp_time_now_us();
}

/* Call with mu held. */
static void progress_clear(sched *sc)
{
    if (sc->progress_shown) {
        fputs("\r\033[K", stderr);
        sc->progress_shown = 0;
    }
}

static void emit(run *R, const char *text)
{
    sched *sc = R->sc;
    if (!sc) {
        fputs(text, stderr);
        return;
    }
    size_t len = strlen(text);
    pthread_mutex_lock(&sc->mu);
    slot *sl = &sc->slots[R->idx];
    for (;;) {
        if (sc->cancel && R->idx > sc->head)
            break; /* after a --strict stop: never shown */
        if (R->idx == sc->head) {
            progress_clear(sc);
            fputs(text, stderr);
            break;
        }
        if (sl->reports.len + len <= SLOT_REPORTS_MAX) {
            if (tp_buf_append(&sl->reports, text, len, NULL) == TP_OK)
                break;
        }
        /* Too much held: wait for this input's turn (the oldest input is
         * always being read by some worker, so the turn comes). */
        pthread_cond_wait(&sc->cv, &sc->mu);
    }
    pthread_mutex_unlock(&sc->mu);
}

static void add_run(run *T, run *r)
{
    tp_error err;
    if (tp_stats_merge(T->stats, r->stats, &err) != TP_OK) {
        fprintf(stderr, "tp-parse: %s\n", err.message);
        T->rc = 2;
    }
    T->errors += r->errors;
    T->bytes += r->bytes;
    if (r->rc > T->rc)
        T->rc = r->rc;
    if (r->stopped)
        T->stopped = 1;
}

static atomic_int *cancel_of(run *R)
{
    return R->sc ? &R->sc->cancel_flag : NULL;
}

/* Input i is read: merge every finished input in order. */
static void finish_input(sched *sc, size_t i)
{
    pthread_mutex_lock(&sc->mu);
    sc->slots[i].done = 1;
    if (sc->in->v[i].bucket)
        sc->objects_done++;
    while (!sc->cancel && sc->head < sc->in->n && sc->slots[sc->head].done) {
        slot *sl = &sc->slots[sc->head];
        add_run(sc->total, &sl->r);
        tp_stats_free(sl->r.stats);
        sl->r.stats = NULL;
        tp_buf_dispose(&sl->reports);
        if (sc->total->stopped) {
            sc->cancel = 1;
            atomic_store(&sc->cancel_flag, 1);
            break;
        }
        sc->head++;
        if (sc->head < sc->in->n && sc->slots[sc->head].reports.len) {
            progress_clear(sc);
            fwrite(sc->slots[sc->head].reports.ptr, 1, sc->slots[sc->head].reports.len, stderr);
            tp_buf_dispose(&sc->slots[sc->head].reports);
        }
    }
    pthread_cond_broadcast(&sc->cv);
    pthread_mutex_unlock(&sc->mu);
}

/* ---- S3 objects: a GET streamed through a pipe into the reader ----------- */

typedef struct get_job {
    tp_s3 *s3;
    const item *it;
    int fd;
    sched *sc;
    tp_status st;
    tp_error err;
} get_job;

static tp_status get_sink(const uint8_t *data, size_t len, void *payload)
{
    get_job *g = payload;
    if (g->sc)
        atomic_fetch_add(&g->sc->bytes_in, len);
    return tp_http_write_fd(data, len, &g->fd);
}

static void *get_thread(void *arg)
{
    get_job *g = arg;
    g->st = tp_s3_get_object(g->s3, g->it->bucket, g->it->key, get_sink, g, NULL, &g->err);
    close(g->fd);
    g->fd = -1;
    return NULL;
}

static tp_status s3_client(tp_s3 **s3, tp_error *err)
{
    if (*s3)
        return TP_OK;
    tp_aws_client_options o;
    tp_aws_client_options_init(&o, TP_AWS_CLIENT_OPTIONS_VERSION);
    return tp_s3_new(s3, &o, err);
}

/* Read one S3 object: nothing lands on disk, the reader reads the pipe
 * the GET writes into (the next object's GET runs in another worker). */
static void parse_object(run *R, const item *it)
{
    tp_error err;
    if (s3_client(R->s3, &err) != TP_OK) {
        say(R, "tp-parse: %s: %s\n", it->path, err.message);
        R->rc = 2;
        return;
    }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        say(R, "tp-parse: %s: pipe: %s\n", it->path, strerror(errno));
        R->rc = 2;
        return;
    }
#ifdef F_SETPIPE_SZ
    (void)fcntl(fds[1], F_SETPIPE_SZ, 1 << 20); /* fewer wake-ups; fine if refused */
#endif
    get_job g = {*R->s3, it, fds[1], R->sc, TP_OK, {0}};
    pthread_t th;
    if (pthread_create(&th, NULL, get_thread, &g) != 0) {
        close(fds[0]);
        close(fds[1]);
        say(R, "tp-parse: %s: cannot start a thread\n", it->path);
        R->rc = 2;
        return;
    }
    pass P = {0};
    P.R = R;
    P.path = it->path;
    P.stats = R->stats;
    P.strict = R->strict;
    P.stop_at = NO_STOP;
    P.read_flags = R->read_flags;
    P.cancel = cancel_of(R);
    int ran = tp_source_from_fd(&P.src, fds[0], &err) == TP_OK;
    if (ran)
        run_pass(&P);
    close(fds[0]); /* a GET still writing (the reader stopped early) fails at once */
    pthread_join(th, NULL);
    tp_source_free(P.src);
    if (!ran) {
        say(R, "tp-parse: %s: %s\n", it->path, err.message);
        R->rc = 2;
        return;
    }
    add_pass(R, &P);
    if (g.st != TP_OK && !P.stopped && !P.overflow) {
        say(R, "tp-parse: %s: %s\n", it->path, g.err.message);
        R->rc = 2;
    }
}

typedef struct lister {
    items *out;
    const char *bucket;
    int nomem;
} lister;

static tp_status list_one(const tp_s3_list_entry *e, void *payload)
{
    lister *L = payload;
    size_t n = strlen(L->bucket) + strlen(e->key) + 7;
    char *path = malloc(n);
    if (!path) {
        L->nomem = 1;
        return TP_E_NOMEM;
    }
    snprintf(path, n, "s3://%s/%s", L->bucket, e->key);
    int rc = items_add(L->out, path, L->bucket, e->key, NULL);
    free(path);
    if (rc != 0) {
        L->nomem = 1;
        return TP_E_NOMEM;
    }
    return TP_OK;
}

/* s3://BUCKET/PREFIX: every object under the prefix, in key order (S3 lists
 * keys in UTF-8 byte order, as local paths are sorted). */
static int list_s3(const char *uri, tp_s3 **s3, items *out)
{
    char bucket[256];
    const char *b = uri + 5, *slash = strchr(b, '/');
    size_t bl = slash ? (size_t)(slash - b) : strlen(b);
    if (bl == 0 || bl >= sizeof bucket)
        return add_msg(out, "tp-parse: %s: no bucket name\n", uri);
    memcpy(bucket, b, bl);
    bucket[bl] = 0;
    const char *prefix = slash ? slash + 1 : "";
    tp_error err;
    if (s3_client(s3, &err) != TP_OK)
        return add_msg(out, "tp-parse: %s: %s\n", uri, err.message);
    items found = {0};
    lister L = {&found, bucket, 0};
    uint32_t pages = 0;
    tp_status st = tp_s3_list_objects(*s3, bucket, *prefix ? prefix : NULL, 0, list_one, &L,
                                      &pages, &err);
    int rc = 0;
    if (L.nomem)
        rc = -1;
    else if (st != TP_OK)
        rc = add_msg(out, "tp-parse: %s: %s\n", uri, err.message);
    for (size_t i = 0; rc == 0 && i < found.n; i++)
        rc = items_add(out, found.v[i].path, found.v[i].bucket, found.v[i].key, NULL);
    items_free(&found);
    return rc;
}

/* ---- workers ----------------------------------------------------------------- */

typedef struct worker {
    sched *sc;
    run proto; /* strict, read_flags, allow_split */
    tp_s3 *s3;
    pthread_t th;
} worker;

static void read_input(sched *sc, size_t i, worker *w)
{
    const item *it = &sc->in->v[i];
    slot *sl = &sc->slots[i];
    run *R = &sl->r;
    *R = w->proto;
    R->sc = sc;
    R->idx = i;
    R->s3 = &w->s3;
    tp_error err;
    if (tp_stats_new(&R->stats, NULL, &err) != TP_OK) {
        say(R, "tp-parse: %s\n", err.message);
        R->rc = 2;
    } else if (it->msg) {
        say(R, "%s", it->msg);
        R->rc = 2;
    } else if (it->bucket) {
        parse_object(R, it);
    } else {
        parse_one(R, it->path);
    }
    finish_input(sc, i);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    sched *sc = w->sc;
    for (;;) {
        pthread_mutex_lock(&sc->mu);
        while (!sc->cancel && sc->next < sc->in->n && sc->next >= sc->head + WINDOW)
            pthread_cond_wait(&sc->cv, &sc->mu);
        size_t i = sc->next;
        int stop = sc->cancel || i >= sc->in->n;
        if (!stop)
            sc->next++;
        pthread_mutex_unlock(&sc->mu);
        if (stop)
            break;
        read_input(sc, i, w);
    }
    tp_s3_free(w->s3);
    w->s3 = NULL;
    return NULL;
}

static void *progress_main(void *arg)
{
    sched *sc = arg;
    size_t objects = 0;
    for (size_t i = 0; i < sc->in->n; i++)
        objects += sc->in->v[i].bucket != NULL;
    pthread_mutex_lock(&sc->mu);
    while (sc->progress) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 250 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&sc->cv, &sc->mu, &ts);
        if (!sc->progress)
            break;
        double secs = (double)(now_us() - sc->t0_us) / 1e6;
        double mb = (double)atomic_load(&sc->bytes_in) / 1e6;
        fprintf(stderr, "\r\033[K%zu/%zu objects, %.1f MB, %.1f MB/s", sc->objects_done, objects,
                mb, secs > 0 ? mb / secs : 0.0);
        sc->progress_shown = 1;
    }
    progress_clear(sc);
    pthread_mutex_unlock(&sc->mu);
    return NULL;
}

static long default_jobs(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? n : 1;
}

int main(int argc, char **argv)
{
    int json = 0, strict = 0, dashdash = 0;
    long jobs = default_jobs();
    items args = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!dashdash && !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return 0;
        } else if (!dashdash && !strcmp(a, "--json")) {
            json = 1;
        } else if (!dashdash && !strcmp(a, "--strict")) {
            strict = 1;
        } else if (!dashdash && (!strcmp(a, "--jobs") || !strncmp(a, "--jobs=", 7))) {
            const char *v = a[6] == '=' ? a + 7 : (i + 1 < argc ? argv[++i] : "");
            char *end;
            errno = 0;
            jobs = strtol(v, &end, 10);
            if (!*v || *end || errno || jobs < 1 || jobs > 1024) {
                fprintf(stderr, "tp-parse: --jobs needs a number from 1 to 1024, not '%s'\n%s", v,
                        usage);
                return 2;
            }
        } else if (!dashdash && !strcmp(a, "--")) {
            dashdash = 1;
        } else if (!dashdash && a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "tp-parse: unknown option '%s'\n%s", a, usage);
            return 2;
        } else if (items_add(&args, a, NULL, NULL, NULL) != 0) {
            fprintf(stderr, "tp-parse: out of memory\n");
            return 2;
        }
    }
    if (args.n == 0) {
        fprintf(stderr, "tp-parse: no PATH given\n%s", usage);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN); /* a GET writing into a pipe we closed gets EPIPE */

    /* Every input in output order: arguments as given, directories expanded
     * (byte-wise sorted), prefixes listed. */
    items in = {0};
    tp_s3 *lister_s3 = NULL;
    int has_s3 = 0, nomem = 0;
    for (size_t i = 0; i < args.n && !nomem; i++) {
        const char *p = args.v[i].path;
        struct stat st;
        if (!strncmp(p, "s3://", 5)) {
            has_s3 = 1;
            nomem = list_s3(p, &lister_s3, &in) != 0;
        } else if (strcmp(p, "-") != 0 && stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            items files = {0}, errs = {0};
            nomem = walk(p, &files, &errs) != 0;
            qsort(files.v, files.n, sizeof *files.v, cmp_item_path);
            for (size_t k = 0; !nomem && k < errs.n; k++)
                nomem = items_add(&in, NULL, NULL, NULL, errs.v[k].msg) != 0;
            for (size_t k = 0; !nomem && k < files.n; k++)
                nomem = items_add(&in, files.v[k].path, NULL, NULL, NULL) != 0;
            items_free(&files);
            items_free(&errs);
        } else {
            nomem = items_add(&in, p, NULL, NULL, NULL) != 0;
        }
    }
    tp_s3_free(lister_s3);
    items_free(&args);
    if (nomem) {
        fprintf(stderr, "tp-parse: out of memory\n");
        items_free(&in);
        return 2;
    }

    run T = {0};
    T.strict = strict;
    tp_error err;
    if (tp_stats_new(&T.stats, NULL, &err) != TP_OK) {
        fprintf(stderr, "tp-parse: %s\n", err.message);
        items_free(&in);
        return 2;
    }
    size_t nworkers = in.n < (size_t)jobs ? in.n : (size_t)jobs;
    if (nworkers == 0)
        nworkers = 1;
    sched sc;
    memset(&sc, 0, sizeof sc);
    pthread_mutex_init(&sc.mu, NULL);
    pthread_cond_init(&sc.cv, NULL);
    sc.in = &in;
    sc.total = &T;
    sc.t0_us = now_us();
    sc.slots = calloc(in.n ? in.n : 1, sizeof *sc.slots);
    worker *ws = calloc(nworkers, sizeof *ws);
    if (!sc.slots || !ws) {
        fprintf(stderr, "tp-parse: out of memory\n");
        return 2;
    }
    for (size_t k = 0; k < nworkers; k++) {
        ws[k].sc = &sc;
        ws[k].proto.strict = strict;
        /* One thread a file: with --jobs 1 everything runs in this thread;
         * a lone input may use a second one (read-ahead, inflate, halves)
         * when --jobs allows; several workers use one thread each. */
        ws[k].proto.read_flags = (jobs == 1 || nworkers > 1) ? TP_READ_NO_THREAD : 0;
        ws[k].proto.allow_split = jobs > 1 && nworkers == 1;
    }
    pthread_t prog;
    int prog_live = 0;
    if (has_s3 && isatty(2)) {
        sc.progress = 1;
        prog_live = pthread_create(&prog, NULL, progress_main, &sc) == 0;
        if (!prog_live)
            sc.progress = 0;
    }
    size_t started = 1;
    for (size_t k = 1; k < nworkers; k++) {
        if (pthread_create(&ws[k].th, NULL, worker_main, &ws[k]) != 0)
            break;
        started++;
    }
    worker_main(&ws[0]);
    for (size_t k = 1; k < started; k++)
        pthread_join(ws[k].th, NULL);
    if (prog_live) {
        pthread_mutex_lock(&sc.mu);
        sc.progress = 0;
        pthread_cond_broadcast(&sc.cv);
        pthread_mutex_unlock(&sc.mu);
        pthread_join(prog, NULL);
    }
    for (size_t i = 0; i < in.n; i++) {
        tp_stats_free(sc.slots[i].r.stats);
        tp_buf_dispose(&sc.slots[i].reports);
    }
    free(sc.slots);
    free(ws);
    pthread_mutex_destroy(&sc.mu);
    pthread_cond_destroy(&sc.cv);
    if (!T.stopped)
        print_summary(&T, json);
    items_free(&in);
    tp_stats_free(T.stats);
    return T.rc;
}
