/* Fuzz the positions-file loader (NDJSON + base64 snapshots). A file that
 * loads must save and load back to the same state. */
#include "tradepipe.h"
#include "tradepipe/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *temp_path(void)
{
    const char *base = getenv("TMPDIR");
    char *p = malloc(4096);
    if (!p)
        return NULL;
    snprintf(p, 4096, "%s/tpfuzz.XXXXXX", base && *base ? base : "/tmp");
    int fd = mkstemp(p);
    if (fd < 0) {
        free(p);
        return NULL;
    }
    close(fd);
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *path = temp_path();
    if (!path)
        return 0;
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size) {
        if (f)
            fclose(f);
        unlink(path);
        free(path);
        return 0;
    }
    fclose(f);
    tp_engine_options o = TP_ENGINE_OPTIONS_INIT;
    tp_engine *e = NULL, *g = NULL;
    tp_positions_store *s = NULL;
    tp_error err;
    tp_buf a, b;
    tp_buf_init(&a, NULL, 0);
    tp_buf_init(&b, NULL, 0);
    if (tp_engine_new(&e, &o, &err) != TP_OK ||
        tp_positions_store_file_new(&s, path, NULL, &err) != TP_OK)
        abort();
    tp_status st = tp_positions_store_load(s, e, &err);
    if (st == TP_OK) {
        /* The same state, symbol by symbol: the file is saved sorted by
         * symbol, so the order of first appearance may differ. */
        if (tp_positions_store_save(s, e, NULL, 0, &err) != TP_OK ||
            tp_engine_new(&g, &o, &err) != TP_OK || tp_positions_store_load(s, g, &err) != TP_OK ||
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
    tp_positions_store_free(s);
    tp_engine_free(e);
    tp_engine_free(g);
    unlink(path);
    free(path);
    return 0;
}
