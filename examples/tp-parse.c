/* tp-parse: summarize Firehose / NDJSON trade files (plain or gzip).
 * A thin program on the public API: reader + stats. */
#include <tradepipe.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
    "files are still processed and summarized). 2 wins over 1.\n";

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

/* Read one input. Updates run->rc (1 malformed, 2 unreadable/broken). */
static void parse_one(run *R, const char *path)
{
    tp_source *src = NULL;
    tp_reader *rd = NULL;
    tp_error err;
    if (tp_source_open(&src, path, &err) != TP_OK) {
        fprintf(stderr, "tp-parse: %s\n", err.message);
        R->rc = 2;
        return;
    }
    tp_reader_options o;
    tp_reader_options_init(&o, TP_READER_OPTIONS_VERSION);
    o.decode_flags = TP_DECODE_MINIMAL;
    if (tp_reader_new(&rd, src, &o, &err) != TP_OK) {
        fprintf(stderr, "tp-parse: %s: %s\n", path, err.message);
        tp_source_free(src);
        R->rc = 2;
        return;
    }
    tp_trade t;
    for (;;) {
        tp_status st = tp_reader_next(rd, &t, &err);
        if (st == TP_OK) {
            if (tp_stats_add(R->stats, &t, &err) != TP_OK) {
                fprintf(stderr, "tp-parse: %s\n", err.message);
                R->rc = 2;
                break;
            }
            continue;
        }
        if (st == TP_DONE)
            break;
        if (st == TP_E_RECORD || st == TP_E_TOO_LARGE) {
            fprintf(stderr, "%s:%llu: %s\n", path, (unsigned long long)err.offset, err.message);
            R->errors++;
            if (R->rc < 1)
                R->rc = 1;
            if (R->strict) {
                /* A record cut by a broken gzip stream is followed by the
                 * stream's own error, which decides the exit status. */
                if (tp_reader_next(rd, &t, &err) == TP_E_GZIP) {
                    fprintf(stderr, "tp-parse: %s: %s\n", path, err.message);
                    R->rc = 2;
                }
                R->stopped = 1;
                break;
            }
            continue;
        }
        /* The stream broke (TP_E_GZIP, TP_E_IO) or a hard failure. */
        fprintf(stderr, "tp-parse: %s: %s\n", path, err.message);
        R->rc = 2;
        break;
    }
    tp_reader_stats rs;
    tp_reader_stats_get(rd, &rs);
    R->bytes += rs.bytes;
    tp_reader_free(rd);
    tp_source_free(src);
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
