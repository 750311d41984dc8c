/* Floor 5: opening a positions store or a trade archive by URI: file: for
 * the file backends, dynamodb:// and s3:// for the AWS ones. The only file
 * that knows every backend. */
#include "store_aws_int.h"

#include <string.h>

tp_status tp_positions_store_open(tp_positions_store **out, const char *uri,
                                  const tp_allocator *alloc, tp_error *err)
{
    if (!out || !uri)
        return tp_error__set(err, TP_E_INVALID, "tp_positions_store_open: NULL argument");
    *out = NULL;
    if (!strncmp(uri, "file:", 5) && uri[5])
        return tp_positions_store_file_new(out, uri + 5, alloc, err);
    if (!strncmp(uri, "dynamodb://", 11))
        return tp_store__dynamodb_open(out, uri, alloc, err);
    return tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, "positions",
                        "positions store '%.100s': expected file:PATH or dynamodb://TABLE", uri);
}

tp_status tp_trade_archive_open(tp_trade_archive **out, const char *uri, const tp_allocator *alloc,
                                tp_error *err)
{
    if (!out || !uri)
        return tp_error__set(err, TP_E_INVALID, "tp_trade_archive_open: NULL argument");
    *out = NULL;
    if (!strncmp(uri, "file:", 5) && uri[5])
        return tp_trade_archive_dir_new(out, uri + 5, alloc, err);
    if (!strncmp(uri, "s3://", 5))
        return tp_store__s3_open(out, uri, alloc, err);
    return tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, "trades",
                        "trade archive '%.100s': expected file:DIR or s3://BUCKET/PREFIX", uri);
}
