/* Floor 4: the Kinesis Data Streams client (AWS JSON 1.1). */
#include "aws/aws_int.h"
#include "codec/json_int.h"
#include "kinesis_int.h"
#include "codec/kpl_int.h"
#include "tradepipe/kinesis.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define TARGET_PREFIX "Kinesis_20131202."
#define JSON_VERSION  "1.1"

struct tp_kinesis {
    tp_aws_conn conn;
    tp_buf body;
    tp_http_response resp; /* reused by PutRecords, the hot path */
    tp_kinesis_limits limits; /* defaults filled in */
};

/* A PutRecords body is at most the base64 of max_request_bytes plus, per
 * entry, its JSON: a partition key escaped (<= 6 bytes per byte of 1024), a
 * hash key (<= 39 digits) and the member names. The buffer is capped there:
 * whatever the caller passes, the client never builds a bigger body. */
#define BODY_ENTRY_OVERHEAD (6 * 4 * TP_KINESIS_MAX_PARTITION_KEY_CHARS + 128)
#define BODY_MAX                                                                                   \
    ((size_t)TP_KINESIS_MAX_REQUEST_BYTES / 3 * 4 + 4 +                                            \
     (size_t)TP_KINESIS_MAX_BATCH_RECORDS * BODY_ENTRY_OVERHEAD + 4096)

typedef struct records_mem {
    json_t *root;
    tp_buf data;
} records_mem;

tp_status tp_kinesis_new(tp_kinesis **out, const tp_aws_client_options *opts, tp_error *err)
{
    if (!out)
        return tp_error__set(err, TP_E_INVALID, "tp_kinesis_new: out is NULL");
    *out = NULL;
    const tp_allocator *a = opts ? opts->alloc : NULL;
    tp_kinesis *k = tp__calloc(a, 1, sizeof *k);
    if (!k)
        return tp_error__set(err, TP_E_NOMEM, "out of memory creating a Kinesis client");
    tp_status st = tp_aws__conn_init(&k->conn, "kinesis", TP_AWS_PROTO_JSON, 0, opts, err);
    if (st != TP_OK) {
        tp__free(a, k);
        return st;
    }
    tp_buf_init(&k->body, k->conn.alloc, BODY_MAX);
    tp_http_response_init(&k->resp, k->conn.alloc);
    k->limits.version = TP_KINESIS_LIMITS_VERSION;
    k->limits.max_records = TP_KINESIS_MAX_BATCH_RECORDS;
    k->limits.max_record_bytes = TP_KINESIS_MAX_RECORD_BYTES;
    k->limits.max_request_bytes = TP_KINESIS_MAX_REQUEST_BYTES;
    *out = k;
    return TP_OK;
}

TP__DEFINE_INIT(tp_kinesis_limits_init, tp_kinesis_limits,
                TP_KINESIS_LIMITS_VERSION, TP_KINESIS_LIMITS_INIT)

tp_status tp_kinesis_set_limits(tp_kinesis *k, const tp_kinesis_limits *l, tp_error *err)
{
    if (!k || !l)
        return tp_error__set(err, TP_E_INVALID, "tp_kinesis_set_limits: NULL argument");
    if (l->version != TP_KINESIS_LIMITS_VERSION)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "version",
                            "tp_kinesis_limits: version %u, expected %u", (unsigned)l->version,
                            TP_KINESIS_LIMITS_VERSION);
    tp_kinesis_limits n = *l;
    if (!n.max_records)
        n.max_records = TP_KINESIS_MAX_BATCH_RECORDS;
    if (!n.max_record_bytes)
        n.max_record_bytes = TP_KINESIS_MAX_RECORD_BYTES;
    if (!n.max_request_bytes)
        n.max_request_bytes = TP_KINESIS_MAX_REQUEST_BYTES;
    if (n.max_records > TP_KINESIS_MAX_BATCH_RECORDS)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "max_records",
                            "max_records %u: PutRecords takes at most %u", (unsigned)n.max_records,
                            TP_KINESIS_MAX_BATCH_RECORDS);
    if (n.max_record_bytes > TP_KINESIS_MAX_RECORD_BYTES_LIMIT)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "max_record_bytes",
                            "max_record_bytes %llu: a stream takes records of at most %u bytes",
                            (unsigned long long)n.max_record_bytes,
                            TP_KINESIS_MAX_RECORD_BYTES_LIMIT);
    if (n.max_request_bytes > TP_KINESIS_MAX_REQUEST_BYTES)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "max_request_bytes",
                            "max_request_bytes %llu: PutRecords takes at most %u bytes",
                            (unsigned long long)n.max_request_bytes, TP_KINESIS_MAX_REQUEST_BYTES);
    k->limits = n;
    return TP_OK;
}

void tp_kinesis_get_limits(const tp_kinesis *k, tp_kinesis_limits *out)
{
    if (k && out)
        *out = k->limits;
}

void tp_kinesis_free(tp_kinesis *k)
{
    if (!k)
        return;
    tp_allocator a = k->conn.alloc_copy;
    int has = k->conn.alloc != NULL;
    tp_buf_dispose(&k->body);
    tp_http_response_dispose(&k->resp);
    tp_aws__conn_dispose(&k->conn);
    tp__free(has ? &a : NULL, k);
}

static int is_arn(const char *s)
{
    return strncmp(s, "arn:", 4) == 0;
}

static tp_status check_stream(const char *stream, tp_error *err)
{
    if (!stream || !*stream)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "StreamName", "no stream name");
    if (strlen(stream) > 2048)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "StreamName", "stream name too long");
    return TP_OK;
}

static json_t *stream_obj(const char *stream)
{
    json_t *o = json_object();
    if (o && json_object_set_new(o, is_arn(stream) ? "StreamARN" : "StreamName",
                                 json_string(stream)) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static tp_status call(tp_kinesis *k, const char *op, json_t *body, json_t **out, tp_error *err)
{
    char target[64];
    snprintf(target, sizeof target, TARGET_PREFIX "%s", op);
    tp_status st = tp_aws__json_call_obj(&k->conn, JSON_VERSION, target, body, out, err);
    json_decref(body);
    return st;
}

/* A call whose answer is not needed. */
static tp_status call0(tp_kinesis *k, const char *op, json_t *body, tp_error *err)
{
    json_t *out = NULL;
    tp_status st = call(k, op, body, &out, err);
    json_decref(out);
    return st;
}

static int set_str(json_t *o, const char *k, const char *v)
{
    return json_object_set_new(o, k, json_string(v)) == 0;
}

static int set_int(json_t *o, const char *k, json_int_t v)
{
    return json_object_set_new(o, k, json_integer(v)) == 0;
}

static tp_status nomem(tp_error *err, const char *what)
{
    return tp_error__set(err, TP_E_NOMEM, "%s: out of memory building the request", what);
}

tp_status tp_kinesis_create_stream(tp_kinesis *k, const char *stream, uint32_t shard_count,
                                   tp_error *err)
{
    tp_status st = check_stream(stream, err);
    if (st != TP_OK)
        return st;
    json_t *b = json_object();
    int ok = b && set_str(b, "StreamName", stream);
    if (ok && shard_count) {
        ok = set_int(b, "ShardCount", shard_count);
    } else if (ok) {
        json_t *m = json_object();
        ok = m && set_str(m, "StreamMode", "ON_DEMAND") &&
             json_object_set_new(b, "StreamModeDetails", m) == 0;
    }
    if (!ok) {
        json_decref(b);
        return nomem(err, "CreateStream");
    }
    return call0(k, "CreateStream", b, err);
}

tp_status tp_kinesis_delete_stream(tp_kinesis *k, const char *stream,
                                   int32_t enforce_consumer_deletion, tp_error *err)
{
    tp_status st = check_stream(stream, err);
    if (st != TP_OK)
        return st;
    json_t *b = stream_obj(stream);
    if (b && enforce_consumer_deletion &&
        json_object_set_new(b, "EnforceConsumerDeletion", json_true()) != 0) {
        json_decref(b);
        b = NULL;
    }
    if (!b)
        return nomem(err, "DeleteStream");
    return call0(k, "DeleteStream", b, err);
}

tp_status tp_kinesis_describe_stream_summary(tp_kinesis *k, const char *stream,
                                             tp_kinesis_stream_summary *out, tp_error *err)
{
    json_t *ans = NULL;
    memset(out, 0, sizeof *out);
    tp_status st = check_stream(stream, err);
    if (st != TP_OK)
        return st;
    json_t *b = stream_obj(stream);
    if (!b)
        return nomem(err, "DescribeStreamSummary");
    st = call(k, "DescribeStreamSummary", b, &ans, err);
    if (st != TP_OK)
        return st;
    json_t *d = json_object_get(ans, "StreamDescriptionSummary");
    int64_t v = 0;
    if (!json_is_object(d)) {
        st = tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, "StreamDescriptionSummary",
                          "DescribeStreamSummary: answer lacks StreamDescriptionSummary");
        goto done;
    }
    st = tp_aws__copy_str(d, "StreamStatus", 1, out->status, sizeof out->status, err);
    if (st == TP_OK)
        st = tp_aws__copy_str(d, "StreamARN", 0, out->arn, sizeof out->arn, err);
    if (st == TP_OK) {
        json_t *m = json_object_get(d, "StreamModeDetails");
        if (json_is_object(m))
            st = tp_aws__copy_str(m, "StreamMode", 0, out->stream_mode, sizeof out->stream_mode,
                                  err);
    }
    if (st == TP_OK && (st = tp_aws__get_int(d, "OpenShardCount", 1, &v, err)) == TP_OK)
        out->open_shard_count = (uint32_t)v;
    v = 0;
    if (st == TP_OK && (st = tp_aws__get_int(d, "RetentionPeriodHours", 0, &v, err)) == TP_OK)
        out->retention_hours = (uint32_t)v;
    v = 0;
    if (st == TP_OK && (st = tp_aws__get_int(d, "ConsumerCount", 0, &v, err)) == TP_OK)
        out->consumer_count = (uint32_t)v;
    if (st == TP_OK)
        st = tp_aws__get_epoch_ms(d, "StreamCreationTimestamp", 0, &out->creation_ms, err);
    v = 0;
    if (st == TP_OK && (st = tp_aws__get_int(d, "MaxRecordSizeInKiB", 0, &v, err)) == TP_OK) {
        /* absent: the stream predates the setting, or the service (an
         * emulator) does not report it; the limit is then the default */
        if (v < 0 || v > TP_KINESIS_MAX_RECORD_KIB || (v == 0 && json_object_get(d,
                                                                "MaxRecordSizeInKiB"))) {
            st = tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, "MaxRecordSizeInKiB",
                              "DescribeStreamSummary: MaxRecordSizeInKiB %lld out of 1..%d",
                              (long long)v, TP_KINESIS_MAX_RECORD_KIB);
            goto done;
        }
        out->max_record_kib = (uint32_t)v;
        out->max_record_bytes = v ? (uint64_t)v * 1024 : TP_KINESIS_MAX_RECORD_BYTES;
    }
done:
    json_decref(ans);
    return st;
}

tp_status tp_kinesis_load_limits(tp_kinesis *k, const char *stream, tp_kinesis_stream_summary *out,
                                 tp_error *err)
{
    tp_kinesis_stream_summary tmp;
    tp_kinesis_stream_summary *s = out ? out : &tmp;
    tp_status st = tp_kinesis_describe_stream_summary(k, stream, s, err);
    if (st == TP_OK)
        k->limits.max_record_bytes = s->max_record_bytes;
    return st;
}

tp_status tp_kinesis_update_max_record_size(tp_kinesis *k, const char *stream, uint32_t kib,
                                            tp_error *err)
{
    tp_status st = check_stream(stream, err);
    if (st != TP_OK)
        return st;
    if (kib < TP_KINESIS_MIN_RECORD_KIB || kib > TP_KINESIS_MAX_RECORD_KIB)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "MaxRecordSizeInKiB",
                            "UpdateMaxRecordSize: %u KiB, the service takes %d to %d", kib,
                            TP_KINESIS_MIN_RECORD_KIB, TP_KINESIS_MAX_RECORD_KIB);
    /* The operation names the stream by ARN only. */
    tp_kinesis_stream_summary *sum = NULL;
    const char *arn = stream;
    if (!is_arn(stream)) {
        sum = tp__malloc(k->conn.alloc, sizeof *sum);
        if (!sum)
            return nomem(err, "UpdateMaxRecordSize");
        st = tp_kinesis_describe_stream_summary(k, stream, sum, err);
        if (st == TP_OK && !sum->arn[0])
            st = tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, "StreamARN",
                              "DescribeStreamSummary gave no StreamARN for %s", stream);
        arn = sum->arn;
    }
    json_t *b = NULL;
    if (st == TP_OK) {
        b = json_object();
        if (!b || !set_str(b, "StreamARN", arn) || !set_int(b, "MaxRecordSizeInKiB", kib)) {
            json_decref(b);
            st = nomem(err, "UpdateMaxRecordSize");
        } else {
            st = call0(k, "UpdateMaxRecordSize", b, err);
        }
    }
    tp__free(k->conn.alloc, sum);
    return st;
}

tp_status tp_kinesis_wait_active(tp_kinesis *k, const char *stream, uint32_t timeout_ms,
                                 tp_error *err)
{
    int64_t deadline = tp_time_mono_ns() / 1000000 + timeout_ms;
    tp_kinesis_stream_summary s;
    for (;;) {
        tp_status st = tp_kinesis_describe_stream_summary(k, stream, &s, err);
        if (st != TP_OK)
            return st;
        if (strcmp(s.status, "ACTIVE") == 0)
            return TP_OK;
        int64_t now = tp_time_mono_ns() / 1000000;
        if (now >= deadline)
            return tp_error__set(err, TP_E_TIMEOUT, "stream %s still %s after %u ms", stream,
                                 s.status, timeout_ms);
        int64_t left = deadline - now;
        tp__sleep_ms((uint32_t)(left < 100 ? left : 100));
    }
}

void tp_kinesis_shards_dispose(tp_kinesis_shards *s)
{
    if (!s)
        return;
    tp__free(s->alloc, s->shards);
    s->shards = NULL;
    s->count = 0;
}

static tp_status parse_shard(json_t *j, tp_kinesis_shard *sh, tp_error *err)
{
    memset(sh, 0, sizeof *sh);
    tp_status st = tp_aws__copy_str(j, "ShardId", 1, sh->shard_id, sizeof sh->shard_id, err);
    if (st == TP_OK)
        st = tp_aws__copy_str(j, "ParentShardId", 0, sh->parent_shard_id,
                              sizeof sh->parent_shard_id, err);
    if (st == TP_OK)
        st = tp_aws__copy_str(j, "AdjacentParentShardId", 0, sh->adjacent_parent_shard_id,
                              sizeof sh->adjacent_parent_shard_id, err);
    json_t *h = json_object_get(j, "HashKeyRange");
    json_t *q = json_object_get(j, "SequenceNumberRange");
    if (st == TP_OK && (!json_is_object(h) || !json_is_object(q)))
        st = tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, "HashKeyRange",
                          "shard lacks HashKeyRange or SequenceNumberRange");
    if (st == TP_OK)
        st = tp_aws__copy_str(h, "StartingHashKey", 1, sh->hash_key_start,
                              sizeof sh->hash_key_start, err);
    if (st == TP_OK)
        st = tp_aws__copy_str(h, "EndingHashKey", 1, sh->hash_key_end, sizeof sh->hash_key_end,
                              err);
    if (st == TP_OK)
        st = tp_aws__copy_str(q, "StartingSequenceNumber", 1, sh->sequence_start,
                              sizeof sh->sequence_start, err);
    if (st == TP_OK)
        st = tp_aws__copy_str(q, "EndingSequenceNumber", 0, sh->sequence_end,
                              sizeof sh->sequence_end, err);
    return st;
}

tp_status tp_kinesis_list_shards(tp_kinesis *k, const char *stream, uint32_t page_size,
                                 tp_kinesis_shards *out, tp_error *err)
{
    tp_status st = check_stream(stream, err);
    json_t *ans = NULL;
    char *token = NULL;
    size_t cap = 0;
    out->alloc = k->conn.alloc;
    tp_kinesis_shards_dispose(out);
    out->pages = 0;
    if (st != TP_OK)
        return st;
    /* Bounded: a stream has at most tens of thousands of shards. */
    for (uint32_t page = 0; page < 100000; page++) {
        json_t *b = json_object();
        int ok = b != NULL;
        /* With a NextToken the request must not name the stream. */
        if (ok && token)
            ok = set_str(b, "NextToken", token);
        else if (ok)
            ok = set_str(b, is_arn(stream) ? "StreamARN" : "StreamName", stream);
        if (ok && page_size)
            ok = set_int(b, "MaxResults", page_size);
        if (!ok) {
            json_decref(b);
            st = nomem(err, "ListShards");
            goto done;
        }
        json_decref(ans);
        ans = NULL;
        st = call(k, "ListShards", b, &ans, err);
        if (st != TP_OK)
            goto done;
        out->pages++;
        json_t *arr = json_object_get(ans, "Shards");
        if (!json_is_array(arr)) {
            st = tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, "Shards",
                              "ListShards: answer lacks Shards");
            goto done;
        }
        size_t n = json_array_size(arr);
        if (out->count + n > cap) {
            size_t ncap = cap ? cap * 2 : 16;
            while (ncap < out->count + n)
                ncap *= 2;
            tp_kinesis_shard *ns = tp__realloc(out->alloc, out->shards, ncap * sizeof *ns);
            if (!ns) {
                st = tp_error__set(err, TP_E_NOMEM, "ListShards: out of memory");
                goto done;
            }
            out->shards = ns;
            cap = ncap;
        }
        for (size_t i = 0; i < n; i++) {
            st = parse_shard(json_array_get(arr, i), &out->shards[out->count], err);
            if (st != TP_OK)
                goto done;
            out->count++;
        }
        const char *next = NULL;
        st = tp_aws__get_str(ans, "NextToken", 0, &next, err);
        if (st != TP_OK)
            goto done;
        tp__free(k->conn.alloc, token);
        token = NULL;
        if (!next || !*next)
            goto done;
        size_t tl = strlen(next);
        token = tp__malloc(k->conn.alloc, tl + 1);
        if (!token) {
            st = tp_error__set(err, TP_E_NOMEM, "ListShards: out of memory");
            goto done;
        }
        memcpy(token, next, tl + 1);
    }
    st = tp_error__set(err, TP_E_LIMIT, "ListShards: too many pages");
done:
    tp__free(k->conn.alloc, token);
    json_decref(ans);
    if (st != TP_OK)
        tp_kinesis_shards_dispose(out);
    return st;
}

/* Check one record as the service would, before sending it. On a refusal:
 * the status (TP_E_INVALID, TP_E_TOO_LARGE), the member at fault, the bad
 * byte in it (TP_NO_OFFSET: none) and a message. *size: data + key bytes. */
typedef struct entry_check {
    const char *field;
    uint64_t offset;
    uint64_t size;
    char why[TP_ERROR_MESSAGE_MAX];
} entry_check;

static tp_status check_entry(const tp_kinesis *k, tp_cursor data, const char *pk, const char *ehk,
                             size_t index, entry_check *c)
{
    size_t bad = 0;
    c->offset = TP_NO_OFFSET;
    c->size = 0;
    size_t kl = pk ? strlen(pk) : 0;
    size_t chars = kl ? tp_kpl__utf8_chars(tp_cursor_make(pk, kl), &bad) : 0;
    if (chars == 0 || chars == SIZE_MAX || chars > TP_KINESIS_MAX_PARTITION_KEY_CHARS) {
        c->field = "PartitionKey";
        if (chars == SIZE_MAX) {
            c->offset = bad;
            snprintf(c->why, sizeof c->why, "record %zu: partition key is not UTF-8 at byte %zu",
                     index, bad);
        } else {
            snprintf(c->why, sizeof c->why,
                     "record %zu: partition key has %zu characters (1 to %d)", index, chars,
                     TP_KINESIS_MAX_PARTITION_KEY_CHARS);
        }
        return TP_E_INVALID;
    }
    if (ehk && tp_kpl__hash_key_check(tp_cursor_from_str(ehk), &bad) != 0) {
        c->field = "ExplicitHashKey";
        c->offset = bad;
        snprintf(c->why, sizeof c->why,
                 "record %zu: explicit hash key is not a decimal in 0..2^128-1 (byte %zu)", index,
                 bad);
        return TP_E_INVALID;
    }
    if (!data.ptr && data.len) {
        c->field = "Data";
        snprintf(c->why, sizeof c->why, "record %zu: data pointer is NULL", index);
        return TP_E_INVALID;
    }
    c->size = (uint64_t)data.len + kl;
    if (c->size > k->limits.max_record_bytes) {
        c->field = "Data";
        snprintf(c->why, sizeof c->why,
                 "record %zu: %zu bytes of data + %zu of partition key = %llu, over the "
                 "record limit %llu",
                 index, data.len, kl, (unsigned long long)c->size,
                 (unsigned long long)k->limits.max_record_bytes);
        return TP_E_TOO_LARGE;
    }
    return TP_OK;
}

/* Append ,"Key":"value" (value JSON-escaped). */
static tp_status add_field(tp_buf *b, const char *key, const char *v, tp_error *err)
{
    tp_status st = tp_buf_appendf(b, err, ",\"%s\":", key);
    return st != TP_OK ? st : tp_json__append_string(b, v, strlen(v), err);
}

static tp_status add_stream(tp_buf *b, const char *stream, tp_error *err)
{
    tp_status st = tp_buf_appendf(b, err, "{\"%s\":", is_arn(stream) ? "StreamARN" : "StreamName");
    return st != TP_OK ? st : tp_json__append_string(b, stream, strlen(stream), err);
}

static tp_status add_data(tp_buf *b, tp_cursor data, tp_error *err)
{
    tp_status st = tp_buf_append_str(b, ",\"Data\":\"", err);
    if (st == TP_OK)
        st = tp_base64_encode(b, data, err);
    if (st == TP_OK)
        st = tp_buf_append(b, "\"", 1, err);
    return st;
}

/* The PutRecords body in one pass over one reservation:
 * {"StreamName":"s","Records":[{"PartitionKey":"k","ExplicitHashKey":"h",
 * "Data":"<base64>"},...]} (entries already checked). */
static tp_status put_records_body(tp_buf *b, const char *stream, const tp_kinesis_entry *e,
                                  size_t n, tp_error *err)
{
    static const char rec[] = "{\"PartitionKey\":", ehk[] = ",\"ExplicitHashKey\":",
                      data[] = ",\"Data\":\"";
    size_t size = 2; /* "]}" */
    for (size_t i = 0; i < n; i++) {
        size += 1 + (sizeof rec - 1) +
                tp_json__quoted_len(e[i].partition_key, strlen(e[i].partition_key));
        if (e[i].explicit_hash_key)
            size += (sizeof ehk - 1) +
                    tp_json__quoted_len(e[i].explicit_hash_key, strlen(e[i].explicit_hash_key));
        size += (sizeof data - 1) + (e[i].data.len + 2) / 3 * 4 + 2;
    }
    tp_buf_clear(b);
    tp_status st = add_stream(b, stream, err);
    if (st == TP_OK)
        st = tp_buf_append_str(b, ",\"Records\":[", err);
    if (st == TP_OK)
        st = tp_buf_reserve(b, size, err);
    if (st != TP_OK)
        return st;
    char *o = (char *)b->ptr + b->len;
    for (size_t i = 0; i < n; i++) {
        if (i)
            *o++ = ',';
        memcpy(o, rec, sizeof rec - 1);
        o += sizeof rec - 1;
        o += tp_json__quote_raw(o, e[i].partition_key, strlen(e[i].partition_key));
        if (e[i].explicit_hash_key) {
            memcpy(o, ehk, sizeof ehk - 1);
            o += sizeof ehk - 1;
            o += tp_json__quote_raw(o, e[i].explicit_hash_key, strlen(e[i].explicit_hash_key));
        }
        memcpy(o, data, sizeof data - 1);
        o += sizeof data - 1;
        tp__base64_encode_raw(o, e[i].data.ptr, e[i].data.len);
        o += (e[i].data.len + 2) / 3 * 4;
        memcpy(o, "\"}", 2);
        o += 2;
    }
    memcpy(o, "]}", 2);
    o += 2;
    b->len = (size_t)(o - (char *)b->ptr);
    b->ptr[b->len] = 0;
    return TP_OK;
}

static tp_status put_result(json_t *r, tp_kinesis_put_result *out, tp_error *err)
{
    memset(out, 0, sizeof *out);
    tp_status st = tp_aws__copy_str(r, "ErrorCode", 0, out->error_code, sizeof out->error_code,
                                    err);
    if (st != TP_OK)
        return st;
    if (out->error_code[0]) {
        const char *m = NULL;
        st = tp_aws__get_str(r, "ErrorMessage", 0, &m, err);
        tp__strlcpy(out->error_message, m, sizeof out->error_message);
        return st;
    }
    st = tp_aws__copy_str(r, "ShardId", 1, out->shard_id, sizeof out->shard_id, err);
    if (st == TP_OK)
        st = tp_aws__copy_str(r, "SequenceNumber", 1, out->sequence_number,
                              sizeof out->sequence_number, err);
    return st;
}

/* ---- PutRecords answers without a DOM -------------------------------------
 * A PutRecords answer of 500 records is ~55 KB of
 * {"FailedRecordCount":N,"Records":[{"SequenceNumber":"..","ShardId":".."},..]}
 * and building a jansson tree for it costs more than everything else the
 * call does. This scanner reads exactly that shape (any key order, blanks,
 * extra string or number members) and gives up on anything else (escapes,
 * nesting, a count mismatch), in which case jansson parses the answer. The
 * two agree: tests/unit/test_kinesis_scan.c compares them. */

typedef struct scan {
    const char *p, *end;
} scan;

static void sk_ws(scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static int sk_char(scan *s, char c)
{
    sk_ws(s);
    if (s->p < s->end && *s->p == c) {
        s->p++;
        return 1;
    }
    return 0;
}

/* A string without escapes or control bytes: its bytes in [*v, *v + *n).
 * ASCII only (anything else, UTF-8 included, goes to jansson, which
 * validates it); one vector pass finds the closing quote or the byte that
 * stops the fast path. */
static int sk_str(scan *s, const char **v, size_t *n)
{
    sk_ws(s);
    if (s->p >= s->end || *s->p != '"')
        return 0;
    const char *b = s->p + 1;
    const char *q = (const char *)tp_json__find_stop((const uint8_t *)b, (const uint8_t *)s->end);
    if (q == s->end || *q != '"')
        return 0;
    *v = b;
    *n = (size_t)(q - b);
    s->p = q + 1;
    return 1;
}

static int sk_uint(scan *s, uint64_t *out)
{
    sk_ws(s);
    uint64_t v = 0;
    const char *b = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9' && s->p - b < 18)
        v = v * 10 + (uint64_t)(*s->p++ - '0');
    if (s->p == b || (s->p < s->end && ((*s->p >= '0' && *s->p <= '9') || *s->p == '.' ||
                                        *s->p == 'e' || *s->p == 'E')))
        return 0;
    if (*b == '0' && s->p - b > 1)
        return 0; /* JSON has no leading zeros */
    *out = v;
    return 1;
}

static int sk_copy(char *dst, size_t cap, const char *v, size_t n)
{
    if (n >= cap)
        return 0;
    memcpy(dst, v, n);
    dst[n] = 0;
    return 1;
}

/* The common record exactly as services write it, with no blanks:
 * {"SequenceNumber":"..","ShardId":".."} or the two the other way round
 * (kinesalite's order). Matched by its literal text; 0 and nothing consumed
 * when it is anything else. */
static int sk_fast_record(scan *s, tp_kinesis_put_result *r)
{
    static const char seq_first[] = "{\"SequenceNumber\":\"", seq_then[] = "\",\"ShardId\":\"";
    static const char shard_first[] = "{\"ShardId\":\"", shard_then[] = "\",\"SequenceNumber\":\"";
    const char *p = s->p;
    size_t left = (size_t)(s->end - p);
    int seq1;
    if (left > sizeof seq_first && memcmp(p, seq_first, sizeof seq_first - 1) == 0) {
        seq1 = 1;
        p += sizeof seq_first - 1;
    } else if (left > sizeof shard_first && memcmp(p, shard_first, sizeof shard_first - 1) == 0) {
        seq1 = 0;
        p += sizeof shard_first - 1;
    } else {
        return 0;
    }
    const char *then = seq1 ? seq_then : shard_then;
    size_t then_len = seq1 ? sizeof seq_then - 1 : sizeof shard_then - 1;
    const char *q = (const char *)tp_json__find_stop((const uint8_t *)p, (const uint8_t *)s->end);
    if ((size_t)(s->end - q) < then_len || memcmp(q, then, then_len) != 0)
        return 0;
    const char *p2 = q + then_len;
    const char *e = (const char *)tp_json__find_stop((const uint8_t *)p2, (const uint8_t *)s->end);
    if (s->end - e < 2 || e[0] != '"' || e[1] != '}')
        return 0;
    const char *seq = seq1 ? p : p2, *sh = seq1 ? p2 : p;
    size_t seq_len = (size_t)((seq1 ? q : e) - seq), sh_len = (size_t)((seq1 ? e : q) - sh);
    if (seq_len == 0 || seq_len >= sizeof r->sequence_number || sh_len == 0 ||
        sh_len >= sizeof r->shard_id)
        return 0;
    memcpy(r->sequence_number, seq, seq_len);
    r->sequence_number[seq_len] = 0;
    memcpy(r->shard_id, sh, sh_len);
    r->shard_id[sh_len] = 0;
    r->error_code[0] = r->error_message[0] = 0;
    s->p = e + 2;
    return 1;
}

/* 1: handled (results filled, *failed set); 0: let jansson do it. */
static int scan_put_records(tp_cursor body, size_t n, tp_kinesis_put_result *res, uint32_t *failed)
{
    scan s = {(const char *)body.ptr, (const char *)body.ptr + body.len};
    uint64_t declared = UINT64_MAX;
    size_t count = 0;
    int seen_records = 0;
    if (!body.ptr || !sk_char(&s, '{'))
        return 0;
    if (sk_char(&s, '}'))
        return 0;
    do {
        const char *k;
        size_t kl;
        if (!sk_str(&s, &k, &kl) || !sk_char(&s, ':'))
            return 0;
        if (kl == 17 && !memcmp(k, "FailedRecordCount", 17)) {
            if (!sk_uint(&s, &declared))
                return 0;
        } else if (kl == 7 && !memcmp(k, "Records", 7)) {
            if (seen_records || !sk_char(&s, '['))
                return 0;
            seen_records = 1;
            if (!sk_char(&s, ']')) {
                do {
                    if (count >= n)
                        return 0;
                    if (sk_fast_record(&s, &res[count])) {
                        count++;
                        continue;
                    }
                    if (!sk_char(&s, '{'))
                        return 0;
                    tp_kinesis_put_result *r = &res[count];
                    r->shard_id[0] = r->sequence_number[0] = 0;
                    r->error_code[0] = r->error_message[0] = 0;
                    if (!sk_char(&s, '}')) {
                        do {
                            const char *rk, *v;
                            size_t rkl, vl;
                            if (!sk_str(&s, &rk, &rkl) || !sk_char(&s, ':') || !sk_str(&s, &v, &vl))
                                return 0;
                            if (rkl == 14 && !memcmp(rk, "SequenceNumber", 14)) {
                                if (!sk_copy(r->sequence_number, sizeof r->sequence_number, v, vl))
                                    return 0;
                            } else if (rkl == 7 && !memcmp(rk, "ShardId", 7)) {
                                if (!sk_copy(r->shard_id, sizeof r->shard_id, v, vl))
                                    return 0;
                            } else if (rkl == 9 && !memcmp(rk, "ErrorCode", 9)) {
                                if (!sk_copy(r->error_code, sizeof r->error_code, v, vl))
                                    return 0;
                            } else if (rkl == 12 && !memcmp(rk, "ErrorMessage", 12)) {
                                /* messages are cut to fit, as jansson's path does */
                                size_t m = vl < sizeof r->error_message - 1
                                               ? vl : sizeof r->error_message - 1;
                                memcpy(r->error_message, v, m);
                                r->error_message[m] = 0;
                            }
                        } while (sk_char(&s, ','));
                        if (!sk_char(&s, '}'))
                            return 0;
                    }
                    if (!r->error_code[0] && (!r->shard_id[0] || !r->sequence_number[0]))
                        return 0;
                    /* as put_result: an error has no placement, a success no message */
                    if (r->error_code[0])
                        r->shard_id[0] = r->sequence_number[0] = 0;
                    else
                        r->error_message[0] = 0;
                    count++;
                } while (sk_char(&s, ','));
                if (!sk_char(&s, ']'))
                    return 0;
            }
        } else {
            /* another member: a string or an unsigned number only */
            const char *v;
            size_t vl;
            uint64_t u;
            sk_ws(&s);
            if (!(s.p < s.end && *s.p == '"' ? sk_str(&s, &v, &vl) : sk_uint(&s, &u)))
                return 0;
        }
    } while (sk_char(&s, ','));
    if (!sk_char(&s, '}'))
        return 0;
    sk_ws(&s);
    if (s.p != s.end || !seen_records || count != n)
        return 0;
    uint32_t nf = 0;
    for (size_t i = 0; i < n; i++)
        nf += res[i].error_code[0] != 0;
    if (declared != UINT64_MAX && declared != nf)
        return 0;
    *failed = nf;
    return 1;
}

tp_status tp_kinesis__parse_put_records_json(tp_cursor body, size_t n,
                                             tp_kinesis_put_result *results, uint32_t *failed,
                                             tp_error *err)
{
    json_t *ans = NULL;
    tp_status st = tp_aws__json_parse_answer(body, TARGET_PREFIX "PutRecords", 0, &ans, err);
    if (st != TP_OK)
        return st;
    json_t *arr = json_object_get(ans, "Records");
    if (!json_is_array(arr) || json_array_size(arr) != n) {
        st = tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, "Records",
                          "PutRecords: answer has %zu records for %zu sent",
                          json_is_array(arr) ? json_array_size(arr) : (size_t)0, n);
        goto done;
    }
    uint32_t nf = 0;
    for (size_t i = 0; i < n; i++) {
        st = put_result(json_array_get(arr, i), &results[i], err);
        if (st != TP_OK) {
            if (err)
                err->offset = i;
            goto done;
        }
        if (results[i].error_code[0])
            nf++;
    }
    if (failed)
        *failed = nf;
done:
    json_decref(ans);
    return st;
}

int tp_kinesis__scan_put_records(tp_cursor body, size_t n, tp_kinesis_put_result *res,
                                 uint32_t *failed)
{
    return scan_put_records(body, n, res, failed);
}

static tp_status send_body(tp_kinesis *k, const char *op, json_t **ans, tp_error *err)
{
    char target[64];
    snprintf(target, sizeof target, TARGET_PREFIX "%s", op);
    return tp_aws__json_call(&k->conn, JSON_VERSION, target, tp_buf_cursor(&k->body), ans, err);
}

tp_status tp_kinesis_put_record(tp_kinesis *k, const char *stream, tp_cursor data,
                                const char *partition_key, const char *explicit_hash_key,
                                const char *sequence_for_ordering, tp_kinesis_put_result *out,
                                tp_error *err)
{
    json_t *ans = NULL;
    tp_status st = check_stream(stream, err);
    if (st != TP_OK)
        return st;
    entry_check c;
    st = check_entry(k, data, partition_key, explicit_hash_key, 0, &c);
    if (st != TP_OK)
        return tp_error__at(err, st, c.offset, c.field, "PutRecord: %s", c.why);
    tp_buf_clear(&k->body);
    st = add_stream(&k->body, stream, err);
    if (st == TP_OK)
        st = add_field(&k->body, "PartitionKey", partition_key, err);
    if (st == TP_OK && explicit_hash_key)
        st = add_field(&k->body, "ExplicitHashKey", explicit_hash_key, err);
    if (st == TP_OK && sequence_for_ordering)
        st = add_field(&k->body, "SequenceNumberForOrdering", sequence_for_ordering, err);
    if (st == TP_OK)
        st = add_data(&k->body, data, err);
    if (st == TP_OK)
        st = tp_buf_append(&k->body, "}", 1, err);
    if (st == TP_OK)
        st = send_body(k, "PutRecord", &ans, err);
    if (st == TP_OK) {
        tp_kinesis_put_result tmp;
        st = put_result(ans, out ? out : &tmp, err);
    }
    json_decref(ans);
    return st;
}

static void refuse(tp_kinesis_put_result *r, const char *code, const char *msg)
{
    memset(r, 0, sizeof *r);
    tp__strlcpy(r->error_code, code, sizeof r->error_code);
    tp__strlcpy(r->error_message, msg, sizeof r->error_message);
}

/* Send entries e[0..n) (all checked) and read the answer into res[0..n). */
static tp_status put_records_send(tp_kinesis *k, const char *stream, const tp_kinesis_entry *e,
                                  size_t n, tp_kinesis_put_result *res, tp_error *err)
{
    tp_status st = put_records_body(&k->body, stream, e, n, err);
    if (st == TP_OK)
        st = tp_aws__json_call_raw(&k->conn, JSON_VERSION, TARGET_PREFIX "PutRecords",
                                   tp_buf_cursor(&k->body), &k->resp, err);
    if (st != TP_OK)
        goto done;
    uint32_t fast_failed = 0, slow_failed = 0;
    if (scan_put_records(tp_buf_cursor(&k->resp.body), n, res, &fast_failed))
        goto done;
    st = tp_kinesis__parse_put_records_json(tp_buf_cursor(&k->resp.body), n, res, &slow_failed,
                                            err);
    if (st == TP_E_PARSE && err && err->http_status == 0)
        err->http_status = k->resp.status;
done:
    /* A big answer's buffer is not kept between calls. */
    if (k->resp.body.cap > ((size_t)1 << 20))
        tp_http_response_dispose(&k->resp);
    /* Nor a big body's. */
    if (k->body.cap > ((size_t)8 << 20))
        tp_buf_dispose(&k->body);
    return st;
}

tp_status tp_kinesis_put_records(tp_kinesis *k, const char *stream,
                                 const tp_kinesis_entry *entries, size_t n,
                                 tp_kinesis_put_result *results, uint32_t *failed, tp_error *err)
{
    if (failed)
        *failed = 0;
    if (!k)
        return tp_error__set(err, TP_E_INVALID, "tp_kinesis_put_records: client is NULL");
    tp_status st = check_stream(stream, err);
    if (st != TP_OK)
        return st;
    if (n == 0 || n > k->limits.max_records || !entries || !results)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "Records",
                            "PutRecords takes 1 to %u records and a results array (%zu given)",
                            (unsigned)k->limits.max_records, n);
    /* Check every entry and take them in order while the request has room. */
    size_t take = 0;
    uint64_t total = 0;
    int full = 0;
    for (size_t i = 0; i < n; i++) {
        entry_check c;
        tp_status est = check_entry(k, entries[i].data, entries[i].partition_key,
                                    entries[i].explicit_hash_key, i, &c);
        if (est != TP_OK) {
            refuse(&results[i], est == TP_E_TOO_LARGE ? TP_KINESIS_ERR_TOO_LARGE
                                                      : TP_KINESIS_ERR_INVALID,
                   c.why);
            continue;
        }
        if (!full && total + c.size > k->limits.max_request_bytes)
            full = 1;
        if (full) {
            char why[TP_ERROR_MESSAGE_MAX];
            snprintf(why, sizeof why,
                     "record %zu: not sent, the request was full (%llu bytes of %llu taken)", i,
                     (unsigned long long)total, (unsigned long long)k->limits.max_request_bytes);
            refuse(&results[i], TP_KINESIS_ERR_NOT_SENT, why);
            continue;
        }
        total += c.size;
        take++;
        /* a result slot marked "to send" (filled by the answer) */
        results[i].error_code[0] = 0;
    }
    if (take == n) {
        /* the common case: everything goes, in place */
        st = put_records_send(k, stream, entries, n, results, err);
    } else if (take > 0) {
        /* send the taken entries packed, then put their results back */
        tp_kinesis_entry *e = tp__malloc(k->conn.alloc, take * sizeof *e);
        tp_kinesis_put_result *r = tp__malloc(k->conn.alloc, take * sizeof *r);
        if (!e || !r) {
            st = tp_error__set(err, TP_E_NOMEM, "PutRecords: out of memory");
        } else {
            size_t j = 0;
            for (size_t i = 0; i < n; i++)
                if (!results[i].error_code[0])
                    e[j++] = entries[i];
            st = put_records_send(k, stream, e, take, r, err);
            if (st == TP_OK) {
                j = 0;
                for (size_t i = 0; i < n; i++)
                    if (!results[i].error_code[0])
                        results[i] = r[j++];
            }
        }
        tp__free(k->conn.alloc, e);
        tp__free(k->conn.alloc, r);
    }
    if (st == TP_OK && failed) {
        uint32_t nf = 0;
        for (size_t i = 0; i < n; i++)
            nf += results[i].error_code[0] != 0;
        *failed = nf;
    }
    return st;
}

tp_status tp_kinesis_get_shard_iterator(tp_kinesis *k, const char *stream, const char *shard_id,
                                        int32_t type, const char *sequence_number,
                                        int64_t timestamp_ms, char out[TP_KINESIS_ITERATOR_MAX],
                                        tp_error *err)
{
    static const char *const names[] = {"TRIM_HORIZON", "LATEST", "AT_SEQUENCE_NUMBER",
                                        "AFTER_SEQUENCE_NUMBER", "AT_TIMESTAMP"};
    json_t *ans = NULL;
    out[0] = 0;
    tp_status st = check_stream(stream, err);
    if (st != TP_OK)
        return st;
    if (type < 0 || type > TP_KINESIS_AT_TIMESTAMP)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "ShardIteratorType",
                            "unknown shard iterator type %d", (int)type);
    if (!shard_id || !*shard_id)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "ShardId", "no shard id");
    int needs_seq = type == TP_KINESIS_AT_SEQUENCE_NUMBER ||
                    type == TP_KINESIS_AFTER_SEQUENCE_NUMBER;
    if (needs_seq && (!sequence_number || !*sequence_number))
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "StartingSequenceNumber",
                            "%s needs a sequence number", names[type]);
    json_t *b = stream_obj(stream);
    int ok = b && set_str(b, "ShardId", shard_id) && set_str(b, "ShardIteratorType", names[type]);
    if (ok && needs_seq)
        ok = set_str(b, "StartingSequenceNumber", sequence_number);
    if (ok && type == TP_KINESIS_AT_TIMESTAMP)
        ok = json_object_set_new(b, "Timestamp", json_real((double)timestamp_ms / 1000.0)) == 0;
    if (!ok) {
        json_decref(b);
        return nomem(err, "GetShardIterator");
    }
    st = call(k, "GetShardIterator", b, &ans, err);
    if (st == TP_OK)
        st = tp_aws__copy_str(ans, "ShardIterator", 1, out, TP_KINESIS_ITERATOR_MAX, err);
    json_decref(ans);
    return st;
}

void tp_kinesis_records_dispose(tp_kinesis_records *r)
{
    if (!r)
        return;
    records_mem *m = r->internal_;
    if (m) {
        json_decref(m->root);
        tp_buf_dispose(&m->data);
        tp__free(r->alloc, m);
    }
    tp__free(r->alloc, r->records);
    tp__free(r->alloc, r->child_shards);
    const tp_allocator *a = r->alloc;
    memset(r, 0, sizeof *r);
    r->alloc = a;
}

static tp_status parse_children(tp_kinesis_records *out, json_t *arr, tp_error *err)
{
    size_t n = json_array_size(arr);
    if (!n)
        return TP_OK;
    out->child_shards = tp__calloc(out->alloc, n, sizeof *out->child_shards);
    if (!out->child_shards)
        return tp_error__set(err, TP_E_NOMEM, "GetRecords: out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(arr, i);
        tp_kinesis_child_shard *cs = &out->child_shards[i];
        tp_status st = tp_aws__get_str(c, "ShardId", 1, &cs->shard_id, err);
        json_t *ps = json_object_get(c, "ParentShards");
        json_t *h = json_object_get(c, "HashKeyRange");
        for (size_t p = 0; st == TP_OK && p < json_array_size(ps) && p < 2; p++) {
            json_t *v = json_array_get(ps, p);
            if (!json_is_string(v))
                st = tp_error__at(err, TP_E_PARSE, i, "ParentShards", "bad ParentShards");
            else
                cs->parent_shards[cs->parent_count++] = json_string_value(v);
        }
        if (st == TP_OK && json_is_object(h)) {
            st = tp_aws__get_str(h, "StartingHashKey", 1, &cs->hash_key_start, err);
            if (st == TP_OK)
                st = tp_aws__get_str(h, "EndingHashKey", 1, &cs->hash_key_end, err);
        }
        if (st != TP_OK)
            return st;
        out->child_count++;
    }
    return TP_OK;
}

tp_status tp_kinesis_get_records(tp_kinesis *k, const char *iterator, uint32_t limit,
                                 tp_kinesis_records *out, tp_error *err)
{
    json_t *ans = NULL;
    tp_status st;
    out->alloc = k->conn.alloc;
    tp_kinesis_records_dispose(out);
    if (!iterator || !*iterator)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "ShardIterator", "no iterator");
    json_t *b = json_object();
    int ok = b && set_str(b, "ShardIterator", iterator);
    if (ok && limit)
        ok = set_int(b, "Limit", limit);
    if (!ok) {
        json_decref(b);
        return nomem(err, "GetRecords");
    }
    st = call(k, "GetRecords", b, &ans, err);
    if (st != TP_OK)
        return st;
    return tp_kinesis__parse_get_records(ans, out, err);
}

tp_status tp_kinesis__parse_get_records(json_t *ans, tp_kinesis_records *out, tp_error *err)
{
    tp_status st;
    size_t *offsets = NULL;
    records_mem *m = tp__calloc(out->alloc, 1, sizeof *m);
    if (!m) {
        json_decref(ans);
        return tp_error__set(err, TP_E_NOMEM, "GetRecords: out of memory");
    }
    m->root = ans;
    tp_buf_init(&m->data, out->alloc, 0);
    out->internal_ = m;

    json_t *arr = json_object_get(ans, "Records");
    if (!json_is_array(arr)) {
        st = tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, "Records", "GetRecords: no Records");
        goto done;
    }
    size_t n = json_array_size(arr);
    if (n) {
        out->records = tp__calloc(out->alloc, n, sizeof *out->records);
        offsets = tp__calloc(out->alloc, n, sizeof *offsets);
        if (!out->records || !offsets) {
            st = tp_error__set(err, TP_E_NOMEM, "GetRecords: out of memory");
            goto done;
        }
    }
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_array_get(arr, i);
        tp_kinesis_record *rec = &out->records[i];
        const char *data = NULL;
        st = tp_aws__get_str(r, "Data", 1, &data, err);
        if (st == TP_OK)
            st = tp_aws__get_str(r, "SequenceNumber", 1, &rec->sequence_number, err);
        if (st == TP_OK)
            st = tp_aws__get_str(r, "PartitionKey", 1, &rec->partition_key, err);
        if (st == TP_OK)
            st = tp_aws__get_epoch_ms(r, "ApproximateArrivalTimestamp", 0, &rec->arrival_ms, err);
        if (st == TP_OK) {
            offsets[i] = m->data.len;
            tp_error derr;
            st = tp_base64_decode(&m->data, tp_cursor_from_str(data), &derr);
            if (st == TP_E_PARSE)
                st = tp_error__at(err, TP_E_PARSE, i, "Data",
                                  "GetRecords: record %zu Data is not base64 (byte %llu)", i,
                                  (unsigned long long)derr.offset);
            else if (st != TP_OK && err)
                *err = derr;
            rec->data.len = m->data.len - offsets[i];
        }
        if (st != TP_OK) {
            if (err && err->offset == TP_NO_OFFSET)
                err->offset = i;
            goto done;
        }
        out->count++;
    }
    /* The buffer may have moved while growing: point the views last. */
    for (size_t i = 0; i < out->count; i++)
        out->records[i].data.ptr = m->data.ptr ? m->data.ptr + offsets[i] : (const uint8_t *)"";
    st = tp_aws__get_str(ans, "NextShardIterator", 0, &out->next_shard_iterator, err);
    if (st == TP_OK)
        st = tp_aws__get_int(ans, "MillisBehindLatest", 0, &out->millis_behind_latest, err);
    if (st == TP_OK)
        st = parse_children(out, json_object_get(ans, "ChildShards"), err);
done:
    tp__free(out->alloc, offsets);
    if (st != TP_OK)
        tp_kinesis_records_dispose(out);
    return st;
}

tp_status tp_kinesis_split_shard(tp_kinesis *k, const char *stream, const char *shard_id,
                                 const char *new_starting_hash_key, tp_error *err)
{
    tp_status st = check_stream(stream, err);
    if (st != TP_OK)
        return st;
    if (!shard_id || !*shard_id || !new_starting_hash_key || !*new_starting_hash_key)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "ShardToSplit",
                            "SplitShard needs a shard and a hash key");
    json_t *b = stream_obj(stream);
    if (!b || !set_str(b, "ShardToSplit", shard_id) ||
        !set_str(b, "NewStartingHashKey", new_starting_hash_key)) {
        json_decref(b);
        return nomem(err, "SplitShard");
    }
    return call0(k, "SplitShard", b, err);
}

tp_status tp_kinesis_merge_shards(tp_kinesis *k, const char *stream, const char *shard_id,
                                  const char *adjacent_shard_id, tp_error *err)
{
    tp_status st = check_stream(stream, err);
    if (st != TP_OK)
        return st;
    if (!shard_id || !*shard_id || !adjacent_shard_id || !*adjacent_shard_id)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "ShardToMerge",
                            "MergeShards needs two shards");
    json_t *b = stream_obj(stream);
    if (!b || !set_str(b, "ShardToMerge", shard_id) ||
        !set_str(b, "AdjacentShardToMerge", adjacent_shard_id)) {
        json_decref(b);
        return nomem(err, "MergeShards");
    }
    return call0(k, "MergeShards", b, err);
}

tp_status tp_kinesis_update_shard_count(tp_kinesis *k, const char *stream, uint32_t target,
                                        uint32_t *current, tp_error *err)
{
    json_t *ans = NULL;
    tp_status st = check_stream(stream, err);
    if (st != TP_OK)
        return st;
    if (target == 0)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "TargetShardCount",
                            "target shard count must be positive");
    json_t *b = stream_obj(stream);
    if (!b || !set_int(b, "TargetShardCount", target) ||
        !set_str(b, "ScalingType", "UNIFORM_SCALING")) {
        json_decref(b);
        return nomem(err, "UpdateShardCount");
    }
    st = call(k, "UpdateShardCount", b, &ans, err);
    if (st == TP_OK && current) {
        int64_t v = 0;
        st = tp_aws__get_int(ans, "CurrentShardCount", 0, &v, err);
        *current = (uint32_t)v;
    }
    json_decref(ans);
    return st;
}

/* ---- for the producer --------------------------------------------------- */

tp_aws_conn *tp_kinesis__conn(tp_kinesis *k) { return &k->conn; }

const tp_kinesis_limits *tp_kinesis__limits(const tp_kinesis *k) { return &k->limits; }

tp_status tp_kinesis__put_records_body(tp_buf *b, const char *stream, const tp_kinesis_entry *e,
                                       size_t n, tp_error *err)
{
    return put_records_body(b, stream, e, n, err);
}

tp_status tp_kinesis__check_record(const tp_kinesis *k, tp_cursor data, const char *pk,
                                   const char *ehk, size_t index, uint64_t *size,
                                   const char **field, char *why, size_t why_cap)
{
    entry_check c;
    tp_status st = check_entry(k, data, pk, ehk, index, &c);
    *size = c.size;
    if (st != TP_OK) {
        if (field)
            *field = c.field;
        if (why && why_cap)
            tp__strlcpy(why, c.why, why_cap);
    }
    return st;
}

tp_status tp_kinesis__read_put_records(tp_cursor body, size_t n, tp_kinesis_put_result *res,
                                       uint32_t *failed, tp_error *err)
{
    if (scan_put_records(body, n, res, failed))
        return TP_OK;
    return tp_kinesis__parse_put_records_json(body, n, res, failed, err);
}
