/* Floor 2 (its only I/O is reading the stream it is given): byte sources
 * for the reader. */
#include "reader_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

enum { SRC_FD, SRC_FILE, SRC_MEMORY, SRC_CALLBACK };

struct tp_source {
    int kind;
    int fd;
    int owns_fd;
    FILE *file;
    const uint8_t *mem;
    size_t mem_len, mem_pos;
    tp_read_fn fn;
    void *payload;
    char name[64]; /* for error messages: a path's tail, "stdin", "memory" */
    uint64_t consumed; /* bytes handed out so far */
    int64_t origin;    /* fd sources: the file offset of the first byte (-1: not seekable) */
    int origin_known;
};

static tp_status src_alloc(tp_source **out, int kind, const char *name, tp_error *err)
{
    if (!out)
        return tp_error__set(err, TP_E_INVALID, "source: NULL out");
    tp_source *s = calloc(1, sizeof *s);
    if (!s)
        return tp_error__set(err, TP_E_NOMEM, "out of memory creating a source");
    s->kind = kind;
    s->fd = -1;
    tp__strlcpy(s->name, name, sizeof s->name);
    *out = s;
    return TP_OK;
}

tp_status tp_source_from_fd(tp_source **out, int fd, tp_error *err)
{
    if (fd < 0)
        return tp_error__set(err, TP_E_INVALID, "source: bad file descriptor %d", fd);
    tp_status st = src_alloc(out, SRC_FD, "fd", err);
    if (st == TP_OK)
        (*out)->fd = fd;
    return st;
}

tp_status tp_source_from_file(tp_source **out, FILE *f, tp_error *err)
{
    if (!f)
        return tp_error__set(err, TP_E_INVALID, "source: NULL FILE");
    tp_status st = src_alloc(out, SRC_FILE, "file", err);
    if (st == TP_OK)
        (*out)->file = f;
    return st;
}

tp_status tp_source_from_memory(tp_source **out, const void *data, size_t len, tp_error *err)
{
    if (!data && len)
        return tp_error__set(err, TP_E_INVALID, "source: NULL data");
    tp_status st = src_alloc(out, SRC_MEMORY, "memory", err);
    if (st == TP_OK) {
        (*out)->mem = data;
        (*out)->mem_len = len;
    }
    return st;
}

tp_status tp_source_from_callback(tp_source **out, tp_read_fn fn, void *payload, tp_error *err)
{
    if (!fn)
        return tp_error__set(err, TP_E_INVALID, "source: NULL callback");
    tp_status st = src_alloc(out, SRC_CALLBACK, "callback", err);
    if (st == TP_OK) {
        (*out)->fn = fn;
        (*out)->payload = payload;
    }
    return st;
}

tp_status tp_source_open(tp_source **out, const char *path, tp_error *err)
{
    if (!path)
        return tp_error__set(err, TP_E_INVALID, "source: NULL path");
    if (strcmp(path, "-") == 0) {
        tp_status st = src_alloc(out, SRC_FD, "stdin", err);
        if (st == TP_OK)
            (*out)->fd = 0;
        return st;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tp_error__set(err, TP_E_IO, "cannot open %s: %s", path, strerror(errno));
    tp_status st = src_alloc(out, SRC_FD, path, err);
    if (st != TP_OK) {
        close(fd);
        return st;
    }
    (*out)->fd = fd;
    (*out)->owns_fd = 1;
#ifdef POSIX_FADV_SEQUENTIAL
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    return TP_OK;
}

void tp_source_free(tp_source *s)
{
    if (!s)
        return;
    if (s->owns_fd && s->fd >= 0)
        close(s->fd);
    free(s);
}

tp_status tp_source__read(tp_source *s, uint8_t *buf, size_t cap, size_t *n, tp_error *err)
{
    *n = 0;
    switch (s->kind) {
    case SRC_FD:
        if (!s->origin_known) {
            off_t o = lseek(s->fd, 0, SEEK_CUR);
            s->origin = o < 0 ? -1 : (int64_t)o;
            s->origin_known = 1;
        }
        for (;;) {
            ssize_t r = read(s->fd, buf, cap);
            if (r >= 0) {
                *n = (size_t)r;
                s->consumed += (uint64_t)r;
                return TP_OK;
            }
            if (errno != EINTR)
                return tp_error__set(err, TP_E_IO, "read error on %s: %s", s->name,
                                     strerror(errno));
        }
    case SRC_FILE: {
        size_t r = fread(buf, 1, cap, s->file);
        if (r == 0 && ferror(s->file))
            return tp_error__set(err, TP_E_IO, "read error on a FILE stream");
        *n = r;
        s->consumed += r;
        return TP_OK;
    }
    case SRC_MEMORY: {
        size_t r = s->mem_len - s->mem_pos;
        if (r > cap)
            r = cap;
        memcpy(buf, s->mem + s->mem_pos, r);
        s->mem_pos += r;
        *n = r;
        s->consumed += r;
        return TP_OK;
    }
    case SRC_CALLBACK: {
        tp_status st = s->fn(s->payload, buf, cap, n, err);
        if (st != TP_OK) {
            *n = 0;
            return st < 0 ? st : tp_error__set(err, TP_E_IO, "source callback failed");
        }
        if (*n > cap)
            return tp_error__set(err, TP_E_INVALID, "source callback returned too many bytes");
        s->consumed += *n;
        return TP_OK;
    }
    default:
        return tp_error__set(err, TP_E_INVALID, "bad source");
    }
}

int tp_source__is_memory(const tp_source *s)
{
    return s->kind == SRC_MEMORY;
}

uint64_t tp_source__consumed(const tp_source *s)
{
    return s->consumed;
}

int tp_source__rewind(tp_source *s, uint64_t off)
{
    if (off > s->consumed)
        return -1;
    if (s->kind == SRC_MEMORY) {
        s->mem_pos = (size_t)off;
        s->consumed = off;
        return 0;
    }
    if (s->kind == SRC_FD && s->origin_known && s->origin >= 0 &&
        lseek(s->fd, (off_t)(s->origin + (int64_t)off), SEEK_SET) >= 0) {
        s->consumed = off;
        return 0;
    }
    return -1;
}
