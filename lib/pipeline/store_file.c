/* Floor 5: the local-file positions store (see include/tradepipe/store.h).
 *
 *   {"format":"tradepipe-positions","version":1,"params":{...}}
 *   {"symbol":"AAPL","quantity":100,"entry_price":"180","entry_time":"...",
 *    "entry_shard":"..","entry_sequence":"12","last_shard":"..",
 *    "last_sequence":"40","realized_pnl":"0","state":"<base64>"}
 *
 * The "state" snapshot is the truth; the other fields are there for people
 * and tools, and loading refuses a file where they disagree with it (an
 * edited file is an error, not a silent surprise). Prices are exact decimal
 * strings, like DynamoDB's number type. */
#include "codec/json_int.h"
#include "store_file_int.h"
#include "store_io_int.h"
#include "tradepipe/store.h"

#include <jansson.h>

#define POS_FORMAT  "tradepipe-positions"
#define POS_VERSION 1

typedef struct file_store {
    const tp_allocator *alloc;
    char *path;
} file_store;

static tp_status append_params(tp_buf *out, const tp_engine_options *o, tp_error *err)
{
    char d[TP_PRICE_STR_MAX], t[TP_PRICE_STR_MAX], s[TP_PRICE_STR_MAX + 2] = "null";
    tp_price_format(d, o->drop_pct_e8);
    tp_price_format(t, o->take_profit_pct_e8);
    if (o->flags & TP_ENGINE_STOP_LOSS) {
        s[0] = '"';
        size_t n = tp_price_format(s + 1, o->stop_loss_pct_e8);
        s[n + 1] = '"';
        s[n + 2] = '\0';
    }
    return tp_buf_appendf(out, err,
                          "{\"window\":%u,\"drop_pct\":\"%s\",\"take_profit_pct\":\"%s\","
                          "\"stop_loss_pct\":%s,\"order_size\":%lld}",
                          (unsigned)o->window, d, t, s, (long long)o->order_size);
}

static tp_status append_str_field(tp_buf *out, const char *name, const char *v, tp_error *err)
{
    tp_status st = tp_buf_appendf(out, err, ",\"%s\":", name);
    if (st == TP_OK)
        st = tp_json__append_string(out, v, strlen(v), err);
    return st;
}

static void format_time(char out[TP_ISO8601_MAX + 2], int64_t us)
{
    if (us == TP_ENGINE_NO_TIME) {
        strcpy(out, "null");
        return;
    }
    out[0] = '"';
    size_t n = tp_time_format_iso8601(out + 1, us, 6);
    out[n + 1] = '"';
    out[n + 2] = '\0';
}

static tp_status append_symbol(tp_buf *out, const tp_engine *e, const tp_position *p,
                               tp_buf *scratch, tp_error *err)
{
    char entry[TP_PRICE_STR_MAX + 2] = "null", pnl[TP_PRICE_STR_MAX];
    char when[TP_ISO8601_MAX + 2];
    if (p->quantity) {
        entry[0] = '"';
        size_t n = tp_price_format(entry + 1, p->entry_price_e8);
        entry[n + 1] = '"';
        entry[n + 2] = '\0';
    }
    tp_price_format(pnl, p->realized_pnl_e8);
    format_time(when, p->entry_ts_us);
    tp_status st = tp_buf_append_str(out, "{\"symbol\":", err);
    if (st == TP_OK)
        st = tp_json__append_string(out, p->symbol, strlen(p->symbol), err);
    if (st == TP_OK)
        st = tp_buf_appendf(out, err, ",\"quantity\":%lld,\"entry_price\":%s,\"entry_time\":%s",
                            (long long)p->quantity, entry, when);
    if (st == TP_OK)
        st = append_str_field(out, "entry_shard", p->entry_shard, err);
    if (st == TP_OK)
        st = append_str_field(out, "entry_sequence", p->entry_sequence, err);
    if (st == TP_OK)
        st = append_str_field(out, "last_shard", p->last_shard, err);
    if (st == TP_OK)
        st = append_str_field(out, "last_sequence", p->last_sequence, err);
    if (st == TP_OK)
        st = tp_buf_appendf(out, err, ",\"realized_pnl\":\"%s\",\"state\":\"", pnl);
    tp_buf_clear(scratch);
    if (st == TP_OK)
        st = tp_engine_snapshot(e, tp_cursor_from_str(p->symbol), scratch, err);
    if (st == TP_OK)
        st = tp_base64_encode(out, tp_buf_cursor(scratch), err);
    if (st == TP_OK)
        st = tp_buf_append_str(out, "\"}\n", err);
    return st;
}

typedef struct named {
    char name[TP_SYMBOL_MAX];
    size_t index;
} named;

static int cmp_named(const void *a, const void *b)
{
    return strcmp(((const named *)a)->name, ((const named *)b)->name);
}

tp_status tp_store__positions_format(const tp_allocator *alloc, const tp_engine *e, tp_buf *out,
                                     tp_error *err)
{
    tp_engine_options o;
    tp_engine_options_get(e, &o);
    tp_buf scratch;
    tp_buf_init(&scratch, alloc, 0);
    size_t count = tp_engine_symbol_count(e);
    tp_status st = tp_buf_appendf(
        out, err, "{\"format\":\"%s\",\"version\":%d,\"symbols\":%zu,\"params\":", POS_FORMAT,
        POS_VERSION, count);
    if (st == TP_OK)
        st = append_params(out, &o, err);
    if (st == TP_OK)
        st = tp_buf_append_str(out, "}\n", err);
    /* Sorted by symbol: the file's bytes depend on the state alone, not on
     * the order in which symbols first appeared (shards interleave freely). */
    named *order = count ? tp__calloc(alloc, count, sizeof *order) : NULL;
    if (count && !order)
        st = tp_error__set(err, TP_E_NOMEM, "out of memory");
    for (size_t i = 0; i < count && st == TP_OK; i++) {
        tp_position p;
        st = tp_engine_position_at(e, i, &p, err);
        memcpy(order[i].name, p.symbol, sizeof order[i].name);
        order[i].index = i;
    }
    if (st == TP_OK && count > 1)
        qsort(order, count, sizeof *order, cmp_named);
    for (size_t i = 0; i < count && st == TP_OK; i++) {
        tp_position p;
        st = tp_engine_position_at(e, order[i].index, &p, err);
        if (st == TP_OK)
            st = append_symbol(out, e, &p, &scratch, err);
    }
    tp__free(alloc, order);
    tp_buf_dispose(&scratch);
    return st;
}

static tp_status file_save(void *payload, const tp_engine *e, const tp_cursor *symbols, size_t n,
                           tp_error *err)
{
    file_store *f = payload;
    (void)symbols; /* the whole file is rewritten: every symbol is saved */
    (void)n;
    tp_buf out;
    tp_buf_init(&out, f->alloc, 0);
    tp_status st = tp_store__positions_format(f->alloc, e, &out, err);
    if (st == TP_OK)
        st = tp_store__write_atomic(f->alloc, f->path, out.ptr ? out.ptr : (const uint8_t *)"",
                                    out.len, NULL, err);
    tp_buf_dispose(&out);
    return st;
}

/* ---- load ---------------------------------------------------------------- */

static tp_status bad_line(tp_error *err, tp_status code, const char *path, uint32_t line,
                          uint64_t off, const char *field, const char *why)
{
    tp_error__at(err, code, off, field, "positions file %.60s line %u: %s%s%s", path,
                 (unsigned)line, field ? field : "", field ? " " : "", why);
    if (err)
        err->line = line;
    return code;
}

/* The string member `name` of `obj`, or NULL (absent or not a string). */
static const char *get_str(json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Compare member `name` with `want` (a string, or JSON null when want is NULL). */
static int str_matches(json_t *obj, const char *name, const char *want)
{
    json_t *v = json_object_get(obj, name);
    if (!want)
        return json_is_null(v);
    return json_is_string(v) && strcmp(json_string_value(v), want) == 0;
}

static tp_status check_header(const char *path, json_t *h, const tp_engine_options *o, tp_buf *tmp,
                              tp_error *err)
{
    const char *fmt = get_str(h, "format");
    json_t *ver = json_object_get(h, "version");
    if (!fmt || strcmp(fmt, POS_FORMAT) != 0)
        return bad_line(err, TP_E_PARSE, path, 1, 0, "format",
                        "is not \"" POS_FORMAT "\": not a positions file");
    if (!json_is_integer(ver) || json_integer_value(ver) != POS_VERSION)
        return bad_line(err, TP_E_UNSUPPORTED, path, 1, 0, "version",
                        "is not a version this library reads (1)");
    tp_buf_clear(tmp);
    tp_status st = append_params(tmp, o, err);
    if (st != TP_OK)
        return st;
    json_t *want = json_loadb((const char *)tmp->ptr, tmp->len, 0, NULL);
    json_t *got = json_object_get(h, "params");
    if (!want)
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    const char *key;
    json_t *v;
    st = TP_OK;
    json_object_foreach(want, key, v)
    {
        if (!json_equal(v, json_object_get(got, key))) {
            char msg[120];
            char *mine = json_dumps(v, JSON_ENCODE_ANY);
            snprintf(msg, sizeof msg,
                     "differs: the file was written with other engine "
                     "parameters (the engine has %s)",
                     mine ? mine : "?");
            free(mine);
            st = bad_line(err, TP_E_STATE, path, 1, 0, key, msg);
            break;
        }
    }
    json_decref(want);
    return st;
}

/* Restore one symbol line into `tmpe` and check its readable fields. */
static tp_status load_symbol(const char *path, json_t *obj, uint32_t line, uint64_t off,
                             tp_engine *tmpe, tp_buf *blob, tp_error *err)
{
    const char *sym = get_str(obj, "symbol"), *state = get_str(obj, "state");
    if (!sym || !*sym)
        return bad_line(err, TP_E_PARSE, path, line, off, "symbol", "is missing");
    if (!state)
        return bad_line(err, TP_E_PARSE, path, line, off, "state", "is missing");
    tp_buf_clear(blob);
    tp_status st = tp_base64_decode(blob, tp_cursor_from_str(state), err);
    if (st == TP_E_PARSE)
        return bad_line(err, TP_E_PARSE, path, line, off, "state", "is not base64");
    if (st != TP_OK)
        return st;
    size_t before = tp_engine_symbol_count(tmpe);
    st = tp_engine_restore(tmpe, tp_buf_cursor(blob), err);
    if (st != TP_OK) {
        char why[TP_ERROR_MESSAGE_MAX];
        tp__strlcpy(why, err ? err->message : "", sizeof why);
        char field[TP_ERROR_FIELD_MAX];
        snprintf(field, sizeof field, "state");
        if (st == TP_E_STATE && err && err->field[0])
            tp__strlcpy(field, err->field, sizeof field);
        return bad_line(err, st, path, line, off, field, why);
    }
    tp_position p;
    if (tp_engine_symbol_count(tmpe) != before + 1 ||
        tp_engine_position(tmpe, tp_cursor_from_str(sym), &p, NULL) != TP_OK)
        return bad_line(err, TP_E_STATE, path, line, off, "symbol",
                        "appears twice, or its state is another symbol's");
    char entry[TP_PRICE_STR_MAX], pnl[TP_PRICE_STR_MAX], when[TP_ISO8601_MAX + 2];
    tp_price_format(entry, p.entry_price_e8);
    tp_price_format(pnl, p.realized_pnl_e8);
    format_time(when, p.entry_ts_us);
    json_t *q = json_object_get(obj, "quantity");
    const char *bad = NULL;
    if (!json_is_integer(q) || json_integer_value(q) != p.quantity)
        bad = "quantity";
    else if (!str_matches(obj, "entry_price", p.quantity ? entry : NULL))
        bad = "entry_price";
    else if (!str_matches(obj, "realized_pnl", pnl))
        bad = "realized_pnl";
    else if (!str_matches(obj, "entry_shard", p.entry_shard))
        bad = "entry_shard";
    else if (!str_matches(obj, "entry_sequence", p.entry_sequence))
        bad = "entry_sequence";
    else if (!str_matches(obj, "last_shard", p.last_shard))
        bad = "last_shard";
    else if (!str_matches(obj, "last_sequence", p.last_sequence))
        bad = "last_sequence";
    else {
        json_t *t = json_object_get(obj, "entry_time");
        if (p.entry_ts_us == TP_ENGINE_NO_TIME
                ? !json_is_null(t)
                : !json_is_string(t) ||
                      strncmp(json_string_value(t), when + 1, strlen(when) - 2) != 0 ||
                      strlen(json_string_value(t)) != strlen(when) - 2)
            bad = "entry_time";
    }
    if (bad)
        return bad_line(err, TP_E_STATE, path, line, off, bad, "disagrees with the state");
    return TP_OK;
}

tp_status tp_store__positions_parse(const tp_allocator *alloc, const char *path, tp_cursor text,
                                    tp_engine *e, tp_error *err)
{
    tp_buf blob, all;
    tp_buf_init(&blob, alloc, 0);
    tp_buf_init(&all, alloc, 0);
    tp_engine *tmpe = NULL;
    json_t *obj = NULL;
    tp_engine_options o;
    tp_engine_options_get(e, &o);
    o.max_symbols = 0xffffffffu; /* the target engine applies its own limit */
    tp_status st = tp_engine_new(&tmpe, &o, err);
    if (st != TP_OK)
        goto done;
    tp_engine_options_get(e, &o);
    size_t pos = 0, want_symbols = 0;
    uint32_t line = 0;
    while (pos < text.len) {
        const uint8_t *nl = memchr(text.ptr + pos, '\n', text.len - pos);
        size_t end = nl ? (size_t)(nl - text.ptr) : text.len;
        line++;
        json_error_t jerr;
        obj = json_loadb((const char *)text.ptr + pos, end - pos, 0, &jerr);
        if (!json_is_object(obj)) {
            st = bad_line(err, TP_E_PARSE, path, line,
                          pos + (jerr.position > 0 ? (uint64_t)jerr.position : 0), NULL,
                          obj ? "is not a JSON object" : jerr.text);
            goto done;
        }
        if (line == 1) {
            st = check_header(path, obj, &o, &blob, err);
            json_t *n = json_object_get(obj, "symbols");
            if (st == TP_OK && (!json_is_integer(n) || json_integer_value(n) < 0))
                st = bad_line(err, TP_E_PARSE, path, 1, 0, "symbols", "is not a count");
            if (st == TP_OK)
                want_symbols = (size_t)json_integer_value(n);
        } else
            st = load_symbol(path, obj, line, pos, tmpe, &blob, err);
        json_decref(obj);
        obj = NULL;
        if (st != TP_OK)
            goto done;
        pos = end + 1;
        if (!nl) {
            /* The writer ends every line with '\n': a last line without one is a torn file. */
            st = bad_line(err, TP_E_PARSE, path, line, end, NULL,
                          "is not terminated by a newline: truncated file");
            goto done;
        }
    }
    if (line == 0) {
        st = bad_line(err, TP_E_PARSE, path, 1, 0, NULL, "is missing: the file is empty");
        goto done;
    }
    if (tp_engine_symbol_count(tmpe) != want_symbols) {
        st = bad_line(err, TP_E_PARSE, path, line, text.len, "symbols",
                      "count in the header differs from the lines: truncated file");
        goto done;
    }
    st = tp_engine_snapshot(tmpe, tp_cursor_from_str(""), &all, err);
    if (st == TP_OK)
        st = tp_engine_restore(e, tp_buf_cursor(&all), err);
done:
    json_decref(obj);
    tp_engine_free(tmpe);
    tp_buf_dispose(&blob);
    tp_buf_dispose(&all);
    return st;
}

static tp_status file_load(void *payload, tp_engine *e, tp_error *err)
{
    file_store *f = payload;
    tp_buf text;
    tp_buf_init(&text, f->alloc, 0);
    tp_store__clean_temps(f->alloc, f->path, NULL);
    tp_status st = tp_store__read_file(f->path, &text, err);
    if (st == TP_E_NOT_FOUND)
        st = TP_OK; /* no file yet: an empty store */
    else if (st == TP_OK)
        st = tp_store__positions_parse(f->alloc, f->path, tp_buf_cursor(&text), e, err);
    tp_buf_dispose(&text);
    return st;
}

static void file_free(void *payload)
{
    file_store *f = payload;
    if (!f)
        return;
    const tp_allocator *a = f->alloc;
    tp__free(a, f->path);
    tp__free(a, f);
}

static const tp_positions_store_vtable file_vtable = {TP_POSITIONS_STORE_VTABLE_VERSION, 0,
                                                      file_load, file_save, file_free};

tp_status tp_positions_store_file_new(tp_positions_store **out, const char *path,
                                      const tp_allocator *alloc, tp_error *err)
{
    if (!out || !path || !*path)
        return tp_error__set(err, TP_E_INVALID, "tp_positions_store_file_new: no path");
    *out = NULL;
    file_store *f = tp__calloc(alloc, 1, sizeof *f);
    if (!f)
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    f->alloc = alloc;
    f->path = tp_store__strndup(alloc, path, strlen(path));
    if (!f->path) {
        file_free(f);
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    }
    return tp_positions_store_new(out, &file_vtable, f, alloc, err);
}
