/* The KPL aggregate reader, fuzzed two ways.
 *
 * Input: a mode byte, then bytes. Mode bit 0 set: the bytes are the whole
 * aggregate as is (magic, length and checksum paths). Clear: the bytes are
 * the protobuf, wrapped in the magic and their own MD5 so that the fuzzer
 * reaches the protobuf reader.
 *
 * 1. Differential: a straightforward decoder written here (one pass into
 *    arrays, then the indexes resolved) must accept exactly what
 *    tp_kpl_reader_begin accepts and find the same records.
 * 2. Round trip: when every key is one the aggregator takes, the records
 *    aggregated again and read back are the same, and the aggregator's
 *    predicted size is the blob's. */
#include "codec/kpl_int.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the reference decoder ------------------------------------------------ */

typedef struct ref_rec {
    int has_pki, has_ehki, has_data;
    uint64_t pki, ehki;
    tp_cursor data;
    uint32_t tags;
} ref_rec;

typedef struct ref {
    tp_cursor pk[4096], ehk[4096];
    size_t npk, nehk;
    ref_rec *recs;
    size_t nrec;
} ref;

/* 0 ok, -1 bad. */
static int rvarint(const uint8_t *p, size_t n, size_t *i, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (*i >= n)
            return -1;
        uint8_t b = p[(*i)++];
        if (shift == 63 && b > 1)
            return -1;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

/* One field: number, wire type, varint value or payload. 0 ok, -1 bad. */
static int rfield(const uint8_t *p, size_t n, size_t *i, uint64_t *num, int *wt, uint64_t *val,
                  tp_cursor *payload)
{
    uint64_t tag;
    if (rvarint(p, n, i, &tag) || tag > 0xffffffffu || (tag >> 3) == 0)
        return -1;
    *num = tag >> 3;
    *wt = (int)(tag & 7);
    if (*wt == 0)
        return rvarint(p, n, i, val);
    if (*wt == 1 || *wt == 5) {
        size_t w = *wt == 1 ? 8 : 4;
        if (n - *i < w)
            return -1;
        *i += w;
        return 0;
    }
    if (*wt == 2) {
        uint64_t len;
        if (rvarint(p, n, i, &len) || len > n - *i)
            return -1;
        *payload = tp_cursor_make(p + *i, (size_t)len);
        *i += (size_t)len;
        return 0;
    }
    return -1;
}

static int ref_tag(tp_cursor m)
{
    size_t i = 0;
    int key = 0;
    while (i < m.len) {
        uint64_t num, val;
        int wt;
        tp_cursor pl;
        if (rfield(m.ptr, m.len, &i, &num, &wt, &val, &pl))
            return -1;
        if ((num == 1 || num == 2) && wt != 2)
            return -1;
        key |= num == 1;
    }
    return key ? 0 : -1;
}

static int ref_record(tp_cursor m, ref_rec *r)
{
    memset(r, 0, sizeof *r);
    size_t i = 0;
    while (i < m.len) {
        uint64_t num, val = 0;
        int wt;
        tp_cursor pl = {0};
        if (rfield(m.ptr, m.len, &i, &num, &wt, &val, &pl))
            return -1;
        if (num == 1 || num == 2) {
            if (wt != 0)
                return -1;
            if (num == 1)
                r->pki = val, r->has_pki = 1;
            else
                r->ehki = val, r->has_ehki = 1;
        } else if (num == 3 || num == 4) {
            if (wt != 2)
                return -1;
            if (num == 3) {
                r->data = pl;
                r->has_data = 1;
            } else {
                if (ref_tag(pl))
                    return -1;
                r->tags++;
            }
        }
    }
    return r->has_pki && r->has_data ? 0 : -1;
}

/* 0: a valid aggregate (r filled); -1: refused; 1: too big for this decoder. */
static int ref_decode(tp_cursor in, ref *r)
{
    static const uint8_t magic[4] = {0xF3, 0x89, 0x9A, 0xC2};
    r->npk = r->nehk = r->nrec = 0;
    r->recs = NULL;
    if (in.len < 20 || memcmp(in.ptr, magic, 4) != 0)
        return -1;
    tp_cursor pb = tp_cursor_make(in.ptr + 4, in.len - 20);
    uint8_t md[16];
    if (tp_kpl__md5(md, pb) || memcmp(md, in.ptr + in.len - 16, 16) != 0)
        return -1;
    r->recs = calloc(pb.len / 2 + 1, sizeof *r->recs); /* a record takes at least 2 bytes */
    if (!r->recs)
        return 1;
    size_t i = 0;
    while (i < pb.len) {
        uint64_t num, val;
        int wt;
        tp_cursor pl = {0};
        if (rfield(pb.ptr, pb.len, &i, &num, &wt, &val, &pl))
            return -1;
        if (num >= 1 && num <= 3 && wt != 2)
            return -1;
        if (num == 1) {
            if (r->npk == 4096)
                return 1;
            r->pk[r->npk++] = pl;
        } else if (num == 2) {
            if (r->nehk == 4096)
                return 1;
            r->ehk[r->nehk++] = pl;
        } else if (num == 3) {
            if (ref_record(pl, &r->recs[r->nrec]))
                return -1;
            r->nrec++;
        }
    }
    for (size_t k = 0; k < r->nrec; k++) {
        if (r->recs[k].pki >= r->npk || (r->recs[k].has_ehki && r->recs[k].ehki >= r->nehk))
            return -1;
    }
    return 0;
}

static int same(tp_cursor a, tp_cursor b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* ---- the target --------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static tp_kpl_reader *r, *r2;
    static tp_kpl_aggregator *agg;
    static ref ref;
    static tp_buf blob, again;
    if (!r) {
        tp_kpl_aggregator_options o = TP_KPL_AGGREGATOR_OPTIONS_INIT;
        o.max_bytes = (uint64_t)1 << 40;
        if (tp_kpl_reader_new(&r, NULL, NULL) || tp_kpl_reader_new(&r2, NULL, NULL) ||
            tp_kpl_aggregator_new(&agg, &o, NULL))
            __builtin_trap();
    }
    if (size < 1)
        return 0;
    tp_buf_clear(&blob);
    if (data[0] & 1) {
        if (tp_buf_append(&blob, data + 1, size - 1, NULL))
            return 0;
    } else {
        uint8_t md[16];
        if (tp_buf_append(&blob, "\xf3\x89\x9a\xc2", 4, NULL) ||
            tp_buf_append(&blob, data + 1, size - 1, NULL) ||
            tp_kpl__md5(md, tp_cursor_make(data + 1, size - 1)) ||
            tp_buf_append(&blob, md, 16, NULL))
            return 0;
    }
    tp_cursor in = tp_buf_cursor(&blob);
    size_t count = 0;
    tp_error err;
    tp_status st = tp_kpl_reader_begin(r, in, &count, &err);
    int rs = ref_decode(in, &ref);
    if (rs == 1)
        goto done;
    if ((st == TP_OK) != (rs == 0))
        __builtin_trap();
    if (st != TP_OK) {
        /* a clear error: a message, and an offset inside the input */
        if (err.code != st || !err.message[0] || (err.offset > in.len))
            __builtin_trap();
        goto done;
    }
    if (count != ref.nrec)
        __builtin_trap();
    int can_reaggregate = 1;
    tp_kpl_aggregator_reset(agg);
    for (size_t k = 0; k < count; k++) {
        tp_kpl_record rec;
        if (tp_kpl_reader_next(r, &rec) != TP_OK || rec.sub_sequence != k)
            __builtin_trap();
        const ref_rec *w = &ref.recs[k];
        if (!same(rec.partition_key, ref.pk[w->pki]) || !same(rec.data, w->data) ||
            rec.tag_count != w->tags || (rec.explicit_hash_key.ptr != NULL) != w->has_ehki ||
            (w->has_ehki && !same(rec.explicit_hash_key, ref.ehk[w->ehki])))
            __builtin_trap();
        if (can_reaggregate) {
            uint64_t want = tp_kpl_aggregator_size_with(agg, rec.partition_key,
                                                        rec.explicit_hash_key, rec.data);
            tp_status as = tp_kpl_aggregator_add(agg, rec.partition_key, rec.explicit_hash_key,
                                                 rec.data, NULL);
            if (as == TP_E_INVALID)
                can_reaggregate = 0;
            else if (as != TP_OK || tp_kpl_aggregator_size(agg) != want)
                __builtin_trap();
        }
    }
    tp_kpl_record extra;
    if (tp_kpl_reader_next(r, &extra) != TP_DONE)
        __builtin_trap();
    if (can_reaggregate && count) {
        uint64_t predicted = tp_kpl_aggregator_blob_bytes(agg);
        tp_buf_clear(&again);
        if (tp_kpl_aggregator_finish(agg, &again, NULL, NULL) != TP_OK || again.len != predicted)
            __builtin_trap();
        size_t c2 = 0;
        if (tp_kpl_reader_begin(r2, tp_buf_cursor(&again), &c2, NULL) != TP_OK || c2 != count)
            __builtin_trap();
        for (size_t k = 0; k < count; k++) {
            tp_kpl_record a, b;
            const ref_rec *w = &ref.recs[k];
            if (tp_kpl_reader_next(r2, &b) != TP_OK)
                __builtin_trap();
            a.partition_key = ref.pk[w->pki];
            a.data = w->data;
            if (!same(a.partition_key, b.partition_key) || !same(a.data, b.data) ||
                (b.explicit_hash_key.ptr != NULL) != w->has_ehki ||
                (w->has_ehki && !same(b.explicit_hash_key, ref.ehk[w->ehki])))
                __builtin_trap();
        }
    }
done:
    free(ref.recs);
    ref.recs = NULL;
    return 0;
}
