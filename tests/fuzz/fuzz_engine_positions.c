/* Fuzz the positions-file loader (NDJSON + base64 snapshots), in memory: the
 * text the file store reads goes to the parser it calls (no file I/O per
 * input). A file that loads must save and load back to the same state. */
#include "tradepipe.h"

#include "pipeline/store_file_int.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tp_engine_options o = TP_ENGINE_OPTIONS_INIT;
    tp_engine *e = NULL, *g = NULL;
    tp_error err;
    tp_buf a, b, text;
    tp_buf_init(&a, NULL, 0);
    tp_buf_init(&b, NULL, 0);
    tp_buf_init(&text, NULL, 0);
    if (tp_engine_new(&e, &o, &err) != TP_OK)
        abort();
    tp_status st =
        tp_store__positions_parse(NULL, "fuzz.ndjson", tp_cursor_make(data, size), e, &err);
    if (st == TP_OK) {
        /* The same state, symbol by symbol: the file is saved sorted by
         * symbol, so the order of first appearance may differ. */
        if (tp_store__positions_format(NULL, e, &text, &err) != TP_OK ||
            tp_engine_new(&g, &o, &err) != TP_OK ||
            tp_store__positions_parse(NULL, "fuzz.ndjson", tp_buf_cursor(&text), g, &err) !=
                TP_OK ||
            tp_engine_symbol_count(e) != tp_engine_symbol_count(g))
            abort();
        for (size_t i = 0; i < tp_engine_symbol_count(e); i++) {
            tp_position p;
            tp_buf_clear(&a);
            tp_buf_clear(&b);
            if (tp_engine_position_at(e, i, &p, &err) != TP_OK ||
                tp_engine_snapshot(e, tp_cursor_from_str(p.symbol), &a, &err) != TP_OK ||
                tp_engine_snapshot(g, tp_cursor_from_str(p.symbol), &b, &err) != TP_OK ||
                a.len != b.len || memcmp(a.ptr, b.ptr, a.len) != 0)
                abort();
        }
    } else if (tp_engine_symbol_count(e) != 0 || err.message[0] == 0) {
        abort(); /* a failed load changes nothing and says why */
    }
    tp_buf_dispose(&a);
    tp_buf_dispose(&b);
    tp_buf_dispose(&text);
    tp_engine_free(e);
    tp_engine_free(g);
    return 0;
}
