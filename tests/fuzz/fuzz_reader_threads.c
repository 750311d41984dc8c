/* Fuzz target for the streaming Firehose reader's threads (the inflate
 * thread for gzip, the read-ahead thread for plain input): one threaded
 * read per input, through a callback, must give the transcript of the
 * same read in the caller's thread. The input's length picks the inflater
 * (ISA-L or zlib) and the pieces the callback hands out (3 bytes, 32 or
 * all), so the corpus covers all six. The unthreaded
 * comparisons are fuzz_reader's part. The threads come from a pool kept
 * across inputs (thread_pool.h): a thread start per input held this target
 * to ~300 inputs a second under ASan. */
#include <errno.h>

#include "reader_run.h"
#include "thread_pool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t zlib = size % 2 ? TP_READ_ZLIB : 0;
    /* Pieces of 3 bytes hand over a block to the thread every 3 bytes,
     * and on this kind of machine each hand-over is a futex wait and wake
     * (tens of microseconds on a virtual machine): one input in 32;
     * pieces of 32 bytes (a few blocks; the ring of 4 wraps on inputs over
     * 128 bytes) two in 32; the rest in one piece. */
    unsigned pick = (unsigned)(size / 2 % 32);
    size_t step = pick == 0 ? 3 : pick <= 2 ? 32 : 65536;
    reader_run mine = reader_run_drip(data, size, step, TP_READ_NO_THREAD | zlib);
    thread_pool_begin();
    reader_run threaded = reader_run_drip(data, size, step, zlib);
    thread_pool_end();
    if (!reader_run_same(mine, threaded))
        abort(); /* the inflate or read-ahead thread changed the transcript */
    return 0;
}
