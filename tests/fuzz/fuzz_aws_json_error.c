/* Fuzz the AWS JSON 1.0/1.1 error parser. The input is split at the first
 * two '\n' bytes into the x-amzn-ErrorType header, the x-amzn-query-error
 * header and the body. */
#include "aws/aws_int.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tp_cursor parts[3] = {{data, 0}, {data, 0}, {data, 0}};
    size_t start = 0;
    for (int k = 0; k < 2; k++) {
        const uint8_t *nl = memchr(data + start, '\n', size - start);
        if (!nl)
            break;
        parts[k] = tp_cursor_make(data + start, (size_t)(nl - (data + start)));
        start = (size_t)(nl - data) + 1;
    }
    tp_cursor body = tp_cursor_make(data + start, size - start);
    tp_aws_errinfo info;
    tp_error err;
    tp_status st = tp_aws__json_error(&info, body, parts[0], parts[1], &err);
    /* Invariants: fixed fields are NUL-terminated; a code means TP_OK. */
    if (strlen(info.code) >= sizeof info.code || strlen(info.message) >= sizeof info.message)
        __builtin_trap();
    if ((st == TP_OK) != (info.code[0] != 0))
        __builtin_trap();
    return 0;
}
