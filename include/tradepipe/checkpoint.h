#ifndef TRADEPIPE_CHECKPOINT_H
#define TRADEPIPE_CHECKPOINT_H

/* Floor 5: a stream reader's durable place, saved whole and atomically.
 *
 * A checkpoint holds, per shard, the sequence number of the last record
 * whose effects are durable (as the KCL's lease "checkpoint"), and what the
 * reader needs to resume exactly there: an opaque state (an engine
 * snapshot, say), named counters and named strings. Saving writes all of it
 * at once, so the shard positions and the state saved with them can never
 * disagree: that is what makes effects exactly once across crashes.
 *
 * Backend: "file:PATH", one JSON object (keys sorted, so the same content
 * gives the same bytes):
 *   {"counters":{"NAME":n,...},"format":"tradepipe-checkpoint",
 *    "shards":{"shardId-000000000000":"SEQUENCE",...},"state":"BASE64",
 *    "strings":{"NAME":"...",...},"version":1}
 * written to a temporary file, fsynced, renamed over PATH, and the
 * directory fsynced. A missing file is an empty checkpoint. While a
 * checkpoint is open, an flock on ".BASENAME.lock" beside the file keeps
 * other processes from opening it (two readers resuming from the same
 * place would repeat each other's effects).
 *
 * One thread at a time per checkpoint. */

#include "tradepipe/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Room for a shard id and its NUL (Kinesis: up to 128 characters). */
#define TP_CHECKPOINT_SHARD_MAX 129
/** Room for a sequence number and its NUL (Kinesis: up to 128 digits). */
#define TP_CHECKPOINT_SEQ_MAX 129
/** Longest counter or string name, NUL excluded. */
#define TP_CHECKPOINT_NAME_MAX 64
/** Largest state, in bytes (before base64). */
#define TP_CHECKPOINT_STATE_MAX ((size_t)256 << 20)

typedef struct tp_checkpoint tp_checkpoint;

/**
 * Open the checkpoint at `uri` ("file:PATH") and load what it holds.
 * @return TP_OK; TP_E_CONFIG (an unknown URI); TP_E_STATE (in use by
 *         another process: the message names its pid); TP_E_PARSE (not JSON:
 *         err->offset set); TP_E_STATE (JSON that is not a checkpoint:
 *         err->field names the key); TP_E_UNSUPPORTED (another version);
 *         TP_E_IO; TP_E_NOMEM.
 */
TP_API tp_status tp_checkpoint_open(tp_checkpoint **out, const char *uri, const tp_allocator *alloc,
                                    tp_error *err);

/** 1 when the checkpoint was loaded from a saved one, 0 when it starts empty. */
TP_API int tp_checkpoint_loaded(const tp_checkpoint *c);

/** The sequence number saved for `shard_id`, or NULL. Borrowed until the next set or save. */
TP_API const char *tp_checkpoint_sequence(const tp_checkpoint *c, const char *shard_id);

/**
 * Set `shard_id`'s sequence number (decimal digits, no leading zero), in
 * memory until tp_checkpoint_save.
 * @return TP_OK; TP_E_INVALID (err->field "shard_id" or "sequence_number"); TP_E_NOMEM.
 */
TP_API tp_status tp_checkpoint_set_sequence(tp_checkpoint *c, const char *shard_id,
                                            const char *sequence_number, tp_error *err);

/** Counter `name`, 0 when unset. */
TP_API uint64_t tp_checkpoint_counter(const tp_checkpoint *c, const char *name);
/** Set counter `name` (1..TP_CHECKPOINT_NAME_MAX bytes). @return TP_OK; TP_E_INVALID; TP_E_NOMEM.
 */
TP_API tp_status tp_checkpoint_set_counter(tp_checkpoint *c, const char *name, uint64_t value,
                                           tp_error *err);

/** String `name` (UTF-8), or NULL when unset. Borrowed until the next set or save. */
TP_API const char *tp_checkpoint_string(const tp_checkpoint *c, const char *name);
/**
 * Set string `name` to `value` (valid UTF-8; NULL removes it).
 * @return TP_OK; TP_E_INVALID (a bad name, or a value that is not UTF-8); TP_E_NOMEM.
 */
TP_API tp_status tp_checkpoint_set_string(tp_checkpoint *c, const char *name, const char *value,
                                          tp_error *err);

/** The saved state (empty when none). Borrowed until the next set or save. */
TP_API tp_cursor tp_checkpoint_state(const tp_checkpoint *c);
/** Replace the state (copied). @return TP_OK; TP_E_TOO_LARGE; TP_E_NOMEM. */
TP_API tp_status tp_checkpoint_set_state(tp_checkpoint *c, tp_cursor state, tp_error *err);

/**
 * Make everything set so far durable, atomically: after a crash the file is
 * the previous save or this one, never a mix.
 * @return TP_OK; TP_E_IO (the path and the system error); TP_E_NOMEM.
 */
TP_API tp_status tp_checkpoint_save(tp_checkpoint *c, tp_error *err);

/** Free the checkpoint (unsaved changes are dropped). NULL: no-op. */
TP_API void tp_checkpoint_free(tp_checkpoint *c);

#ifdef __cplusplus
}
#endif
#endif
