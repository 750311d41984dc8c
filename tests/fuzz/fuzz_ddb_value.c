/* Fuzz the DynamoDB attribute-value reader and check that what it accepts
 * writes back to JSON that reads again to the same value. */
#include "core/core_int.h"
#include "tradepipe/dynamodb.h"

#include <jansson.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tp_ddb_value *v = NULL, *back = NULL;
    tp_error err;
    if (tp_ddb_value_from_json(&v, tp_cursor_make(data, size), &err) != TP_OK)
        return 0;
    tp_buf b;
    tp_buf_init(&b, NULL, 0);
    if (tp_ddb_value_to_json(v, &b, &err) != TP_OK)
        __builtin_trap();
    if (tp_ddb_value_from_json(&back, tp_buf_cursor(&b), &err) != TP_OK)
        __builtin_trap();
    if (!json_equal((json_t *)v, (json_t *)back))
        __builtin_trap();
    tp_ddb_value_free(back);
    tp_ddb_value_free(v);
    tp_buf_dispose(&b);
    return 0;
}
