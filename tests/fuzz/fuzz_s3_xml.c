/* Fuzz the S3 XML parsers: the error body parser, the ListObjectsV2 parser
 * and the generic walker. */
#include "aws/aws_int.h"
#include "clients/s3_int.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static tp_status count_leaf(void *payload, const char *path, size_t depth, tp_cursor text,
                            int leaf, tp_error *err)
{
    (void)err;
    size_t *n = payload;
    if (depth == 0 || depth > TP_XML_MAX_DEPTH || strlen(path) >= 1024 || (!leaf && text.len))
        __builtin_trap();
    (*n)++;
    return TP_OK;
}

static tp_status count_entry(const tp_s3_list_entry *e, void *payload)
{
    size_t *n = payload;
    if (!e->key || !e->etag || !e->storage_class || strlen(e->key) > 4096)
        __builtin_trap();
    (*n)++;
    return TP_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tp_cursor in = tp_cursor_make(data, size);
    tp_aws_errinfo info;
    tp_error err;
    tp_status st = tp_aws__s3_error(&info, in, NULL, &err);
    if (st == TP_OK && !info.code[0])
        __builtin_trap();
    if (st != TP_OK && st != TP_E_NOT_FOUND && err.code != st)
        __builtin_trap();
    size_t n = 0;
    (void)tp_xml__walk(in, count_leaf, &n, NULL, &err);
    size_t entries = 0;
    tp_buf token;
    int truncated = -1;
    tp_buf_init(&token, NULL, 0);
    st = tp_s3__parse_list(in, count_entry, &entries, &token, &truncated, NULL, &err);
    if (st == TP_OK && (truncated != 0 && truncated != 1))
        __builtin_trap();
    tp_buf_dispose(&token);
    return 0;
}
