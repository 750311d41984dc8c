/* Floor 5: the local Firehose (see include/tradepipe/firehose.h): a
 * stream's records batched, gzipped (ISA-L) and delivered exactly once as
 * objects laid out like Firehose's S3 deliveries. */
#include "tradepipe/firehose.h"
#include "firehose_int.h"
#include "store_io_int.h"
#include "stream_int.h"
#include "tradepipe/checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* The namespace of the object UUIDs: uuid5(NAMESPACE_URL,
 * "tradepipe:firehose:object"), 71de6cef-db05-566c-9883-0d5b4e428727. */
static const uint8_t object_ns[16] = {0x71, 0xde, 0x6c, 0xef, 0xdb, 0x05, 0x56, 0x6c,
                                      0x98, 0x83, 0x0d, 0x5b, 0x4e, 0x42, 0x87, 0x27};

typedef struct fh_shard {
    tp_stream_reader *reader;
    char id[TP_KINESIS_SHARD_ID_MAX];
    uint64_t buffered; /* records of this shard in the batch */
    char first[TP_KINESIS_SEQ_MAX], last[TP_KINESIS_SEQ_MAX];
    int ended;         /* a closed shard read to its end */
} fh_shard;

struct tp_firehose {
    const tp_allocator *alloc;
    tp_stream *stream;
    char *dir;    /* the destination directory */
    char *state;  /* dir/.tp-firehose */
    char *tmpdir; /* dir/.tp-firehose/tmp */
    char *prefix;
    char name[TP_FIREHOSE_NAME_MAX + 1];
    uint32_t flags;
    uint64_t buffer_bytes;
    int64_t buffer_ms;
    int level;
    int broken; /* a delivery failed midway: make a new handle */
    tp_checkpoint *cp;
    fh_shard *sh;
    uint32_t n;
    tp_buf batch, gz, text;
    int64_t oldest_arrival_ms, first_add_ms;
    struct isal_zstream *zs;
    uint8_t *level_buf;
    uint32_t level_buf_size;
    tp_firehose_stats stats;
    char last_key[TP_FIREHOSE_KEY_MAX];
};

TP__DEFINE_INIT(tp_firehose_options_init, tp_firehose_options,
                TP_FIREHOSE_OPTIONS_VERSION, TP_FIREHOSE_OPTIONS_INIT)

/* ---- names ---------------------------------------------------------------- */

void tp_uuid_v5(uint8_t out[16], const uint8_t ns[16], tp_cursor name)
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, ns, 16) == 1 &&
             EVP_DigestUpdate(ctx, name.len ? name.ptr : (const uint8_t *)"", name.len) == 1 &&
             EVP_DigestFinal_ex(ctx, md, &len) == 1 && len >= 16;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        memset(md, 0, 16); /* SHA-1 unavailable: the nil UUID, with its version bits */
    memcpy(out, md, 16);
    out[6] = (uint8_t)((out[6] & 0x0f) | 0x50); /* version 5 */
    out[8] = (uint8_t)((out[8] & 0x3f) | 0x80); /* the RFC 4122 variant */
}

static int name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > TP_FIREHOSE_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

tp_status tp_firehose_object_key(char out[TP_FIREHOSE_KEY_MAX], const char *prefix,
                                 const char *name, int64_t oldest_arrival_ms,
                                 const uint8_t uuid[16], tp_error *err)
{
    if (!out || !name || !uuid)
        return tp_error__set(err, TP_E_INVALID, "tp_firehose_object_key: NULL argument");
    if (!name_ok(name))
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "name",
                            "delivery stream name '%.80s': 1 to 64 of [a-zA-Z0-9_.-]", name);
    /* Up to 9999-12-31T23:59:59.999Z. */
    if (oldest_arrival_ms < 0 || oldest_arrival_ms > INT64_C(253402300799999))
        return tp_error__at(err, TP_E_RANGE, TP_NO_OFFSET, "arrival",
                            "arrival time %lld ms is outside years 1970..9999",
                            (long long)oldest_arrival_ms);
    int64_t s = oldest_arrival_ms / 1000;
    int64_t y;
    unsigned mo, d;
    tp_time_civil_from_days(s / 86400, &y, &mo, &d);
    int sod = (int)(s % 86400);
    char u[37];
    snprintf(u, sizeof u, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             uuid[0], uuid[1], uuid[2], uuid[3], uuid[4], uuid[5], uuid[6], uuid[7], uuid[8],
             uuid[9], uuid[10], uuid[11], uuid[12], uuid[13], uuid[14], uuid[15]);
    int n = snprintf(out, TP_FIREHOSE_KEY_MAX,
                     "%s%04d/%02u/%02u/%02d/%s-1-%04d-%02u-%02u-%02d-%02d-%02d-%s.gz",
                     prefix ? prefix : "", (int)y, mo, d, sod / 3600, name, (int)y, mo, d,
                     sod / 3600, sod / 60 % 60, sod % 60, u);
    if (n < 0 || n >= TP_FIREHOSE_KEY_MAX)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "prefix",
                            "object key over %d bytes (prefix too long)", TP_FIREHOSE_KEY_MAX - 1);
    return TP_OK;
}

/* ---- gzip ----------------------------------------------------------------- */

static tp_status gzip_batch(tp_firehose *f, tp_error *err)
{
    struct isal_zstream *zs = f->zs;
    tp_buf_clear(&f->gz);
    isal_deflate_init(zs);
    zs->gzip_flag = IGZIP_GZIP;
    zs->level = (uint32_t)f->level;
    zs->level_buf = f->level_buf;
    zs->level_buf_size = f->level_buf_size;
    zs->end_of_stream = 1;
    zs->flush = NO_FLUSH;
    zs->next_in = f->batch.ptr;
    zs->avail_in = (uint32_t)f->batch.len;
    do {
        /* Records compress well; whatever is left over gets more room. */
        size_t room = f->batch.len / 4 + 4096;
        tp_status st = tp_buf_reserve(&f->gz, room, err);
        if (st != TP_OK)
            return st;
        zs->next_out = f->gz.ptr + f->gz.len;
        zs->avail_out = (uint32_t)(f->gz.cap - f->gz.len - 1);
        uint32_t before = zs->avail_out;
        int rc = isal_deflate(zs);
        if (rc != COMP_OK)
            return tp_error__set(err, TP_E_GZIP, "ISA-L deflate failed (%d)", rc);
        f->gz.len += before - zs->avail_out;
    } while (zs->internal_state.state != ZSTATE_END);
    return TP_OK;
}

/* ---- writing an object ---------------------------------------------------- */

/* Write `data` to dir/key so that the object appears whole or not at all;
 * its temporary file is out of the bucket's layout (a reader listing
 * raw-data never sees a partial object). */
static tp_status put_object(tp_firehose *f, const char *key, tp_cursor data, tp_error *err)
{
    size_t dl = strlen(f->dir), kl = strlen(key);
    char *path = tp__malloc(f->alloc, dl + 1 + kl + 1);
    if (!path)
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    snprintf(path, dl + kl + 2, "%s/%s", f->dir, key);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    tp_status st = tp_store__mkdirs(f->alloc, path, err);
    *slash = '/';
    if (st == TP_OK)
        st = tp_store__write_atomic(f->alloc, path, data.ptr, data.len, f->tmpdir, err);
    tp__free(f->alloc, path);
    return st;
}

/* ---- the checkpoint ------------------------------------------------------- */

/* A pending object, as kept in the checkpoint string "pending":
 *   key KEY\nrecords N\nbytes N\nwritten N\nshard ID FIRST LAST\n... */
static tp_status pending_text(tp_firehose *f, const char *key, tp_error *err)
{
    tp_buf *t = &f->text;
    tp_buf_clear(t);
    tp_status st = tp_buf_appendf(t, err, "key %s\nrecords %llu\nbytes %llu\nwritten %llu\n", key,
                                  (unsigned long long)f->stats.buffered_records,
                                  (unsigned long long)f->batch.len, (unsigned long long)f->gz.len);
    for (uint32_t i = 0; i < f->n && st == TP_OK; i++)
        if (f->sh[i].buffered)
            st = tp_buf_appendf(t, err, "shard %s %s %s\n", f->sh[i].id, f->sh[i].first,
                                f->sh[i].last);
    return st;
}

static tp_status add_counter(tp_firehose *f, const char *name, uint64_t v, tp_error *err)
{
    uint64_t now = tp_checkpoint_counter(f->cp, name);
    if (v > (uint64_t)INT64_MAX - now)
        return tp_error__at(err, TP_E_STATE, TP_NO_OFFSET, "pending",
                            "checkpoint: counter %s would pass 2^63-1", name);
    return tp_checkpoint_set_counter(f->cp, name, now + v, err);
}

/* A count as the pending text writes it: decimal digits only. */
static int parse_count(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    size_t n = strlen(s);
    if (n == 0 || n > 19)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

/* A key this Firehose writes: under its prefix, ".gz", relative, no "." or
 * ".." segment, no byte a key of ours never has. */
static int key_ok(const tp_firehose *f, const char *key)
{
    size_t n = strlen(key), pl = strlen(f->prefix);
    if (n <= pl + 3 || n >= TP_FIREHOSE_KEY_MAX || strncmp(key, f->prefix, pl) != 0 ||
        strcmp(key + n - 3, ".gz") != 0 || key[0] == '/')
        return 0;
    for (const char *seg = key;;) {
        size_t sl = strcspn(seg, "/");
        if (sl == 0 || (sl == 1 && seg[0] == '.') || (sl == 2 && seg[0] == '.' && seg[1] == '.'))
            return 0;
        if (!seg[sl])
            break;
        seg += sl + 1;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)key[i] < 0x21 || key[i] == '\\' || key[i] == 0x7f)
            return 0;
    return 1;
}

static tp_status bad_pending(tp_error *err, const char *why, const char *line)
{
    return tp_error__at(err, TP_E_STATE, TP_NO_OFFSET, "pending",
                        "checkpoint: the pending object %s: '%.60s'", why, line);
}

/* A pending object's description, parsed and checked against this
 * Firehose (its prefix, its stream's shards, the checkpoint's positions):
 * per shard, the last sequence number it delivered (seen[i] set); the
 * records, bytes and written counts. */
typedef struct pending {
    uint8_t *seen;
    char (*last)[TP_KINESIS_SEQ_MAX];
    uint64_t counts[3]; /* records, bytes, written */
} pending;

static void pending_dispose(tp_firehose *f, pending *pd)
{
    tp__free(f->alloc, pd->seen);
    tp__free(f->alloc, pd->last);
}

/* Parse `text` into *pd (disposed by the caller, also after a failure).
 * Nothing is changed. */
static tp_status pending_parse(tp_firehose *f, const char *text, pending *pd, tp_error *err)
{
    memset(pd, 0, sizeof *pd);
    char *copy = tp_store__strndup(f->alloc, text, strlen(text));
    pd->seen = tp__calloc(f->alloc, f->n ? f->n : 1, 1);
    pd->last = tp__calloc(f->alloc, f->n ? f->n : 1, sizeof *pd->last);
    if (!copy || !pd->seen || !pd->last) {
        tp__free(f->alloc, copy);
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    }
    tp_status st = TP_OK;
    int have_key = 0;
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line && st == TP_OK;
         line = strtok_r(NULL, "\n", &save)) {
        char *sp = strchr(line, ' ');
        if (!sp) {
            st = bad_pending(err, "has a line that is not understood", line);
            break;
        }
        *sp = '\0';
        const char *word = line, *rest = sp + 1;
        static const char *const names[3] = {"records", "bytes", "written"};
        int counted = 0;
        for (int k = 0; k < 3; k++)
            if (!strcmp(word, names[k])) {
                counted = 1;
                if (parse_count(rest, &pd->counts[k]) != 0)
                    st = bad_pending(err, "has a count that is not a number", rest);
            }
        if (counted)
            continue;
        if (!strcmp(word, "key")) {
            have_key = 1;
            if (!key_ok(f, rest))
                st = bad_pending(err, "has a key this Firehose does not write", rest);
            continue;
        }
        char id[TP_KINESIS_SHARD_ID_MAX], first[TP_KINESIS_SEQ_MAX], seq[TP_KINESIS_SEQ_MAX];
        char extra;
        uint32_t i = 0;
        if (strcmp(word, "shard") != 0 ||
            sscanf(rest, "%131s %131s %131s %c", id, first, seq, &extra) != 3) {
            st = bad_pending(err, "has a line that is not understood", rest);
            break;
        }
        while (i < f->n && strcmp(f->sh[i].id, id) != 0)
            i++;
        const char *was = i < f->n ? tp_checkpoint_sequence(f->cp, id) : NULL;
        if (i == f->n || pd->seen[i])
            st = bad_pending(err, "names a shard the stream has not (or twice)", id);
        else if (!tp_stream__seq_valid(first) || !tp_stream__seq_valid(seq) ||
                 tp_stream__seq_cmp(first, seq) > 0 ||
                 (was && (!tp_stream__seq_valid(was) || tp_stream__seq_cmp(first, was) <= 0)))
            st = bad_pending(err, "has a sequence range that does not follow the checkpoint", rest);
        else {
            pd->seen[i] = 1;
            memcpy(pd->last[i], seq, sizeof pd->last[i]);
        }
    }
    if (st == TP_OK && !have_key)
        st = bad_pending(err, "has no key", text);
    tp__free(f->alloc, copy);
    return st;
}

/* The key of a pending description: its first line, "key KEY". */
static tp_status pending_key(tp_firehose *f, const char *p, char key[TP_FIREHOSE_KEY_MAX],
                             tp_error *err)
{
    size_t kl = strncmp(p, "key ", 4) == 0 ? strcspn(p + 4, "\n") : 0;
    if (kl == 0 || kl >= TP_FIREHOSE_KEY_MAX)
        return bad_pending(err, "has no key", p);
    memcpy(key, p + 4, kl);
    key[kl] = '\0';
    if (!key_ok(f, key))
        return bad_pending(err, "has a key this Firehose does not write", key);
    return TP_OK;
}

tp_status tp_firehose__pending_check(tp_firehose *f, const char *text, tp_error *err)
{
    char key[TP_FIREHOSE_KEY_MAX];
    tp_status st = pending_key(f, text, key, err);
    if (st != TP_OK)
        return st;
    pending pd;
    st = pending_parse(f, text, &pd, err);
    pending_dispose(f, &pd);
    return st;
}

/* Move the checkpoint past a delivered object whose pending description is
 * `text` (parsed here, so that a crash's leftover commits the same way).
 * Everything is checked before anything is set. */
static tp_status commit(tp_firehose *f, const char *text, tp_error *err)
{
    pending pd;
    tp_status st = pending_parse(f, text, &pd, err);
    for (uint32_t i = 0; i < f->n && st == TP_OK; i++)
        if (pd.seen[i])
            st = tp_checkpoint_set_sequence(f->cp, f->sh[i].id, pd.last[i], err);
    if (st == TP_OK)
        st = add_counter(f, "records_delivered", pd.counts[0], err);
    if (st == TP_OK)
        st = add_counter(f, "objects", 1, err);
    if (st == TP_OK)
        st = add_counter(f, "bytes_delivered", pd.counts[1], err);
    if (st == TP_OK)
        st = add_counter(f, "bytes_written", pd.counts[2], err);
    if (st == TP_OK)
        st = tp_checkpoint_set_string(f->cp, "pending", NULL, err);
    if (st == TP_OK)
        st = tp_checkpoint_save(f->cp, err);
    pending_dispose(f, &pd);
    return st;
}

/* A crash between writing an object and moving the checkpoint left it
 * pending: committed when the object is there, dropped otherwise (its
 * records are read again and batched anew). */
static tp_status settle_pending(tp_firehose *f, tp_error *err)
{
    const char *p = tp_checkpoint_string(f->cp, "pending");
    if (!p)
        return TP_OK;
    char key[TP_FIREHOSE_KEY_MAX];
    tp_status st = pending_key(f, p, key, err);
    if (st != TP_OK)
        return st;
    size_t kl = strlen(key), dl = strlen(f->dir);
    char *path = tp__malloc(f->alloc, dl + 1 + kl + 1);
    if (!path)
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    snprintf(path, dl + kl + 2, "%s/%s", f->dir, key);
    struct stat sb;
    int there = stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
    tp__free(f->alloc, path);
    if (there)
        return commit(f, p, err);
    st = tp_checkpoint_set_string(f->cp, "pending", NULL, err);
    return st == TP_OK ? tp_checkpoint_save(f->cp, err) : st;
}

/* ---- delivering ----------------------------------------------------------- */

static void batch_reset(tp_firehose *f)
{
    tp_buf_clear(&f->batch);
    for (uint32_t i = 0; i < f->n; i++)
        f->sh[i].buffered = 0;
    f->stats.buffered_records = 0;
    f->stats.buffered_bytes = 0;
    f->oldest_arrival_ms = INT64_MAX;
}

static tp_status deliver(tp_firehose *f, tp_error *err)
{
    if (!f->stats.buffered_records)
        return TP_OK;
    /* The UUID names what the object holds. */
    tp_buf *t = &f->text;
    tp_buf_clear(t);
    tp_status st = tp_buf_appendf(t, err, "%s\n", f->name);
    for (uint32_t i = 0; i < f->n && st == TP_OK; i++)
        if (f->sh[i].buffered)
            st = tp_buf_appendf(t, err, "%s %s %s\n", f->sh[i].id, f->sh[i].first, f->sh[i].last);
    if (st != TP_OK)
        return st;
    uint8_t uuid[16];
    tp_uuid_v5(uuid, object_ns, tp_buf_cursor(t));
    char key[TP_FIREHOSE_KEY_MAX];
    if ((st = tp_firehose_object_key(key, f->prefix, f->name, f->oldest_arrival_ms, uuid, err)) !=
            TP_OK ||
        (st = gzip_batch(f, err)) != TP_OK)
        return st;
    /* 1. say what is about to appear; 2. make it appear; 3. move on. */
    if ((st = pending_text(f, key, err)) != TP_OK ||
        (st = tp_checkpoint_set_string(f->cp, "pending", (const char *)t->ptr, err)) != TP_OK ||
        (st = tp_checkpoint_save(f->cp, err)) != TP_OK)
        return st;
    if ((st = put_object(f, key, tp_buf_cursor(&f->gz), err)) != TP_OK)
        return st;
    if ((st = commit(f, (const char *)t->ptr, err)) != TP_OK)
        return st;
    f->stats.records_delivered += f->stats.buffered_records;
    f->stats.objects++;
    f->stats.bytes_delivered += f->batch.len;
    f->stats.bytes_written += f->gz.len;
    memcpy(f->last_key, key, sizeof key);
    batch_reset(f);
    return TP_OK;
}

tp_status tp_firehose_flush(tp_firehose *f, tp_error *err)
{
    if (!f)
        return tp_error__set(err, TP_E_INVALID, "tp_firehose_flush: NULL handle");
    if (f->broken)
        return tp_error__set(err, TP_E_STATE,
                             "a delivery failed earlier: free this handle and "
                             "make a new one (it resumes from the checkpoint)");
    tp_status st = deliver(f, err);
    if (st != TP_OK)
        f->broken = 1;
    return st;
}

/* Shards made since the handle was opened (a Kinesis reshard): a reader
 * each, from its checkpoint, else from its start. */
static tp_status add_new_shards(tp_firehose *f, tp_error *err)
{
    tp_kinesis_shards ls = {0};
    tp_status st = tp_stream_list_shards(f->stream, &ls, err);
    for (size_t k = 0; st == TP_OK && k < ls.count; k++) {
        const char *id = ls.shards[k].shard_id;
        uint32_t i = 0;
        while (i < f->n && strcmp(f->sh[i].id, id) != 0)
            i++;
        if (i < f->n)
            continue;
        fh_shard *grown = tp__realloc(f->alloc, f->sh, (f->n + 1) * sizeof *grown);
        if (!grown) {
            st = tp_error__set(err, TP_E_NOMEM, "out of memory");
            break;
        }
        f->sh = grown;
        fh_shard *sh = &f->sh[f->n];
        memset(sh, 0, sizeof *sh);
        tp__strlcpy(sh->id, id, sizeof sh->id);
        const char *seq = tp_checkpoint_sequence(f->cp, id);
        tp_stream_position pos = {TP_KINESIS_TRIM_HORIZON, 0, 0, ""};
        if (seq) {
            pos.type = TP_KINESIS_AFTER_SEQUENCE_NUMBER;
            pos.sub_sequence_number = INT32_MAX; /* after the whole record */
            tp__strlcpy(pos.sequence_number, seq, sizeof pos.sequence_number);
        }
        if ((st = tp_stream_reader_new(&sh->reader, f->stream, id, &pos, err)) == TP_OK)
            f->n++;
    }
    tp_kinesis_shards_dispose(&ls);
    return st;
}

tp_status tp_firehose_poll(tp_firehose *f, int64_t now_ms, size_t *records, tp_error *err)
{
    if (records)
        *records = 0;
    if (!f)
        return tp_error__set(err, TP_E_INVALID, "tp_firehose_poll: NULL handle");
    if (f->broken)
        return tp_firehose_flush(f, err);
    size_t nl = (f->flags & TP_FIREHOSE_NEWLINE) ? 1 : 0, total = 0;
    int64_t lag = 0;
    int relist = 0;
    tp_status st = TP_OK;
    for (uint32_t i = 0; i < f->n && st == TP_OK; i++) {
        fh_shard *sh = &f->sh[i];
        tp_stream_records recs;
        st = tp_stream_reader_get(sh->reader, 10000, &recs, err);
        if (st == TP_DONE) { /* a closed Kinesis shard read to its end */
            relist |= !sh->ended;
            sh->ended = 1;
            st = TP_OK;
            continue;
        }
        if (st != TP_OK)
            break;
        for (size_t k = 0; k < recs.count && st == TP_OK; k++) {
            const tp_stream_record *r = &recs.records[k];
            /* Objects end between Kinesis records, never inside a KPL
             * aggregate: the checkpoint names whole records (an object may
             * pass the buffer size by the rest of one aggregate). */
            if (f->stats.buffered_records && r->sub_sequence_number == 0 &&
                f->batch.len + r->data.len + nl > f->buffer_bytes &&
                (st = deliver(f, err)) != TP_OK)
                break;
            if ((st = tp_buf_append(&f->batch, r->data.ptr, r->data.len, err)) != TP_OK ||
                (nl && (st = tp_buf_append(&f->batch, "\n", 1, err)) != TP_OK))
                break;
            if (!f->stats.buffered_records)
                f->first_add_ms = now_ms;
            if (!sh->buffered++)
                tp__strlcpy(sh->first, r->sequence_number, sizeof sh->first);
            tp__strlcpy(sh->last, r->sequence_number, sizeof sh->last);
            if (r->arrival_ms < f->oldest_arrival_ms)
                f->oldest_arrival_ms = r->arrival_ms;
            f->stats.buffered_records++;
            f->stats.buffered_bytes = f->batch.len;
            f->stats.records_read++;
            total++;
        }
        if (recs.millis_behind_latest > lag)
            lag = recs.millis_behind_latest;
    }
    f->stats.lag_ms = lag;
    if (st == TP_OK && relist) /* a reshard: its children are read from their start */
        st = add_new_shards(f, err);
    if (st == TP_OK && f->stats.buffered_records && now_ms - f->first_add_ms >= f->buffer_ms)
        st = deliver(f, err);
    if (st != TP_OK)
        f->broken = 1; /* records read past may not be in the batch: start over */
    if (records)
        *records = total;
    return st;
}

int64_t tp_firehose_next_flush_ms(const tp_firehose *f, int64_t now_ms)
{
    if (!f || !f->stats.buffered_records)
        return INT64_MAX;
    int64_t left = f->first_add_ms + f->buffer_ms - now_ms;
    return left > 0 ? left : 0;
}

void tp_firehose_stats_get(const tp_firehose *f, tp_firehose_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!f)
        return;
    *out = f->stats;
    for (uint32_t i = 0; i < f->n; i++) {
        tp_stream_reader_stats rs;
        tp_stream_reader_stats_get(f->sh[i].reader, &rs);
        out->torn_tails += rs.torn_tails;
    }
}

const char *tp_firehose_last_key(const tp_firehose *f) { return f ? f->last_key : ""; }

/* ---- open and close ------------------------------------------------------- */

void tp_firehose_free(tp_firehose *f)
{
    if (!f)
        return;
    const tp_allocator *a = f->alloc;
    for (uint32_t i = 0; f->sh && i < f->n; i++)
        tp_stream_reader_free(f->sh[i].reader);
    tp__free(a, f->sh);
    tp_checkpoint_free(f->cp);
    tp_buf_dispose(&f->batch);
    tp_buf_dispose(&f->gz);
    tp_buf_dispose(&f->text);
    tp__free(a, f->zs);
    tp__free(a, f->level_buf);
    tp__free(a, f->prefix);
    tp__free(a, f->tmpdir);
    tp__free(a, f->state);
    tp__free(a, f->dir);
    tp__free(a, f);
}

static char *cat3(const tp_allocator *a, const char *x, const char *y, const char *z)
{
    size_t n = strlen(x) + strlen(y) + strlen(z) + 1;
    char *p = tp__malloc(a, n);
    if (p)
        snprintf(p, n, "%s%s%s", x, y, z);
    return p;
}

static tp_status check_options(const tp_firehose_options *o, tp_error *err)
{
    if (o->version != TP_FIREHOSE_OPTIONS_VERSION)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "version",
                            "firehose options version %u is unknown", o->version);
    if (o->buffer_bytes > TP_FIREHOSE_MAX_BUFFER_BYTES)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "buffer_bytes",
                            "buffer size %llu: at most 128 MiB, as Firehose",
                            (unsigned long long)o->buffer_bytes);
    if (o->buffer_ms < 0)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "buffer_ms",
                            "negative buffer interval");
    if (o->gzip_level < -1 || o->gzip_level > ISAL_DEF_MAX_LEVEL)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "gzip_level",
                            "gzip level %d: ISA-L has 0 to %d", o->gzip_level, ISAL_DEF_MAX_LEVEL);
    if (o->name && !name_ok(o->name))
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "name",
                            "delivery stream name '%.80s': 1 to 64 of [a-zA-Z0-9_.-]", o->name);
    if (o->prefix && (strlen(o->prefix) > 256 || strstr(o->prefix, "..") || o->prefix[0] == '/'))
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "prefix",
                            "prefix '%.80s': a relative key prefix of at most 256 bytes without "
                            "\"..\"",
                            o->prefix);
    return TP_OK;
}

tp_status tp_firehose_new(tp_firehose **out, tp_stream *stream, const char *destination,
                          const tp_firehose_options *opts, tp_error *err)
{
    if (!out || !stream || !destination)
        return tp_error__set(err, TP_E_INVALID, "tp_firehose_new: NULL argument");
    *out = NULL;
    tp_firehose_options o = TP_FIREHOSE_OPTIONS_INIT;
    if (opts)
        o = *opts;
    tp_status st = check_options(&o, err);
    if (st != TP_OK)
        return st;
    if (strncmp(destination, "file:", 5) != 0 || !destination[5])
        return tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, "destination",
                            "destination '%.100s': expected file:DIR (s3:// comes with the AWS "
                            "deployment)",
                            destination);
    const tp_allocator *a = o.alloc;
    tp_firehose *f = tp__calloc(a, 1, sizeof *f);
    if (!f)
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    f->alloc = a;
    f->stream = stream;
    f->flags = o.flags;
    f->buffer_bytes = o.buffer_bytes ? o.buffer_bytes : TP_FIREHOSE_DEFAULT_BUFFER_BYTES;
    f->buffer_ms = o.buffer_ms ? o.buffer_ms : TP_FIREHOSE_DEFAULT_BUFFER_MS;
    f->level = o.gzip_level < 0 ? 1 : o.gzip_level;
    tp__strlcpy(f->name, o.name ? o.name : TP_FIREHOSE_DEFAULT_NAME, sizeof f->name);
    tp_buf_init(&f->batch, a, 0);
    tp_buf_init(&f->gz, a, 0);
    tp_buf_init(&f->text, a, 0);
    batch_reset(f);
    size_t dl = strlen(destination + 5);
    while (dl > 1 && destination[5 + dl - 1] == '/')
        dl--;
    char *cp_uri = NULL;
    int pin = 0;
    tp_kinesis_shards ls = {0};
    static const uint32_t level_buf[] = {ISAL_DEF_LVL0_DEFAULT, ISAL_DEF_LVL1_DEFAULT,
                                         ISAL_DEF_LVL2_DEFAULT, ISAL_DEF_LVL3_DEFAULT};
    f->level_buf_size = level_buf[f->level];
    f->dir = tp_store__strndup(a, destination + 5, dl);
    f->prefix = tp_store__strndup(a, o.prefix ? o.prefix : TP_FIREHOSE_DEFAULT_PREFIX,
                                  strlen(o.prefix ? o.prefix : TP_FIREHOSE_DEFAULT_PREFIX));
    f->zs = tp__calloc(a, 1, sizeof *f->zs);
    /* Zeroed: ISA-L's deflate looks into its hash tables in this buffer
     * before it has written them (valgrind: conditional jumps on
     * uninitialised bytes); zeroed, every batch's output depends on its
     * records alone. */
    f->level_buf = tp__calloc(a, 1, f->level_buf_size ? f->level_buf_size : 1);
    if (!f->dir || !f->prefix || !f->zs || !f->level_buf ||
        !(f->state = cat3(a, f->dir, "/", ".tp-firehose")) ||
        !(f->tmpdir = cat3(a, f->state, "/", "tmp"))) {
        st = tp_error__set(err, TP_E_NOMEM, "out of memory");
        goto done;
    }
    if (!o.checkpoints) {
        size_t n = strlen(f->state) + strlen(f->name) + 24;
        if (!(cp_uri = tp__malloc(a, n))) {
            st = tp_error__set(err, TP_E_NOMEM, "out of memory");
            goto done;
        }
        snprintf(cp_uri, n, "file:%s/%s.checkpoint", f->state, f->name);
    }
    if ((st = tp_store__mkdirs(a, f->tmpdir, err)) != TP_OK)
        goto done;
    tp_store__clean_temps(a, NULL, f->tmpdir); /* a delivery killed midway */
    if ((st = tp_checkpoint_open(&f->cp, o.checkpoints ? o.checkpoints : cp_uri, a, err)) != TP_OK)
        goto done;
    /* A checkpoint belongs to one stream, not to another made since under
     * the same name. */
    const char *id = tp_stream_id(stream), *was = tp_checkpoint_string(f->cp, "stream_id");
    if (was && id[0] && strcmp(was, id) != 0) {
        st = tp_error__at(err, TP_E_STATE, TP_NO_OFFSET, "stream_id",
                          "the Firehose checkpoint was made on another stream (id %s; this one "
                          "is %s): was it deleted and made again? Remove the checkpoint to start "
                          "over",
                          was, id);
        goto done;
    }
    if (id[0] && (st = tp_checkpoint_set_string(f->cp, "stream_id", id, err)) != TP_OK)
        goto done;
    if ((st = tp_stream_list_shards(stream, &ls, err)) != TP_OK)
        goto done;
    f->sh = tp__calloc(a, ls.count ? ls.count : 1, sizeof *f->sh);
    if (!f->sh) {
        st = tp_error__set(err, TP_E_NOMEM, "out of memory");
        goto done;
    }
    f->n = (uint32_t)ls.count;
    for (uint32_t i = 0; i < f->n; i++)
        tp__strlcpy(f->sh[i].id, ls.shards[i].shard_id, sizeof f->sh[i].id);
    /* Before the readers: a pending object moves where they start. */
    if ((st = settle_pending(f, err)) != TP_OK)
        goto done;
    f->stats.records_delivered = tp_checkpoint_counter(f->cp, "records_delivered");
    f->stats.records_read = f->stats.records_delivered;
    f->stats.objects = tp_checkpoint_counter(f->cp, "objects");
    f->stats.bytes_delivered = tp_checkpoint_counter(f->cp, "bytes_delivered");
    f->stats.bytes_written = tp_checkpoint_counter(f->cp, "bytes_written");
    for (uint32_t i = 0; i < f->n && st == TP_OK; i++) {
        fh_shard *sh = &f->sh[i];
        const char *seq = tp_checkpoint_sequence(f->cp, sh->id);
        tp_stream_position pos = {(f->flags & TP_FIREHOSE_FROM_LATEST) ? TP_KINESIS_LATEST
                                                                       : TP_KINESIS_TRIM_HORIZON,
                                  0, 0, ""};
        if (seq) {
            pos.type = TP_KINESIS_AFTER_SEQUENCE_NUMBER;
            pos.sub_sequence_number = INT32_MAX; /* after the whole record */
            tp__strlcpy(pos.sequence_number, seq, sizeof pos.sequence_number);
        }
        st = tp_stream_reader_new(&sh->reader, stream, sh->id, &pos, err);
        if (st == TP_OK && !seq) {
            /* A LATEST start is pinned now: a restart must not skip what
             * arrives before the first object. */
            tp_stream_reader_position(sh->reader, &pos);
            if (pos.type == TP_KINESIS_AFTER_SEQUENCE_NUMBER &&
                (st = tp_checkpoint_set_sequence(f->cp, sh->id, pos.sequence_number, err)) == TP_OK)
                pin = 1;
        }
    }
    if (st == TP_OK && pin)
        st = tp_checkpoint_save(f->cp, err);
done:
    tp_kinesis_shards_dispose(&ls);
    tp__free(a, cp_uri);
    if (st != TP_OK) {
        tp_firehose_free(f);
        return st;
    }
    *out = f;
    return TP_OK;
}
