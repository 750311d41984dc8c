/* Fuzz the GetRecords answer parser (what a kinesis:// stream reader and
 * tp-consumer read from the service): records with their base64 Data
 * decoded, NextShardIterator, MillisBehindLatest and ChildShards. What
 * parses has every string it promises and data views inside the decoded
 * bytes; what does not says why; nothing leaks either way. */
#include "clients/kinesis_int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *ans = json_loadb((const char *)data, size, 0, NULL);
    if (!ans)
        return 0;
    tp_kinesis_records out;
    memset(&out, 0, sizeof out);
    tp_error err;
    tp_status st = tp_kinesis__parse_get_records(ans, &out, &err);
    if (st != TP_OK) {
        if (err.code != st || !err.message[0] || out.count || out.records || out.internal_)
            abort();
        return 0;
    }
    for (size_t i = 0; i < out.count; i++) {
        const tp_kinesis_record *r = &out.records[i];
        if (!r->sequence_number || !r->partition_key || !r->data.ptr)
            abort();
        volatile uint8_t sum = 0;
        for (size_t j = 0; j < r->data.len; j++)
            sum ^= r->data.ptr[j]; /* readable (ASan) */
        (void)sum;
    }
    for (size_t i = 0; i < out.child_count; i++) {
        const tp_kinesis_child_shard *c = &out.child_shards[i];
        if (!c->shard_id || c->parent_count > 2 || (!c->hash_key_start != !c->hash_key_end))
            abort();
        for (size_t p = 0; p < c->parent_count; p++)
            if (!c->parent_shards[p])
                abort();
    }
    tp_kinesis_records_dispose(&out);
    return 0;
}
