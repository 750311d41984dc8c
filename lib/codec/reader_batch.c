/* Batch reading over tp_reader_next, for callers that pay per call (FFIs):
 * kept out of reader.c, which it only calls through the public API. */
#include "tradepipe/reader.h"

#include "core/core_int.h"

tp_status tp_reader_next_batch(tp_reader *r, tp_trade *out, size_t cap, size_t *n, tp_error *err)
{
    size_t i = 0;
    tp_status st = TP_OK;
    if (n)
        *n = 0;
    if (!r || !out || !n || cap == 0)
        return tp_error__set(err, TP_E_INVALID, "tp_reader_next_batch: NULL argument or cap 0");
    while (i < cap) {
        st = tp_reader_next(r, &out[i], err);
        if (st != TP_OK)
            break;
        i++;
    }
    *n = i;
    return st;
}
