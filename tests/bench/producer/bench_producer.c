/* The producer's side of tests/bench/producer/run (not a test):
 *
 *   bench_producer run STREAM RECORDS on|off CAP_MB [AGG_BYTES [WARMUP]]
 *       put RECORDS user records (~100-byte trade JSON, 10 symbols, a pool of
 *       10,000 distinct ones cycled) through tp_producer as fast as put
 *       allows, close (drain), and print one JSON line: records, wall and
 *       client CPU seconds from the first put to the end of close, page
 *       faults in that time, peak RSS, requests, Kinesis records, retries,
 *       throttles. No shard rate limit (kinesalite has none); CAP_MB is
 *       max_buffered_bytes. WARMUP records (default 0) are put and flushed
 *       first, before the clock: the producer's buffers are then warm, as
 *       the floor's are (a producer that has run a while).
 *   bench_producer floor STREAM RECORDS
 *       the floor under the aggregated case: the same user records,
 *       aggregated per shard before the clock (KPL format, as the producer
 *       does), then timed: the MD5 of each aggregate (its KPL digest), the
 *       base64 of it into the PutRecords body, the SHA-256 of the body (the
 *       SigV4 payload hash) and the loopback HTTP POST of the bodies, signed
 *       before the clock -- the same bytes with no client logic. Its memory
 *       (aggregates, bodies) is touched before the clock: it pays no first
 *       touch (page faults in the timed part are printed as minflt).
 * Endpoint and credentials from the environment (AWS_ENDPOINT_URL_KINESIS,
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION). */
#define _GNU_SOURCE /* clock_gettime's CPU clocks */
#include "tradepipe.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POOL 10000

static const char *const syms[] = {"AAPL", "MSFT", "GOOGL", "AMZN", "TSLA",
                                   "META", "NVDA", "JPM",   "V",    "NFLX"};
static char pool[POOL][128];
static size_t pool_len[POOL];

static void make_pool(void)
{
    for (int i = 0; i < POOL; i++) {
        int n = snprintf(pool[i], sizeof pool[i],
                         "{\"symbol\":\"%s\",\"price\":%d.%02d,\"volume\":%d,\"timestamp\":"
                         "\"2025-10-22T12:%02d:%02d.%03dZ\",\"trade_id\":\"t-%07d\"}",
                         syms[i % 10], 100 + i % 397, i % 100, 100 * (1 + i % 50), i / 60000 % 60,
                         i / 1000 % 60, i % 1000, i);
        pool_len[i] = (size_t)n;
    }
}

/* CPU of the whole process, every thread, exactly (not tick-sampled). */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double wall_now(void) { return (double)tp_time_mono_ns() / 1e9; }

/* Page faults of the process so far (minor: first touches of anonymous memory). */
static long minflt_now(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_minflt;
}

/* Peak RSS of this program: VmHWM (getrusage's ru_maxrss would count the
 * parent's memory before exec, a Python process here). */
static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6))
            kb = atol(line + 6);
    if (f)
        fclose(f);
    return kb;
}

static int put_all(tp_producer *p, long records)
{
    tp_error err;
    for (long i = 0; i < records; i++) {
        int k = (int)(i % POOL);
        tp_producer_record r = {tp_cursor_make(pool[k], pool_len[k]), syms[k % 10], NULL, NULL};
        if (tp_producer_put(p, &r, 60000, &err) != TP_OK) {
            fprintf(stderr, "put: %s\n", err.message);
            return 1;
        }
    }
    return 0;
}

static int run(const char *stream, long records, int aggregate, long cap_mb, long agg_bytes,
               long warmup)
{
    tp_producer_options o;
    tp_producer_options_init(&o, TP_PRODUCER_OPTIONS_VERSION);
    o.stream = stream;
    o.aggregate = aggregate;
    o.shard_records_per_s = -1;
    o.shard_bytes_per_s = -1;
    o.max_buffered_bytes = (uint64_t)cap_mb << 20;
    o.aggregation_max_bytes = (uint32_t)agg_bytes;
    tp_producer *p = NULL;
    tp_error err;
    if (tp_producer_new(&p, &o, &err) != TP_OK) {
        fprintf(stderr, "producer: %s\n", err.message);
        return 1;
    }
    tp_producer_stats st0 = {0};
    if (warmup > 0) {
        if (put_all(p, warmup))
            return 1;
        tp_producer_flush(p, 0, NULL);
        tp_producer_get_stats(p, &st0);
    }
    long f0 = minflt_now();
    double c0 = cpu_now(), w0 = wall_now();
    if (put_all(p, records))
        return 1;
    tp_producer_flush(p, 0, NULL);
    tp_producer_stats st;
    tp_producer_get_stats(p, &st);
    tp_producer_close(p);
    double cpu = cpu_now() - c0, wall = wall_now() - w0;
    long faults = minflt_now() - f0;
    printf("{\"records\":%ld,\"warmup\":%ld,\"written\":%llu,\"failed\":%llu,\"wall_s\":%.6f,"
           "\"cpu_s\":%.6f,\"minflt\":%ld,\"rss_kb\":%ld,\"requests\":%llu,"
           "\"kinesis_records\":%llu,\"retries\":%llu,\"throttles\":%llu}\n",
           records, warmup, (unsigned long long)(st.user_records_put - st0.user_records_put),
           (unsigned long long)(st.user_records_failed - st0.user_records_failed), wall, cpu,
           faults, rss_kb(), (unsigned long long)(st.requests - st0.requests),
           (unsigned long long)(st.kinesis_records_put - st0.kinesis_records_put),
           (unsigned long long)(st.retries - st0.retries),
           (unsigned long long)(st.throttles - st0.throttles));
    return st.user_records_put - st0.user_records_put == (uint64_t)records ? 0 : 1;
}

static int floor_run(const char *stream, long records)
{
    const char *endpoint = getenv("AWS_ENDPOINT_URL_KINESIS");
    const char *key = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
    if (!endpoint || !key || !secret) {
        fprintf(stderr, "floor needs AWS_ENDPOINT_URL_KINESIS and credentials\n");
        return 1;
    }
    tp_error err;
    /* Aggregates as the producer makes them: per shard (4 shards, by the MD5
     * of the symbol), up to 51,200 bytes; not timed. */
    enum { SHARDS = 4 };
    tp_kpl_aggregator *agg[SHARDS];
    tp_buf *blobs = NULL;
    char (*outer_pk)[16] = NULL;
    size_t nblobs = 0, cap = 0;
    int shard_of[10];
    for (int s = 0; s < 10; s++) {
        unsigned char d[16];
        unsigned int dl = 0;
        EVP_Digest(syms[s], strlen(syms[s]), d, &dl, EVP_md5(), NULL);
        shard_of[s] = d[0] >> 6; /* 4 equal hash-key ranges */
    }
    for (int s = 0; s < SHARDS; s++)
        tp_kpl_aggregator_new(&agg[s], NULL, &err);
    for (long i = 0; i <= records; i++) {
        int k = (int)(i % POOL);
        for (int s = 0; s < SHARDS; s++) {
            int flush = i == records ? tp_kpl_aggregator_count(agg[s]) > 0 : 0;
            if (i < records && shard_of[k % 10] == s &&
                tp_kpl_aggregator_add(agg[s], tp_cursor_from_str(syms[k % 10]),
                                      tp_cursor_make(NULL, 0),
                                      tp_cursor_make(pool[k], pool_len[k]), NULL) == TP_E_LIMIT)
                flush = 1;
            if (!flush)
                continue;
            if (nblobs == cap) {
                cap = cap ? cap * 2 : 64;
                blobs = realloc(blobs, cap * sizeof *blobs);
                outer_pk = realloc(outer_pk, cap * sizeof *outer_pk);
            }
            tp_buf_init(&blobs[nblobs], NULL, 0);
            tp_kpl_outer out;
            tp_kpl_aggregator_finish(agg[s], &blobs[nblobs], &out, &err);
            snprintf(outer_pk[nblobs], sizeof outer_pk[nblobs], "%s", out.partition_key);
            nblobs++;
            if (i < records && shard_of[k % 10] == s)
                tp_kpl_aggregator_add(agg[s], tp_cursor_from_str(syms[k % 10]),
                                      tp_cursor_make(NULL, 0),
                                      tp_cursor_make(pool[k], pool_len[k]), NULL);
        }
    }
    /* Requests of up to one aggregate per shard each (as the producer sends
     * them when the map allows one in flight per shard). */
    tp_sigv4_signer *signer = NULL;
    const tp_credentials *creds = NULL;
    tp_http_client *http = NULL;
    if (tp_sigv4_signer_new(&signer, NULL, &err) != TP_OK ||
        tp_credentials_new(&creds, key, secret, NULL, 0, NULL, &err) != TP_OK ||
        tp_http_client_new(&http, NULL, &err) != TP_OK) {
        fprintf(stderr, "floor setup: %s\n", err.message);
        return 1;
    }
    const char *host = strstr(endpoint, "://") ? strstr(endpoint, "://") + 3 : endpoint;
    char url[512];
    snprintf(url, sizeof url, "%s/", endpoint);
    size_t nreq = (nblobs + SHARDS - 1) / SHARDS;
    tp_buf *bodies = calloc(nreq, sizeof *bodies);
    char (*auth)[256] = calloc(nreq, sizeof *auth);
    char (*date)[TP_SIGV4_DATE_LEN + 1] = calloc(nreq, sizeof *date);
    /* the bodies' memory is taken (and touched) before the clock: the floor
     * is the work on the bytes, not the allocator's */
    for (size_t r = 0; r < nreq; r++) {
        size_t need = 256;
        for (size_t b = r * SHARDS; b < nblobs && b < (r + 1) * SHARDS; b++)
            need += (blobs[b].len + 2) / 3 * 4 + 64;
        tp_buf_init(&bodies[r], NULL, 0);
        tp_buf_reserve(&bodies[r], need, &err);
        memset(bodies[r].ptr, 0, need);
    }
    long f0 = minflt_now();
    double c0 = cpu_now(), w0 = wall_now();
    double t_md5 = 0, t_b64 = 0, t_sha = 0;
    unsigned char digest[16];
    unsigned int dl;
    for (size_t r = 0; r < nreq; r++) {
        double a = cpu_now();
        for (size_t b = r * SHARDS; b < nblobs && b < (r + 1) * SHARDS; b++)
            EVP_Digest(blobs[b].ptr, blobs[b].len, digest, &dl, EVP_md5(), NULL);
        double m = cpu_now();
        tp_buf *body = &bodies[r];
        tp_buf_appendf(body, &err, "{\"StreamName\":\"%s\",\"Records\":[", stream);
        for (size_t b = r * SHARDS; b < nblobs && b < (r + 1) * SHARDS; b++) {
            tp_buf_appendf(body, &err, "%s{\"PartitionKey\":\"%s\",\"Data\":\"",
                           b == r * SHARDS ? "" : ",", outer_pk[b]);
            tp_base64_encode(body, tp_buf_cursor(&blobs[b]), &err);
            tp_buf_append_str(body, "\"}", &err);
        }
        tp_buf_append_str(body, "]}", &err);
        double e = cpu_now();
        char hex[TP_SIGV4_HASH_HEX_LEN + 1];
        tp_sigv4_sha256_hex(hex, tp_buf_cursor(body));
        double h = cpu_now();
        t_md5 += m - a;
        t_b64 += e - m;
        t_sha += h - e;
    }
    double compute = cpu_now() - c0;
    long faults = minflt_now() - f0;
    /* signatures before the transport clock */
    for (size_t r = 0; r < nreq; r++) {
        tp_sigv4_header h[] = {
            {tp_cursor_from_str("content-type"), tp_cursor_from_str("application/x-amz-json-1.1")},
            {tp_cursor_from_str("host"), tp_cursor_from_str(host)},
            {tp_cursor_from_str("x-amz-target"), tp_cursor_from_str("Kinesis_20131202.PutRecords")},
        };
        tp_sigv4_request sr = TP_SIGV4_REQUEST_INIT;
        sr.method = tp_cursor_from_str("POST");
        sr.path = tp_cursor_from_str("/");
        sr.query = tp_cursor_from_str("");
        sr.headers = h;
        sr.header_count = 3;
        sr.body = tp_buf_cursor(&bodies[r]);
        tp_sigv4_config cfg = TP_SIGV4_CONFIG_INIT;
        cfg.region = "us-east-1";
        cfg.service = "kinesis";
        cfg.now_ms = tp_time_now_us() / 1000;
        tp_sigv4_output out;
        if (tp_sigv4_sign(signer, &out, creds, &sr, &cfg, &err) != TP_OK)
            return 1;
        for (size_t i = 0; i < out.header_count; i++)
            if (out.headers[i].name.len == 13 && !memcmp(out.headers[i].name.ptr, "Authorization", 13))
                snprintf(auth[r], sizeof auth[r], "%.*s", (int)out.headers[i].value.len,
                         (const char *)out.headers[i].value.ptr);
        memcpy(date[r], out.amz_date, sizeof date[r]);
    }
    tp_http_response resp;
    tp_http_response_init(&resp, NULL);
    long f1 = minflt_now();
    double c1 = cpu_now();
    for (size_t r = 0; r < nreq; r++) {
        tp_http_header h[] = {{"content-type", "application/x-amz-json-1.1"},
                              {"x-amz-target", "Kinesis_20131202.PutRecords"},
                              {"x-amz-date", date[r]},
                              {"authorization", auth[r]}};
        tp_http_request q = TP_HTTP_REQUEST_INIT;
        q.method = "POST";
        q.url = url;
        q.headers = h;
        q.n_headers = 4;
        q.body = bodies[r].ptr;
        q.body_len = bodies[r].len;
        if (tp_http_send(http, &q, &resp, &err) != TP_OK || resp.status != 200) {
            fprintf(stderr, "floor POST: HTTP %d %s\n", (int)resp.status, err.message);
            return 1;
        }
    }
    double transport = cpu_now() - c1, wall = wall_now() - w0;
    faults += minflt_now() - f1;
    printf("{\"records\":%ld,\"aggregates\":%zu,\"requests\":%zu,\"cpu_s\":%.6f,\"md5_s\":%.6f,"
           "\"base64_s\":%.6f,\"sha256_s\":%.6f,\"http_s\":%.6f,\"wall_s\":%.6f,"
           "\"minflt\":%ld}\n",
           records, nblobs, nreq, compute + transport, t_md5, t_b64, t_sha, transport, wall,
           faults);
    return 0;
}

int main(int argc, char **argv)
{
    make_pool();
    if (argc >= 6 && argc <= 8 && !strcmp(argv[1], "run"))
        return run(argv[2], atol(argv[3]), !strcmp(argv[4], "on"), atol(argv[5]),
                   argc >= 7 ? atol(argv[6]) : 0, argc == 8 ? atol(argv[7]) : 0);
    if (argc == 4 && !strcmp(argv[1], "floor"))
        return floor_run(argv[2], atol(argv[3]));
    fprintf(stderr, "usage: bench_producer run STREAM RECORDS on|off CAP_MB [AGG_BYTES [WARMUP]] | "
                    "floor STREAM RECORDS\n");
    return 2;
}
