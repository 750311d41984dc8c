/* The client side of tests/bench/clients/run: our Kinesis and DynamoDB
 * clients against the emulators (endpoints and credentials from the
 * environment, as for any program).
 *   clients_bench kinesis STREAM RECORDS   PutRecords in batches of 500
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
        int len = snprintf(d, 128,
                           "{\"symbol\":\"%s\",\"price\":%ld.%02ld,\"volume\":%ld,"
                           "\"timestamp\":\"2025-10-22T12:58:35.123Z\"}",
                           syms[id % 8], 100 + id % 97, id % 100, 100 + id % 5000);
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
    if (argc == 4 && !strcmp(argv[1], "dynamodb"))
        return bench_dynamodb(argv[2], atof(argv[3]));
    fprintf(stderr, "usage: clients_bench kinesis STREAM RECORDS | dynamodb TABLE SECONDS\n");
    return 2;
}
