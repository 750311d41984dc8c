/* Floor 5: checkpoints (see include/tradepipe/checkpoint.h): shard
 * positions, state, counters and strings, saved whole and atomically. */
#include "tradepipe/checkpoint.h"
#include "store_io_int.h"

#include <jansson.h>
#include <stdio.h>
#include <unistd.h>

struct tp_checkpoint {
    const tp_allocator *alloc;
    char *path;
    int lock_fd; /* flock on .BASENAME.lock beside the file, held while open */
    int loaded;
    json_t *shards;   /* shard id -> sequence string */
    json_t *counters; /* name -> integer */
    json_t *strings;  /* name -> string */
    tp_buf state;
};

static int name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    return n >= 1 && n <= TP_CHECKPOINT_NAME_MAX;
}

static int sequence_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= TP_CHECKPOINT_SEQ_MAX || (n > 1 && s[0] == '0'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int shard_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n >= 1 && n < TP_CHECKPOINT_SHARD_MAX;
}

static tp_status bad(tp_error *err, const char *path, const char *field, const char *why)
{
    return tp_error__at(err, TP_E_STATE, TP_NO_OFFSET, field, "checkpoint %s: %s", path, why);
}

/* Check a loaded object whole before taking any of it. */
static tp_status load(tp_checkpoint *c, json_t *root, tp_error *err)
{
    const char *p = c->path;
    const char *key;
    json_t *v;
    if (!json_is_object(root))
        return bad(err, p, "", "not a JSON object");
    const char *format = json_string_value(json_object_get(root, "format"));
    if (!format || strcmp(format, "tradepipe-checkpoint") != 0)
        return bad(err, p, "format", "\"format\" is not \"tradepipe-checkpoint\"");
    json_t *ver = json_object_get(root, "version");
    if (!json_is_integer(ver) || json_integer_value(ver) != 1)
        return tp_error__at(err, TP_E_UNSUPPORTED, TP_NO_OFFSET, "version",
                            "checkpoint %s: version is not 1 (made by a newer version?)", p);
    json_t *shards = json_object_get(root, "shards");
    json_t *counters = json_object_get(root, "counters");
    json_t *strings = json_object_get(root, "strings");
    json_t *state = json_object_get(root, "state");
    if (!json_is_object(shards))
        return bad(err, p, "shards", "\"shards\" is not an object");
    json_object_foreach(shards, key, v)
    {
        if (!shard_ok(key) || !json_is_string(v) || !sequence_ok(json_string_value(v)))
            return bad(err, p, "shards", "a shard's sequence number is not a decimal string");
    }
    if (!json_is_object(counters))
        return bad(err, p, "counters", "\"counters\" is not an object");
    json_object_foreach(counters, key, v)
    {
        if (!name_ok(key) || !json_is_integer(v) || json_integer_value(v) < 0)
            return bad(err, p, "counters", "a counter is not an integer >= 0");
    }
    if (!json_is_object(strings))
        return bad(err, p, "strings", "\"strings\" is not an object");
    json_object_foreach(strings, key, v)
    {
        if (!name_ok(key) || !json_is_string(v))
            return bad(err, p, "strings", "a string value is not a string");
    }
    if (!json_is_string(state))
        return bad(err, p, "state", "\"state\" is not a string");
    tp_buf_clear(&c->state);
    tp_error e2;
    if (tp_base64_decode(&c->state,
                         tp_cursor_make(json_string_value(state), json_string_length(state)),
                         &e2) != TP_OK)
        return tp_error__at(err, e2.code == TP_E_NOMEM ? TP_E_NOMEM : TP_E_STATE, e2.offset,
                            "state", "checkpoint %s: \"state\" is not base64: %s", p, e2.message);
    json_decref(c->shards);
    json_decref(c->counters);
    json_decref(c->strings);
    c->shards = json_incref(shards);
    c->counters = json_incref(counters);
    c->strings = json_incref(strings);
    c->loaded = 1;
    return TP_OK;
}

/* One process at a time per checkpoint: two would each resume from it and
 * repeat each other's effects. The lock file stays (like writer.lock). */
static tp_status lock_take(tp_checkpoint *c, tp_error *err)
{
    const char *slash = strrchr(c->path, '/');
    size_t dl = slash ? (size_t)(slash - c->path) + 1 : 0, n = strlen(c->path) + 8;
    char *lp = tp__malloc(c->alloc, n);
    if (!lp)
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    snprintf(lp, n, "%.*s.%s.lock", (int)dl, c->path, c->path + dl);
    tp_status st = TP_OK;
    /* Its directory may not exist yet: made as the checkpoint's would be. */
    char *dir = dl > 1 ? tp_store__strndup(c->alloc, c->path, dl - 1) : NULL;
    if (dl > 1 && (!dir || (st = tp_store__mkdirs(c->alloc, dir, err)) != TP_OK)) {
        if (!dir)
            st = tp_error__set(err, TP_E_NOMEM, "out of memory");
        goto done;
    }
    char holder[32];
    st = tp_store__lock(lp, 1, &c->lock_fd, holder, err);
    if (st == TP_E_STATE)
        tp_error__set(err, TP_E_STATE,
                      "checkpoint %s is in use by process %s (%s): one reader per checkpoint",
                      c->path, holder[0] ? holder : "(unknown)", lp);
done:
    tp__free(c->alloc, dir);
    tp__free(c->alloc, lp);
    return st;
}

tp_status tp_checkpoint_open(tp_checkpoint **out, const char *uri, const tp_allocator *alloc,
                             tp_error *err)
{
    if (!out || !uri)
        return tp_error__set(err, TP_E_INVALID, "tp_checkpoint_open: NULL argument");
    *out = NULL;
    if (strncmp(uri, "file:", 5) != 0 || !uri[5])
        return tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, "checkpoints",
                            "checkpoints '%.100s': expected file:PATH", uri);
    tp_checkpoint *c = tp__calloc(alloc, 1, sizeof *c);
    if (!c)
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    c->alloc = alloc;
    c->lock_fd = -1;
    tp_buf_init(&c->state, alloc, TP_CHECKPOINT_STATE_MAX);
    tp_buf text;
    tp_buf_init(&text, alloc, TP_CHECKPOINT_STATE_MAX / 2 * 3);
    tp_status st = TP_OK;
    c->path = tp_store__strndup(alloc, uri + 5, strlen(uri + 5));
    c->shards = json_object();
    c->counters = json_object();
    c->strings = json_object();
    if (!c->path || !c->shards || !c->counters || !c->strings) {
        st = tp_error__set(err, TP_E_NOMEM, "out of memory");
        goto done;
    }
    if ((st = lock_take(c, err)) != TP_OK)
        goto done;
    tp_store__clean_temps(alloc, c->path, NULL); /* ours: we hold the lock */
    st = tp_store__read_file(c->path, &text, err);
    if (st == TP_E_NOT_FOUND) {
        st = TP_OK; /* nothing saved yet */
        goto done;
    }
    if (st != TP_OK)
        goto done;
    json_error_t je;
    json_t *root = json_loadb((const char *)text.ptr, text.len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        st = tp_error__at(err, TP_E_PARSE, (uint64_t)je.position, NULL,
                          "checkpoint %s: not JSON: %s", c->path, je.text);
        goto done;
    }
    st = load(c, root, err);
    json_decref(root);
done:
    tp_buf_dispose(&text);
    if (st != TP_OK) {
        tp_checkpoint_free(c);
        return st;
    }
    *out = c;
    return TP_OK;
}

int tp_checkpoint_loaded(const tp_checkpoint *c) { return c ? c->loaded : 0; }

const char *tp_checkpoint_sequence(const tp_checkpoint *c, const char *shard_id)
{
    if (!c || !shard_id)
        return NULL;
    return json_string_value(json_object_get(c->shards, shard_id));
}

tp_status tp_checkpoint_set_sequence(tp_checkpoint *c, const char *shard_id,
                                     const char *sequence_number, tp_error *err)
{
    if (!c)
        return tp_error__set(err, TP_E_INVALID, "tp_checkpoint_set_sequence: NULL checkpoint");
    if (!shard_ok(shard_id))
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "shard_id",
                            "a shard id has 1 to %d bytes", TP_CHECKPOINT_SHARD_MAX - 1);
    if (!sequence_ok(sequence_number))
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "sequence_number",
                            "'%.60s' is not a sequence number (decimal digits, no leading zero)",
                            sequence_number ? sequence_number : "(null)");
    json_t *v = json_string(sequence_number);
    if (!v || json_object_set_new(c->shards, shard_id, v) != 0)
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    return TP_OK;
}

uint64_t tp_checkpoint_counter(const tp_checkpoint *c, const char *name)
{
    if (!c || !name)
        return 0;
    json_t *v = json_object_get(c->counters, name);
    return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

tp_status tp_checkpoint_set_counter(tp_checkpoint *c, const char *name, uint64_t value,
                                    tp_error *err)
{
    if (!c || !name_ok(name))
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "name",
                            "a counter name has 1 to %d bytes", TP_CHECKPOINT_NAME_MAX);
    if (value > (uint64_t)INT64_MAX)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, name, "counter %s over 2^63-1", name);
    json_t *v = json_integer((json_int_t)value);
    if (!v || json_object_set_new(c->counters, name, v) != 0)
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    return TP_OK;
}

const char *tp_checkpoint_string(const tp_checkpoint *c, const char *name)
{
    if (!c || !name)
        return NULL;
    return json_string_value(json_object_get(c->strings, name));
}

tp_status tp_checkpoint_set_string(tp_checkpoint *c, const char *name, const char *value,
                                   tp_error *err)
{
    if (!c || !name_ok(name))
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "name",
                            "a string name has 1 to %d bytes", TP_CHECKPOINT_NAME_MAX);
    if (!value) {
        json_object_del(c->strings, name);
        return TP_OK;
    }
    json_t *v = json_string(value); /* NULL for text that is not UTF-8 */
    if (!v)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, name, "string %s is not valid UTF-8",
                            name);
    if (json_object_set_new(c->strings, name, v) != 0)
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    return TP_OK;
}

tp_cursor tp_checkpoint_state(const tp_checkpoint *c)
{
    return c ? tp_buf_cursor(&c->state) : tp_cursor_make("", 0);
}

tp_status tp_checkpoint_set_state(tp_checkpoint *c, tp_cursor state, tp_error *err)
{
    if (!c)
        return tp_error__set(err, TP_E_INVALID, "tp_checkpoint_set_state: NULL checkpoint");
    tp_buf_clear(&c->state);
    return tp_buf_append(&c->state, state.ptr, state.len, err);
}

tp_status tp_checkpoint_save(tp_checkpoint *c, tp_error *err)
{
    if (!c)
        return tp_error__set(err, TP_E_INVALID, "tp_checkpoint_save: NULL checkpoint");
    tp_status st = TP_OK;
    tp_buf b64;
    tp_buf_init(&b64, c->alloc, 0);
    char *text = NULL;
    json_t *root = NULL;
    if ((st = tp_base64_encode(&b64, tp_buf_cursor(&c->state), err)) != TP_OK)
        goto done;
    root = json_pack("{s:s, s:i, s:O, s:O, s:O, s:s%}", "format", "tradepipe-checkpoint", "version",
                     1, "shards", c->shards, "counters", c->counters, "strings", c->strings,
                     "state", b64.ptr ? (const char *)b64.ptr : "", b64.len);
    text = root ? json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
    if (!text) {
        st = tp_error__set(err, TP_E_NOMEM, "out of memory");
        goto done;
    }
    size_t n = strlen(text);
    text[n] = '\n'; /* one line; the NUL is not written */
    st = tp_store__write_atomic(c->alloc, c->path, text, n + 1, NULL, err);
    if (st == TP_OK)
        c->loaded = 1;
done:
    free(text);
    json_decref(root);
    tp_buf_dispose(&b64);
    return st;
}

void tp_checkpoint_free(tp_checkpoint *c)
{
    if (!c)
        return;
    json_decref(c->shards);
    json_decref(c->counters);
    json_decref(c->strings);
    tp_buf_dispose(&c->state);
    if (c->lock_fd >= 0)
        close(c->lock_fd); /* releases the lock */
    tp__free(c->alloc, c->path);
    tp__free(c->alloc, c);
}
