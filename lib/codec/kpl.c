/* Floor 2: KPL aggregated records (format in include/tradepipe/kpl.h).
 *
 * The protobuf wire format of AggregatedRecord, Record and Tag is written by
 * hand: tag = (field << 3) | wire type, as a varint; wire type 0 = varint,
 * 2 = length-delimited (varint length, then the bytes). The aggregate is laid
 * out as the KPL writes it: every partition_key_table entry (field 1), then
 * every explicit_hash_key_table entry (field 2), then every record (field 3).
 * Keeping those three parts in three buffers makes the exact size known after
 * every add, and the blob is their concatenation. */
#include "kpl_int.h"

#include <openssl/evp.h>
#include <stdio.h>

static const uint8_t kMagic[TP_KPL_MAGIC_LEN] = {0xF3, 0x89, 0x9A, 0xC2};

/* Field tags as bytes (all fields are < 16, so every tag is one byte). */
#define TAG_PK_TABLE  0x0A /* AggregatedRecord.partition_key_table, LEN */
#define TAG_EHK_TABLE 0x12 /* AggregatedRecord.explicit_hash_key_table, LEN */
#define TAG_RECORD    0x1A /* AggregatedRecord.records, LEN */
#define TAG_PK_INDEX  0x08 /* Record.partition_key_index, VARINT */
#define TAG_EHK_INDEX 0x10 /* Record.explicit_hash_key_index, VARINT */
#define TAG_DATA      0x1A /* Record.data, LEN */

/* Sizes stay far from overflow: no single piece may pass this. */
#define PIECE_MAX ((uint64_t)1 << 48)

/* ---- helpers ---------------------------------------------------------------- */

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static size_t varint_put(uint8_t *o, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        o[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    o[n++] = (uint8_t)v;
    return n;
}

/* Append protobuf field `tag` (length-delimited) holding `v` to `b`, whose
 * room the caller reserved. */
static void put_bytes_field(tp_buf *b, uint8_t tag, tp_cursor v)
{
    uint8_t *o = b->ptr + b->len;
    size_t n = 0;
    o[n++] = tag;
    n += varint_put(o + n, v.len);
    memcpy(o + n, v.ptr, v.len);
    b->len += n + v.len;
}

int tp_kpl__md5(uint8_t out[16], tp_cursor in)
{
    unsigned int len = 0;
    unsigned char md[EVP_MAX_MD_SIZE];
    if (EVP_Digest(in.ptr ? in.ptr : (const uint8_t *)"", in.len, md, &len, EVP_md5(), NULL) !=
            1 ||
        len != 16)
        return -1;
    memcpy(out, md, 16);
    return 0;
}

size_t tp_kpl__utf8_chars(tp_cursor s, size_t *bad)
{
    size_t chars = 0, i = 0;
    const uint8_t *p = s.ptr;
    while (i < s.len) {
        uint8_t c = p[i];
        size_t n;
        uint32_t cp;
        if (c == 0)
            goto fail;
        if (c < 0x80) {
            i++;
            chars++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            n = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 4;
            cp = c & 0x07;
        } else {
            goto fail;
        }
        if (s.len - i < n)
            goto fail;
        for (size_t k = 1; k < n; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                goto fail;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            goto fail;
        i += n;
        chars++;
    }
    return chars;
fail:
    if (bad)
        *bad = i;
    return SIZE_MAX;
}

int tp_kpl__hash_key_check(tp_cursor s, size_t *bad)
{
    static const char max[] = "340282366920938463463374607431768211455"; /* 2^128-1 */
    size_t i;
    for (i = 0; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9' || i >= 39 || (i == 1 && s.ptr[0] == '0')) {
            if (bad)
                *bad = i;
            return -1;
        }
    }
    if (s.len == 0 || (s.len == 39 && memcmp(s.ptr, max, 39) > 0)) {
        if (bad)
            *bad = s.len;
        return -1;
    }
    return 0;
}

int tp_kpl__hash_key_of(char out[TP_KPL_HASH_KEY_MAX], tp_cursor pk)
{
    uint8_t n[16];
    out[0] = 0;
    if (tp_kpl__md5(n, pk) != 0)
        return -1;
    /* Long division of the 128-bit big-endian number by 10, digit by digit. */
    char rev[TP_KPL_HASH_KEY_MAX];
    size_t len = 0;
    int zero;
    do {
        unsigned rem = 0;
        zero = 1;
        for (int i = 0; i < 16; i++) {
            unsigned cur = (rem << 8) | n[i];
            n[i] = (uint8_t)(cur / 10);
            rem = cur % 10;
            if (n[i])
                zero = 0;
        }
        rev[len++] = (char)('0' + rem);
    } while (!zero);
    for (size_t i = 0; i < len; i++)
        out[i] = rev[len - 1 - i];
    out[len] = 0;
    return 0;
}

int tp_kpl_is_aggregated(tp_cursor in)
{
    return in.ptr && in.len >= TP_KPL_MAGIC_LEN && memcmp(in.ptr, kMagic, TP_KPL_MAGIC_LEN) == 0;
}

/* ---- a set of keys: bytes -> index, in insertion order ----------------------- */

typedef struct keyset {
    tp_buf bytes;      /* every key, back to back */
    size_t *off;       /* key i is bytes[off[i] .. off[i+1]) (off[count] = bytes.len) */
    size_t count, cap; /* off has cap + 1 slots */
    uint32_t *slots;   /* open addressing: index + 1, 0 = empty */
    size_t nslots;     /* a power of two, or 0 */
} keyset;

static uint64_t hash_bytes(tp_cursor k)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < k.len; i++) {
        h ^= k.ptr[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static tp_cursor ks_key(const keyset *ks, size_t i)
{
    return tp_cursor_make(ks->bytes.ptr + ks->off[i], ks->off[i + 1] - ks->off[i]);
}

/* The index of `k`, or SIZE_MAX. */
static size_t ks_find(const keyset *ks, tp_cursor k)
{
    if (!ks->nslots)
        return SIZE_MAX;
    size_t mask = ks->nslots - 1;
    for (size_t s = (size_t)hash_bytes(k) & mask;; s = (s + 1) & mask) {
        uint32_t v = ks->slots[s];
        if (!v)
            return SIZE_MAX;
        tp_cursor o = ks_key(ks, v - 1);
        if (o.len == k.len && (k.len == 0 || memcmp(o.ptr, k.ptr, k.len) == 0))
            return v - 1;
    }
}

static void ks_place(keyset *ks, size_t i)
{
    size_t mask = ks->nslots - 1;
    size_t s = (size_t)hash_bytes(ks_key(ks, i)) & mask;
    while (ks->slots[s])
        s = (s + 1) & mask;
    ks->slots[s] = (uint32_t)(i + 1);
}

/* Room for one more key of `len` bytes, so that ks_add cannot fail. */
static tp_status ks_reserve(keyset *ks, const tp_allocator *alloc, size_t len, tp_error *err)
{
    if (ks->count >= UINT32_MAX - 1)
        return tp_error__set(err, TP_E_LIMIT, "KPL aggregate: too many distinct keys");
    tp_status st = tp_buf_reserve(&ks->bytes, len, err);
    if (st != TP_OK)
        return st;
    if (ks->count + 1 > ks->cap) {
        size_t ncap = ks->cap ? ks->cap * 2 : 16;
        size_t *no = tp__realloc(alloc, ks->off, (ncap + 1) * sizeof *no);
        if (!no)
            return tp_error__set(err, TP_E_NOMEM, "KPL aggregate: out of memory");
        if (!ks->off)
            no[0] = 0;
        ks->off = no;
        ks->cap = ncap;
    }
    if ((ks->count + 1) * 2 > ks->nslots) {
        size_t n = ks->nslots ? ks->nslots * 2 : 32;
        uint32_t *ns = tp__calloc(alloc, n, sizeof *ns);
        if (!ns)
            return tp_error__set(err, TP_E_NOMEM, "KPL aggregate: out of memory");
        tp__free(alloc, ks->slots);
        ks->slots = ns;
        ks->nslots = n;
        for (size_t i = 0; i < ks->count; i++)
            ks_place(ks, i);
    }
    return TP_OK;
}

static size_t ks_add(keyset *ks, tp_cursor k)
{
    if (k.len)
        memcpy(ks->bytes.ptr + ks->bytes.len, k.ptr, k.len);
    ks->bytes.len += k.len;
    ks->count++;
    ks->off[ks->count] = ks->bytes.len;
    ks_place(ks, ks->count - 1);
    return ks->count - 1;
}

static void ks_clear(keyset *ks)
{
    tp_buf_clear(&ks->bytes);
    ks->count = 0;
    if (ks->slots)
        memset(ks->slots, 0, ks->nslots * sizeof *ks->slots);
}

static void ks_dispose(keyset *ks, const tp_allocator *alloc)
{
    tp_buf_dispose(&ks->bytes);
    tp__free(alloc, ks->off);
    tp__free(alloc, ks->slots);
    memset(ks, 0, sizeof *ks);
}

/* ---- the aggregator ----------------------------------------------------------- */

struct tp_kpl_aggregator {
    tp_kpl_aggregator_options opts;
    tp_allocator alloc_copy;
    const tp_allocator *alloc;
    keyset pks, ehks;
    tp_buf pk_tab, ehk_tab, recs; /* encoded fields 1, 2 and 3 */
    size_t head;                  /* recs holds the records from this offset (see set_head) */
    size_t count;
    size_t first_ehk; /* the first record's explicit hash key index, SIZE_MAX: none */
};

TP__DEFINE_INIT(tp_kpl_aggregator_options_init, tp_kpl_aggregator_options,
                TP_KPL_AGGREGATOR_OPTIONS_VERSION, TP_KPL_AGGREGATOR_OPTIONS_INIT)

tp_status tp_kpl_aggregator_new(tp_kpl_aggregator **out, const tp_kpl_aggregator_options *opts,
                                tp_error *err)
{
    if (!out)
        return tp_error__set(err, TP_E_INVALID, "tp_kpl_aggregator_new: out is NULL");
    *out = NULL;
    tp_kpl_aggregator_options o = TP_KPL_AGGREGATOR_OPTIONS_INIT;
    if (opts) {
        if (opts->version != TP_KPL_AGGREGATOR_OPTIONS_VERSION)
            return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "version",
                                "tp_kpl_aggregator_options: version %u, expected %u",
                                (unsigned)opts->version, TP_KPL_AGGREGATOR_OPTIONS_VERSION);
        o = *opts;
    }
    if (o.outer_key != TP_KPL_OUTER_FIRST_KEY && o.outer_key != TP_KPL_OUTER_KPL)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "outer_key",
                            "tp_kpl_aggregator_options: unknown outer_key %u",
                            (unsigned)o.outer_key);
    if (o.max_bytes == 0)
        o.max_bytes = TP_KPL_DEFAULT_MAX_BYTES;
    if (o.max_bytes > PIECE_MAX)
        o.max_bytes = PIECE_MAX;
    tp_kpl_aggregator *a = tp__calloc(o.alloc, 1, sizeof *a);
    if (!a)
        return tp_error__set(err, TP_E_NOMEM, "out of memory creating a KPL aggregator");
    a->opts = o;
    if (o.alloc) {
        a->alloc_copy = *o.alloc;
        a->alloc = &a->alloc_copy;
    }
    a->opts.alloc = a->alloc;
    tp_buf_init(&a->pks.bytes, a->alloc, 0);
    tp_buf_init(&a->ehks.bytes, a->alloc, 0);
    tp_buf_init(&a->pk_tab, a->alloc, 0);
    tp_buf_init(&a->ehk_tab, a->alloc, 0);
    tp_buf_init(&a->recs, a->alloc, 0);
    a->first_ehk = SIZE_MAX;
    *out = a;
    return TP_OK;
}

void tp_kpl_aggregator_free(tp_kpl_aggregator *a)
{
    if (!a)
        return;
    ks_dispose(&a->pks, a->alloc);
    ks_dispose(&a->ehks, a->alloc);
    tp_buf_dispose(&a->pk_tab);
    tp_buf_dispose(&a->ehk_tab);
    tp_buf_dispose(&a->recs);
    tp__free_owner(a->alloc, a);
}

void tp_kpl_aggregator_reset(tp_kpl_aggregator *a)
{
    if (!a)
        return;
    ks_clear(&a->pks);
    ks_clear(&a->ehks);
    tp_buf_clear(&a->pk_tab);
    tp_buf_clear(&a->ehk_tab);
    tp_buf_clear(&a->recs);
    if (a->head) {
        a->recs.len = a->head; /* reserved by set_head: recs.cap > head */
        a->recs.ptr[a->head] = 0;
    }
    a->count = 0;
    a->first_ehk = SIZE_MAX;
}

size_t tp_kpl_aggregator_count(const tp_kpl_aggregator *a)
{
    return a ? a->count : 0;
}

uint64_t tp_kpl_aggregator_blob_bytes(const tp_kpl_aggregator *a)
{
    if (!a)
        return 0;
    return TP_KPL_OVERHEAD + (uint64_t)a->pk_tab.len + a->ehk_tab.len + (a->recs.len - a->head);
}

static uint64_t outer_len(const tp_kpl_aggregator *a, size_t first_pk_len)
{
    return a->opts.outer_key == TP_KPL_OUTER_KPL ? 1 : first_pk_len;
}

uint64_t tp_kpl_aggregator_size(const tp_kpl_aggregator *a)
{
    if (!a || !a->count)
        return 0;
    return tp_kpl_aggregator_blob_bytes(a) + outer_len(a, a->pks.off[1]);
}

tp_cursor tp_kpl__aggregator_records(const tp_kpl_aggregator *a, size_t *blob_offset)
{
    *blob_offset = TP_KPL_MAGIC_LEN + a->pk_tab.len + a->ehk_tab.len;
    return tp_cursor_make(a->recs.ptr + a->head, a->recs.len - a->head);
}

tp_status tp_kpl__aggregator_set_head(tp_kpl_aggregator *a, size_t head, tp_error *err)
{
    if (a->count)
        return tp_error__set(err, TP_E_STATE, "KPL aggregate: headroom set while not empty");
    tp_buf_clear(&a->recs);
    a->head = 0;
    tp_status st = tp_buf_reserve(&a->recs, head, err);
    if (st != TP_OK)
        return st;
    a->head = head;
    a->recs.len = head;
    return TP_OK;
}

/* The magic and both key tables at `p`; returns where the records go. */
static uint8_t *put_head(const tp_kpl_aggregator *a, uint8_t *p)
{
    memcpy(p, kMagic, TP_KPL_MAGIC_LEN);
    p += TP_KPL_MAGIC_LEN;
    if (a->pk_tab.len)
        memcpy(p, a->pk_tab.ptr, a->pk_tab.len);
    p += a->pk_tab.len;
    if (a->ehk_tab.len)
        memcpy(p, a->ehk_tab.ptr, a->ehk_tab.len);
    return p + a->ehk_tab.len;
}

tp_status tp_kpl__aggregator_finish_swap(tp_kpl_aggregator *a, tp_buf *buf, size_t *blob_off,
                                         tp_error *err)
{
    if (!a->count)
        return tp_error__set(err, TP_E_STATE, "KPL aggregate: nothing to finish");
    size_t tables = TP_KPL_MAGIC_LEN + a->pk_tab.len + a->ehk_tab.len;
    size_t move = tables > a->head ? tables - a->head : 0;
    /* every allocation first: a failure leaves both as they were */
    tp_buf_clear(buf);
    tp_status st = tp_buf_reserve(buf, a->head, err);
    if (st == TP_OK)
        st = tp_buf_reserve(&a->recs, move + TP_KPL_DIGEST_LEN, err);
    if (st != TP_OK)
        return st;
    if (move) {
        /* tables larger than the headroom (long keys): the records move up */
        memmove(a->recs.ptr + a->head + move, a->recs.ptr + a->head, a->recs.len - a->head);
        a->recs.len += move;
    }
    size_t start = a->head + move - tables;
    put_head(a, a->recs.ptr + start);
    tp_cursor proto = tp_cursor_make(a->recs.ptr + start + TP_KPL_MAGIC_LEN,
                                     a->recs.len - start - TP_KPL_MAGIC_LEN);
    if (tp_kpl__md5(a->recs.ptr + a->recs.len, proto) != 0) {
        if (move) {
            a->recs.len -= move;
            memmove(a->recs.ptr + a->head, a->recs.ptr + a->head + move, a->recs.len - a->head);
        }
        return tp_error__set(err, TP_E_UNSUPPORTED, "MD5 is not available from OpenSSL");
    }
    a->recs.len += TP_KPL_DIGEST_LEN;
    a->recs.ptr[a->recs.len] = 0;
    /* the bytes change hands, each tp_buf keeps its allocator pointer (a's
     * points into a, which may be freed first) */
    tp_buf t = *buf;
    buf->ptr = a->recs.ptr;
    buf->len = a->recs.len;
    buf->cap = a->recs.cap;
    a->recs.ptr = t.ptr;
    a->recs.len = t.len;
    a->recs.cap = t.cap;
    *blob_off = start;
    tp_kpl_aggregator_reset(a); /* the new recs: head reserved above */
    return TP_OK;
}

/* The growth of each part if the record were added (indexes it would get). */
typedef struct plan {
    size_t pk_index, ehk_index; /* ehk_index SIZE_MAX: none */
    int new_pk, new_ehk;
    uint64_t pk_bytes, ehk_bytes, rec_len, rec_bytes; /* rec_len: the Record message */
} plan;

static void make_plan(const tp_kpl_aggregator *a, tp_cursor pk, tp_cursor ehk, tp_cursor data,
                      plan *p)
{
    p->pk_index = ks_find(&a->pks, pk);
    p->new_pk = p->pk_index == SIZE_MAX;
    if (p->new_pk)
        p->pk_index = a->pks.count;
    p->pk_bytes = p->new_pk ? 1 + varint_len(pk.len) + (uint64_t)pk.len : 0;
    p->ehk_index = SIZE_MAX;
    p->new_ehk = 0;
    p->ehk_bytes = 0;
    if (ehk.ptr) {
        p->ehk_index = ks_find(&a->ehks, ehk);
        p->new_ehk = p->ehk_index == SIZE_MAX;
        if (p->new_ehk)
            p->ehk_index = a->ehks.count;
        p->ehk_bytes = p->new_ehk ? 1 + varint_len(ehk.len) + (uint64_t)ehk.len : 0;
    }
    p->rec_len = 1 + varint_len(p->pk_index) +
                 (ehk.ptr ? 1 + varint_len(p->ehk_index) : 0) + 1 + varint_len(data.len) +
                 (uint64_t)data.len;
    p->rec_bytes = 1 + varint_len(p->rec_len) + p->rec_len;
}

uint64_t tp_kpl_aggregator_size_with(const tp_kpl_aggregator *a, tp_cursor partition_key,
                                     tp_cursor explicit_hash_key, tp_cursor data)
{
    if (!a)
        return 0;
    plan p;
    make_plan(a, partition_key, explicit_hash_key, data, &p);
    uint64_t first = a->count ? a->pks.off[1] : partition_key.len;
    return tp_kpl_aggregator_blob_bytes(a) + p.pk_bytes + p.ehk_bytes + p.rec_bytes +
           outer_len(a, first);
}

tp_status tp_kpl_aggregator_add(tp_kpl_aggregator *a, tp_cursor pk, tp_cursor ehk, tp_cursor data,
                                tp_error *err)
{
    if (!a)
        return tp_error__set(err, TP_E_INVALID, "tp_kpl_aggregator_add: aggregator is NULL");
    size_t bad = 0;
    if (!pk.ptr || pk.len == 0)
        return tp_error__at(err, TP_E_INVALID, 0, "partition_key",
                            "KPL user record: the partition key is empty (1 to %u characters)",
                            TP_KPL_MAX_PARTITION_KEY_CHARS);
    size_t chars = tp_kpl__utf8_chars(pk, &bad);
    if (chars == SIZE_MAX)
        return tp_error__at(err, TP_E_INVALID, bad, "partition_key",
                            "KPL user record: the partition key is not UTF-8 at byte %zu", bad);
    if (chars > TP_KPL_MAX_PARTITION_KEY_CHARS)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "partition_key",
                            "KPL user record: the partition key has %zu characters (at most %u)",
                            chars, TP_KPL_MAX_PARTITION_KEY_CHARS);
    if (ehk.ptr && tp_kpl__hash_key_check(ehk, &bad) != 0)
        return tp_error__at(err, TP_E_INVALID, bad, "explicit_hash_key",
                            "KPL user record: the explicit hash key is not a decimal in "
                            "0..2^128-1 (byte %zu)",
                            bad);
    if (!data.ptr && data.len)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "data",
                            "KPL user record: data pointer is NULL");
    if ((uint64_t)data.len > PIECE_MAX)
        return tp_error__at(err, TP_E_TOO_LARGE, TP_NO_OFFSET, "data",
                            "KPL user record: %zu bytes of data", data.len);

    plan p;
    make_plan(a, pk, ehk, data, &p);
    uint64_t first = a->count ? a->pks.off[1] : pk.len;
    uint64_t size = tp_kpl_aggregator_blob_bytes(a) + p.pk_bytes + p.ehk_bytes + p.rec_bytes +
                    outer_len(a, first);
    if (size > a->opts.max_bytes) {
        /* Alone, in an empty aggregate, its indexes would be 0. */
        uint64_t rec_len = 1 + 1 + (ehk.ptr ? 2u : 0u) + 1 + varint_len(data.len) + data.len;
        uint64_t alone = TP_KPL_OVERHEAD + 1 + varint_len(pk.len) + pk.len +
                         (ehk.ptr ? 1 + varint_len(ehk.len) + ehk.len : 0) + 1 +
                         varint_len(rec_len) + rec_len + outer_len(a, pk.len);
        if (alone > a->opts.max_bytes)
            return tp_error__at(err, TP_E_TOO_LARGE, TP_NO_OFFSET, "data",
                                "KPL user record of %llu bytes aggregated cannot fit in %llu "
                                "bytes even alone",
                                (unsigned long long)alone, (unsigned long long)a->opts.max_bytes);
        return tp_error__at(err, TP_E_LIMIT, TP_NO_OFFSET, NULL,
                            "KPL aggregate full: %llu bytes with this record, cap %llu "
                            "(finish it and add the record to the next)",
                            (unsigned long long)size, (unsigned long long)a->opts.max_bytes);
    }
    /* Reserve everything first: a failure leaves the aggregator as it was. */
    tp_status st = tp_buf_reserve(&a->recs, (size_t)p.rec_bytes, err);
    if (st == TP_OK && p.new_pk)
        st = tp_buf_reserve(&a->pk_tab, (size_t)p.pk_bytes, err);
    if (st == TP_OK && p.new_pk)
        st = ks_reserve(&a->pks, a->alloc, pk.len, err);
    if (st == TP_OK && p.new_ehk)
        st = tp_buf_reserve(&a->ehk_tab, (size_t)p.ehk_bytes, err);
    if (st == TP_OK && p.new_ehk)
        st = ks_reserve(&a->ehks, a->alloc, ehk.len, err);
    if (st != TP_OK)
        return st;

    if (p.new_pk) {
        ks_add(&a->pks, pk);
        put_bytes_field(&a->pk_tab, TAG_PK_TABLE, pk);
    }
    if (p.new_ehk) {
        ks_add(&a->ehks, ehk);
        put_bytes_field(&a->ehk_tab, TAG_EHK_TABLE, ehk);
    }
    uint8_t *o = a->recs.ptr + a->recs.len;
    size_t n = 0;
    o[n++] = TAG_RECORD;
    n += varint_put(o + n, p.rec_len);
    o[n++] = TAG_PK_INDEX;
    n += varint_put(o + n, p.pk_index);
    if (ehk.ptr) {
        o[n++] = TAG_EHK_INDEX;
        n += varint_put(o + n, p.ehk_index);
    }
    o[n++] = TAG_DATA;
    n += varint_put(o + n, data.len);
    if (data.len)
        memcpy(o + n, data.ptr, data.len);
    a->recs.len += n + data.len;
    a->recs.ptr[a->recs.len] = 0; /* tp_buf keeps a NUL after len */
    if (p.new_pk)
        a->pk_tab.ptr[a->pk_tab.len] = 0;
    if (p.new_ehk)
        a->ehk_tab.ptr[a->ehk_tab.len] = 0;
    if (a->count == 0)
        a->first_ehk = ehk.ptr ? p.ehk_index : SIZE_MAX;
    a->count++;
    return TP_OK;
}

tp_status tp_kpl_aggregator_finish(tp_kpl_aggregator *a, tp_buf *out, tp_kpl_outer *outer,
                                   tp_error *err)
{
    if (!a || !out)
        return tp_error__set(err, TP_E_INVALID, "tp_kpl_aggregator_finish: NULL argument");
    tp_kpl_outer o;
    memset(&o, 0, sizeof o);
    if (a->count) {
        tp_cursor pk0 = ks_key(&a->pks, 0);
        if (a->opts.outer_key == TP_KPL_OUTER_KPL) {
            o.partition_key[0] = 'a';
        } else {
            memcpy(o.partition_key, pk0.ptr, pk0.len); /* <= 1024 bytes: checked on add */
            o.partition_key[pk0.len] = 0;
        }
        if (a->first_ehk != SIZE_MAX) {
            tp_cursor e = ks_key(&a->ehks, a->first_ehk);
            memcpy(o.explicit_hash_key, e.ptr, e.len); /* <= 39 digits: checked on add */
            o.explicit_hash_key[e.len] = 0;
        } else if (tp_kpl__hash_key_of(o.explicit_hash_key, pk0) != 0) {
            return tp_error__set(err, TP_E_UNSUPPORTED, "MD5 is not available from OpenSSL");
        }
    }
    size_t total = (size_t)tp_kpl_aggregator_blob_bytes(a);
    tp_status st = tp_buf_reserve(out, total, err);
    if (st != TP_OK)
        return st;
    size_t start = out->len;
    uint8_t *p = put_head(a, out->ptr + out->len);
    if (a->recs.len > a->head)
        memcpy(p, a->recs.ptr + a->head, a->recs.len - a->head);
    p += a->recs.len - a->head;
    tp_cursor proto = tp_cursor_make(out->ptr + start + TP_KPL_MAGIC_LEN,
                                     (size_t)(p - (out->ptr + start + TP_KPL_MAGIC_LEN)));
    if (tp_kpl__md5(p, proto) != 0)
        return tp_error__set(err, TP_E_UNSUPPORTED, "MD5 is not available from OpenSSL");
    out->len = start + total;
    out->ptr[out->len] = 0;
    if (outer)
        *outer = o;
    tp_kpl_aggregator_reset(a);
    return TP_OK;
}

/* ---- the reader ------------------------------------------------------------------ */

struct tp_kpl_reader {
    tp_allocator alloc_copy;
    const tp_allocator *alloc;
    tp_cursor in;
    tp_cursor *pk, *ehk; /* the key tables, views into `in` */
    size_t npk, nehk, cap_pk, cap_ehk;
    size_t nrec;
    size_t pos;  /* offset in `in` where the scan for the next record resumes */
    size_t end;  /* offset of the MD5: the protobuf is [4, end) */
    size_t next; /* sub-sequence of the next record */
    int ready;
};

tp_status tp_kpl_reader_new(tp_kpl_reader **out, const tp_allocator *alloc, tp_error *err)
{
    if (!out)
        return tp_error__set(err, TP_E_INVALID, "tp_kpl_reader_new: out is NULL");
    tp_kpl_reader *r = tp__calloc(alloc, 1, sizeof *r);
    *out = NULL;
    if (!r)
        return tp_error__set(err, TP_E_NOMEM, "out of memory creating a KPL reader");
    if (alloc) {
        r->alloc_copy = *alloc;
        r->alloc = &r->alloc_copy;
    }
    *out = r;
    return TP_OK;
}

void tp_kpl_reader_free(tp_kpl_reader *r)
{
    if (!r)
        return;
    tp__free(r->alloc, r->pk);
    tp__free(r->alloc, r->ehk);
    tp__free_owner(r->alloc, r);
}

/* One protobuf field read at p[*pos] (bounded by `end`). */
typedef struct pb_field {
    size_t at;       /* offset of the tag */
    uint64_t number; /* field number */
    unsigned wire;   /* wire type */
    uint64_t value;  /* VARINT: the value */
    size_t val_at;   /* LEN: offset of the payload */
    size_t val_len;  /* LEN: its length */
} pb_field;

/* 0: read; -1: truncated (*bad at the varint); -2: longer than 10 bytes or over 64 bits. */
static int pb_varint(const uint8_t *p, size_t *pos, size_t end, uint64_t *v)
{
    uint64_t x = 0;
    size_t i = *pos;
    for (unsigned k = 0; k < 10; k++) {
        if (i >= end)
            return -1;
        uint8_t b = p[i++];
        if (k == 9 && b > 1)
            return -2;
        x |= (uint64_t)(b & 0x7F) << (7 * k);
        if (!(b & 0x80)) {
            *v = x;
            *pos = i;
            return 0;
        }
    }
    return -2;
}

typedef struct perr {
    tp_status code;
    size_t offset;
    const char *field;
    char msg[TP_ERROR_MESSAGE_MAX];
} perr;

static int fail(perr *e, size_t offset, const char *field, const char *fmt, ...) TP_PRINTF(4, 5);
static int fail(perr *e, size_t offset, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    e->code = TP_E_PARSE;
    e->offset = offset;
    e->field = field;
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

/* Read the field at *pos, in a message named `msg` whose field `names[n]`
 * (n < count) expects wire type `wires[n]`. Unknown fields are skipped after
 * a check of their framing (varint, 64-bit, length-delimited, 32-bit); groups
 * are refused. 0 and *pos past the field, or -1 with `e` set. */
static int pb_next(const uint8_t *p, size_t *pos, size_t end, const char *msg,
                   const char *const *names, const unsigned *wires, size_t count, pb_field *f,
                   perr *e)
{
    uint64_t tag = 0;
    f->at = *pos;
    int rc = pb_varint(p, pos, end, &tag);
    if (rc == -1)
        return fail(e, f->at, msg, "KPL %s: field tag runs past the end of its message", msg);
    if (rc == -2 || tag > 0xFFFFFFFFu)
        return fail(e, f->at, msg, "KPL %s: field tag is not a valid varint of 32 bits", msg);
    f->number = tag >> 3;
    f->wire = (unsigned)(tag & 7);
    if (f->number == 0)
        return fail(e, f->at, msg, "KPL %s: field number 0", msg);
    const char *name = f->number < count ? names[f->number] : NULL;
    if (name && wires[f->number] != f->wire)
        return fail(e, f->at, name, "KPL %s.%s: wire type %u, expected %u", msg, name, f->wire,
                    wires[f->number]);
    size_t at = *pos;
    switch (f->wire) {
    case 0:
        rc = pb_varint(p, pos, end, &f->value);
        if (rc == -1)
            return fail(e, at, name ? name : msg, "KPL %s: varint runs past the end", msg);
        if (rc == -2)
            return fail(e, at, name ? name : msg, "KPL %s: varint longer than 64 bits", msg);
        return 0;
    case 1:
    case 5: {
        size_t w = f->wire == 1 ? 8 : 4;
        if (end - *pos < w)
            return fail(e, f->at, msg, "KPL %s: fixed-width field %llu runs past the end", msg,
                        (unsigned long long)f->number);
        *pos += w;
        return 0;
    }
    case 2: {
        uint64_t len = 0;
        rc = pb_varint(p, pos, end, &len);
        if (rc == -1)
            return fail(e, at, name ? name : msg, "KPL %s: length runs past the end", msg);
        if (rc == -2)
            return fail(e, at, name ? name : msg, "KPL %s: length is not a valid varint", msg);
        if (len > end - *pos)
            return fail(e, at, name ? name : msg,
                        "KPL %s: length %llu runs past the end of its message (%zu bytes left)",
                        name ? name : msg, (unsigned long long)len, end - *pos);
        f->val_at = *pos;
        f->val_len = (size_t)len;
        *pos += (size_t)len;
        return 0;
    }
    case 3:
    case 4:
        return fail(e, f->at, msg, "KPL %s: field %llu is a group (not supported)", msg,
                    (unsigned long long)f->number);
    default:
        return fail(e, f->at, msg, "KPL %s: field %llu has invalid wire type %u", msg,
                    (unsigned long long)f->number, f->wire);
    }
}

static const char *const kTopNames[] = {NULL, "partition_key_table", "explicit_hash_key_table",
                                        "records"};
static const unsigned kTopWires[] = {0, 2, 2, 2};
static const char *const kRecNames[] = {NULL, "partition_key_index", "explicit_hash_key_index",
                                        "data", "tags"};
static const unsigned kRecWires[] = {0, 0, 0, 2, 2};
static const char *const kTagNames[] = {NULL, "key", "value"};
static const unsigned kTagWires[] = {0, 2, 2};

typedef struct rec_view {
    uint64_t pki, ehki;
    int has_pki, has_ehki, has_data;
    size_t pki_at, ehki_at;
    tp_cursor data;
    uint32_t tags;
} rec_view;

/* Parse the Record message in [at, at + len); `index` names it in errors. */
static int parse_record(const uint8_t *p, size_t at, size_t len, size_t index, rec_view *rv,
                        perr *e)
{
    memset(rv, 0, sizeof *rv);
    size_t pos = at, end = at + len;
    pb_field f;
    while (pos < end) {
        if (pb_next(p, &pos, end, "Record", kRecNames, kRecWires, TP_ARRAY_LEN(kRecNames), &f,
                    e) != 0)
            return -1;
        switch (f.number) {
        case 1: /* last one wins, as protobuf merges scalars */
            rv->pki = f.value;
            rv->has_pki = 1;
            rv->pki_at = f.at;
            break;
        case 2:
            rv->ehki = f.value;
            rv->has_ehki = 1;
            rv->ehki_at = f.at;
            break;
        case 3:
            rv->data = tp_cursor_make(p + f.val_at, f.val_len);
            rv->has_data = 1;
            break;
        case 4: {
            size_t tpos = f.val_at, tend = f.val_at + f.val_len;
            int has_key = 0;
            pb_field g;
            while (tpos < tend) {
                if (pb_next(p, &tpos, tend, "Tag", kTagNames, kTagWires, TP_ARRAY_LEN(kTagNames),
                            &g, e) != 0)
                    return -1;
                if (g.number == 1)
                    has_key = 1;
            }
            if (!has_key)
                return fail(e, f.at, "key", "KPL records[%zu]: a tag without its required key",
                            index);
            if (rv->tags < UINT32_MAX)
                rv->tags++;
            break;
        }
        default:
            break;
        }
    }
    if (!rv->has_pki)
        return fail(e, at, "partition_key_index",
                    "KPL records[%zu]: no partition_key_index (required)", index);
    if (!rv->has_data)
        return fail(e, at, "data", "KPL records[%zu]: no data (required)", index);
    return 0;
}

static tp_status reader_fail(tp_kpl_reader *r, const perr *e, tp_error *err)
{
    r->ready = 0;
    return tp_error__at(err, e->code, e->offset, e->field, "%s", e->msg);
}

tp_status tp_kpl_reader_begin(tp_kpl_reader *r, tp_cursor in, size_t *count, tp_error *err)
{
    perr e = {0};
    if (count)
        *count = 0;
    if (!r)
        return tp_error__set(err, TP_E_INVALID, "tp_kpl_reader_begin: reader is NULL");
    r->ready = 0;
    r->npk = r->nehk = r->nrec = 0;
    if (!in.ptr && in.len)
        return tp_error__set(err, TP_E_INVALID, "tp_kpl_reader_begin: NULL input");
    if (!tp_kpl_is_aggregated(in))
        return tp_error__at(err, TP_E_INVALID, 0, "magic",
                            "not a KPL aggregated record: no magic F3 89 9A C2 at byte 0");
    if (in.len < TP_KPL_OVERHEAD)
        return tp_error__at(err, TP_E_PARSE, in.len, "md5",
                            "KPL aggregate truncated: %zu bytes, at least 20 (magic and MD5)",
                            in.len);
    const uint8_t *p = in.ptr;
    size_t end = in.len - TP_KPL_DIGEST_LEN;
    uint8_t md[16];
    if (tp_kpl__md5(md, tp_cursor_make(p + TP_KPL_MAGIC_LEN, end - TP_KPL_MAGIC_LEN)) != 0)
        return tp_error__set(err, TP_E_UNSUPPORTED, "MD5 is not available from OpenSSL");
    if (memcmp(md, p + end, 16) != 0)
        return tp_error__at(err, TP_E_CHECKSUM, end, "md5",
                            "KPL aggregate: the MD5 at byte %zu does not match the protobuf "
                            "(bytes 4 to %zu)",
                            end, end);

    /* Pass 1: framing of every top-level field and the sizes of the tables
     * (they may come in any order, records before keys included). */
    size_t pos = TP_KPL_MAGIC_LEN, npk = 0, nehk = 0;
    pb_field f;
    while (pos < end) {
        if (pb_next(p, &pos, end, "AggregatedRecord", kTopNames, kTopWires,
                    TP_ARRAY_LEN(kTopNames), &f, &e) != 0)
            return reader_fail(r, &e, err);
        npk += f.number == 1;
        nehk += f.number == 2;
    }
    if (npk > r->cap_pk) {
        tp_cursor *n = tp__realloc(r->alloc, r->pk, npk * sizeof *n);
        if (!n)
            return tp_error__set(err, TP_E_NOMEM, "KPL reader: out of memory");
        r->pk = n;
        r->cap_pk = npk;
    }
    if (nehk > r->cap_ehk) {
        tp_cursor *n = tp__realloc(r->alloc, r->ehk, nehk * sizeof *n);
        if (!n)
            return tp_error__set(err, TP_E_NOMEM, "KPL reader: out of memory");
        r->ehk = n;
        r->cap_ehk = nehk;
    }
    /* Pass 2: the tables, then every record with its indexes. */
    pos = TP_KPL_MAGIC_LEN;
    while (pos < end) {
        (void)pb_next(p, &pos, end, "AggregatedRecord", kTopNames, kTopWires,
                      TP_ARRAY_LEN(kTopNames), &f, &e);
        if (f.number == 1)
            r->pk[r->npk++] = tp_cursor_make(p + f.val_at, f.val_len);
        else if (f.number == 2)
            r->ehk[r->nehk++] = tp_cursor_make(p + f.val_at, f.val_len);
    }
    pos = TP_KPL_MAGIC_LEN;
    while (pos < end) {
        (void)pb_next(p, &pos, end, "AggregatedRecord", kTopNames, kTopWires,
                      TP_ARRAY_LEN(kTopNames), &f, &e);
        if (f.number != 3)
            continue;
        rec_view rv;
        if (parse_record(p, f.val_at, f.val_len, r->nrec, &rv, &e) != 0)
            return reader_fail(r, &e, err);
        if (rv.pki >= r->npk) {
            fail(&e, rv.pki_at, "partition_key_index",
                 "KPL records[%zu]: partition_key_index %llu, but the table has %zu keys",
                 r->nrec, (unsigned long long)rv.pki, r->npk);
            return reader_fail(r, &e, err);
        }
        if (rv.has_ehki && rv.ehki >= r->nehk) {
            fail(&e, rv.ehki_at, "explicit_hash_key_index",
                 "KPL records[%zu]: explicit_hash_key_index %llu, but the table has %zu keys",
                 r->nrec, (unsigned long long)rv.ehki, r->nehk);
            return reader_fail(r, &e, err);
        }
        r->nrec++;
    }
    r->in = in;
    r->pos = TP_KPL_MAGIC_LEN;
    r->end = end;
    r->next = 0;
    r->ready = 1;
    if (count)
        *count = r->nrec;
    return TP_OK;
}

tp_status tp_kpl_reader_next(tp_kpl_reader *r, tp_kpl_record *out)
{
    if (!r || !out || !r->ready)
        return TP_DONE;
    const uint8_t *p = r->in.ptr;
    perr e;
    pb_field f;
    while (r->pos < r->end) {
        /* begin checked all of it: neither call can fail here */
        (void)pb_next(p, &r->pos, r->end, "AggregatedRecord", kTopNames, kTopWires,
                      TP_ARRAY_LEN(kTopNames), &f, &e);
        if (f.number != 3)
            continue;
        rec_view rv;
        (void)parse_record(p, f.val_at, f.val_len, r->next, &rv, &e);
        memset(out, 0, sizeof *out);
        out->partition_key = r->pk[rv.pki];
        if (rv.has_ehki)
            out->explicit_hash_key = r->ehk[rv.ehki];
        out->data = rv.data;
        out->sub_sequence = r->next++;
        out->tag_count = rv.tags;
        return TP_OK;
    }
    r->ready = 0;
    return TP_DONE;
}
