/* Floor 5: the file: stream backend, a local stream shaped like Kinesis.
 * The layout and the frame format are described in include/tradepipe/stream.h.
 *
 * Segments never change once a newer one exists: a writer that finds a torn
 * tail (its predecessor died mid-write) starts a new segment instead of
 * truncating, so a reader never sees bytes it has read change under it, and
 * "a newer segment exists" is what tells a torn tail from a frame still
 * being written. */
#include "store_io_int.h"
#include "stream_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SEG_MAGIC     "tpseg01\n"
#define SEG_MAGIC_LEN 8
#define SEG_NAME_LEN  24 /* 20 digits + ".seg" */
#define TMP_NAME_LEN  29 /* "." + 20 digits + ".seg.tmp" */
#define FRAME_HDR     8  /* CRC32C, body length */
#define BODY_FIXED    18 /* sequence, arrival, key length */
#define BODY_MIN      (BODY_FIXED + 2)
#define BODY_MAX      (BODY_FIXED + TP_STREAM_MAX_PARTITION_KEY + 1 + TP_STREAM_MAX_RECORD_BYTES)
#define READ_CHUNK    ((size_t)256 << 10)

enum { FRAME_OK, FRAME_SHORT, FRAME_BAD };

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void wr64(uint8_t *p, uint64_t v)
{
    wr32(p, (uint32_t)v);
    wr32(p + 4, (uint32_t)(v >> 32));
}

/* One frame at p (avail bytes): complete and valid, incomplete (*total is
 * the size needed so far), or impossible (a bad length, CRC or key). */
static int frame_check(const uint8_t *p, size_t avail, size_t *total)
{
    if (avail < FRAME_HDR) {
        *total = FRAME_HDR;
        return FRAME_SHORT;
    }
    uint32_t len = rd32(p + 4);
    if (len < BODY_MIN || len > BODY_MAX)
        return FRAME_BAD;
    *total = FRAME_HDR + (size_t)len;
    /* The key's shape first: cheap, and it rules out almost every offset
     * a search for the next frame tries. */
    if (avail >= FRAME_HDR + BODY_FIXED) {
        size_t kl = (size_t)p[FRAME_HDR + 16] | (size_t)p[FRAME_HDR + 17] << 8;
        if (kl == 0 || kl > TP_STREAM_MAX_PARTITION_KEY || BODY_FIXED + kl + 1 > len)
            return FRAME_BAD;
        /* A key is text without NUL, and a NUL ends it. */
        size_t have = avail - FRAME_HDR - BODY_FIXED;
        const uint8_t *key = p + FRAME_HDR + BODY_FIXED;
        if (memchr(key, 0, kl < have ? kl : have) || (have > kl && key[kl] != 0))
            return FRAME_BAD;
    }
    if (avail < *total)
        return FRAME_SHORT;
    if (tp_stream__crc32c(p + 4, 4 + (size_t)len) != rd32(p))
        return FRAME_BAD;
    return FRAME_OK;
}

/* ---- handles -------------------------------------------------------------- */

typedef struct fshard {
    char *dir;          /* DIR/shardId-... */
    char *path;         /* scratch: a segment path in dir */
    char *tmp_path;     /* writer scratch: a segment's temporary path (made at open,
                           so that a put allocates nothing once it starts writing) */
    int fd;             /* writer: the segment appended to, -1 */
    int roll;           /* writer: start a new segment before the next write */
    uint64_t seg_first; /* writer: the current segment's name */
    uint64_t seg_size;
    uint64_t next_seq;
    int64_t last_arrival_ms;
    uint64_t batch_first; /* the first sequence of the frames in `frames` */
    tp_buf frames;        /* writer: this call's frames for the shard */
} fshard;

typedef struct fstream {
    const tp_allocator *alloc;
    char id[33]; /* stream.json "id": 32 hex digits, "" for a stream made without one */
    char *dir;
    char *lock_path;
    int lock_fd;
    int sync;
    int ino_fd;
    uint64_t segment_bytes;
    int64_t retention_ms;
    uint32_t n;
    fshard *sh;
} fstream;

typedef struct seglist {
    uint64_t *first;
    size_t n, cap;
} seglist;

static tp_status io_err(tp_error *err, const char *what, const char *path, int e)
{
    return tp_error__set(err, TP_E_IO, "%s %s: %s", what, path, strerror(e));
}

static char *join(const tp_allocator *a, const char *dir, const char *name, size_t extra)
{
    size_t dl = strlen(dir), nl = strlen(name);
    char *p = tp__malloc(a, dl + 1 + nl + extra + 1);
    if (p) {
        memcpy(p, dir, dl);
        p[dl] = '/';
        memcpy(p + dl + 1, name, nl + 1);
    }
    return p;
}

/* dir's path buffer (dir + room for a segment name) pointed at segment `first`. */
static const char *seg_path(char *buf, const char *dir, uint64_t first)
{
    size_t dl = strlen(dir);
    memcpy(buf, dir, dl);
    snprintf(buf + dl, SEG_NAME_LEN + 2, "/%020llu.seg", (unsigned long long)first);
    return buf;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The segments of a shard directory, in sequence order. */
static tp_status list_segments(const tp_allocator *a, const char *dir, seglist *out, tp_error *err)
{
    out->n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return io_err(err, "cannot open shard directory", dir, errno);
    tp_status st = TP_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *nm = e->d_name;
        if (strlen(nm) != SEG_NAME_LEN || strcmp(nm + 20, ".seg") != 0)
            continue;
        uint64_t v = 0;
        int ok = 1;
        for (int i = 0; i < 20 && ok; i++) {
            unsigned d10 = (unsigned)(nm[i] - '0');
            if (d10 > 9 || v > (UINT64_MAX - d10) / 10)
                ok = 0;
            else
                v = v * 10 + d10;
        }
        if (!ok)
            continue;
        if (out->n == out->cap) {
            size_t nc = out->cap ? out->cap * 2 : 16;
            uint64_t *nf = tp__realloc(a, out->first, nc * sizeof *nf);
            if (!nf) {
                st = tp_error__set(err, TP_E_NOMEM, "out of memory");
                break;
            }
            out->first = nf;
            out->cap = nc;
        }
        out->first[out->n++] = v;
    }
    closedir(d);
    if (st == TP_OK && out->n > 1)
        qsort(out->first, out->n, sizeof *out->first, cmp_u64);
    return st;
}

static tp_status pread_some(int fd, uint8_t *buf, size_t cap, uint64_t off, size_t *got,
                            const char *path, tp_error *err)
{
    for (;;) {
        ssize_t r = pread(fd, buf, cap, (off_t)off);
        if (r >= 0) {
            *got = (size_t)r;
            return TP_OK;
        }
        if (errno != EINTR)
            return io_err(err, "cannot read", path, errno);
    }
}

/* A window over a segment file, for the scans below: bytes [off, off+len)
 * of the file in b.ptr. Or over a segment in memory (mem set): then every
 * byte is there already. */
typedef struct window {
    int fd;
    const char *path;
    tp_buf b;
    uint64_t off;
    int eof;
    const uint8_t *mem;
    size_t mem_len;
} window;

/* Make bytes [at, at + need) available in the window (fewer at the end of
 * the file: w->eof). Returns a pointer to byte `at` and in *avail how many
 * bytes follow it there, or NULL on an error. The window slides only when
 * it must, so a byte-by-byte search costs no copying per byte. */
static const uint8_t *window_at(window *w, uint64_t at, size_t need, size_t *avail, tp_error *err)
{
    if (w->mem) {
        w->eof = 1;
        *avail = at < w->mem_len ? w->mem_len - (size_t)at : 0;
        return *avail ? w->mem + at : (const uint8_t *)"";
    }
    if (at < w->off || at > w->off + w->b.len) {
        w->off = at; /* outside the window: start it afresh */
        w->b.len = 0;
        w->eof = 0;
    }
    size_t rel = (size_t)(at - w->off);
    if (w->b.len - rel < need && !w->eof) {
        if (rel) {
            memmove(w->b.ptr, w->b.ptr + rel, w->b.len - rel);
            w->b.len -= rel;
            w->off = at;
            rel = 0;
        }
        while (w->b.len < need && !w->eof) {
            size_t want = need > READ_CHUNK * 4 ? need : READ_CHUNK * 4;
            if (tp_buf_reserve(&w->b, want, err) != TP_OK)
                return NULL;
            size_t got = 0;
            if (pread_some(w->fd, w->b.ptr + w->b.len, w->b.cap - w->b.len - 1, w->off + w->b.len,
                           &got, w->path, err) != TP_OK)
                return NULL;
            w->b.len += got;
            w->eof = got == 0;
        }
    }
    *avail = w->b.len - rel;
    return w->b.ptr ? w->b.ptr + rel : (const uint8_t *)"";
}

/* The offset of the first valid frame at or after `from`, or UINT64_MAX:
 * how a scan tells corruption with valid frames behind it (a damaged
 * segment) from a torn tail (nothing valid behind). It only runs when a
 * frame is bad; it tries every offset, those whose header and key are in
 * the window without another call, and fetches a plausible frame whole for
 * its CRC. */
static tp_status next_valid_frame(window *w, uint64_t from, uint64_t *found, tp_error *err)
{
    const size_t head = FRAME_HDR + BODY_FIXED + TP_STREAM_MAX_PARTITION_KEY + 1;
    *found = UINT64_MAX;
    for (uint64_t c = from;;) {
        size_t avail = 0;
        const uint8_t *p = window_at(w, c, head, &avail, err);
        if (!p)
            return err ? err->code : TP_E_IO;
        if (avail < FRAME_HDR)
            return TP_OK;
        /* Before the end of the file the window holds `head` bytes or
         * more at c (window_at reads until it does). */
        size_t n = w->eof ? avail - FRAME_HDR + 1 : avail - head + 1, i = 0;
        for (; i < n; i++) {
            uint32_t len = rd32(p + i + 4);
            if ((uint32_t)(len - BODY_MIN) > (uint32_t)(BODY_MAX - BODY_MIN))
                continue; /* not a body length: almost every offset */
            size_t total = 0;
            int fc = frame_check(p + i, avail - i, &total);
            if (fc == FRAME_OK) {
                *found = c + i;
                return TP_OK;
            }
            if (fc == FRAME_SHORT && avail - i < total && !w->eof) {
                /* Plausible so far: fetch it whole (the window may move). */
                const uint8_t *q = window_at(w, c + i, total, &avail, err);
                if (!q)
                    return err ? err->code : TP_E_IO;
                if (frame_check(q, avail, &total) == FRAME_OK) {
                    *found = c + i;
                    return TP_OK;
                }
                i++;
                break;
            }
        }
        c += i;
    }
}

typedef tp_stream_segscan segscan;

/* Walk the segment in w (its size in out->size) frame by frame. */
static tp_status scan_window(window *w, segscan *out, tp_error *err)
{
    tp_status st = TP_OK;
    size_t avail = 0;
    const uint8_t *p = window_at(w, 0, SEG_MAGIC_LEN, &avail, err);
    if (!p)
        return err ? err->code : TP_E_IO;
    if (avail < SEG_MAGIC_LEN || memcmp(p, SEG_MAGIC, SEG_MAGIC_LEN) != 0)
        return TP_OK; /* no valid header: nothing of it is read */
    out->valid_end = SEG_MAGIC_LEN;
    out->clean = 1;
    for (uint64_t at = SEG_MAGIC_LEN;;) {
        size_t total = 0;
        if (!(p = window_at(w, at, FRAME_HDR, &avail, err)))
            return err ? err->code : TP_E_IO;
        if (avail == 0)
            break; /* the end, after a whole frame */
        int fc = frame_check(p, avail, &total);
        if (fc == FRAME_SHORT && total <= FRAME_HDR + BODY_MAX) {
            if (!(p = window_at(w, at, total, &avail, err)))
                return err ? err->code : TP_E_IO;
            fc = frame_check(p, avail, &total);
        }
        if (fc != FRAME_OK) {
            /* A torn tail, or damage with valid frames behind it. */
            out->clean = 0;
            if ((st = next_valid_frame(w, at + 1, &at, err)) != TP_OK)
                return st;
            if (at == UINT64_MAX)
                break;
            continue;
        }
        uint64_t seq = rd64(p + FRAME_HDR);
        if (!out->has_last || seq > out->max_seq)
            out->max_seq = seq;
        out->last_arrival_ms = (int64_t)rd64(p + FRAME_HDR + 8);
        out->has_last = 1;
        at += total;
        out->valid_end = at;
    }
    return st;
}

static tp_status scan_segment(const tp_allocator *a, const char *path, segscan *out, tp_error *err)
{
    memset(out, 0, sizeof *out);
    window w = {open(path, O_RDONLY | O_CLOEXEC), path, {0}, 0, 0, NULL, 0};
    if (w.fd < 0)
        return io_err(err, "cannot open segment", path, errno);
    tp_buf_init(&w.b, a, 0);
    tp_status st;
    struct stat sb;
    if (fstat(w.fd, &sb) != 0) {
        st = io_err(err, "cannot stat segment", path, errno);
    } else {
        out->size = (uint64_t)sb.st_size;
        st = scan_window(&w, out, err);
    }
    tp_buf_dispose(&w.b);
    close(w.fd);
    return st;
}

void tp_stream__segment_scan(const uint8_t *seg, size_t len, tp_stream_segscan *out)
{
    memset(out, 0, sizeof *out);
    out->size = len;
    window w = {-1, "(memory)", {0}, 0, 1, seg ? seg : (const uint8_t *)"", len};
    (void)scan_window(&w, out, NULL); /* nothing to read: it cannot fail */
}

/* ---- stream.json ---------------------------------------------------------- */

static tp_status meta_bad(tp_error *err, const char *path, const char *field, const char *why)
{
    return tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, field, "%s: %s", path, why);
}

static tp_status meta_read(fstream *fs, const char *path, tp_error *err)
{
    tp_buf b;
    tp_buf_init(&b, fs->alloc, (size_t)1 << 20);
    tp_status st = tp_store__read_file(path, &b, err);
    if (st != TP_OK) {
        tp_buf_dispose(&b);
        return st;
    }
    json_error_t je;
    json_t *j = json_loadb((const char *)b.ptr, b.len, 0, &je);
    tp_buf_dispose(&b);
    if (!j)
        return tp_error__at(err, TP_E_CONFIG, (uint64_t)je.position, NULL, "%s: not JSON: %s", path,
                            je.text);
    json_int_t shards = 0, seg = 0, ret = 0;
    const char *format = json_string_value(json_object_get(j, "format"));
    json_t *ver = json_object_get(j, "version");
    if (!format || strcmp(format, "tradepipe-stream") != 0)
        st = meta_bad(err, path, "format",
                      "not a tradepipe stream (\"format\" is not "
                      "\"tradepipe-stream\")");
    else if (!json_is_integer(ver) || json_integer_value(ver) != 1)
        st = tp_error__at(err, TP_E_UNSUPPORTED, TP_NO_OFFSET, "version",
                          "%s: stream format version is not 1 (made by a newer version?)", path);
    else if (!json_is_integer(json_object_get(j, "shards")) ||
             (shards = json_integer_value(json_object_get(j, "shards"))) < 1 ||
             shards > TP_STREAM_MAX_SHARDS)
        st = meta_bad(err, path, "shards", "\"shards\" is not an integer in 1..1024");
    else if (!json_is_integer(json_object_get(j, "segment_bytes")) ||
             (seg = json_integer_value(json_object_get(j, "segment_bytes"))) < 4096)
        st = meta_bad(err, path, "segment_bytes", "\"segment_bytes\" is not an integer >= 4096");
    else if (!json_is_integer(json_object_get(j, "retention_ms")) ||
             (ret = json_integer_value(json_object_get(j, "retention_ms"))) < 1)
        st = meta_bad(err, path, "retention_ms", "\"retention_ms\" is not an integer >= 1");
    const char *id = json_string_value(json_object_get(j, "id"));
    if (st == TP_OK && id && (strlen(id) != 32 || strspn(id, "0123456789abcdef") != 32))
        st = meta_bad(err, path, "id", "\"id\" is not 32 lower-case hex digits");
    if (st == TP_OK)
        tp__strlcpy(fs->id, id ? id : "", sizeof fs->id);
    json_decref(j);
    if (st == TP_OK) {
        fs->n = (uint32_t)shards;
        fs->segment_bytes = (uint64_t)seg;
        fs->retention_ms = (int64_t)ret;
    }
    return st;
}

static tp_status meta_write(fstream *fs, const char *path, tp_error *err)
{
    /* The stream's identity: a checkpoint names it, so that one left by a
     * deleted and recreated stream of the same name is not trusted. */
    uint8_t rnd[16];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return tp_error__set(err, TP_E_IO, "getrandom: %s", strerror(errno));
    tp_hex_encode(fs->id, rnd, sizeof rnd);
    char text[320];
    int n =
        snprintf(text, sizeof text,
                 "{\"format\":\"tradepipe-stream\",\"version\":1,\"id\":\"%s\",\"shards\":%u,"
                 "\"segment_bytes\":%llu,\"retention_ms\":%lld}\n",
                 fs->id, fs->n, (unsigned long long)fs->segment_bytes, (long long)fs->retention_ms);
    return tp_store__write_atomic(fs->alloc, path, text, (size_t)n, NULL, err);
}

/* ---- the writer lock ------------------------------------------------------ */

static tp_status lock_take(fstream *fs, tp_error *err)
{
    /* A moment's retry: a writer that is just closing may still hold it. */
    char holder[32];
    tp_status st = tp_store__lock(fs->lock_path, 20, &fs->lock_fd, holder, err);
    if (st == TP_E_STATE)
        tp_error__set(err, TP_E_STATE,
                      "stream %.60s is being written by process %s (%.60s): one writer at a time",
                      fs->dir, holder[0] ? holder : "(unknown)", fs->lock_path);
    return st;
}

/* ---- writer --------------------------------------------------------------- */

/* Delete the shard's segments (the newest excepted) last written more than
 * the retention period ago. Failures are left for the next sweep. */
static void retention_sweep(fstream *fs, fshard *sh)
{
    seglist sl = {0};
    if (list_segments(fs->alloc, sh->dir, &sl, NULL) == TP_OK && sl.n > 1) {
        int64_t cutoff = tp_time_now_us() / 1000 - fs->retention_ms;
        for (size_t i = 0; i + 1 < sl.n; i++) {
            struct stat sb;
            seg_path(sh->path, sh->dir, sl.first[i]);
            if (stat(sh->path, &sb) != 0)
                continue;
            int64_t mtime_ms =
                (int64_t)sb.st_mtim.tv_sec * 1000 + (int64_t)sb.st_mtim.tv_nsec / 1000000;
            if (mtime_ms >= cutoff)
                break; /* later segments were written later */
            unlink(sh->path);
        }
    }
    tp__free(fs->alloc, sl.first);
}

static tp_status sync_dir(const char *dir, tp_error *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return io_err(err, "cannot open directory", dir, errno);
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    return rc == 0 || e == EINVAL ? TP_OK : io_err(err, "cannot fsync directory", dir, e);
}

static tp_status write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return TP_E_IO;
        }
        p += w;
        n -= (size_t)w;
    }
    return TP_OK;
}

/* Close the current segment and start the one whose first record is `first`. */
static tp_status new_segment(fstream *fs, fshard *sh, uint64_t first, tp_error *err)
{
    if (sh->fd >= 0) {
        close(sh->fd);
        sh->fd = -1;
    }
    /* Made under a temporary name with its header, then linked into place
     * (link fails rather than replace): a reader never sees a segment
     * without its header, and a kill leaves only a temporary behind. */
    seg_path(sh->path, sh->dir, first);
    char *tpath = sh->tmp_path;
    snprintf(tpath + strlen(sh->dir), TMP_NAME_LEN + 2, "/.%020llu.seg.tmp",
             (unsigned long long)first);
    tp_status st = TP_OK;
    unlink(tpath); /* a leftover of a writer killed here */
    int fd = open(tpath, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        st = io_err(err, "cannot create segment", tpath, errno);
        goto done;
    }
    if (write_all(fd, (const uint8_t *)SEG_MAGIC, SEG_MAGIC_LEN) != TP_OK ||
        (fs->sync && fsync(fd) != 0)) {
        st = io_err(err, "cannot write segment", tpath, errno);
        goto done;
    }
    if (link(tpath, sh->path) != 0) {
        st = io_err(err, "cannot create segment", sh->path, errno);
        goto done;
    }
    if (fs->sync && (st = sync_dir(sh->dir, err)) != TP_OK)
        goto done;
    sh->fd = fd;
    fd = -1;
    sh->seg_first = first;
    sh->seg_size = SEG_MAGIC_LEN;
    sh->roll = 0;
    retention_sweep(fs, sh);
done:
    if (fd >= 0)
        close(fd);
    unlink(tpath);
    return st;
}

/* Find where the shard's sequence goes on, and whether its last segment can
 * take more frames (clean) or ends in a torn frame (a new one is started). */
/* Remove the temporaries of segments a killed writer was making. */
static void clean_segment_temps(fstream *fs, fshard *sh)
{
    DIR *d = opendir(sh->dir);
    struct dirent *e;
    size_t dl = strlen(sh->dir);
    while (d && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (e->d_name[0] != '.' || n < 9 || strcmp(e->d_name + n - 8, ".seg.tmp") != 0)
            continue;
        char *p = tp__malloc(fs->alloc, dl + n + 2);
        if (!p)
            break;
        snprintf(p, dl + n + 2, "%s/%s", sh->dir, e->d_name);
        unlink(p);
        tp__free(fs->alloc, p);
    }
    if (d)
        closedir(d);
}

static tp_status writer_open_shard(fstream *fs, fshard *sh, tp_error *err)
{
    seglist sl = {0};
    clean_segment_temps(fs, sh);
    tp_status st = list_segments(fs->alloc, sh->dir, &sl, err);
    if (st != TP_OK)
        goto done;
    if (sl.n == 0) {
        sh->next_seq = 1;
        sh->roll = 1;
        goto done;
    }
    uint64_t newest = sl.first[sl.n - 1];
    segscan sc, last = {0};
    st = scan_segment(fs->alloc, seg_path(sh->path, sh->dir, newest), &sc, err);
    if (st != TP_OK)
        goto done;
    last = sc;
    /* An empty last segment: the previous one holds the last record. */
    for (size_t i = sl.n - 1; !last.has_last && i > 0; i--) {
        st = scan_segment(fs->alloc, seg_path(sh->path, sh->dir, sl.first[i - 1]), &last, err);
        if (st != TP_OK)
            goto done;
    }
    /* Past the largest sequence number there is, whatever order frames
     * another writer may have left. */
    if ((last.has_last && last.max_seq == UINT64_MAX) || newest == UINT64_MAX) {
        st = tp_error__set(err, TP_E_RANGE, "shard %s: its sequence numbers are used up", sh->dir);
        goto done;
    }
    uint64_t after = last.has_last ? last.max_seq + 1 : 1;
    sh->last_arrival_ms = last.has_last ? last.last_arrival_ms : 0;
    if (sc.clean) {
        sh->next_seq = after > newest ? after : newest;
        seg_path(sh->path, sh->dir, newest);
        sh->fd = open(sh->path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (sh->fd < 0) {
            st = io_err(err, "cannot open segment", sh->path, errno);
            goto done;
        }
        sh->seg_first = newest;
        sh->seg_size = sc.size;
        retention_sweep(fs, sh);
    } else {
        /* A torn tail (or damage) stays where it is: readers skip it once
         * this newer segment exists; the sequence goes on past its name. */
        sh->next_seq = after > newest + 1 ? after : newest + 1;
        st = new_segment(fs, sh, sh->next_seq, err);
    }
done:
    tp__free(fs->alloc, sl.first);
    return st;
}

static void put_fail(tp_kinesis_put_result *r, const char *code, const char *msg)
{
    r->shard_id[0] = '\0';
    r->sequence_number[0] = '\0';
    tp__strlcpy(r->error_code, code, sizeof r->error_code);
    tp__strlcpy(r->error_message, msg, sizeof r->error_message);
}

static tp_status file_put(tp_stream *s, const tp_kinesis_entry *entries, const uint32_t *shard,
                          size_t n, tp_kinesis_put_result *results, uint8_t *ok, tp_error *err)
{
    fstream *fs = s->impl;
    int64_t now_ms = tp_time_now_us() / 1000;
    tp_status st = TP_OK;
    for (uint32_t k = 0; k < fs->n; k++)
        tp_buf_clear(&fs->sh[k].frames);
    /* Frame every record into its shard's buffer: one write per shard. */
    for (size_t i = 0; i < n; i++) {
        if (shard[i] == UINT32_MAX)
            continue;
        fshard *sh = &fs->sh[shard[i]];
        const tp_kinesis_entry *e = &entries[i];
        size_t kl = strlen(e->partition_key);
        size_t body = BODY_FIXED + kl + 1 + e->data.len;
        if ((st = tp_buf_reserve(&sh->frames, FRAME_HDR + body, err)) != TP_OK) {
            /* Out of memory before anything is written: take back the
             * sequence numbers given out and mark every record failed, so
             * that the records can be put again as if this call never was. */
            for (uint32_t k = 0; k < fs->n; k++) {
                if (fs->sh[k].frames.len)
                    fs->sh[k].next_seq = fs->sh[k].batch_first;
                tp_buf_clear(&fs->sh[k].frames);
            }
            for (size_t j = 0; results && j < n; j++)
                if (shard[j] != UINT32_MAX)
                    put_fail(&results[j], "InternalFailure", err ? err->message : "out of memory");
            return st;
        }
        if (sh->frames.len == 0)
            sh->batch_first = sh->next_seq;
        uint64_t seq = sh->next_seq++;
        int64_t arrival = now_ms > sh->last_arrival_ms ? now_ms : sh->last_arrival_ms;
        sh->last_arrival_ms = arrival;
        uint8_t *f = sh->frames.ptr + sh->frames.len;
        uint8_t *b = f + FRAME_HDR;
        wr64(b, seq);
        wr64(b + 8, (uint64_t)arrival);
        b[16] = (uint8_t)kl;
        b[17] = (uint8_t)(kl >> 8);
        memcpy(b + BODY_FIXED, e->partition_key, kl);
        b[BODY_FIXED + kl] = 0;
        if (e->data.len)
            memcpy(b + BODY_FIXED + kl + 1, e->data.ptr, e->data.len);
        wr32(f + 4, (uint32_t)body);
        wr32(f, tp_stream__crc32c(f + 4, 4 + body));
        sh->frames.len += FRAME_HDR + body;
        if (results) {
            tp_kinesis_put_result *r = &results[i];
            tp_stream__shard_id(r->shard_id, shard[i]);
            tp_stream__u64_format(r->sequence_number, seq);
            r->error_code[0] = '\0';
            r->error_message[0] = '\0';
        }
    }
    tp_status first_fail = TP_OK;
    for (uint32_t k = 0; k < fs->n; k++) {
        fshard *sh = &fs->sh[k];
        if (!sh->frames.len)
            continue;
        tp_status ws = TP_OK;
        if (sh->fd < 0 || sh->roll || sh->seg_size >= fs->segment_bytes)
            ws = new_segment(fs, sh, sh->batch_first, err);
        int written = 0;
        if (ws == TP_OK) {
            if (write_all(sh->fd, sh->frames.ptr, sh->frames.len) != TP_OK) {
                /* Some frames may be in the file and even read already:
                 * nothing is taken back. What follows them is a torn tail,
                 * behind which the next write starts a new segment. As
                 * after a Kinesis timeout, some of these records may be
                 * in the stream though reported failed. */
                ws = io_err(err, "cannot append to segment",
                            seg_path(sh->path, sh->dir, sh->seg_first), errno);
                sh->roll = 1;
            } else {
                written = 1;
                sh->seg_size += sh->frames.len;
                if (fs->sync && fdatasync(sh->fd) != 0) {
                    /* In the stream (readers see them), not on the disk. */
                    ws = io_err(err, "records written but not synced to", sh->dir, errno);
                    sh->roll = 1;
                }
            }
        }
        for (size_t i = 0; i < n; i++) {
            if (shard[i] != k)
                continue;
            ok[i] = (uint8_t)written;
            if (!written && results)
                put_fail(&results[i], "InternalFailure", err ? err->message : "write failed");
        }
        if (ws != TP_OK && first_fail == TP_OK)
            first_fail = ws;
    }
    return first_fail;
}

/* ---- shards and waiting --------------------------------------------------- */

static tp_status file_list_shards(tp_stream *s, tp_kinesis_shards *out, tp_error *err)
{
    fstream *fs = s->impl;
    tp_kinesis_shards_dispose(out);
    out->alloc = s->alloc;
    out->pages = 1;
    tp_kinesis_shard *sh = tp__calloc(s->alloc, fs->n, sizeof *sh);
    if (!sh)
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    seglist sl = {0};
    tp_status st = TP_OK;
    for (uint32_t i = 0; i < fs->n && st == TP_OK; i++) {
        tp_stream__shard_id(sh[i].shard_id, i);
        tp_stream__u128_format(sh[i].hash_key_start, s->range_start[i]);
        tp_stream__u128_format(sh[i].hash_key_end,
                               i + 1 < fs->n ? s->range_start[i + 1] - 1 : ~(tp_u128)0);
        st = list_segments(s->alloc, fs->sh[i].dir, &sl, err);
        if (st == TP_OK && sl.n)
            tp_stream__u64_format(sh[i].sequence_start, sl.first[0]);
    }
    tp__free(s->alloc, sl.first);
    if (st != TP_OK) {
        tp__free(s->alloc, sh);
        return st;
    }
    out->shards = sh;
    out->count = fs->n;
    return TP_OK;
}

static tp_status file_wait(tp_stream *s, uint32_t timeout_ms, tp_error *err)
{
    fstream *fs = s->impl;
    if (fs->ino_fd < 0) {
        /* Watch first, return at once: the caller looks again, and anything
         * written from now on wakes the next wait. */
        int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (fd < 0)
            return tp_error__set(err, TP_E_IO, "inotify_init1: %s", strerror(errno));
        for (uint32_t i = 0; i < fs->n; i++) {
            if (inotify_add_watch(fd, fs->sh[i].dir,
                                  IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
                tp_status st = io_err(err, "cannot watch", fs->sh[i].dir, errno);
                close(fd);
                return st;
            }
        }
        fs->ino_fd = fd;
        return TP_OK;
    }
    struct pollfd p = {fs->ino_fd, POLLIN, 0};
    int rc = poll(&p, 1, timeout_ms > INT32_MAX ? INT32_MAX : (int)timeout_ms);
    if (rc < 0)
        return errno == EINTR ? TP_OK : tp_error__set(err, TP_E_IO, "poll: %s", strerror(errno));
    if (rc == 0)
        return tp_error__set(err, TP_E_TIMEOUT, "no new record within %u ms", timeout_ms);
    char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    while (read(fs->ino_fd, ev, sizeof ev) > 0)
        ;
    return TP_OK;
}

/* ---- readers -------------------------------------------------------------- */

typedef struct freader {
    const char *dir;     /* the shard's directory (the stream's memory) */
    char *path;          /* scratch: a segment path */
    seglist segs;        /* segments as last listed */
    int fd;              /* the current segment, -1 when none is open */
    uint64_t cur_first;  /* its name (first sequence number) */
    uint64_t want_first; /* with fd < 0: open the first segment named at least this */
    int header_done;
    uint64_t file_off; /* file offset of buf.ptr[0] */
    size_t pos;        /* the next frame at buf.ptr[pos] */
    tp_buf buf;
    tp_u128 min_seq;        /* records below are skipped (AT/AFTER_SEQUENCE_NUMBER) */
    uint64_t prev_seq;      /* the last frame's sequence number (0: none yet) */
    uint64_t damage_at;     /* a bad frame found with valid frames behind it: its offset, */
    uint64_t damage_next;   /* where they resume, */
    uint64_t damage_size;   /* and the file's size then (0: no damage known) */
    window scan;            /* for searches past a bad frame */
    int64_t min_arrival_ms; /* AT_TIMESTAMP: skipped until one arrived at or after */
    int time_filter;
    tp_stream_record *recs;
    char (*seqs)[24];
    size_t recs_cap;
} freader;

/* The first listed segment named `first` or later. */
static int seg_from(const seglist *sl, uint64_t first, uint64_t *out);

/* The first listed segment after the one named `cur` (none after the
 * largest name there can be). */
static int seg_after(const seglist *sl, uint64_t cur, uint64_t *out)
{
    return cur != UINT64_MAX && seg_from(sl, cur + 1, out);
}

static int seg_from(const seglist *sl, uint64_t first, uint64_t *out)
{
    for (size_t i = 0; i < sl->n; i++) {
        if (sl->first[i] >= first) {
            *out = sl->first[i];
            return 1;
        }
    }
    return 0;
}

static void reader_close_segment(freader *fr)
{
    if (fr->fd >= 0)
        close(fr->fd);
    fr->fd = -1;
    fr->damage_size = 0;
    fr->header_done = 0;
    fr->file_off = 0;
    fr->pos = 0;
    tp_buf_clear(&fr->buf);
}

/* Open the first segment named `first` or later (as listed). One deleted by
 * retention meanwhile moves the reader on to the next one left. With
 * nothing to open, fd stays -1 and the next get looks again. */
static tp_status reader_open_segment(tp_stream_reader *r, freader *fr, uint64_t first,
                                     tp_error *err)
{
    reader_close_segment(fr);
    fr->want_first = first;
    for (int tries = 0; tries < 64; tries++) {
        uint64_t name;
        if (!seg_from(&fr->segs, fr->want_first, &name))
            return TP_OK;
        seg_path(fr->path, fr->dir, name);
        fr->fd = open(fr->path, O_RDONLY | O_CLOEXEC);
        if (fr->fd >= 0) {
            fr->cur_first = name;
            r->stats.segments++;
            return TP_OK;
        }
        if (errno != ENOENT)
            return io_err(err, "cannot open segment", fr->path, errno);
        r->stats.trimmed++;
        if (name == UINT64_MAX)
            return TP_OK; /* nothing can come after it */
        fr->want_first = name + 1;
        tp_status st = list_segments(r->s->alloc, fr->dir, &fr->segs, err);
        if (st != TP_OK)
            return st;
    }
    return tp_error__set(err, TP_E_IO, "segments of %s keep disappearing", fr->dir);
}

/* The arrival time of a segment's first record; 0 when it has none. */
static int segment_first_arrival(freader *fr, uint64_t first, int64_t *arrival)
{
    uint8_t b[SEG_MAGIC_LEN + FRAME_HDR + BODY_FIXED];
    int fd = open(seg_path(fr->path, fr->dir, first), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t got = pread(fd, b, sizeof b, 0);
    close(fd);
    if (got != (ssize_t)sizeof b || memcmp(b, SEG_MAGIC, SEG_MAGIC_LEN) != 0)
        return 0;
    *arrival = (int64_t)rd64(b + SEG_MAGIC_LEN + FRAME_HDR + 8);
    return 1;
}

static void file_reader_free(tp_stream_reader *r)
{
    freader *fr = r->impl;
    if (!fr)
        return;
    const tp_allocator *a = r->s->alloc;
    reader_close_segment(fr);
    tp_buf_dispose(&fr->buf);
    tp_buf_dispose(&fr->scan.b);
    tp__free(a, fr->segs.first);
    tp__free(a, fr->path);
    tp__free(a, fr->recs);
    tp__free(a, fr->seqs);
    tp__free(a, fr);
    r->impl = NULL;
}

static tp_status file_reader_new(tp_stream_reader *r, uint32_t shard, const tp_stream_position *pos,
                                 tp_error *err)
{
    fstream *fs = r->s->impl;
    const tp_allocator *a = r->s->alloc;
    freader *fr = tp__calloc(a, 1, sizeof *fr);
    if (!fr)
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    r->impl = fr;
    fr->fd = -1;
    fr->dir = fs->sh[shard].dir;
    fr->path = tp__malloc(a, strlen(fr->dir) + SEG_NAME_LEN + 2);
    tp_buf_init(&fr->buf, a, 0);
    tp_buf_init(&fr->scan.b, a, 0);
    tp_status st = TP_OK;
    if (!fr->path) {
        st = tp_error__set(err, TP_E_NOMEM, "out of memory");
        goto done;
    }
    if ((st = list_segments(a, fr->dir, &fr->segs, err)) != TP_OK)
        goto done;
    uint64_t start = 0;
    switch (pos->type) {
    case TP_KINESIS_AT_SEQUENCE_NUMBER:
    case TP_KINESIS_AFTER_SEQUENCE_NUMBER: {
        tp_u128 v = 0;
        if (tp_stream__u128_parse(&v, pos->sequence_number) != 0) {
            st = tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "sequence_number",
                              "'%.60s' is past any sequence number of a file: stream",
                              pos->sequence_number);
            goto done;
        }
        /* 128 bits: "after" the largest 64-bit number is past everything. */
        fr->min_seq = v + (pos->type == TP_KINESIS_AFTER_SEQUENCE_NUMBER && v != ~(tp_u128)0);
        /* The segment holding it: the last one named at or below it. */
        for (size_t i = 0; i < fr->segs.n && fr->segs.first[i] <= fr->min_seq; i++)
            start = fr->segs.first[i];
        if (fr->segs.n && fr->min_seq < fr->segs.first[0] && fr->min_seq > 1)
            r->stats.trimmed++; /* what came before the oldest segment is gone */
        break;
    }
    case TP_KINESIS_AT_TIMESTAMP:
        fr->min_arrival_ms = pos->timestamp_ms;
        fr->time_filter = 1;
        for (size_t i = fr->segs.n; i > 0; i--) {
            int64_t t;
            if (segment_first_arrival(fr, fr->segs.first[i - 1], &t) && t <= pos->timestamp_ms) {
                start = fr->segs.first[i - 1];
                break;
            }
        }
        break;
    case TP_KINESIS_LATEST:
        if (fr->segs.n) {
            /* After the last whole frame of the newest segment. */
            segscan sc;
            start = fr->segs.first[fr->segs.n - 1];
            if ((st = scan_segment(a, seg_path(fr->path, fr->dir, start), &sc, err)) != TP_OK ||
                (st = reader_open_segment(r, fr, start, err)) != TP_OK)
                goto done;
            if (fr->fd >= 0 && fr->cur_first == start) {
                /* After the last valid frame; past everything when the
                 * segment has no valid header (no writer appends to it). */
                fr->header_done = 1;
                fr->file_off = sc.valid_end >= SEG_MAGIC_LEN ? sc.valid_end : sc.size;
                fr->prev_seq = sc.has_last ? sc.max_seq : 0;
            }
            /* Pinned: after the last record there now (a segment is named by
             * its first sequence number, so before it is name - 1). */
            uint64_t after = sc.has_last ? sc.max_seq : start - 1;
            if (after > 0) {
                r->pos.type = TP_KINESIS_AFTER_SEQUENCE_NUMBER;
                tp_stream__u64_format(r->pos.sequence_number, after);
            }
            goto done;
        }
        break;
    default:
        break;
    }
    st = reader_open_segment(r, fr, start, err);
done:
    if (st != TP_OK)
        file_reader_free(r);
    return st;
}

/* Read more of the current segment behind what is unread. Sets *got. */
static tp_status reader_fill(freader *fr, size_t need, size_t *got, tp_error *err)
{
    if (fr->pos) {
        memmove(fr->buf.ptr, fr->buf.ptr + fr->pos, fr->buf.len - fr->pos);
        fr->buf.len -= fr->pos;
        fr->file_off += fr->pos;
        fr->pos = 0;
    }
    size_t want = need > READ_CHUNK ? need : READ_CHUNK;
    tp_status st = tp_buf_reserve(&fr->buf, want, err);
    if (st != TP_OK)
        return st;
    size_t room = fr->buf.cap - fr->buf.len - 1; /* tp_buf keeps a NUL */
    st = pread_some(fr->fd, fr->buf.ptr + fr->buf.len, room, fr->file_off + fr->buf.len, got,
                    fr->path, err);
    if (st == TP_OK)
        fr->buf.len += *got;
    return st;
}

static tp_status reader_records_room(tp_stream_reader *r, freader *fr, size_t n, tp_error *err)
{
    if (fr->recs_cap >= n)
        return TP_OK;
    const tp_allocator *a = r->s->alloc;
    tp_stream_record *nr = tp__realloc(a, fr->recs, n * sizeof *nr);
    if (!nr)
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    fr->recs = nr;
    char(*ns)[24] = tp__realloc(a, fr->seqs, n * sizeof *ns);
    if (!ns)
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    fr->seqs = ns;
    fr->recs_cap = n;
    return TP_OK;
}

/* Take the whole frames in the buffer, up to `cap` records. Sets *need (the
 * bytes the next frame needs) or *bad (a frame that cannot be). */
static size_t reader_parse(tp_stream_reader *r, freader *fr, size_t cap, size_t *need, int *bad,
                           uint64_t *backwards)
{
    size_t count = 0;
    *need = SEG_MAGIC_LEN;
    *bad = 0;
    *backwards = 0;
    if (!fr->header_done) {
        if (fr->buf.len - fr->pos < SEG_MAGIC_LEN)
            return 0;
        if (memcmp(fr->buf.ptr + fr->pos, SEG_MAGIC, SEG_MAGIC_LEN) != 0) {
            *bad = 1;
            return 0;
        }
        fr->pos += SEG_MAGIC_LEN;
        fr->header_done = 1;
    }
    while (count < cap) {
        size_t total = FRAME_HDR;
        if (fr->buf.len - fr->pos < FRAME_HDR) { /* also when nothing was read yet */
            *need = total;
            break;
        }
        int fc = frame_check(fr->buf.ptr + fr->pos, fr->buf.len - fr->pos, &total);
        if (fc != FRAME_OK) {
            *need = total;
            *bad = fc == FRAME_BAD;
            break;
        }
        const uint8_t *b = fr->buf.ptr + fr->pos + FRAME_HDR;
        size_t body = total - FRAME_HDR;
        uint64_t seq = rd64(b);
        int64_t arrival = (int64_t)rd64(b + 8);
        size_t kl = (size_t)b[16] | (size_t)b[17] << 8;
        if (fr->prev_seq && seq <= fr->prev_seq) {
            /* Valid frames, out of order: not what a writer makes. */
            *backwards = seq;
            break;
        }
        fr->prev_seq = seq;
        fr->pos += total;
        if ((tp_u128)seq < fr->min_seq)
            continue;
        if (fr->time_filter) {
            if (arrival < fr->min_arrival_ms)
                continue;
            fr->time_filter = 0;
        }
        tp_stream_record *rec = &fr->recs[count];
        rec->partition_key = (const char *)b + BODY_FIXED;
        rec->data = tp_cursor_make(b + BODY_FIXED + kl + 1, body - BODY_FIXED - kl - 1);
        tp_stream__u64_format(fr->seqs[count], seq);
        rec->sequence_number = fr->seqs[count];
        rec->user_sequence_number = fr->seqs[count];
        rec->sub_sequence_number = 0;
        rec->aggregated = 0;
        rec->reserved_ = 0;
        rec->shard_id = r->shard_id;
        rec->arrival_ms = arrival;
        r->stats.records++;
        r->stats.bytes += rec->data.len;
        count++;
    }
    return count;
}

static tp_status file_reader_get(tp_stream_reader *r, uint32_t limit, tp_stream_records *out,
                                 tp_error *err)
{
    freader *fr = r->impl;
    const tp_allocator *a = r->s->alloc;
    size_t cap = limit < 4096 ? limit : 4096, count = 0;
    tp_status st = reader_records_room(r, fr, cap, err);
    int relisted = 0;
    /* Each turn reads more bytes or moves to a newer segment: bounded by the
     * stream's size; the guard only stops a runaway. */
    for (uint64_t guard = 0; st == TP_OK && guard < ((uint64_t)1 << 40); guard++) {
        if (fr->fd < 0) {
            if (relisted)
                break;
            relisted = 1;
            if ((st = list_segments(a, fr->dir, &fr->segs, err)) != TP_OK ||
                (st = reader_open_segment(r, fr, fr->want_first, err)) != TP_OK || fr->fd < 0)
                break;
        }
        size_t need;
        int bad;
        uint64_t backwards;
        if ((count = reader_parse(r, fr, cap, &need, &bad, &backwards)) != 0)
            break;
        if (backwards) {
            uint64_t at = fr->file_off + fr->pos;
            st = tp_error__at(err, TP_E_CHECKSUM, at, NULL,
                              "record frame in %s at byte %llu has sequence number %llu, not "
                              "after %llu: frames out of order (not written by a stream writer)",
                              fr->path, (unsigned long long)at, (unsigned long long)backwards,
                              (unsigned long long)fr->prev_seq);
            break;
        }
        if (!bad) {
            size_t got = 0;
            if ((st = reader_fill(fr, need, &got, err)) != TP_OK)
                break;
            if (got)
                continue;
        }
        if (bad) {
            /* Damage with valid frames behind it is an error, never a skip:
             * only a tail (nothing valid after it) can be a crash's. The
             * search runs again only when the file has grown. */
            uint64_t at = fr->file_off + fr->pos, next_ok = UINT64_MAX;
            struct stat sb;
            uint64_t size = fstat(fr->fd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
            if (fr->damage_size && fr->damage_at == at && fr->damage_size == size) {
                next_ok = fr->damage_next;
            } else {
                fr->scan.fd = fr->fd;
                fr->scan.path = fr->path;
                fr->scan.off = 0;
                fr->scan.eof = 0;
                tp_buf_clear(&fr->scan.b);
                st = next_valid_frame(&fr->scan, at + 1, &next_ok, err);
                fr->damage_at = at;
                fr->damage_next = next_ok;
                fr->damage_size = st == TP_OK ? size : 0;
            }
            if (st == TP_OK && next_ok != UINT64_MAX)
                st = tp_error__at(err, TP_E_CHECKSUM, at, NULL,
                                  "damaged record frame in %s at byte %llu (valid frames follow "
                                  "at byte %llu): the file changed after it was written",
                                  fr->path, (unsigned long long)at, (unsigned long long)next_ok);
            if (st != TP_OK)
                break;
        }
        /* At the end of what the segment holds now, or at a torn tail:
         * final only once a newer segment exists. */
        uint64_t next;
        if (!seg_after(&fr->segs, fr->cur_first, &next)) {
            if (relisted)
                break;
            relisted = 1;
            if ((st = list_segments(a, fr->dir, &fr->segs, err)) != TP_OK)
                break;
            if (!seg_after(&fr->segs, fr->cur_first, &next))
                break; /* caught up: the writer (or the next one) adds more */
            /* A newer segment exists: one more turn reads what was appended
             * to this one before it was started, then finds it final. */
            continue;
        }
        /* This segment is final: what is left of it is a torn tail. */
        struct stat sb;
        uint64_t size = fstat(fr->fd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
        uint64_t at = fr->file_off + fr->pos;
        if (size > at) {
            r->stats.torn_tails++;
            r->stats.torn_bytes += size - at;
        }
        st = reader_open_segment(r, fr, next, err);
    }
    if (st != TP_OK)
        return st;
    out->records = fr->recs;
    out->count = count;
    if (count) {
        r->pos.type = TP_KINESIS_AFTER_SEQUENCE_NUMBER;
        memcpy(r->pos.sequence_number, fr->seqs[count - 1], sizeof fr->seqs[0]);
        __extension__ __int128 lag =
            (__int128)(tp_time_now_us() / 1000) - fr->recs[count - 1].arrival_ms;
        out->millis_behind_latest = lag <= 0 ? 0 : lag > INT64_MAX ? INT64_MAX : (int64_t)lag;
    }
    return TP_OK;
}

/* ---- open and close ------------------------------------------------------- */

static void file_close(tp_stream *s)
{
    fstream *fs = s->impl;
    if (!fs)
        return;
    const tp_allocator *a = fs->alloc;
    for (uint32_t i = 0; fs->sh && i < fs->n; i++) {
        if (fs->sh[i].fd >= 0)
            close(fs->sh[i].fd);
        tp__free(a, fs->sh[i].dir);
        tp__free(a, fs->sh[i].path);
        tp__free(a, fs->sh[i].tmp_path);
        tp_buf_dispose(&fs->sh[i].frames);
    }
    if (fs->ino_fd >= 0)
        close(fs->ino_fd);
    if (fs->lock_fd >= 0)
        close(fs->lock_fd); /* releases the flock */
    tp__free(a, fs->sh);
    tp__free(a, fs->lock_path);
    tp__free(a, fs->dir);
    tp__free(a, fs);
    s->impl = NULL;
}

static tp_status file_find_shard(tp_stream *s, const char *shard_id, uint32_t *index,
                                 tp_error *err)
{
    for (uint32_t i = 0; i < s->shard_count; i++) {
        char id[24];
        tp_stream__shard_id(id, i);
        if (!strcmp(id, shard_id)) {
            *index = i;
            return TP_OK;
        }
    }
    return tp_error__at(err, TP_E_NOT_FOUND, TP_NO_OFFSET, "ShardId",
                        "the stream has no shard '%.60s' (%u shards)", shard_id, s->shard_count);
}

static const tp_stream_ops file_ops = {file_find_shard,  file_list_shards, file_put,
                                       file_wait,        file_reader_new,  file_reader_get,
                                       file_reader_free, file_close};

static tp_status create_layout(fstream *fs, const char *meta, const tp_stream_options *o,
                               tp_error *err)
{
    fs->n = o->shard_count ? o->shard_count : TP_STREAM_DEFAULT_SHARDS;
    fs->segment_bytes = o->segment_bytes ? o->segment_bytes : TP_STREAM_DEFAULT_SEGMENT_BYTES;
    fs->retention_ms = o->retention_ms ? o->retention_ms : TP_STREAM_DEFAULT_RETENTION_MS;
    for (uint32_t i = 0; i < fs->n; i++) {
        char id[24];
        tp_stream__shard_id(id, i);
        char *d = join(fs->alloc, fs->dir, id, 0);
        if (!d)
            return tp_error__set(err, TP_E_NOMEM, "out of memory");
        tp_status st = tp_store__mkdirs(fs->alloc, d, err);
        tp__free(fs->alloc, d);
        if (st != TP_OK)
            return st;
    }
    /* stream.json last: its presence means the stream is whole. */
    tp_status st = meta_write(fs, meta, err);
    if (st == TP_OK)
        st = sync_dir(fs->dir, err);
    return st;
}

tp_status tp_stream__file_open(tp_stream *s, const char *dir, const tp_stream_options *o,
                               tp_error *err)
{
    const tp_allocator *a = s->alloc;
    fstream *fs = tp__calloc(a, 1, sizeof *fs);
    if (!fs)
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    s->impl = fs;
    s->ops = &file_ops;
    fs->alloc = a;
    fs->lock_fd = -1;
    fs->ino_fd = -1;
    fs->sync = (o->flags & TP_STREAM_SYNC) != 0;
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/')
        dl--;
    char *meta = NULL;
    tp_status st = TP_OK;
    fs->dir = tp_store__strndup(a, dir, dl);
    if (!fs->dir || !(fs->lock_path = join(a, fs->dir, "writer.lock", 0)) ||
        !(meta = join(a, fs->dir, "stream.json", 0))) {
        st = tp_error__set(err, TP_E_NOMEM, "out of memory");
        goto done;
    }
    struct stat sb;
    int exists = stat(meta, &sb) == 0;
    if (!exists && !(o->flags & TP_STREAM_CREATE)) {
        st = tp_error__at(err, TP_E_NOT_FOUND, TP_NO_OFFSET, "stream",
                          "no stream at %.100s (no stream.json there)", fs->dir);
        goto done;
    }
    if (exists && (o->flags & TP_STREAM_CREATE) && (o->flags & TP_STREAM_EXCL)) {
        st = tp_error__at(err, TP_E_EXISTS, TP_NO_OFFSET, "stream", "stream %.100s exists already",
                          fs->dir);
        goto done;
    }
    if ((o->flags & (TP_STREAM_CREATE | TP_STREAM_WRITE))) {
        if ((st = tp_store__mkdirs(a, fs->dir, err)) != TP_OK || (st = lock_take(fs, err)) != TP_OK)
            goto done;
        /* Under the lock, nobody else is creating it. */
        if (stat(meta, &sb) != 0) {
            if ((st = create_layout(fs, meta, o, err)) != TP_OK)
                goto done;
        } else if ((o->flags & TP_STREAM_EXCL) && !exists) {
            st = tp_error__at(err, TP_E_EXISTS, TP_NO_OFFSET, "stream",
                              "stream %.100s exists already", fs->dir);
            goto done;
        }
    }
    if ((st = meta_read(fs, meta, err)) != TP_OK)
        goto done;
    if (o->shard_count && o->shard_count != fs->n) {
        st = tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, "shard_count",
                          "stream %.100s has %u shards, not %u (the count is fixed at creation)",
                          fs->dir, fs->n, o->shard_count);
        goto done;
    }
    if (o->segment_bytes)
        fs->segment_bytes = o->segment_bytes;
    if (o->retention_ms)
        fs->retention_ms = o->retention_ms;
    s->shard_count = fs->n;
    memcpy(s->id, fs->id, sizeof s->id);
    fs->sh = tp__calloc(a, fs->n, sizeof *fs->sh);
    if (!fs->sh) {
        st = tp_error__set(err, TP_E_NOMEM, "out of memory");
        goto done;
    }
    for (uint32_t i = 0; i < fs->n; i++) {
        fshard *sh = &fs->sh[i];
        char id[24];
        sh->fd = -1;
        tp_buf_init(&sh->frames, a, 0);
        tp_stream__shard_id(id, i);
        sh->dir = join(a, fs->dir, id, 0);
        sh->path = sh->dir ? tp__malloc(a, strlen(sh->dir) + SEG_NAME_LEN + 2) : NULL;
        sh->tmp_path = sh->dir && (o->flags & TP_STREAM_WRITE)
                           ? tp__malloc(a, strlen(sh->dir) + TMP_NAME_LEN + 2)
                           : NULL;
        if (sh->tmp_path)
            memcpy(sh->tmp_path, sh->dir, strlen(sh->dir));
        if (!sh->path || ((o->flags & TP_STREAM_WRITE) && !sh->tmp_path)) {
            st = tp_error__set(err, TP_E_NOMEM, "out of memory");
            goto done;
        }
        if (stat(sh->dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            st = tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, "shards",
                              "stream %.100s: shard directory %s is missing", fs->dir, id);
            goto done;
        }
    }
    if (o->flags & TP_STREAM_WRITE) {
        for (uint32_t i = 0; i < fs->n && st == TP_OK; i++)
            st = writer_open_shard(fs, &fs->sh[i], err);
    } else if (fs->lock_fd >= 0) {
        close(fs->lock_fd); /* created read-only: the lock was for creation */
        fs->lock_fd = -1;
    }
done:
    tp__free(a, meta);
    return st;
}
