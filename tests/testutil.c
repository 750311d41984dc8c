#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *tpt_source_dir(void)
{
    const char *s = getenv("TP_SOURCE_DIR");
    return s && *s ? s : ".";
}

const char *tpt_binary_dir(void)
{
    const char *s = getenv("TP_BINARY_DIR");
    return s && *s ? s : ".";
}

char *tpt_mkdtemp(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/tptest.XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

void tpt_rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                    continue;
                char sub[4096];
                snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
                tpt_rmtree(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

uint8_t *tpt_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap + 1);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) {
        buf[n] = 0;
        *len = n;
    }
    return buf;
}

int tpt_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, len, f);
    return (fclose(f) == 0 && w == len) ? 0 : -1;
}

static void *fa_malloc(size_t n, void *p)
{
    tpt_failing_alloc *f = p;
    f->calls++;
    if (f->fail_at && f->calls == f->fail_at)
        return NULL;
    void *m = malloc(n);
    if (m)
        f->live++;
    return m;
}

static void *fa_realloc(void *ptr, size_t n, void *p)
{
    tpt_failing_alloc *f = p;
    f->calls++;
    if (f->fail_at && f->calls == f->fail_at)
        return NULL;
    void *m = realloc(ptr, n);
    if (m && !ptr)
        f->live++;
    return m;
}

static void fa_free(void *ptr, void *p)
{
    tpt_failing_alloc *f = p;
    if (ptr)
        f->live--;
    free(ptr);
}

void tpt_failing_alloc_init(tpt_failing_alloc *f, long fail_at)
{
    f->a.malloc_fn = fa_malloc;
    f->a.realloc_fn = fa_realloc;
    f->a.free_fn = fa_free;
    f->a.payload = f;
    f->calls = 0;
    f->fail_at = fail_at;
    f->live = 0;
}

int tpt_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

void tpt_assert_same_state(const tp_engine *a, const tp_engine *b)
{
    ck_assert_uint_eq(tp_engine_symbol_count(a), tp_engine_symbol_count(b));
    for (size_t i = 0; i < tp_engine_symbol_count(a); i++) {
        tp_position pa, pb;
        tp_buf sa, sb;
        ck_assert_int_eq(tp_engine_position_at(a, i, &pa, NULL), TP_OK);
        ck_assert_int_eq(tp_engine_position(b, tp_cursor_from_str(pa.symbol), &pb, NULL), TP_OK);
        ck_assert_mem_eq(&pa, &pb, sizeof pa);
        tp_buf_init(&sa, NULL, 0);
        tp_buf_init(&sb, NULL, 0);
        ck_assert_int_eq(tp_engine_snapshot(a, tp_cursor_from_str(pa.symbol), &sa, NULL), TP_OK);
        ck_assert_int_eq(tp_engine_snapshot(b, tp_cursor_from_str(pa.symbol), &sb, NULL), TP_OK);
        ck_assert_uint_eq(sa.len, sb.len);
        ck_assert_mem_eq(sa.ptr, sb.ptr, sa.len);
        tp_buf_dispose(&sa);
        tp_buf_dispose(&sb);
    }
}
