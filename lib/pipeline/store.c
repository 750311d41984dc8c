/* Floor 5: the positions-store and trade-archive interfaces, and what every
 * backend shares: completed-trade keys and JSON (opening by URI is
 * lib/pipeline/store_open.c). */
#include "codec/json_int.h"
#include "store_int.h"

#include <stdio.h>
#include <zlib.h>

__extension__ typedef __int128 tp_i128;

struct tp_positions_store {
    const tp_positions_store_vtable *vt;
    void *payload;
    const tp_allocator *alloc;
};

struct tp_trade_archive {
    const tp_trade_archive_vtable *vt;
    void *payload;
    const tp_allocator *alloc;
};

tp_status tp_positions_store_new(tp_positions_store **out, const tp_positions_store_vtable *vt,
                                 void *payload, const tp_allocator *alloc, tp_error *err)
{
    if (!out)
        return tp_error__set(err, TP_E_INVALID, "tp_positions_store_new: out is NULL");
    *out = NULL;
    if (!vt || vt->version != TP_POSITIONS_STORE_VTABLE_VERSION || !vt->load || !vt->save) {
        if (vt && vt->free)
            vt->free(payload);
        return tp_error__set(err, TP_E_INVALID,
                             "positions store: missing functions or unknown vtable version");
    }
    tp_positions_store *s = tp__calloc(alloc, 1, sizeof *s);
    if (!s) {
        if (vt->free)
            vt->free(payload);
        return tp_error__set(err, TP_E_NOMEM, "out of memory creating a positions store");
    }
    s->vt = vt;
    s->payload = payload;
    s->alloc = alloc;
    *out = s;
    return TP_OK;
}

tp_status tp_positions_store_load(tp_positions_store *s, tp_engine *engine, tp_error *err)
{
    if (!s || !engine)
        return tp_error__set(err, TP_E_INVALID, "tp_positions_store_load: NULL argument");
    return s->vt->load(s->payload, engine, err);
}

tp_status tp_positions_store_save(tp_positions_store *s, const tp_engine *engine,
                                  const tp_cursor *symbols, size_t n, tp_error *err)
{
    if (!s || !engine || (n && !symbols))
        return tp_error__set(err, TP_E_INVALID, "tp_positions_store_save: NULL argument");
    return s->vt->save(s->payload, engine, symbols, n, err);
}

void *tp_store__positions_payload(const tp_positions_store *s, const tp_positions_store_vtable *vt)
{
    return s && s->vt == vt ? s->payload : NULL;
}

void tp_positions_store_free(tp_positions_store *s)
{
    if (!s)
        return;
    if (s->vt->free)
        s->vt->free(s->payload);
    tp__free(s->alloc, s);
}

/* ---- trade archive ------------------------------------------------------- */

tp_status tp_trade_archive_new(tp_trade_archive **out, const tp_trade_archive_vtable *vt,
                               void *payload, const tp_allocator *alloc, tp_error *err)
{
    if (!out)
        return tp_error__set(err, TP_E_INVALID, "tp_trade_archive_new: out is NULL");
    *out = NULL;
    if (!vt || vt->version != TP_TRADE_ARCHIVE_VTABLE_VERSION || !vt->put) {
        if (vt && vt->free)
            vt->free(payload);
        return tp_error__set(err, TP_E_INVALID,
                             "trade archive: missing functions or unknown vtable version");
    }
    tp_trade_archive *a = tp__calloc(alloc, 1, sizeof *a);
    if (!a) {
        if (vt->free)
            vt->free(payload);
        return tp_error__set(err, TP_E_NOMEM, "out of memory creating a trade archive");
    }
    a->vt = vt;
    a->payload = payload;
    a->alloc = alloc;
    *out = a;
    return TP_OK;
}

void tp_trade_archive_free(tp_trade_archive *a)
{
    if (!a)
        return;
    if (a->vt->free)
        a->vt->free(a->payload);
    tp__free(a->alloc, a);
}

static int is_sell(const tp_engine_event *ev)
{
    return ev && ev->side == TP_SIDE_SELL && ev->symbol[0] && ev->sequence[0] &&
           ev->entry_sequence[0];
}

tp_status tp_completed_trade_key(char out[TP_TRADE_KEY_MAX], const tp_engine_event *ev,
                                 tp_error *err)
{
    static const char hx[] = "0123456789ABCDEF";
    if (!is_sell(ev))
        return tp_error__set(err, TP_E_INVALID, "a completed trade needs a sell event");
    size_t n = 0;
    const char *prefix = "completed-trades/";
    memcpy(out, prefix, strlen(prefix));
    n += strlen(prefix);
    for (const unsigned char *p = (const unsigned char *)ev->symbol; *p; p++) {
        int keep = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                   (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
                   (*p == '.' && p != (const unsigned char *)ev->symbol);
        if (keep) {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hx[*p >> 4];
            out[n++] = hx[*p & 15];
        }
    }
    /* Both shard ids, with a separator that cannot occur in them (no NUL). */
    uLong crc = crc32(0L, (const Bytef *)ev->entry_shard, (uInt)strlen(ev->entry_shard));
    crc = crc32(crc, (const Bytef *)"", 1);
    crc = crc32(crc, (const Bytef *)ev->shard, (uInt)strlen(ev->shard));
    /* 17 + 3*127 + 1 + 129 + 1 + 129 + 1 + 8 + 5 + NUL < TP_TRADE_KEY_MAX */
    snprintf(out + n, TP_TRADE_KEY_MAX - n, "/%s-%s-%08lx.json", ev->entry_sequence, ev->sequence,
             (unsigned long)(crc & 0xffffffffUL));
    return TP_OK;
}

static tp_status append_price(tp_buf *out, int64_t e8, tp_error *err)
{
    char s[TP_PRICE_STR_MAX];
    size_t n = tp_price_format(s, e8);
    return tp_buf_append(out, s, n, err);
}

static tp_status append_time(tp_buf *out, int64_t us, tp_error *err)
{
    if (us == TP_ENGINE_NO_TIME)
        return tp_buf_append_str(out, "null", err);
    char s[TP_ISO8601_MAX];
    size_t n = tp_time_format_iso8601(s, us, us % 1000 ? 6 : 3);
    tp_status st = tp_buf_append(out, "\"", 1, err);
    if (st == TP_OK)
        st = tp_buf_append(out, s, n, err);
    if (st == TP_OK)
        st = tp_buf_append(out, "\"", 1, err);
    return st;
}

static tp_status append_leg(tp_buf *out, const char *name, int64_t price, int64_t us,
                            const char *seq, const char *shard, tp_error *err)
{
    tp_status st = tp_buf_appendf(out, err, ",\"%s\":{\"price\":", name);
    if (st == TP_OK)
        st = append_price(out, price, err);
    if (st == TP_OK)
        st = tp_buf_append_str(out, ",\"time\":", err);
    if (st == TP_OK)
        st = append_time(out, us, err);
    if (st == TP_OK)
        st = tp_buf_appendf(out, err, ",\"sequence\":\"%s\",\"shard\":", seq);
    if (st == TP_OK)
        st = tp_json__append_string(out, shard, strlen(shard), err);
    if (st == TP_OK)
        st = tp_buf_append_str(out, "}", err);
    return st;
}

tp_status tp_completed_trade_json(tp_buf *out, const tp_engine_event *ev,
                                  const tp_engine_options *params, tp_error *err)
{
    if (!is_sell(ev) || !params || ev->entry_price_e8 <= 0)
        return tp_error__set(err, TP_E_INVALID, "a completed trade needs a sell event");
    size_t start = out->len;
    /* return in 1e-8 percent: (exit - entry) * 100 * 1e8 / entry, rounded half away. */
    tp_i128 num = (tp_i128)(ev->price_e8 - ev->entry_price_e8) * TP_PCT_E8(100);
    tp_i128 q = num / ev->entry_price_e8, r = num % ev->entry_price_e8;
    if ((r < 0 ? -r : r) * 2 >= ev->entry_price_e8)
        q += num < 0 ? -1 : 1;
    int64_t ret = (int64_t)q; /* |return| <= price ratio * 100e8: fits */

    tp_status st = tp_buf_append_str(out, "{\"symbol\":", err);
    if (st == TP_OK)
        st = tp_json__append_string(out, ev->symbol, strlen(ev->symbol), err);
    if (st == TP_OK)
        st = tp_buf_appendf(out, err, ",\"quantity\":%lld", (long long)ev->quantity);
    if (st == TP_OK)
        st = append_leg(out, "entry", ev->entry_price_e8, ev->entry_ts_us, ev->entry_sequence,
                        ev->entry_shard, err);
    if (st == TP_OK)
        st = append_leg(out, "exit", ev->price_e8, ev->ts_us, ev->sequence, ev->shard, err);
    if (st == TP_OK)
        st = tp_buf_append_str(out, ",\"pnl\":", err);
    if (st == TP_OK)
        st = append_price(out, ev->pnl_e8, err);
    if (st == TP_OK)
        st = tp_buf_append_str(out, ",\"return_pct\":", err);
    if (st == TP_OK)
        st = append_price(out, ret, err);
    if (st == TP_OK)
        st = tp_buf_appendf(out, err, ",\"reason\":\"%s\",\"params\":{\"window\":%u,\"drop_pct\":",
                            ev->reason == TP_REASON_STOP_LOSS ? "stop_loss" : "take_profit",
                            (unsigned)params->window);
    if (st == TP_OK)
        st = append_price(out, params->drop_pct_e8, err);
    if (st == TP_OK)
        st = tp_buf_append_str(out, ",\"take_profit_pct\":", err);
    if (st == TP_OK)
        st = append_price(out, params->take_profit_pct_e8, err);
    if (st == TP_OK)
        st = tp_buf_append_str(out, ",\"stop_loss_pct\":", err);
    if (st == TP_OK)
        st = (params->flags & TP_ENGINE_STOP_LOSS)
                 ? append_price(out, params->stop_loss_pct_e8, err)
                 : tp_buf_append_str(out, "null", err);
    if (st == TP_OK)
        st = tp_buf_appendf(out, err, ",\"order_size\":%lld}}\n", (long long)params->order_size);
    if (st != TP_OK) {
        out->len = start;
        if (out->ptr)
            out->ptr[start] = 0;
    }
    return st;
}

tp_status tp_trade_archive_put(tp_trade_archive *a, const tp_engine_event *sell,
                               const tp_engine_options *params, tp_error *err)
{
    if (!a)
        return tp_error__set(err, TP_E_INVALID, "tp_trade_archive_put: archive is NULL");
    char key[TP_TRADE_KEY_MAX];
    tp_status st = tp_completed_trade_key(key, sell, err);
    if (st != TP_OK)
        return st;
    tp_buf body;
    tp_buf_init(&body, a->alloc, 0);
    st = tp_completed_trade_json(&body, sell, params, err);
    if (st == TP_OK)
        st = a->vt->put(a->payload, key, tp_buf_cursor(&body), "application/json", err);
    tp_buf_dispose(&body);
    return st;
}
