/* Fuzz the checkpoint loader (tp_checkpoint_open of "file:PATH").
 *
 * The input is also parsed here with jansson and checked against what the
 * header promises a checkpoint is, which says how the load must end: TP_OK,
 * TP_E_PARSE (not JSON), TP_E_UNSUPPORTED (version) or TP_E_STATE naming
 * the key at fault, in the loader's order. A checkpoint that loads must
 * give back every shard's sequence number, counter, string and the state
 * through the getters; the same content set through the setters on a new
 * checkpoint must save to the same bytes as the loaded one saved; and that
 * file must load back to the same content and save to the same bytes
 * again. While open, a checkpoint cannot be opened a second time. */
#include "tradepipe.h"

/* Checkpoints read their file in 64 KiB steps into buffers ASan maps and
 * unmaps: kept across inputs instead. */
#include "block_cache.h"

#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

__attribute__((noreturn)) static void fail(const char *why)
{
    fprintf(stderr, "fuzz_checkpoint: %s\n", why);
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

static void rmtree(const char *dir) { nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS); }

static char g_dir[4096];

static void drop_dir(void) { rmtree(g_dir); }

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Standard padded base64 (no whitespace), decoded here rather than with
 * tp_base64_decode: the oracle is not the code the loader runs. The
 * decoded bytes into `out`
 * (room for len / 4 * 3). Returns the decoded length, or -1. */
static long b64_decode(const char *s, size_t len, uint8_t *out)
{
    if (len % 4)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < len; i += 4) {
        int last = i + 4 == len;
        int pad = last && s[i + 3] == '=' ? (s[i + 2] == '=' ? 2 : 1) : 0;
        uint32_t w = 0;
        for (int k = 0; k < 4; k++) {
            int v = k >= 4 - pad ? 0 : b64val((unsigned char)s[i + (size_t)k]);
            if (v < 0)
                return -1;
            w = w << 6 | (uint32_t)v;
        }
        out[n++] = (uint8_t)(w >> 16);
        if (pad < 2)
            out[n++] = (uint8_t)(w >> 8);
        if (pad < 1)
            out[n++] = (uint8_t)w;
    }
    return (long)n;
}

static int name_ok(const char *k)
{
    size_t n = strlen(k);
    return n >= 1 && n <= TP_CHECKPOINT_NAME_MAX;
}

static int sequence_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= TP_CHECKPOINT_SEQ_MAX || (n > 1 && s[0] == '0'))
        return 0;
    return strspn(s, "0123456789") == n;
}

/* What loading `root` must give, the key at fault in *field. */
static tp_status expect(json_t *root, const char **field)
{
    const char *k;
    json_t *v;
    *field = "";
    if (!json_is_object(root))
        return TP_E_STATE;
    const char *format = json_string_value(json_object_get(root, "format"));
    *field = "format";
    if (!format || strcmp(format, "tradepipe-checkpoint") != 0)
        return TP_E_STATE;
    json_t *ver = json_object_get(root, "version");
    *field = "version";
    if (!json_is_integer(ver) || json_integer_value(ver) != 1)
        return TP_E_UNSUPPORTED;
    json_t *shards = json_object_get(root, "shards");
    *field = "shards";
    if (!json_is_object(shards))
        return TP_E_STATE;
    json_object_foreach(shards, k, v)
    {
        size_t n = strlen(k);
        if (n < 1 || n >= TP_CHECKPOINT_SHARD_MAX || !json_is_string(v) ||
            !sequence_ok(json_string_value(v)))
            return TP_E_STATE;
    }
    json_t *counters = json_object_get(root, "counters");
    *field = "counters";
    if (!json_is_object(counters))
        return TP_E_STATE;
    json_object_foreach(counters, k, v)
    {
        if (!name_ok(k) || !json_is_integer(v) || json_integer_value(v) < 0)
            return TP_E_STATE;
    }
    json_t *strings = json_object_get(root, "strings");
    *field = "strings";
    if (!json_is_object(strings))
        return TP_E_STATE;
    json_object_foreach(strings, k, v)
    {
        if (!name_ok(k) || !json_is_string(v))
            return TP_E_STATE;
    }
    json_t *state = json_object_get(root, "state");
    *field = "state";
    if (!json_is_string(state))
        return TP_E_STATE;
    size_t sl = json_string_length(state);
    uint8_t *tmp = malloc(sl / 4 * 3 + 1);
    if (!tmp)
        fail("out of memory");
    long dn = b64_decode(json_string_value(state), sl, tmp);
    free(tmp);
    if (dn < 0)
        return TP_E_STATE;
    *field = "";
    return TP_OK;
}

/* Does `c` hold exactly what `root` (a valid checkpoint) says? Shards,
 * counters and strings named in it; the state. */
static void check_content(const tp_checkpoint *c, json_t *root)
{
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(root, "shards"), k, v)
    {
        const char *got = tp_checkpoint_sequence(c, k);
        if (!got || strcmp(got, json_string_value(v)) != 0)
            fail("a shard's sequence number differs");
    }
    json_object_foreach(json_object_get(root, "counters"), k, v)
    {
        if (tp_checkpoint_counter(c, k) != (uint64_t)json_integer_value(v))
            fail("a counter differs");
    }
    json_object_foreach(json_object_get(root, "strings"), k, v)
    {
        const char *got = tp_checkpoint_string(c, k);
        if (!got || strcmp(got, json_string_value(v)) != 0)
            fail("a string differs");
    }
    json_t *state = json_object_get(root, "state");
    size_t sl = json_string_length(state);
    uint8_t *want = malloc(sl / 4 * 3 + 1);
    if (!want)
        fail("out of memory");
    long wn = b64_decode(json_string_value(state), sl, want);
    tp_cursor got = tp_checkpoint_state(c);
    if (wn < 0 || got.len != (size_t)wn || (wn && memcmp(got.ptr, want, (size_t)wn) != 0))
        fail("the state differs");
    free(want);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail("cannot open a saved checkpoint");
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    for (;;) {
        if (!b)
            fail("out of memory");
        n += fread(b + n, 1, cap - n, f);
        if (n < cap)
            break;
        cap *= 2;
        b = realloc(b, cap);
    }
    fclose(f);
    *len = n;
    return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A directory made once (a directory per input cost a third of an
     * input's time): the checkpoints' lock files stay there, as they stay
     * beside any checkpoint; the two checkpoint files go after each input. */
    static char dir[4096];
    char path[4200], copy[4200], uri[4300], uri2[4300];
    if (!dir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/tpfuzz-cp.XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(dir))
            fail("cannot make a temporary directory");
        snprintf(g_dir, sizeof g_dir, "%s", dir);
        atexit(drop_dir);
    }
    snprintf(path, sizeof path, "%s/input.checkpoint", dir);
    snprintf(copy, sizeof copy, "%s/copy.checkpoint", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
        fail("cannot write the input");
    close(fd);
    snprintf(uri, sizeof uri, "file:%s", path);
    snprintf(uri2, sizeof uri2, "file:%s", copy);

    json_error_t je;
    json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
    const char *field = "";
    tp_status want = root ? expect(root, &field) : TP_E_PARSE;

    static int not_set;
    tp_checkpoint *c = (tp_checkpoint *)(void *)&not_set, *d = NULL, *e = NULL;
    tp_error err;
    memset(&err, 0, sizeof err);
    tp_status st = tp_checkpoint_open(&c, uri, &bc_allocator, &err);
    if (st != want) {
        fprintf(stderr, "status %d, expected %d (%s)\n", (int)st, (int)want, err.message);
        fail("the load ends otherwise than the checkpoint format says");
    }
    if (st != TP_OK) {
        if (c != NULL || err.message[0] == '\0')
            fail("a failed load leaves a handle or says nothing");
        if (st != TP_E_PARSE && strcmp(err.field, field) != 0) {
            fprintf(stderr, "field '%s', expected '%s'\n", err.field, field);
            fail("a refused checkpoint names another key");
        }
        goto done;
    }
    if (!tp_checkpoint_loaded(c))
        fail("a checkpoint loaded from a file says it was not");
    check_content(c, root);
    tp_checkpoint *again = NULL;
    if (tp_checkpoint_open(&again, uri, &bc_allocator, &err) != TP_E_STATE || again)
        fail("a checkpoint opens twice at once");

    /* The same content through the setters, on a new checkpoint. */
    if (tp_checkpoint_open(&d, uri2, &bc_allocator, &err) != TP_OK || tp_checkpoint_loaded(d))
        fail("a new checkpoint does not start empty");
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(root, "shards"), k, v)
    {
        if (tp_checkpoint_set_sequence(d, k, json_string_value(v), &err) != TP_OK)
            fail("a loaded sequence number cannot be set");
    }
    json_object_foreach(json_object_get(root, "counters"), k, v)
    {
        if (tp_checkpoint_set_counter(d, k, (uint64_t)json_integer_value(v), &err) != TP_OK)
            fail("a loaded counter cannot be set");
    }
    json_object_foreach(json_object_get(root, "strings"), k, v)
    {
        if (tp_checkpoint_set_string(d, k, json_string_value(v), &err) != TP_OK)
            fail("a loaded string cannot be set");
    }
    if (tp_checkpoint_set_state(d, tp_checkpoint_state(c), &err) != TP_OK)
        fail("a loaded state cannot be set");
    check_content(d, root);

    size_t n1, n2, n3;
    if (tp_checkpoint_save(c, &err) != TP_OK || tp_checkpoint_save(d, &err) != TP_OK)
        fail("cannot save");
    char *s1 = slurp(path, &n1), *s2 = slurp(copy, &n2);
    if (n1 != n2 || memcmp(s1, s2, n1) != 0)
        fail("the same content saves to different bytes");
    if (n1 == 0 || s1[n1 - 1] != '\n' || memchr(s1, '\n', n1) != s1 + n1 - 1)
        fail("a saved checkpoint is not one line");
    tp_checkpoint_free(d); /* releases its lock */
    d = NULL;

    /* Load what was saved: the same content, saved again the same bytes. */
    json_t *saved = json_loadb(s1, n1, JSON_REJECT_DUPLICATES, &je);
    if (!saved || expect(saved, &field) != TP_OK)
        fail("a saved checkpoint is not a valid checkpoint");
    if (tp_checkpoint_open(&e, uri2, &bc_allocator, &err) != TP_OK)
        fail("a saved checkpoint does not load");
    check_content(e, root);
    check_content(e, saved);
    if (tp_checkpoint_save(e, &err) != TP_OK)
        fail("cannot save");
    char *s3 = slurp(copy, &n3);
    if (n3 != n1 || memcmp(s3, s1, n1) != 0)
        fail("a reloaded checkpoint saves to other bytes");
    json_decref(saved);
    free(s1);
    free(s2);
    free(s3);
done:
    if (st != TP_OK)
        c = NULL;
    tp_checkpoint_free(c);
    tp_checkpoint_free(d);
    tp_checkpoint_free(e);
    json_decref(root);
    unlink(path);
    unlink(copy);
    return 0;
}
