/* Floor 2: the signal/position engine (see include/tradepipe/engine.h).
 *
 * Each symbol keeps the maximum of its last `window` prices in a monotonic
 * deque (a ring of (tick index, price) with strictly decreasing prices), so
 * the reference costs O(1) amortised per tick whatever the window. */
#include "tradepipe/engine.h"
#include "core/core_int.h"

#include <zlib.h>

__extension__ typedef __int128 tp_i128;

#define HUNDRED_PCT TP_PCT_E8(100)

typedef struct sym {
    uint64_t hash;
    int64_t qty;
    int64_t entry_e8;
    int64_t entry_ts_us;
    int64_t pnl_e8;
    uint64_t ticks; /* applied ticks; also the index of the next tick */
    uint64_t buys;
    uint64_t sells;
    uint32_t dq_head; /* ring index of the oldest deque entry */
    uint32_t dq_len;
    uint8_t name_len, entry_shard_len, entry_seq_len, last_shard_len, last_seq_len;
    char name[TP_SYMBOL_MAX];
    char entry_shard[TP_SHARD_MAX];
    char entry_seq[TP_SEQUENCE_MAX];
    char last_shard[TP_SHARD_MAX];
    char last_seq[TP_SEQUENCE_MAX];
    uint64_t *dq_idx; /* window entries, in the same allocation as the sym */
    int64_t *dq_price;
} sym;

struct tp_engine {
    tp_engine_options opt;
    const tp_allocator *alloc;
    sym **syms; /* in order of first appearance */
    size_t nsyms, cap_syms;
    uint32_t *table;  /* open addressing: index+1 into syms, 0 = empty */
    size_t table_cap; /* a power of two, at least twice nsyms */
    tp_engine_stats stats;
};

/* ---- options ------------------------------------------------------------- */

TP__DEFINE_INIT(tp_engine_options_init, tp_engine_options,
                TP_ENGINE_OPTIONS_VERSION, TP_ENGINE_OPTIONS_INIT)

static tp_status check_options(const tp_engine_options *o, tp_error *err)
{
    if (o->version != TP_ENGINE_OPTIONS_VERSION)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "version",
                            "unknown engine options version %u", (unsigned)o->version);
    if (o->flags & ~TP_ENGINE_STOP_LOSS)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "flags", "unknown engine flags 0x%x",
                            (unsigned)o->flags);
    if (o->window < 1 || o->window > TP_ENGINE_MAX_WINDOW)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "window",
                            "window must be 1..%u ticks, not %u", TP_ENGINE_MAX_WINDOW,
                            (unsigned)o->window);
    if (o->drop_pct_e8 < 0 || o->drop_pct_e8 > HUNDRED_PCT)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "drop_pct",
                            "drop_pct must be between 0 and 100");
    if (o->take_profit_pct_e8 < 0)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "take_profit_pct",
                            "take_profit_pct must not be negative");
    if (o->stop_loss_pct_e8 < 0 || o->stop_loss_pct_e8 > HUNDRED_PCT)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "stop_loss_pct",
                            "stop_loss_pct must be between 0 and 100");
    if (o->order_size <= 0)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "order_size",
                            "order_size must be positive");
    return TP_OK;
}

tp_status tp_engine_new(tp_engine **out, const tp_engine_options *opts, tp_error *err)
{
    tp_engine_options d = TP_ENGINE_OPTIONS_INIT;
    if (!out)
        return tp_error__set(err, TP_E_INVALID, "tp_engine_new: out is NULL");
    *out = NULL;
    if (!opts)
        opts = &d;
    tp_status st = check_options(opts, err);
    if (st != TP_OK)
        return st;
    tp_engine *e = tp__calloc(opts->alloc, 1, sizeof *e);
    if (!e)
        return tp_error__set(err, TP_E_NOMEM, "out of memory creating an engine");
    e->opt = *opts;
    if (!e->opt.max_symbols)
        e->opt.max_symbols = TP_ENGINE_DEFAULT_MAX_SYMBOLS;
    if (!(e->opt.flags & TP_ENGINE_STOP_LOSS))
        e->opt.stop_loss_pct_e8 = 0; /* not in force: normalised so snapshots compare */
    e->alloc = opts->alloc;
    *out = e;
    return TP_OK;
}

static void sym_free(const tp_allocator *a, sym *s) { tp__free(a, s); }

void tp_engine_free(tp_engine *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->nsyms; i++)
        sym_free(e->alloc, e->syms[i]);
    tp__free(e->alloc, e->syms);
    tp__free(e->alloc, e->table);
    tp__free(e->alloc, e);
}

void tp_engine_options_get(const tp_engine *e, tp_engine_options *out) { *out = e->opt; }

void tp_engine_stats_get(const tp_engine *e, tp_engine_stats *out)
{
    *out = e->stats;
    out->symbols = e->nsyms;
}

/* ---- symbol table -------------------------------------------------------- */

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h ^ (h >> 29);
}

/* The index+1 of the symbol in e->syms, 0 if absent. */
static uint32_t find_slot(const uint32_t *table, size_t cap, sym *const *syms, const uint8_t *name,
                          size_t len, uint64_t h)
{
    if (!cap)
        return 0;
    size_t mask = cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        uint32_t v = table[i];
        if (!v)
            return 0;
        const sym *s = syms[v - 1];
        if (s->hash == h && s->name_len == len && memcmp(s->name, name, len) == 0)
            return v;
    }
}

static sym *find_sym(const tp_engine *e, const uint8_t *name, size_t len, uint64_t h)
{
    uint32_t v = find_slot(e->table, e->table_cap, e->syms, name, len, h);
    return v ? e->syms[v - 1] : NULL;
}

static void table_put(uint32_t *table, size_t cap, uint64_t h, uint32_t v)
{
    size_t mask = cap - 1;
    size_t i = (size_t)h & mask;
    while (table[i])
        i = (i + 1) & mask;
    table[i] = v;
}

/* Make room for `extra` more symbols in the array and the hash table, so
 * inserting them cannot fail. */
static tp_status reserve_syms(tp_engine *e, size_t extra, tp_error *err)
{
    size_t need = e->nsyms + extra;
    if (need > e->cap_syms) {
        size_t cap = e->cap_syms ? e->cap_syms : 16;
        while (cap < need)
            cap *= 2;
        sym **ns = tp__realloc(e->alloc, e->syms, cap * sizeof *ns);
        if (!ns)
            return tp_error__set(err, TP_E_NOMEM, "out of memory growing the symbol table");
        e->syms = ns;
        e->cap_syms = cap;
    }
    if (need * 2 > e->table_cap) {
        size_t cap = e->table_cap ? e->table_cap : 32;
        while (need * 2 > cap)
            cap *= 2;
        uint32_t *nt = tp__calloc(e->alloc, cap, sizeof *nt);
        if (!nt)
            return tp_error__set(err, TP_E_NOMEM, "out of memory growing the symbol table");
        for (size_t i = 0; i < e->nsyms; i++)
            table_put(nt, cap, e->syms[i]->hash, (uint32_t)(i + 1));
        tp__free(e->alloc, e->table);
        e->table = nt;
        e->table_cap = cap;
    }
    return TP_OK;
}

static sym *sym_alloc(const tp_engine *e)
{
    size_t w = e->opt.window;
    size_t base = (sizeof(sym) + 15) & ~(size_t)15;
    sym *s = tp__malloc(e->alloc, base + w * (sizeof(uint64_t) + sizeof(int64_t)));
    if (!s)
        return NULL;
    memset(s, 0, sizeof *s);
    s->entry_ts_us = TP_ENGINE_NO_TIME;
    s->dq_idx = (uint64_t *)(void *)((char *)s + base);
    s->dq_price = (int64_t *)(void *)(s->dq_idx + w);
    return s;
}

/* ---- apply --------------------------------------------------------------- */

static int seq_cmp(const char *a, size_t alen, const uint8_t *b, size_t blen)
{
    if (alen != blen)
        return alen < blen ? -1 : 1;
    return memcmp(a, b, alen);
}

static tp_status check_sequence(const uint8_t *p, size_t n, tp_error *err)
{
    if (n == 0 || n >= TP_SEQUENCE_MAX)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "sequence",
                            "sequence must have 1..%d digits, not %zu", TP_SEQUENCE_MAX - 1, n);
    if (p[0] == '0' && n > 1)
        return tp_error__at(err, TP_E_INVALID, 0, "sequence", "sequence has a leading zero");
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return tp_error__at(err, TP_E_INVALID, i, "sequence",
                                "sequence is not a decimal number (byte %zu)", i);
    return TP_OK;
}

static tp_status check_tick(const tp_tick *t, tp_error *err)
{
    if (t->symbol.len == 0 || t->symbol.len >= TP_SYMBOL_MAX || !t->symbol.ptr ||
        memchr(t->symbol.ptr, 0, t->symbol.len))
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "symbol",
                            "symbol must be 1..%d bytes without NUL", TP_SYMBOL_MAX - 1);
    if (t->shard.len >= TP_SHARD_MAX || (t->shard.len && memchr(t->shard.ptr, 0, t->shard.len)))
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "shard",
                            "shard must be 0..%d bytes without NUL", TP_SHARD_MAX - 1);
    tp_status st = check_sequence(t->sequence.ptr, t->sequence.ptr ? t->sequence.len : 0, err);
    if (st != TP_OK)
        return st;
    if (t->price_e8 <= 0)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "price", "price must be positive");
    return TP_OK;
}

static void dq_push(sym *s, uint32_t w, uint64_t idx, int64_t price)
{
    /* Entries that leave the window with this tick go first, so the ring
     * never holds more than w entries. */
    while (s->dq_len && s->dq_idx[s->dq_head] + w <= idx) {
        s->dq_head = s->dq_head + 1 == w ? 0 : s->dq_head + 1;
        s->dq_len--;
    }
    /* A later price at least as high dominates an earlier one for good. */
    while (s->dq_len) {
        uint32_t back = s->dq_head + s->dq_len - 1;
        if (back >= w)
            back -= w;
        if (s->dq_price[back] > price)
            break;
        s->dq_len--;
    }
    uint32_t at = s->dq_head + s->dq_len;
    if (at >= w)
        at -= w;
    s->dq_idx[at] = idx;
    s->dq_price[at] = price;
    s->dq_len++;
}

static void copy_str(char *dst, const void *src, size_t n)
{
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

static void fill_event(tp_engine_event *ev, const sym *s, const tp_tick *t)
{
    memcpy(ev->symbol, s->name, (size_t)s->name_len + 1);
    copy_str(ev->shard, t->shard.ptr, t->shard.len);
    copy_str(ev->sequence, t->sequence.ptr, t->sequence.len);
    ev->price_e8 = t->price_e8;
    ev->ts_us = t->ts_us;
}

tp_status tp_engine_apply(tp_engine *e, const tp_tick *t, tp_engine_event *events, size_t *n_events,
                          tp_error *err)
{
    if (!e || !t || !n_events || !events)
        return tp_error__set(err, TP_E_INVALID, "tp_engine_apply: NULL argument");
    *n_events = 0;
    tp_status st = check_tick(t, err);
    if (TP_UNLIKELY(st != TP_OK))
        return st;

    uint64_t h = hash_bytes(t->symbol.ptr, t->symbol.len);
    sym *s = find_sym(e, t->symbol.ptr, t->symbol.len, h);
    if (s) {
        if (s->last_shard_len == t->shard.len &&
            memcmp(s->last_shard, t->shard.ptr, t->shard.len) == 0 &&
            seq_cmp(s->last_seq, s->last_seq_len, t->sequence.ptr, t->sequence.len) >= 0) {
            e->stats.duplicates++;
            return TP_OK;
        }
    } else {
        if (e->nsyms >= e->opt.max_symbols)
            return tp_error__at(err, TP_E_LIMIT, TP_NO_OFFSET, "symbol",
                                "too many symbols: the limit is %u", (unsigned)e->opt.max_symbols);
        st = reserve_syms(e, 1, err);
        if (st != TP_OK)
            return st;
        s = sym_alloc(e);
        if (!s)
            return tp_error__set(err, TP_E_NOMEM, "out of memory adding a symbol");
        s->hash = h;
        s->name_len = (uint8_t)t->symbol.len;
        copy_str(s->name, t->symbol.ptr, t->symbol.len);
        e->syms[e->nsyms++] = s;
        table_put(e->table, e->table_cap, h, (uint32_t)e->nsyms);
    }

    const tp_i128 px = (tp_i128)t->price_e8 * HUNDRED_PCT;
    if (s->qty == 0) {
        if (s->dq_len) {
            int64_t ref = s->dq_price[s->dq_head];
            if (px < (tp_i128)ref * (HUNDRED_PCT - e->opt.drop_pct_e8)) {
                tp_engine_event *ev = &events[0];
                fill_event(ev, s, t);
                ev->side = TP_SIDE_BUY;
                ev->reason = TP_REASON_DROP;
                ev->quantity = e->opt.order_size;
                ev->reference_e8 = ref;
                ev->entry_price_e8 = t->price_e8;
                ev->entry_ts_us = t->ts_us;
                ev->pnl_e8 = 0;
                memcpy(ev->entry_shard, ev->shard, t->shard.len + 1);
                memcpy(ev->entry_sequence, ev->sequence, t->sequence.len + 1);
                s->qty = e->opt.order_size;
                s->entry_e8 = t->price_e8;
                s->entry_ts_us = t->ts_us;
                s->entry_shard_len = (uint8_t)t->shard.len;
                copy_str(s->entry_shard, t->shard.ptr, t->shard.len);
                s->entry_seq_len = (uint8_t)t->sequence.len;
                copy_str(s->entry_seq, t->sequence.ptr, t->sequence.len);
                s->buys++;
                e->stats.buys++;
                *n_events = 1;
            }
        }
    } else {
        const tp_i128 entry = s->entry_e8;
        uint32_t reason = 0;
        if (px > entry * (HUNDRED_PCT + e->opt.take_profit_pct_e8))
            reason = TP_REASON_TAKE_PROFIT;
        else if ((e->opt.flags & TP_ENGINE_STOP_LOSS) &&
                 px < entry * (HUNDRED_PCT - e->opt.stop_loss_pct_e8))
            reason = TP_REASON_STOP_LOSS;
        if (reason) {
            int64_t pnl, total;
            /* Both prices are positive, so the difference cannot overflow. */
            if (__builtin_mul_overflow(t->price_e8 - s->entry_e8, s->qty, &pnl) ||
                __builtin_add_overflow(s->pnl_e8, pnl, &total))
                return tp_error__at(err, TP_E_RANGE, TP_NO_OFFSET, "pnl",
                                    "realized P&L of %s overflows 64 bits", s->name);
            tp_engine_event *ev = &events[0];
            fill_event(ev, s, t);
            ev->side = TP_SIDE_SELL;
            ev->reason = reason;
            ev->quantity = s->qty;
            ev->reference_e8 = 0;
            ev->entry_price_e8 = s->entry_e8;
            ev->entry_ts_us = s->entry_ts_us;
            ev->pnl_e8 = pnl;
            memcpy(ev->entry_shard, s->entry_shard, (size_t)s->entry_shard_len + 1);
            memcpy(ev->entry_sequence, s->entry_seq, (size_t)s->entry_seq_len + 1);
            s->pnl_e8 = total;
            s->qty = 0;
            s->entry_e8 = 0;
            s->entry_ts_us = TP_ENGINE_NO_TIME;
            s->entry_shard_len = 0;
            s->entry_shard[0] = '\0';
            s->entry_seq_len = 0;
            s->entry_seq[0] = '\0';
            s->sells++;
            e->stats.sells++;
            *n_events = 1;
        }
    }

    dq_push(s, e->opt.window, s->ticks, t->price_e8);
    s->ticks++;
    if (s->last_shard_len != t->shard.len || memcmp(s->last_shard, t->shard.ptr, t->shard.len)) {
        s->last_shard_len = (uint8_t)t->shard.len;
        copy_str(s->last_shard, t->shard.ptr, t->shard.len);
    }
    s->last_seq_len = (uint8_t)t->sequence.len;
    copy_str(s->last_seq, t->sequence.ptr, t->sequence.len);
    e->stats.ticks++;
    return TP_OK;
}

/* ---- reading ------------------------------------------------------------- */

static void fill_position(const sym *s, tp_position *out)
{
    memset(out, 0, sizeof *out);
    out->quantity = s->qty;
    out->entry_price_e8 = s->entry_e8;
    out->entry_ts_us = s->entry_ts_us;
    out->realized_pnl_e8 = s->pnl_e8;
    out->ticks = s->ticks;
    out->buys = s->buys;
    out->sells = s->sells;
    /* The deque holds exactly the next tick's window, oldest first. */
    out->reference_e8 = s->dq_len ? s->dq_price[s->dq_head] : 0;
    memcpy(out->symbol, s->name, (size_t)s->name_len + 1);
    memcpy(out->entry_shard, s->entry_shard, (size_t)s->entry_shard_len + 1);
    memcpy(out->entry_sequence, s->entry_seq, (size_t)s->entry_seq_len + 1);
    memcpy(out->last_shard, s->last_shard, (size_t)s->last_shard_len + 1);
    memcpy(out->last_sequence, s->last_seq, (size_t)s->last_seq_len + 1);
}

tp_status tp_engine_position(const tp_engine *e, tp_cursor symbol, tp_position *out, tp_error *err)
{
    if (!e || !out || (symbol.len && !symbol.ptr))
        return tp_error__set(err, TP_E_INVALID, "tp_engine_position: NULL argument");
    const sym *s =
        symbol.len ? find_sym(e, symbol.ptr, symbol.len, hash_bytes(symbol.ptr, symbol.len)) : NULL;
    if (!s)
        return tp_error__at(
            err, TP_E_NOT_FOUND, TP_NO_OFFSET, "symbol", "no tick of symbol '%.*s' yet",
            (int)(symbol.len > 64 ? 64 : symbol.len), symbol.len ? (const char *)symbol.ptr : "");
    fill_position(s, out);
    return TP_OK;
}

size_t tp_engine_symbol_count(const tp_engine *e) { return e->nsyms; }

tp_status tp_engine_position_at(const tp_engine *e, size_t index, tp_position *out, tp_error *err)
{
    if (!e || !out)
        return tp_error__set(err, TP_E_INVALID, "tp_engine_position_at: NULL argument");
    if (index >= e->nsyms)
        return tp_error__set(err, TP_E_NOT_FOUND, "symbol index %zu past the end (%zu symbols)",
                             index, e->nsyms);
    fill_position(e->syms[index], out);
    return TP_OK;
}

/* ---- snapshot -----------------------------------------------------------
 *
 * Little-endian binary:
 *   "TPES" u32 version u32 flags u32 window i64 drop i64 take_profit
 *   i64 stop_loss i64 order_size u32 nsymbols, then per symbol
 *   u8 len + symbol, i64 quantity entry_price entry_ts realized_pnl,
 *   u64 ticks buys sells, u8 len + entry_shard, u8 len + entry_sequence,
 *   u8 len + last_shard, u8 len + last_sequence, u32 window entries and
 *   (u64 tick index, i64 price) each, oldest first;
 *   then u32 CRC-32 (zlib) of every byte before it. */

#define SNAP_MAGIC       "TPES"
#define SNAP_HEADER_SIZE (4 + 4 + 4 + 4 + 8 * 4 + 4)
#define SNAP_MIN_SYMBOL  (1 + 1 + 8 * 7 + 4 + 4)

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static tp_status snap_symbol(const tp_engine *e, const sym *s, tp_buf *out, tp_error *err)
{
    size_t need = (size_t)SNAP_MIN_SYMBOL + s->name_len + s->entry_shard_len + s->entry_seq_len +
                  s->last_shard_len + s->last_seq_len + (size_t)s->dq_len * 16;
    tp_status st = tp_buf_reserve(out, need, err);
    if (st != TP_OK)
        return st;
    uint8_t *p = out->ptr + out->len;
    *p++ = s->name_len;
    memcpy(p, s->name, s->name_len);
    p += s->name_len;
    const int64_t nums[] = {s->qty, s->entry_e8, s->entry_ts_us, s->pnl_e8};
    for (size_t i = 0; i < 4; i++, p += 8)
        put_u64(p, (uint64_t)nums[i]);
    const uint64_t counts[] = {s->ticks, s->buys, s->sells};
    for (size_t i = 0; i < 3; i++, p += 8)
        put_u64(p, counts[i]);
    const struct {
        const char *s;
        uint8_t n;
    } strs[] = {{s->entry_shard, s->entry_shard_len},
                {s->entry_seq, s->entry_seq_len},
                {s->last_shard, s->last_shard_len},
                {s->last_seq, s->last_seq_len}};
    for (size_t i = 0; i < 4; i++) {
        *p++ = strs[i].n;
        memcpy(p, strs[i].s, strs[i].n);
        p += strs[i].n;
    }
    put_u32(p, s->dq_len);
    p += 4;
    uint32_t w = e->opt.window;
    for (uint32_t k = 0; k < s->dq_len; k++) {
        uint32_t at = s->dq_head + k;
        if (at >= w)
            at -= w;
        put_u64(p, s->dq_idx[at]);
        put_u64(p + 8, (uint64_t)s->dq_price[at]);
        p += 16;
    }
    out->len = (size_t)(p - out->ptr);
    out->ptr[out->len] = 0;
    return TP_OK;
}

tp_status tp_engine_snapshot(const tp_engine *e, tp_cursor symbol, tp_buf *out, tp_error *err)
{
    if (!e || !out || (symbol.len && !symbol.ptr))
        return tp_error__set(err, TP_E_INVALID, "tp_engine_snapshot: NULL argument");
    const sym *one = NULL;
    if (symbol.len) {
        one = find_sym(e, symbol.ptr, symbol.len, hash_bytes(symbol.ptr, symbol.len));
        if (!one)
            return tp_error__at(err, TP_E_NOT_FOUND, TP_NO_OFFSET, "symbol",
                                "no tick of symbol '%.*s' yet",
                                (int)(symbol.len > 64 ? 64 : symbol.len), (const char *)symbol.ptr);
    }
    size_t start = out->len;
    uint8_t hdr[SNAP_HEADER_SIZE];
    memcpy(hdr, SNAP_MAGIC, 4);
    put_u32(hdr + 4, TP_ENGINE_SNAPSHOT_VERSION);
    put_u32(hdr + 8, e->opt.flags);
    put_u32(hdr + 12, e->opt.window);
    put_u64(hdr + 16, (uint64_t)e->opt.drop_pct_e8);
    put_u64(hdr + 24, (uint64_t)e->opt.take_profit_pct_e8);
    put_u64(hdr + 32, (uint64_t)e->opt.stop_loss_pct_e8);
    put_u64(hdr + 40, (uint64_t)e->opt.order_size);
    put_u32(hdr + 48, one ? 1u : (uint32_t)e->nsyms);
    tp_status st = tp_buf_append(out, hdr, sizeof hdr, err);
    for (size_t i = 0; st == TP_OK && i < (one ? 1 : e->nsyms); i++)
        st = snap_symbol(e, one ? one : e->syms[i], out, err);
    if (st == TP_OK) {
        uint8_t crc[4];
        uLong c = crc32(0L, out->ptr + start, (uInt)(out->len - start));
        put_u32(crc, (uint32_t)c);
        st = tp_buf_append(out, crc, 4, err);
    }
    if (st != TP_OK) {
        out->len = start; /* no half snapshot left behind */
        if (out->ptr)
            out->ptr[start] = 0;
    }
    return st;
}

/* ---- restore ------------------------------------------------------------- */

typedef struct rd {
    const uint8_t *p;
    size_t len, at;
} rd;

static tp_status truncated(const rd *r, tp_error *err, const char *what)
{
    return tp_error__at(err, TP_E_PARSE, r->at, what, "snapshot truncated at byte %zu (%s)", r->at,
                        what);
}

static int take(rd *r, size_t n)
{
    if (r->len - r->at < n)
        return 0;
    r->at += n;
    return 1;
}

static tp_status corrupt(const rd *r, size_t at, const char *field, tp_error *err, const char *why)
{
    (void)r;
    return tp_error__at(err, TP_E_STATE, at, field, "corrupt snapshot at byte %zu: %s %s", at,
                        field, why);
}

static tp_status read_str(rd *r, char *dst, uint8_t *dst_len, size_t cap, const char *field,
                          tp_error *err)
{
    size_t at = r->at;
    if (!take(r, 1))
        return truncated(r, err, field);
    size_t n = r->p[at];
    if (n >= cap)
        return corrupt(r, at, field, err, "is too long");
    if (!take(r, n))
        return truncated(r, err, field);
    if (n && memchr(r->p + at + 1, 0, n))
        return corrupt(r, at, field, err, "holds a NUL byte");
    copy_str(dst, r->p + at + 1, n);
    *dst_len = (uint8_t)n;
    return TP_OK;
}

static tp_status read_sym(tp_engine *e, rd *r, sym *s, tp_error *err)
{
    tp_status st;
    size_t start = r->at;
    if ((st = read_str(r, s->name, &s->name_len, TP_SYMBOL_MAX, "symbol", err)) != TP_OK)
        return st;
    if (s->name_len == 0)
        return corrupt(r, start, "symbol", err, "is empty");
    s->hash = hash_bytes((const uint8_t *)s->name, s->name_len);
    size_t at_nums = r->at;
    if (!take(r, 8 * 7))
        return truncated(r, err, "position");
    const uint8_t *q = r->p + at_nums;
    s->qty = (int64_t)get_u64(q);
    s->entry_e8 = (int64_t)get_u64(q + 8);
    s->entry_ts_us = (int64_t)get_u64(q + 16);
    s->pnl_e8 = (int64_t)get_u64(q + 24);
    s->ticks = get_u64(q + 32);
    s->buys = get_u64(q + 40);
    s->sells = get_u64(q + 48);
    size_t at_strs = r->at;
    if ((st = read_str(r, s->entry_shard, &s->entry_shard_len, TP_SHARD_MAX, "entry_shard", err)) !=
            TP_OK ||
        (st = read_str(r, s->entry_seq, &s->entry_seq_len, TP_SEQUENCE_MAX, "entry_sequence",
                       err)) != TP_OK ||
        (st = read_str(r, s->last_shard, &s->last_shard_len, TP_SHARD_MAX, "last_shard", err)) !=
            TP_OK ||
        (st = read_str(r, s->last_seq, &s->last_seq_len, TP_SEQUENCE_MAX, "last_sequence", err)) !=
            TP_OK)
        return st;

    /* The position must be one the engine could have reached. */
    if (s->qty == 0) {
        if (s->entry_e8 != 0 || s->entry_ts_us != TP_ENGINE_NO_TIME || s->entry_seq_len ||
            s->entry_shard_len)
            return corrupt(r, at_nums, "quantity", err, "is 0 but an entry is set");
    } else {
        if (s->qty != e->opt.order_size)
            return corrupt(r, at_nums, "quantity", err, "differs from the order size");
        if (s->entry_e8 <= 0)
            return corrupt(r, at_nums + 8, "entry_price", err, "is not positive");
        if (check_sequence((const uint8_t *)s->entry_seq, s->entry_seq_len, NULL) != TP_OK)
            return corrupt(r, at_strs, "entry_sequence", err, "is not a sequence number");
    }
    if (s->sells > s->buys || s->buys - s->sells != (s->qty ? 1u : 0u) || s->buys > s->ticks ||
        s->sells > s->ticks - s->buys)
        return corrupt(r, at_nums + 32, "counters", err, "do not add up");
    if (s->sells == 0 && s->pnl_e8 != 0)
        return corrupt(r, at_nums + 24, "realized_pnl", err, "is set without a sell");
    if (s->ticks == 0) {
        if (s->last_seq_len || s->last_shard_len)
            return corrupt(r, at_strs, "last_sequence", err, "is set without a tick");
    } else if (check_sequence((const uint8_t *)s->last_seq, s->last_seq_len, NULL) != TP_OK) {
        return corrupt(r, at_strs, "last_sequence", err, "is not a sequence number");
    }

    size_t at_dq = r->at;
    if (!take(r, 4))
        return truncated(r, err, "window");
    uint32_t n = get_u32(r->p + at_dq);
    uint32_t w = e->opt.window;
    if (n > w || n > s->ticks || (s->ticks > 0) != (n > 0))
        return corrupt(r, at_dq, "window", err, "has a wrong number of entries");
    if ((r->len - r->at) / 16 < n)
        return truncated(r, err, "window");
    for (uint32_t k = 0; k < n; k++) {
        size_t at = r->at;
        take(r, 16);
        uint64_t idx = get_u64(r->p + at);
        int64_t price = (int64_t)get_u64(r->p + at + 8);
        if (price <= 0)
            return corrupt(r, at + 8, "window", err, "holds a price that is not positive");
        if (idx >= s->ticks || idx + w < s->ticks)
            return corrupt(r, at, "window", err, "holds a tick outside the window");
        if (k > 0 && (idx <= s->dq_idx[k - 1] || price >= s->dq_price[k - 1]))
            return corrupt(r, at, "window", err, "is out of order");
        if (k + 1 == n && idx + 1 != s->ticks)
            return corrupt(r, at, "window", err, "misses the last tick");
        s->dq_idx[k] = idx;
        s->dq_price[k] = price;
    }
    s->dq_head = 0;
    s->dq_len = n;
    return TP_OK;
}

static tp_status param_mismatch(tp_error *err, const char *field, int64_t snap, int64_t mine)
{
    return tp_error__at(err, TP_E_STATE, TP_NO_OFFSET, field,
                        "snapshot made with %s = %lld, the engine has %lld", field, (long long)snap,
                        (long long)mine);
}

tp_status tp_engine_restore(tp_engine *e, tp_cursor snap, tp_error *err)
{
    tp_status st = TP_OK;
    sym **fresh = NULL;
    uint32_t *seen = NULL; /* hash table over fresh, to find a name given twice */
    size_t seen_cap = 0;
    uint32_t nfresh = 0, loaded = 0;
    rd r = {snap.ptr, snap.len, 0};

    if (!e)
        return tp_error__set(err, TP_E_INVALID, "tp_engine_restore: engine is NULL");
    if (snap.len && !snap.ptr)
        return tp_error__set(err, TP_E_INVALID, "tp_engine_restore: snapshot is NULL");
    if (memcmp(snap.ptr ? snap.ptr : (const uint8_t *)"", SNAP_MAGIC,
               snap.len < 4 ? snap.len : 4) != 0)
        return tp_error__at(err, TP_E_PARSE, 0, NULL, "not an engine snapshot (bad magic)");
    if (snap.len < SNAP_HEADER_SIZE + 4)
        return tp_error__at(err, TP_E_PARSE, snap.len, NULL,
                            "snapshot truncated: %zu bytes, the header and checksum alone are %d",
                            snap.len, SNAP_HEADER_SIZE + 4);
    uint32_t version = get_u32(snap.ptr + 4);
    if (version != TP_ENGINE_SNAPSHOT_VERSION)
        return tp_error__at(err, TP_E_UNSUPPORTED, 4, "version",
                            "snapshot version %u, this library reads version %d", (unsigned)version,
                            TP_ENGINE_SNAPSHOT_VERSION);
    uint32_t want = get_u32(snap.ptr + snap.len - 4);
    uint32_t got = (uint32_t)crc32(0L, snap.ptr, (uInt)(snap.len - 4));
    if (want != got)
        return tp_error__at(err, TP_E_CHECKSUM, snap.len - 4, NULL,
                            "snapshot checksum mismatch (CRC-32 %08x, stored %08x)", (unsigned)got,
                            (unsigned)want);
    r.len = snap.len - 4;

    if (get_u32(snap.ptr + 8) != e->opt.flags)
        return param_mismatch(err, "stop_loss", get_u32(snap.ptr + 8) & TP_ENGINE_STOP_LOSS,
                              e->opt.flags & TP_ENGINE_STOP_LOSS);
    if (get_u32(snap.ptr + 12) != e->opt.window)
        return param_mismatch(err, "window", get_u32(snap.ptr + 12), e->opt.window);
    const struct {
        const char *name;
        int64_t mine;
    } params[] = {{"drop_pct_e8", e->opt.drop_pct_e8},
                  {"take_profit_pct_e8", e->opt.take_profit_pct_e8},
                  {"stop_loss_pct_e8", e->opt.stop_loss_pct_e8},
                  {"order_size", e->opt.order_size}};
    for (size_t i = 0; i < 4; i++) {
        int64_t v = (int64_t)get_u64(snap.ptr + 16 + 8 * i);
        if (v != params[i].mine)
            return param_mismatch(err, params[i].name, v, params[i].mine);
    }
    uint32_t n = get_u32(snap.ptr + 48);
    r.at = SNAP_HEADER_SIZE;
    if (n > (r.len - r.at) / SNAP_MIN_SYMBOL)
        return corrupt(&r, 48, "nsymbols", err, "is more than the bytes can hold");
    if (n) {
        seen_cap = 4;
        while (seen_cap < (size_t)n * 2)
            seen_cap *= 2;
        fresh = tp__calloc(e->alloc, n, sizeof *fresh);
        seen = tp__calloc(e->alloc, seen_cap, sizeof *seen);
        if (!fresh || !seen) {
            st = tp_error__set(err, TP_E_NOMEM, "out of memory restoring a snapshot");
            goto done;
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        size_t at = r.at;
        sym *s = sym_alloc(e);
        if (!s) {
            st = tp_error__set(err, TP_E_NOMEM, "out of memory restoring a snapshot");
            goto done;
        }
        fresh[nfresh++] = s;
        st = read_sym(e, &r, s, err);
        if (st != TP_OK)
            goto done;
        if (find_slot(seen, seen_cap, fresh, (const uint8_t *)s->name, s->name_len, s->hash)) {
            st = corrupt(&r, at, "symbol", err, "appears twice");
            goto done;
        }
        table_put(seen, seen_cap, s->hash, nfresh);
    }
    if (r.at != r.len) {
        st = corrupt(&r, r.at, "end", err, "is followed by extra bytes");
        goto done;
    }
    size_t added = 0;
    for (uint32_t i = 0; i < nfresh; i++)
        if (!find_sym(e, (const uint8_t *)fresh[i]->name, fresh[i]->name_len, fresh[i]->hash))
            added++;
    if (e->nsyms + added > e->opt.max_symbols) {
        st = tp_error__at(err, TP_E_LIMIT, TP_NO_OFFSET, "symbol",
                          "restoring would make %zu symbols: the limit is %u", e->nsyms + added,
                          (unsigned)e->opt.max_symbols);
        goto done;
    }
    st = reserve_syms(e, added, err);
    if (st != TP_OK)
        goto done;
    /* Nothing below can fail. */
    for (uint32_t i = 0; i < nfresh; i++) {
        sym *s = fresh[i];
        uint32_t v = find_slot(e->table, e->table_cap, e->syms, (const uint8_t *)s->name,
                               s->name_len, s->hash);
        if (v) {
            sym_free(e->alloc, e->syms[v - 1]);
            e->syms[v - 1] = s;
        } else {
            e->syms[e->nsyms++] = s;
            table_put(e->table, e->table_cap, s->hash, (uint32_t)e->nsyms);
        }
        fresh[i] = NULL;
        loaded++;
    }
done:
    for (uint32_t i = loaded; i < nfresh; i++)
        sym_free(e->alloc, fresh[i]);
    tp__free(e->alloc, fresh);
    tp__free(e->alloc, seen);
    return st;
}
