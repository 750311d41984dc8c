/* The client side of tests/bench/clients/run: our Kinesis and DynamoDB
 * clients against the emulators (endpoints and credentials from the
 * environment, as for any program).
 *   clients_bench kinesis STREAM RECORDS   PutRecords in batches of 500
 *   clients_bench kinesis-floor STREAM RECORDS
 *                                          the same batches' bytes, built and
 *                                          signed before the clock, POSTed
 *                                          through the HTTP layer alone (no
 *                                          client work), and SHA-256 of them:
 *                                          what any client pays on this
 *                                          transport whatever it does
 *   clients_bench dynamodb TABLE SECONDS   GetItem in a loop
 * Prints one JSON line: client CPU seconds (user + system, this process
 * only: the emulator is another process), wall seconds, counts. */
#include "tradepipe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static double cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double sys_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double wall_now(void)
{
    return (double)tp_time_mono_ns() / 1e9;
}

/* The record bytes both modes send (and the run script's boto3 side). */
static int make_record(char *d, size_t cap, long id)
{
    static const char *syms[] = {"AAPL", "MSFT", "AMZN", "GOOG", "NVDA", "META", "TSLA", "AMD"};
    return snprintf(d, cap,
                    "{\"symbol\":\"%s\",\"price\":%ld.%02ld,\"volume\":%ld,"
                    "\"timestamp\":\"2025-10-22T12:58:35.123Z\"}",
                    syms[id % 8], 100 + id % 97, id % 100, 100 + id % 5000);
}

static int bench_kinesis(const char *stream, long records)
{
    tp_kinesis *k;
    tp_error err;
    if (tp_kinesis_new(&k, NULL, &err) != TP_OK) {
        fprintf(stderr, "tp_kinesis_new: %s\n", err.message);
        return 1;
    }
    enum { BATCH = 500 };
    static tp_kinesis_put_result res[BATCH];
    static const char *syms[] = {"AAPL", "MSFT", "AMZN", "GOOG", "NVDA", "META", "TSLA", "AMD"};
    /* The records are made before the clock starts (boto3's side too):
     * what is timed is the client's work. */
    tp_kinesis_entry *e = calloc((size_t)records, sizeof *e);
    char *data = malloc((size_t)records * 128);
    if (!e || !data)
        return 1;
    for (long id = 0; id < records; id++) {
        char *d = data + id * 128;
        int len = make_record(d, 128, id);
        e[id].data = tp_cursor_make(d, (size_t)len);
        e[id].partition_key = syms[id % 8];
        e[id].explicit_hash_key = NULL;
    }
    long sent = 0, failed_total = 0;
    double c0 = cpu_now(), s0 = sys_now(), w0 = wall_now();
    while (sent < records) {
        size_t n = records - sent < BATCH ? (size_t)(records - sent) : BATCH;
        uint32_t failed = 0;
        if (tp_kinesis_put_records(k, stream, e + sent, n, res, &failed, &err) != TP_OK) {
            fprintf(stderr, "PutRecords: %s\n", err.message);
            tp_kinesis_free(k);
            return 1;
        }
        failed_total += failed;
        sent += (long)n;
    }
    double cpu = cpu_now() - c0, sys = sys_now() - s0, wall = wall_now() - w0;
    printf("{\"records\":%ld,\"failed\":%ld,\"cpu_s\":%.6f,\"sys_s\":%.6f,\"wall_s\":%.6f}\n",
           sent, failed_total, cpu, sys, wall);
    free(e);
    free(data);
    tp_kinesis_free(k);
    return 0;
}

static int bench_kinesis_floor(const char *stream, long records)
{
    static const char *syms[] = {"AAPL", "MSFT", "AMZN", "GOOG", "NVDA", "META", "TSLA", "AMD"};
    enum { BATCH = 500 };
    const char *endpoint = getenv("AWS_ENDPOINT_URL_KINESIS");
    const char *key = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
    if (!endpoint || !key || !secret) {
        fprintf(stderr, "kinesis-floor needs AWS_ENDPOINT_URL_KINESIS and credentials\n");
        return 1;
    }
    long nb = (records + BATCH - 1) / BATCH;
    tp_buf *bodies = calloc((size_t)nb, sizeof *bodies);
    char(*auth)[256] = calloc((size_t)nb, sizeof *auth);
    char(*date)[TP_SIGV4_DATE_LEN + 1] = calloc((size_t)nb, sizeof *date);
    tp_sigv4_signer *signer = NULL;
    const tp_credentials *creds = NULL;
    tp_http_client *http = NULL;
    tp_error err;
    if (!bodies || !auth || !date || tp_sigv4_signer_new(&signer, NULL, &err) != TP_OK ||
        tp_credentials_new(&creds, key, secret, NULL, 0, NULL, &err) != TP_OK ||
        tp_http_client_new(&http, NULL, &err) != TP_OK) {
        fprintf(stderr, "kinesis-floor setup failed\n");
        return 1;
    }
    const char *host = strstr(endpoint, "://") ? strstr(endpoint, "://") + 3 : endpoint;
    char url[512];
    snprintf(url, sizeof url, "%s/", endpoint);
    /* Bodies exactly as the client writes them, signed before the clock. */
    for (long b = 0; b < nb; b++) {
        tp_buf *body = &bodies[b];
        tp_buf_init(body, NULL, 0);
        tp_buf_appendf(body, &err, "{\"StreamName\":\"%s\",\"Records\":[", stream);
        for (long id = b * BATCH; id < records && id < (b + 1) * BATCH; id++) {
            char d[128];
            int len = make_record(d, sizeof d, id);
            tp_buf_appendf(body, &err, "%s{\"PartitionKey\":\"%s\",\"Data\":\"",
                           id == b * BATCH ? "" : ",", syms[id % 8]);
            tp_base64_encode(body, tp_cursor_make(d, (size_t)len), &err);
            tp_buf_append_str(body, "\"}", &err);
        }
        tp_buf_append_str(body, "]}", &err);
        tp_sigv4_header h[] = {
            {tp_cursor_from_str("content-type"),
             tp_cursor_from_str("application/x-amz-json-1.1")},
            {tp_cursor_from_str("host"), tp_cursor_from_str(host)},
            {tp_cursor_from_str("x-amz-target"),
             tp_cursor_from_str("Kinesis_20131202.PutRecords")},
        };
        tp_sigv4_request sr = TP_SIGV4_REQUEST_INIT;
        sr.method = tp_cursor_from_str("POST");
        sr.path = tp_cursor_from_str("/");
        sr.query = tp_cursor_from_str("");
        sr.headers = h;
        sr.header_count = 3;
        sr.body = tp_buf_cursor(body);
        tp_sigv4_config cfg = TP_SIGV4_CONFIG_INIT;
        cfg.region = "us-east-1";
        cfg.service = "kinesis";
        cfg.now_ms = tp_time_now_us() / 1000;
        tp_sigv4_output out;
        if (tp_sigv4_sign(signer, &out, creds, &sr, &cfg, &err) != TP_OK) {
            fprintf(stderr, "sign: %s\n", err.message);
            return 1;
        }
        for (size_t i = 0; i < out.header_count; i++)
            if (out.headers[i].name.len == 13 &&
                !memcmp(out.headers[i].name.ptr, "Authorization", 13))
                snprintf(auth[b], sizeof auth[b], "%.*s", (int)out.headers[i].value.len,
                         (const char *)out.headers[i].value.ptr);
        memcpy(date[b], out.amz_date, sizeof date[b]);
    }
    tp_http_response resp;
    tp_http_response_init(&resp, NULL);
    double c0 = cpu_now(), w0 = wall_now();
    for (long b = 0; b < nb; b++) {
        tp_http_header h[] = {{"content-type", "application/x-amz-json-1.1"},
                              {"x-amz-target", "Kinesis_20131202.PutRecords"},
                              {"x-amz-date", date[b]},
                              {"authorization", auth[b]}};
        tp_http_request r = TP_HTTP_REQUEST_INIT;
        r.method = "POST";
        r.url = url;
        r.headers = h;
        r.n_headers = 4;
        r.body = bodies[b].ptr;
        r.body_len = bodies[b].len;
        if (tp_http_send(http, &r, &resp, &err) != TP_OK || resp.status != 200) {
            fprintf(stderr, "floor POST: HTTP %d %s\n", (int)resp.status, err.message);
            return 1;
        }
    }
    double transport = cpu_now() - c0, wall = wall_now() - w0;
    /* The payload hash every SigV4 client computes, repeated for a steady figure. */
    enum { REPS = 20 };
    char hex[TP_SIGV4_HASH_HEX_LEN + 1];
    c0 = cpu_now();
    for (int k = 0; k < REPS; k++)
        for (long b = 0; b < nb; b++)
            tp_sigv4_sha256_hex(hex, tp_buf_cursor(&bodies[b]));
    double hash = (cpu_now() - c0) / REPS;
    printf("{\"records\":%ld,\"transport_cpu_s\":%.6f,\"hash_cpu_s\":%.6f,\"wall_s\":%.6f}\n",
           records, transport, hash, wall);
    tp_http_response_dispose(&resp);
    for (long b = 0; b < nb; b++)
        tp_buf_dispose(&bodies[b]);
    free(bodies);
    free(auth);
    free(date);
    tp_http_client_free(http);
    tp_credentials_release(creds);
    tp_sigv4_signer_free(signer);
    return 0;
}

static int bench_dynamodb(const char *table, double seconds)
{
    tp_dynamodb *d;
    tp_error err;
    tp_ddb_value *key, *item = NULL;
    if (tp_dynamodb_new(&d, NULL, &err) != TP_OK) {
        fprintf(stderr, "tp_dynamodb_new: %s\n", err.message);
        return 1;
    }
    tp_ddb_m_new(&key, &err);
    tp_ddb_m_set_s(key, "symbol", "AAPL", &err);
    long n = 0;
    double c0 = cpu_now(), w0 = wall_now(), w = w0;
    while (w - w0 < seconds) {
        if (tp_dynamodb_get_item(d, table, key, 0, &item, &err) != TP_OK) {
            fprintf(stderr, "GetItem: %s\n", err.message);
            return 1;
        }
        tp_ddb_value_free(item);
        n++;
        w = wall_now();
    }
    double cpu = cpu_now() - c0;
    printf("{\"requests\":%ld,\"cpu_s\":%.6f,\"wall_s\":%.6f}\n", n, cpu, w - w0);
    tp_ddb_value_free(key);
    tp_dynamodb_free(d);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "kinesis"))
        return bench_kinesis(argv[2], atol(argv[3]));
    if (argc == 4 && !strcmp(argv[1], "kinesis-floor"))
        return bench_kinesis_floor(argv[2], atol(argv[3]));
    if (argc == 4 && !strcmp(argv[1], "dynamodb"))
        return bench_dynamodb(argv[2], atof(argv[3]));
    fprintf(stderr, "usage: clients_bench kinesis|kinesis-floor STREAM RECORDS | "
                    "dynamodb TABLE SECONDS\n");
    return 2;
}
