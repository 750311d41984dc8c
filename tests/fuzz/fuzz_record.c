/* Differential fuzz target: the specialised scanner (with its jansson
 * fallback) and the jansson reference path must agree on every input: same
 * status class, same decoded trade. The scanner must take every valid
 * record itself (never hand one to the slow path) and answer every invalid
 * record and every kind of broken JSON it claims to know without jansson.
 * Also checks encode -> decode round trips. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tradepipe.h"

#include "codec/record_int.h"

/* What the scanner alone says of the input, as a status (1: it left the
 * case to jansson, or the input does not start with an object or array). */
static tp_status scan_alone(const uint8_t *data, size_t size, uint32_t mode, tp_trade *t)
{
    const uint8_t *p = data, *end = data + size;
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    if (p == end || (*p != '{' && *p != '['))
        return 1;
    size_t used = 0;
    tp_error e;
    int r = tp_record__scan(t, p, end, mode, (size_t)(p - data), &used, &e);
    if (r == TP_SCAN_OK || r == TP_SCAN_INVALID) {
        const uint8_t *q = p + used;
        while (q < end && (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t'))
            q++;
        if (q != end)
            return TP_E_PARSE;
        if (r == TP_SCAN_INVALID && (e.code != TP_E_RECORD || e.message[0] == '\0'))
            abort();
        return r == TP_SCAN_OK ? TP_OK : TP_E_RECORD;
    }
    if (r == TP_SCAN_BADUTF8)
        return TP_E_RECORD;
    if (r == TP_SCAN_NOTJSON) {
        if (e.code != TP_E_PARSE || e.message[0] == '\0' || e.offset > size)
            abort();
        return TP_E_PARSE;
    }
    if (r == TP_SCAN_MORE)
        return TP_E_PARSE; /* the whole input is here: an unclosed value */
    return 1;
}

static int same_trade(const tp_trade *a, const tp_trade *b)
{
    return strcmp(a->symbol, b->symbol) == 0 && a->symbol_len == b->symbol_len &&
           a->price_e8 == b->price_e8 && a->volume == b->volume && a->ts_kind == b->ts_kind &&
           a->flags == b->flags && a->ts_us == b->ts_us &&
           strcmp(a->timestamp, b->timestamp) == 0 && strcmp(a->trade_id, b->trade_id) == 0 &&
           strcmp(a->side, b->side) == 0 && strcmp(a->exchange, b->exchange) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t modes[] = {0, TP_DECODE_LENIENT, TP_DECODE_MINIMAL};
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        tp_trade fast, ref;
        tp_error ef, er;
        tp_status sf = tp_record_decode(&fast, tp_cursor_make(data, size), modes[m], &ef);
        tp_status sr = tp_record_decode(&ref, tp_cursor_make(data, size),
                                        modes[m] | TP_DECODE_REFERENCE, &er);
        if (sf != sr)
            abort(); /* the two decoders disagree on validity */
        tp_trade alone;
        tp_status sa = scan_alone(data, size, modes[m], &alone);
        if (sr == TP_OK && sa != TP_OK)
            abort(); /* a valid record went to the slow path */
        if (sa != 1 && sa != sr)
            abort(); /* the scanner decided alone, and wrongly */
        if (sa == TP_OK && !same_trade(&alone, &ref))
            abort();
        if (sf != TP_OK) {
            if (ef.message[0] == '\0' || ef.code != sf)
                abort(); /* every failure says what went wrong */
            continue;
        }
        if (!same_trade(&fast, &ref))
            abort();
        tp_buf b;
        tp_buf_init(&b, NULL, 0);
        if (tp_record_encode(&b, &fast, 0, &ef) != TP_OK)
            abort();
        tp_trade back;
        if (tp_record_decode(&back, tp_buf_cursor(&b), modes[m], &ef) != TP_OK)
            abort();
        /* MINIMAL drops the optional fields, so compare the core three there. */
        if (back.price_e8 != fast.price_e8 || back.volume != fast.volume ||
            strcmp(back.symbol, fast.symbol) != 0)
            abort();
        if (modes[m] == 0 && !same_trade(&back, &fast))
            abort();
        tp_buf_dispose(&b);
    }
    return 0;
}
