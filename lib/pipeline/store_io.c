/* Floor 5: file helpers of the local store backends: atomic replace,
 * mkdir -p, whole-file read, locks, archive keys. */
#include "store_io_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

char *tp_store__strndup(const tp_allocator *a, const char *s, size_t n)
{
    char *p = tp__malloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static tp_status io_error(tp_error *err, const char *what, const char *path, int e)
{
    return tp_error__set(err, TP_E_IO, "%s %s: %s", what, path, strerror(e));
}

/* fsync the directory holding `path`, so a rename in it is durable. */
static tp_status sync_parent(const tp_allocator *a, const char *path, tp_error *err)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? tp_store__strndup(a, path, slash == path ? 1 : (size_t)(slash - path))
                      : tp_store__strndup(a, ".", 1);
    if (!dir)
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    tp_status st = TP_OK;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        st = io_error(err, "cannot open directory", dir, errno);
    } else {
        if (fsync(fd) != 0 && errno != EINVAL)
            st = io_error(err, "cannot fsync directory", dir, errno);
        close(fd);
    }
    tp__free(a, dir);
    return st;
}

tp_status tp_store__write_atomic(const tp_allocator *a, const char *path, const void *data,
                                 size_t len, const char *tmpdir, tp_error *err)
{
    tp_status st = TP_OK;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t dl = tmpdir ? strlen(tmpdir) : (size_t)(slash ? slash - path : 0);
    size_t cap = dl + strlen(base) + 24;
    char *tmp = tp__malloc(a, cap);
    int fd = -1;
    if (!tmp)
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    if (!tmpdir && slash && slash != path) {
        /* The file's directory, created when missing. */
        memcpy(tmp, path, dl);
        tmp[dl] = '\0';
        st = tp_store__mkdirs(a, tmp, err);
        if (st != TP_OK) {
            tp__free(a, tmp);
            return st;
        }
    }
    if (tmpdir)
        snprintf(tmp, cap, "%s/tmp-XXXXXX", tmpdir);
    else if (slash)
        snprintf(tmp, cap, "%.*s/.%s.tmp-XXXXXX", (int)dl, path, base);
    else
        snprintf(tmp, cap, ".%s.tmp-XXXXXX", base);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        st = io_error(err, "cannot create a temporary file for", path, errno);
        tmp[0] = '\0';
        goto done;
    }
    if (fchmod(fd, 0644) != 0) {
        st = io_error(err, "cannot chmod", tmp, errno);
        goto done;
    }
    const uint8_t *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            st = io_error(err, "cannot write", tmp, errno);
            goto done;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0) {
        st = io_error(err, "cannot fsync", tmp, errno);
        goto done;
    }
    if (close(fd) != 0) {
        fd = -1;
        st = io_error(err, "cannot close", tmp, errno);
        goto done;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        st = io_error(err, "cannot rename a temporary file onto", path, errno);
        goto done;
    }
    tmp[0] = '\0'; /* renamed: nothing to remove */
    st = sync_parent(a, path, err);
done:
    if (fd >= 0)
        close(fd);
    if (tmp[0])
        unlink(tmp);
    tp__free(a, tmp);
    return st;
}

void tp_store__clean_temps(const tp_allocator *a, const char *path, const char *tmpdir)
{
    const char *slash = path ? strrchr(path, '/') : NULL;
    const char *base = path ? (slash ? slash + 1 : path) : NULL;
    char *dir = tmpdir  ? tp_store__strndup(a, tmpdir, strlen(tmpdir))
                : slash ? tp_store__strndup(a, path, slash == path ? 1 : (size_t)(slash - path))
                        : tp_store__strndup(a, ".", 1);
    if (!dir)
        return;
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t bl = base ? strlen(base) : 0;
    while (d && (e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        int ours =
            tmpdir ? !strncmp(n, "tmp-", 4)
                   : n[0] == '.' && !strncmp(n + 1, base, bl) && !strncmp(n + 1 + bl, ".tmp-", 5);
        if (!ours)
            continue;
        size_t cap = strlen(dir) + strlen(n) + 2;
        char *p = tp__malloc(a, cap);
        if (!p)
            break;
        snprintf(p, cap, "%s/%s", dir, n);
        unlink(p);
        tp__free(a, p);
    }
    if (d)
        closedir(d);
    tp__free(a, dir);
}

tp_status tp_store__mkdirs(const tp_allocator *a, const char *dir, tp_error *err)
{
    size_t n = strlen(dir);
    char *p = tp_store__strndup(a, dir, n);
    if (!p)
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    tp_status st = TP_OK;
    for (size_t i = 1; i <= n && st == TP_OK; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0755) != 0) {
            int e = errno;
            struct stat sb;
            if (e != EEXIST)
                st = io_error(err, "cannot create directory", p, e);
            else if (stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode))
                st = tp_error__set(err, TP_E_IO, "cannot create directory %s: a file is there", p);
        } else {
            /* A new directory is durable once its parent's entry is: files
             * later renamed into it must not vanish with it on a power loss. */
            st = sync_parent(a, p, err);
        }
        p[i] = c;
    }
    tp__free(a, p);
    return st;
}

tp_status tp_store__lock(const char *path, int tries, int *fd, char holder[32], tp_error *err)
{
    holder[0] = '\0';
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (f < 0)
        return io_error(err, "cannot open the lock", path, errno);
    int locked = flock(f, LOCK_EX | LOCK_NB) == 0;
    for (int i = 1; !locked && errno == EWOULDBLOCK && i < tries; i++) {
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
        locked = flock(f, LOCK_EX | LOCK_NB) == 0;
    }
    if (!locked) {
        int e = errno;
        ssize_t r = pread(f, holder, 31, 0);
        holder[r > 0 ? r : 0] = '\0';
        holder[strcspn(holder, "\n")] = '\0';
        close(f);
        if (e != EWOULDBLOCK)
            return io_error(err, "cannot lock", path, e);
        return tp_error__set(err, TP_E_STATE, "%s is held by process %s", path,
                             holder[0] ? holder : "(unknown)");
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(f, 0) != 0 || pwrite(f, pid, (size_t)n, 0) != n) {
        int e = errno;
        close(f);
        return io_error(err, "cannot write", path, e);
    }
    *fd = f;
    return TP_OK;
}

tp_status tp_store__read_file(const char *path, tp_buf *out, tp_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return tp_error__set(err, TP_E_NOT_FOUND, "no file %s", path);
        return io_error(err, "cannot open", path, errno);
    }
    tp_status st = TP_OK;
    for (;;) {
        st = tp_buf_reserve(out, 65536, err);
        if (st != TP_OK)
            break;
        ssize_t r = read(fd, out->ptr + out->len, 65536);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            st = io_error(err, "cannot read", path, errno);
            break;
        }
        if (r == 0)
            break;
        out->len += (size_t)r;
        out->ptr[out->len] = 0;
    }
    close(fd);
    return st;
}

/* A key must stay inside the directory: relative, no empty, "." or ".."
 * segment, and only the bytes keys are made of. */
int tp_store__key_ok(const char *key)
{
    const char *seg = key;
    if (!*key)
        return 0;
    for (const char *p = key;; p++) {
        if (*p == '/' || *p == '\0') {
            size_t n = (size_t)(p - seg);
            if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
                return 0;
            if (!*p)
                return 1;
            seg = p + 1;
            continue;
        }
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == '%'))
            return 0;
    }
}
