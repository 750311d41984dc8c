/* Fuzz the reading of a lease item (the KCL's schema, tradepipe/lease.h):
 * whatever DynamoDB JSON comes in, a lease is read with every string
 * terminated and within its buffer, or refused naming an attribute. */
#include "pipeline/lease_int.h"
#include "tradepipe/dynamodb.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tp_ddb_value *v = NULL;
    tp_error err;
    if (tp_ddb_value_from_json(&v, tp_cursor_make(data, size), &err) != TP_OK)
        return 0;
    tp_lease l;
    tp_buf state;
    tp_buf_init(&state, NULL, 0);
    tp_status st = tp_lease__parse(v, &l, &state, &err);
    if (st == TP_OK) {
        if (strlen(l.lease_key) >= sizeof l.lease_key || !l.lease_key[0] ||
            strlen(l.lease_owner) >= sizeof l.lease_owner ||
            strlen(l.checkpoint) >= sizeof l.checkpoint || l.parent_count > 2 ||
            l.state.len != state.len)
            __builtin_trap();
        for (uint32_t i = 0; i < l.parent_count; i++)
            if (strlen(l.parent_shard_ids[i]) >= sizeof l.parent_shard_ids[i])
                __builtin_trap();
    } else if (st != TP_E_PARSE || !err.field[0]) {
        __builtin_trap();
    }
    tp_buf_dispose(&state);
    tp_ddb_value_free(v);
    return 0;
}
