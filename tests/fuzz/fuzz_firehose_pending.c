/* Fuzz the local Firehose's start: the "pending" string of its checkpoint,
 * which tp_firehose_new parses to settle an object left by a crash
 * (settle_pending, commit in lib/pipeline/firehose.c).
 *
 * Each input is the pending text, saved through the public checkpoint API
 * at the default checkpoint path of a fresh destination directory, beside
 * counters and a shard position (inputs that are not UTF-8 or hold a NUL
 * cannot be set and are skipped). When the text starts with "key " and the
 * key is a safe relative path (no "..", not absolute, not in .tp-firehose)
 * and the input's length is even, an object is put there first, so that
 * the commit branch runs. tp_firehose_new must then succeed or fail with
 * TP_E_STATE or TP_E_INVALID and a message. After either, the checkpoint
 * file must still load. After a success, the handle's counters are the
 * checkpoint's and it has read nothing; one poll reads what the stream holds
 * after the checkpoint's positions without delivering; and the checkpoint
 * file holds no pending object and counts one more object exactly when the
 * pending key names something that exists, no counter having gone down. The
 * stream (two shards, a few records each) is made once per process.
 *
 * All that runs for one input in 16 (every input when replayed). Every
 * input is first parsed in memory (tp_firehose__pending_check, on a handle
 * made once over the same checkpoint without pending): it is taken or
 * refused with TP_E_STATE on "pending", and when the object is there a
 * start commits exactly what the parse takes. */
#include "tradepipe.h"

#include "pipeline/firehose_int.h"

/* Checkpoints read their file in 64 KiB steps into buffers ASan maps and
 * unmaps: kept across inputs instead. */
#include "block_cache.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

__attribute__((noreturn)) static void fail(const char *why)
{
    fprintf(stderr, "fuzz_firehose_pending: %s\n", why);
    abort();
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void rmtree(const char *dir) { nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

static const char *tmp_base(void)
{
    const char *base = getenv("TMPDIR");
    return base && *base ? base : "/tmp";
}

/* The stream, made once: two shards, records in both. */
static char g_dir[4096];
static tp_stream *g_stream;
static uint64_t g_records;

static void drop_stream(void)
{
    tp_stream_free(g_stream);
    g_stream = NULL;
    rmtree(g_dir);
}

static void make_stream(void)
{
    char uri[4200];
    snprintf(g_dir, sizeof g_dir, "%s/tpfuzz-fh-stream.XXXXXX", tmp_base());
    if (!mkdtemp(g_dir))
        fail("cannot make a temporary directory");
    snprintf(uri, sizeof uri, "file:%s", g_dir);
    tp_stream_options o = TP_STREAM_OPTIONS_INIT;
    o.flags = TP_STREAM_CREATE | TP_STREAM_WRITE;
    o.shard_count = 2;
    tp_stream *w = NULL;
    tp_error err;
    if (tp_stream_open(&w, uri, &o, &err) != TP_OK)
        fail("cannot create the stream");
    static const char *const keys[] = {"AAPL", "MSFT", "NVDA", "TSLA", "BRK.B", "a", "b", "c"};
    tp_kinesis_entry e[8];
    for (size_t i = 0; i < 8; i++) {
        e[i].data = tp_cursor_from_str(keys[i]);
        e[i].partition_key = keys[i];
        e[i].explicit_hash_key = NULL;
    }
    uint32_t failed = 1;
    if (tp_stream_put_records(w, e, 8, NULL, &failed, &err) != TP_OK || failed)
        fail("cannot put records");
    g_records = 8;
    tp_stream_free(w);
    o.flags = 0;
    if (tp_stream_open(&g_stream, uri, &o, &err) != TP_OK)
        fail("cannot open the stream");
    atexit(drop_stream);
}

static int key_safe(const char *k, size_t n)
{
    if (n == 0 || n > 1024 || k[0] == '/' || k[n - 1] == '/')
        return 0;
    for (size_t i = 0; i + 1 < n; i++)
        if (k[i] == '.' && k[i + 1] == '.')
            return 0;
    if (n >= 12 && memcmp(k, ".tp-firehose", 12) == 0)
        return 0;
    return memchr(k, '\r', n) == NULL;
}

/* Put a small object at dest/key, making its directories. */
static void put_object(const char *dest, const char *key, size_t n)
{
    char path[6000];
    if (strlen(dest) + 1 + n + 1 > sizeof path)
        return;
    snprintf(path, sizeof path, "%s/%.*s", dest, (int)n, key);
    for (char *p = path + strlen(dest) + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        if (write(fd, "object", 6) != 6)
            fail("cannot write an object");
        close(fd);
    }
}

static tp_checkpoint *load(const char *uri)
{
    tp_checkpoint *c = NULL;
    tp_error err;
    if (tp_checkpoint_open(&c, uri, &bc_allocator, &err) != TP_OK || !tp_checkpoint_loaded(c)) {
        fprintf(stderr, "%s\n", err.message);
        fail("the checkpoint does not load");
    }
    return c;
}

/* The checkpoint a crash would leave: counters, a position, and `pending`
 * (NULL: none). 0, or -1 when `pending` cannot be set (not UTF-8). */
static int save_checkpoint(const char *cp_uri, const char *pending)
{
    tp_checkpoint *c = NULL;
    tp_error err;
    if (tp_checkpoint_open(&c, cp_uri, &bc_allocator, &err) != TP_OK)
        fail("cannot open a new checkpoint");
    if (pending && tp_checkpoint_set_string(c, "pending", pending, &err) != TP_OK) {
        tp_checkpoint_free(c);
        return -1;
    }
    if (tp_checkpoint_set_counter(c, "records_delivered", 5, &err) != TP_OK ||
        tp_checkpoint_set_counter(c, "objects", 1, &err) != TP_OK ||
        tp_checkpoint_set_counter(c, "bytes_delivered", 100, &err) != TP_OK ||
        tp_checkpoint_set_counter(c, "bytes_written", 50, &err) != TP_OK ||
        tp_checkpoint_set_sequence(c, "shardId-000000000001", "1", &err) != TP_OK ||
        tp_checkpoint_save(c, &err) != TP_OK)
        fail("cannot save the checkpoint");
    tp_checkpoint_free(c);
    return 0;
}

/* A handle over the same checkpoint with nothing pending, made once: the
 * parse of every input runs on it in memory. */
static char g_fh_dir[4096];
static tp_firehose *g_fh;

static void drop_firehose(void)
{
    tp_firehose_free(g_fh);
    g_fh = NULL;
    rmtree(g_fh_dir);
}

static void make_firehose(void)
{
    char uri[4200], cp_uri[4300];
    snprintf(g_fh_dir, sizeof g_fh_dir, "%s/tpfuzz-fh-parse.XXXXXX", tmp_base());
    if (!mkdtemp(g_fh_dir))
        fail("cannot make a temporary directory");
    snprintf(uri, sizeof uri, "file:%s", g_fh_dir);
    snprintf(cp_uri, sizeof cp_uri, "file:%s/.tp-firehose/tradepipe.checkpoint", g_fh_dir);
    save_checkpoint(cp_uri, NULL);
    tp_firehose_options fo = TP_FIREHOSE_OPTIONS_INIT;
    tp_error err;
    if (tp_firehose_new(&g_fh, g_stream, uri, &fo, &err) != TP_OK) {
        fprintf(stderr, "%s\n", err.message);
        fail("cannot make the parsing handle");
    }
    atexit(drop_firehose);
}

static uint64_t input_hash(const uint8_t *d, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ d[i]) * 1099511628211ULL;
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (memchr(data, 0, size))
        return 0; /* a C string cannot hold it */
    if (!g_stream)
        make_stream();
    if (!g_fh)
        make_firehose();
    char *text = malloc(size + 1);
    if (!text)
        fail("out of memory");
    memcpy(text, data, size);
    text[size] = '\0';

    /* Every input: the parse a start makes when the object is there, in
     * memory. */
    tp_error perr;
    memset(&perr, 0, sizeof perr);
    tp_status parsed = tp_firehose__pending_check(g_fh, text, &perr);
    if (parsed != TP_OK &&
        (parsed != TP_E_STATE || perr.message[0] == '\0' || strcmp(perr.field, "pending") != 0))
        fail("a pending text is refused otherwise than with TP_E_STATE on \"pending\"");
    if (parsed == TP_OK && strncmp(text, "key ", 4) != 0)
        fail("a pending text without its key line is taken");

    /* One input in 16 (every input when replayed: TP_FUZZ_REPLAY, set by
     * replay.c), chosen by its bytes: a start on a destination in files.
     * That costs a directory, a checkpoint saved and loaded, a poll of the
     * stream: ~1,800 inputs a second with it for every input. */
    static int replay = -1;
    if (replay < 0)
        replay = getenv("TP_FUZZ_REPLAY") != NULL;
    if (!replay && input_hash(data, size) % 16 != 0) {
        free(text);
        return 0;
    }

    char dest[4096], uri[4200], cp_uri[4300];
    snprintf(dest, sizeof dest, "%s/tpfuzz-fh.XXXXXX", tmp_base());
    if (!mkdtemp(dest)) {
        free(text);
        return 0;
    }
    snprintf(uri, sizeof uri, "file:%s", dest);
    snprintf(cp_uri, sizeof cp_uri, "file:%s/.tp-firehose/tradepipe.checkpoint", dest);

    tp_error err;
    if (save_checkpoint(cp_uri, text) != 0)
        goto done; /* not UTF-8 */

    size_t kl = strcspn(text + (size >= 4 ? 4 : size), "\n");
    if (size >= 4 && !memcmp(text, "key ", 4) && size % 2 == 0 && key_safe(text + 4, kl))
        put_object(dest, text + 4, kl);
    /* What settle_pending looks at: dest/KEY (up to the first newline). */
    int there = 0;
    if (size >= 4 && !memcmp(text, "key ", 4)) {
        char *path = malloc(strlen(dest) + kl + 2);
        if (!path)
            fail("out of memory");
        snprintf(path, strlen(dest) + kl + 2, "%s/%.*s", dest, (int)kl, text + 4);
        struct stat sb;
        there = stat(path, &sb) == 0;
        free(path);
    }

    tp_firehose *f = NULL;
    memset(&err, 0, sizeof err);
    tp_firehose_options fo = TP_FIREHOSE_OPTIONS_INIT;
    fo.alloc = &bc_allocator;
    tp_status st = tp_firehose_new(&f, g_stream, uri, &fo, &err);
    /* With the object there, the start commits what the parse in memory
     * took, and refuses what it refused; only a counter pushed past 2^63-1
     * can stop a commit the parse took. (A start can still fail after the
     * commit: a committed position the stream cannot start from is
     * TP_E_INVALID on "sequence_number".) */
    if (there && st == TP_OK && parsed != TP_OK)
        fail("a start committed a pending object the parse refused");
    if (there && st != TP_OK && parsed == TP_OK && !strcmp(err.field, "pending") &&
        !strstr(err.message, "2^63-1")) {
        fprintf(stderr, "%s\n", err.message);
        fail("a start refused a pending object the parse took");
    }
    if (st != TP_OK) {
        if (f != NULL || err.message[0] == '\0')
            fail("a failed tp_firehose_new leaves a handle or says nothing");
        if (st != TP_E_STATE && st != TP_E_INVALID) {
            fprintf(stderr, "status %d: %s\n", (int)st, err.message);
            fail("tp_firehose_new fails with an unexpected status");
        }
        tp_checkpoint_free(load(cp_uri));
        goto done;
    }
    tp_firehose_stats fs, fs2;
    tp_firehose_stats_get(f, &fs);
    if (fs.records_read != fs.records_delivered || fs.buffered_records || fs.buffered_bytes ||
        fs.lag_ms || fs.torn_tails)
        fail("a new handle's stats are not those of one that has read nothing");
    if (tp_firehose_last_key(f)[0] != '\0' || tp_firehose_next_flush_ms(f, 0) != INT64_MAX)
        fail("a new handle has delivered or buffered something");

    /* One round: reads after the checkpoint's positions, delivers nothing. */
    size_t got = 0;
    if (tp_firehose_poll(f, 0, &got, &err) != TP_OK) {
        fprintf(stderr, "%s\n", err.message);
        fail("the first poll fails");
    }
    tp_firehose_stats_get(f, &fs2);
    if (got > g_records || fs2.buffered_records != got ||
        fs2.records_read != fs2.records_delivered + got || fs2.objects != fs.objects ||
        (got == 0) != (tp_firehose_next_flush_ms(f, 0) == INT64_MAX))
        fail("the first poll's counters do not add up");
    tp_firehose_free(f); /* releases the checkpoint */

    tp_checkpoint *after = load(cp_uri);
    if (tp_checkpoint_string(after, "pending"))
        fail("a pending object is left after a successful start");
    uint64_t objects = tp_checkpoint_counter(after, "objects");
    if (objects != (there ? 2u : 1u))
        fail("the object count does not say whether the pending object was committed");
    uint64_t rd = tp_checkpoint_counter(after, "records_delivered"),
             bd = tp_checkpoint_counter(after, "bytes_delivered"),
             bw = tp_checkpoint_counter(after, "bytes_written");
    const char *s1 = tp_checkpoint_sequence(after, "shardId-000000000001");
    if (!there &&
        (rd != 5 || bd != 100 || bw != 50 ||
         tp_checkpoint_sequence(after, "shardId-000000000000") || !s1 || strcmp(s1, "1") != 0))
        fail("a dropped pending object changed the checkpoint");
    if (rd < 5 || bd < 100 || bw < 50)
        fail("committing a pending object moved a counter backwards");
    if (fs.objects != objects || fs.records_delivered != rd || fs.bytes_delivered != bd ||
        fs.bytes_written != bw)
        fail("the handle's counters are not the checkpoint's");
    tp_checkpoint_free(after);
done:
    rmtree(dest);
    free(text);
    return 0;
}
