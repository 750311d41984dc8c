/* Allocation-failure injection for floors 1 and 2 and the file: stream.
 *
 * Each scenario is a small, complete use of an API with a counting
 * allocator passed in. It runs once with no failure, which counts its
 * allocations K and records a transcript of what it produced; then, for
 * every N in 1..K, once more in a child process with allocation N refused.
 * In each of those runs:
 *  - the call that met the failure must return a clean error: TP_E_NOMEM
 *    (or what the scenario's API documents), err->code set, a message;
 *  - the same call is then retried (no allocation fails any more) and must
 *    succeed, and the scenario goes on, so the object must have been left
 *    usable; the transcript at the end must equal the fault-free one (no
 *    record lost, duplicated or changed by the failure);
 *  - after the objects are freed no block of the allocator is live (count
 *    and bytes), and nothing is freed that the allocator did not hand out;
 *  - the child must not crash (under ASan a use after free or double free
 *    aborts it; at its exit LeakSanitizer also reports plain-malloc leaks).
 * One line a scenario is printed (ctest -V shows it), then the totals. */
#include "testutil.h"

#include "codec/kpl_int.h"

#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

/* ---- the counting allocator ---------------------------------------------- */

#define BLOCK_MAGIC UINT64_C(0x7470616c6c6f6321) /* "tpalloc!" */
#define BLOCK_DEAD  UINT64_C(0x6465616462656566)
#define HDR         16 /* keeps the user pointer 16-byte aligned */

typedef struct block_hdr {
    size_t size;
    uint64_t magic;
} block_hdr;

typedef struct cnt_alloc {
    tp_allocator a;
    pthread_mutex_t mu; /* the reader's inflate thread may allocate too */
    long calls;         /* malloc and realloc calls (calloc is malloc underneath) */
    long fail_at;       /* the call refused (1-based); 0: none */
    long failed;        /* calls refused */
    long live;          /* blocks handed out and not freed */
    long bad_frees;     /* frees (or reallocs) of pointers this allocator did not give */
    size_t live_bytes;
} cnt_alloc;

static block_hdr *hdr_of(void *p) { return (block_hdr *)(void *)((uint8_t *)p - HDR); }

static int refuse(cnt_alloc *c)
{
    c->calls++;
    if (c->fail_at && c->calls == c->fail_at) {
        c->failed++;
        if (getenv("TP_ALLOC_TRACE")) { /* where each refused allocation was asked for */
            void *frames[16];
            fprintf(stderr, "refused allocation %ld:\n", c->calls);
            backtrace_symbols_fd(frames, backtrace(frames, 16), 2);
        }
        return 1;
    }
    return 0;
}

static void *cnt_malloc(size_t n, void *payload)
{
    cnt_alloc *c = payload;
    pthread_mutex_lock(&c->mu);
    void *ret = NULL;
    if (!refuse(c) && n <= SIZE_MAX - HDR) {
        uint8_t *m = malloc(HDR + n);
        if (m) {
            block_hdr *h = (block_hdr *)(void *)m;
            h->size = n;
            h->magic = BLOCK_MAGIC;
            c->live++;
            c->live_bytes += n;
            ret = m + HDR;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return ret;
}

static void *cnt_realloc(void *p, size_t n, void *payload)
{
    if (!p)
        return cnt_malloc(n, payload);
    cnt_alloc *c = payload;
    pthread_mutex_lock(&c->mu);
    void *ret = NULL;
    block_hdr *h = hdr_of(p);
    if (h->magic != BLOCK_MAGIC) {
        c->bad_frees++;
    } else if (!refuse(c) && n <= SIZE_MAX - HDR) {
        size_t old = h->size;
        uint8_t *m = realloc(h, HDR + n);
        if (m) {
            h = (block_hdr *)(void *)m;
            h->size = n;
            c->live_bytes = c->live_bytes - old + n;
            ret = m + HDR;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return ret;
}

static void cnt_free(void *p, void *payload)
{
    if (!p)
        return;
    cnt_alloc *c = payload;
    pthread_mutex_lock(&c->mu);
    block_hdr *h = hdr_of(p);
    if (h->magic != BLOCK_MAGIC) {
        c->bad_frees++; /* not ours, or freed twice: leave it alone */
    } else {
        h->magic = BLOCK_DEAD;
        c->live--;
        c->live_bytes -= h->size;
        free(h);
    }
    pthread_mutex_unlock(&c->mu);
}

static void cnt_init(cnt_alloc *c, long fail_at)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    c->a.malloc_fn = cnt_malloc;
    c->a.realloc_fn = cnt_realloc;
    c->a.free_fn = cnt_free;
    c->a.payload = c;
    c->fail_at = fail_at;
}

/* ---- running a scenario -------------------------------------------------- */

typedef struct sc_run {
    cnt_alloc *ca;
    const tp_allocator *a;
    tp_buf log;   /* the transcript (plain malloc, not counted) */
    int failures; /* calls that failed (a clean error each) */
    int degraded; /* calls that absorbed the failure as their API documents */
    int bad;      /* something wrong: `why` says what */
    char why[512];
    const char *dir; /* a scratch directory, emptied before each run */
} sc_run;

static void sc_fail(sc_run *r, int line, const char *fmt, ...) TP_PRINTF(3, 4);
static void sc_fail(sc_run *r, int line, const char *fmt, ...)
{
    if (r->bad++)
        return;
    int n = snprintf(r->why, sizeof r->why, "line %d: ", line);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why + n, sizeof r->why - (size_t)n, fmt, ap);
    va_end(ap);
}

static void logf_(sc_run *r, const char *fmt, ...) TP_PRINTF(2, 3);
static void logf_(sc_run *r, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    tp_buf_append_str(&r->log, line, NULL);
    tp_buf_append(&r->log, "\n", 1, NULL);
}
#define LOG(...) logf_(r, __VA_ARGS__)

/* A call returned `st` where it should have succeeded: it must be the
 * injected failure, reported cleanly. 1: retry it. */
static int step_failed(sc_run *r, tp_status st, const tp_error *e, tp_status allowed,
                       const char *what, int line)
{
    r->failures++;
    if (r->ca->failed == 0) {
        sc_fail(r, line, "%s: %d (%s) with no allocation refused", what, st, e->message);
        return 0;
    }
    if (r->failures > 1) {
        sc_fail(r, line, "%s: %d (%s): a second failure from one refused allocation", what, st,
                e->message);
        return 0;
    }
    if (st != TP_E_NOMEM && st != allowed) {
        sc_fail(r, line, "%s: status %d (%s), want TP_E_NOMEM", what, st, e->message);
        return 0;
    }
    if (e->code != st || e->message[0] == '\0') {
        sc_fail(r, line, "%s: status %d but err code %d, message \"%s\"", what, st, e->code,
                e->message);
        return 0;
    }
    return 1;
}

/* Inside TRY_*, ERR is the call's tp_error. */
#define ERR (&e_)

/* Run `call` (which should return `want`); on the injected failure check
 * the error and run it again, which must then return `want`. */
#define TRY_ALLOWING(call, want, allowed)                                                          \
    do {                                                                                           \
        tp_error e_;                                                                               \
        tp_error_clear(&e_);                                                                       \
        tp_status st_ = (call);                                                                    \
        if (st_ != (want)) {                                                                       \
            if (!step_failed(r, st_, &e_, (allowed), #call, __LINE__))                             \
                goto done;                                                                         \
            tp_error_clear(&e_);                                                                   \
            st_ = (call);                                                                          \
            if (st_ != (want)) {                                                                   \
                sc_fail(r, __LINE__, "retry of %s: %d (%s)", #call, st_, e_.message);              \
                goto done;                                                                         \
            }                                                                                      \
        }                                                                                          \
    } while (0)
#define TRY_WANT(call, want) TRY_ALLOWING(call, want, TP_E_NOMEM)
#define TRY(call)            TRY_WANT(call, TP_OK)

#define EXPECT(cond, ...)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            sc_fail(r, __LINE__, __VA_ARGS__);                                                     \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)

static uint32_t fnv(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

static uint32_t buf_hash(const tp_buf *b) { return fnv(b->ptr, b->len); }

/* ---- floor 1 ------------------------------------------------------------- */

static void sc_buf(sc_run *r)
{
    tp_buf b, c;
    tp_buf_init(&b, r->a, 0);
    tp_buf_init(&c, r->a, 64);
    char big[5000];
    memset(big, 'q', sizeof big);
    for (int i = 0; i < 24; i++)
        TRY(tp_buf_append_str(&b, "0123456789abcdef", ERR));
    TRY(tp_buf_reserve(&b, 3000, ERR));
    TRY(tp_buf_appendf(&b, ERR, "<%s-%d-%0*d>", "x", 42, 600, 7));
    LOG("grown %zu %08x", b.len, buf_hash(&b));
    tp_buf_clear(&b);
    TRY(tp_buf_append(&b, big, sizeof big, ERR));
    TRY(tp_buf_append(&b, big, sizeof big, ERR));
    LOG("big %zu %08x", b.len, buf_hash(&b));
    /* a capped buffer: the cap, not the allocator, says no */
    TRY(tp_buf_append(&c, big, 60, ERR));
    TRY_WANT(tp_buf_append(&c, big, 10, ERR), TP_E_TOO_LARGE);
    TRY_WANT(tp_buf_appendf(&c, ERR, "%s", "0123456789"), TP_E_TOO_LARGE);
    LOG("capped %zu", c.len);
    tp_buf_dispose_secure(&c);
    TRY(tp_buf_append_str(&c, "reused after dispose", ERR));
    LOG("reused %s", (const char *)c.ptr);
done:
    tp_buf_dispose(&b);
    tp_buf_dispose(&c);
}

static void sc_hex_base64(sc_run *r)
{
    tp_buf d, e, f;
    tp_buf_init(&d, r->a, 0);
    tp_buf_init(&e, r->a, 0);
    tp_buf_init(&f, r->a, 0);
    uint8_t bytes[256];
    char hex[2 * sizeof bytes + 1];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (uint8_t)(i * 37 + 11);
    tp_hex_encode(hex, bytes, sizeof bytes);
    TRY(tp_hex_decode(&d, tp_cursor_from_str(hex), ERR));
    EXPECT(d.len == sizeof bytes && !memcmp(d.ptr, bytes, d.len), "hex round trip");
    TRY(tp_hex_decode(&d, tp_cursor_from_str("DEADbeef"), ERR));
    LOG("hex %zu %08x", d.len, buf_hash(&d));
    for (size_t n = 0; n <= sizeof bytes; n += 23) {
        tp_buf_clear(&f);
        TRY(tp_base64_encode(&e, tp_cursor_make(bytes, n), ERR));
        size_t enc = (n + 2) / 3 * 4;
        TRY(tp_base64_decode(&f, tp_cursor_make(e.ptr + e.len - enc, enc), ERR));
        EXPECT(f.len == n && (n == 0 || !memcmp(f.ptr, bytes, n)), "base64 round trip of %zu", n);
    }
    LOG("base64 %zu %08x", e.len, buf_hash(&e));
    /* error paths of both decoders, each on a buffer that has to grow */
    tp_buf_dispose(&f);
    TRY_WANT(tp_hex_decode(&f, tp_cursor_from_str("00112233445566778899zz"), ERR), TP_E_PARSE);
    TRY_WANT(tp_hex_decode(&f, tp_cursor_from_str("abc"), ERR), TP_E_PARSE);
    tp_buf_dispose(&f);
    TRY_WANT(tp_base64_decode(&f, tp_cursor_from_str("QUJDREVGR0hJSktMTU5PUFFS*A=="), ERR),
             TP_E_PARSE);
    TRY_WANT(tp_base64_decode(&f, tp_cursor_from_str("QUJD="), ERR), TP_E_PARSE);
done:
    tp_buf_dispose(&d);
    tp_buf_dispose(&e);
    tp_buf_dispose(&f);
}

/* ---- floor 2 ------------------------------------------------------------- */

static void sc_price(sc_run *r)
{
    static const char *const texts[] = {
        "187.23", "150",    "-0.00000001", "1.5e2",       "1e-8", "92233720368.54775807",
        "0.1",    "12.340", "1.000000001", "99999999999", "abc",  "1e400"};
    tp_buf b;
    tp_buf_init(&b, r->a, 0);
    for (size_t i = 0; i < TP_ARRAY_LEN(texts); i++) {
        int64_t v = 0;
        tp_error pe;
        tp_status st = tp_price_parse(&v, tp_cursor_from_str(texts[i]), &pe);
        char out[TP_PRICE_STR_MAX];
        if (st == TP_OK)
            tp_price_format(out, v);
        else
            snprintf(out, sizeof out, "error %d", st);
        int64_t s = 0;
        if (st == TP_OK && tp_price_add(&s, v, v, NULL) == TP_OK)
            tp_price_format(out + strlen(out), 0); /* exercised, not logged */
        TRY(tp_buf_appendf(&b, ERR, "%s -> %s;", texts[i], out));
    }
    int64_t n = 0;
    TRY(tp_int_parse(&n, tp_cursor_from_str("-9223372036854775808"), ERR));
    TRY(tp_buf_appendf(&b, ERR, "int %lld", (long long)n));
    LOG("%s", (const char *)b.ptr);
done:
    tp_buf_dispose(&b);
}

static const char *const record_shapes[] = {
    "{\"symbol\":\"AAPL\",\"price\":187.23,\"volume\":1200,"
    "\"timestamp\":\"2025-10-22T12:58:35.123Z\"}",
    "  {\"volume\":5,\"price\":1e2,\"symbol\":\"MSFT\",\"timestamp\":1761137915123,"
    "\"trade_id\":\"t-1\",\"side\":\"buy\",\"exchange\":\"XNAS\"}\n",
    "{\"symbol\":\"\\u00c4PPL \\u2603 \\ud83d\\ude00\",\"price\":0.00000001,\"volume\":0,"
    "\"timestamp\":1761137915}",
    "{\"symbol\":\"\xc3\x84NDERUNG \xe2\x82\xac\",\"price\":42,\"volume\":7,"
    "\"meta\":{\"a\":[1,2,{\"b\":[null,true,false,\"x\\\"y\"]}],\"c\":{\"d\":{}}},"
    "\"tags\":[[],[[]],{\"e\":1.5e300}]}",
    "{\"symbol\":\"IBM\",\"price\":\"150\",\"volume\":1}",
    "{\"symbol\":\"IBM\",\"price\":150,\"volume\":1,\"timestamp\":\"not a time\"}",
    "[1,2,3]",
    "{\"symbol\":\"X\",\"price\":1,\"volume\":1",
};

static void sc_record(sc_run *r)
{
    tp_buf b, all;
    tp_buf_init(&b, r->a, 0);
    tp_buf_init(&all, r->a, 0);
    for (size_t i = 0; i < TP_ARRAY_LEN(record_shapes); i++) {
        static const uint32_t flag_sets[] = {0, TP_DECODE_LENIENT, TP_DECODE_REFERENCE,
                                             TP_DECODE_MINIMAL};
        for (size_t f = 0; f < TP_ARRAY_LEN(flag_sets); f++) {
            tp_trade t;
            tp_error de;
            tp_status st =
                tp_record_decode(&t, tp_cursor_from_str(record_shapes[i]), flag_sets[f], &de);
            if (st != TP_OK) {
                LOG("shape %zu flags %u: %d at %llu field '%s'", i, flag_sets[f], st,
                    (unsigned long long)de.offset, de.field);
                continue;
            }
            tp_buf_dispose(&b); /* a fresh buffer each time, so that it grows */
            TRY(tp_record_encode(&b, &t, TP_ENCODE_NEWLINE, ERR));
            TRY(tp_buf_append(&all, b.ptr, b.len, ERR));
            tp_trade back;
            EXPECT(tp_record_decode(&back, tp_buf_cursor(&b), flag_sets[f], NULL) == TP_OK &&
                       back.price_e8 == t.price_e8 && !strcmp(back.symbol, t.symbol),
                   "re-decode of shape %zu", i);
        }
    }
    tp_trade bad;
    tp_trade_init(&bad);
    TRY_WANT(tp_record_encode(&b, &bad, 0, ERR), TP_E_INVALID);
    LOG("%s", (const char *)all.ptr);
done:
    tp_buf_dispose(&b);
    tp_buf_dispose(&all);
}

static void sc_kpl(sc_run *r)
{
    tp_kpl_aggregator *ag = NULL;
    tp_kpl_reader *rd = NULL;
    tp_buf blob;
    tp_buf_init(&blob, r->a, 0);
    tp_kpl_aggregator_options o = TP_KPL_AGGREGATOR_OPTIONS_INIT;
    o.alloc = r->a;
    TRY(tp_kpl_aggregator_new(&ag, &o, ERR));
    uint8_t data[400];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7);
    static const char *const keys[] = {"AAPL", "MSFT",          "\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87",
                                       "AAPL", "k\xe2\x82\xac", "MSFT"};
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < 10; i++) {
            const char *ehk = i % 4 == 3 ? "170141183460469231731687303715884105728" : NULL;
            TRY(tp_kpl_aggregator_add(ag, tp_cursor_from_str(keys[i % TP_ARRAY_LEN(keys)]),
                                      tp_cursor_from_str(ehk), tp_cursor_make(data, i * 37 % 400),
                                      ERR));
        }
        TRY_WANT(tp_kpl_aggregator_add(ag, tp_cursor_from_str(""), tp_cursor_from_str(NULL),
                                       tp_cursor_make(data, 1), ERR),
                 TP_E_INVALID);
        tp_kpl_outer outer;
        size_t at = blob.len;
        TRY(tp_kpl_aggregator_finish(ag, &blob, &outer, ERR));
        LOG("aggregate %zu bytes %08x outer %s %s", blob.len - at,
            fnv(blob.ptr + at, blob.len - at), outer.partition_key, outer.explicit_hash_key);
    }
    TRY(tp_kpl_reader_new(&rd, r->a, ERR));
    /* the first aggregate is a prefix of blob: read both */
    size_t first = 0;
    for (int round = 0; round < 2; round++) {
        tp_cursor in = round == 0 ? tp_cursor_make(blob.ptr, 0) : tp_buf_cursor(&blob);
        if (round == 0) {
            /* find the end of the first aggregate: magic of the second one */
            for (size_t i = 4; i + 4 <= blob.len; i++)
                if (tp_kpl_is_aggregated(tp_cursor_make(blob.ptr + i, blob.len - i))) {
                    first = i;
                    break;
                }
            in = tp_cursor_make(blob.ptr, first);
        } else {
            in = tp_cursor_make(blob.ptr + first, blob.len - first);
        }
        size_t count = 0;
        TRY(tp_kpl_reader_begin(rd, in, &count, ERR));
        tp_kpl_record rec;
        while (tp_kpl_reader_next(rd, &rec) == TP_OK)
            LOG("record %llu pk %.*s ehk %.*s data %zu %08x", (unsigned long long)rec.sub_sequence,
                (int)rec.partition_key.len, (const char *)rec.partition_key.ptr,
                (int)rec.explicit_hash_key.len,
                rec.explicit_hash_key.ptr ? (const char *)rec.explicit_hash_key.ptr : "",
                rec.data.len, fnv(rec.data.ptr, rec.data.len));
    }
done:
    tp_kpl_reader_free(rd);
    tp_kpl_aggregator_free(ag);
    tp_buf_dispose(&blob);
}

/* The producer's path: records built behind a headroom, finished in place. */
static void sc_kpl_swap(sc_run *r)
{
    tp_kpl_aggregator *ag = NULL;
    tp_buf buf;
    tp_buf_init(&buf, r->a, 0);
    tp_kpl_aggregator_options o = TP_KPL_AGGREGATOR_OPTIONS_INIT;
    o.alloc = r->a;
    TRY(tp_kpl_aggregator_new(&ag, &o, ERR));
    TRY(tp_kpl__aggregator_set_head(ag, 256, ERR));
    char data[64];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 6 + round * 5; i++) {
            char pk[16];
            snprintf(pk, sizeof pk, "pk%d", i % 4);
            int n = snprintf(data, sizeof data, "{\"r\":%d,\"i\":%d,\"pad\":\"%0*d\"}", round, i,
                             i * 2, 0);
            TRY(tp_kpl_aggregator_add(ag, tp_cursor_from_str(pk), tp_cursor_make(NULL, 0),
                                      tp_cursor_make(data, (size_t)n), ERR));
        }
        size_t off = 0;
        TRY(tp_kpl__aggregator_finish_swap(ag, &buf, &off, ERR));
        LOG("swap %d: blob %zu bytes %08x", round, buf.len - off,
            fnv(buf.ptr + off, buf.len - off));
    }
done:
    tp_kpl_aggregator_free(ag);
    tp_buf_dispose(&buf);
}

/* Firehose-like input: "}{", NDJSON and junk mixed, 40 records. */
static char *reader_text(size_t *len)
{
    tp_buf b;
    tp_buf_init(&b, NULL, 0);
    for (int i = 0; i < 40; i++) {
        if (i % 9 == 4)
            tp_buf_append_str(&b, "{\"symbol\":\"BAD\",\"price\":-1,\"volume\":1}", NULL);
        if (i % 13 == 6)
            tp_buf_append_str(&b, "garbage ]] ", NULL);
        tp_buf_appendf(&b, NULL,
                       "{\"symbol\":\"S%02d\\u00e9\",\"price\":%d.%02d,\"volume\":%d,"
                       "\"timestamp\":\"2025-10-22T12:%02d:00Z\",\"x\":{\"y\":[%d]}}%s",
                       i % 7, 100 + i, i, i * 10, i % 60, i, i % 3 ? "" : "\n");
    }
    *len = b.len;
    return (char *)b.ptr;
}

static uint8_t *gzip2(const char *text, size_t len, size_t *out_len)
{
    /* two members, so the reader goes through a member boundary */
    uLong cap = compressBound(len) + 128;
    uint8_t *out = malloc(2 * cap);
    size_t total = 0, half = len / 2;
    for (int m = 0; m < 2; m++) {
        z_stream zs;
        memset(&zs, 0, sizeof zs);
        ck_assert_int_eq(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
        zs.next_in = (Bytef *)(uintptr_t)(text + (m ? half : 0));
        zs.avail_in = (uInt)(m ? len - half : half);
        zs.next_out = out + total;
        zs.avail_out = (uInt)(2 * cap - total);
        ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
        total += zs.total_out;
        deflateEnd(&zs);
    }
    *out_len = total;
    return out;
}

static void read_all(sc_run *r, tp_source *src, uint32_t flags, int batch)
{
    tp_reader *rd = NULL;
    tp_reader_options o = TP_READER_OPTIONS_INIT;
    o.flags = flags;
    o.max_record_bytes = 4096; /* small window: fewer bytes to allocate */
    o.alloc = r->a;
    TRY(tp_reader_new(&rd, src, &o, ERR));
    for (;;) {
        tp_trade t[4];
        size_t n = 1;
        tp_error e_;
        tp_error_clear(&e_);
        tp_status st = batch ? tp_reader_next_batch(rd, t, 4, &n, ERR) : tp_reader_next(rd, t, ERR);
        for (size_t i = 0; i < n && (st == TP_OK || batch); i++)
            LOG("trade %s %lld %lld", t[i].symbol, (long long)t[i].price_e8,
                (long long)t[i].volume);
        if (st == TP_DONE)
            break;
        if (st == TP_E_RECORD || st == TP_E_TOO_LARGE) {
            LOG("skipped at %llu: %s", (unsigned long long)e_.offset, e_.message);
            continue;
        }
        if (st != TP_OK && !step_failed(r, st, &e_, TP_E_NOMEM, "tp_reader_next", __LINE__))
            goto done;
    }
    tp_reader_stats rs;
    tp_reader_stats_get(rd, &rs);
    LOG("stats bytes %llu records %llu errors %llu gzip %u", (unsigned long long)rs.bytes,
        (unsigned long long)rs.records, (unsigned long long)rs.errors, rs.gzip);
done:
    tp_reader_free(rd);
}

static void reader_scenario(sc_run *r, int gzip, uint32_t flags, int batch)
{
    size_t len = 0, glen = 0;
    char *text = reader_text(&len);
    uint8_t *gz = gzip ? gzip2(text, len, &glen) : NULL;
    tp_source *src = NULL;
    ck_assert_int_eq(
        tp_source_from_memory(&src, gz ? (void *)gz : (void *)text, gz ? glen : len, NULL), TP_OK);
    read_all(r, src, flags, batch);
    tp_source_free(src);
    free(gz);
    free(text);
}

static void sc_reader_plain(sc_run *r) { reader_scenario(r, 0, 0, 0); }
static void sc_reader_plain_batch(sc_run *r) { reader_scenario(r, 0, TP_READ_NO_THREAD, 1); }
static void sc_reader_gzip(sc_run *r) { reader_scenario(r, 1, TP_READ_NO_THREAD, 0); }
static void sc_reader_gzip_thread(sc_run *r) { reader_scenario(r, 1, 0, 0); }
static void sc_reader_gzip_zlib(sc_run *r)
{
    reader_scenario(r, 1, TP_READ_NO_THREAD | TP_READ_ZLIB, 0);
}
static void sc_reader_gzip_zlib_thread(sc_run *r) { reader_scenario(r, 1, TP_READ_ZLIB, 1); }

/* A file read through a descriptor: plain input gets a read-ahead thread. */
static void sc_reader_fd_thread(sc_run *r)
{
    size_t len = 0;
    char *text = reader_text(&len);
    char path[600];
    snprintf(path, sizeof path, "%s/in.json", r->dir);
    ck_assert_int_eq(tpt_write_file(path, text, len), 0);
    free(text);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    tp_source *src = NULL;
    ck_assert_int_eq(tp_source_from_fd(&src, fd, NULL), TP_OK);
    read_all(r, src, 0, 0);
    tp_source_free(src);
    close(fd);
}

static void sc_engine(sc_run *r)
{
    tp_engine *e = NULL, *e2 = NULL;
    tp_buf snap, one, snap2;
    tp_buf_init(&snap, r->a, 0);
    tp_buf_init(&one, r->a, 0);
    tp_buf_init(&snap2, r->a, 0);
    tp_engine_options o = TP_ENGINE_OPTIONS_INIT;
    o.window = 4;
    o.flags = TP_ENGINE_STOP_LOSS;
    o.stop_loss_pct_e8 = TP_PCT_E8(3);
    o.alloc = r->a;
    TRY(tp_engine_new(&e, &o, ERR));
    static const int path[] = {100, 101, 97, 96, 99, 104, 106, 100, 95, 92, 97, 103};
    for (int i = 0; i < 12 * 9; i++) {
        char sym[16], seq[24];
        snprintf(sym, sizeof sym, "SYM%d\xc3\xa9", i % 9);
        snprintf(seq, sizeof seq, "%d", 1000 + i / 2);
        tp_tick t = {tp_cursor_from_str(sym), tp_cursor_from_str(i % 2 ? "shardId-1" : "shardId-0"),
                     tp_cursor_from_str(seq), (int64_t)path[(i / 9 + i % 9) % 12] * TP_PRICE_SCALE,
                     TP_ENGINE_NO_TIME};
        tp_engine_event ev[TP_ENGINE_EVENTS_MAX];
        size_t nev = 0;
        TRY(tp_engine_apply(e, &t, ev, &nev, ERR));
        for (size_t k = 0; k < nev; k++)
            LOG("event %s side %u price %lld pnl %lld", ev[k].symbol, ev[k].side,
                (long long)ev[k].price_e8, (long long)ev[k].pnl_e8);
        if (i % 10 == 0) /* a redelivery changes nothing */
            TRY(tp_engine_apply(e, &t, ev, &nev, ERR));
    }
    for (size_t i = 0; i < tp_engine_symbol_count(e); i++) {
        tp_position p;
        TRY(tp_engine_position_at(e, i, &p, ERR));
        LOG("position %s qty %lld pnl %lld ticks %llu ref %lld", p.symbol, (long long)p.quantity,
            (long long)p.realized_pnl_e8, (unsigned long long)p.ticks, (long long)p.reference_e8);
    }
    TRY(tp_engine_snapshot(e, tp_cursor_make(NULL, 0), &snap, ERR));
    TRY(tp_engine_snapshot(e, tp_cursor_from_str("SYM3\xc3\xa9"), &one, ERR));
    LOG("snapshot %zu %08x one %zu %08x", snap.len, buf_hash(&snap), one.len, buf_hash(&one));
    TRY(tp_engine_new(&e2, &o, ERR));
    TRY(tp_engine_restore(e2, tp_buf_cursor(&snap), ERR));
    TRY(tp_engine_restore(e2, tp_cursor_make(one.ptr, one.len), ERR)); /* replaces SYM3 */
    TRY(tp_engine_snapshot(e2, tp_cursor_make(NULL, 0), &snap2, ERR));
    EXPECT(snap2.len == snap.len && !memcmp(snap2.ptr, snap.ptr, snap.len), "restored state");
    tp_engine_stats es;
    tp_engine_stats_get(e2, &es);
    LOG("restored symbols %llu", (unsigned long long)es.symbols);
done:
    tp_engine_free(e);
    tp_engine_free(e2);
    tp_buf_dispose(&snap);
    tp_buf_dispose(&one);
    tp_buf_dispose(&snap2);
}

static void log_stats(sc_run *r, tp_stats *s, const char *name)
{
    for (size_t i = 0; i < tp_stats_symbols(s); i++) {
        const tp_symbol_stats *p = tp_stats_get(s, i);
        if (!p) {
            /* tp_stats_get cannot report an error: on a failed allocation
             * (sorting) it returns NULL, as for an index out of range */
            r->degraded++;
            if (r->ca->failed == 0 || r->degraded > 1) {
                sc_fail(r, __LINE__, "tp_stats_get(%zu) NULL", i);
                return;
            }
            p = tp_stats_get(s, i);
            if (!p) {
                sc_fail(r, __LINE__, "tp_stats_get(%zu) NULL on retry", i);
                return;
            }
        }
        char avg[TP_DECIMAL_STR_MAX], vol[TP_DECIMAL_STR_MAX];
        tp_stats_format_avg(avg, p, 4, 0);
        tp_stats_format_sum(vol, p->volume_sum_hi, p->volume_sum_lo);
        LOG("%s %s n %llu min %lld max %lld avg %s vol %s", name, p->symbol,
            (unsigned long long)p->count, (long long)p->min_price_e8, (long long)p->max_price_e8,
            avg, vol);
    }
}

static void sc_stats(sc_run *r)
{
    tp_stats *s = NULL, *s2 = NULL;
    TRY(tp_stats_new(&s, r->a, ERR));
    TRY(tp_stats_new(&s2, r->a, ERR));
    tp_trade t[40];
    for (int i = 0; i < 40; i++) {
        tp_trade_init(&t[i]);
        snprintf(t[i].symbol, sizeof t[i].symbol, "%c%c\xe2\x82\xac", 'Z' - i % 13, 'a' + i % 3);
        t[i].symbol_len = (uint32_t)strlen(t[i].symbol);
        t[i].price_e8 = (100 + i * 7 % 23) * TP_PRICE_SCALE / 3;
        t[i].volume = i * 100;
    }
    for (int i = 0; i < 20; i++)
        TRY(tp_stats_add(s, &t[i], ERR));
    log_stats(r, s, "a");
    {
        size_t done_n = 0;
        tp_error e_;
        tp_error_clear(&e_);
        tp_status st = tp_stats_add_batch(s2, t + 20, 20, &done_n, ERR);
        if (st != TP_OK) {
            if (!step_failed(r, st, &e_, TP_E_NOMEM, "tp_stats_add_batch", __LINE__))
                goto done;
            /* the ones before the failing trade stay counted */
            size_t more = 0;
            st = tp_stats_add_batch(s2, t + 20 + done_n, 20 - done_n, &more, ERR);
            EXPECT(st == TP_OK && more == 20 - done_n, "retry of tp_stats_add_batch: %d", st);
        }
    }
    TRY(tp_stats_merge(s, s2, ERR));
    log_stats(r, s, "merged");
    LOG("records %llu symbols %zu", (unsigned long long)tp_stats_records(s), tp_stats_symbols(s));
done:
    tp_stats_free(s);
    tp_stats_free(s2);
}

static void sc_sigv4(sc_run *r)
{
    tp_sigv4_signer *sg = NULL;
    tp_buf url, enc;
    tp_buf_init(&url, r->a, 0);
    tp_buf_init(&enc, r->a, 0);
    tp_sigv4_signer_options so = TP_SIGV4_SIGNER_OPTIONS_INIT;
    so.alloc = r->a;
    TRY(tp_sigv4_signer_new(&sg, &so, ERR));
    tp_credentials cr = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                         "session-token-for-the-test", TP_CREDENTIALS_NO_EXPIRY};
    char longval[700];
    memset(longval, 'v', sizeof longval - 1);
    longval[sizeof longval - 1] = 0;
    tp_sigv4_header h[] = {
        {tp_cursor_from_str("Host"), tp_cursor_from_str("kinesis.us-east-1.amazonaws.com")},
        {tp_cursor_from_str("Content-Type"), tp_cursor_from_str("application/x-amz-json-1.1")},
        {tp_cursor_from_str("X-Amz-Target"), tp_cursor_from_str("Kinesis_20131202.PutRecords")},
        {tp_cursor_from_str("x-custom"), tp_cursor_from_str("  a   b  ")},
        {tp_cursor_from_str("X-Custom"), tp_cursor_from_str(longval)},
    };
    tp_sigv4_request rq = TP_SIGV4_REQUEST_INIT;
    rq.method = tp_cursor_from_str("POST");
    rq.path = tp_cursor_from_str("/a/./b/../c%20d/\xc3\xa9");
    rq.query = tp_cursor_from_str("b=2&a=1&a=%20x&z&%E2%82%AC=+");
    rq.headers = h;
    rq.header_count = TP_ARRAY_LEN(h);
    rq.body = tp_cursor_from_str("{\"StreamName\":\"trades\",\"Records\":[]}");
    tp_sigv4_config c = TP_SIGV4_CONFIG_INIT;
    c.region = "us-east-1";
    c.service = "kinesis";
    c.now_ms = INT64_C(1761137915123);
    for (int i = 0; i < 3; i++) {
        tp_sigv4_output out;
        if (i == 1)
            c.now_ms += INT64_C(86400000); /* another day: another signing key */
        if (i == 2) {
            c.service = "s3";
            c.flags = TP_SIGV4_S3;
        }
        TRY(tp_sigv4_sign(sg, &out, &cr, &rq, &c, ERR));
        LOG("sign %d: %s %s (%zu headers)", i, out.amz_date, out.signature, out.header_count);
        tp_cursor cq = tp_sigv4_signer_canonical_request(sg);
        LOG("canonical %zu %08x", cq.len, fnv(cq.ptr, cq.len));
    }
    rq.path = tp_cursor_from_str("/bucket/key%20with%20spaces");
    rq.header_count = 1;
    c.expires_s = 600;
    TRY(tp_sigv4_presign(sg, &url, &cr, &rq, &c, ERR));
    LOG("presigned %s", (const char *)url.ptr);
    TRY(tp_sigv4_uri_encode(&enc, tp_cursor_from_str("a b/\xc3\xa9~_-.!*'()"),
                            TP_SIGV4_ENCODE_KEEP_SLASH, ERR));
    TRY(tp_sigv4_uri_encode(&enc, tp_cursor_from_str(longval), 0, ERR));
    LOG("encoded %zu %08x", enc.len, buf_hash(&enc));
done:
    tp_sigv4_signer_free(sg);
    tp_buf_dispose(&url);
    tp_buf_dispose(&enc);
}

static void sc_gen(sc_run *r)
{
    tp_gen *g = NULL;
    static const char *const syms[] = {"AAPL", "\303\234BER", "NVDA", "X", "KO"};
    tp_gen_options o = TP_GEN_OPTIONS_INIT;
    o.n_symbols = TP_ARRAY_LEN(syms);
    o.symbols = syms;
    o.seed = 7;
    o.start_us = INT64_C(1761137915000000);
    o.alloc = r->a;
    TRY(tp_gen_new(&g, &o, ERR));
    tp_trade t;
    for (int i = 0; i < 60; i++) {
        TRY(tp_gen_next(g, &t, ERR));
        LOG("%s %lld %lld %s", t.symbol, (long long)t.price_e8, (long long)t.volume, t.timestamp);
    }
done:
    tp_gen_free(g);
}

/* ---- the file: stream (floor 5) ----------------------------------------- */

static void log_reader(sc_run *r, tp_stream *s, const char *shard, const tp_stream_position *pos,
                       tp_stream_position *mid)
{
    tp_stream_reader *rd = NULL;
    TRY(tp_stream_reader_new(&rd, s, shard, pos, ERR));
    size_t seen = 0;
    for (;;) {
        tp_stream_records recs;
        TRY(tp_stream_reader_get(rd, 7, &recs, ERR));
        if (recs.count == 0)
            break;
        for (size_t i = 0; i < recs.count; i++) {
            const tp_stream_record *x = &recs.records[i];
            LOG("%s %s %s %zu %08x", x->shard_id, x->sequence_number, x->partition_key, x->data.len,
                fnv(x->data.ptr, x->data.len));
        }
        seen += recs.count;
        if (mid && seen >= 5 && mid->type < 0)
            tp_stream_reader_position(rd, mid);
    }
    tp_stream_position p;
    tp_stream_reader_position(rd, &p);
    tp_stream_reader_stats rs;
    tp_stream_reader_stats_get(rd, &rs);
    LOG("%s: %zu records, %llu segments, position %d %s", shard, seen,
        (unsigned long long)rs.segments, p.type, p.sequence_number);
done:
    tp_stream_reader_free(rd);
}

static void sc_stream(sc_run *r)
{
    tp_stream *s = NULL;
    tp_kinesis_shards ls;
    memset(&ls, 0, sizeof ls);
    char uri[700];
    snprintf(uri, sizeof uri, "file:%s/s", r->dir);
    tp_stream_options o = TP_STREAM_OPTIONS_INIT;
    o.flags = TP_STREAM_CREATE | TP_STREAM_WRITE;
    o.shard_count = 3;
    o.segment_bytes = 4096; /* the puts below roll segments over (the minimum) */
    o.alloc = r->a;
    TRY(tp_stream_open(&s, uri, &o, ERR));
    char data[20][600];
    tp_kinesis_entry en[20];
    char pks[20][16];
    for (int batch = 0; batch < 3; batch++) {
        for (int i = 0; i < 20; i++) {
            snprintf(pks[i], sizeof pks[i], "k%d\xc3\xa9", (i * 7 + batch) % 11);
            int n = snprintf(data[i], sizeof data[i], "{\"b\":%d,\"i\":%d,\"pad\":\"%0*d\"}", batch,
                             i, (i * 29) % 500, 0);
            en[i].data = tp_cursor_make(data[i], (size_t)n);
            en[i].partition_key = pks[i];
            en[i].explicit_hash_key = i % 6 == 5 ? "340282366920938463463374607431768211455" : NULL;
        }
        en[9].partition_key = ""; /* refused alone */
        tp_kinesis_put_result res[20];
        uint32_t failed = 0;
        TRY(tp_stream_put_records(s, en, 20, res, &failed, ERR));
        LOG("batch %d: %u failed", batch, failed);
        for (int i = 0; i < 20; i++)
            LOG("  %s %s %s", res[i].shard_id, res[i].sequence_number, res[i].error_code);
    }
    for (int i = 0; i < 3; i++) {
        tp_kinesis_put_result res;
        TRY(tp_stream_put_record(s, tp_cursor_from_str("single"), "one-key", NULL, &res, ERR));
        LOG("single %s %s", res.shard_id, res.sequence_number);
    }
    TRY(tp_stream_list_shards(s, &ls, ERR));
    for (size_t i = 0; i < ls.count; i++)
        LOG("shard %s %s..%s from %s", ls.shards[i].shard_id, ls.shards[i].hash_key_start,
            ls.shards[i].hash_key_end, ls.shards[i].sequence_start);
    for (uint32_t k = 0; k < tp_stream_shard_count(s); k++) {
        char id[32];
        snprintf(id, sizeof id, "shardId-%012u", k);
        tp_stream_position mid;
        memset(&mid, 0, sizeof mid);
        mid.type = -1;
        log_reader(r, s, id, NULL, &mid);
        if (mid.type >= 0)
            log_reader(r, s, id, &mid, NULL);
    }
    tp_stream_free(s);
    s = NULL;
    /* again, read only, from a new handle */
    o.flags = 0;
    o.segment_bytes = 0;
    TRY(tp_stream_open(&s, uri, &o, ERR));
    log_reader(r, s, "shardId-000000000001", NULL, NULL);
done:
    tp_kinesis_shards_dispose(&ls);
    tp_stream_free(s);
}

/* ---- the driver ---------------------------------------------------------- */

typedef struct scenario {
    const char *name;
    void (*fn)(sc_run *r);
} scenario;

static const scenario scenarios[] = {
    {"core/buf", sc_buf},
    {"core/hex+base64+errors", sc_hex_base64},
    {"codec/price", sc_price},
    {"codec/record", sc_record},
    {"codec/kpl", sc_kpl},
    {"codec/kpl_finish_swap", sc_kpl_swap},
    {"codec/reader_plain", sc_reader_plain},
    {"codec/reader_plain_batch", sc_reader_plain_batch},
    {"codec/reader_plain_fd_thread", sc_reader_fd_thread},
    {"codec/reader_gzip", sc_reader_gzip},
    {"codec/reader_gzip_thread", sc_reader_gzip_thread},
    {"codec/reader_gzip_zlib", sc_reader_gzip_zlib},
    {"codec/reader_gzip_zlib_thread_batch", sc_reader_gzip_zlib_thread},
    {"codec/engine", sc_engine},
    {"codec/stats", sc_stats},
    {"codec/sigv4", sc_sigv4},
    {"codec/gen", sc_gen},
    {"pipeline/stream_file", sc_stream},
};

/* What a child reports to the parent. */
typedef struct run_result {
    long calls, failed, live, bad_frees;
    size_t live_bytes;
    int failures, degraded, bad, log_mismatch;
    char why[512];
} run_result;

static void run_once(const scenario *sc, const char *dir, long fail_at, run_result *res,
                     tp_buf *log)
{
    cnt_alloc ca;
    cnt_init(&ca, fail_at);
    sc_run r;
    memset(&r, 0, sizeof r);
    r.ca = &ca;
    r.a = &ca.a;
    r.dir = dir;
    tp_buf_init(&r.log, NULL, 0);
    tpt_rmtree(dir);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    sc->fn(&r);
    memset(res, 0, sizeof *res);
    res->calls = ca.calls;
    res->failed = ca.failed;
    res->live = ca.live;
    res->live_bytes = ca.live_bytes;
    res->bad_frees = ca.bad_frees;
    res->failures = r.failures;
    res->degraded = r.degraded;
    res->bad = r.bad;
    memcpy(res->why, r.why, sizeof res->why);
    *log = r.log;
    pthread_mutex_destroy(&ca.mu);
}

typedef struct totals {
    long scenarios, allocations, injected, crashes, leaks, problems;
} totals;

static void drive(const scenario *sc, const char *base, totals *tot)
{
    char dir[700];
    snprintf(dir, sizeof dir, "%s/run", base);
    run_result r0;
    tp_buf log0;
    run_once(sc, dir, 0, &r0, &log0);
    ck_assert_msg(!r0.bad && r0.failures == 0, "%s without failure: %s", sc->name, r0.why);
    ck_assert_msg(r0.live == 0 && r0.live_bytes == 0 && r0.bad_frees == 0,
                  "%s without failure: %ld blocks (%zu bytes) live, %ld bad frees", sc->name,
                  r0.live, r0.live_bytes, r0.bad_frees);
    if (getenv("TP_ALLOC_LOG")) /* the fault-free transcript */
        printf("%s", log0.ptr ? (const char *)log0.ptr : "");
    long k = r0.calls, injected = 0, crashes = 0, leaks = 0, problems = 0, errors = 0;
    long absorbed = 0, unreached = 0, degraded = 0;
    for (long n = 1; n <= k; n++) {
        int fds[2];
        ck_assert_int_eq(pipe(fds), 0);
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            close(fds[0]);
            run_result res;
            tp_buf log;
            run_once(sc, dir, n, &res, &log);
            res.log_mismatch = log.len != log0.len || memcmp(log.ptr, log0.ptr, log.len) != 0;
            if (res.log_mismatch && !res.bad) {
                /* name the first line that differs */
                size_t i = 0;
                while (i < log.len && i < log0.len && log.ptr[i] == log0.ptr[i])
                    i++;
                size_t ls = i;
                while (ls > 0 && log0.ptr[ls - 1] != '\n')
                    ls--;
                const char *a = (const char *)log.ptr + (ls < log.len ? ls : log.len);
                const char *b = (const char *)log0.ptr + ls;
                snprintf(res.why, sizeof res.why, "transcript differs: \"%.*s\", want \"%.*s\"",
                         (int)strcspn(a, "\n"), a, (int)strcspn(b, "\n"), b);
            }
            tp_buf_dispose(&log);
            tp_buf_dispose(&log0);
            ssize_t w = write(fds[1], &res, sizeof res);
            close(fds[1]);
            /* _exit: LeakSanitizer at every child's exit would cost more than the
             * sweep; the blocks of the allocator are counted above, and the
             * fault-free run in the parent is checked by LeakSanitizer at its exit */
            _exit(w == (ssize_t)sizeof res ? 0 : 3);
        }
        close(fds[1]);
        run_result res;
        size_t got = 0;
        while (got < sizeof res) {
            ssize_t m = read(fds[0], (char *)&res + got, sizeof res - got);
            if (m < 0 && errno == EINTR)
                continue;
            if (m <= 0)
                break;
            got += (size_t)m;
        }
        close(fds[0]);
        int ws = 0;
        while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
            ;
        if (got != sizeof res || WIFSIGNALED(ws)) {
            crashes++;
            printf("  %s: failing allocation %ld: crashed (%s %d)\n", sc->name, n,
                   WIFSIGNALED(ws) ? "signal" : "exit",
                   WIFSIGNALED(ws) ? WTERMSIG(ws) : WEXITSTATUS(ws));
            continue;
        }
        injected += res.failed;
        if (res.failed == 0)
            unreached++; /* only where threads make the order vary */
        else if (res.failures == 0 && res.degraded == 0) {
            absorbed++; /* no error and the same result: a fallback */
            if (getenv("TP_ALLOC_TRACE"))
                printf("  %s: failing allocation %ld absorbed\n", sc->name, n);
        }
        int leak = res.live != 0 || res.live_bytes != 0 || WEXITSTATUS(ws) != 0;
        int problem = res.bad || res.bad_frees || res.log_mismatch;
        errors += res.failures;
        degraded += res.degraded;
        if (leak) {
            leaks++;
            printf("  %s: failing allocation %ld: %ld blocks (%zu bytes) left, exit %d\n", sc->name,
                   n, res.live, res.live_bytes, WEXITSTATUS(ws));
        }
        if (problem) {
            problems++;
            if (problems <= 5)
                printf("  %s: failing allocation %ld of %ld: %s%s\n", sc->name, n, k, res.why,
                       res.bad_frees ? " [freed a block not from the allocator]" : "");
        }
    }
    printf("%s: %ld allocations, %ld failures injected, %ld crashes, %ld leaks"
           " (%ld clean errors then retried, %ld degraded as documented, %ld absorbed,"
           " %ld not reached, %ld other problems)\n",
           sc->name, k, injected, crashes, leaks, errors, degraded, absorbed, unreached, problems);
    fflush(stdout);
    tp_buf_dispose(&log0);
    tot->scenarios++;
    tot->allocations += k;
    tot->injected += injected;
    tot->crashes += crashes;
    tot->leaks += leaks;
    tot->problems += problems;
}

START_TEST(test_alloc_failures)
{
    const char *only = getenv("TP_ALLOC_SCENARIO"); /* run one scenario (substring) */
    char *base = tpt_mkdtemp();
    ck_assert_ptr_nonnull(base);
    totals tot;
    memset(&tot, 0, sizeof tot);
    for (size_t i = 0; i < TP_ARRAY_LEN(scenarios); i++)
        if (!only || strstr(scenarios[i].name, only))
            drive(&scenarios[i], base, &tot);
    printf("TOTAL: %ld scenarios, %ld allocations, %ld failures injected, %ld crashes, %ld leaks, "
           "%ld other problems\n",
           tot.scenarios, tot.allocations, tot.injected, tot.crashes, tot.leaks, tot.problems);
    fflush(stdout);
    tpt_rmtree(base);
    free(base);
    ck_assert_int_eq(tot.crashes, 0);
    ck_assert_int_eq(tot.leaks, 0);
    ck_assert_int_eq(tot.problems, 0);
}
END_TEST

static Suite *alloc_suite(void)
{
    Suite *s = suite_create("alloc_failures");
    TCase *tc = tcase_create("sweep");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_alloc_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tpt_run_suite(alloc_suite()); }
