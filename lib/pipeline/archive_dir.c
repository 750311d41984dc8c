/* Floor 5: the local-directory trade archive, laid out like the bucket. */
#include "store_io_int.h"
#include "tradepipe/store.h"

typedef struct dir_archive {
    const tp_allocator *alloc;
    char *dir;
    char *tmpdir; /* DIR/.tp-tmp: temporary files, out of the bucket's layout */
    int tmp_ready;
} dir_archive;

static tp_status dir_put(void *payload, const char *key, tp_cursor body, const char *content_type,
                         tp_error *err)
{
    dir_archive *d = payload;
    (void)content_type;
    if (!key || !tp_store__key_ok(key))
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "key",
                            "archive key '%.100s' is not a safe relative key", key ? key : "");
    size_t dl = strlen(d->dir), kl = strlen(key);
    char *path = tp__malloc(d->alloc, dl + 1 + kl + 1);
    if (!path)
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    memcpy(path, d->dir, dl);
    path[dl] = '/';
    memcpy(path + dl + 1, key, kl + 1);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    tp_status st = tp_store__mkdirs(d->alloc, path, err);
    *slash = '/';
    if (st == TP_OK && !d->tmp_ready && (st = tp_store__mkdirs(d->alloc, d->tmpdir, err)) == TP_OK)
        d->tmp_ready = 1;
    if (st == TP_OK)
        st = tp_store__write_atomic(d->alloc, path, body.ptr, body.len, d->tmpdir, err);
    tp__free(d->alloc, path);
    return st;
}

static void dir_free(void *payload)
{
    dir_archive *d = payload;
    if (!d)
        return;
    const tp_allocator *a = d->alloc;
    tp__free(a, d->dir);
    tp__free(a, d->tmpdir);
    tp__free(a, d);
}

static const tp_trade_archive_vtable dir_vtable = {TP_TRADE_ARCHIVE_VTABLE_VERSION, 0, dir_put,
                                                   dir_free};

tp_status tp_trade_archive_dir_new(tp_trade_archive **out, const char *dir,
                                   const tp_allocator *alloc, tp_error *err)
{
    if (!out || !dir || !*dir)
        return tp_error__set(err, TP_E_INVALID, "tp_trade_archive_dir_new: no directory");
    *out = NULL;
    dir_archive *d = tp__calloc(alloc, 1, sizeof *d);
    if (!d)
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    d->alloc = alloc;
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    d->dir = tp_store__strndup(alloc, dir, n);
    d->tmpdir = tp__malloc(alloc, n + 9);
    if (!d->dir || !d->tmpdir) {
        dir_free(d);
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    }
    memcpy(d->tmpdir, d->dir, n);
    memcpy(d->tmpdir + n, "/.tp-tmp", 9);
    /* What an archive killed mid-write left behind. */
    tp_store__clean_temps(alloc, NULL, d->tmpdir);
    return tp_trade_archive_new(out, &dir_vtable, d, alloc, err);
}
