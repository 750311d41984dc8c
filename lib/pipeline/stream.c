/* Floor 5: the stream interface. What every backend shares: options, URI
 * dispatch, Kinesis's hash-key routing and record validation; the backends
 * (stream_file.c, stream_kinesis.c) store and read, and the numbers they
 * share are in stream_numbers.c. */
#include "codec/kpl_int.h"
#include "stream_int.h"

#include <openssl/evp.h>
#include <stdio.h>

TP__DEFINE_INIT(tp_stream_options_init, tp_stream_options,
                TP_STREAM_OPTIONS_VERSION, TP_STREAM_OPTIONS_INIT)

/* ---- open and close ------------------------------------------------------- */

static tp_status routing_init(tp_stream *s, tp_error *err)
{
    if (!s->range_start) {
        s->range_start = tp__calloc(s->alloc, s->shard_count, sizeof *s->range_start);
        if (!s->range_start)
            return tp_error__set(err, TP_E_NOMEM, "out of memory");
        for (uint32_t i = 0; i < s->shard_count; i++)
            s->range_start[i] = tp_stream__range_start(i, s->shard_count);
    }
    EVP_MD *md = EVP_MD_fetch(NULL, "MD5", NULL);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!md || !ctx) {
        EVP_MD_free(md);
        EVP_MD_CTX_free(ctx);
        return tp_error__set(err, TP_E_UNSUPPORTED, "MD5 is not available from OpenSSL");
    }
    s->md5_alg = md;
    s->md5 = ctx;
    return TP_OK;
}

tp_status tp_stream_open(tp_stream **out, const char *uri, const tp_stream_options *opts,
                         tp_error *err)
{
    if (!out || !uri)
        return tp_error__set(err, TP_E_INVALID, "tp_stream_open: NULL argument");
    *out = NULL;
    tp_stream_options o = TP_STREAM_OPTIONS_INIT;
    if (opts) {
        if (opts->version != TP_STREAM_OPTIONS_VERSION)
            return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "version",
                                "stream options version %u is unknown", opts->version);
        o = *opts;
    }
    if (o.shard_count > TP_STREAM_MAX_SHARDS)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "shard_count",
                            "%u shards: a stream has 1 to %u", o.shard_count, TP_STREAM_MAX_SHARDS);
    if (o.segment_bytes && o.segment_bytes < 4096)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "segment_bytes",
                            "segment size %llu: at least 4096 bytes",
                            (unsigned long long)o.segment_bytes);
    if (o.retention_ms < 0)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "retention_ms",
                            "negative retention period");
    int kinesis = !strncmp(uri, "kinesis://", 10);
    if (kinesis && !uri[10])
        return tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, "stream",
                            "stream '%.100s': kinesis:// needs a stream name", uri);
    if (!kinesis && (strncmp(uri, "file:", 5) != 0 || !uri[5]))
        return tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, "stream",
                            "stream '%.100s': expected file:DIR (or kinesis://STREAM)", uri);

    tp_stream *s = tp__calloc(o.alloc, 1, sizeof *s);
    if (!s)
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    s->alloc = o.alloc;
    s->writable = (o.flags & TP_STREAM_WRITE) != 0;
    tp_status st = kinesis ? tp_stream__kinesis_open(s, uri + 10, &o, err)
                           : tp_stream__file_open(s, uri + 5, &o, err);
    if (st == TP_OK)
        st = routing_init(s, err);
    if (st != TP_OK) {
        tp_stream_free(s);
        return st;
    }
    *out = s;
    return TP_OK;
}

void tp_stream_free(tp_stream *s)
{
    if (!s)
        return;
    if (s->ops)
        s->ops->close(s);
    EVP_MD_CTX_free(s->md5);
    EVP_MD_free(s->md5_alg);
    tp__free(s->alloc, s->range_start);
    tp__free(s->alloc, s);
}

const char *tp_stream_id(const tp_stream *s) { return s ? s->id : ""; }

uint32_t tp_stream_shard_count(const tp_stream *s) { return s ? s->shard_count : 0; }

tp_status tp_stream_list_shards(tp_stream *s, tp_kinesis_shards *out, tp_error *err)
{
    if (!s || !out)
        return tp_error__set(err, TP_E_INVALID, "tp_stream_list_shards: NULL argument");
    return s->ops->list_shards(s, out, err);
}

/* ---- routing and validation ----------------------------------------------- */

static uint32_t shard_of_hash(const tp_stream *s, tp_u128 h)
{
    uint32_t lo = 0, hi = s->shard_count; /* the last start <= h, by bisection */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->range_start[mid] <= h)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Check one record as PutRecords would and find its shard. On a refusal,
 * `why` gets the message and `field` the Kinesis member at fault. */
static tp_status check_entry(const tp_stream *s, tp_cursor data, const char *pk, const char *ehk,
                             uint32_t *shard, const char **field, char *why, size_t why_cap)
{
    size_t kl = pk ? strlen(pk) : 0;
    if (kl == 0) {
        *field = "PartitionKey";
        snprintf(why, why_cap, "the partition key is empty (1 to %u bytes)",
                 TP_STREAM_MAX_PARTITION_KEY);
        return TP_E_INVALID;
    }
    if (kl > TP_STREAM_MAX_PARTITION_KEY) {
        *field = "PartitionKey";
        snprintf(why, why_cap, "the partition key has %zu bytes (at most %u)", kl,
                 TP_STREAM_MAX_PARTITION_KEY);
        return TP_E_INVALID;
    }
    if (data.len > TP_STREAM_MAX_RECORD_BYTES || kl + data.len > TP_STREAM_MAX_RECORD_BYTES) {
        *field = "Data";
        snprintf(why, why_cap,
                 "the record has %zu bytes of data and %zu of partition key: over %u (1 MiB)",
                 data.len, kl, TP_STREAM_MAX_RECORD_BYTES);
        return TP_E_INVALID;
    }
    if (data.len && !data.ptr) {
        *field = "Data";
        snprintf(why, why_cap, "data pointer is NULL");
        return TP_E_INVALID;
    }
    tp_u128 h;
    if (ehk) {
        if (tp_stream__u128_parse(&h, ehk) != 0) {
            *field = "ExplicitHashKey";
            snprintf(why, why_cap, "explicit hash key '%.60s' is not a decimal in 0..2^128-1", ehk);
            return TP_E_INVALID;
        }
    } else {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;
        EVP_MD_CTX *ctx = s->md5;
        if (EVP_DigestInit_ex(ctx, s->md5_alg, NULL) != 1 || EVP_DigestUpdate(ctx, pk, kl) != 1 ||
            EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 16) {
            *field = "PartitionKey";
            snprintf(why, why_cap, "MD5 of the partition key failed");
            return TP_E_UNSUPPORTED;
        }
        h = 0;
        for (int i = 0; i < 16; i++)
            h = (h << 8) | md[i];
    }
    *shard = shard_of_hash(s, h);
    return TP_OK;
}

tp_status tp_stream_route(const tp_stream *s, const char *partition_key,
                          const char *explicit_hash_key, uint32_t *shard_index, tp_error *err)
{
    if (!s || !shard_index)
        return tp_error__set(err, TP_E_INVALID, "tp_stream_route: NULL argument");
    const char *field = NULL;
    char why[TP_ERROR_MESSAGE_MAX];
    tp_status st = check_entry(s, tp_cursor_make("", 0), partition_key, explicit_hash_key,
                               shard_index, &field, why, sizeof why);
    if (st != TP_OK)
        return tp_error__at(err, st, TP_NO_OFFSET, field, "%s", why);
    return TP_OK;
}

tp_status tp_stream_hash_key_in_range(const char *partition_key, const char *hash_key_start,
                                      const char *hash_key_end, int *in, tp_error *err)
{
    if (!partition_key || !hash_key_start || !hash_key_end || !in)
        return tp_error__set(err, TP_E_INVALID, "tp_stream_hash_key_in_range: NULL argument");
    *in = 0;
    if (!partition_key[0])
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "PartitionKey",
                            "the partition key is empty");
    tp_u128 lo, hi, h = 0;
    if (tp_stream__u128_parse(&lo, hash_key_start) != 0)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "StartingHashKey",
                            "'%.48s' is not a decimal in 0..2^128-1", hash_key_start);
    if (tp_stream__u128_parse(&hi, hash_key_end) != 0)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "EndingHashKey",
                            "'%.48s' is not a decimal in 0..2^128-1", hash_key_end);
    uint8_t md[16];
    if (tp_kpl__md5(md, tp_cursor_from_str(partition_key)) != 0)
        return tp_error__set(err, TP_E_UNSUPPORTED, "MD5 is not available from OpenSSL");
    for (int i = 0; i < 16; i++)
        h = (h << 8) | md[i];
    *in = h >= lo && h <= hi;
    return TP_OK;
}

static void result_fail(tp_kinesis_put_result *r, const char *code, const char *msg)
{
    if (!r)
        return;
    r->shard_id[0] = '\0';
    r->sequence_number[0] = '\0';
    tp__strlcpy(r->error_code, code, sizeof r->error_code);
    tp__strlcpy(r->error_message, msg, sizeof r->error_message);
}

tp_status tp_stream_put_records(tp_stream *s, const tp_kinesis_entry *entries, size_t n,
                                tp_kinesis_put_result *results, uint32_t *failed, tp_error *err)
{
    if (failed)
        *failed = 0;
    if (!s || (!entries && n))
        return tp_error__set(err, TP_E_INVALID, "tp_stream_put_records: NULL argument");
    if (!s->writable)
        return tp_error__set(err, TP_E_INVALID,
                             "put on a stream opened without TP_STREAM_WRITE (read only)");
    if (n == 0 || n > TP_STREAM_MAX_BATCH_RECORDS)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "Records",
                            "%zu records in one put: 1 to %u", n, TP_STREAM_MAX_BATCH_RECORDS);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total +=
            entries[i].data.len + (entries[i].partition_key ? strlen(entries[i].partition_key) : 0);
    if (total > TP_STREAM_MAX_BATCH_BYTES)
        return tp_error__at(err, TP_E_TOO_LARGE, TP_NO_OFFSET, "Records",
                            "%llu bytes in one put: at most %u (5 MiB)", (unsigned long long)total,
                            TP_STREAM_MAX_BATCH_BYTES);

    uint32_t shard_small[64];
    uint8_t ok_small[64];
    uint32_t *shard = n <= 64 ? shard_small : tp__malloc(s->alloc, n * sizeof *shard);
    uint8_t *ok = n <= 64 ? ok_small : tp__malloc(s->alloc, n);
    tp_status st = TP_OK;
    if (!shard || !ok) {
        st = tp_error__set(err, TP_E_NOMEM, "out of memory");
        goto done;
    }
    size_t todo = 0;
    for (size_t i = 0; i < n; i++) {
        const char *field = NULL;
        char why[TP_ERROR_MESSAGE_MAX];
        ok[i] = 0;
        tp_status est =
            check_entry(s, entries[i].data, entries[i].partition_key, entries[i].explicit_hash_key,
                        &shard[i], &field, why, sizeof why);
        if (est == TP_OK) {
            todo++;
            continue;
        }
        if (est != TP_E_INVALID) {
            st = tp_error__at(err, est, TP_NO_OFFSET, field, "%s", why);
            goto done;
        }
        shard[i] = UINT32_MAX;
        result_fail(results ? &results[i] : NULL, "ValidationException", why);
    }
    if (todo)
        st = s->ops->put(s, entries, shard, n, results, ok, err);
    if (failed) {
        uint32_t f = 0;
        for (size_t i = 0; i < n; i++)
            f += !ok[i];
        *failed = f;
    }
done:
    if (shard != shard_small)
        tp__free(s->alloc, shard);
    if (ok != ok_small)
        tp__free(s->alloc, ok);
    return st;
}

tp_status tp_stream_put_record(tp_stream *s, tp_cursor data, const char *partition_key,
                               const char *explicit_hash_key, tp_kinesis_put_result *out,
                               tp_error *err)
{
    if (!s)
        return tp_error__set(err, TP_E_INVALID, "tp_stream_put_record: NULL argument");
    /* Checked here first so that a refusal names its field. */
    uint32_t shard;
    tp_status st = tp_stream_route(s, partition_key, explicit_hash_key, &shard, err);
    if (st != TP_OK)
        return st;
    tp_kinesis_entry e = {data, partition_key, explicit_hash_key};
    tp_kinesis_put_result r;
    uint32_t failed = 0;
    st = tp_stream_put_records(s, &e, 1, &r, &failed, err);
    if (st != TP_OK)
        return st;
    if (failed)
        return tp_error__at(err,
                            strcmp(r.error_code, "ValidationException") ? TP_E_IO : TP_E_INVALID,
                            TP_NO_OFFSET, "Data", "%s: %s", r.error_code, r.error_message);
    if (out)
        *out = r;
    return TP_OK;
}

tp_status tp_stream_wait(tp_stream *s, uint32_t timeout_ms, tp_error *err)
{
    if (!s)
        return tp_error__set(err, TP_E_INVALID, "tp_stream_wait: NULL argument");
    return s->ops->wait(s, timeout_ms, err);
}

/* ---- readers -------------------------------------------------------------- */

tp_status tp_stream_reader_new(tp_stream_reader **out, tp_stream *s, const char *shard_id,
                               const tp_stream_position *pos, tp_error *err)
{
    if (!out || !s || !shard_id)
        return tp_error__set(err, TP_E_INVALID, "tp_stream_reader_new: NULL argument");
    *out = NULL;
    uint32_t shard = UINT32_MAX;
    tp_status st = s->ops->find_shard(s, shard_id, &shard, err);
    if (st != TP_OK)
        return st;
    tp_stream_position start = {TP_KINESIS_TRIM_HORIZON, 0, 0, {0}};
    if (pos)
        start = *pos;
    if (start.type < TP_KINESIS_TRIM_HORIZON || start.type > TP_KINESIS_AT_TIMESTAMP)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "type",
                            "unknown starting position type %d", start.type);
    if (start.type == TP_KINESIS_AT_SEQUENCE_NUMBER ||
        start.type == TP_KINESIS_AFTER_SEQUENCE_NUMBER) {
        if (!memchr(start.sequence_number, '\0', sizeof start.sequence_number) ||
            !tp_stream__seq_valid(start.sequence_number))
            return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "sequence_number",
                                "'%.60s' is not a sequence number (decimal digits)",
                                memchr(start.sequence_number, '\0', sizeof start.sequence_number)
                                    ? start.sequence_number
                                    : "(not terminated)");
    }
    tp_stream_reader *r = tp__calloc(s->alloc, 1, sizeof *r);
    if (!r)
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    r->s = s;
    r->shard = shard;
    r->pos = start;
    if (start.type == TP_KINESIS_AT_SEQUENCE_NUMBER && strcmp(start.sequence_number, "0") != 0) {
        /* Resuming "at" N is resuming "after" N - 1 (decimal, no leading zero). */
        char *d = r->pos.sequence_number;
        size_t n = strlen(d), i = n;
        while (i > 0 && d[i - 1] == '0')
            d[--i] = '9';
        if (i > 0) /* always: a valid number other than 0 has a digit above 0 */
            d[i - 1]--;
        if (d[0] == '0' && n > 1)
            memmove(d, d + 1, n);
        r->pos.type = TP_KINESIS_AFTER_SEQUENCE_NUMBER;
    }
    tp__strlcpy(r->shard_id, shard_id, sizeof r->shard_id);
    st = s->ops->reader_new(r, shard, &start, err);
    if (st != TP_OK) {
        tp__free(s->alloc, r);
        return st;
    }
    *out = r;
    return TP_OK;
}

tp_status tp_stream_reader_get(tp_stream_reader *r, uint32_t limit, tp_stream_records *out,
                               tp_error *err)
{
    if (!r || !out)
        return tp_error__set(err, TP_E_INVALID, "tp_stream_reader_get: NULL argument");
    out->records = NULL;
    out->count = 0;
    out->millis_behind_latest = 0;
    return r->s->ops->reader_get(r, limit ? limit : 10000, out, err);
}

void tp_stream_reader_stats_get(const tp_stream_reader *r, tp_stream_reader_stats *out)
{
    if (!out)
        return;
    if (!r) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = r->stats;
}

void tp_stream_reader_position(const tp_stream_reader *r, tp_stream_position *out)
{
    if (!out)
        return;
    tp_stream_position none = {TP_KINESIS_TRIM_HORIZON, 0, 0, {0}};
    *out = r ? r->pos : none;
}

const char *tp_stream_reader_shard_id(const tp_stream_reader *r) { return r ? r->shard_id : ""; }

void tp_stream_reader_free(tp_stream_reader *r)
{
    if (!r)
        return;
    r->s->ops->reader_free(r);
    tp__free(r->s->alloc, r);
}
