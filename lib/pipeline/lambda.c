/* Floor 5: the Kinesis event of AWS Lambda (see include/tradepipe/lambda.h). */
#include "tradepipe/lambda.h"
#include "core/core_int.h"

#include <jansson.h>
#include <string.h>

struct tp_lambda_kinesis_event {
    const tp_allocator *alloc;
    json_t *root; /* owns every string the records point into */
    tp_lambda_kinesis_record *recs;
    size_t n;
    char shard[TP_LAMBDA_SHARD_MAX];
};

static const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Decimal digit strings without leading zeros, compared as numbers. */
static int seq_cmp(tp_cursor a, tp_cursor b)
{
    if (a.len != b.len)
        return a.len < b.len ? -1 : 1;
    int c = memcmp(a.ptr, b.ptr, a.len);
    return c < 0 ? -1 : c > 0;
}

static tp_status bad(tp_error *err, const char *fmt, ...) TP_PRINTF(2, 3);
static tp_status bad(tp_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tp_error__vset(err, TP_E_RECORD, TP_NO_OFFSET, "Records", fmt, ap);
    va_end(ap);
    return TP_E_RECORD;
}

static tp_status parse_records(tp_lambda_kinesis_event *ev, const json_t *records, tp_error *err)
{
    for (size_t i = 0; i < ev->n; i++) {
        json_t *r = json_array_get(records, i), *k = json_object_get(r, "kinesis");
        const char *id = jstr(r, "eventID"), *src = jstr(r, "eventSource");
        const char *seq = jstr(k, "sequenceNumber");
        if (!json_is_object(r) || !json_is_object(k) || !id || !seq)
            return bad(err, "Records[%zu]: not a Kinesis record (eventID, kinesis.sequenceNumber)",
                       i);
        if (src && strcmp(src, "aws:kinesis") != 0)
            return bad(err, "Records[%zu]: eventSource is %.64s, not aws:kinesis", i, src);
        const char *colon = strchr(id, ':');
        size_t sl = colon ? (size_t)(colon - id) : 0;
        if (!sl || sl >= TP_LAMBDA_SHARD_MAX)
            return bad(err, "Records[%zu]: eventID '%.80s' is not SHARD:SEQUENCE", i, id);
        if (i == 0) {
            memcpy(ev->shard, id, sl);
            ev->shard[sl] = '\0';
        } else if (strlen(ev->shard) != sl || memcmp(ev->shard, id, sl) != 0) {
            return bad(err, "Records[%zu]: shard %.*s in a batch of %s (one batch is one shard)", i,
                       (int)sl, id, ev->shard);
        }
        size_t n = strlen(seq);
        int ok = n >= 1 && n <= TP_LAMBDA_SEQUENCE_DIGITS_MAX && seq[0] != '0';
        for (size_t j = 0; ok && j < n; j++)
            ok = seq[j] >= '0' && seq[j] <= '9';
        if (!ok)
            return bad(err, "Records[%zu]: sequenceNumber '%.80s' is not a Kinesis sequence number",
                       i, seq);
        tp_lambda_kinesis_record *out = &ev->recs[i];
        out->sequence = tp_cursor_make(seq, n);
        if (i && seq_cmp(ev->recs[i - 1].sequence, out->sequence) >= 0)
            return bad(err, "Records[%zu]: sequenceNumber %s is not after the previous record's", i,
                       seq);
        const char *data = jstr(k, "data");
        out->data = tp_cursor_make(data, data ? strlen(data) : 0);
        json_t *at = json_object_get(k, "approximateArrivalTimestamp");
        double secs = json_is_number(at) ? json_number_value(at) : -1.0;
        out->arrival_ms = secs >= 0 && secs < 1e11 ? (int64_t)(secs * 1000.0) : -1;
    }
    return TP_OK;
}

tp_status tp_lambda_kinesis_event_parse(tp_lambda_kinesis_event **out, tp_cursor body,
                                        const tp_allocator *alloc, tp_error *err)
{
    tp_lambda_kinesis_event *ev = NULL;
    tp_status st = TP_OK;
    if (!out)
        return tp_error__set(err, TP_E_INVALID, "tp_lambda_kinesis_event_parse: out is NULL");
    *out = NULL;
    if (!body.ptr && body.len)
        return tp_error__set(err, TP_E_INVALID, "tp_lambda_kinesis_event_parse: body is NULL");
    ev = tp__calloc(alloc, 1, sizeof *ev);
    if (!ev)
        return tp_error__set(err, TP_E_NOMEM, "out of memory parsing a Lambda event");
    ev->alloc = alloc;
    json_error_t je;
    ev->root =
        json_loadb(body.ptr ? (const char *)body.ptr : "", body.len, JSON_REJECT_DUPLICATES, &je);
    if (!ev->root) {
        st = tp_error__at(err, TP_E_PARSE, (uint64_t)(je.position < 0 ? 0 : je.position), NULL,
                          "the event is not JSON: %s at byte %d", je.text, je.position);
        goto done;
    }
    json_t *records = json_object_get(ev->root, "Records");
    if (!json_is_array(records)) {
        st = bad(err, "not a Kinesis event: no Records array");
        goto done;
    }
    ev->n = json_array_size(records);
    if (ev->n > UINT32_MAX) {
        st = tp_error__at(err, TP_E_LIMIT, TP_NO_OFFSET, "Records", "too many records");
        goto done;
    }
    ev->recs = tp__calloc(alloc, ev->n ? ev->n : 1, sizeof *ev->recs);
    if (!ev->recs) {
        st = tp_error__set(err, TP_E_NOMEM, "out of memory parsing a Lambda event");
        goto done;
    }
    st = parse_records(ev, records, err);
done:
    if (st != TP_OK) {
        tp_lambda_kinesis_event_free(ev);
        return st;
    }
    *out = ev;
    return TP_OK;
}

size_t tp_lambda_kinesis_event_count(const tp_lambda_kinesis_event *ev) { return ev ? ev->n : 0; }

const char *tp_lambda_kinesis_event_shard(const tp_lambda_kinesis_event *ev)
{
    return ev ? ev->shard : "";
}

tp_status tp_lambda_kinesis_event_record(const tp_lambda_kinesis_event *ev, size_t i,
                                         tp_lambda_kinesis_record *out)
{
    if (!ev || !out || i >= ev->n)
        return TP_E_INVALID;
    *out = ev->recs[i];
    return TP_OK;
}

void tp_lambda_kinesis_event_free(tp_lambda_kinesis_event *ev)
{
    if (!ev)
        return;
    json_decref(ev->root);
    tp__free(ev->alloc, ev->recs);
    tp__free(ev->alloc, ev);
}
