/* Fuzz target for the streaming Firehose reader, unthreaded: any bytes
 * (plain or gzip) through a memory source and through a callback handing
 * out a few bytes at a time; the transcript must not depend on how the
 * bytes are delivered, and the counters must add up. The two inflaters:
 * over a source that can go back (memory, files) ISA-L gives exactly zlib's
 * transcript, broken streams included; over one that cannot (pipes,
 * callbacks) the same on every stream that is not broken. The reader's
 * threads are fuzz_reader_threads' part. */
#include "reader_run.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader_run isal = reader_run_memory(data, size, TP_READ_NO_THREAD);
    reader_run zlib = reader_run_memory(data, size, TP_READ_NO_THREAD | TP_READ_ZLIB);
    reader_run zlib_drip =
        reader_run_drip(data, size, 1 + size % 7, TP_READ_NO_THREAD | TP_READ_ZLIB);
    reader_run isal_drip = reader_run_drip(data, size, 5, TP_READ_NO_THREAD);
    if (!reader_run_same(isal, zlib))
        abort(); /* ISA-L (able to go back) differs from zlib */
    if (!reader_run_same(zlib, zlib_drip))
        abort(); /* the delivery changed the transcript */
    if (!isal.broken && !reader_run_same(isal_drip, isal))
        abort(); /* ISA-L through a callback differs on a sound stream */
    return 0;
}
