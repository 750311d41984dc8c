/* Floor 2: the streaming Firehose-file reader.
 *
 * Uncompressed bytes pass through one window of max_record + 4 chunks; a
 * record is decoded where it lies (no copy), by the specialised scanner
 * when it can and by jansson otherwise. Memory stays bounded whatever the
 * input size. For gzip input an inflate thread runs ahead of the parser
 * through a small ring of blocks, so decompression and parsing overlap. */
#include "reader_int.h"

#include "json_int.h"
#include "record_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <zlib.h>
#ifdef TP_INFLATE_ISAL
#include <isa-l/igzip_lib.h>
#endif

#define CHUNK ((size_t)256 * 1024)
#define PAD   64
#define NBLK  4

/* ---- gzip producer -----------------------------------------------------------
 * Two inflaters behind one small interface: ISA-L's igzip (the default,
 * about 2.5x zlib's speed) and zlib (TP_ISAL_INFLATE=OFF, or TP_READ_ZLIB).
 * Both check each member's CRC and length; members follow one another, and
 * zero padding after the last one is ignored, as GNU gzip ignores it. */

typedef struct gz {
    tp_source *src;
    const tp_allocator *alloc;
    int use_zlib;
    z_stream zs;
    int zlive;
#ifdef TP_INFLATE_ISAL
    struct inflate_state *is;
    /* Bytes of the member ISA-L took, counted up to 4: past its FLG byte. */
    size_t hdr_in;
#endif
    uint8_t *in;            /* compressed input, CHUNK bytes */
    const uint8_t *next_in; /* [next_in, next_in + avail_in) not yet inflated */
    size_t avail_in;
    int in_eof;
    int member_end; /* the last inflate call ended a member */
    int padding;    /* NUL bytes after a member: only more of them may follow */
    uint64_t member_in, member_out; /* where the current member starts, in and out */
    uint64_t out_total;
    tp_status failed; /* a stream error, returned once the bytes before it are out */
    tp_error fail_err;
} gz;

/* zlib's own memory (its state and window) comes from the reader's allocator. */
static voidpf gz_zalloc(voidpf opaque, uInt items, uInt size)
{
    return tp__malloc(opaque, (size_t)items * size);
}

static void gz_zfree(voidpf opaque, voidpf p)
{
    tp__free(opaque, p);
}

static int gz_zlib_init(gz *g)
{
    g->zs.zalloc = gz_zalloc;
    g->zs.zfree = gz_zfree;
    g->zs.opaque = (voidpf)(uintptr_t)g->alloc;
    return inflateInit2(&g->zs, 15 + 16);
}

static tp_status gz_init(gz *g, tp_error *err)
{
#ifdef TP_INFLATE_ISAL
    if (!g->use_zlib) {
        g->is = tp__malloc(g->alloc, sizeof *g->is);
        if (!g->is)
            return tp_error__set(err, TP_E_NOMEM, "out of memory setting up gzip");
        isal_inflate_init(g->is);
        g->is->crc_flag = ISAL_GZIP;
        return TP_OK;
    }
#endif
    if (gz_zlib_init(g) != Z_OK)
        return tp_error__set(err, TP_E_NOMEM, "out of memory setting up gzip (inflateInit2)");
    g->zlive = 1;
    return TP_OK;
}

static void gz_free(gz *g, const tp_allocator *alloc)
{
    if (g->zlive)
        inflateEnd(&g->zs);
#ifdef TP_INFLATE_ISAL
    tp__free(alloc, g->is);
#endif
    tp__free(alloc, g->in);
    tp__free(alloc, g);
}

static int gz_reset(gz *g)
{
#ifdef TP_INFLATE_ISAL
    g->hdr_in = 0;
    if (!g->use_zlib) {
        isal_inflate_reset(g->is);
        g->is->crc_flag = ISAL_GZIP;
        return 0;
    }
#endif
    return inflateReset(&g->zs) == Z_OK ? 0 : -1;
}

/* One inflate call from g's input into out[cap]: *made bytes out, *end set
 * when a member ended. Returns NULL, or what is wrong (the same words for
 * both inflaters, so both builds report the same). */
static const char *gz_run(gz *g, uint8_t *out, size_t cap, size_t *made, int *end)
{
    *end = 0;
#ifdef TP_INFLATE_ISAL
    if (!g->use_zlib) {
        struct inflate_state *is = g->is;
        /* RFC 1952: a reserved FLG bit set is an error. zlib says so; ISA-L
         * does not look, so it is refused here, and both agree. */
        if (g->hdr_in < 4 && g->hdr_in + g->avail_in >= 4 && (g->next_in[3 - g->hdr_in] & 0xe0)) {
            *made = 0;
            return "bad gzip header";
        }
        is->next_in = (uint8_t *)(uintptr_t)g->next_in;
        is->avail_in = (uint32_t)g->avail_in;
        is->next_out = out;
        is->avail_out = (uint32_t)cap;
        int rc = isal_inflate(is);
        *made = cap - is->avail_out;
        size_t took = g->avail_in - is->avail_in;
        if (g->hdr_in < 4)
            g->hdr_in += took < 4 - g->hdr_in ? took : 4 - g->hdr_in;
        g->next_in = is->next_in;
        g->avail_in = is->avail_in;
        if (rc < 0) {
            /* ISA-L's assembly decoder moves next_out past a length/distance
             * pair before it decodes and checks the distance
             * (igzip_decode_block_stateless.asm, decode_len_dist), so after
             * invalid data the bytes it counts end with up to one match it
             * never wrote: at most 258 bytes, RFC 1951's longest match.
             * Those are not handed out; everything before them was written
             * by symbols decoded whole. */
            if (rc == ISAL_INVALID_SYMBOL || rc == ISAL_INVALID_LOOKBACK ||
                rc == ISAL_INVALID_BLOCK)
                *made = *made > 258 ? *made - 258 : 0;
            switch (rc) {
            case ISAL_INCORRECT_CHECKSUM:
                return "CRC or length check failed";
            case ISAL_INVALID_WRAPPER:
            case ISAL_UNSUPPORTED_METHOD:
                return "bad gzip header";
            default:
                return "invalid deflate data";
            }
        }
        if (is->block_state == ISAL_BLOCK_FINISH)
            *end = 1;
        return NULL;
    }
#endif
    z_stream *zs = &g->zs;
    zs->next_in = (Bytef *)(uintptr_t)g->next_in;
    zs->avail_in = (uInt)g->avail_in;
    zs->next_out = out;
    zs->avail_out = (uInt)cap;
    int zr = inflate(zs, Z_NO_FLUSH);
    *made = cap - zs->avail_out;
    g->next_in = zs->next_in;
    g->avail_in = zs->avail_in;
    if (zr == Z_STREAM_END) {
        *end = 1;
        return NULL;
    }
    if (zr == Z_OK || zr == Z_BUF_ERROR)
        return NULL;
    const char *m = zs->msg ? zs->msg : "";
    if (!strcmp(m, "incorrect data check") || !strcmp(m, "incorrect length check"))
        return "CRC or length check failed";
    if (!strcmp(m, "incorrect header check") || !strcmp(m, "unknown compression method") ||
        !strcmp(m, "unknown header flags set") || !strcmp(m, "header crc mismatch"))
        return "bad gzip header";
    return "invalid deflate data";
}

static void gz_member_start(gz *g, uint64_t out_at)
{
    g->member_in = tp_source__consumed(g->src) - g->avail_in;
    g->member_out = out_at;
}

static tp_status gz_refill(gz *g, tp_error *err);

/* ISA-L stopped in the current member (truncated or corrupt), having
 * handed out bytes up to `upto`. zlib may have decoded a few more bytes of a
 * truncated member, or stopped elsewhere in a corrupt one; so that both
 * builds give the same records, offsets and errors, the member is inflated
 * again from its start with zlib (where the source can go back: files and
 * memory), its first bytes discarded, and zlib goes on from `upto`.
 * Returns 0 when zlib has taken over; -2 when zlib finds the member corrupt
 * before `upto` (*stop_at, *why: where and what zlib says, so the caller can
 * stop there too); -1 when it cannot tell. */
static int gz_redo_with_zlib(gz *g, uint64_t upto, uint64_t *stop_at, const char **why)
{
#ifdef TP_INFLATE_ISAL
    if (g->use_zlib || tp_source__rewind(g->src, g->member_in) != 0)
        return -1;
    if (!g->zlive) {
        if (gz_zlib_init(g) != Z_OK)
            return -1;
        g->zlive = 1;
    } else if (inflateReset(&g->zs) != Z_OK) {
        return -1;
    }
    g->use_zlib = 1;
    g->avail_in = 0;
    g->in_eof = 0;
    uint8_t *scratch = tp__malloc(g->alloc, CHUNK);
    if (!scratch)
        return -1;
    uint64_t skip = upto - g->member_out;
    int rc = 0;
    while (skip > 0) {
        if (g->avail_in == 0 && !g->in_eof && gz_refill(g, NULL) != TP_OK) {
            rc = -1;
            break;
        }
        size_t before = g->avail_in, made = 0;
        int end = 0;
        const char *bad = gz_run(g, scratch, skip < CHUNK ? (size_t)skip : CHUNK, &made, &end);
        skip -= made;
        if (skip > 0 && bad) {
            *stop_at = upto - skip; /* zlib stops sooner, at a fault of its own */
            *why = bad;
            rc = -2;
            break;
        }
        if (skip > 0 && (end || (made == 0 && g->avail_in == before && g->in_eof))) {
            rc = -1;
            break;
        }
        if (skip == 0 && end)
            g->member_end = 1;
    }
    tp__free(g->alloc, scratch);
    return rc;
#else
    (void)g;
    (void)upto;
    (void)stop_at;
    (void)why;
    return -1;
#endif
}

static tp_status gz_refill(gz *g, tp_error *err)
{
    size_t n = 0;
    tp_status st = tp_source__read(g->src, g->in, CHUNK, &n, err);
    if (st != TP_OK)
        return st;
    g->next_in = g->in;
    g->avail_in = n;
    if (n == 0)
        g->in_eof = 1;
    return TP_OK;
}

static tp_status gz_produce_once(gz *g, uint8_t *out, size_t cap, size_t *n, tp_error *err);

/* Produce up to `cap` uncompressed bytes into `out`. TP_OK with *n > 0,
 * TP_DONE at the clean end, TP_E_GZIP / TP_E_IO on a broken stream; the
 * bytes inflated before a failure are handed out first. */
static tp_status gz_produce(gz *g, uint8_t *out, size_t cap, size_t *n, tp_error *err)
{
    if (g->failed != TP_OK) {
        *n = 0;
        if (err)
            *err = g->fail_err;
        return g->failed;
    }
    tp_error e;
    tp_status st = gz_produce_once(g, out, cap, n, &e);
    if (st < 0 && *n > 0) {
        g->failed = st;
        g->fail_err = e;
        return TP_OK;
    }
    if (st < 0 && err)
        *err = e;
    return st;
}

static tp_status gz_produce_once(gz *g, uint8_t *out, size_t cap, size_t *n, tp_error *err)
{
    size_t got = 0;
    tp_status st = TP_OK;
    while (got < cap) {
        if (g->member_end) {
            /* Another member may follow (multi-member gzip), or zero padding
             * to the end; anything else is corrupt. */
            if (g->avail_in == 0 && !g->in_eof) {
                st = gz_refill(g, err);
                if (st != TP_OK)
                    break;
            }
            if (g->avail_in == 0)
                break; /* clean end */
            if (g->padding || g->next_in[0] == 0) {
                g->padding = 1;
                while (g->avail_in > 0 && g->next_in[0] == 0) {
                    g->next_in++;
                    g->avail_in--;
                }
                if (g->avail_in == 0)
                    continue;
            }
            if (g->padding || g->next_in[0] != 0x1f ||
                (g->avail_in >= 2 && g->next_in[1] != 0x8b)) {
                st = tp_error__at(err, TP_E_GZIP, g->out_total + got, NULL,
                                  "corrupt gzip stream: unexpected bytes after a member");
                break;
            }
            if (gz_reset(g) != 0) {
                st = tp_error__set(err, TP_E_GZIP, "inflate reset failed");
                break;
            }
            g->member_end = 0;
            gz_member_start(g, g->out_total + got);
        }
        if (g->avail_in == 0 && !g->in_eof) {
            st = gz_refill(g, err);
            if (st != TP_OK)
                break;
        }
        size_t before = g->avail_in, made = 0;
        int end = 0;
        const char *bad = gz_run(g, out + got, cap - got, &made, &end);
        got += made;
        if ((bad || (made == 0 && g->avail_in == before && g->in_eof)) && !end) {
            uint64_t stop_at = 0;
            const char *why = NULL;
            int redo = gz_redo_with_zlib(g, g->out_total + got, &stop_at, &why);
            if (redo == 0)
                continue;
            if (redo == -2 && stop_at >= g->out_total) {
                /* ISA-L decoded past the point where zlib finds the fault:
                 * hand out only what both agree on. */
                got = (size_t)(stop_at - g->out_total);
                bad = why;
            }
        }
        if (bad) {
            uint64_t at = g->out_total + got;
            st = tp_error__at(err, TP_E_GZIP, at, NULL,
                              "corrupt gzip stream after %llu uncompressed bytes: %s",
                              (unsigned long long)at, bad);
            break;
        }
        if (end) {
            g->member_end = 1;
            continue;
        }
        if (made == 0 && g->avail_in == before) {
            /* No progress: the input ran out inside a member. */
            if (g->in_eof) {
                uint64_t at = g->out_total + got;
                st = tp_error__at(err, TP_E_GZIP, at, NULL,
                                  "truncated gzip stream: it ends after %llu uncompressed bytes",
                                  (unsigned long long)at);
                break;
            }
            if (g->avail_in > 0) {
                st = tp_error__at(err, TP_E_GZIP, g->out_total + got, NULL,
                                  "corrupt gzip stream: inflate makes no progress");
                break;
            }
        }
    }
    *n = got;
    g->out_total += got;
    if (st != TP_OK)
        return st;
    return got ? TP_OK : TP_DONE;
}

/* ---- inflate thread ---------------------------------------------------------- */

typedef struct blk {
    uint8_t *data;
    size_t len;
    tp_status st; /* TP_OK: data; TP_DONE: end; < 0: stream error in err */
    tp_error err;
} blk;

typedef struct ring {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    blk b[NBLK];
    unsigned head, tail; /* filled blocks are [head, tail) modulo NBLK */
    int stop;
    gz *g;           /* inflate into the blocks, or ... */
    tp_source *src;  /* ... read plain bytes into them */
} ring;

/* One block's worth of bytes from the producer side. */
static tp_status ring_produce(ring *rg, blk *b)
{
    if (rg->g)
        return gz_produce(rg->g, b->data, CHUNK, &b->len, &b->err);
    tp_status st = tp_source__read(rg->src, b->data, CHUNK, &b->len, &b->err);
    if (st == TP_OK && b->len == 0)
        st = TP_DONE;
    return st;
}

static void *ring_main(void *arg)
{
    ring *rg = arg;
    for (;;) {
        pthread_mutex_lock(&rg->mu);
        while (!rg->stop && rg->tail - rg->head == NBLK)
            pthread_cond_wait(&rg->cv, &rg->mu);
        int stop = rg->stop;
        blk *b = &rg->b[rg->tail % NBLK];
        pthread_mutex_unlock(&rg->mu);
        if (stop)
            return NULL;
        b->len = 0;
        b->st = ring_produce(rg, b);
        pthread_mutex_lock(&rg->mu);
        rg->tail++;
        pthread_cond_broadcast(&rg->cv);
        pthread_mutex_unlock(&rg->mu);
        if (b->st != TP_OK)
            return NULL;
    }
}

/* ---- read-ahead thread for plain input ------------------------------------------
 * One read is in flight into the window's free tail while the parser works
 * on [pos, end): no extra copy, and the window only moves while it is idle. */

typedef struct readahead {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    tp_source *src;
    uint8_t *dst;
    size_t cap, got;
    tp_status st;
    tp_error err;
    int pending; /* a request is waiting or running */
    int stop;
} readahead;

static void *ra_main(void *arg)
{
    readahead *ra = arg;
    pthread_mutex_lock(&ra->mu);
    for (;;) {
        while (!ra->stop && ra->pending != 1)
            pthread_cond_wait(&ra->cv, &ra->mu);
        if (ra->stop)
            break;
        ra->pending = 2; /* running */
        uint8_t *dst = ra->dst;
        size_t cap = ra->cap;
        pthread_mutex_unlock(&ra->mu);
        size_t got = 0;
        tp_error e;
        tp_status st = tp_source__read(ra->src, dst, cap, &got, &e);
        pthread_mutex_lock(&ra->mu);
        ra->got = got;
        ra->st = st;
        if (st != TP_OK)
            ra->err = e;
        ra->pending = 0;
        pthread_cond_broadcast(&ra->cv);
    }
    pthread_mutex_unlock(&ra->mu);
    return NULL;
}

/* ---- the reader -------------------------------------------------------------- */

struct tp_reader {
    tp_source *src;
    const tp_allocator *alloc;
    uint32_t flags, decode_flags;
    size_t max_record;

    uint8_t *buf; /* window of uncompressed bytes; [pos, end) not yet consumed */
    size_t cap, pos, end;
    uint64_t base; /* stream offset of buf[0] */
    int started, eof;

    tp_status stream_st; /* a broken stream, reported once the data before it is used */
    tp_error stream_err;
    int stream_reported;

    gz *g;
    ring *rg;
    int ring_live;
    readahead *ra;
    int ra_live, ra_issued;
    unsigned ring_take; /* blocks consumed */

    tp_cursor raw;
    tp_reader_stats stats;
};

TP__DEFINE_INIT(tp_reader_options_init, tp_reader_options,
                TP_READER_OPTIONS_VERSION, TP_READER_OPTIONS_INIT)

tp_status tp_reader_new(tp_reader **out, tp_source *src, const tp_reader_options *opts,
                        tp_error *err)
{
    if (!out || !src)
        return tp_error__set(err, TP_E_INVALID, "tp_reader_new: NULL argument");
    tp_reader_options o = TP_READER_OPTIONS_INIT;
    if (opts) {
        if (opts->version != TP_READER_OPTIONS_VERSION)
            return tp_error__set(err, TP_E_INVALID, "tp_reader_options: unknown version %u",
                                 opts->version);
        o = *opts;
    }
    uint64_t maxr = o.max_record_bytes ? o.max_record_bytes : TP_READER_DEFAULT_MAX_RECORD;
    if (maxr > ((uint64_t)1 << 30))
        return tp_error__set(err, TP_E_INVALID, "max_record_bytes over 1 GiB");
    tp_reader *r = tp__calloc(o.alloc, 1, sizeof *r);
    if (!r)
        return tp_error__set(err, TP_E_NOMEM, "out of memory creating a reader");
    r->src = src;
    r->alloc = o.alloc;
    r->flags = o.flags;
    r->decode_flags = o.decode_flags;
    r->max_record = (size_t)maxr;
    r->cap = r->max_record + 4 * CHUNK + PAD;
    r->buf = tp__malloc(o.alloc, r->cap);
    if (!r->buf) {
        tp__free(o.alloc, r);
        return tp_error__set(err, TP_E_NOMEM, "out of memory creating a reader");
    }
    tp_error_clear(&r->stream_err);
    *out = r;
    return TP_OK;
}

static void ring_stop(tp_reader *r)
{
    if (!r->ring_live)
        return;
    pthread_mutex_lock(&r->rg->mu);
    r->rg->stop = 1;
    pthread_cond_broadcast(&r->rg->cv);
    pthread_mutex_unlock(&r->rg->mu);
    pthread_join(r->rg->thread, NULL);
    pthread_mutex_destroy(&r->rg->mu);
    pthread_cond_destroy(&r->rg->cv);
    r->ring_live = 0;
}

static void ra_stop(tp_reader *r)
{
    if (!r->ra_live)
        return;
    pthread_mutex_lock(&r->ra->mu);
    r->ra->stop = 1;
    pthread_cond_broadcast(&r->ra->cv);
    pthread_mutex_unlock(&r->ra->mu);
    pthread_join(r->ra->thread, NULL);
    pthread_mutex_destroy(&r->ra->mu);
    pthread_cond_destroy(&r->ra->cv);
    r->ra_live = 0;
}

static tp_status start_readahead(tp_reader *r, tp_error *err)
{
    readahead *ra = tp__calloc(r->alloc, 1, sizeof *ra);
    if (!ra)
        return tp_error__set(err, TP_E_NOMEM, "out of memory setting up read-ahead");
    r->ra = ra;
    ra->src = r->src;
    if (pthread_mutex_init(&ra->mu, NULL) != 0)
        return TP_OK; /* no thread: read inline */
    if (pthread_cond_init(&ra->cv, NULL) != 0) {
        pthread_mutex_destroy(&ra->mu);
        return TP_OK;
    }
    if (pthread_create(&ra->thread, NULL, ra_main, ra) != 0) {
        pthread_mutex_destroy(&ra->mu);
        pthread_cond_destroy(&ra->cv);
        return TP_OK;
    }
    r->ra_live = 1;
    return TP_OK;
}

void tp_reader_free(tp_reader *r)
{
    if (!r)
        return;
    ra_stop(r);
    tp__free(r->alloc, r->ra);
    ring_stop(r);
    if (r->rg) {
        for (int i = 0; i < NBLK; i++)
            tp__free(r->alloc, r->rg->b[i].data);
        tp__free(r->alloc, r->rg);
    }
    if (r->g)
        gz_free(r->g, r->alloc);
    tp__free(r->alloc, r->buf);
    tp__free(r->alloc, r);
}

static void stream_fail(tp_reader *r, tp_status st, const tp_error *e)
{
    r->eof = 1;
    r->stream_st = st;
    if (e)
        r->stream_err = *e;
    r->stream_err.code = st;
}

/* Make room for a chunk at the end of the window (keeps [pos, end)). */
static void compact(tp_reader *r)
{
    if (r->cap - r->end >= CHUNK + PAD || r->pos == 0)
        return;
    memmove(r->buf, r->buf + r->pos, r->end - r->pos);
    r->base += r->pos;
    r->end -= r->pos;
    r->pos = 0;
}

static tp_status start_ring(tp_reader *r, gz *g, tp_error *err);

/* Start: detect gzip by its magic bytes, set up inflate (and its thread). */
static tp_status start(tp_reader *r, tp_error *err)
{
    r->started = 1;
    size_t n = 0;
    /* Read until we have two bytes (or the end) to look at the magic. */
    while (r->end < 2) {
        tp_error e;
        tp_status st = tp_source__read(r->src, r->buf + r->end, CHUNK, &n, &e);
        if (st != TP_OK) {
            stream_fail(r, st, &e);
            return TP_OK;
        }
        if (n == 0)
            break;
        r->end += n;
    }
    if (r->end < 2 || r->buf[0] != 0x1f || r->buf[1] != 0x8b || (r->flags & TP_READ_NO_GZIP)) {
        if (r->end == 0) {
            r->eof = 1;
            return TP_OK;
        }
        /* Plain input: a thread reads ahead (the kernel's copy overlaps
         * parsing); memory needs no such help. */
        if (tp_source__is_memory(r->src) || (r->flags & TP_READ_NO_THREAD))
            return TP_OK;
        tp_status st = start_readahead(r, err);
        if (st != TP_OK)
            r->started = 0; /* the next call tries again */
        return st;
    }
    /* Nothing is kept from a set-up that fails (out of memory): the bytes
     * read stay in the window, and the next call starts again. */
    r->started = 0;
    gz *g = tp__calloc(r->alloc, 1, sizeof *g);
    if (!g)
        return tp_error__set(err, TP_E_NOMEM, "out of memory setting up gzip");
    g->src = r->src;
    g->alloc = r->alloc;
    g->in = tp__malloc(r->alloc, CHUNK);
    tp_status st = g->in ? TP_OK : tp_error__set(err, TP_E_NOMEM, "out of memory setting up gzip");
    if (st == TP_OK) {
        /* The bytes already read are compressed input. */
        memcpy(g->in, r->buf, r->end);
#ifdef TP_INFLATE_ISAL
        g->use_zlib = (r->flags & TP_READ_ZLIB) != 0;
#else
        g->use_zlib = 1;
#endif
        st = gz_init(g, err);
    }
    if (st == TP_OK) {
        g->next_in = g->in;
        g->avail_in = r->end;
        gz_member_start(g, 0);
        if (!(r->flags & TP_READ_NO_THREAD))
            st = start_ring(r, g, err);
    }
    if (st != TP_OK) {
        gz_free(g, r->alloc);
        return st;
    }
    r->g = g;
    r->stats.gzip = 1;
    r->end = 0;
    r->started = 1;
    return TP_OK;
}

static void ring_drop(tp_reader *r, ring *rg)
{
    for (int i = 0; i < NBLK; i++)
        tp__free(r->alloc, rg->b[i].data);
    tp__free(r->alloc, rg);
}

static tp_status start_ring(tp_reader *r, gz *g, tp_error *err)
{
    ring *rg = tp__calloc(r->alloc, 1, sizeof *rg);
    if (!rg)
        return tp_error__set(err, TP_E_NOMEM, "out of memory setting up gzip");
    rg->g = g;
    rg->src = r->src;
    for (int i = 0; i < NBLK; i++) {
        rg->b[i].data = tp__malloc(r->alloc, CHUNK);
        if (!rg->b[i].data) {
            ring_drop(r, rg);
            return tp_error__set(err, TP_E_NOMEM, "out of memory setting up gzip");
        }
    }
    if (pthread_mutex_init(&rg->mu, NULL) != 0) {
        ring_drop(r, rg);
        return tp_error__set(err, TP_E_NOMEM, "pthread_mutex_init failed");
    }
    if (pthread_cond_init(&rg->cv, NULL) != 0) {
        pthread_mutex_destroy(&rg->mu);
        ring_drop(r, rg);
        return tp_error__set(err, TP_E_NOMEM, "pthread_cond_init failed");
    }
    if (pthread_create(&rg->thread, NULL, ring_main, rg) != 0) {
        /* No thread to be had: inflate inline instead. */
        pthread_mutex_destroy(&rg->mu);
        pthread_cond_destroy(&rg->cv);
        ring_drop(r, rg);
        return TP_OK;
    }
    r->rg = rg;
    r->ring_live = 1;
    return TP_OK;
}

/* Bring more uncompressed bytes into the window. Sets eof (and a pending
 * stream error) at the end. Returns only hard failures (TP_E_NOMEM). */
static tp_status pull(tp_reader *r, tp_error *err)
{
    if (!r->started) {
        tp_status st = start(r, err);
        if (st != TP_OK || r->end > r->pos || r->eof)
            return st;
    }
    if (r->eof)
        return TP_OK;
    if (!r->ra_issued) /* never move the window under a read in flight */
        compact(r);
    size_t room = r->cap - r->end - PAD;
    if (room > CHUNK)
        room = CHUNK;
    size_t n = 0;
    tp_error e;
    tp_status st;
    if (r->ra_live) {
        readahead *ra = r->ra;
        pthread_mutex_lock(&ra->mu);
        if (!r->ra_issued) {
            ra->dst = r->buf + r->end;
            ra->cap = room;
            ra->pending = 1;
            pthread_cond_broadcast(&ra->cv);
        }
        while (ra->pending)
            pthread_cond_wait(&ra->cv, &ra->mu);
        n = ra->got;
        st = ra->st;
        if (st != TP_OK)
            e = ra->err;
        r->ra_issued = 0;
        if (st == TP_OK && n == 0)
            st = TP_DONE;
        r->end += n;
        n = 0;
        if (st == TP_OK && r->cap - r->end >= CHUNK + PAD) {
            /* Read ahead into the free tail while the caller parses. When
             * the tail is short, the next pull compacts first (moving only
             * the few bytes of a record cut by the window's end). */
            ra->dst = r->buf + r->end;
            ra->cap = CHUNK;
            ra->pending = 1;
            r->ra_issued = 1;
            pthread_cond_broadcast(&ra->cv);
        }
        pthread_mutex_unlock(&ra->mu);
    } else if (r->ring_live) {
        ring *rg = r->rg;
        pthread_mutex_lock(&rg->mu);
        while (rg->tail == r->ring_take)
            pthread_cond_wait(&rg->cv, &rg->mu);
        pthread_mutex_unlock(&rg->mu);
        blk *b = &rg->b[r->ring_take % NBLK];
        /* Blocks are CHUNK bytes and the window always has CHUNK of room. */
        memcpy(r->buf + r->end, b->data, b->len);
        n = b->len;
        st = b->st;
        e = b->err;
        pthread_mutex_lock(&rg->mu);
        r->ring_take++;
        rg->head++;
        pthread_cond_broadcast(&rg->cv);
        pthread_mutex_unlock(&rg->mu);
    } else if (r->g) {
        st = gz_produce(r->g, r->buf + r->end, room, &n, &e);
    } else {
        st = tp_source__read(r->src, r->buf + r->end, room, &n, &e);
        if (st == TP_OK && n == 0)
            st = TP_DONE;
    }
    r->end += n;
    if (st == TP_DONE)
        r->eof = 1;
    else if (st < 0)
        stream_fail(r, st, &e);
    return TP_OK;
}

static uint64_t off_of(const tp_reader *r, size_t i)
{
    return r->base + i;
}

/* End of input: a pending stream error, once, then TP_DONE. */
static tp_status finish(tp_reader *r, tp_error *err)
{
    r->stats.bytes = r->base + r->end;
    if (r->stream_st != TP_OK && !r->stream_reported) {
        r->stream_reported = 1;
        if (err)
            *err = r->stream_err;
        return r->stream_st;
    }
    return TP_DONE;
}

/* The span of the object or array at pos: FOUND (*len set), OPEN (the
 * input ended first), BIG (longer than max_record). Pulls as needed. */
enum { SPAN_FOUND, SPAN_OPEN, SPAN_BIG };

static int find_span(tp_reader *r, size_t *len, tp_json_span *st, size_t *scanned,
                     tp_error *err, tp_status *hard)
{
    *hard = TP_OK;
    for (;;) {
        int done = 0;
        size_t have = r->end - r->pos;
        size_t lim = have < r->max_record ? have : r->max_record;
        if (*scanned < lim)
            *scanned += tp_json__span_feed(st, r->buf + r->pos + *scanned, r->buf + r->pos + lim,
                                           &done);
        if (done) {
            *len = *scanned;
            return SPAN_FOUND;
        }
        if (*scanned >= r->max_record)
            return SPAN_BIG;
        if (r->eof)
            return SPAN_OPEN;
        *hard = pull(r, err);
        if (*hard != TP_OK)
            return SPAN_OPEN;
    }
}

/* Is the '{' at pos the start of a parsable object (valid JSON)? The
 * scanner answers; only an object past the window's end is first found
 * whole, and only the rare kinds of broken JSON it leaves to jansson reach
 * jansson. */
static int parsable_at(tp_reader *r, tp_error *err, tp_status *hard)
{
    tp_trade scratch;
    size_t used;
    tp_error e;
    *hard = TP_OK;
    int s = tp_record__scan(&scratch, r->buf + r->pos, r->buf + r->end, r->decode_flags, 0, &used,
                            &e);
    if (s == TP_SCAN_OK || s == TP_SCAN_INVALID || s == TP_SCAN_BADUTF8)
        return 1;
    if (s == TP_SCAN_NOTJSON)
        return 0;
    tp_json_span st = {0, 0, 0, 0};
    size_t scanned = 0, len = 0;
    if (s == TP_SCAN_MORE) {
        int f = find_span(r, &len, &st, &scanned, err, hard);
        if (f == SPAN_BIG)
            return 1; /* reported as oversized when reached */
        if (f != SPAN_FOUND)
            return 0;
        s = tp_record__scan(&scratch, r->buf + r->pos, r->buf + r->pos + len, r->decode_flags, 0,
                            &used, &e);
        if (s == TP_SCAN_OK || s == TP_SCAN_INVALID || s == TP_SCAN_BADUTF8)
            return 1;
        if (s == TP_SCAN_NOTJSON || s == TP_SCAN_MORE)
            return 0;
    } else {
        int f = find_span(r, &len, &st, &scanned, err, hard);
        if (f == SPAN_BIG)
            return 1;
        if (f != SPAN_FOUND)
            return 0;
    }
    return tp_record__decode_ref(&scratch, r->buf + r->pos, len, r->decode_flags, &e) !=
           TP_E_PARSE;
}

/* A run of bytes that is not JSON starts at pos: skip to the next '{' that
 * starts a parsable object (or the end); the whole run is one error. */
static tp_status junk(tp_reader *r, const char *why, tp_error *err)
{
    uint64_t at = off_of(r, r->pos);
    char reason[TP_ERROR_MESSAGE_MAX];
    uint8_t c0 = r->buf[r->pos];
    if (why)
        snprintf(reason, sizeof reason, "%s", why);
    else if (c0 >= 0x20 && c0 < 0x7f)
        snprintf(reason, sizeof reason, "not JSON: unexpected byte '%c'", c0);
    else
        snprintf(reason, sizeof reason, "not JSON: unexpected byte 0x%02x", c0);
    r->pos++;
    for (;;) {
        uint8_t *q = memchr(r->buf + r->pos, '{', r->end - r->pos);
        if (!q) {
            r->pos = r->end;
            if (r->eof)
                break;
            tp_status hard = pull(r, err);
            if (hard != TP_OK)
                return hard;
            continue;
        }
        r->pos = (size_t)(q - r->buf);
        tp_status hard;
        int ok = parsable_at(r, err, &hard);
        if (hard != TP_OK)
            return hard;
        if (ok)
            break;
        r->pos++;
    }
    r->stats.errors++;
    r->stats.record_offset = at;
    return tp_error__at(err, TP_E_RECORD, at, NULL, "%s", reason);
}

/* Skip an oversized value without buffering it. */
static tp_status skip_big(tp_reader *r, tp_json_span *st, tp_error *err)
{
    uint64_t at = off_of(r, r->pos);
    size_t scanned = r->max_record;
    r->pos += scanned;
    for (;;) {
        int done = 0;
        r->pos += tp_json__span_feed(st, r->buf + r->pos, r->buf + r->end, &done);
        if (done || r->eof)
            break;
        tp_status hard = pull(r, err);
        if (hard != TP_OK)
            return hard;
    }
    r->stats.errors++;
    r->stats.record_offset = at;
    return tp_error__at(err, TP_E_TOO_LARGE, at, NULL,
                        "record larger than the limit of %zu bytes: skipped", r->max_record);
}

static tp_status general(tp_reader *r, tp_trade *out, tp_error *err)
{
    uint8_t c = r->buf[r->pos];
    if (c != '{' && c != '[')
        return junk(r, NULL, err);
    tp_json_span st = {0, 0, 0, 0};
    size_t scanned = 0, len = 0;
    tp_status hard;
    int f = find_span(r, &len, &st, &scanned, err, &hard);
    if (hard != TP_OK)
        return hard;
    if (f == SPAN_BIG)
        return skip_big(r, &st, err);
    uint64_t at = off_of(r, r->pos);
    if (f == SPAN_OPEN) {
        if (r->stream_st != TP_OK) {
            /* The stream broke inside this record: it counts as one. */
            r->pos = r->end;
            r->stats.errors++;
            r->stats.record_offset = at;
            return tp_error__at(err, TP_E_RECORD, at, NULL,
                                "record cut off by the end of a broken stream");
        }
        return junk(r, c == '{' ? "not JSON: object not closed before the end of input"
                                : "not JSON: array not closed before the end of input",
                    err);
    }
    tp_error e;
    tp_status s = tp_record__decode_ref(out, r->buf + r->pos, len, r->decode_flags, &e);
    if (s == TP_E_PARSE) {
        char why[TP_ERROR_MESSAGE_MAX];
        snprintf(why, sizeof why, "%.150s", e.message);
        return junk(r, why, err);
    }
    r->stats.record_offset = at;
    if (s == TP_OK) {
        r->raw = tp_cursor_make(r->buf + r->pos, len);
        r->pos += len;
        r->stats.records++;
        return TP_OK;
    }
    r->pos += len;
    r->stats.errors++;
    if (err) {
        *err = e;
        err->offset = at;
    }
    return s;
}

tp_status tp_reader_next(tp_reader *r, tp_trade *out, tp_error *err)
{
    if (!r || !out)
        return tp_error__set(err, TP_E_INVALID, "tp_reader_next: NULL argument");
    r->raw = tp_cursor_make(NULL, 0);
    for (;;) {
        while (r->pos < r->end && tp_json__is_ws(r->buf[r->pos]))
            r->pos++;
        /* (not started: a set-up that failed left the first bytes read
         * in the window, not yet known to be gzip or text) */
        if (r->pos == r->end || !r->started) {
            if (r->eof && r->started)
                return finish(r, err);
            tp_status hard = pull(r, err);
            if (hard != TP_OK)
                return hard;
            continue;
        }
        uint8_t c0 = r->buf[r->pos];
        if (c0 == '{' || c0 == '[') {
            size_t used = 0;
            tp_error e;
            int s = tp_record__scan(out, r->buf + r->pos, r->buf + r->end, r->decode_flags, 0,
                                    &used, &e);
            if (s == TP_SCAN_OK) {
                r->stats.record_offset = off_of(r, r->pos);
                r->raw = tp_cursor_make(r->buf + r->pos, used);
                r->pos += used;
                r->stats.records++;
                return TP_OK;
            }
            if (s == TP_SCAN_INVALID || s == TP_SCAN_BADUTF8) {
                uint64_t at = off_of(r, r->pos);
                r->stats.record_offset = at;
                r->pos += used;
                r->stats.errors++;
                if (err) {
                    *err = e;
                    err->offset = at;
                }
                return TP_E_RECORD;
            }
            if (s == TP_SCAN_NOTJSON) {
                char why[TP_ERROR_MESSAGE_MAX];
                snprintf(why, sizeof why, "%.150s", e.message);
                return junk(r, why, err);
            }
            if (s == TP_SCAN_MORE && !r->eof && r->end - r->pos < r->max_record) {
                tp_status hard = pull(r, err);
                if (hard != TP_OK)
                    return hard;
                continue;
            }
        }
        return general(r, out, err);
    }
}

tp_cursor tp_reader_raw(const tp_reader *r)
{
    return r->raw;
}

void tp_reader_stats_get(const tp_reader *r, tp_reader_stats *out)
{
    *out = r->stats;
    out->bytes = r->base + r->end;
}
