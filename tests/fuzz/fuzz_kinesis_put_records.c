/* Differential fuzzing of the PutRecords answer scanner against the jansson
 * path: whenever the scanner accepts an answer, jansson must read the same
 * results from it. The first byte is the record count sent (0..255). */
#include "clients/kinesis_int.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static tp_kinesis_put_result a[256], b[256];
    if (size < 1)
        return 0;
    size_t n = data[0];
    tp_cursor body = tp_cursor_make(data + 1, size - 1);
    uint32_t fa = 0, fb = 0;
    if (!tp_kinesis__scan_put_records(body, n, a, &fa))
        return 0;
    tp_error err;
    if (tp_kinesis__parse_put_records_json(body, n, b, &fb, &err) != TP_OK)
        __builtin_trap();
    if (fa != fb)
        __builtin_trap();
    for (size_t i = 0; i < n; i++) {
        if (strcmp(a[i].shard_id, b[i].shard_id) || strcmp(a[i].sequence_number,
                                                           b[i].sequence_number) ||
            strcmp(a[i].error_code, b[i].error_code) ||
            strcmp(a[i].error_message, b[i].error_message))
            __builtin_trap();
    }
    return 0;
}
