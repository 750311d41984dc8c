/* The kinesis:// backend of the stream interface: a Kinesis data stream
 * through the Kinesis client. Shards and hash-key ranges come from
 * ListShards; reading is a GetShardIterator, then GetRecords with the
 * iterator each answer gives, KPL aggregated records de-aggregated into
 * their user records (as the KCL's UserRecord.deaggregate does); putting is
 * PutRecords.
 *
 * Resuming after a user record: the KCL keeps (sequence number,
 * sub-sequence number) and restarts AT_SEQUENCE_NUMBER, skipping the user
 * records of that record up to the sub-sequence number; so do we. */

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "codec/kpl_int.h"
#include "stream_int.h"
#include "tradepipe/kpl.h"

#define POLL_MS 200          /* tp_stream_wait's sleep: GetRecords allows 5 calls/s a shard */
#define BACKOFF_FIRST_MS 500 /* after a throttled GetRecords */
#define BACKOFF_MAX_MS 5000

typedef struct kstream {
    tp_kinesis *k;
    char name[129];
    tp_kinesis_shards shards; /* the last ListShards */
} kstream;

typedef struct kreader {
    char iterator[TP_KINESIS_ITERATOR_MAX];
    int have_iterator;
    int ended;                /* the shard is closed and read to its end */
    int skip;                 /* skip user records of skip_seq up to skip_sub */
    char skip_seq[TP_KINESIS_SEQ_MAX];
    int32_t skip_sub;
    tp_kinesis_records recs;  /* the last answer: the records' bytes live here */
    tp_kpl_reader *kpl;
    tp_stream_record *out;
    size_t out_cap;
    size_t *text_off;         /* per record: partition key and user sequence offsets */
    tp_buf text;              /* NUL-terminated partition keys and user sequences */
    int64_t retry_at_ns;      /* no GetRecords before this (after a throttle) */
    uint32_t backoff_ms;
} kreader;

/* ---- shards ---------------------------------------------------------------- */

static tp_status shards_copy(const tp_allocator *a, tp_kinesis_shards *dst,
                             const tp_kinesis_shards *src, tp_error *err)
{
    tp_kinesis_shard *c = NULL;
    if (src->count) {
        c = tp__malloc(a, src->count * sizeof *c);
        if (!c)
            return tp_error__set(err, TP_E_NOMEM, "out of memory");
        memcpy(c, src->shards, src->count * sizeof *c);
    }
    tp_kinesis_shards_dispose(dst);
    dst->shards = c;
    dst->count = src->count;
    dst->pages = src->pages;
    dst->alloc = a;
    return TP_OK;
}

static tp_status kin_list_shards(tp_stream *s, tp_kinesis_shards *out, tp_error *err)
{
    kstream *ks = s->impl;
    tp_status st = tp_kinesis_list_shards(ks->k, ks->name, 0, out, err);
    if (st != TP_OK)
        return st;
    return shards_copy(s->alloc, &ks->shards, out, err);
}

static tp_status kin_find_shard(tp_stream *s, const char *shard_id, uint32_t *index,
                                tp_error *err)
{
    kstream *ks = s->impl;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < ks->shards.count; i++)
            if (!strcmp(ks->shards.shards[i].shard_id, shard_id)) {
                *index = (uint32_t)i;
                return TP_OK;
            }
        if (pass == 0) { /* a shard made since: list again */
            tp_kinesis_shards ls = {0};
            tp_status st = kin_list_shards(s, &ls, err);
            tp_kinesis_shards_dispose(&ls);
            if (st != TP_OK)
                return st;
        }
    }
    return tp_error__at(err, TP_E_NOT_FOUND, TP_NO_OFFSET, "ShardId",
                        "stream %s has no shard '%.60s' (%zu shards)", ks->name, shard_id,
                        ks->shards.count);
}

/* The open shards, in hash-key order, become the routing table. */
static tp_status routing_from_shards(tp_stream *s, tp_error *err)
{
    kstream *ks = s->impl;
    size_t open = 0;
    for (size_t i = 0; i < ks->shards.count; i++)
        open += ks->shards.shards[i].sequence_end[0] == '\0';
    if (open == 0)
        return tp_error__at(err, TP_E_STATE, TP_NO_OFFSET, "Shards",
                            "stream %s has no open shard", ks->name);
    tp_u128 *rs = tp__calloc(s->alloc, open, sizeof *rs);
    if (!rs)
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < ks->shards.count; i++) {
        const tp_kinesis_shard *sh = &ks->shards.shards[i];
        if (sh->sequence_end[0])
            continue;
        tp_u128 v;
        if (tp_stream__u128_parse(&v, sh->hash_key_start) != 0) {
            tp__free(s->alloc, rs);
            return tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, "HashKeyRange",
                                "shard %s: starting hash key '%.48s' is not a number",
                                sh->shard_id, sh->hash_key_start);
        }
        size_t j = n++; /* insertion sort: a few shards */
        while (j > 0 && rs[j - 1] > v) {
            rs[j] = rs[j - 1];
            j--;
        }
        rs[j] = v;
    }
    s->range_start = rs;
    s->shard_count = (uint32_t)open;
    return TP_OK;
}

/* ---- putting ---------------------------------------------------------------- */

static tp_status kin_put(tp_stream *s, const tp_kinesis_entry *entries, const uint32_t *shard,
                         size_t n, tp_kinesis_put_result *results, uint8_t *ok, tp_error *err)
{
    kstream *ks = s->impl;
    tp_kinesis_entry *e = tp__malloc(s->alloc, n * sizeof *e);
    size_t *idx = tp__malloc(s->alloc, n * sizeof *idx);
    tp_kinesis_put_result *res = tp__malloc(s->alloc, n * sizeof *res);
    tp_status st = TP_OK;
    if (!e || !idx || !res) {
        st = tp_error__set(err, TP_E_NOMEM, "out of memory");
        goto done;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (shard[i] != UINT32_MAX) {
            e[m] = entries[i];
            idx[m++] = i;
        }
    uint32_t failed = 0;
    st = tp_kinesis_put_records(ks->k, ks->name, e, m, res, &failed, err);
    for (size_t j = 0; j < m; j++) {
        size_t i = idx[j];
        if (st != TP_OK) {
            if (results) {
                results[i].shard_id[0] = results[i].sequence_number[0] = '\0';
                tp__strlcpy(results[i].error_code, "InternalFailure",
                            sizeof results[i].error_code);
                tp__strlcpy(results[i].error_message, err ? err->message : "PutRecords failed",
                            sizeof results[i].error_message);
            }
            continue;
        }
        ok[i] = res[j].error_code[0] == '\0';
        if (results)
            results[i] = res[j];
    }
done:
    tp__free(s->alloc, e);
    tp__free(s->alloc, idx);
    tp__free(s->alloc, res);
    return st;
}

/* ---- waiting ---------------------------------------------------------------- */

static tp_status kin_wait(tp_stream *s, uint32_t timeout_ms, tp_error *err)
{
    (void)s;
    (void)err;
    uint32_t ms = timeout_ms < POLL_MS ? timeout_ms : POLL_MS;
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL); /* a signal ends it early, as documented */
    return TP_OK;
}

/* ---- reading ---------------------------------------------------------------- */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A shard iterator for where the reader stands (r->pos). */
static tp_status renew_iterator(tp_stream_reader *r, tp_error *err)
{
    kreader *kr = r->impl;
    kstream *ks = r->s->impl;
    const tp_stream_position *p = &r->pos;
    int32_t type = p->type;
    kr->skip = 0;
    if (type == TP_KINESIS_AFTER_SEQUENCE_NUMBER) {
        /* AT the record, then skip its user records up to the sub-sequence
         * number: the record may be an aggregate read only in part. */
        type = TP_KINESIS_AT_SEQUENCE_NUMBER;
        kr->skip = 1;
        tp__strlcpy(kr->skip_seq, p->sequence_number, sizeof kr->skip_seq);
        kr->skip_sub = p->sub_sequence_number;
    }
    r->stats.requests++;
    tp_status st = tp_kinesis_get_shard_iterator(ks->k, ks->name, r->shard_id, type,
                                                 p->sequence_number, p->timestamp_ms,
                                                 kr->iterator, err);
    if (st != TP_OK)
        return st;
    kr->have_iterator = 1;
    return TP_OK;
}

static tp_status kin_reader_new(tp_stream_reader *r, uint32_t shard, const tp_stream_position *pos,
                                tp_error *err)
{
    (void)shard;
    kreader *kr = tp__calloc(r->s->alloc, 1, sizeof *kr);
    if (!kr)
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    tp_buf_init(&kr->text, r->s->alloc, 0);
    r->impl = kr;
    r->pos = *pos; /* as given: an AT position is not turned into AFTER n - 1 here */
    tp_status st = tp_kpl_reader_new(&kr->kpl, r->s->alloc, err);
    if (st == TP_OK)
        st = renew_iterator(r, err);
    if (st != TP_OK) {
        tp_kpl_reader_free(kr->kpl);
        tp_buf_dispose(&kr->text);
        tp__free(r->s->alloc, kr);
        r->impl = NULL;
    }
    return st;
}

static void kin_reader_free(tp_stream_reader *r)
{
    kreader *kr = r->impl;
    if (!kr)
        return;
    tp_kinesis_records_dispose(&kr->recs);
    tp_kpl_reader_free(kr->kpl);
    tp_buf_dispose(&kr->text);
    tp__free(r->s->alloc, kr->out);
    tp__free(r->s->alloc, kr->text_off);
    tp__free(r->s->alloc, kr);
}

static tp_status out_room(tp_stream_reader *r, kreader *kr, size_t need, tp_error *err)
{
    if (need <= kr->out_cap)
        return TP_OK;
    size_t cap = kr->out_cap ? kr->out_cap : 64;
    while (cap < need)
        cap *= 2;
    tp_stream_record *o = tp__realloc(r->s->alloc, kr->out, cap * sizeof *o);
    if (!o)
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    kr->out = o;
    size_t *t = tp__realloc(r->s->alloc, kr->text_off, cap * 2 * sizeof *t);
    if (!t)
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    kr->text_off = t;
    kr->out_cap = cap;
    return TP_OK;
}

/* Append user record `i`: its partition key and user sequence number go to
 * the text arena (pointers are set once the arena stops moving). */
static tp_status emit(tp_stream_reader *r, kreader *kr, size_t i, const tp_kinesis_record *kr_rec,
                      tp_cursor pk, tp_cursor data, uint64_t sub, int aggregated, tp_error *err)
{
    tp_status st = out_room(r, kr, i + 1, err);
    if (st != TP_OK)
        return st;
    size_t sl = strlen(kr_rec->sequence_number);
    if (sl + TP_STREAM_SUB_DIGITS >= TP_STREAM_USER_SEQ_MAX || sub >= 10000000u)
        return tp_error__at(err, TP_E_RANGE, TP_NO_OFFSET, "SequenceNumber",
                            "shard %s: record %.60s: sub-sequence number %llu or sequence "
                            "number length %zu out of range",
                            r->shard_id, kr_rec->sequence_number, (unsigned long long)sub, sl);
    kr->text_off[2 * i] = kr->text.len;
    if ((st = tp_buf_append(&kr->text, pk.ptr, pk.len, err)) != TP_OK ||
        (st = tp_buf_append(&kr->text, "", 1, err)) != TP_OK)
        return st;
    kr->text_off[2 * i + 1] = kr->text.len;
    if ((st = tp_buf_appendf(&kr->text, err, "%s%07llu", kr_rec->sequence_number,
                             (unsigned long long)sub)) != TP_OK ||
        (st = tp_buf_append(&kr->text, "", 1, err)) != TP_OK)
        return st;
    tp_stream_record *o = &kr->out[i];
    o->data = data;
    o->partition_key = NULL;
    o->sequence_number = kr_rec->sequence_number;
    o->shard_id = r->shard_id;
    o->arrival_ms = kr_rec->arrival_ms;
    o->user_sequence_number = NULL;
    o->sub_sequence_number = sub;
    o->aggregated = aggregated;
    o->reserved_ = 0;
    r->stats.records++;
    r->stats.bytes += data.len;
    return TP_OK;
}

static tp_status kin_reader_get(tp_stream_reader *r, uint32_t limit, tp_stream_records *out,
                                tp_error *err)
{
    kreader *kr = r->impl;
    kstream *ks = r->s->impl;
    if (kr->ended)
        return TP_DONE;
    if (kr->retry_at_ns && now_ns() < kr->retry_at_ns)
        return TP_OK;
    kr->retry_at_ns = 0;
    tp_status st = TP_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!kr->have_iterator && (st = renew_iterator(r, err)) != TP_OK)
            return st;
        r->stats.requests++;
        st = tp_kinesis_get_records(ks->k, kr->iterator, limit, &kr->recs, err);
        if (st == TP_E_AWS && err && !strcmp(err->aws_code, "ExpiredIteratorException")) {
            kr->have_iterator = 0; /* iterators live 5 minutes: get one where we stand */
            continue;
        }
        break;
    }
    if (st == TP_E_THROTTLED) {
        r->stats.throttles++;
        kr->backoff_ms = kr->backoff_ms ? kr->backoff_ms * 2 : BACKOFF_FIRST_MS;
        if (kr->backoff_ms > BACKOFF_MAX_MS)
            kr->backoff_ms = BACKOFF_MAX_MS;
        kr->retry_at_ns = now_ns() + (int64_t)kr->backoff_ms * 1000000;
        return TP_OK;
    }
    if (st != TP_OK)
        return st;
    kr->backoff_ms = 0;
    if (kr->recs.next_shard_iterator)
        tp__strlcpy(kr->iterator, kr->recs.next_shard_iterator, sizeof kr->iterator);
    else
        kr->ended = 1; /* the next call says TP_DONE: these records come first */

    tp_buf_clear(&kr->text);
    size_t n = 0;
    const char *last_seq = NULL;
    uint64_t last_sub = 0;
    for (size_t i = 0; i < kr->recs.count; i++) {
        const tp_kinesis_record *rec = &kr->recs.records[i];
        int skipping = kr->skip && !strcmp(rec->sequence_number, kr->skip_seq);
        int32_t skip_sub = kr->skip_sub;
        kr->skip = 0; /* only the first record can be the one resumed at */
        if (!tp_kpl_is_aggregated(rec->data)) {
            if (skipping)
                continue; /* its one user record, number 0, is behind us */
            if ((st = emit(r, kr, n++, rec, tp_cursor_from_str(rec->partition_key), rec->data, 0,
                           0, err)) != TP_OK)
                return st;
            last_seq = rec->sequence_number;
            last_sub = 0;
            continue;
        }
        size_t count = 0;
        st = tp_kpl_reader_begin(kr->kpl, rec->data, &count, err);
        if (st != TP_OK) {
            char why[TP_ERROR_MESSAGE_MAX];
            tp__strlcpy(why, err ? err->message : "malformed", sizeof why);
            return tp_error__at(err, st == TP_E_NOMEM ? TP_E_NOMEM : TP_E_PARSE,
                                err ? err->offset : TP_NO_OFFSET, err ? err->field : NULL,
                                "shard %s: aggregated record %.60s: %s", r->shard_id,
                                rec->sequence_number, why);
        }
        r->stats.aggregates++;
        tp_kpl_record u;
        while (tp_kpl_reader_next(kr->kpl, &u) == TP_OK) {
            if (skipping && u.sub_sequence <= (uint64_t)(skip_sub < 0 ? 0 : skip_sub))
                continue;
            if ((st = emit(r, kr, n++, rec, u.partition_key, u.data, u.sub_sequence, 1, err)) !=
                TP_OK)
                return st;
            last_seq = rec->sequence_number;
            last_sub = u.sub_sequence;
        }
    }
    for (size_t i = 0; i < n; i++) {
        kr->out[i].partition_key = (const char *)kr->text.ptr + kr->text_off[2 * i];
        kr->out[i].user_sequence_number = (const char *)kr->text.ptr + kr->text_off[2 * i + 1];
    }
    if (last_seq) {
        r->pos.type = TP_KINESIS_AFTER_SEQUENCE_NUMBER;
        r->pos.sub_sequence_number = (int32_t)last_sub;
        r->pos.timestamp_ms = 0;
        tp__strlcpy(r->pos.sequence_number, last_seq, sizeof r->pos.sequence_number);
    }
    out->records = kr->out;
    out->count = n;
    out->millis_behind_latest = kr->recs.millis_behind_latest;
    return TP_OK;
}

/* ---- opening -------------------------------------------------------------- */

static void kin_close(tp_stream *s)
{
    kstream *ks = s->impl;
    if (!ks)
        return;
    tp_kinesis_shards_dispose(&ks->shards);
    tp_kinesis_free(ks->k);
    tp__free(s->alloc, ks);
    s->impl = NULL;
}

static const tp_stream_ops kinesis_ops = {kin_find_shard,  kin_list_shards, kin_put,
                                          kin_wait,        kin_reader_new,  kin_reader_get,
                                          kin_reader_free, kin_close};

/* The id: MD5 of the ARN and creation time, so that a stream deleted and
 * made again under the same name is another stream. */
static void stream_id(char out[33], const tp_kinesis_stream_summary *sum)
{
    char text[TP_KINESIS_ARN_MAX + 32];
    int n = snprintf(text, sizeof text, "%s/%lld", sum->arn, (long long)sum->creation_ms);
    uint8_t md[16];
    out[0] = '\0';
    if (n < 0 || tp_kpl__md5(md, tp_cursor_make(text, (size_t)n)) != 0)
        return;
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

tp_status tp_stream__kinesis_open(tp_stream *s, const char *name, const tp_stream_options *o,
                                  tp_error *err)
{
    size_t nl = strlen(name);
    if (nl > 128)
        return tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, "stream",
                            "kinesis:// stream name of %zu characters: at most 128", nl);
    for (size_t i = 0; i < nl; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return tp_error__at(err, TP_E_CONFIG, i + 10, "stream",
                                "kinesis://%.128s: a stream name is made of [a-zA-Z0-9_.-] "
                                "(byte %zu is not)",
                                name, i);
    }
    kstream *ks = tp__calloc(s->alloc, 1, sizeof *ks);
    if (!ks)
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    memcpy(ks->name, name, nl + 1);
    s->impl = ks;
    s->ops = &kinesis_ops;
    tp_aws_client_options co = TP_AWS_CLIENT_OPTIONS_INIT;
    co.alloc = s->alloc;
    tp_status st = tp_kinesis_new(&ks->k, &co, err);
    if (st != TP_OK)
        return st;
    tp_kinesis_stream_summary sum;
    st = tp_kinesis_load_limits(ks->k, name, &sum, err);
    if (st == TP_E_NOT_FOUND && (o->flags & TP_STREAM_CREATE)) {
        uint32_t n = o->shard_count ? o->shard_count : TP_STREAM_DEFAULT_SHARDS;
        st = tp_kinesis_create_stream(ks->k, name, n, err);
        if (st == TP_OK || st == TP_E_EXISTS) /* or made meanwhile by another process */
            st = tp_kinesis_wait_active(ks->k, name, 60000, err);
        if (st == TP_OK)
            st = tp_kinesis_load_limits(ks->k, name, &sum, err);
    } else if (st == TP_OK && (o->flags & TP_STREAM_CREATE) && (o->flags & TP_STREAM_EXCL)) {
        return tp_error__at(err, TP_E_EXISTS, TP_NO_OFFSET, "stream",
                            "Kinesis stream %s exists already", name);
    } else if (st == TP_OK && strcmp(sum.status, "CREATING") == 0) {
        st = tp_kinesis_wait_active(ks->k, name, 60000, err);
    }
    if (st != TP_OK)
        return st;
    stream_id(s->id, &sum);
    tp_kinesis_shards ls = {0};
    st = kin_list_shards(s, &ls, err);
    tp_kinesis_shards_dispose(&ls);
    if (st != TP_OK)
        return st;
    return routing_from_shards(s, err);
}
