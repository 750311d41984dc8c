/* tp-lambda-bootstrap: the consumer as an AWS Lambda custom runtime
 * (provided.al2023), fed by a Kinesis event source mapping. Deployed renamed
 * to `bootstrap` at the root of the function's zip.
 *
 * A thin program on the public API: the Lambda Runtime API over the
 * library's HTTP client (plain http to the local endpoint), the Kinesis
 * event parser (tradepipe/lambda.h), KPL de-aggregation, the record
 * decoder, the engine, the positions store (dynamodb://), the trade archive
 * (s3://) and a DynamoDB item per shard holding the shard's engine state.
 *
 * Runtime API (2018-06-01, AWS Lambda Developer Guide, "Using the Lambda
 * runtime API for custom runtimes"): GET runtime/invocation/next blocks until
 * an event comes (no timeout: the process may be frozen in between); its
 * headers Lambda-Runtime-Aws-Request-Id and Lambda-Runtime-Deadline-Ms (Unix
 * ms); POST runtime/invocation/ID/response with the answer, or
 * runtime/invocation/ID/error, or runtime/init/error before the first /next,
 * errors as {"errorMessage":..,"errorType":..} with the header
 * Lambda-Runtime-Function-Error-Type. */
#include "tp_cli.h"

#include <time.h>

static const char usage[] =
    "usage: tp-lambda-bootstrap            (run by AWS Lambda, as `bootstrap`)\n"
    "       tp-lambda-bootstrap --help\n"
    "\n"
    "The consumer as a Lambda custom runtime (provided.al2023, the binary\n"
    "renamed `bootstrap` at the root of the zip) behind a Kinesis event source\n"
    "mapping, which must have FunctionResponseTypes=[\"ReportBatchItemFailures\"]\n"
    "(without it, the records after a failed one would be dropped) and\n"
    "ParallelizationFactor 1 (the state's sequence orders the whole shard:\n"
    "batches of one shard in parallel would take each other's records for\n"
    "duplicates). Each symbol's records must be in one shard at a time\n"
    "(partition key = symbol, as tp-producer sends them). It loops on the\n"
    "Runtime API (AWS_LAMBDA_RUNTIME_API): one invocation is one batch of one\n"
    "shard.\n"
    "\n"
    "Per invocation, in order:\n"
    "  1. the shard (eventID before the ':') and its state: the item of $STATE_TABLE\n"
    "     with key shard, read consistently: the engine state of the shard's\n"
    "     symbols and the last applied user sequence number (the Kinesis sequence\n"
    "     number followed by the 7-digit sub-sequence number of the user record\n"
    "     in its KPL aggregate, 0000000 for a plain record);\n"
    "  2. each record's data (base64), de-aggregated when it is a KPL aggregate,\n"
    "     each user record decoded as a trade (lenient: symbol, price and volume\n"
    "     must be valid). User records at or before the state's sequence are\n"
    "     skipped (a redelivery); a symbol the shard's state does not hold yet\n"
    "     starts from its item in the positions table when there is one (after a\n"
    "     reshard, the parent shard's last state);\n"
    "  3. the ticks through the engine in order; each completed trade is put to\n"
    "     S3 at once (completed-trades/SYMBOL/<key>.json, a key derived from the\n"
    "     trade: a retry overwrites it);\n"
    "  4. the positions of the symbols that changed (one item per symbol), then\n"
    "     the shard's state, written on condition that its sequence is still the\n"
    "     one read in 1 (or that there was none): of two invocations of one\n"
    "     shard at once, one wins and the other's batch is retried.\n"
    "Answer: {\"batchItemFailures\":[]} when the whole batch took effect. A record\n"
    "that cannot be applied (data not base64, a broken aggregate, a user record\n"
    "that is not a trade, a tick the engine refuses) is poisoned: the records\n"
    "before it are made durable and the answer names it,\n"
    "{\"batchItemFailures\":[{\"itemIdentifier\":\"<its sequenceNumber>\"}]}, so\n"
    "Lambda retries from there (until the mapping's retry limits send it to its\n"
    "on-failure destination). A DynamoDB or S3 failure, or the deadline coming\n"
    "close, names the first record whose effects are not durable (the first of\n"
    "the batch when nothing was saved). An event that is not a Kinesis batch is\n"
    "an invocation error (Runtime.InvalidEvent), and so is a state that cannot\n"
    "be restored (Runtime.StateMismatch: corrupt, or made with other engine\n"
    "options). A redelivered batch changes nothing.\n"
    "\n"
    "One CloudWatch embedded-metric-format line per batch on stdout (namespace\n"
    "tradepipe, dimension Shard, as tp-consumer --metrics): Records, Ticks,\n"
    "Signals, Trades, RealizedPnl,\n"
    "Duplicates, Poisoned, ItemFailures, IteratorAgeMilliseconds (now minus the last\n"
    "record's arrival), BatchLatencyMilliseconds. Diagnostics go to stderr.\n"
    "\n";

static const char usage_env[] =
    "Environment:\n"
    "  DYNAMODB_TABLE        positions table (dynamodb://TABLE: key symbol; created\n"
    "                        when missing, if the role may)        (required)\n"
    "  S3_BUCKET             trades bucket (must exist)            (required)\n"
    "  S3_PREFIX             key prefix of the trades              (default none)\n"
    "  STATE_TABLE           shard states, key shard (S); must exist\n"
    "                                                   (default DYNAMODB_TABLE-shards)\n"
    "  TP_WINDOW             reference = highest of the previous W ticks (20)\n"
    "  TP_DROP_PCT           buy more than P% under the reference (2)\n"
    "  TP_TAKE_PROFIT_PCT    sell more than P% over the entry (5)\n"
    "  TP_STOP_LOSS_PCT      also sell more than P% under the entry (off)\n"
    "  TP_ORDER_SIZE         shares per buy (100)\n"
    "  TP_MAX_SYMBOLS        refuse ticks of new symbols past N (100000)\n"
    "  TP_DEADLINE_MARGIN_MS stop applying records this long before the deadline\n"
    "                        (default: a quarter of the invocation's time, 200 ms\n"
    "                        to 10 s), so that what was applied can be saved\n"
    "  AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_S3, credentials:\n"
    "                        as every AWS SDK reads them (Lambda sets them)\n"
    "Engine options must stay the same for the life of the tables: a state made\n"
    "with other options is refused. A bad or missing setting is reported to\n"
    "runtime/init/error (Runtime.BadConfig), and so is a table or bucket that\n"
    "cannot be opened (Runtime.StoreUnavailable); then the program exits 1.\n"
    "A shard's state is one DynamoDB item (400 KB at most): about a thousand\n"
    "symbols per shard with the default window.\n";

#define API_PATH        "/2018-06-01/runtime"
#define SUB_DIGITS      7        /* as tp_stream_record.user_sequence_number */
#define SUB_LIMIT       10000000 /* 10^SUB_DIGITS */
#define SEQ_DIGITS_MAX  (TP_SEQUENCE_MAX - 1 - SUB_DIGITS)
#define STATE_ITEM_MAX  (400 * 1024 - 1024) /* DynamoDB's item limit, room for the rest */
#define POST_TIMEOUT_MS 10000u
#define NEXT_RETRIES    10

/* The event parser checks sequence numbers and shards against what fits here. */
_Static_assert(SEQ_DIGITS_MAX == TP_LAMBDA_SEQUENCE_DIGITS_MAX &&
                   TP_SHARD_MAX == TP_LAMBDA_SHARD_MAX,
               "tradepipe/lambda.h and the bootstrap disagree on sizes");

/* ---- configuration and the long-lived handles ------------------------------ */

typedef struct runtime {
    char api[256]; /* host:port */
    tp_http_client *http;
    tp_engine_options opts;
    char positions_uri[300], trades_uri[1100], table[256], state_table[256];
    int64_t margin_ms; /* -1: a quarter of each invocation's time */
    tp_dynamodb *ddb;  /* the state table and positions look-ups */
    tp_positions_store *positions;
    tp_trade_archive *trades;
    tp_kpl_reader *kpl;
    tp_buf body; /* scratch: answers */
} runtime;

/* Fill `msg` and return -1: a reason for runtime/init/error. */
static int why(char *msg, size_t cap, const char *fmt, ...) TP_PRINTF(3, 4);
static int why(char *msg, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
    return -1;
}

/* A library error with its HTTP status and AWS code, for a message. */
static const char *err_text(char out[400], const tp_error *e)
{
    int n = snprintf(out, 400, "%s", e->message[0] ? e->message : tp_strerror(e->code));
    if (n > 0 && n < 400 && (e->http_status || e->aws_code[0]))
        snprintf(out + n, 400 - (size_t)n, " (%s%d%s%s)", e->http_status ? "HTTP " : "",
                 e->http_status, e->aws_code[0] ? ", " : "", e->aws_code);
    return out;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* A DynamoDB table name: 3 to 255 of [A-Za-z0-9_.-]. */
static int table_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 3 || n > 255)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '.' || *s == '-'))
            return 0;
    return 1;
}

static int env_pct(const char *name, int64_t *out, int *set, char *msg, size_t cap)
{
    const char *v = env(name);
    *set = v != NULL;
    if (!v)
        return 0;
    if (tp_price_parse(out, tp_cursor_from_str(v), NULL) != TP_OK || *out < 0)
        return why(msg, cap, "%s='%s' is not a percentage (a decimal >= 0, such as 2.5)", name, v);
    return 0;
}

static int env_int(const char *name, int64_t min, int64_t max, int64_t *out, int *set, char *msg,
                   size_t cap)
{
    const char *v = env(name);
    *set = v != NULL;
    if (!v)
        return 0;
    if (tp_int_parse(out, tp_cursor_from_str(v), NULL) != TP_OK || *out < min || *out > max)
        return why(msg, cap, "%s='%s' is not an integer in %lld..%lld", name, v, (long long)min,
                   (long long)max);
    return 0;
}

/* Read the settings; -1 with `msg` on a bad or missing one. */
static int config(runtime *R, char *msg, size_t cap)
{
    const char *table = env("DYNAMODB_TABLE"), *bucket = env("S3_BUCKET");
    const char *prefix = env("S3_PREFIX"), *state = env("STATE_TABLE");
    if (!table)
        return why(msg, cap, "DYNAMODB_TABLE is not set (the positions table)");
    if (!table_name_ok(table))
        return why(msg, cap,
                   "DYNAMODB_TABLE='%s' is not a DynamoDB table name (3 to 255 of "
                   "A-Z a-z 0-9 _ . -)",
                   table);
    if (!bucket)
        return why(msg, cap, "S3_BUCKET is not set (the bucket of completed trades)");
    if (strchr(bucket, '/'))
        return why(msg, cap,
                   "S3_BUCKET='%s' is a bucket name, without '/' (S3_PREFIX takes "
                   "the key prefix)",
                   bucket);
    snprintf(R->table, sizeof R->table, "%s", table);
    if (state)
        snprintf(R->state_table, sizeof R->state_table, "%s", state);
    else if (snprintf(R->state_table, sizeof R->state_table, "%s-shards", table) >=
             (int)sizeof R->state_table)
        R->state_table[0] = '\0';
    if (!table_name_ok(R->state_table))
        return why(msg, cap,
                   "STATE_TABLE='%s' is not a DynamoDB table name (3 to 255 of "
                   "A-Z a-z 0-9 _ . -)",
                   state ? state : "(DYNAMODB_TABLE-shards)");
    if (prefix && strlen(prefix) > 512)
        return why(msg, cap, "S3_PREFIX is longer than 512 bytes");
    snprintf(R->positions_uri, sizeof R->positions_uri, "dynamodb://%s", table);
    snprintf(R->trades_uri, sizeof R->trades_uri, "s3://%s/%s", bucket, prefix ? prefix : "");

    tp_engine_options_init(&R->opts, TP_ENGINE_OPTIONS_VERSION);
    int64_t x = 0;
    int set = 0;
    if (env_int("TP_WINDOW", 1, TP_ENGINE_MAX_WINDOW, &x, &set, msg, cap))
        return -1;
    if (set)
        R->opts.window = (uint32_t)x;
    if (env_pct("TP_DROP_PCT", &R->opts.drop_pct_e8, &set, msg, cap) ||
        env_pct("TP_TAKE_PROFIT_PCT", &R->opts.take_profit_pct_e8, &set, msg, cap) ||
        env_pct("TP_STOP_LOSS_PCT", &R->opts.stop_loss_pct_e8, &set, msg, cap))
        return -1;
    if (set)
        R->opts.flags |= TP_ENGINE_STOP_LOSS;
    if (env_int("TP_ORDER_SIZE", 1, INT64_MAX, &R->opts.order_size, &set, msg, cap))
        return -1;
    if (env_int("TP_MAX_SYMBOLS", 1, UINT32_MAX, &x, &set, msg, cap))
        return -1;
    if (set)
        R->opts.max_symbols = (uint32_t)x;
    R->margin_ms = -1;
    if (env_int("TP_DEADLINE_MARGIN_MS", 0, 900000, &R->margin_ms, &set, msg, cap))
        return -1;
    if (!set)
        R->margin_ms = -1;
    /* The engine checks what the parsers cannot (a drop over 100%). */
    tp_engine *e = NULL;
    tp_error err;
    if (tp_engine_new(&e, &R->opts, &err) != TP_OK) {
        static const struct {
            const char *field, *var;
        } vars[] = {{"window", "TP_WINDOW"},
                    {"drop_pct", "TP_DROP_PCT"},
                    {"take_profit_pct", "TP_TAKE_PROFIT_PCT"},
                    {"stop_loss_pct", "TP_STOP_LOSS_PCT"},
                    {"order_size", "TP_ORDER_SIZE"},
                    {"max_symbols", "TP_MAX_SYMBOLS"}};
        const char *var = err.field;
        for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
            if (strstr(err.field, vars[i].field))
                var = vars[i].var;
        return why(msg, cap, "%s: %s", var, err.message);
    }
    tp_engine_free(e);
    return 0;
}

/* Open the stores and check the state table; -1 with `msg`. */
static int open_stores(runtime *R, char *msg, size_t cap)
{
    tp_error err;
    char t[400];
    tp_aws_client_options o = TP_AWS_CLIENT_OPTIONS_INIT;
    if (tp_dynamodb_new(&R->ddb, &o, &err) != TP_OK)
        return why(msg, cap, "DynamoDB client: %s", err_text(t, &err));
    tp_ddb_table_info info;
    tp_status st = tp_dynamodb_describe_table(R->ddb, R->state_table, &info, &err);
    if (st == TP_E_NOT_FOUND)
        return why(msg, cap, "STATE_TABLE %s does not exist (create it with the key shard, type S)",
                   R->state_table);
    if (st == TP_OK && (strcmp(info.hash_name, "shard") != 0 || info.range_name[0]))
        return why(msg, cap, "STATE_TABLE %s has the key %s%s%s, not shard (S) alone",
                   R->state_table, info.hash_name, info.range_name[0] ? " + " : "",
                   info.range_name);
    /* A role that may read and write items but not describe tables: the
     * first GetItem will tell. */
    if (st != TP_OK && strcmp(err.aws_code, "AccessDeniedException") != 0)
        return why(msg, cap, "STATE_TABLE %s: %s", R->state_table, err_text(t, &err));
    if (tp_positions_store_open(&R->positions, R->positions_uri, NULL, &err) != TP_OK)
        return why(msg, cap, "DYNAMODB_TABLE %s: %s", R->table, err_text(t, &err));
    if (tp_trade_archive_open(&R->trades, R->trades_uri, NULL, &err) != TP_OK)
        return why(msg, cap, "S3_BUCKET/S3_PREFIX %s: %s", R->trades_uri, err_text(t, &err));
    if (tp_kpl_reader_new(&R->kpl, NULL, &err) != TP_OK)
        return why(msg, cap, "%s", err.message);
    return 0;
}

/* ---- the Runtime API ------------------------------------------------------- */

/* Length of the UTF-8 sequence at `p` (well-formed: no overlong forms,
 * surrogates or code points past U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p)
{
    unsigned c = p[0];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    if ((n == 2 && c < 0xC2) || (n == 3 && c == 0xE0 && p[1] < 0xA0) ||
        (n == 3 && c == 0xED && p[1] >= 0xA0) || (n == 4 && c == 0xF0 && p[1] < 0x90) ||
        (n == 4 && (c > 0xF4 || (c == 0xF4 && p[1] >= 0x90))))
        return 0;
    return n;
}

/* Append `s` as a JSON string. Messages may quote the event, cut at a byte
 * count: a byte that does not start a whole UTF-8 sequence becomes U+FFFD. */
static tp_status json_str(tp_buf *b, const char *s)
{
    tp_status st = tp_buf_append(b, "\"", 1, NULL);
    for (const unsigned char *p = (const unsigned char *)s; *p && st == TP_OK;) {
        size_t n = utf8_len(p);
        if (*p == '"' || *p == '\\')
            st = tp_buf_appendf(b, NULL, "\\%c", *p);
        else if (*p < 0x20)
            st = tp_buf_appendf(b, NULL, "\\u%04x", *p);
        else if (n)
            st = tp_buf_append(b, p, n, NULL);
        else
            st = tp_buf_append_str(b, "\\ufffd", NULL);
        p += n ? n : 1;
    }
    return st == TP_OK ? tp_buf_append(b, "\"", 1, NULL) : st;
}

/* POST `body` to runtime/PATH; `error_type` adds the error header. 0 when
 * Lambda took it (2xx); -1 on a transport failure (the runtime is gone);
 * 1 on another HTTP status (logged). */
static int post(runtime *R, const char *path, const char *error_type, tp_cursor body)
{
    char url[512], hdr[128];
    snprintf(url, sizeof url, "http://%s" API_PATH "/%s", R->api, path);
    tp_http_header h[2] = {{"Content-Type", "application/json"},
                           {"Lambda-Runtime-Function-Error-Type", hdr}};
    if (error_type)
        snprintf(hdr, sizeof hdr, "%s", error_type);
    tp_http_request req = TP_HTTP_REQUEST_INIT;
    req.method = "POST";
    req.url = url;
    req.headers = h;
    req.n_headers = error_type ? 2 : 1;
    req.body = body.ptr;
    req.body_len = body.len;
    req.timeout_ms = POST_TIMEOUT_MS;
    tp_http_response resp;
    tp_http_response_init(&resp, NULL);
    tp_error err;
    tp_status st = tp_http_send(R->http, &req, &resp, &err);
    int rc = 0;
    if (st != TP_OK) {
        fprintf(stderr, "tp-lambda-bootstrap: POST %s: %s\n", path, err.message);
        rc = -1;
    } else if (resp.status < 200 || resp.status > 299) {
        fprintf(stderr, "tp-lambda-bootstrap: POST %s: HTTP %d: %.*s\n", path, resp.status,
                (int)(resp.body.len > 300 ? 300 : resp.body.len),
                resp.body.ptr ? (const char *)resp.body.ptr : "");
        rc = 1;
    }
    tp_http_response_dispose(&resp);
    return rc;
}

/* POST an error document to runtime/PATH. */
static int post_error(runtime *R, const char *path, const char *type, const char *message)
{
    fprintf(stderr, "tp-lambda-bootstrap: %s: %s\n", type, message);
    tp_buf_clear(&R->body);
    tp_status st = tp_buf_append_str(&R->body, "{\"errorMessage\":", NULL);
    if (st == TP_OK)
        st = json_str(&R->body, message);
    if (st == TP_OK)
        st = tp_buf_append_str(&R->body, ",\"errorType\":", NULL);
    if (st == TP_OK)
        st = json_str(&R->body, type);
    if (st == TP_OK)
        st = tp_buf_append_str(&R->body, "}", NULL);
    if (st != TP_OK)
        return -1;
    return post(R, path, type, tp_buf_cursor(&R->body));
}

typedef struct invocation_meta {
    char request_id[129];
    int64_t deadline_ms; /* Unix ms; 0: none given */
    int64_t received_ms;
} invocation_meta;

/* A request id goes into a URL path: only what Lambda's ids are made of. */
static int request_id_ok(tp_cursor id)
{
    if (!id.len || id.len > 128)
        return 0;
    for (size_t i = 0; i < id.len; i++) {
        uint8_t c = id.ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

/* GET runtime/invocation/next into `resp`. 0: an event; -1: give up. */
static int next_event(runtime *R, tp_http_response *resp, invocation_meta *m)
{
    char url[512];
    snprintf(url, sizeof url, "http://%s" API_PATH "/invocation/next", R->api);
    for (int attempt = 0;; attempt++) {
        tp_http_request req = TP_HTTP_REQUEST_INIT;
        req.url = url;
        /* No timeout: between events the process is frozen, and a wait may
         * last as long as the function lives. */
        req.timeout_ms = UINT32_MAX;
        tp_error err;
        tp_http_response_dispose(resp);
        tp_status st = tp_http_send(R->http, &req, resp, &err);
        if (st != TP_OK) {
            fprintf(stderr, "tp-lambda-bootstrap: GET invocation/next: %s\n", err.message);
            return -1;
        }
        tp_cursor id = {NULL, 0}, dl = {NULL, 0};
        if (resp->status == 200 &&
            tp_http_response_header(resp, "Lambda-Runtime-Aws-Request-Id", &id) == TP_OK &&
            request_id_ok(id)) {
            memcpy(m->request_id, id.ptr, id.len);
            m->request_id[id.len] = '\0';
            m->deadline_ms = 0;
            if (tp_http_response_header(resp, "Lambda-Runtime-Deadline-Ms", &dl) == TP_OK &&
                tp_int_parse(&m->deadline_ms, dl, NULL) != TP_OK)
                m->deadline_ms = 0;
            /* Lambda-Runtime-Trace-Id is left alone: nothing in this process
             * traces with X-Ray, so _X_AMZN_TRACE_ID would have no reader. */
            m->received_ms = tp_time_now_us() / 1000;
            return 0;
        }
        fprintf(stderr, "tp-lambda-bootstrap: GET invocation/next: HTTP %d%s\n", resp->status,
                resp->status == 200 ? " without a valid Lambda-Runtime-Aws-Request-Id" : "");
        if (attempt + 1 >= NEXT_RETRIES)
            return -1;
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* ---- one invocation ------------------------------------------------------- */

/* One Kinesis record of the batch. */
typedef struct krec {
    const char *seq; /* sequenceNumber (in the event's JSON) */
    size_t seq_len;
    int64_t arrival_ms;  /* approximateArrivalTimestamp, -1 when absent */
    size_t first, count; /* its ticks in inv.ticks */
    int aggregated;      /* a KPL aggregate */
} krec;

/* One user record to apply. */
typedef struct utick {
    uint32_t rec;   /* index in inv.recs */
    uint32_t sym;   /* index in inv.syms */
    uint64_t sub;   /* sub-sequence number */
    size_t sym_off; /* in inv.arena */
    uint32_t sym_len;
    int64_t price_e8, ts_us;
} utick;

typedef struct symref {
    tp_cursor name; /* in inv.arena */
    int applied;    /* a tick of it applied in the pass that counts */
} symref;

#define STOP_NONE   0
#define STOP_POISON 1 /* a record that cannot be applied */
#define STOP_STORE  2 /* S3 refused a trade */
#define STOP_TIME   3 /* the deadline came close */

/* What a pass through the engine did. */
typedef struct pass {
    size_t stop;    /* the first record not applied (n: none) */
    int reason;     /* STOP_* */
    int partial;    /* some ticks of record `stop` were applied */
    size_t first;   /* the first record with a tick past the state (n: none) */
    uint64_t ticks; /* applied */
    uint64_t dups;  /* refused by the engine as already applied */
    uint64_t buys, sells;
    int64_t pnl_e8;
    char last[TP_SEQUENCE_MAX]; /* the last user sequence processed ("": none) */
    char why[400];
} pass;

typedef struct inv {
    tp_lambda_kinesis_event *event;
    char shard[TP_SHARD_MAX];
    krec *recs;
    size_t n;
    utick *ticks;
    size_t nticks, ticks_cap;
    symref *syms;
    size_t nsyms;
    tp_buf arena;                 /* symbol names */
    tp_buf data;                  /* scratch: a record's bytes */
    tp_buf state;                 /* the state loaded (engine state bytes) */
    tp_buf prelude;               /* symbols restored from the positions table, as engine state */
    char loaded[TP_SEQUENCE_MAX]; /* the state's sequence ("": no state) */
    int have_state;
    size_t poison; /* the first record that cannot be applied (n: none) */
    char poison_why[400];
    uint64_t skipped; /* user records at or before the state's sequence */
    uint64_t user_records;
} inv;

static void inv_dispose(inv *I)
{
    tp_lambda_kinesis_event_free(I->event);
    free(I->recs);
    free(I->ticks);
    free(I->syms);
    tp_buf_dispose(&I->arena);
    tp_buf_dispose(&I->data);
    tp_buf_dispose(&I->state);
    tp_buf_dispose(&I->prelude);
}

/* Decimal digit strings without leading zeros, compared as numbers. */
static int seq_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    if (an != bn)
        return an < bn ? -1 : 1;
    int c = memcmp(a, b, an);
    return c < 0 ? -1 : c > 0;
}

/* The user sequence number: the record's sequence number, then `sub` in 7 digits. */
static void user_seq(char out[TP_SEQUENCE_MAX], const krec *r, uint64_t sub)
{
    memcpy(out, r->seq, r->seq_len);
    snprintf(out + r->seq_len, TP_SEQUENCE_MAX - r->seq_len, "%0*llu", SUB_DIGITS,
             (unsigned long long)sub);
}

/* Is user record `sub` of `r` at or before the loaded sequence? */
static int already(const inv *I, const krec *r, uint64_t sub)
{
    if (!I->loaded[0])
        return 0;
    char u[TP_SEQUENCE_MAX];
    user_seq(u, r, sub);
    return seq_cmp(u, strlen(u), I->loaded, strlen(I->loaded)) <= 0;
}

/* Check the event's shape and collect its records. 0; -1 with `msg`; -2 no memory. */
static int parse_event(inv *I, const uint8_t *body, size_t len, char *msg, size_t cap)
{
    tp_error err;
    tp_status st = tp_lambda_kinesis_event_parse(&I->event, tp_cursor_make(body, len), NULL, &err);
    if (st == TP_E_NOMEM)
        return -2;
    if (st != TP_OK)
        return why(msg, cap, "%s", err.message);
    I->n = tp_lambda_kinesis_event_count(I->event);
    snprintf(I->shard, sizeof I->shard, "%s", tp_lambda_kinesis_event_shard(I->event));
    I->recs = calloc(I->n ? I->n : 1, sizeof *I->recs);
    if (!I->recs)
        return -2;
    for (size_t i = 0; i < I->n; i++) {
        tp_lambda_kinesis_record r;
        tp_lambda_kinesis_event_record(I->event, i, &r);
        I->recs[i].seq = (const char *)r.sequence.ptr;
        I->recs[i].seq_len = r.sequence.len;
        I->recs[i].arrival_ms = r.arrival_ms;
    }
    return 0;
}

/* Read the shard's state item. 0; 1 a store failure (`msg`); -1 a state that
 * cannot be used (`msg`). */
static int load_state(runtime *R, inv *I, char *msg, size_t cap)
{
    tp_error err;
    char t[400];
    tp_ddb_value *key = NULL, *item = NULL;
    int rc = 0;
    if (tp_ddb_m_new(&key, &err) != TP_OK ||
        tp_ddb_m_set_s(key, "shard", I->shard, &err) != TP_OK) {
        rc = why(msg, cap, "%s", err.message);
        goto done;
    }
    tp_status st = tp_dynamodb_get_item(R->ddb, R->state_table, key, 1, &item, &err);
    if (st == TP_E_NOT_FOUND && !err.aws_code[0])
        goto done; /* a shard never seen */
    if (st != TP_OK) {
        why(msg, cap, "reading the state of %s in %s: %s", I->shard, R->state_table,
            err_text(t, &err));
        rc = 1;
        goto done;
    }
    tp_cursor seq;
    const tp_ddb_value *sv = tp_ddb_m_get(item, "sequence"), *bv = tp_ddb_m_get(item, "state");
    if (tp_ddb_value_s(sv, &seq) != TP_OK || seq.len >= TP_SEQUENCE_MAX || !bv ||
        tp_ddb_value_b(bv, &I->state, &err) != TP_OK) {
        rc = why(msg, cap, "the state item of %s in %s has no sequence (S) or state (B)", I->shard,
                 R->state_table);
        goto done;
    }
    memcpy(I->loaded, seq.ptr, seq.len);
    I->loaded[seq.len] = '\0';
    int ok = seq.len && I->loaded[0] != '0';
    for (size_t j = 0; ok && j < seq.len; j++)
        ok = I->loaded[j] >= '0' && I->loaded[j] <= '9';
    if (!ok) {
        rc = why(msg, cap, "the state item of %s in %s: sequence '%.80s' is not a sequence number",
                 I->shard, R->state_table, I->loaded);
        goto done;
    }
    I->have_state = 1;
done:
    tp_ddb_value_free(key);
    tp_ddb_value_free(item);
    return rc;
}

/* Append a tick for user record `sub` of record `i`. 0; -1 out of memory. */
static int add_tick(inv *I, uint32_t i, uint64_t sub, const tp_trade *t)
{
    if (I->nticks == I->ticks_cap) {
        size_t cap = I->ticks_cap ? 2 * I->ticks_cap : 256;
        utick *n = realloc(I->ticks, cap * sizeof *n);
        if (!n)
            return -1;
        I->ticks = n;
        I->ticks_cap = cap;
    }
    utick *u = &I->ticks[I->nticks++];
    u->rec = i;
    u->sym = 0;
    u->sub = sub;
    u->sym_off = I->arena.len;
    u->sym_len = t->symbol_len;
    u->price_e8 = t->price_e8;
    /* the lenient decoder parses the time when the timestamp reads as one */
    u->ts_us = (t->flags & TP_TRADE_TS_PARSED) ? t->ts_us : TP_ENGINE_NO_TIME;
    return tp_buf_append(&I->arena, t->symbol, t->symbol_len, NULL) == TP_OK ? 0 : -1;
}

/* Decode user record `sub` of record `i`; 0, 1 poisoned (poison_why set), -1 no memory. */
static int decode_user(inv *I, uint32_t i, uint64_t sub, tp_cursor data, int aggregated)
{
    const krec *r = &I->recs[i];
    I->user_records++;
    if (already(I, r, sub)) {
        I->skipped++;
        return 0;
    }
    tp_trade t;
    tp_error err;
    tp_status st = tp_record_decode(&t, data, TP_DECODE_LENIENT, &err);
    if (st == TP_E_NOMEM)
        return -1;
    if (st != TP_OK) {
        char where[64] = "";
        if (aggregated)
            snprintf(where, sizeof where, " user record %llu", (unsigned long long)sub);
        snprintf(I->poison_why, sizeof I->poison_why, "%s: byte %llu: %s",
                 where[0] ? where + 1 : "data",
                 (unsigned long long)(err.offset == TP_NO_OFFSET ? 0 : err.offset), err.message);
        return 1;
    }
    return add_tick(I, i, sub, &t);
}

/* Decode every record up to the first poisoned one (I->poison). 0; -1 no memory. */
static int decode_records(runtime *R, inv *I)
{
    I->poison = I->n;
    for (uint32_t i = 0; i < I->n; i++) {
        krec *r = &I->recs[i];
        r->first = I->nticks;
        size_t arena_len = I->arena.len;
        tp_lambda_kinesis_record kr;
        tp_lambda_kinesis_event_record(I->event, i, &kr);
        const char *b64 = (const char *)kr.data.ptr;
        tp_error err;
        int rc = 0;
        tp_buf_clear(&I->data);
        if (!b64) {
            snprintf(I->poison_why, sizeof I->poison_why, "no kinesis.data string");
            rc = 1;
        } else if (tp_base64_decode(&I->data, tp_cursor_from_str(b64), &err) != TP_OK) {
            if (err.code == TP_E_NOMEM)
                return -1;
            snprintf(I->poison_why, sizeof I->poison_why, "kinesis.data is not base64: %s",
                     err.message);
            rc = 1;
        } else if (tp_kpl_is_aggregated(tp_buf_cursor(&I->data))) {
            size_t count = 0;
            r->aggregated = 1;
            tp_status st = tp_kpl_reader_begin(R->kpl, tp_buf_cursor(&I->data), &count, &err);
            if (st == TP_E_NOMEM)
                return -1;
            if (st != TP_OK) {
                snprintf(I->poison_why, sizeof I->poison_why,
                         "a broken KPL aggregate: byte %llu: %s%s%s",
                         (unsigned long long)(err.offset == TP_NO_OFFSET ? 0 : err.offset),
                         err.message, err.field[0] ? ", field " : "", err.field);
                rc = 1;
            } else if (count > SUB_LIMIT) {
                snprintf(I->poison_why, sizeof I->poison_why,
                         "a KPL aggregate of %zu user records (at most %d)", count, SUB_LIMIT);
                rc = 1;
            }
            tp_kpl_record u;
            while (!rc && tp_kpl_reader_next(R->kpl, &u) == TP_OK)
                rc = decode_user(I, i, u.sub_sequence, u.data, 1);
        } else {
            rc = decode_user(I, i, 0, tp_buf_cursor(&I->data), 0);
        }
        if (rc < 0)
            return -1;
        if (rc > 0 && already(I, r, SUB_LIMIT - 1)) {
            /* Wholly at or before the state (its last possible user record
             * included): whatever it holds, it was dealt with before. */
            I->user_records++;
            I->skipped++;
            rc = 0;
        }
        if (rc > 0) {
            /* A record is applied whole or not at all. */
            I->nticks = r->first;
            I->arena.len = arena_len;
            I->poison = i;
            break;
        }
        r->count = I->nticks - r->first;
    }
    return 0;
}

static const uint8_t *arena_at(const inv *I, size_t off) { return I->arena.ptr + off; }

static inv *sort_ctx; /* qsort has no payload */
static int cmp_tick_sym(const void *a, const void *b)
{
    const utick *x = &sort_ctx->ticks[*(const size_t *)a],
                *y = &sort_ctx->ticks[*(const size_t *)b];
    size_t n = x->sym_len < y->sym_len ? x->sym_len : y->sym_len;
    int c = memcmp(arena_at(sort_ctx, x->sym_off), arena_at(sort_ctx, y->sym_off), n);
    if (c)
        return c;
    return x->sym_len < y->sym_len ? -1 : x->sym_len > y->sym_len;
}

/* The distinct symbols of the ticks, in byte order; each tick's index into
 * them. 0; -1 no memory. */
static int index_symbols(inv *I)
{
    size_t *ord = malloc((I->nticks ? I->nticks : 1) * sizeof *ord);
    I->syms = calloc(I->nticks ? I->nticks : 1, sizeof *I->syms);
    if (!ord || !I->syms) {
        free(ord);
        return -1;
    }
    for (size_t k = 0; k < I->nticks; k++)
        ord[k] = k;
    sort_ctx = I;
    qsort(ord, I->nticks, sizeof *ord, cmp_tick_sym);
    for (size_t k = 0; k < I->nticks; k++) {
        utick *u = &I->ticks[ord[k]];
        if (!I->nsyms || cmp_tick_sym(&ord[k], &ord[k - 1]) != 0) {
            I->syms[I->nsyms].name = tp_cursor_make(arena_at(I, u->sym_off), u->sym_len);
            I->nsyms++;
        }
        u->sym = (uint32_t)(I->nsyms - 1);
    }
    free(ord);
    return 0;
}

/* The engine for this batch: the shard's state, then each symbol it lacks
 * from the positions table (a symbol whose earlier ticks were in another
 * shard, before a reshard). 0; 1 a store failure (`msg`); -1 a state that
 * cannot be restored (`msg`); -2 no memory. */
static int restore(runtime *R, inv *I, tp_engine **out, int lookups, char *msg, size_t cap)
{
    tp_error err;
    char t[400];
    tp_engine *e = NULL;
    int rc = 0;
    tp_ddb_value *key = NULL, *item = NULL;
    tp_buf snap;
    tp_buf_init(&snap, NULL, 0);
    if (tp_engine_new(&e, &R->opts, &err) != TP_OK) {
        rc = err.code == TP_E_NOMEM ? -2 : why(msg, cap, "engine: %s", err.message);
        goto done;
    }
    tp_status st = cli_engine_restore(e, tp_buf_cursor(&I->state), &err);
    if (st == TP_OK)
        st = cli_engine_restore(e, tp_buf_cursor(&I->prelude), &err);
    if (st != TP_OK) {
        rc = st == TP_E_NOMEM
                 ? -2
                 : why(msg, cap, "the state of %s in %s cannot be restored: %s%s%s%s", I->shard,
                       R->state_table, err.message, err.field[0] ? " (parameter " : "", err.field,
                       err.field[0] ? ")" : "");
        goto done;
    }
    for (size_t s = 0; lookups && s < I->nsyms && !rc; s++) {
        tp_position pos;
        if (tp_engine_position(e, I->syms[s].name, &pos, NULL) == TP_OK)
            continue;
        char sym[TP_SYMBOL_MAX];
        memcpy(sym, I->syms[s].name.ptr, I->syms[s].name.len);
        sym[I->syms[s].name.len] = '\0';
        tp_ddb_value_free(key);
        tp_ddb_value_free(item);
        key = item = NULL;
        if (tp_ddb_m_new(&key, &err) != TP_OK ||
            tp_ddb_m_set_s(key, "symbol", sym, &err) != TP_OK) {
            rc = err.code == TP_E_NOMEM ? -2 : why(msg, cap, "symbol %s: %s", sym, err.message);
            break;
        }
        st = tp_dynamodb_get_item(R->ddb, R->table, key, 1, &item, &err);
        if (st == TP_E_NOT_FOUND && !err.aws_code[0])
            continue; /* a symbol never seen */
        if (st != TP_OK) {
            why(msg, cap, "reading the position of %s in %s: %s", sym, R->table, err_text(t, &err));
            rc = 1;
            break;
        }
        const tp_ddb_value *bv = tp_ddb_m_get(item, "state");
        tp_buf_clear(&snap);
        if (!bv || tp_ddb_value_b(bv, &snap, &err) != TP_OK) {
            rc = why(msg, cap, "the position of %s in %s has no state (B)", sym, R->table);
            break;
        }
        st = tp_engine_restore(e, tp_buf_cursor(&snap), &err);
        if (st != TP_OK) {
            rc = st == TP_E_NOMEM
                     ? -2
                     : why(msg, cap,
                           "the position of %s in %s cannot be restored: "
                           "%s%s%s%s",
                           sym, R->table, err.message, err.field[0] ? " (parameter " : "",
                           err.field, err.field[0] ? ")" : "");
            break;
        }
        /* Kept, so that a rebuilt engine starts from the same place. */
        uint8_t len[4] = {(uint8_t)snap.len, (uint8_t)(snap.len >> 8), (uint8_t)(snap.len >> 16),
                          (uint8_t)(snap.len >> 24)};
        if (tp_buf_append(&I->prelude, len, 4, NULL) != TP_OK ||
            tp_buf_append(&I->prelude, snap.ptr, snap.len, NULL) != TP_OK)
            rc = -2;
    }
done:
    tp_buf_dispose(&snap);
    tp_ddb_value_free(key);
    tp_ddb_value_free(item);
    if (rc) {
        tp_engine_free(e);
        e = NULL;
    }
    *out = e;
    return rc;
}

/* Apply the ticks of records [0, upto) to `e`, stopping early at a refused
 * tick, a trade S3 refuses (`live` only: trades are put and the deadline is
 * watched) or the deadline. Returns 0, or -1 out of memory. */
static int apply_records(runtime *R, inv *I, tp_engine *e, size_t upto, int live,
                         int64_t stop_at_ms, pass *p)
{
    memset(p, 0, sizeof *p);
    p->stop = upto;
    p->first = I->n;
    for (size_t s = 0; s < I->nsyms; s++)
        I->syms[s].applied = 0;
    for (size_t i = 0; i < upto; i++) {
        const krec *r = &I->recs[i];
        if (!r->count)
            continue;
        if (live && stop_at_ms && tp_time_now_us() / 1000 >= stop_at_ms) {
            p->stop = i;
            p->reason = STOP_TIME;
            snprintf(p->why, sizeof p->why,
                     "the deadline is close: the records from here on are "
                     "left for a retry");
            return 0;
        }
        for (size_t k = r->first; k < r->first + r->count; k++) {
            const utick *u = &I->ticks[k];
            char seq[TP_SEQUENCE_MAX];
            user_seq(seq, r, u->sub);
            tp_tick tick;
            tick.symbol = tp_cursor_make(arena_at(I, u->sym_off), u->sym_len);
            tick.shard = tp_cursor_from_str(I->shard);
            tick.sequence = tp_cursor_from_str(seq);
            tick.price_e8 = u->price_e8;
            tick.ts_us = u->ts_us;
            tp_engine_event ev[TP_ENGINE_EVENTS_MAX];
            size_t nev = 0;
            tp_error err;
            tp_engine_stats before, after;
            tp_engine_stats_get(e, &before);
            tp_status st = tp_engine_apply(e, &tick, ev, &nev, &err);
            if (st == TP_E_NOMEM)
                return -1;
            if (st != TP_OK) {
                p->stop = i;
                p->reason = STOP_POISON;
                p->partial = k > r->first;
                char where[48] = "";
                if (r->aggregated)
                    snprintf(where, sizeof where, "user record %llu, ", (unsigned long long)u->sub);
                snprintf(p->why, sizeof p->why, "%ssymbol %.*s: the engine refuses the tick: %s",
                         where, (int)u->sym_len, (const char *)arena_at(I, u->sym_off),
                         err.message);
                return 0;
            }
            tp_engine_stats_get(e, &after);
            snprintf(p->last, sizeof p->last, "%s", seq);
            if (p->first == I->n)
                p->first = i;
            if (after.duplicates != before.duplicates) {
                p->dups++;
                continue;
            }
            p->ticks++;
            I->syms[u->sym].applied = 1;
            for (size_t j = 0; j < nev; j++) {
                if (ev[j].side == TP_SIDE_BUY) {
                    p->buys++;
                    continue;
                }
                p->sells++;
                p->pnl_e8 += ev[j].pnl_e8;
                char t[400];
                if (live && tp_trade_archive_put(R->trades, &ev[j], &R->opts, &err) != TP_OK) {
                    if (err.code == TP_E_NOMEM)
                        return -1;
                    p->stop = i;
                    p->reason = STOP_STORE;
                    p->partial = 1;
                    snprintf(p->why, sizeof p->why, "archiving a trade of %s: %s", ev[j].symbol,
                             err_text(t, &err));
                    return 0;
                }
            }
        }
    }
    return 0;
}

/* Make the effects of the pass durable: positions of the symbols that
 * changed, then the shard's state, conditionally. 0; 1 failed (`msg`); -1 no memory. */
static int commit(runtime *R, inv *I, const tp_engine *e, const pass *p, char *msg, size_t cap)
{
    tp_error err;
    char t[400];
    int rc = 0;
    tp_cursor *touched = calloc(I->nsyms ? I->nsyms : 1, sizeof *touched);
    tp_buf state;
    tp_buf_init(&state, NULL, 0);
    tp_ddb_value *item = NULL, *values = NULL;
    if (!touched)
        return -1;
    size_t k = 0;
    for (size_t s = 0; s < I->nsyms; s++)
        if (I->syms[s].applied)
            touched[k++] = I->syms[s].name;
    if (k && tp_positions_store_save(R->positions, e, touched, k, &err) != TP_OK) {
        rc = err.code == TP_E_NOMEM ? -1 : 1;
        why(msg, cap, "saving positions in %s: %s", R->table, err_text(t, &err));
        goto done;
    }
    if (cli_engine_state(e, &state) != TP_OK) {
        rc = -1;
        goto done;
    }
    if (state.len > STATE_ITEM_MAX) {
        rc = 1;
        why(msg, cap,
            "the state of %s is %zu bytes, over DynamoDB's item limit: fewer symbols "
            "per shard (more shards) or a smaller TP_WINDOW",
            I->shard, state.len);
        goto done;
    }
    char now[TP_ISO8601_MAX];
    tp_time_format_iso8601(now, tp_time_now_us(), 3);
    tp_ddb_value *b = NULL;
    if (tp_ddb_m_new(&item, &err) != TP_OK || tp_ddb_m_set_s(item, "shard", I->shard, &err) ||
        tp_ddb_m_set_s(item, "sequence", p->last, &err) ||
        tp_ddb_b_new(&b, tp_buf_cursor(&state), &err) || tp_ddb_m_set(item, "state", b, &err) ||
        tp_ddb_m_set_s(item, "updated", now, &err) || tp_ddb_m_new(&values, &err) ||
        (I->have_state && tp_ddb_m_set_s(values, ":prev", I->loaded, &err))) {
        rc = -1;
        goto done;
    }
    /* Of two invocations of one shard at once, the one that writes first
     * wins; the other finds the sequence moved and has its batch retried. */
    static const char *const names[] = {"#s", "shard", "#q", "sequence"};
    tp_ddb_expr x = {I->have_state ? "attribute_not_exists(#s) OR #q = :prev"
                                   : "attribute_not_exists(#s)",
                     names, I->have_state ? 2 : 1, I->have_state ? values : NULL};
    tp_status st = tp_dynamodb_put_item(R->ddb, R->state_table, item, &x, &err);
    if (st == TP_E_CONDITION) {
        rc = 1;
        why(msg, cap,
            "the state of %s changed since it was read (another invocation of the "
            "shard at the same time?)",
            I->shard);
    } else if (st != TP_OK) {
        rc = err.code == TP_E_NOMEM ? -1 : 1;
        why(msg, cap, "saving the state of %s in %s: %s", I->shard, R->state_table,
            err_text(t, &err));
    }
done:
    free(touched);
    tp_buf_dispose(&state);
    tp_ddb_value_free(item);
    tp_ddb_value_free(values);
    return rc;
}

/* What the answer and the metrics say. */
typedef struct outcome {
    size_t fail; /* the record named in batchItemFailures (n: none) */
    int poisoned;
    uint64_t ticks, signals, trades, dups;
    int64_t pnl_e8;
} outcome;

static void metrics(const inv *I, const invocation_meta *m, const outcome *o)
{
    int64_t now = tp_time_now_us() / 1000, age = 0;
    if (I->n && I->recs[I->n - 1].arrival_ms >= 0 && now > I->recs[I->n - 1].arrival_ms)
        age = now - I->recs[I->n - 1].arrival_ms;
    char pnl[TP_PRICE_STR_MAX];
    tp_price_format(pnl, o->pnl_e8);
    tp_buf b;
    tp_buf_init(&b, NULL, 0);
    tp_status st = tp_buf_appendf(
        &b, NULL,
        "{\"_aws\":{\"Timestamp\":%lld,\"CloudWatchMetrics\":[{\"Namespace\":\"tradepipe\","
        "\"Dimensions\":[[\"Shard\"]],\"Metrics\":[{\"Name\":\"Records\",\"Unit\":\"Count\"},"
        "{\"Name\":\"Ticks\",\"Unit\":\"Count\"},{\"Name\":\"Signals\",\"Unit\":\"Count\"},"
        "{\"Name\":\"Trades\",\"Unit\":\"Count\"},{\"Name\":\"RealizedPnl\",\"Unit\":\"None\"},"
        "{\"Name\":\"Duplicates\",\"Unit\":\"Count\"},{\"Name\":\"Poisoned\",\"Unit\":\"Count\"},"
        "{\"Name\":\"ItemFailures\",\"Unit\":\"Count\"},"
        "{\"Name\":\"IteratorAgeMilliseconds\",\"Unit\":\"Milliseconds\"},"
        "{\"Name\":\"BatchLatencyMilliseconds\",\"Unit\":\"Milliseconds\"}]}]},\"Shard\":",
        (long long)now);
    if (st == TP_OK)
        st = json_str(&b, I->shard);
    if (st == TP_OK)
        st = tp_buf_appendf(
            &b, NULL,
            ",\"requestId\":\"%s\",\"Records\":%zu,\"UserRecords\":%llu,\"Ticks\":%llu,"
            "\"Signals\":%llu,\"Trades\":%llu,\"RealizedPnl\":%s,"
            "\"Duplicates\":%llu,\"Poisoned\":%d,\"ItemFailures\":%d,"
            "\"IteratorAgeMilliseconds\":%lld,\"BatchLatencyMilliseconds\":%lld}\n",
            m->request_id, I->n, (unsigned long long)I->user_records, (unsigned long long)o->ticks,
            (unsigned long long)o->signals, (unsigned long long)o->trades, pnl,
            (unsigned long long)o->dups, o->poisoned, o->fail < I->n, (long long)age,
            (long long)(now - m->received_ms));
    if (st == TP_OK) {
        fwrite(b.ptr, 1, b.len, stdout);
        fflush(stdout);
    }
    tp_buf_dispose(&b);
}

#define HANDLED       0 /* answered with `body` */
#define INVALID       1 /* an invocation error: `type`, `msg` */
#define OUT_OF_MEMORY 2

static void log_stop(const inv *I, size_t i, const char *what)
{
    fprintf(stderr, "tp-lambda-bootstrap: %s sequence %.*s: %s\n", I->shard,
            (int)I->recs[i].seq_len, I->recs[i].seq, what);
}

/* Handle one event: HANDLED with the answer in R->body, or INVALID with
 * `type` and `msg`, or OUT_OF_MEMORY. */
static int handle(runtime *R, const uint8_t *body, size_t len, const invocation_meta *m,
                  const char **type, char *msg, size_t cap)
{
    inv I;
    memset(&I, 0, sizeof I);
    tp_buf_init(&I.arena, NULL, 0);
    tp_buf_init(&I.data, NULL, 0);
    tp_buf_init(&I.state, NULL, 0);
    tp_buf_init(&I.prelude, NULL, 0);
    outcome o;
    memset(&o, 0, sizeof o);
    tp_engine *e = NULL;
    pass p, live;
    memset(&p, 0, sizeof p);
    int64_t stop_at = 0;
    int rc = HANDLED, r;
    *type = "Runtime.InvalidEvent";
    r = parse_event(&I, body, len, msg, cap);
    if (r != 0) {
        rc = r == -2 ? OUT_OF_MEMORY : INVALID;
        goto done;
    }
    o.fail = I.n;
    if (!I.n)
        goto answer;
    /* Until something is durable, a failure names the batch's first record. */
    r = load_state(R, &I, msg, cap);
    if (r < 0) {
        *type = "Runtime.StateMismatch";
        rc = INVALID;
        goto done;
    }
    if (r > 0) {
        log_stop(&I, 0, msg);
        o.fail = 0;
        goto answer;
    }
    if (decode_records(R, &I) != 0 || index_symbols(&I) != 0) {
        rc = OUT_OF_MEMORY;
        goto done;
    }
    r = restore(R, &I, &e, 1, msg, cap);
    if (r == -2) {
        rc = OUT_OF_MEMORY;
        goto done;
    }
    if (r < 0) {
        *type = "Runtime.StateMismatch";
        rc = INVALID;
        goto done;
    }
    if (r > 0) {
        log_stop(&I, 0, msg);
        o.fail = 0;
        goto answer;
    }
    if (m->deadline_ms) {
        int64_t budget = m->deadline_ms - m->received_ms, margin = R->margin_ms;
        if (margin < 0)
            margin = budget / 4 < 200 ? 200 : budget / 4 > 10000 ? 10000 : budget / 4;
        stop_at = m->deadline_ms - margin;
    }
    if (apply_records(R, &I, e, I.poison, 1, stop_at, &p) != 0) {
        rc = OUT_OF_MEMORY;
        goto done;
    }
    live = p;
    if (p.partial) {
        /* Record `stop` is half applied: the state to save is the one
         * before it, rebuilt from the same start (the trades of the records
         * before it are in S3 already; those of `stop` are put again by the
         * retry, under the same keys). */
        tp_engine_free(e);
        e = NULL;
        r = restore(R, &I, &e, 0, msg, cap);
        if (r == 0 && apply_records(R, &I, e, live.stop, 0, 0, &p) != 0)
            r = -2;
        if (r != 0) {
            rc = OUT_OF_MEMORY; /* the same start restored a moment ago */
            goto done;
        }
    }
    o.fail = live.stop;
    if (live.stop < I.n) {
        if (live.stop == I.poison && live.reason == STOP_NONE) {
            o.poisoned = 1;
            log_stop(&I, I.poison, I.poison_why);
        } else {
            o.poisoned = live.reason == STOP_POISON;
            log_stop(&I, live.stop, live.why);
        }
    }
    if (p.last[0]) {
        r = commit(R, &I, e, &p, msg, cap);
        if (r < 0) {
            rc = OUT_OF_MEMORY;
            goto done;
        }
        if (r > 0) {
            /* Nothing of this batch is known durable past the state read:
             * retry from its first new record. */
            log_stop(&I, p.first, msg);
            o.fail = p.first < o.fail ? p.first : o.fail;
            memset(&p, 0, sizeof p);
        }
    }
    o.ticks = p.ticks;
    o.signals = p.buys + p.sells;
    o.trades = p.sells;
    o.pnl_e8 = p.pnl_e8;
    o.dups = I.skipped + p.dups;
answer:
    tp_buf_clear(&R->body);
    if (o.fail < I.n) {
        if (tp_buf_append_str(&R->body, "{\"batchItemFailures\":[{\"itemIdentifier\":\"", NULL) ||
            tp_buf_append(&R->body, I.recs[o.fail].seq, I.recs[o.fail].seq_len, NULL) ||
            tp_buf_append_str(&R->body, "\"}]}", NULL))
            rc = OUT_OF_MEMORY;
    } else if (tp_buf_append_str(&R->body, "{\"batchItemFailures\":[]}", NULL)) {
        rc = OUT_OF_MEMORY;
    }
    if (rc == HANDLED && I.n)
        metrics(&I, m, &o);
done:
    tp_engine_free(e);
    inv_dispose(&I);
    if (rc == OUT_OF_MEMORY) {
        *type = "Runtime.OutOfMemory";
        snprintf(msg, cap, "out of memory");
    }
    return rc;
}

/* ---- main ------------------------------------------------------------------ */

static void runtime_free(runtime *R)
{
    tp_kpl_reader_free(R->kpl);
    tp_trade_archive_free(R->trades);
    tp_positions_store_free(R->positions);
    tp_dynamodb_free(R->ddb);
    tp_http_client_free(R->http);
    tp_buf_dispose(&R->body);
}

int main(int argc, char **argv)
{
    cli_name = "tp-lambda-bootstrap";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            fputs(usage_env, stdout);
            return 0;
        }
        fprintf(stderr, "tp-lambda-bootstrap: unexpected argument '%s' (--help)\n", argv[i]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    runtime R;
    memset(&R, 0, sizeof R);
    tp_buf_init(&R.body, NULL, 0);
    const char *api = env("AWS_LAMBDA_RUNTIME_API");
    if (!api || strlen(api) >= sizeof R.api || strpbrk(api, "/?#@ \t\r\n"))
        return cli_fail("AWS_LAMBDA_RUNTIME_API %s: this program runs as a Lambda function's "
                        "bootstrap (--help)",
                        api ? "is not HOST:PORT" : "is not set");
    snprintf(R.api, sizeof R.api, "%s", api);
    tp_error err;
    tp_http_options ho = TP_HTTP_OPTIONS_INIT;
    ho.max_connections = 2;
    if (tp_http_client_new(&R.http, &ho, &err) != TP_OK)
        return cli_fail("HTTP client: %s", err.message);

    char msg[1024];
    const char *type = "Runtime.BadConfig";
    int rc = config(&R, msg, sizeof msg);
    if (rc == 0) {
        type = "Runtime.StoreUnavailable";
        rc = open_stores(&R, msg, sizeof msg);
    }
    if (rc != 0) {
        post_error(&R, "init/error", type, msg);
        runtime_free(&R);
        return 1;
    }

    tp_http_response resp;
    tp_http_response_init(&resp, NULL);
    invocation_meta m;
    rc = 0;
    while (next_event(&R, &resp, &m) == 0) {
        char path[256];
        int h = handle(&R, resp.body.ptr, resp.body.len, &m, &type, msg, sizeof msg);
        int sent;
        if (h == HANDLED) {
            snprintf(path, sizeof path, "invocation/%s/response", m.request_id);
            sent = post(&R, path, NULL, tp_buf_cursor(&R.body));
        } else {
            snprintf(path, sizeof path, "invocation/%s/error", m.request_id);
            sent = post_error(&R, path, type, msg);
        }
        if (sent < 0 || h == OUT_OF_MEMORY) {
            rc = 1; /* the runtime is gone, or memory is: Lambda starts a new one */
            break;
        }
    }
    if (!rc)
        rc = 1; /* only a broken Runtime API ends the loop */
    tp_http_response_dispose(&resp);
    runtime_free(&R);
    return rc;
}
