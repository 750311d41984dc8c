/* Differential fuzz target: the specialised scanner (with its jansson
 * fallback) and the jansson reference path must agree on every input: same
 * status class, same decoded trade. Also checks encode -> decode round trips. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tradepipe.h"

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
