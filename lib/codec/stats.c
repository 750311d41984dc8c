/* Floor 2: per-symbol statistics in an open-addressing hash table. */
#include "tradepipe/stats.h"

#include "core/core_int.h"

#include <stdlib.h>

__extension__ typedef unsigned __int128 u128;
__extension__ typedef __int128 i128;

struct tp_stats {
    const tp_allocator *alloc;
    tp_symbol_stats *entries;
    size_t n, cap;
    uint32_t *slots; /* index + 1 into entries; 0 = empty */
    uint32_t *hashes;
    uint64_t *keys; /* per slot: the symbol's first 8 bytes, zero padded */
    size_t nslots;  /* power of two */
    uint64_t records;
    const tp_symbol_stats **order; /* sorted view, built on demand */
    int sorted;
};

static uint32_t hash_sym(const char *s, size_t n)
{
    /* Eight bytes at a time (ticker symbols are short), then a final mix. */
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        s += 8;
        n -= 8;
    }
    if (n) {
        uint64_t w = 0;
        memcpy(&w, s, n);
        h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
    }
    h ^= h >> 33;
    return (uint32_t)h;
}

tp_status tp_stats_new(tp_stats **out, const tp_allocator *alloc, tp_error *err)
{
    tp_stats *s = tp__calloc(alloc, 1, sizeof *s);
    if (!s)
        return tp_error__set(err, TP_E_NOMEM, "out of memory creating stats");
    s->alloc = alloc;
    s->nslots = 64;
    s->slots = tp__calloc(alloc, s->nslots, sizeof *s->slots);
    s->hashes = tp__calloc(alloc, s->nslots, sizeof *s->hashes);
    s->keys = tp__calloc(alloc, s->nslots, sizeof *s->keys);
    if (!s->slots || !s->hashes || !s->keys) {
        tp_stats_free(s);
        return tp_error__set(err, TP_E_NOMEM, "out of memory creating stats");
    }
    *out = s;
    return TP_OK;
}

void tp_stats_free(tp_stats *s)
{
    if (!s)
        return;
    tp__free(s->alloc, s->entries);
    tp__free(s->alloc, s->slots);
    tp__free(s->alloc, s->hashes);
    tp__free(s->alloc, s->keys);
    tp__free(s->alloc, s->order);
    tp__free(s->alloc, s);
}

static tp_status grow_table(tp_stats *s, tp_error *err)
{
    size_t ns = s->nslots * 2;
    uint32_t *slots = tp__calloc(s->alloc, ns, sizeof *slots);
    uint32_t *hashes = tp__calloc(s->alloc, ns, sizeof *hashes);
    uint64_t *keys = tp__calloc(s->alloc, ns, sizeof *keys);
    if (!slots || !hashes || !keys) {
        tp__free(s->alloc, slots);
        tp__free(s->alloc, hashes);
        tp__free(s->alloc, keys);
        return tp_error__set(err, TP_E_NOMEM, "out of memory growing stats");
    }
    for (size_t i = 0; i < s->nslots; i++) {
        if (!s->slots[i])
            continue;
        size_t j = s->hashes[i] & (ns - 1);
        while (slots[j])
            j = (j + 1) & (ns - 1);
        slots[j] = s->slots[i];
        hashes[j] = s->hashes[i];
        keys[j] = s->keys[i];
    }
    tp__free(s->alloc, s->slots);
    tp__free(s->alloc, s->hashes);
    tp__free(s->alloc, s->keys);
    s->slots = slots;
    s->hashes = hashes;
    s->keys = keys;
    s->nslots = ns;
    return TP_OK;
}

static void add_u128(uint64_t *hi, uint64_t *lo, int64_t v)
{
    u128 x = ((u128)*hi << 64) | *lo;
    if (v >= 0)
        x += (uint64_t)v;
    else
        x -= (u128)(0 - (uint64_t)v);
    *hi = (uint64_t)(x >> 64);
    *lo = (uint64_t)x;
}

/* The entry for symbol `sym` (n bytes; sym points into a TP_SYMBOL_MAX array,
 * so reading 8 bytes is in bounds), created empty if new. */
/* The entry of symbol sym[0..n) (NULL if none), with its hash, key and the
 * slot where it is or would go. */
static tp_symbol_stats *find(const tp_stats *s, const char *sym, size_t n, uint32_t *hp,
                             uint64_t *kp, size_t *slot)
{
    /* A whole-word load then a mask avoids a store-forwarding stall. */
    uint64_t k8;
    memcpy(&k8, sym, 8);
    if (n < 8)
        k8 &= (UINT64_C(1) << (8 * n)) - 1;
    uint32_t h = n <= 8 ? (uint32_t)((k8 * 0x9e3779b97f4a7c15ULL) >> 32) : hash_sym(sym, n);
    size_t mask = s->nslots - 1, j = h & mask;
    *hp = h;
    *kp = k8;
    while (s->slots[j]) {
        if (s->hashes[j] == h && s->keys[j] == k8) {
            /* Short symbols are decided by the zero-padded key alone. */
            tp_symbol_stats *c = &s->entries[s->slots[j] - 1];
            if (c->symbol[n] == 0 && (n <= 8 || memcmp(c->symbol, sym, n) == 0)) {
                *slot = j;
                return c;
            }
        }
        j = (j + 1) & mask;
    }
    *slot = j;
    return NULL;
}

static tp_status lookup(tp_stats *s, const char *sym, size_t n, tp_symbol_stats **out,
                        tp_error *err)
{
    uint32_t h;
    uint64_t k8;
    size_t j, mask;
    tp_symbol_stats *found = find(s, sym, n, &h, &k8, &j);
    if (found) {
        *out = found;
        return TP_OK;
    }
    if (s->n >= INT32_MAX)
        return tp_error__set(err, TP_E_LIMIT, "too many symbols");
    tp_symbol_stats *grown = tp__grow(s->alloc, s->entries, &s->cap, s->n + 1, sizeof *grown);
    if (!grown)
        return tp_error__set(err, TP_E_NOMEM, "out of memory adding a symbol");
    s->entries = grown;
    if ((s->n + 1) * 2 > s->nslots) {
        tp_status st = grow_table(s, err);
        if (st != TP_OK)
            return st;
        mask = s->nslots - 1;
        for (j = h & mask; s->slots[j]; j = (j + 1) & mask)
            ;
    }
    tp_symbol_stats *e = &s->entries[s->n];
    memset(e, 0, sizeof *e);
    memcpy(e->symbol, sym, n);
    e->min_price_e8 = INT64_MAX;
    e->max_price_e8 = INT64_MIN;
    s->slots[j] = (uint32_t)(s->n + 1);
    s->hashes[j] = h;
    s->keys[j] = k8;
    s->n++;
    s->sorted = 0;
    *out = e;
    return TP_OK;
}

tp_status tp_stats_add(tp_stats *s, const tp_trade *t, tp_error *err)
{
    size_t n = t->symbol_len ? t->symbol_len : strnlen(t->symbol, sizeof t->symbol);
    tp_symbol_stats *e;
    tp_status st = lookup(s, t->symbol, n, &e, err);
    if (st != TP_OK)
        return st;
    e->count++;
    if (t->price_e8 < e->min_price_e8)
        e->min_price_e8 = t->price_e8;
    if (t->price_e8 > e->max_price_e8)
        e->max_price_e8 = t->price_e8;
    add_u128(&e->price_sum_hi, &e->price_sum_lo, t->price_e8);
    add_u128(&e->volume_sum_hi, &e->volume_sum_lo, t->volume);
    s->records++;
    return TP_OK;
}

tp_status tp_stats_add_batch(tp_stats *s, const tp_trade *t, size_t n, size_t *done,
                             tp_error *err)
{
    size_t i = 0;
    tp_status st = TP_OK;
    if (!s || (!t && n > 0))
        st = tp_error__set(err, TP_E_INVALID, "tp_stats_add_batch: NULL argument");
    while (st == TP_OK && i < n) {
        st = tp_stats_add(s, &t[i], err);
        if (st == TP_OK)
            i++;
    }
    if (done)
        *done = i;
    return st;
}

static void add_pair(uint64_t *hi, uint64_t *lo, uint64_t bhi, uint64_t blo)
{
    u128 x = ((u128)*hi << 64) | *lo;
    x += ((u128)bhi << 64) | blo;
    *hi = (uint64_t)(x >> 64);
    *lo = (uint64_t)x;
}

/* Room for `extra` more symbols, so that adding them cannot fail. */
static tp_status reserve(tp_stats *s, size_t extra, tp_error *err)
{
    if (extra > INT32_MAX - s->n)
        return tp_error__set(err, TP_E_LIMIT, "too many symbols");
    size_t want = s->n + extra;
    if (want > s->cap) {
        size_t nc = s->cap ? s->cap : 16;
        while (nc < want)
            nc *= 2;
        tp_symbol_stats *ne = tp__realloc(s->alloc, s->entries, nc * sizeof *ne);
        if (!ne)
            return tp_error__set(err, TP_E_NOMEM, "out of memory adding symbols");
        s->entries = ne;
        s->cap = nc;
    }
    while (want * 2 > s->nslots) {
        tp_status st = grow_table(s, err);
        if (st != TP_OK)
            return st;
    }
    return TP_OK;
}

tp_status tp_stats_merge(tp_stats *dst, const tp_stats *src, tp_error *err)
{
    /* All or nothing: room for src's new symbols first, so that a failure
     * leaves dst as it was (a retry must not count anything twice). */
    size_t missing = 0;
    for (size_t i = 0; i < src->n; i++) {
        uint32_t h;
        uint64_t k8;
        size_t j;
        const char *sym = src->entries[i].symbol;
        missing += find(dst, sym, strnlen(sym, TP_SYMBOL_MAX), &h, &k8, &j) == NULL;
    }
    tp_status rs = reserve(dst, missing, err);
    if (rs != TP_OK)
        return rs;
    for (size_t i = 0; i < src->n; i++) {
        const tp_symbol_stats *from = &src->entries[i];
        tp_symbol_stats *e;
        tp_status st = lookup(dst, from->symbol, strnlen(from->symbol, TP_SYMBOL_MAX), &e, err);
        if (st != TP_OK)
            return st;
        e->count += from->count;
        if (from->min_price_e8 < e->min_price_e8)
            e->min_price_e8 = from->min_price_e8;
        if (from->max_price_e8 > e->max_price_e8)
            e->max_price_e8 = from->max_price_e8;
        add_pair(&e->price_sum_hi, &e->price_sum_lo, from->price_sum_hi, from->price_sum_lo);
        add_pair(&e->volume_sum_hi, &e->volume_sum_lo, from->volume_sum_hi, from->volume_sum_lo);
    }
    dst->records += src->records;
    return TP_OK;
}

size_t tp_stats_symbols(const tp_stats *s)
{
    return s->n;
}

uint64_t tp_stats_records(const tp_stats *s)
{
    return s->records;
}

static int by_symbol(const void *a, const void *b)
{
    const tp_symbol_stats *x = *(const tp_symbol_stats *const *)a;
    const tp_symbol_stats *y = *(const tp_symbol_stats *const *)b;
    return strcmp(x->symbol, y->symbol);
}

const tp_symbol_stats *tp_stats_get(tp_stats *s, size_t i)
{
    if (i >= s->n)
        return NULL;
    if (!s->sorted) {
        const tp_symbol_stats **o = tp__realloc(s->alloc, s->order, s->n * sizeof *o);
        if (!o)
            return NULL;
        s->order = o;
        for (size_t k = 0; k < s->n; k++)
            o[k] = &s->entries[k];
        qsort(o, s->n, sizeof *o, by_symbol);
        s->sorted = 1;
    }
    return s->order[i];
}

static size_t fmt_u128(char *out, u128 v)
{
    char tmp[48];
    size_t k = 0, n = 0;
    do {
        tmp[k++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    while (k)
        out[n++] = tmp[--k];
    out[n] = 0;
    return n;
}

size_t tp_stats_format_sum(char out[TP_DECIMAL_STR_MAX], uint64_t hi, uint64_t lo)
{
    i128 v = (i128)(((u128)hi << 64) | lo);
    if (v < 0) {
        out[0] = '-';
        return 1 + fmt_u128(out + 1, (u128)0 - (u128)v);
    }
    return fmt_u128(out, (u128)v);
}

size_t tp_stats_format_avg(char out[TP_DECIMAL_STR_MAX], const tp_symbol_stats *e,
                           unsigned decimals, int keep_zeros)
{
    if (decimals > 30)
        decimals = 30;
    if (e->count == 0) {
        out[0] = '0';
        out[1] = 0;
        return 1;
    }
    i128 sum = (i128)(((u128)e->price_sum_hi << 64) | e->price_sum_lo);
    int neg = sum < 0;
    u128 num = neg ? (u128)0 - (u128)sum : (u128)sum;
    /* avg = num / (count * 1e8): long division, one digit past `decimals`
     * for rounding. */
    u128 den = (u128)e->count * (u128)TP_PRICE_SCALE;
    u128 ip = num / den, rem = num % den;
    char frac[40];
    for (unsigned k = 0; k <= decimals; k++) {
        rem *= 10; /* rem < den < 2^64 * 2^27: no overflow */
        frac[k] = (char)('0' + (int)(rem / den));
        rem %= den;
    }
    if (frac[decimals] >= '5') { /* round half away from zero */
        int k = (int)decimals - 1;
        while (k >= 0 && frac[k] == '9')
            frac[k--] = '0';
        if (k >= 0)
            frac[k]++;
        else
            ip++;
    }
    size_t n = 0;
    if (neg)
        out[n++] = '-';
    n += fmt_u128(out + n, ip);
    size_t nd = decimals;
    if (!keep_zeros)
        while (nd > 0 && frac[nd - 1] == '0')
            nd--;
    if (nd) {
        out[n++] = '.';
        memcpy(out + n, frac, nd);
        n += nd;
    }
    out[n] = 0;
    return n;
}
