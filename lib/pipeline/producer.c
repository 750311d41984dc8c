/* Floor 5: the Kinesis producer (include/tradepipe/producer.h).
 *
 * One thread owns everything after put: the Kinesis client (and its curl
 * multi handle), the shard map, the per-shard aggregates, queues and token
 * buckets, the requests in flight. put only appends the record to the inbox
 * (chunks of contiguous records, reused) under the lock; the thread takes the
 * whole inbox at
 * once, routes each record and adds it at once to its shard's open KPL
 * aggregate (or makes it a lone Kinesis record), while its bytes are still
 * in cache. A Kinesis record keeps its user records as an array of members
 * that point into its blob, so completing them walks contiguous memory and
 * no user record is allocated or freed on its own.
 *
 * Order per partition key: a shard's records leave in put order; with
 * aggregation a shard has one aggregate in flight at a time, without it a
 * partition key has one record in flight at a time, and what failed goes
 * back to the front of its shard's queue. When the shard map changes, the
 * thread waits for every request in flight to end before re-routing. */
#include "tradepipe/producer.h"
#include "aws/aws_int.h"
#include "core/core_int.h"
#include "codec/json_int.h"
#include "clients/kinesis_int.h"
#include "codec/kpl_int.h"
#include "stream_int.h"
#include "tradepipe/kpl.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h> /* malloc_usable_size */
#endif

#define MAX_BATCH     500 /* PutRecords entries */
#define RETRY_BASE_MS 100
#define RETRY_CAP_MS  2000
#define POLL_MAX_MS   10
#define LAT_FINE      1000                /* 1 ms buckets below 1 s */
#define LAT_COARSE    600                 /* then 100 ms buckets up to 61 s */
#define CHUNK_BYTES   ((size_t)256 << 10) /* inbox chunks (a larger record: its own) */
#define SLAB_BYTES    ((size_t)2 << 20)   /* big buffers come from huge-page slabs */
#define BLOCK_UNIT    ((size_t)4 << 10)
#define BLOCK_HDR     ((size_t)64)
#define BLOCK_MIN     ((size_t)8 << 10)             /* smaller: malloc */
#define BLOCK_UNITS   (SLAB_BYTES / 2 / BLOCK_UNIT) /* larger than half a slab: malloc */
#define CHUNK_CAP     (CHUNK_BYTES - BLOCK_HDR - sizeof(chunk)) /* a chunk is one block */
#define AGG_HEAD      1024 /* room for the magic and key tables before an aggregate's records */
#define WAKE_CHUNKS   2    /* put wakes the thread from its poll past this many chunks */
#define NO_EHK        UINT32_MAX

/* A record in the inbox: this header, then the partition key and its NUL,
 * the explicit hash key and its NUL (when hl > 0), the data; padded to 8. */
typedef struct inrec {
    void *user;
    uint64_t id;      /* put order */
    int64_t put_mono; /* ms */
    uint32_t len;     /* data */
    uint32_t mem;     /* its share of max_buffered_bytes (see tp_producer_put) */
    uint16_t kl;      /* partition key bytes (<= 1,024) */
    uint8_t hl;       /* explicit hash key bytes (<= 39), 0: none */
} inrec;

/* Inbox records go into chunks that the thread hands back to put once
 * routed: no allocation, no page fault and no copy on growth in the steady
 * state. */
typedef struct chunk {
    struct chunk *next;
    size_t len, cap;
    uint8_t *data; /* 8-aligned: right after the header */
} chunk;

/* A user record on its way to a shard: from the inbox, or taken out of a
 * Kinesis record again when the shard map changed. */
typedef struct src {
    void *user;
    uint64_t id;
    int64_t put_mono;
    uint32_t mem;
    const char *pk, *ehk; /* NUL-terminated; ehk NULL: none */
    size_t kl, hl;
    tp_cursor data;
    tp_u128 route; /* what routes it: its hash, or its key's pin */
    uint32_t n_att, cap_att;
    tp_producer_attempt *att; /* moved along with it */
} src;

/* A user record inside a Kinesis record: views into the record's blob and keys. */
typedef struct member {
    void *user;
    uint64_t id;
    int64_t put_mono;
    uint32_t data_off, data_len; /* in the blob (while open: in the aggregator's records) */
    uint32_t pk_off, ehk_off;    /* in keys, NUL-terminated; ehk NO_EHK: none */
    uint32_t mem;
    uint32_t n_att, cap_att;
    tp_producer_attempt *att;
} member;

struct shard;

/* A partition key pinned to a hash: an aggregate built for a shard that was
 * split before it arrived landed, as a whole, on the child of its first
 * record; its other keys' records are now there, and the keys' later records
 * must follow them there (or to that child's descendants), not to their own
 * child, or a reader of the two children would see them out of order. */
typedef struct pin {
    struct pin *next;
    tp_u128 route;
    char key[];
} pin;

/* A Kinesis record: an aggregate of user records, or one sent alone. */
typedef struct krec {
    struct krec *next;
    struct shard *sh;
    member *m; /* in put order */
    uint32_t count, cap;
    int aggregated;
    int ok, expired; /* how it completed (settle) */
    tp_buf blob;     /* the Data sent: blob.ptr[blob_off .. blob.len) */
    size_t blob_off;
    tp_buf keys;   /* the members' keys */
    tp_u128 route; /* its first member's: the aggregate's ExplicitHashKey */
    char ehk[TP_KINESIS_HASH_MAX];
    uint64_t size; /* blob + partition key, as Kinesis counts */
    int64_t not_before;
    uint32_t sends;
} krec;

typedef struct shard {
    char id[TP_KINESIS_SHARD_ID_MAX];
    tp_u128 lo, hi;
    krec *retry_head, *retry_tail; /* to send again first, in order */
    krec *q_head, *q_tail;         /* built, not yet sent */
    uint64_t q_bytes;
    uint32_t q_count;
    tp_kpl_aggregator *agg; /* the open aggregate's bytes */
    krec *open;             /* its members (aggregation on) */
    uint32_t in_flight;     /* Kinesis records */
    krec *flying;           /* those records (linked by next while in flight) */
    double tok_rec, tok_bytes;
    int64_t tok_at;
} shard;

typedef struct request {
    struct request *next;
    tp_producer *p;
    krec *k[MAX_BATCH];
    size_t n;
    tp_buf body;
    tp_http_response resp;
} request;

/* The big buffers (inbox chunks, aggregates, members, request bodies) come
 * from 2 MiB slabs madvise'd for transparent huge pages, in blocks of whole
 * 4 KiB units kept on free lists per size once freed (last freed, first
 * reused: still warm) and reused for the life of the producer. Put runs up
 * to max_buffered_bytes ahead of the service, so a producer touches that much
 * memory: in 4 KiB pages that is one page fault each (~15 us on a VM, more
 * than the work on the bytes), in huge pages one per 2 MiB. Used only when
 * no allocator is given (the caller's allocator is used as it is). */
typedef struct slabs {
    pthread_mutex_t mu; /* put takes chunks, the thread everything else */
    uint8_t **base;     /* every slab, sorted */
    size_t n, cap;
    uint8_t *bump, *end; /* the newest slab's untouched tail */
    void *free_list[BLOCK_UNITS + 1];
    tp_allocator a; /* the producer's allocator for big buffers */
} slabs;

/* In front of a block: its size in units; the next free block while free. */
typedef struct block {
    size_t units;
    void *next;
} block;

struct tp_producer {
    tp_producer_options o;
    char *stream;
    char *dead_letter_path;
    const tp_allocator *alloc;
    slabs *slabs;            /* NULL when an allocator is given */
    const tp_allocator *big; /* for big buffers: &slabs->a, or alloc */
    tp_kinesis *k;
    uint64_t max_record_bytes;
    int64_t wall_minus_mono; /* ms: put_ms = put_mono + this */
    pthread_t thread;
    int thread_started;

    /* shared with put / flush / close, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv_work;   /* the thread waits for work */
    pthread_cond_t cv_done;   /* put waits for room, flush for completions */
    chunk *in_head, *in_tail; /* inrec entries, in put order */
    chunk *free_chunks;       /* routed ones, for put to fill again */
    size_t n_free_chunks;
    uint32_t in_chunks; /* chunks in the inbox */
    int io_polling;     /* the thread waits in tp_http_poll */
    int woken;          /* put woke it from there since */
    uint64_t next_id;
    int closing, stop, flush_all;
    int io_waiting;   /* the thread sleeps on cv_work: put wakes it */
    int done_waiters; /* put / flush wait on cv_done */
    tp_producer_stats st;
    uint64_t lat_fine[LAT_FINE], lat_coarse[LAT_COARSE + 1];
    double lat_max;

    /* the thread's own */
    chunk *routed;            /* chunks routed, to hand back to put with the next take */
    krec *settle;             /* completed, not yet accounted (settle) */
    struct request *req_pool; /* finished requests kept with their buffers */
    struct krec *krec_pool;
    uint32_t n_req_pool, n_krec_pool;
    size_t krec_pool_bytes;
    shard *sh;
    uint32_t nsh;
    uint32_t rr;
    int refresh_pending;
    request *flying;
    uint32_t n_flying;
    struct pin **pins; /* partition key -> hash its records follow (see pin_key) */
    size_t pin_cap, pin_count;
    EVP_MD *md5_alg;
    EVP_MD_CTX *md5;
    struct {
        char key[48];
        tp_u128 hash;
    } md5_cache[256]; /* partition keys repeat (symbols): their MD5 is kept */
    tp_rng rng;
    FILE *dlq;
    tp_kinesis_put_result *results;
};

static int64_t mono_ms(void) { return tp_time_mono_ns() / 1000000; }

/* ---- big buffers ------------------------------------------------------------- */

/* The slab holding `ptr`, or NULL (malloc's). Under s->mu. */
static int in_slab(const slabs *s, const void *ptr)
{
    const uint8_t *q = ptr;
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->base[mid] <= q)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && (size_t)(q - s->base[lo - 1]) < SLAB_BYTES;
}

static uint8_t *slab_map(void)
{
    /* twice the size, to cut a 2 MiB-aligned slab out of it */
    uint8_t *m =
        mmap(NULL, 2 * SLAB_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    uint8_t *b = (uint8_t *)(((uintptr_t)m + SLAB_BYTES - 1) & ~(uintptr_t)(SLAB_BYTES - 1));
    if (b > m)
        munmap(m, (size_t)(b - m));
    if (b + SLAB_BYTES < m + 2 * SLAB_BYTES)
        munmap(b + SLAB_BYTES, (size_t)(m + 2 * SLAB_BYTES - (b + SLAB_BYTES)));
#ifdef MADV_HUGEPAGE
    (void)madvise(b, SLAB_BYTES, MADV_HUGEPAGE); /* advice: 4 KiB pages still work */
#endif
    return b;
}

static void *slab_malloc(size_t size, void *payload)
{
    slabs *s = payload;
    if (size < BLOCK_MIN || size > BLOCK_UNITS * BLOCK_UNIT - BLOCK_HDR)
        return malloc(size ? size : 1);
    size_t units = (size + BLOCK_HDR + BLOCK_UNIT - 1) / BLOCK_UNIT;
    uint8_t *b = NULL;
    pthread_mutex_lock(&s->mu);
    if (s->free_list[units]) {
        b = s->free_list[units];
        s->free_list[units] = ((block *)(void *)b)->next;
    } else {
        if ((size_t)(s->end - s->bump) < units * BLOCK_UNIT) {
            uint8_t *slab = NULL;
            if (s->n == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 16;
                uint8_t **nb = realloc(s->base, cap * sizeof *nb);
                if (nb) {
                    s->base = nb;
                    s->cap = cap;
                }
            }
            if (s->n < s->cap)
                slab = slab_map();
            if (!slab) {
                pthread_mutex_unlock(&s->mu);
                return NULL;
            }
            size_t i = s->n++;
            for (; i > 0 && s->base[i - 1] > slab; i--)
                s->base[i] = s->base[i - 1];
            s->base[i] = slab;
            s->bump = slab; /* the old slab's tail is left unused */
            s->end = slab + SLAB_BYTES;
        }
        b = s->bump;
        s->bump += units * BLOCK_UNIT;
        ((block *)(void *)b)->units = units;
    }
    pthread_mutex_unlock(&s->mu);
    return b + BLOCK_HDR;
}

static void slab_free(void *ptr, void *payload)
{
    slabs *s = payload;
    if (!ptr)
        return;
    pthread_mutex_lock(&s->mu);
    if (in_slab(s, ptr)) {
        block *b = (block *)(void *)((uint8_t *)ptr - BLOCK_HDR);
        b->next = s->free_list[b->units];
        s->free_list[b->units] = b;
        pthread_mutex_unlock(&s->mu);
        return;
    }
    pthread_mutex_unlock(&s->mu);
    free(ptr);
}

static void *slab_realloc(void *ptr, size_t size, void *payload)
{
    slabs *s = payload;
    if (!ptr)
        return slab_malloc(size, payload);
    pthread_mutex_lock(&s->mu);
    int mine = in_slab(s, ptr);
    pthread_mutex_unlock(&s->mu);
    size_t have;
    if (mine) {
        have = ((block *)(void *)((uint8_t *)ptr - BLOCK_HDR))->units * BLOCK_UNIT - BLOCK_HDR;
        if (size <= have)
            return ptr;
    } else {
#ifdef __GLIBC__
        /* a buffer that grew up from malloc moves to a block once big */
        have = malloc_usable_size(ptr);
        if (size < BLOCK_MIN || size > BLOCK_UNITS * BLOCK_UNIT - BLOCK_HDR)
            return realloc(ptr, size);
#else
        return realloc(ptr, size);
#endif
    }
    void *n = slab_malloc(size, payload);
    if (!n)
        return NULL;
    memcpy(n, ptr, have < size ? have : size);
    slab_free(ptr, payload);
    return n;
}

static slabs *slabs_new(void)
{
    slabs *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    pthread_mutex_init(&s->mu, NULL);
    s->a.malloc_fn = slab_malloc;
    s->a.realloc_fn = slab_realloc;
    s->a.free_fn = slab_free;
    s->a.payload = s;
    return s;
}

/* Every block must have been freed (or be abandoned with the slabs). */
static void slabs_free(slabs *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        munmap(s->base[i], SLAB_BYTES);
    free(s->base);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ---- options --------------------------------------------------------------- */

TP__DEFINE_INIT(tp_producer_options_init, tp_producer_options,
                TP_PRODUCER_OPTIONS_VERSION, TP_PRODUCER_OPTIONS_INIT)

/* ---- completion -------------------------------------------------------------- */

/* What on_done and the dead-letter file see of a record. */
typedef struct rview {
    void *user;
    const char *pk, *ehk;
    tp_cursor data;
    int64_t put_ms;
    uint32_t n_att;
    const tp_producer_attempt *att;
} rview;

static void attempt_add(tp_producer_attempt **att, uint32_t *n_att, uint32_t *cap_att,
                        const char *code, const char *msg)
{
    if (*n_att == *cap_att) {
        uint32_t cap = *cap_att ? *cap_att * 2 : 4;
        tp_producer_attempt *a = realloc(*att, cap * sizeof *a);
        if (!a)
            return; /* the history is shortened, the record still completes */
        *att = a;
        *cap_att = cap;
    }
    tp_producer_attempt *a = &(*att)[(*n_att)++];
    a->end_ms = tp_time_now_us() / 1000;
    tp__strlcpy(a->error_code, code ? code : "", sizeof a->error_code);
    tp__strlcpy(a->error_message, msg ? msg : "", sizeof a->error_message);
}

static void member_attempt(member *m, const char *code, const char *msg)
{
    attempt_add(&m->att, &m->n_att, &m->cap_att, code, msg);
}

static void dead_letter(tp_producer *p, const rview *u, const char *why)
{
    if (!p->dlq)
        return;
    tp_buf b;
    tp_buf_init(&b, NULL, 0);
    tp_status st = tp_buf_append_str(&b, "{\"partition_key\":", NULL);
    if (st == TP_OK)
        st = tp_json__append_string(&b, u->pk, strlen(u->pk), NULL);
    if (st == TP_OK)
        st = tp_buf_append_str(&b, ",\"explicit_hash_key\":", NULL);
    if (st == TP_OK)
        st = u->ehk ? tp_json__append_string(&b, u->ehk, strlen(u->ehk), NULL)
                    : tp_buf_append_str(&b, "null", NULL);
    if (st == TP_OK)
        st = tp_buf_appendf(&b, NULL, ",\"put_ms\":%lld,\"data\":\"", (long long)u->put_ms);
    if (st == TP_OK)
        st = tp_base64_encode(&b, u->data, NULL);
    if (st == TP_OK)
        st = tp_buf_append_str(&b, "\",\"error\":", NULL);
    if (st == TP_OK)
        st = tp_json__append_string(&b, why, strlen(why), NULL);
    if (st == TP_OK)
        st = tp_buf_append_str(&b, ",\"attempts\":[", NULL);
    for (uint32_t i = 0; st == TP_OK && i < u->n_att; i++) {
        st = tp_buf_appendf(&b, NULL, "%s{\"end_ms\":%lld,\"error_code\":", i ? "," : "",
                            (long long)u->att[i].end_ms);
        if (st == TP_OK)
            st = tp_json__append_string(&b, u->att[i].error_code, strlen(u->att[i].error_code),
                                        NULL);
        if (st == TP_OK)
            st = tp_buf_append_str(&b, ",\"error_message\":", NULL);
        if (st == TP_OK)
            st = tp_json__append_string(&b, u->att[i].error_message,
                                        strlen(u->att[i].error_message), NULL);
        if (st == TP_OK)
            st = tp_buf_append_str(&b, "}", NULL);
    }
    if (st == TP_OK)
        st = tp_buf_append_str(&b, "]}\n", NULL);
    if (st == TP_OK) {
        fwrite(b.ptr, 1, b.len, p->dlq);
        fflush(p->dlq);
    } else {
        fprintf(stderr, "tradepipe producer: cannot write a dead letter (out of memory)\n");
    }
    tp_buf_dispose(&b);
}

static void latency_add(tp_producer *p, double ms)
{
    if (ms < 0)
        ms = 0;
    if (ms < LAT_FINE)
        p->lat_fine[(size_t)ms]++;
    else {
        size_t i = (size_t)((ms - LAT_FINE) / 100);
        p->lat_coarse[i < LAT_COARSE ? i : LAT_COARSE]++;
    }
    if (ms > p->lat_max)
        p->lat_max = ms;
}

/* Tell one record's end: the dead-letter file when it failed, on_done. The
 * attempts `u` carries are its failed ones; a success adds the last. */
static void tell(tp_producer *p, rview *u, tp_status status, const char *shard_id, const char *seq,
                 int64_t sub, const char *why)
{
    if (status != TP_OK)
        dead_letter(p, u, why ? why : tp_strerror(status));
    if (!p->o.on_done)
        return;
    tp_producer_attempt *all = NULL, one;
    const tp_producer_attempt *att = u->att;
    uint32_t n = u->n_att;
    if (status == TP_OK) {
        /* the attempt that wrote it is not kept ahead of time (a record
         * usually has no other): it is added here, for the result only */
        if (n == 0) {
            att = &one;
        } else {
            all = malloc((n + 1) * sizeof *all);
            if (all) {
                memcpy(all, u->att, n * sizeof *all);
                att = all;
            }
        }
        if (n == 0 || all) {
            tp_producer_attempt *a = (tp_producer_attempt *)&att[n];
            a->end_ms = tp_time_now_us() / 1000;
            a->error_code[0] = a->error_message[0] = 0;
            n++;
        }
    }
    tp_producer_result r;
    r.user = u->user;
    r.status = status;
    r.data = u->data;
    r.partition_key = u->pk;
    r.explicit_hash_key = u->ehk;
    r.shard_id = shard_id ? shard_id : "";
    r.sequence_number = seq ? seq : "";
    r.sub_sequence = sub;
    r.put_ms = u->put_ms;
    r.n_attempts = n;
    r.attempts = att;
    p->o.on_done(&r, p->o.on_done_payload);
    free(all);
}

static rview member_view(const tp_producer *p, const krec *k, const member *m)
{
    rview v;
    v.user = m->user;
    v.pk = (const char *)k->keys.ptr + m->pk_off;
    v.ehk = m->ehk_off == NO_EHK ? NULL : (const char *)k->keys.ptr + m->ehk_off;
    v.data = tp_cursor_make(k->blob.ptr + m->data_off, m->data_len);
    v.put_ms = m->put_mono + p->wall_minus_mono;
    v.n_att = m->n_att;
    v.att = m->att;
    return v;
}

/* Complete every member of `k` (then k is accounted and freed by settle). */
static void complete_krec(tp_producer *p, krec *k, tp_status status, const char *shard_id,
                          const char *seq, const char *why, int expired)
{
    for (uint32_t i = 0; i < k->count; i++) {
        member *m = &k->m[i];
        if (status != TP_OK || p->o.on_done) {
            rview v = member_view(p, k, m);
            tell(p, &v, status, shard_id, seq, k->aggregated ? (int64_t)i : -1, why);
        }
        free(m->att);
        m->att = NULL;
    }
    k->ok = status == TP_OK;
    k->expired = expired;
    k->next = p->settle;
    p->settle = k;
}

/* A record that never made it into a Kinesis record (out of memory, an
 * unhashable key): it completes alone, accounted at once. */
static void fail_src(tp_producer *p, src *x, tp_status status, const char *why)
{
    rview v = {x->user, x->pk, x->ehk, x->data, x->put_mono + p->wall_minus_mono, x->n_att, x->att};
    tell(p, &v, status, NULL, NULL, -1, why);
    free(x->att);
    x->att = NULL;
    int64_t now = mono_ms();
    pthread_mutex_lock(&p->mu);
    p->st.user_records_pending--;
    p->st.user_records_failed++;
    p->st.buffered_bytes -= x->mem;
    latency_add(p, (double)(now - x->put_mono));
    if (p->done_waiters)
        pthread_cond_broadcast(&p->cv_done);
    pthread_mutex_unlock(&p->mu);
}

#define POOL_MAX 64 /* requests kept for reuse, with their buffers */

static size_t krec_bytes(const krec *k)
{
    return sizeof *k + k->blob.cap + k->keys.cap + k->cap * sizeof(member);
}

/* Kinesis records are kept for reuse with their buffers, as many as the
 * buffered-bytes cap could fill: when put outruns the service, hundreds of
 * aggregates wait, and allocating each anew faults its pages in anew. */
static void krec_free(tp_producer *p, krec *k)
{
    size_t b = krec_bytes(k);
    if (k->blob.cap <= ((size_t)1 << 20) && p->krec_pool_bytes + b <= p->o.max_buffered_bytes) {
        k->next = p->krec_pool;
        p->krec_pool = k;
        p->n_krec_pool++;
        p->krec_pool_bytes += b;
        return;
    }
    tp_buf_dispose(&k->blob);
    tp_buf_dispose(&k->keys);
    tp__free(p->big, k->m);
    tp__free(p->alloc, k);
}

static krec *krec_new(tp_producer *p)
{
    krec *k = p->krec_pool;
    if (k) {
        p->krec_pool = k->next;
        p->n_krec_pool--;
        p->krec_pool_bytes -= krec_bytes(k);
        tp_buf blob = k->blob, keys = k->keys;
        member *m = k->m;
        uint32_t cap = k->cap;
        memset(k, 0, sizeof *k);
        k->blob = blob;
        k->keys = keys;
        k->m = m;
        k->cap = cap;
        tp_buf_clear(&k->blob);
        tp_buf_clear(&k->keys);
        return k;
    }
    k = tp__calloc(p->alloc, 1, sizeof *k);
    if (k) {
        tp_buf_init(&k->blob, p->big, 0);
        tp_buf_init(&k->keys, p->big, 0);
    }
    return k;
}

/* Account for the Kinesis records completed since the last call, under one
 * lock, and free them. */
static void settle(tp_producer *p)
{
    if (!p->settle)
        return;
    int64_t now = mono_ms();
    pthread_mutex_lock(&p->mu);
    for (krec *k = p->settle; k; k = k->next) {
        uint64_t mem = 0;
        for (uint32_t i = 0; i < k->count; i++) {
            mem += k->m[i].mem;
            latency_add(p, (double)(now - k->m[i].put_mono));
        }
        p->st.user_records_pending -= k->count;
        p->st.buffered_bytes -= mem;
        if (k->ok) {
            p->st.user_records_put += k->count;
            p->st.kinesis_records_put++;
            p->st.bytes_put += k->size;
        } else {
            p->st.user_records_failed += k->count;
        }
        if (k->expired)
            p->st.user_records_expired += k->count;
    }
    if (p->done_waiters)
        pthread_cond_broadcast(&p->cv_done);
    pthread_mutex_unlock(&p->mu);
    for (krec *k = p->settle, *kn; k; k = kn) {
        kn = k->next;
        krec_free(p, k);
    }
    p->settle = NULL;
}

/* ---- the shard map ----------------------------------------------------------- */

static int shard_cmp(const void *a, const void *b)
{
    const shard *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static shard *shard_for(tp_producer *p, tp_u128 h)
{
    uint32_t lo = 0, hi = p->nsh;
    while (hi - lo > 1) {
        uint32_t mid = (lo + hi) / 2;
        if (p->sh[mid].lo <= h)
            lo = mid;
        else
            hi = mid;
    }
    return &p->sh[lo];
}

static size_t key_hash(const char *k)
{
    size_t h = 1469598103934665603u;
    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 1099511628211u;
    return h;
}

static tp_status hash_of(tp_producer *p, const src *x, tp_u128 *out)
{
    if (x->ehk)
        return tp_stream__u128_parse(out, x->ehk) == 0 ? TP_OK : TP_E_INVALID;
    size_t kl = x->kl;
    size_t slot = key_hash(x->pk) & 255;
    if (kl < sizeof p->md5_cache[0].key && p->md5_cache[slot].key[0] &&
        !memcmp(p->md5_cache[slot].key, x->pk, kl + 1)) {
        *out = p->md5_cache[slot].hash;
        return TP_OK;
    }
    unsigned char d[16];
    unsigned int dl = 0;
    if (EVP_DigestInit_ex(p->md5, p->md5_alg, NULL) != 1 ||
        EVP_DigestUpdate(p->md5, x->pk, kl) != 1 || EVP_DigestFinal_ex(p->md5, d, &dl) != 1 ||
        dl != 16)
        return TP_E_UNSUPPORTED;
    tp_u128 h = 0;
    for (int i = 0; i < 16; i++)
        h = (h << 8) | d[i];
    *out = h;
    if (kl < sizeof p->md5_cache[0].key) {
        memcpy(p->md5_cache[slot].key, x->pk, kl + 1);
        p->md5_cache[slot].hash = h;
    }
    return TP_OK;
}

static const pin *pin_find(const tp_producer *p, const char *key)
{
    if (!p->pin_count)
        return NULL;
    for (const pin *x = p->pins[key_hash(key) & (p->pin_cap - 1)]; x; x = x->next)
        if (!strcmp(x->key, key))
            return x;
    return NULL;
}

static void pin_key(tp_producer *p, const char *key, tp_u128 route)
{
    pin *x = (pin *)pin_find(p, key);
    if (x) {
        x->route = route;
        return;
    }
    if (p->pin_count + 1 > p->pin_cap / 2) {
        size_t cap = p->pin_cap ? p->pin_cap * 2 : 64;
        pin **t = tp__calloc(p->alloc, cap, sizeof *t);
        if (!t)
            return; /* without the pin the key may be read out of order after a split */
        for (size_t i = 0; i < p->pin_cap; i++)
            for (pin *y = p->pins[i], *yn; y; y = yn) {
                yn = y->next;
                size_t h = key_hash(y->key) & (cap - 1);
                y->next = t[h];
                t[h] = y;
            }
        tp__free(p->alloc, p->pins);
        p->pins = t;
        p->pin_cap = cap;
    }
    size_t kl = strlen(key) + 1;
    x = tp__malloc(p->alloc, sizeof *x + kl);
    if (!x)
        return;
    memcpy(x->key, key, kl);
    x->route = route;
    size_t h = key_hash(key) & (p->pin_cap - 1);
    x->next = p->pins[h];
    p->pins[h] = x;
    p->pin_count++;
}

/* Set x->route: its key's pin, else its hash. */
static tp_status route(tp_producer *p, src *x)
{
    const pin *pn = pin_find(p, x->pk);
    if (pn) {
        x->route = pn->route;
        return TP_OK;
    }
    return hash_of(p, x, &x->route);
}

/* ---- building Kinesis records ------------------------------------------------------ */

static void enqueue(shard *s, krec *k)
{
    k->next = NULL;
    if (s->q_tail)
        s->q_tail->next = k;
    else
        s->q_head = k;
    s->q_tail = k;
    s->q_bytes += k->size;
    s->q_count++;
}

/* Room for one more member of `x` in k (so that member_push cannot fail). */
static tp_status member_reserve(tp_producer *p, krec *k, const src *x)
{
    if (k->count == k->cap) {
        uint32_t cap = k->cap ? k->cap * 2 : 1;
        if (k->cap <= 1 && p->o.aggregate)
            cap = 256;
        member *m = tp__realloc(p->big, k->m, cap * sizeof *m);
        if (!m)
            return TP_E_NOMEM;
        k->m = m;
        k->cap = cap;
    }
    return tp_buf_reserve(&k->keys, x->kl + 1 + (x->ehk ? x->hl + 1 : 0), NULL);
}

static void member_push(krec *k, src *x, size_t data_off)
{
    member *m = &k->m[k->count];
    m->user = x->user;
    m->id = x->id;
    m->put_mono = x->put_mono;
    m->data_off = (uint32_t)data_off;
    m->data_len = (uint32_t)x->data.len;
    m->mem = x->mem;
    m->n_att = x->n_att;
    m->cap_att = x->cap_att;
    m->att = x->att;
    x->att = NULL;
    uint8_t *o = k->keys.ptr + k->keys.len;
    m->pk_off = (uint32_t)k->keys.len;
    memcpy(o, x->pk, x->kl + 1);
    k->keys.len += x->kl + 1;
    m->ehk_off = NO_EHK;
    if (x->ehk) {
        m->ehk_off = (uint32_t)k->keys.len;
        memcpy(k->keys.ptr + k->keys.len, x->ehk, x->hl + 1);
        k->keys.len += x->hl + 1;
    }
    if (k->count == 0)
        k->route = x->route;
    k->count++;
}

/* Finish the shard's open aggregate and queue it: its members' data now
 * points into the blob. A single record goes alone, as the KPL sends it. */
static void close_open(shard *s)
{
    krec *k = s->open;
    if (!k || !k->count)
        return;
    size_t at = 0;
    tp_cursor recs = tp_kpl__aggregator_records(s->agg, &at);
    tp_buf_clear(&k->blob);
    k->blob_off = 0;
    if (k->count == 1) {
        /* the blob has room for the aggregate: this cannot fail */
        (void)tp_buf_append(&k->blob, recs.ptr + k->m[0].data_off, k->m[0].data_len, NULL);
        tp_kpl_aggregator_reset(s->agg);
        k->m[0].data_off = 0;
        k->aggregated = 0;
        k->size = k->m[0].data_len + strlen((const char *)k->keys.ptr);
    } else {
        /* the aggregate is finished where its records were written, and
         * k's empty buffer takes the next one's */
        size_t off = 0;
        if (tp_kpl__aggregator_finish_swap(s->agg, &k->blob, &off, NULL) != TP_OK)
            return; /* MD5 gone (checked at start); the records wait */
        k->blob_off = off;
        for (uint32_t i = 0; i < k->count; i++)
            k->m[i].data_off += (uint32_t)(off + at);
        k->aggregated = 1;
        /* it lands where its first record is routed (a pin included) */
        tp_stream__u128_format(k->ehk, k->route);
        k->size = k->blob.len - off + strlen((const char *)k->keys.ptr);
    }
    s->open = NULL;
    enqueue(s, k);
}

static tp_status open_aggregate(tp_producer *p, shard *s)
{
    if (!s->agg) {
        tp_kpl_aggregator_options ao = TP_KPL_AGGREGATOR_OPTIONS_INIT;
        ao.max_bytes = p->o.aggregation_max_bytes;
        ao.alloc = p->big;
        if (tp_kpl_aggregator_new(&s->agg, &ao, NULL) != TP_OK)
            return TP_E_NOMEM;
        if (tp_kpl__aggregator_set_head(s->agg, AGG_HEAD, NULL) != TP_OK) {
            tp_kpl_aggregator_free(s->agg);
            s->agg = NULL;
            return TP_E_NOMEM;
        }
    }
    krec *k = krec_new(p);
    if (!k)
        return TP_E_NOMEM;
    /* the finished aggregate (or a lone record) fits, and as the records
     * buffer of the next one it has the headroom: close_open cannot fail */
    if (tp_buf_reserve(&k->blob, (size_t)p->o.aggregation_max_bytes + AGG_HEAD, NULL) != TP_OK) {
        krec_free(p, k);
        return TP_E_NOMEM;
    }
    k->sh = s;
    s->open = k;
    return TP_OK;
}

/* One Kinesis record for `x` alone, queued behind what the shard holds. */
static void place_alone(tp_producer *p, shard *s, src *x)
{
    krec *k = krec_new(p);
    if (!k || member_reserve(p, k, x) != TP_OK ||
        tp_buf_append(&k->blob, x->data.ptr, x->data.len, NULL) != TP_OK) {
        if (k)
            krec_free(p, k);
        fail_src(p, x, TP_E_NOMEM, "out of memory");
        return;
    }
    k->sh = s;
    member_push(k, x, 0);
    k->size = (uint64_t)x->data.len + x->kl;
    enqueue(s, k);
}

/* Route `x` (x->route set) to its shard: into the shard's open aggregate, or
 * alone. */
static void place(tp_producer *p, src *x)
{
    shard *s = shard_for(p, x->route);
    if (!p->o.aggregate) {
        place_alone(p, s, x);
        return;
    }
    tp_cursor pk = tp_cursor_make(x->pk, x->kl);
    tp_cursor ehk = x->ehk ? tp_cursor_make(x->ehk, x->hl) : tp_cursor_make(NULL, 0);
    tp_status st = TP_E_NOMEM;
    for (int round = 0; round < 2; round++) {
        if (!s->open && open_aggregate(p, s) != TP_OK)
            break;
        if (member_reserve(p, s->open, x) != TP_OK)
            break;
        st = tp_kpl_aggregator_add(s->agg, pk, ehk, x->data, NULL);
        if (st != TP_E_LIMIT)
            break;
        close_open(s); /* full: the record starts the next one */
    }
    if (st == TP_OK) {
        size_t at = 0;
        tp_cursor recs = tp_kpl__aggregator_records(s->agg, &at);
        member_push(s->open, x, recs.len - x->data.len);
        return;
    }
    if (st == TP_E_NOMEM) {
        fail_src(p, x, TP_E_NOMEM, "out of memory");
        return;
    }
    /* too big to aggregate: alone, after what the shard already holds */
    close_open(s);
    place_alone(p, s, x);
}

/* The bytes of the inbox entry at `h`. */
static size_t inrec_size(const inrec *h)
{
    size_t n = sizeof *h + h->kl + 1u + (h->hl ? h->hl + 1u : 0u) + h->len;
    return (n + 7) & ~(size_t)7;
}

/* The record at `h` as a src (route unset). */
static void src_of(src *x, const inrec *h)
{
    x->user = h->user;
    x->id = h->id;
    x->put_mono = h->put_mono;
    x->mem = h->mem;
    x->pk = (const char *)(h + 1);
    x->kl = h->kl;
    x->hl = h->hl;
    x->ehk = h->hl ? x->pk + x->kl + 1 : NULL;
    x->data = tp_cursor_make(x->pk + x->kl + 1 + (h->hl ? h->hl + 1u : 0u), h->len);
    x->n_att = x->cap_att = 0;
    x->att = NULL;
}

/* Route and place every record of the chunks taken from put. */
static void drain(tp_producer *p, chunk *c)
{
    for (; c; c = c->next)
        for (size_t off = 0; off < c->len;) {
            const inrec *h = (const inrec *)(const void *)(c->data + off);
            src x;
            src_of(&x, h);
            off += inrec_size(h);
            if (route(p, &x) != TP_OK) {
                fail_src(p, &x, TP_E_INVALID, "cannot hash the partition key");
                continue;
            }
            place(p, &x);
        }
}

/* Read the open shards' hash-key ranges. */
static tp_status load_map(tp_producer *p, shard **out, uint32_t *n, tp_error *err)
{
    tp_kinesis_shards ls = {0};
    tp_status st = tp_kinesis_list_shards(p->k, p->stream, 0, &ls, err);
    if (st != TP_OK)
        return st;
    uint32_t open = 0;
    for (size_t i = 0; i < ls.count; i++)
        open += ls.shards[i].sequence_end[0] == 0;
    shard *sh = open ? tp__calloc(p->alloc, open, sizeof *sh) : NULL;
    if (!sh) {
        tp_kinesis_shards_dispose(&ls);
        return open ? tp_error__set(err, TP_E_NOMEM, "producer: out of memory for the shard map")
                    : tp_error__set(err, TP_E_STATE, "producer: stream %s has no open shard",
                                    p->stream);
    }
    uint32_t j = 0;
    for (size_t i = 0; i < ls.count && st == TP_OK; i++) {
        const tp_kinesis_shard *s = &ls.shards[i];
        if (s->sequence_end[0])
            continue;
        tp__strlcpy(sh[j].id, s->shard_id, sizeof sh[j].id);
        if (tp_stream__u128_parse(&sh[j].lo, s->hash_key_start) != 0 ||
            tp_stream__u128_parse(&sh[j].hi, s->hash_key_end) != 0)
            st = tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, "HashKeyRange",
                              "producer: shard %s has a bad hash key range", s->shard_id);
        sh[j].tok_rec = p->o.shard_records_per_s;
        sh[j].tok_bytes = p->o.shard_bytes_per_s;
        sh[j].tok_at = mono_ms();
        j++;
    }
    tp_kinesis_shards_dispose(&ls);
    if (st != TP_OK) {
        tp__free(p->alloc, sh);
        return st;
    }
    qsort(sh, open, sizeof *sh, shard_cmp);
    *out = sh;
    *n = open;
    return TP_OK;
}

static int src_id_cmp(const void *a, const void *b)
{
    const src *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* The map changed (resharding): nothing is in flight. Read it again and
 * route every waiting record anew, in put order. */
static void refresh_map(tp_producer *p)
{
    tp_error err;
    shard *nsh = NULL;
    uint32_t nn = 0;
    if (load_map(p, &nsh, &nn, &err) != TP_OK) {
        /* keep the old map; try again on the next surprise */
        fprintf(stderr, "tradepipe producer: shard map refresh failed: %s\n", err.message);
        p->refresh_pending = 0;
        return;
    }
    size_t total = 0;
    for (uint32_t i = 0; i < p->nsh; i++) {
        shard *s = &p->sh[i];
        close_open(s);
        if (s->open && s->open->count) {
            tp__free(p->alloc, nsh); /* MD5 gone: keep the old map */
            p->refresh_pending = 0;
            return;
        }
        for (krec *k = s->retry_head; k; k = k->next)
            total += k->count;
        for (krec *k = s->q_head; k; k = k->next)
            total += k->count;
    }
    src *all = total ? malloc(total * sizeof *all) : NULL;
    if (total && !all) {
        tp__free(p->alloc, nsh);
        return; /* try again next turn */
    }
    /* every member, viewing its old Kinesis record (freed once re-placed) */
    size_t n = 0;
    krec *old = NULL;
    for (uint32_t i = 0; i < p->nsh; i++) {
        shard *s = &p->sh[i];
        krec *lists[2] = {s->retry_head, s->q_head};
        for (int l = 0; l < 2; l++)
            for (krec *k = lists[l], *kn; k; k = kn) {
                kn = k->next;
                for (uint32_t j = 0; j < k->count; j++) {
                    member *m = &k->m[j];
                    src *x = &all[n++];
                    rview v = member_view(p, k, m);
                    x->user = m->user;
                    x->id = m->id;
                    x->put_mono = m->put_mono;
                    x->mem = m->mem;
                    x->pk = v.pk;
                    x->kl = strlen(v.pk);
                    x->ehk = v.ehk;
                    x->hl = v.ehk ? strlen(v.ehk) : 0;
                    x->data = v.data;
                    x->n_att = m->n_att;
                    x->cap_att = m->cap_att;
                    x->att = m->att;
                    m->att = NULL;
                }
                k->count = 0;
                k->next = old;
                old = k;
            }
    }
    qsort(all, n, sizeof *all, src_id_cmp);
    shard *osh = p->sh;
    uint32_t on = p->nsh;
    p->sh = nsh;
    p->nsh = nn;
    p->rr = 0;
    for (size_t i = 0; i < n; i++) {
        if (route(p, &all[i]) != TP_OK)
            fail_src(p, &all[i], TP_E_INVALID, "cannot hash the partition key");
        else
            place(p, &all[i]);
    }
    free(all);
    for (krec *k = old, *kn; k; k = kn) {
        kn = k->next;
        krec_free(p, k);
    }
    for (uint32_t i = 0; i < on; i++) {
        if (osh[i].open)
            krec_free(p, osh[i].open);
        tp_kpl_aggregator_free(osh[i].agg);
    }
    tp__free(p->alloc, osh);
    p->refresh_pending = 0;
    pthread_mutex_lock(&p->mu);
    p->st.shard_map_refreshes++;
    pthread_mutex_unlock(&p->mu);
}

/* ---- sending --------------------------------------------------------------------- */

static void refill(tp_producer *p, shard *s, int64_t now)
{
    double dt = (double)(now - s->tok_at) / 1000.0;
    s->tok_at = now;
    if (p->o.shard_records_per_s > 0) {
        s->tok_rec += dt * p->o.shard_records_per_s;
        if (s->tok_rec > p->o.shard_records_per_s)
            s->tok_rec = p->o.shard_records_per_s;
    }
    if (p->o.shard_bytes_per_s > 0) {
        s->tok_bytes += dt * p->o.shard_bytes_per_s;
        if (s->tok_bytes > p->o.shard_bytes_per_s)
            s->tok_bytes = p->o.shard_bytes_per_s;
    }
}

/* Whether the shard's buckets let a record of `size` bytes go now. */
static int tokens_ok(const tp_producer *p, const shard *s, uint64_t size)
{
    if (p->o.shard_records_per_s > 0 && s->tok_rec < 1.0)
        return 0;
    if (p->o.shard_bytes_per_s > 0) {
        double need = (double)size < p->o.shard_bytes_per_s ? (double)size : p->o.shard_bytes_per_s;
        if (s->tok_bytes < need)
            return 0;
    }
    return 1;
}

static void tokens_take(const tp_producer *p, shard *s, uint64_t size)
{
    if (p->o.shard_records_per_s > 0)
        s->tok_rec -= 1.0;
    if (p->o.shard_bytes_per_s > 0)
        s->tok_bytes -= (double)size;
}

/* The partition key a Kinesis record is sent with (its first member's). */
static const char *krec_pk(const krec *k) { return (const char *)k->keys.ptr + k->m[0].pk_off; }

static int key_flying(const shard *s, const char *pk)
{
    for (const krec *k = s->flying; k; k = k->next)
        if (strcmp(krec_pk(k), pk) == 0)
            return 1;
    return 0;
}

static int key_taken(const request *r, const shard *s, size_t from, const char *pk)
{
    for (size_t i = from; i < r->n; i++)
        if (r->k[i]->sh == s && strcmp(krec_pk(r->k[i]), pk) == 0)
            return 1;
    return 0;
}

static int lingered(const tp_producer *p, const krec *k, int64_t now)
{
    return k->m[0].put_mono + p->o.linger_ms <= now;
}

/* Whether a shard's new records should go now. */
static int shard_due(const tp_producer *p, const shard *s, int64_t now, int flush)
{
    if (s->q_head) {
        if (p->o.aggregate || flush || lingered(p, s->q_head, now))
            return 1; /* an aggregate is queued once full or lingered */
        return s->q_count >= MAX_BATCH || s->q_bytes >= p->o.max_request_bytes;
    }
    return s->open && s->open->count && (flush || lingered(p, s->open, now));
}

static int expired(const tp_producer *p, const krec *k, int64_t now)
{
    return k->m[0].put_mono + p->o.record_ttl_ms <= now;
}

static krec *q_pop(shard *s)
{
    krec *k = s->q_head;
    s->q_head = k->next;
    if (!s->q_head)
        s->q_tail = NULL;
    s->q_bytes -= k->size;
    s->q_count--;
    k->next = NULL;
    return k;
}

/* Fill `r` from the shards; 0 when nothing should go now. */
static int collect(tp_producer *p, request *r, int64_t now, int flush)
{
    int any_due = flush;
    for (uint32_t i = 0; i < p->nsh && !any_due; i++) {
        shard *s = &p->sh[i];
        any_due = shard_due(p, s, now, 0) || (s->retry_head && s->retry_head->not_before <= now);
    }
    if (!any_due)
        return 0;
    uint64_t bytes = 0;
    for (uint32_t j = 0; j < p->nsh && r->n < MAX_BATCH; j++) {
        shard *s = &p->sh[(p->rr + j) % p->nsh];
        size_t from = r->n;
        refill(p, s, now);
        /* what failed goes first, in order */
        while (s->retry_head && r->n < MAX_BATCH) {
            krec *k = s->retry_head;
            if (expired(p, k, now)) {
                s->retry_head = k->next;
                if (!s->retry_head)
                    s->retry_tail = NULL;
                char why[TP_ERROR_MESSAGE_MAX];
                snprintf(why, sizeof why, "expired: not written within %u ms (%u attempts)",
                         p->o.record_ttl_ms, k->sends);
                complete_krec(p, k, TP_E_TIMEOUT, NULL, NULL, why, 1);
                continue;
            }
            if (k->not_before > now || bytes + k->size > p->o.max_request_bytes ||
                !tokens_ok(p, s, k->size))
                break;
            if (p->o.aggregate ? (s->in_flight || r->n > from)
                               : (key_flying(s, krec_pk(k)) || key_taken(r, s, from, krec_pk(k))))
                break;
            s->retry_head = k->next;
            if (!s->retry_head)
                s->retry_tail = NULL;
            tokens_take(p, s, k->size);
            bytes += k->size;
            r->k[r->n++] = k;
        }
        if (s->retry_head)
            continue; /* newer records wait behind the retries */
        if (p->o.aggregate && (s->in_flight || r->n > from))
            continue;
        /* a request under way takes the shard's open aggregate along */
        if (p->o.aggregate && !s->q_head && s->open && s->open->count &&
            (flush || r->n > 0 || lingered(p, s->open, now)))
            close_open(s);
        while (s->q_head && r->n < MAX_BATCH && (flush || shard_due(p, s, now, 0) || r->n > 0)) {
            krec *k = s->q_head;
            if (expired(p, k, now)) {
                q_pop(s);
                complete_krec(p, k, TP_E_TIMEOUT, NULL, NULL, "expired before it could be sent", 1);
                continue;
            }
            if (p->o.aggregate && (s->in_flight || r->n > from))
                break;
            if (!p->o.aggregate && (key_flying(s, krec_pk(k)) || key_taken(r, s, from, krec_pk(k))))
                break;
            if (bytes + k->size > p->o.max_request_bytes && r->n > 0)
                break;
            if (!tokens_ok(p, s, k->size))
                break;
            q_pop(s);
            tokens_take(p, s, k->size);
            bytes += k->size;
            r->k[r->n++] = k;
        }
    }
    p->rr = p->nsh ? (p->rr + 1) % p->nsh : 0;
    return r->n > 0;
}

static void requeue_front(shard *s, krec *k)
{
    k->next = s->retry_head;
    s->retry_head = k;
    if (!s->retry_tail)
        s->retry_tail = k;
}

static void unfly(shard *s, krec *k)
{
    krec **pp = &s->flying;
    while (*pp && *pp != k)
        pp = &(*pp)->next;
    if (*pp)
        *pp = k->next;
    k->next = NULL;
    s->in_flight--;
}

static uint32_t backoff_ms(tp_producer *p, uint32_t sends)
{
    uint32_t cap = RETRY_BASE_MS;
    for (uint32_t i = 1; i < sends && cap < RETRY_CAP_MS; i++)
        cap *= 2;
    if (cap > RETRY_CAP_MS)
        cap = RETRY_CAP_MS;
    return (uint32_t)(cap * (0.5 + 0.5 * tp_rng__next01(&p->rng)));
}

/* Put the failed Kinesis records of a request back, in their order (the
 * request's records of one shard are in order; they go before anything the
 * shard still holds). `code` NULL: their attempts are recorded already. */
static void retry_later(tp_producer *p, krec **ks, size_t n, const char *code, const char *msg,
                        int ambiguous)
{
    /* one wait for the lot, so they can go out together again */
    uint32_t sends = 0;
    uint64_t records = 0;
    for (size_t i = 0; i < n; i++) {
        sends = ks[i]->sends > sends ? ks[i]->sends : sends;
        records += ks[i]->count;
    }
    int64_t at = mono_ms() + backoff_ms(p, sends);
    for (size_t i = n; i-- > 0;) {
        krec *k = ks[i];
        for (uint32_t j = 0; code && j < k->count; j++)
            member_attempt(&k->m[j], code, msg);
        k->not_before = at;
        requeue_front(k->sh, k);
    }
    pthread_mutex_lock(&p->mu);
    p->st.retries += n;
    if (ambiguous)
        p->st.possible_duplicates += records;
    pthread_mutex_unlock(&p->mu);
}

static int retryable_code(const char *code)
{
    return !strcmp(code, "ProvisionedThroughputExceededException") ||
           !strcmp(code, "InternalFailure") || !strcmp(code, "ServiceUnavailable") ||
           !strcmp(code, "KMSThrottlingException");
}

static void request_free(tp_producer *p, request *r)
{
    tp_http_response_dispose(&r->resp);
    if (p->n_req_pool < POOL_MAX / 4 && r->body.cap <= ((size_t)16 << 20)) {
        /* kept: a body buffer of megabytes is not mapped and faulted in anew */
        r->next = p->req_pool;
        p->req_pool = r;
        p->n_req_pool++;
        return;
    }
    tp_buf_dispose(&r->body);
    tp__free(p->alloc, r);
}

static request *request_new(tp_producer *p)
{
    request *r = p->req_pool;
    if (r) {
        p->req_pool = r->next;
        p->n_req_pool--;
        tp_buf body = r->body;
        memset(r, 0, offsetof(request, body));
        r->body = body;
        tp_buf_clear(&r->body);
    } else {
        r = tp__calloc(p->alloc, 1, sizeof *r);
        if (!r)
            return NULL;
        tp_buf_init(&r->body, p->big, 0);
    }
    r->p = p;
    tp_http_response_init(&r->resp, p->alloc);
    return r;
}

static void on_outcome(const tp_aws_outcome *o, tp_http_response *resp, void *payload)
{
    request *r = payload;
    tp_producer *p = r->p;
    /* off the list of requests in flight */
    request **pp = &p->flying;
    while (*pp && *pp != r)
        pp = &(*pp)->next;
    if (*pp)
        *pp = r->next;
    p->n_flying--;
    for (size_t i = 0; i < r->n; i++)
        unfly(r->k[i]->sh, r->k[i]);

    tp_error err;
    tp_error_clear(&err);
    uint32_t failed = 0;
    tp_status st = o->st;
    if (st == TP_OK)
        st = tp_kinesis__read_put_records(tp_buf_cursor(&resp->body), r->n, p->results, &failed,
                                          &err);
    if (o->st == TP_OK && st != TP_OK) {
        /* a 2xx answer we cannot read: the records may have been written */
        retry_later(p, r->k, r->n, "tp.BadAnswer", err.message, 1);
        goto done;
    }
    if (st != TP_OK) {
        char msg[TP_ERROR_MESSAGE_MAX + 32];
        const char *code = o->info.code[0] ? o->info.code : (o->ambiguous ? "tp.Transport" : "");
        if (o->info.code[0])
            snprintf(msg, sizeof msg, "HTTP %d: %s", (int)o->http_status, o->info.message);
        else if (o->transport[0])
            snprintf(msg, sizeof msg, "%s", o->transport);
        else
            snprintf(msg, sizeof msg, "HTTP %d", (int)o->http_status);
        if (o->retry != TP_RETRY_NO) {
            if (o->retry == TP_RETRY_THROTTLE) {
                pthread_mutex_lock(&p->mu);
                p->st.throttles++;
                pthread_mutex_unlock(&p->mu);
            }
            retry_later(p, r->k, r->n, code[0] ? code : "tp.HTTP", msg, o->ambiguous);
        } else {
            for (size_t i = 0; i < r->n; i++) {
                krec *k = r->k[i];
                for (uint32_t j = 0; j < k->count; j++)
                    member_attempt(&k->m[j], code, msg);
                char why[TP_ERROR_AWS_MAX + TP_ERROR_MESSAGE_MAX + 40];
                snprintf(why, sizeof why, "%s%s%s", code, code[0] ? ": " : "", msg);
                complete_krec(p, k, st, NULL, NULL, why, 0);
            }
        }
        goto done;
    }
    /* per record: written, to retry, or failed; retries keep their order */
    krec *again[MAX_BATCH];
    size_t na = 0;
    for (size_t i = 0; i < r->n; i++) {
        krec *k = r->k[i];
        const tp_kinesis_put_result *res = &p->results[i];
        if (!res->error_code[0]) {
            if (strcmp(res->shard_id, k->sh->id) != 0) {
                p->refresh_pending = 1; /* it landed elsewhere: the map is stale */
                if (k->aggregated) {
                    /* its records' keys follow it there from now on */
                    tp_u128 at = 0;
                    if (tp_stream__u128_parse(&at, k->ehk) == 0)
                        for (uint32_t j = 0; j < k->count; j++)
                            pin_key(p, (const char *)k->keys.ptr + k->m[j].pk_off, at);
                }
            }
            complete_krec(p, k, TP_OK, res->shard_id, res->sequence_number, NULL, 0);
        } else if (retryable_code(res->error_code)) {
            if (!strcmp(res->error_code, "ProvisionedThroughputExceededException")) {
                pthread_mutex_lock(&p->mu);
                p->st.throttles++;
                pthread_mutex_unlock(&p->mu);
                /* the shard's bucket was too generous: empty it */
                k->sh->tok_rec = 0;
                k->sh->tok_bytes = 0;
            }
            /* one retried attempt per record */
            for (uint32_t j = 0; j < k->count; j++)
                member_attempt(&k->m[j], res->error_code, res->error_message);
            again[na++] = k;
        } else {
            for (uint32_t j = 0; j < k->count; j++)
                member_attempt(&k->m[j], res->error_code, res->error_message);
            char why[TP_ERROR_AWS_MAX + TP_ERROR_MESSAGE_MAX + 4];
            snprintf(why, sizeof why, "%s: %s", res->error_code, res->error_message);
            complete_krec(p, k, TP_E_AWS, NULL, NULL, why, 0);
        }
    }
    if (na)
        retry_later(p, again, na, NULL, NULL, 0);
done:
    pthread_mutex_lock(&p->mu);
    p->st.requests_in_flight = p->n_flying;
    pthread_mutex_unlock(&p->mu);
    request_free(p, r);
}

/* Build and start one request; 0 when nothing is to go or it could not. */
static int send_one(tp_producer *p, int64_t now, int flush)
{
    request *r = request_new(p);
    if (!r)
        return 0;
    if (!collect(p, r, now, flush)) {
        request_free(p, r);
        return 0;
    }
    tp_kinesis_entry e[MAX_BATCH];
    for (size_t i = 0; i < r->n; i++) {
        krec *k = r->k[i];
        e[i].data = tp_cursor_make(k->blob.ptr + k->blob_off, k->blob.len - k->blob_off);
        e[i].partition_key = krec_pk(k);
        e[i].explicit_hash_key =
            k->aggregated
                ? k->ehk
                : (k->m[0].ehk_off == NO_EHK ? NULL : (const char *)k->keys.ptr + k->m[0].ehk_off);
        k->sends++;
        k->next = k->sh->flying;
        k->sh->flying = k;
        k->sh->in_flight++;
    }
    tp_error err;
    tp_status st = tp_kinesis__put_records_body(&r->body, p->stream, e, r->n, &err);
    if (st == TP_OK) {
        char ctype[] = "application/x-amz-json-1.1";
        tp_http_header h[] = {{"content-type", ctype},
                              {"x-amz-target", "Kinesis_20131202.PutRecords"}};
        tp_aws_req ar = {0};
        ar.method = "POST";
        ar.path = "/";
        ar.headers = h;
        ar.n_headers = TP_ARRAY_LEN(h);
        ar.body = tp_buf_cursor(&r->body);
        st = tp_aws__start(tp_kinesis__conn(p->k), &ar, &r->resp, on_outcome, r, &err);
    }
    if (st != TP_OK) {
        /* not sent: back to the front of their shards, after a pause */
        for (size_t i = 0; i < r->n; i++) {
            unfly(r->k[i]->sh, r->k[i]);
            r->k[i]->sends--;
        }
        retry_later(p, r->k, r->n, "tp.NotSent", err.message, 0);
        request_free(p, r);
        return 0;
    }
    r->next = p->flying;
    p->flying = r;
    p->n_flying++;
    pthread_mutex_lock(&p->mu);
    p->st.requests++;
    p->st.requests_in_flight = p->n_flying;
    pthread_mutex_unlock(&p->mu);
    return 1;
}

/* ---- the thread ------------------------------------------------------------------ */

static int work_left(const tp_producer *p)
{
    if (p->n_flying)
        return 1;
    for (uint32_t i = 0; i < p->nsh; i++)
        if (p->sh[i].q_head || p->sh[i].retry_head || (p->sh[i].open && p->sh[i].open->count))
            return 1;
    return 0;
}

/* ms until something could be sent (1 .. POLL_MAX_MS), or -1 when nothing waits. */
static int64_t next_wait(const tp_producer *p, int64_t now)
{
    int64_t best = -1;
    for (uint32_t i = 0; i < p->nsh; i++) {
        const shard *s = &p->sh[i];
        int64_t t = -1;
        if (p->o.aggregate && s->in_flight)
            t = -1; /* its answer wakes the thread */
        else if (s->retry_head)
            t = s->retry_head->not_before;
        else if (s->q_head)
            t = s->q_head->m[0].put_mono + (p->o.aggregate ? 0 : p->o.linger_ms);
        else if (s->open && s->open->count)
            t = s->open->m[0].put_mono + p->o.linger_ms;
        if (t >= 0 && (best < 0 || t < best))
            best = t;
    }
    if (best < 0)
        return -1;
    best -= now;
    return best < 1 ? 1 : best > POLL_MAX_MS ? POLL_MAX_MS : best;
}

static void *run(void *arg)
{
    tp_producer *p = arg;
    tp_http_client *http = tp_kinesis__conn(p->k)->http;
    for (;;) {
        settle(p);
        chunk *drop = NULL;
        pthread_mutex_lock(&p->mu);
        /* the chunks routed last turn go back to put (as many as the cap
         * could fill), and the inbox is taken whole */
        for (chunk *c = p->routed, *cn; c; c = cn) {
            cn = c->next;
            if (c->cap == CHUNK_CAP &&
                (p->n_free_chunks + 1) * CHUNK_BYTES <= p->o.max_buffered_bytes + CHUNK_BYTES) {
                c->len = 0;
                c->next = p->free_chunks;
                p->free_chunks = c;
                p->n_free_chunks++;
            } else {
                c->next = drop;
                drop = c;
            }
        }
        chunk *in = p->in_head;
        p->in_head = p->in_tail = NULL;
        p->in_chunks = 0;
        int flush = p->flush_all, stop = p->stop;
        pthread_mutex_unlock(&p->mu);
        for (chunk *c = drop, *cn; c; c = cn) {
            cn = c->next;
            tp__free(p->big, c);
        }
        drain(p, in);
        p->routed = in;
        int64_t now = mono_ms();
        if (p->refresh_pending && !p->n_flying)
            refresh_map(p);
        if (!p->refresh_pending)
            while (p->n_flying < p->o.max_in_flight && send_one(p, now, flush))
                ;
        settle(p);
        if (stop && !work_left(p))
            break;
        if (p->n_flying) {
            /* while answers are awaited, put wakes the thread once the
             * inbox fills a chunk: routed soon, the records are still in
             * cache and the chunks go back to put warm */
            int64_t w = next_wait(p, now);
            pthread_mutex_lock(&p->mu);
            if (p->in_chunks >= WAKE_CHUNKS)
                w = 0;
            p->io_polling = 1;
            p->woken = 0;
            pthread_mutex_unlock(&p->mu);
            tp_http_poll(http, (uint32_t)(w < 0 ? POLL_MAX_MS : w), NULL, NULL);
            pthread_mutex_lock(&p->mu);
            p->io_polling = 0;
            pthread_mutex_unlock(&p->mu);
            settle(p);
        } else {
            int64_t w = next_wait(p, now);
            pthread_mutex_lock(&p->mu);
            if (!p->in_head && !p->stop) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                int64_t ms = w < 0 ? 1000 : w;
                ts.tv_sec += ms / 1000;
                ts.tv_nsec += (ms % 1000) * 1000000;
                if (ts.tv_nsec >= 1000000000) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000;
                }
                p->io_waiting = 1;
                pthread_cond_timedwait(&p->cv_work, &p->mu, &ts);
                p->io_waiting = 0;
            }
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

/* ---- public ------------------------------------------------------------------------ */

static void producer_free(tp_producer *p)
{
    if (!p)
        return;
    /* what put left that the thread never took (none once closed) */
    for (chunk *c = p->in_head; c; c = c->next)
        for (size_t off = 0; off < c->len;) {
            const inrec *h = (const inrec *)(const void *)(c->data + off);
            src x;
            src_of(&x, h);
            off += inrec_size(h);
            fail_src(p, &x, TP_E_STATE, "the producer was closed");
        }
    chunk *chains[3] = {p->in_head, p->routed, p->free_chunks};
    for (int l = 0; l < 3; l++)
        for (chunk *c = chains[l], *cn; c; c = cn) {
            cn = c->next;
            tp__free(p->big, c);
        }
    for (uint32_t i = 0; i < p->nsh; i++) {
        shard *s = &p->sh[i];
        close_open(s);
        krec *lists[2] = {s->retry_head, s->q_head};
        for (int l = 0; l < 2; l++)
            for (krec *k = lists[l], *kn; k; k = kn) {
                kn = k->next;
                complete_krec(p, k, TP_E_STATE, NULL, NULL, "the producer was closed", 0);
            }
        s->retry_head = s->q_head = NULL;
    }
    settle(p);
    for (uint32_t i = 0; i < p->nsh; i++) {
        if (p->sh[i].open)
            krec_free(p, p->sh[i].open);
        tp_kpl_aggregator_free(p->sh[i].agg);
    }
    for (request *r = p->req_pool, *rn; r; r = rn) {
        rn = r->next;
        tp_buf_dispose(&r->body);
        tp__free(p->alloc, r);
    }
    for (krec *k = p->krec_pool, *kn; k; k = kn) {
        kn = k->next;
        tp_buf_dispose(&k->blob);
        tp_buf_dispose(&k->keys);
        tp__free(p->big, k->m);
        tp__free(p->alloc, k);
    }
    tp__free(p->alloc, p->sh);
    for (size_t i = 0; i < p->pin_cap; i++)
        for (pin *x = p->pins[i], *xn; x; x = xn) {
            xn = x->next;
            tp__free(p->alloc, x);
        }
    tp__free(p->alloc, p->pins);
    EVP_MD_CTX_free(p->md5);
    EVP_MD_free(p->md5_alg);
    tp_kinesis_free(p->k);
    if (p->dlq)
        fclose(p->dlq);
    tp__free(p->alloc, p->results);
    tp__free(p->alloc, p->stream);
    tp__free(p->alloc, p->dead_letter_path);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv_work);
    pthread_cond_destroy(&p->cv_done);
    slabs_free(p->slabs);
    tp__free(p->alloc, p);
}

static char *dup_str(const tp_allocator *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = tp__malloc(a, n);
    if (d)
        memcpy(d, s, n);
    return d;
}

tp_status tp_producer_new(tp_producer **out, const tp_producer_options *o, tp_error *err)
{
    if (!out)
        return tp_error__set(err, TP_E_INVALID, "tp_producer_new: out is NULL");
    *out = NULL;
    if (!o || o->version != TP_PRODUCER_OPTIONS_VERSION)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "version",
                            "tp_producer_new: options missing or of another version");
    if (!o->stream || !*o->stream)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "stream", "no stream given");
    const tp_allocator *alloc = o->aws ? o->aws->alloc : NULL;
    tp_producer *p = tp__calloc(alloc, 1, sizeof *p);
    if (!p)
        return tp_error__set(err, TP_E_NOMEM, "out of memory creating a producer");
    p->alloc = alloc;
    p->big = alloc;
    if (!alloc) {
        p->slabs = slabs_new();
        if (p->slabs)
            p->big = &p->slabs->a;
    }
    p->o = *o;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv_work, NULL);
    pthread_cond_init(&p->cv_done, NULL);
    p->wall_minus_mono = tp_time_now_us() / 1000 - mono_ms();
    tp_status st = TP_OK;
    p->stream = dup_str(alloc, o->stream);
    p->dead_letter_path = o->dead_letter_path ? dup_str(alloc, o->dead_letter_path) : NULL;
    p->results = tp__calloc(alloc, MAX_BATCH, sizeof *p->results);
    if (!p->stream || !p->results || (o->dead_letter_path && !p->dead_letter_path)) {
        st = tp_error__set(err, TP_E_NOMEM, "out of memory creating a producer");
        goto fail;
    }
    p->o.stream = p->stream;
    p->o.dead_letter_path = p->dead_letter_path;
    p->o.aws = NULL;
    if (!p->o.aggregation_max_bytes)
        p->o.aggregation_max_bytes = TP_KPL_DEFAULT_MAX_BYTES;
    if (!p->o.linger_ms)
        p->o.linger_ms = 100;
    if (!p->o.record_ttl_ms)
        p->o.record_ttl_ms = 30000;
    if (!p->o.max_in_flight)
        p->o.max_in_flight = 16;
    if (!p->o.max_request_bytes)
        p->o.max_request_bytes = (uint64_t)5 << 20;
    if (!p->o.max_buffered_bytes)
        p->o.max_buffered_bytes = (uint64_t)64 << 20;
    if (p->o.shard_records_per_s == 0)
        p->o.shard_records_per_s = 1000;
    if (p->o.shard_bytes_per_s == 0)
        p->o.shard_bytes_per_s = 1 << 20;
    if (p->o.max_request_bytes > TP_KINESIS_MAX_REQUEST_BYTES) {
        st = tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "max_request_bytes",
                          "max_request_bytes %llu is over Kinesis's %llu",
                          (unsigned long long)p->o.max_request_bytes,
                          (unsigned long long)TP_KINESIS_MAX_REQUEST_BYTES);
        goto fail;
    }
    if ((st = tp_kinesis_new(&p->k, o->aws, err)) != TP_OK)
        goto fail;
    /* the stream's record limit, and a request cap within the producer's */
    tp_kinesis_stream_summary sum;
    if ((st = tp_kinesis_load_limits(p->k, p->stream, &sum, err)) != TP_OK)
        goto fail;
    p->max_record_bytes = tp_kinesis__limits(p->k)->max_record_bytes;
    if (p->o.aggregation_max_bytes > p->max_record_bytes)
        p->o.aggregation_max_bytes = (uint32_t)p->max_record_bytes;
    p->md5_alg = EVP_MD_fetch(NULL, "MD5", NULL);
    p->md5 = EVP_MD_CTX_new();
    if (!p->md5_alg || !p->md5) {
        st = tp_error__set(err, TP_E_UNSUPPORTED, "MD5 is not available from OpenSSL");
        goto fail;
    }
    if ((st = load_map(p, &p->sh, &p->nsh, err)) != TP_OK)
        goto fail;
    if (p->dead_letter_path) {
        p->dlq = fopen(p->dead_letter_path, "a");
        if (!p->dlq) {
            st = tp_error__at(err, TP_E_IO, TP_NO_OFFSET, "dead_letter_path",
                              "cannot open the dead-letter file %s", p->dead_letter_path);
            goto fail;
        }
    }
    tp_rng__seed(&p->rng, (uint64_t)tp_time_mono_ns() ^ (uint64_t)(uintptr_t)p);
    if (pthread_create(&p->thread, NULL, run, p) != 0) {
        st = tp_error__set(err, TP_E_NOMEM, "cannot start the producer thread");
        goto fail;
    }
    p->thread_started = 1;
    *out = p;
    return TP_OK;
fail:
    producer_free(p);
    return st;
}

tp_status tp_producer_put(tp_producer *p, const tp_producer_record *r, uint32_t timeout_ms,
                          tp_error *err)
{
    if (!p || !r)
        return tp_error__set(err, TP_E_INVALID, "tp_producer_put: %s is NULL",
                             p ? "record" : "producer");
    uint64_t size = 0;
    const char *field = NULL;
    char why[TP_ERROR_MESSAGE_MAX];
    tp_status st = tp_kinesis__check_record(p->k, r->data, r->partition_key, r->explicit_hash_key,
                                            0, &size, &field, why, sizeof why);
    if (st != TP_OK) {
        /* it fails alone, now, and is kept in the dead-letter file */
        char msg[TP_ERROR_MESSAGE_MAX + 32];
        snprintf(msg, sizeof msg, "refused: %s", why);
        rview v = {r->user,
                   r->partition_key ? r->partition_key : "",
                   r->explicit_hash_key,
                   r->data.ptr || !r->data.len ? r->data : tp_cursor_make(NULL, 0),
                   tp_time_now_us() / 1000,
                   0,
                   NULL};
        pthread_mutex_lock(&p->mu);
        dead_letter(p, &v, msg);
        p->st.user_records_refused++;
        pthread_mutex_unlock(&p->mu);
        return tp_error__at(err, st, TP_NO_OFFSET, field, "%s", why);
    }
    /* checked: the key is 1..1,024 bytes, the hash key at most 39 digits, the
     * data within the stream's record limit */
    size_t kl = strlen(r->partition_key);
    size_t hl = r->explicit_hash_key ? strlen(r->explicit_hash_key) : 0;
    size_t need = sizeof(inrec) + kl + 1 + (hl ? hl + 1 : 0) + r->data.len;
    need = (need + 7) & ~(size_t)7;
    /* charged: its inbox entry (the size of its data and keys in a Kinesis
     * record later, with framing) and its member there */
    size_t mem = need + sizeof(member);
    int64_t now = mono_ms();
    pthread_mutex_lock(&p->mu);
    if (p->closing) {
        pthread_mutex_unlock(&p->mu);
        return tp_error__set(err, TP_E_STATE, "tp_producer_put: the producer is closing");
    }
    if (p->st.buffered_bytes + mem > p->o.max_buffered_bytes && timeout_ms) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += timeout_ms / 1000;
        ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        p->done_waiters++;
        while (p->st.buffered_bytes + mem > p->o.max_buffered_bytes && !p->closing)
            if (pthread_cond_timedwait(&p->cv_done, &p->mu, &ts) != 0)
                break;
        p->done_waiters--;
        now = mono_ms();
    }
    if (p->st.buffered_bytes + mem > p->o.max_buffered_bytes && p->st.buffered_bytes > 0) {
        uint64_t have = p->st.buffered_bytes;
        pthread_mutex_unlock(&p->mu);
        return tp_error__set(err, TP_E_LIMIT,
                             "tp_producer_put: full (%llu bytes buffered, cap %llu)",
                             (unsigned long long)have, (unsigned long long)p->o.max_buffered_bytes);
    }
    chunk *c = p->in_tail;
    if (!c || c->cap - c->len < need) {
        c = need <= CHUNK_CAP ? p->free_chunks : NULL;
        if (c) {
            p->free_chunks = c->next;
            p->n_free_chunks--;
        } else {
            size_t cap = need > CHUNK_CAP ? need : CHUNK_CAP;
            c = tp__malloc(p->big, sizeof *c + cap);
            if (!c) {
                pthread_mutex_unlock(&p->mu);
                return tp_error__set(err, TP_E_NOMEM, "tp_producer_put: out of memory");
            }
            c->cap = cap;
            c->data = (uint8_t *)(c + 1);
        }
        c->len = 0;
        c->next = NULL;
        if (p->in_tail)
            p->in_tail->next = c;
        else
            p->in_head = c;
        p->in_tail = c;
        p->in_chunks++;
    }
    inrec *h = (inrec *)(void *)(c->data + c->len);
    h->user = r->user;
    h->id = p->next_id++;
    h->put_mono = now;
    h->len = (uint32_t)r->data.len;
    h->mem = (uint32_t)mem;
    h->kl = (uint16_t)kl;
    h->hl = (uint8_t)hl;
    char *o = (char *)(h + 1);
    memcpy(o, r->partition_key, kl + 1);
    o += kl + 1;
    if (hl) {
        memcpy(o, r->explicit_hash_key, hl + 1);
        o += hl + 1;
    }
    if (r->data.len)
        memcpy(o, r->data.ptr, r->data.len);
    c->len += need;
    p->st.buffered_bytes += mem;
    p->st.user_records_received++;
    p->st.user_records_pending++;
    if (p->io_waiting)
        pthread_cond_signal(&p->cv_work);
    int wake = p->io_polling && !p->woken && p->in_chunks >= WAKE_CHUNKS;
    if (wake)
        p->woken = 1;
    pthread_mutex_unlock(&p->mu);
    if (wake)
        tp_http__wakeup(tp_kinesis__conn(p->k)->http);
    return TP_OK;
}

tp_status tp_producer_flush(tp_producer *p, uint32_t timeout_ms, tp_error *err)
{
    if (!p)
        return tp_error__set(err, TP_E_INVALID, "tp_producer_flush: producer is NULL");
    pthread_mutex_lock(&p->mu);
    p->flush_all++;
    pthread_cond_signal(&p->cv_work);
    int64_t deadline = timeout_ms ? mono_ms() + timeout_ms : 0;
    tp_status st = TP_OK;
    while (p->st.user_records_pending > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        p->done_waiters++;
        pthread_cond_timedwait(&p->cv_done, &p->mu, &ts);
        p->done_waiters--;
        if (deadline && mono_ms() >= deadline && p->st.user_records_pending > 0) {
            st = tp_error__set(err, TP_E_TIMEOUT, "tp_producer_flush: %llu records still pending",
                               (unsigned long long)p->st.user_records_pending);
            break;
        }
    }
    p->flush_all--;
    pthread_mutex_unlock(&p->mu);
    return st;
}

void tp_producer_close(tp_producer *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->closing = 1;
    pthread_mutex_unlock(&p->mu);
    if (p->thread_started) {
        tp_producer_flush(p, 0, NULL);
        pthread_mutex_lock(&p->mu);
        p->stop = 1;
        pthread_cond_signal(&p->cv_work);
        pthread_mutex_unlock(&p->mu);
        pthread_join(p->thread, NULL);
    }
    producer_free(p);
}

static double percentile(const tp_producer *p, uint64_t total, double q)
{
    if (!total)
        return 0;
    uint64_t want = (uint64_t)(q * (double)total);
    if (want >= total)
        want = total - 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < LAT_FINE; i++) {
        seen += p->lat_fine[i];
        if (seen > want)
            return (double)i + 0.5;
    }
    for (size_t i = 0; i <= LAT_COARSE; i++) {
        seen += p->lat_coarse[i];
        if (seen > want)
            return LAT_FINE + (double)i * 100 + 50;
    }
    return p->lat_max;
}

void tp_producer_get_stats(tp_producer *p, tp_producer_stats *out)
{
    if (!p || !out)
        return;
    pthread_mutex_lock(&p->mu);
    *out = p->st;
    uint64_t total = p->st.user_records_put + p->st.user_records_failed;
    out->latency_ms_p50 = percentile(p, total, 0.50);
    out->latency_ms_p90 = percentile(p, total, 0.90);
    out->latency_ms_p99 = percentile(p, total, 0.99);
    out->latency_ms_max = p->lat_max;
    pthread_mutex_unlock(&p->mu);
}
