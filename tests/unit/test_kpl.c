/* Floor 2: KPL aggregated records (include/tradepipe/kpl.h). */
#include "testutil.h"

#include "codec/kpl_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tp_cursor S(const char *s)
{
    return tp_cursor_from_str(s);
}
static const tp_cursor NONE = {NULL, 0};

static size_t unhex(uint8_t *out, const char *hex)
{
    size_t n = 0;
    for (; hex[0] && hex[1]; hex += 2) {
        while (*hex == ' ')
            hex++;
        if (!hex[0])
            break;
        unsigned v;
        sscanf(hex, "%2x", &v);
        out[n++] = (uint8_t)v;
    }
    return n;
}

static int cur_eq(tp_cursor c, const char *s)
{
    return c.len == strlen(s) && (c.len == 0 || memcmp(c.ptr, s, c.len) == 0);
}

/* ---- known vectors -------------------------------------------------------------
 * Produced by aws-kinesis-agg 4.2.8 (npm), RecordAggregator via aggregate():
 *   [{partitionKey:"AAPL", data:"hi"}, {partitionKey:"MSFT", data:"there"},
 *    {partitionKey:"AAPL", data:"!"}]
 * and [{partitionKey:"k", explicitHashKey:"123", data:"x"}].
 * Both lay out tables first, then records, as we do: byte-identical. */
static const char VEC1[] = "f3899ac20a044141504c0a044d5346541a0608001a0268691a0908011a05746865"
                           "72651a0508001a012127738f047a068e551bf47062bc6ed192";
static const char VEC2[] = "f3899ac20a016b12033132331a07080010001a0178e05fc07f9f88badf973bc4085a"
                           "5deb8c";
/* Hand-computed: the empty aggregate is the magic and MD5("") =
 * d41d8cd98f00b204e9800998ecf8427e (RFC 1321, A.5). */
static const char VEC_EMPTY[] = "f3899ac2d41d8cd98f00b204e9800998ecf8427e";

START_TEST(test_encode_matches_aws_kinesis_agg)
{
    tp_kpl_aggregator *a = NULL;
    tp_error err;
    ck_assert_int_eq(tp_kpl_aggregator_new(&a, NULL, &err), TP_OK);
    ck_assert_int_eq(tp_kpl_aggregator_add(a, S("AAPL"), NONE, S("hi"), &err), TP_OK);
    ck_assert_int_eq(tp_kpl_aggregator_add(a, S("MSFT"), NONE, S("there"), &err), TP_OK);
    ck_assert_int_eq(tp_kpl_aggregator_add(a, S("AAPL"), NONE, S("!"), &err), TP_OK);
    ck_assert_uint_eq(tp_kpl_aggregator_count(a), 3);
    uint8_t want[256];
    size_t wn = unhex(want, VEC1);
    ck_assert_uint_eq(tp_kpl_aggregator_blob_bytes(a), wn);
    ck_assert_uint_eq(tp_kpl_aggregator_size(a), wn + 4); /* + "AAPL" */
    tp_buf out;
    tp_buf_init(&out, NULL, 0);
    tp_kpl_outer outer;
    ck_assert_int_eq(tp_kpl_aggregator_finish(a, &out, &outer, &err), TP_OK);
    ck_assert_uint_eq(out.len, wn);
    ck_assert_mem_eq(out.ptr, want, wn);
    ck_assert_str_eq(outer.partition_key, "AAPL");
    /* int(md5(b"AAPL").hexdigest(), 16), computed with Python's hashlib */
    ck_assert_str_eq(outer.explicit_hash_key, "184850406388112911326934670974242359210");
    ck_assert_uint_eq(tp_kpl_aggregator_count(a), 0);
    ck_assert_uint_eq(tp_kpl_aggregator_size(a), 0);

    tp_buf_clear(&out);
    ck_assert_int_eq(tp_kpl_aggregator_add(a, S("k"), S("123"), S("x"), &err), TP_OK);
    ck_assert_int_eq(tp_kpl_aggregator_finish(a, &out, &outer, &err), TP_OK);
    wn = unhex(want, VEC2);
    ck_assert_uint_eq(out.len, wn);
    ck_assert_mem_eq(out.ptr, want, wn);
    ck_assert_str_eq(outer.partition_key, "k");
    ck_assert_str_eq(outer.explicit_hash_key, "123");

    tp_buf_clear(&out);
    ck_assert_int_eq(tp_kpl_aggregator_finish(a, &out, &outer, &err), TP_OK);
    wn = unhex(want, VEC_EMPTY);
    ck_assert_uint_eq(out.len, wn);
    ck_assert_mem_eq(out.ptr, want, wn);
    ck_assert_str_eq(outer.partition_key, "");
    ck_assert_str_eq(outer.explicit_hash_key, "");
    tp_buf_dispose(&out);
    tp_kpl_aggregator_free(a);
}
END_TEST

START_TEST(test_decode_vectors)
{
    uint8_t in[256];
    size_t n = unhex(in, VEC1), count = 99;
    tp_kpl_reader *r = NULL;
    tp_error err;
    tp_kpl_record rec;
    ck_assert(tp_kpl_is_aggregated(tp_cursor_make(in, n)));
    ck_assert_int_eq(tp_kpl_reader_new(&r, NULL, &err), TP_OK);
    ck_assert_int_eq(tp_kpl_reader_begin(r, tp_cursor_make(in, n), &count, &err), TP_OK);
    ck_assert_uint_eq(count, 3);
    static const char *pk[] = {"AAPL", "MSFT", "AAPL"}, *data[] = {"hi", "there", "!"};
    for (size_t i = 0; i < 3; i++) {
        ck_assert_int_eq(tp_kpl_reader_next(r, &rec), TP_OK);
        ck_assert(cur_eq(rec.partition_key, pk[i]));
        ck_assert(cur_eq(rec.data, data[i]));
        ck_assert_ptr_null(rec.explicit_hash_key.ptr);
        ck_assert_uint_eq(rec.sub_sequence, i);
        /* zero-copy: the views point into the input */
        ck_assert(rec.data.ptr >= in && rec.data.ptr + rec.data.len <= in + n);
    }
    ck_assert_int_eq(tp_kpl_reader_next(r, &rec), TP_DONE);
    ck_assert_int_eq(tp_kpl_reader_next(r, &rec), TP_DONE);

    n = unhex(in, VEC2);
    ck_assert_int_eq(tp_kpl_reader_begin(r, tp_cursor_make(in, n), &count, &err), TP_OK);
    ck_assert_uint_eq(count, 1);
    ck_assert_int_eq(tp_kpl_reader_next(r, &rec), TP_OK);
    ck_assert(cur_eq(rec.partition_key, "k"));
    ck_assert(cur_eq(rec.explicit_hash_key, "123"));
    ck_assert(cur_eq(rec.data, "x"));
    ck_assert_int_eq(tp_kpl_reader_next(r, &rec), TP_DONE);

    n = unhex(in, VEC_EMPTY);
    ck_assert_int_eq(tp_kpl_reader_begin(r, tp_cursor_make(in, n), &count, &err), TP_OK);
    ck_assert_uint_eq(count, 0);
    ck_assert_int_eq(tp_kpl_reader_next(r, &rec), TP_DONE);
    tp_kpl_reader_free(r);
}
END_TEST

/* ---- malformed input: every error with its offset and field ---------------------
 * `proto` is the protobuf part (hex); the test wraps it in the magic and its
 * MD5 unless `raw` is set, in which case `proto` is the whole input. */
static const struct bad_row {
    const char *name;
    const char *proto;
    int raw;
    tp_status want;
    uint64_t offset;
    const char *field;
} bad_rows[] = {
    {"no magic", "f3899ac3d41d8cd98f00b204e9800998ecf8427e", 1, TP_E_INVALID, 0, "magic"},
    {"magic only", "f3899ac2", 1, TP_E_PARSE, 4, "md5"},
    {"19 bytes", "f3899ac2d41d8cd98f00b204e9800998ecf842", 1, TP_E_PARSE, 19, "md5"},
    {"bad md5", "f3899ac20a0141d41d8cd98f00b204e9800998ecf8427e", 1, TP_E_CHECKSUM, 7, "md5"},
    {"tag runs past the end", "80", 0, TP_E_PARSE, 4, "AggregatedRecord"},
    {"tag over 32 bits", "8080808080", 0, TP_E_PARSE, 4, "AggregatedRecord"},
    {"field number 0", "0001", 0, TP_E_PARSE, 4, "AggregatedRecord"},
    {"table with varint wire type", "0801", 0, TP_E_PARSE, 4, "partition_key_table"},
    {"records with varint wire type", "0a01411801", 0, TP_E_PARSE, 7, "records"},
    {"table length past the end", "0a0541", 0, TP_E_PARSE, 5, "partition_key_table"},
    {"table length truncated", "0a", 0, TP_E_PARSE, 5, "partition_key_table"},
    {"group", "2b", 0, TP_E_PARSE, 4, "AggregatedRecord"},
    {"wire type 6", "2e", 0, TP_E_PARSE, 4, "AggregatedRecord"},
    {"varint over 64 bits", "28ffffffffffffffffff02", 0, TP_E_PARSE, 5, "AggregatedRecord"},
    {"varint of 11 bytes", "28ffffffffffffffffffff01", 0, TP_E_PARSE, 5, "AggregatedRecord"},
    {"fixed64 truncated", "2901020304", 0, TP_E_PARSE, 4, "AggregatedRecord"},
    {"fixed32 truncated", "2d0102", 0, TP_E_PARSE, 4, "AggregatedRecord"},
    {"record past the end", "1a0508", 0, TP_E_PARSE, 5, "records"},
    {"record without partition_key_index", "0a01411a031a0178", 0, TP_E_PARSE, 9,
     "partition_key_index"},
    {"record without data", "0a01411a020800", 0, TP_E_PARSE, 9, "data"},
    {"partition_key_index past the table", "0a01411a0508011a0178", 0, TP_E_PARSE, 9,
     "partition_key_index"},
    {"partition_key_index with no table", "1a0508001a0178", 0, TP_E_PARSE, 6,
     "partition_key_index"},
    {"explicit_hash_key_index past the table", "0a01411a07080010001a0178", 0, TP_E_PARSE, 11,
     "explicit_hash_key_index"},
    {"index varint truncated in its record", "0a01411a020880", 0, TP_E_PARSE, 10,
     "partition_key_index"},
    {"data with varint wire type", "0a01411a0408001801", 0, TP_E_PARSE, 11, "data"},
    {"data length past its record", "0a01411a0408001a05", 0, TP_E_PARSE, 12, "data"},
    {"index with LEN wire type", "0a01411a050a01001a00", 0, TP_E_PARSE, 9, "partition_key_index"},
    {"tag without key", "0a01411a0908001a017822021200", 0, TP_E_PARSE, 14, "key"},
    {"tag key with varint wire type", "0a01411a0908001a017822020800", 0, TP_E_PARSE, 16, "key"},
    {"tag past its record", "0a01411a0708001a01782205", 0, TP_E_PARSE, 15, "tags"},
    {"group inside a record", "0a01411a0608001a01782b", 0, TP_E_PARSE, 14, "Record"},
    {"second record bad", "0a01411a0408001a001a020800", 0, TP_E_PARSE, 15, "data"},
};

START_TEST(test_malformed)
{
    const struct bad_row *row = &bad_rows[_i];
    uint8_t in[256];
    size_t n;
    if (row->raw) {
        n = unhex(in, row->proto);
    } else {
        memcpy(in, "\xf3\x89\x9a\xc2", 4);
        n = 4 + unhex(in + 4, row->proto);
        ck_assert_int_eq(tp_kpl__md5(in + n, tp_cursor_make(in + 4, n - 4)), 0);
        n += 16;
    }
    tp_kpl_reader *r = NULL;
    tp_error err;
    size_t count = 77;
    tp_kpl_record rec;
    ck_assert_int_eq(tp_kpl_reader_new(&r, NULL, &err), TP_OK);
    tp_error_clear(&err);
    tp_status st = tp_kpl_reader_begin(r, tp_cursor_make(in, n), &count, &err);
    if (st != row->want || err.offset != row->offset || strcmp(err.field, row->field) != 0)
        ck_abort_msg("%s: got %d at %llu field '%s' (%s); want %d at %llu field '%s'", row->name,
                     st, (unsigned long long)err.offset, err.field, err.message, row->want,
                     (unsigned long long)row->offset, row->field);
    ck_assert_int_eq(err.code, row->want);
    ck_assert(err.message[0] != 0);
    ck_assert_uint_eq(count, 0);
    ck_assert_int_eq(tp_kpl_reader_next(r, &rec), TP_DONE);
    tp_kpl_reader_free(r);
}
END_TEST

/* Well-formed variations the format allows and we must read. */
static const struct good_row {
    const char *name;
    const char *proto;
    size_t count;
    const char *pk0, *ehk0, *data0; /* ehk0 NULL: none */
    uint32_t tags0;
} good_rows[] = {
    {"unknown fields are skipped", "0a01412801291122334455667788" "1a07" "08001a01782801"
                                   "3d00000000", 1, "A", NULL, "x", 0},
    {"tables after the records", "1a0508001a0178" "0a0141", 1, "A", NULL, "x", 0},
    {"last partition_key_index wins", "0a01410a01421a07" "080108001a0178", 1, "A", NULL, "x", 0},
    {"overlong varint index", "0a01411a06" "0880001a0178", 1, "A", NULL, "x", 0},
    {"tags counted", "0a01411a10" "08001a0178" "2203" "0a0174" "2204" "0a00" "1200", 1, "A", NULL,
     "x", 2},
    {"empty data and key", "0a001a0408001a00", 1, "", NULL, "", 0},
    {"ehk index with empty table entry", "0a014112001a07" "080010001a0178", 1, "A", "", "x", 0},
    {"tables only", "0a01410a0142", 0, NULL, NULL, NULL, 0},
};

START_TEST(test_wellformed)
{
    const struct good_row *row = &good_rows[_i];
    uint8_t in[256];
    memcpy(in, "\xf3\x89\x9a\xc2", 4);
    size_t n = 4 + unhex(in + 4, row->proto);
    ck_assert_int_eq(tp_kpl__md5(in + n, tp_cursor_make(in + 4, n - 4)), 0);
    n += 16;
    tp_kpl_reader *r = NULL;
    tp_error err;
    size_t count = 0;
    tp_kpl_record rec;
    ck_assert_int_eq(tp_kpl_reader_new(&r, NULL, &err), TP_OK);
    tp_status st = tp_kpl_reader_begin(r, tp_cursor_make(in, n), &count, &err);
    if (st != TP_OK)
        ck_abort_msg("%s: %s at %llu", row->name, err.message, (unsigned long long)err.offset);
    ck_assert_uint_eq(count, row->count);
    if (row->count) {
        ck_assert_int_eq(tp_kpl_reader_next(r, &rec), TP_OK);
        ck_assert(cur_eq(rec.partition_key, row->pk0));
        ck_assert(cur_eq(rec.data, row->data0));
        if (row->ehk0) {
            ck_assert_ptr_nonnull(rec.explicit_hash_key.ptr);
            ck_assert(cur_eq(rec.explicit_hash_key, row->ehk0));
        } else {
            ck_assert_ptr_null(rec.explicit_hash_key.ptr);
        }
        ck_assert_uint_eq(rec.tag_count, row->tags0);
    }
    for (size_t i = 1; i < row->count; i++)
        ck_assert_int_eq(tp_kpl_reader_next(r, &rec), TP_OK);
    ck_assert_int_eq(tp_kpl_reader_next(r, &rec), TP_DONE);
    tp_kpl_reader_free(r);
}
END_TEST

/* ---- keys refused on add -------------------------------------------------------- */
static const struct key_row {
    const char *pk;
    const char *ehk; /* NULL: none */
    uint64_t offset;
    const char *field;
} key_rows[] = {
    {"", NULL, 0, "partition_key"},
    {"ab\xff", NULL, 2, "partition_key"},
    {"a\xc3", NULL, 1, "partition_key"},
    {"\xc0\x80", NULL, 0, "partition_key"},          /* overlong NUL */
    {"x\xed\xa0\x80", NULL, 1, "partition_key"},     /* a surrogate */
    {"\xf4\x90\x80\x80", NULL, 0, "partition_key"},  /* past U+10FFFF */
    {"k", "", 0, "explicit_hash_key"},
    {"k", "01", 1, "explicit_hash_key"},
    {"k", "12a", 2, "explicit_hash_key"},
    {"k", "-1", 0, "explicit_hash_key"},
    {"k", "340282366920938463463374607431768211456", 39, "explicit_hash_key"}, /* 2^128 */
    {"k", "1000000000000000000000000000000000000000", 39, "explicit_hash_key"},
};

START_TEST(test_bad_keys)
{
    const struct key_row *row = &key_rows[_i];
    tp_kpl_aggregator *a = NULL;
    tp_error err;
    ck_assert_int_eq(tp_kpl_aggregator_new(&a, NULL, &err), TP_OK);
    tp_cursor ehk = row->ehk ? S(row->ehk) : NONE;
    if (row->ehk && !*row->ehk)
        ehk.ptr = (const uint8_t *)""; /* present but empty */
    tp_cursor pk = S(row->pk);
    if (!*row->pk)
        pk.ptr = (const uint8_t *)"";
    ck_assert_int_eq(tp_kpl_aggregator_add(a, pk, ehk, S("d"), &err), TP_E_INVALID);
    ck_assert_uint_eq(err.offset, row->offset);
    ck_assert_str_eq(err.field, row->field);
    ck_assert_uint_eq(tp_kpl_aggregator_count(a), 0);
    tp_kpl_aggregator_free(a);
}
END_TEST

START_TEST(test_key_limits)
{
    tp_kpl_aggregator *a = NULL;
    tp_error err;
    ck_assert_int_eq(tp_kpl_aggregator_new(&a, NULL, &err), TP_OK);
    /* 256 characters of 4 bytes: the longest key; 257 characters: refused */
    char pk[4 * 257 + 1];
    for (int i = 0; i < 257; i++)
        memcpy(pk + 4 * i, "\xf0\x9f\x98\x80", 4);
    ck_assert_int_eq(tp_kpl_aggregator_add(a, tp_cursor_make(pk, 4 * 257), NONE, S("d"), &err),
                     TP_E_INVALID);
    ck_assert_str_eq(err.field, "partition_key");
    ck_assert_int_eq(tp_kpl_aggregator_add(a, tp_cursor_make(pk, 4 * 256), NONE, S("d"), &err),
                     TP_OK);
    ck_assert_int_eq(tp_kpl_aggregator_add(a, S("k"), S("340282366920938463463374607431768211455"),
                                           S("d"), &err),
                     TP_OK);
    ck_assert_int_eq(tp_kpl_aggregator_add(a, S("k"), S("0"), S("d"), &err), TP_OK);
    tp_buf out;
    tp_buf_init(&out, NULL, 0);
    tp_kpl_outer outer;
    ck_assert_int_eq(tp_kpl_aggregator_finish(a, &out, &outer, &err), TP_OK);
    ck_assert_uint_eq(strlen(outer.partition_key), 1024);
    ck_assert_int_eq(memcmp(outer.partition_key, pk, 1024), 0);
    tp_buf_dispose(&out);
    tp_kpl_aggregator_free(a);
}
END_TEST

/* ---- sizes and limits -------------------------------------------------------------- */

/* Fill an aggregator to exactly its cap: the last record that fits makes the
 * size equal the cap, one more byte is TP_E_LIMIT, and the blob written is
 * as long as predicted. */
START_TEST(test_limit_exact)
{
    tp_kpl_aggregator_options o;
    ck_assert_int_eq(tp_kpl_aggregator_options_init(&o, TP_KPL_AGGREGATOR_OPTIONS_VERSION), TP_OK);
    ck_assert_uint_eq(o.max_bytes, 0);
    tp_kpl_aggregator *a = NULL;
    tp_error err;
    ck_assert_int_eq(tp_kpl_aggregator_new(&a, &o, &err), TP_OK); /* default: 51200 */
    static uint8_t buf[60000];
    memset(buf, 'z', sizeof buf);
    size_t added = 0;
    for (;;) {
        tp_cursor d = tp_cursor_make(buf, 1000);
        uint64_t want = tp_kpl_aggregator_size_with(a, S("AAPL"), NONE, d);
        tp_status st = tp_kpl_aggregator_add(a, S("AAPL"), NONE, d, &err);
        if (st == TP_E_LIMIT) {
            ck_assert_uint_gt(want, 51200);
            break;
        }
        ck_assert_int_eq(st, TP_OK);
        ck_assert_uint_eq(tp_kpl_aggregator_size(a), want);
        added++;
    }
    ck_assert_uint_eq(added, 50);
    /* Now fill the rest exactly: find the data length that lands on 51200. */
    uint64_t left = 51200 - tp_kpl_aggregator_size(a);
    size_t len = 0;
    while (tp_kpl_aggregator_size_with(a, S("AAPL"), NONE, tp_cursor_make(buf, len + 1)) <= 51200)
        len++;
    ck_assert_uint_lt(len, left);
    ck_assert_uint_eq(tp_kpl_aggregator_size_with(a, S("AAPL"), NONE, tp_cursor_make(buf, len)),
                      51200);
    ck_assert_int_eq(tp_kpl_aggregator_add(a, S("AAPL"), NONE, tp_cursor_make(buf, len + 1), &err),
                     TP_E_LIMIT);
    ck_assert_uint_eq(tp_kpl_aggregator_count(a), 50); /* unchanged */
    ck_assert_int_eq(tp_kpl_aggregator_add(a, S("AAPL"), NONE, tp_cursor_make(buf, len), &err),
                     TP_OK);
    ck_assert_uint_eq(tp_kpl_aggregator_size(a), 51200);
    tp_buf out;
    tp_buf_init(&out, NULL, 0);
    tp_kpl_outer outer;
    ck_assert_int_eq(tp_kpl_aggregator_finish(a, &out, &outer, &err), TP_OK);
    ck_assert_uint_eq(out.len + strlen(outer.partition_key), 51200);

    /* A record that cannot fit even alone */
    ck_assert_int_eq(
        tp_kpl_aggregator_add(a, S("AAPL"), NONE, tp_cursor_make(buf, 51200), &err),
        TP_E_TOO_LARGE);
    ck_assert_str_eq(err.field, "data");
    /* ... nor when the aggregate is not empty */
    ck_assert_int_eq(tp_kpl_aggregator_add(a, S("AAPL"), NONE, S("x"), &err), TP_OK);
    ck_assert_int_eq(
        tp_kpl_aggregator_add(a, S("AAPL"), NONE, tp_cursor_make(buf, 51200), &err),
        TP_E_TOO_LARGE);
    tp_buf_dispose(&out);
    tp_kpl_aggregator_free(a);
}
END_TEST

/* The partition key counts: with TP_KPL_OUTER_KPL the outer key is "a" (1 byte). */
START_TEST(test_outer_key_modes)
{
    tp_kpl_aggregator_options o = TP_KPL_AGGREGATOR_OPTIONS_INIT;
    o.outer_key = TP_KPL_OUTER_KPL;
    o.max_bytes = 100;
    tp_kpl_aggregator *a = NULL;
    tp_error err;
    ck_assert_int_eq(tp_kpl_aggregator_new(&a, &o, &err), TP_OK);
    ck_assert_int_eq(tp_kpl_aggregator_add(a, S("longer-key"), NONE, S("d"), &err), TP_OK);
    uint64_t blob = tp_kpl_aggregator_blob_bytes(a);
    ck_assert_uint_eq(tp_kpl_aggregator_size(a), blob + 1);
    tp_buf out;
    tp_buf_init(&out, NULL, 0);
    tp_kpl_outer outer;
    ck_assert_int_eq(tp_kpl_aggregator_finish(a, &out, &outer, &err), TP_OK);
    ck_assert_str_eq(outer.partition_key, "a");
    /* int(md5(b"longer-key")) is the first record's hash key */
    char want[TP_KPL_HASH_KEY_MAX];
    ck_assert_int_eq(tp_kpl__hash_key_of(want, S("longer-key")), 0);
    ck_assert_str_eq(outer.explicit_hash_key, want);
    tp_kpl_aggregator_free(a);

    /* First record without an EHK, the second with one: the outer EHK is
     * still the first record's hash key (MD5 of "AAPL"). */
    ck_assert_int_eq(tp_kpl_aggregator_new(&a, NULL, &err), TP_OK);
    ck_assert_int_eq(tp_kpl_aggregator_add(a, S("AAPL"), NONE, S("d"), &err), TP_OK);
    ck_assert_int_eq(tp_kpl_aggregator_add(a, S("B"), S("7"), S("d"), &err), TP_OK);
    tp_buf_clear(&out);
    ck_assert_int_eq(tp_kpl_aggregator_finish(a, &out, &outer, &err), TP_OK);
    ck_assert_str_eq(outer.partition_key, "AAPL");
    ck_assert_str_eq(outer.explicit_hash_key, "184850406388112911326934670974242359210");
    tp_buf_dispose(&out);
    tp_kpl_aggregator_free(a);

    o.outer_key = 9;
    ck_assert_int_eq(tp_kpl_aggregator_new(&a, &o, &err), TP_E_INVALID);
    ck_assert_str_eq(err.field, "outer_key");
    o.outer_key = 0;
    o.version = 2;
    ck_assert_int_eq(tp_kpl_aggregator_new(&a, &o, &err), TP_E_INVALID);
    ck_assert_int_eq(tp_kpl_aggregator_options_init(&o, 2), TP_E_INVALID);
}
END_TEST

/* Random records (keys repeated, varint boundaries, 200+ distinct keys so
 * indexes take two bytes): the predicted size is the blob's length, and the
 * reader gives back every record in order. */
START_TEST(test_roundtrip_random)
{
    srand(1234 + _i);
    tp_kpl_aggregator_options o = TP_KPL_AGGREGATOR_OPTIONS_INIT;
    o.max_bytes = 4u << 20;
    tp_kpl_aggregator *a = NULL;
    tp_kpl_reader *r = NULL;
    tp_error err;
    ck_assert_int_eq(tp_kpl_aggregator_new(&a, &o, &err), TP_OK);
    ck_assert_int_eq(tp_kpl_reader_new(&r, NULL, &err), TP_OK);
    enum { N = 600 };
    static char pks[N][16], ehks[N][40];
    static size_t dlen[N];
    static int has_ehk[N];
    static uint8_t data[N][300];
    for (int i = 0; i < N; i++) {
        snprintf(pks[i], sizeof pks[i], "k%d", rand() % 300);
        has_ehk[i] = rand() % 3 == 0;
        snprintf(ehks[i], sizeof ehks[i], "%d", rand() % 200);
        int pick = rand() % 6;
        dlen[i] = pick == 0 ? 0 : pick == 1 ? 127 : pick == 2 ? 128 : (size_t)(rand() % 300);
        for (size_t j = 0; j < dlen[i]; j++)
            data[i][j] = (uint8_t)rand();
        uint64_t want = tp_kpl_aggregator_size_with(a, S(pks[i]), has_ehk[i] ? S(ehks[i]) : NONE,
                                                    tp_cursor_make(data[i], dlen[i]));
        ck_assert_int_eq(tp_kpl_aggregator_add(a, S(pks[i]), has_ehk[i] ? S(ehks[i]) : NONE,
                                               tp_cursor_make(data[i], dlen[i]), &err),
                         TP_OK);
        ck_assert_uint_eq(tp_kpl_aggregator_size(a), want);
    }
    uint64_t blob = tp_kpl_aggregator_blob_bytes(a);
    tp_buf out;
    tp_buf_init(&out, NULL, 0);
    tp_kpl_outer outer;
    ck_assert_int_eq(tp_kpl_aggregator_finish(a, &out, &outer, &err), TP_OK);
    ck_assert_uint_eq(out.len, blob);
    size_t count = 0;
    ck_assert_int_eq(tp_kpl_reader_begin(r, tp_buf_cursor(&out), &count, &err), TP_OK);
    ck_assert_uint_eq(count, N);
    tp_kpl_record rec;
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(tp_kpl_reader_next(r, &rec), TP_OK);
        ck_assert(cur_eq(rec.partition_key, pks[i]));
        if (has_ehk[i])
            ck_assert(cur_eq(rec.explicit_hash_key, ehks[i]));
        else
            ck_assert_ptr_null(rec.explicit_hash_key.ptr);
        ck_assert_uint_eq(rec.data.len, dlen[i]);
        ck_assert(dlen[i] == 0 || memcmp(rec.data.ptr, data[i], dlen[i]) == 0);
        ck_assert_uint_eq(rec.sub_sequence, i);
    }
    ck_assert_int_eq(tp_kpl_reader_next(r, &rec), TP_DONE);
    tp_buf_dispose(&out);
    tp_kpl_reader_free(r);
    tp_kpl_aggregator_free(a);
}
END_TEST

/* In place (the producer's way): with headroom in front of the records,
 * tp_kpl__aggregator_finish_swap writes byte for byte what
 * tp_kpl_aggregator_finish writes, when the key tables fit the headroom and
 * when they do not (the records move up), aggregate after aggregate. */
static const struct {
    size_t head;
    int keys; /* distinct partition keys */
} swap_rows[] = {{1024, 3}, {1024, 300}, {8, 2}, {0, 5}, {64, 40}};

START_TEST(test_finish_swap)
{
    tp_kpl_aggregator *a = NULL, *b = NULL;
    tp_error err;
    ck_assert_int_eq(tp_kpl_aggregator_new(&a, NULL, &err), TP_OK);
    ck_assert_int_eq(tp_kpl_aggregator_new(&b, NULL, &err), TP_OK);
    ck_assert_int_eq(tp_kpl__aggregator_set_head(a, swap_rows[_i].head, &err), TP_OK);
    tp_buf want, swap;
    tp_buf_init(&want, NULL, 0);
    tp_buf_init(&swap, NULL, 0);
    for (int round = 0; round < 3; round++) {
        tp_buf_clear(&want);
        for (int i = 0; i < 100 + round; i++) {
            char pk[32], ehk[8], data[64];
            snprintf(pk, sizeof pk, "key-%d", (i * 7 + round) % swap_rows[_i].keys);
            snprintf(ehk, sizeof ehk, "%d", i);
            int n = snprintf(data, sizeof data, "record %d of round %d", i, round);
            tp_cursor e = i % 5 == 1 ? S(ehk) : NONE;
            ck_assert_int_eq(tp_kpl_aggregator_add(a, S(pk), e, tp_cursor_make(data, (size_t)n),
                                                   &err),
                             TP_OK);
            ck_assert_int_eq(tp_kpl_aggregator_add(b, S(pk), e, tp_cursor_make(data, (size_t)n),
                                                   &err),
                             TP_OK);
        }
        ck_assert_uint_eq(tp_kpl_aggregator_size(a), tp_kpl_aggregator_size(b));
        uint64_t bytes = tp_kpl_aggregator_blob_bytes(a);
        size_t at = 0, off = 0;
        tp_cursor recs = tp_kpl__aggregator_records(a, &at);
        tp_cursor recs_b = tp_kpl__aggregator_records(b, &at);
        ck_assert_uint_eq(recs.len, recs_b.len);
        ck_assert_int_eq(memcmp(recs.ptr, recs_b.ptr, recs.len), 0);
        ck_assert_int_eq(tp_kpl_aggregator_finish(b, &want, NULL, &err), TP_OK);
        ck_assert_int_eq(tp_kpl__aggregator_finish_swap(a, &swap, &off, &err), TP_OK);
        ck_assert_uint_eq(swap.len - off, want.len);
        ck_assert_uint_eq(want.len, bytes);
        ck_assert_int_eq(memcmp(swap.ptr + off, want.ptr, want.len), 0);
        ck_assert_uint_eq(tp_kpl_aggregator_count(a), 0);
    }
    size_t off = 0;
    ck_assert_int_eq(tp_kpl__aggregator_finish_swap(a, &swap, &off, &err), TP_E_STATE);
    tp_buf_dispose(&want);
    tp_buf_dispose(&swap);
    tp_kpl_aggregator_free(a);
    tp_kpl_aggregator_free(b);
}
END_TEST

/* The largest records: one user record of 10 MiB (the largest a stream may
 * take) in an aggregate capped at 10 MiB + 64 KiB reads back whole. */
START_TEST(test_max_sizes)
{
    const size_t big = 10u << 20;
    uint8_t *d = malloc(big);
    ck_assert_ptr_nonnull(d);
    for (size_t i = 0; i < big; i++)
        d[i] = (uint8_t)(i * 7);
    tp_kpl_aggregator_options o = TP_KPL_AGGREGATOR_OPTIONS_INIT;
    o.max_bytes = big + 65536;
    tp_kpl_aggregator *a = NULL;
    tp_kpl_reader *r = NULL;
    tp_error err;
    ck_assert_int_eq(tp_kpl_aggregator_new(&a, &o, &err), TP_OK);
    ck_assert_int_eq(tp_kpl_aggregator_add(a, S("big"), NONE, tp_cursor_make(d, big), &err), TP_OK);
    ck_assert_int_eq(tp_kpl_aggregator_add(a, S("small"), NONE, S("s"), &err), TP_OK);
    /* 10 MiB needs a 4-byte length, the record's own length too */
    ck_assert_uint_eq(tp_kpl_aggregator_blob_bytes(a),
                      20 + (2 + 3) + (2 + 5) + (1 + 4 + 2 + 1 + 4 + big) + (1 + 1 + 2 + 2 + 1));
    tp_buf out;
    tp_buf_init(&out, NULL, 0);
    ck_assert_int_eq(tp_kpl_aggregator_finish(a, &out, NULL, &err), TP_OK);
    size_t count;
    ck_assert_int_eq(tp_kpl_reader_new(&r, NULL, &err), TP_OK);
    ck_assert_int_eq(tp_kpl_reader_begin(r, tp_buf_cursor(&out), &count, &err), TP_OK);
    ck_assert_uint_eq(count, 2);
    tp_kpl_record rec;
    ck_assert_int_eq(tp_kpl_reader_next(r, &rec), TP_OK);
    ck_assert_uint_eq(rec.data.len, big);
    ck_assert_int_eq(memcmp(rec.data.ptr, d, big), 0);
    ck_assert_int_eq(tp_kpl_reader_next(r, &rec), TP_OK);
    ck_assert(cur_eq(rec.data, "s"));
    /* Bounded output buffer: finish fails cleanly and keeps the records. */
    ck_assert_int_eq(tp_kpl_aggregator_add(a, S("k"), NONE, S("abc"), &err), TP_OK);
    tp_buf small;
    tp_buf_init(&small, NULL, 16);
    ck_assert_int_eq(tp_kpl_aggregator_finish(a, &small, NULL, &err), TP_E_TOO_LARGE);
    ck_assert_uint_eq(tp_kpl_aggregator_count(a), 1);
    tp_buf_dispose(&small);
    tp_buf_dispose(&out);
    tp_kpl_reader_free(r);
    tp_kpl_aggregator_free(a);
    free(d);
}
END_TEST

START_TEST(test_is_aggregated)
{
    ck_assert(!tp_kpl_is_aggregated(S("")));
    ck_assert(!tp_kpl_is_aggregated(tp_cursor_make("\xf3\x89\x9a", 3)));
    ck_assert(tp_kpl_is_aggregated(tp_cursor_make("\xf3\x89\x9a\xc2", 4)));
    ck_assert(!tp_kpl_is_aggregated(S("{\"symbol\":\"AAPL\"}")));
    ck_assert(!tp_kpl_is_aggregated(NONE));
    tp_kpl_reader *r = NULL;
    tp_error err;
    ck_assert_int_eq(tp_kpl_reader_new(&r, NULL, &err), TP_OK);
    ck_assert_int_eq(tp_kpl_reader_begin(r, S("plain record"), NULL, &err), TP_E_INVALID);
    ck_assert_uint_eq(err.offset, 0);
    tp_kpl_reader_free(r);
}
END_TEST

START_TEST(test_hash_key_of)
{
    /* int(md5(b"").hexdigest(), 16) and md5(b"k"), from Python's hashlib */
    char out[TP_KPL_HASH_KEY_MAX];
    ck_assert_int_eq(tp_kpl__hash_key_of(out, tp_cursor_make("", 0)), 0);
    ck_assert_str_eq(out, "281949768489412648962353822266799178366");
    ck_assert_int_eq(tp_kpl__hash_key_of(out, S("k")), 0);
    ck_assert_str_eq(out, "187279361568289349169310600456257773043");
}
END_TEST

/* Out of memory at every allocation: a clean TP_E_NOMEM, nothing leaked, and
 * the aggregator still usable. */
START_TEST(test_oom)
{
    int passed = 0;
    for (long n = 1; n < 200 && !passed; n++) {
        tpt_failing_alloc fa;
        tpt_failing_alloc_init(&fa, n);
        tp_kpl_aggregator_options o = TP_KPL_AGGREGATOR_OPTIONS_INIT;
        o.alloc = &fa.a;
        tp_kpl_aggregator *a = NULL;
        tp_kpl_reader *r = NULL;
        tp_error err;
        tp_buf out;
        tp_buf_init(&out, &fa.a, 0);
        tp_status st = tp_kpl_aggregator_new(&a, &o, &err);
        char key[16];
        for (int i = 0; st == TP_OK && i < 100; i++) {
            snprintf(key, sizeof key, "key%d", i % 40);
            st = tp_kpl_aggregator_add(a, S(key), i % 2 ? S("42") : NONE, S("data"), &err);
            if (st == TP_E_NOMEM) {
                ck_assert_uint_eq(tp_kpl_aggregator_count(a), (size_t)i);
                /* unchanged: the size still matches what finish writes */
                break;
            }
        }
        if (st == TP_OK || st == TP_E_NOMEM) {
            if (a) {
                uint64_t blob = tp_kpl_aggregator_blob_bytes(a);
                size_t cnt = tp_kpl_aggregator_count(a);
                tp_status fs = tp_kpl_aggregator_finish(a, &out, NULL, &err);
                if (fs == TP_OK) {
                    ck_assert_uint_eq(out.len, blob);
                    fs = tp_kpl_reader_new(&r, &fa.a, &err);
                    size_t count = 0;
                    if (fs == TP_OK)
                        fs = tp_kpl_reader_begin(r, tp_buf_cursor(&out), &count, &err);
                    if (fs == TP_OK)
                        ck_assert_uint_eq(count, cnt);
                    if (fs == TP_OK && st == TP_OK)
                        passed = 1;
                }
                if (fs != TP_OK)
                    ck_assert_int_eq(fs, TP_E_NOMEM);
            }
        } else {
            ck_assert_int_eq(st, TP_E_NOMEM);
        }
        tp_kpl_reader_free(r);
        tp_kpl_aggregator_free(a);
        tp_buf_dispose(&out);
        ck_assert_int_eq(fa.live, 0);
    }
    ck_assert(passed);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("kpl");
    TCase *tc = tcase_create("kpl");
    tcase_add_test(tc, test_encode_matches_aws_kinesis_agg);
    tcase_add_test(tc, test_decode_vectors);
    tcase_add_loop_test(tc, test_malformed, 0, TP_ARRAY_LEN(bad_rows));
    tcase_add_loop_test(tc, test_wellformed, 0, TP_ARRAY_LEN(good_rows));
    tcase_add_loop_test(tc, test_bad_keys, 0, TP_ARRAY_LEN(key_rows));
    tcase_add_test(tc, test_key_limits);
    tcase_add_test(tc, test_limit_exact);
    tcase_add_test(tc, test_outer_key_modes);
    tcase_add_loop_test(tc, test_roundtrip_random, 0, 4);
    tcase_add_loop_test(tc, test_finish_swap, 0, TP_ARRAY_LEN(swap_rows));
    tcase_add_test(tc, test_max_sizes);
    tcase_add_test(tc, test_is_aggregated);
    tcase_add_test(tc, test_hash_key_of);
    tcase_add_test(tc, test_oom);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tpt_run_suite(suite());
}
