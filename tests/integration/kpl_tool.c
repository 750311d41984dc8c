/* A line-oriented front end to include/tradepipe/kpl.h for
 * tests/integration/kpl_interop.js (which drives aws-kinesis-agg):
 *
 *   kpl_tool agg [MAX_BYTES]   stdin: one user record a line, "PK_HEX xEHK_HEX|- DATA_HEX"
 *                              stdout: "OK BLOB_HEX OUTER_PK_HEX OUTER_EHK" per aggregate
 *                              (a new one whenever the next record would not fit), or
 *                              "ERR STATUS FIELD" for a record refused
 *   kpl_tool deagg             stdin: one aggregate a line, in hex
 *                              stdout: "REC SUBSEQ PK_HEX xEHK_HEX|- DATA_HEX" per user
 *                              record, then "END COUNT"; or "ERR STATUS OFFSET FIELD"
 * Hex keeps every byte exact whatever the keys hold. */
#include "tradepipe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unhex(tp_buf *b, const char *s, size_t n)
{
    tp_buf_clear(b);
    return tp_hex_decode(b, tp_cursor_make(s, n), NULL) == TP_OK ? 0 : -1;
}

static void put_hex(const uint8_t *p, size_t n)
{
    static char *tmp;
    static size_t cap;
    if (2 * n + 1 > cap) {
        cap = 2 * n + 1;
        tmp = realloc(tmp, cap);
        if (!tmp)
            exit(3);
    }
    tp_hex_encode(tmp, p, n);
    fputs(n ? tmp : "", stdout);
}

static int agg(uint64_t max)
{
    tp_kpl_aggregator_options o = TP_KPL_AGGREGATOR_OPTIONS_INIT;
    o.max_bytes = max;
    tp_kpl_aggregator *a = NULL;
    tp_error err;
    if (tp_kpl_aggregator_new(&a, &o, &err) != TP_OK)
        return 2;
    tp_buf pk, ehk, data, out;
    tp_buf_init(&pk, NULL, 0);
    tp_buf_init(&ehk, NULL, 0);
    tp_buf_init(&data, NULL, 0);
    tp_buf_init(&out, NULL, 0);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    tp_kpl_outer outer;
    while ((len = getline(&line, &cap, stdin)) > 0) {
        char *f1 = strtok(line, " \n"), *f2 = strtok(NULL, " \n"), *f3 = strtok(NULL, " \n");
        if (!f1 || !f2)
            return 2;
        if (!f3)
            f3 = "";
        int has_ehk = f2[0] == 'x';
        if (unhex(&pk, f1, strlen(f1)) || (has_ehk && unhex(&ehk, f2 + 1, strlen(f2 + 1))) ||
            unhex(&data, f3, strlen(f3)))
            return 2;
        tp_cursor e = has_ehk ? tp_cursor_make(ehk.ptr ? ehk.ptr : (const uint8_t *)"", ehk.len)
                              : tp_cursor_make(NULL, 0);
        tp_cursor k = tp_cursor_make(pk.ptr ? pk.ptr : (const uint8_t *)"", pk.len);
        tp_status st = tp_kpl_aggregator_add(a, k, e, tp_buf_cursor(&data), &err);
        if (st == TP_E_LIMIT) {
            tp_buf_clear(&out);
            if (tp_kpl_aggregator_finish(a, &out, &outer, &err) != TP_OK)
                return 2;
            printf("OK ");
            put_hex(out.ptr, out.len);
            printf(" ");
            put_hex((const uint8_t *)outer.partition_key, strlen(outer.partition_key));
            printf(" %s\n", outer.explicit_hash_key);
            st = tp_kpl_aggregator_add(a, k, e, tp_buf_cursor(&data), &err);
        }
        if (st != TP_OK)
            printf("ERR %d %s\n", (int)st, err.field[0] ? err.field : "-");
    }
    if (tp_kpl_aggregator_count(a)) {
        tp_buf_clear(&out);
        if (tp_kpl_aggregator_finish(a, &out, &outer, &err) != TP_OK)
            return 2;
        printf("OK ");
        put_hex(out.ptr, out.len);
        printf(" ");
        put_hex((const uint8_t *)outer.partition_key, strlen(outer.partition_key));
        printf(" %s\n", outer.explicit_hash_key);
    }
    free(line);
    tp_buf_dispose(&pk);
    tp_buf_dispose(&ehk);
    tp_buf_dispose(&data);
    tp_buf_dispose(&out);
    tp_kpl_aggregator_free(a);
    return 0;
}

static int deagg(void)
{
    tp_kpl_reader *r = NULL;
    tp_error err;
    if (tp_kpl_reader_new(&r, NULL, &err) != TP_OK)
        return 2;
    tp_buf in;
    tp_buf_init(&in, NULL, 0);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, stdin)) > 0) {
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (unhex(&in, line, (size_t)len))
            return 2;
        size_t count = 0;
        tp_status st = tp_kpl_reader_begin(r, tp_buf_cursor(&in), &count, &err);
        if (st != TP_OK) {
            printf("ERR %d %llu %s\n", (int)st, (unsigned long long)err.offset, err.field);
            continue;
        }
        tp_kpl_record rec;
        while (tp_kpl_reader_next(r, &rec) == TP_OK) {
            printf("REC %llu ", (unsigned long long)rec.sub_sequence);
            put_hex(rec.partition_key.ptr, rec.partition_key.len);
            printf(" ");
            if (rec.explicit_hash_key.ptr)
                printf("x"), put_hex(rec.explicit_hash_key.ptr, rec.explicit_hash_key.len);
            else
                printf("-");
            printf(" ");
            put_hex(rec.data.ptr, rec.data.len);
            printf("\n");
        }
        printf("END %zu\n", count);
    }
    free(line);
    tp_buf_dispose(&in);
    tp_kpl_reader_free(r);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "agg") == 0)
        return agg(argc >= 3 ? strtoull(argv[2], NULL, 10) : 0);
    if (argc >= 2 && strcmp(argv[1], "deagg") == 0)
        return deagg();
    fprintf(stderr, "usage: kpl_tool agg [MAX_BYTES] | deagg\n");
    return 2;
}
