#ifndef TRADEPIPE_READER_H
#define TRADEPIPE_READER_H

/* Floor 2: the streaming Firehose-file reader.
 *
 * Reads trade records from a byte stream with bounded memory whatever its
 * size. gzip is detected by its magic bytes (multi-member allowed, zero
 * padding after the last member ignored, as GNU gzip does; CRCs checked;
 * inflated by ISA-L, or zlib in builds made with TP_ISAL_INFLATE=OFF). Records
 * are JSON objects one after another, separated by nothing (Firehose's "}{")
 * or by whitespace (NDJSON), in any mix.
 *
 * Malformed input is reported record by record and skipped:
 *  - a complete JSON value that is not a valid record (an invalid object,
 *    nested junk included, or an array) is one error;
 *  - a run of bytes that is not JSON is one error, and reading resumes at
 *    the next '{' that starts a parsable object;
 *  - a record over max_record_bytes is one error (it is skipped, never
 *    buffered whole).
 * Offsets are byte offsets into the uncompressed stream.
 *
 * A gzip stream that breaks (corrupt or truncated) ends the read with one
 * TP_E_GZIP after the records before the break. Where the source can go
 * back (memory, seekable files), the bytes up to the break are those zlib
 * decodes, whichever inflater runs. Where it cannot (a callback, a pipe),
 * ISA-L's count is cut back by one longest match (258 bytes), as ISA-L may
 * count a broken match it never wrote: those last bytes before the break are
 * not handed out. */

#include "tradepipe/record.h"

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A byte stream to read from. One thread at a time per source. */
typedef struct tp_source tp_source;

/**
 * Read callback: fill up to `cap` bytes at `buf`, set *n (0 = end of stream).
 * Return TP_OK, or a failure (TP_E_IO...) with `err` filled.
 */
typedef tp_status (*tp_read_fn)(void *payload, uint8_t *buf, size_t cap, size_t *n,
                                tp_error *err);

/** A source reading file descriptor `fd` (not closed by tp_source_free). */
TP_API tp_status tp_source_from_fd(tp_source **out, int fd, tp_error *err);
/** A source reading `f` (not closed by tp_source_free). */
TP_API tp_status tp_source_from_file(tp_source **out, FILE *f, tp_error *err);
/** A source over memory (not copied: it must outlive the source). */
TP_API tp_status tp_source_from_memory(tp_source **out, const void *data, size_t len,
                                       tp_error *err);
/** A source opening `path` ("-" is stdin). @return TP_OK; TP_E_IO naming the path. */
TP_API tp_status tp_source_open(tp_source **out, const char *path, tp_error *err);
/** A source calling `fn(payload, ...)` for bytes. */
TP_API tp_status tp_source_from_callback(tp_source **out, tp_read_fn fn, void *payload,
                                         tp_error *err);
/** Free a source (closes the file only if tp_source_open opened it). NULL: no-op. */
TP_API void tp_source_free(tp_source *src);

/** One thread at a time per reader (it may run an inflate thread of its own). */
typedef struct tp_reader tp_reader;

/* tp_reader_options.flags */
#define TP_READ_NO_THREAD 0x1u /* inflate gzip in the caller's thread */
#define TP_READ_NO_GZIP   0x2u /* never treat the input as gzip */
#define TP_READ_ZLIB      0x4u /* inflate with zlib even where the build inflates with ISA-L */

typedef struct tp_reader_options {
    uint32_t version;          /* TP_READER_OPTIONS_VERSION */
    uint32_t flags;            /* TP_READ_* */
    uint32_t decode_flags;     /* TP_DECODE_*, passed to the record decoder */
    uint32_t reserved;
    uint64_t max_record_bytes; /* 0 = default, 1 MiB */
    const tp_allocator *alloc; /* NULL = malloc/free */
} tp_reader_options;
#define TP_READER_OPTIONS_VERSION 1
#define TP_READER_OPTIONS_INIT    {TP_READER_OPTIONS_VERSION, 0, 0, 0, 0, NULL}
#define TP_READER_DEFAULT_MAX_RECORD ((uint64_t)1 << 20)

/** Set `o` to TP_READER_OPTIONS_INIT. @return TP_OK; TP_E_INVALID for an unknown version. */
TP_API tp_status tp_reader_options_init(tp_reader_options *o, uint32_t version);

/**
 * Create a reader over `src` (borrowed: it must outlive the reader).
 * `opts` NULL means defaults. Nothing is read yet.
 * @return TP_OK; TP_E_INVALID; TP_E_NOMEM.
 */
TP_API tp_status tp_reader_new(tp_reader **out, tp_source *src, const tp_reader_options *opts,
                               tp_error *err);

/**
 * The next record.
 * @return TP_OK: `out` holds a valid record;
 *         TP_E_RECORD: one malformed record (or run of junk) was skipped;
 *           err->offset is its first byte, err->message the reason,
 *           err->field the field at fault if any. Call again to go on;
 *         TP_E_TOO_LARGE: a record over max_record_bytes was skipped (go on);
 *         TP_DONE: end of input;
 *         TP_E_NOMEM: setting up (gzip, read-ahead) ran out of memory;
 *           nothing was consumed: calling again tries again;
 *         TP_E_GZIP / TP_E_IO: the stream broke (err says where); a record
 *           cut by the break was reported as TP_E_RECORD first. Further
 *           calls return TP_DONE.
 */
TP_API tp_status tp_reader_next(tp_reader *r, tp_trade *out, tp_error *err);

/**
 * Up to `cap` records in one call: tp_reader_next into out[0], out[1], ...
 * until `cap` records are in or it returns anything but TP_OK. For callers
 * whose per-call cost is high (ctypes, other FFIs): one call per batch
 * instead of one per record.
 * @param n set to the number of valid records written to `out` (0..cap).
 * @return TP_OK: `cap` records in; otherwise what tp_reader_next returned
 *         after the *n records: TP_DONE (end of input); TP_E_RECORD or
 *         TP_E_TOO_LARGE (a malformed record after them was skipped, `err`
 *         describes it as tp_reader_next does: call again to go on);
 *         TP_E_GZIP / TP_E_IO (the stream broke); TP_E_INVALID (NULL
 *         arguments, cap 0). tp_reader_raw is not meaningful after it.
 */
TP_API tp_status tp_reader_next_batch(tp_reader *r, tp_trade *out, size_t cap, size_t *n,
                                      tp_error *err);

/**
 * The bytes of the record last returned with TP_OK (borrowed until the next
 * call on `r`).
 */
TP_API tp_cursor tp_reader_raw(const tp_reader *r);

typedef struct tp_reader_stats {
    uint64_t bytes;       /* uncompressed bytes consumed so far */
    uint64_t records;     /* valid records returned */
    uint64_t errors;      /* malformed records / junk runs / oversized records */
    uint64_t record_offset; /* offset of the record (or error) last returned */
    uint32_t gzip;        /* 1 if the input was gzip */
    uint32_t reserved;
} tp_reader_stats;

/** Counters so far. */
TP_API void tp_reader_stats_get(const tp_reader *r, tp_reader_stats *out);

/** Free the reader (stops its inflate thread). NULL: no-op. */
TP_API void tp_reader_free(tp_reader *r);

#ifdef __cplusplus
}
#endif
#endif
