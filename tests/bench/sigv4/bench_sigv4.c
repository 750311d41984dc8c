/* SigV4 benchmark: signatures per second for a Kinesis PutRecords-like
 * request (1 KB and 1 MB bodies), against the floor: the same hashing and
 * HMAC work done by OpenSSL alone (SHA-256 of the body, SHA-256 of a buffer
 * the size of the canonical request, HMAC-SHA256 of the string to sign under
 * the cached signing key, through the cheapest OpenSSL calls: the low-level
 * SHA256 functions with the HMAC pads precomputed, as the signer does).
 *
 * Usage: bench_sigv4 [SECONDS_PER_CASE] [BODY_DIR]
 * Prints one JSON line per body size; writes the bodies to BODY_DIR (if
 * given) so tests/bench/sigv4/run can time botocore on the same requests.
 * Also counts the allocator calls per signature on the steady path. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "tradepipe.h"

#include <openssl/sha.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct counting {
    tp_allocator a;
    long calls;
} counting;

static void *c_malloc(size_t n, void *p)
{
    ((counting *)p)->calls++;
    return malloc(n);
}
static void *c_realloc(void *ptr, size_t n, void *p)
{
    ((counting *)p)->calls++;
    return realloc(ptr, n);
}
static void c_free(void *ptr, void *p)
{
    (void)p;
    free(ptr);
}

/* A PutRecords body of about `size` bytes: records of base64 data. */
static char *make_body(size_t size, size_t *len)
{
    char *b = malloc(size + 256);
    size_t n = (size_t)snprintf(b, 64, "{\"StreamName\":\"trades\",\"Records\":[");
    unsigned seed = 42;
    int first = 1;
    while (n + 160 < size) {
        n += (size_t)snprintf(b + n, 64, "%s{\"PartitionKey\":\"AAPL\",\"Data\":\"",
                              first ? "" : ",");
        first = 0;
        for (int i = 0; i < 96; i++) {
            seed = seed * 1103515245u + 12345u;
            b[n++] =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[(seed >> 16) &
                                                                                   63];
        }
        n += (size_t)snprintf(b + n, 8, "\"}");
    }
    while (n + 2 < size)
        b[n++] = ' ';
    n += (size_t)snprintf(b + n, 8, "]}");
    *len = n;
    return b;
}

static double now_s(void) { return (double)tp_time_mono_ns() / 1e9; }

static void hmac_pads(SHA256_CTX *in, SHA256_CTX *out, const uint8_t key[32])
{
    uint8_t pad[64];
    for (int i = 0; i < 64; i++)
        pad[i] = (uint8_t)((i < 32 ? key[i] : 0) ^ 0x36);
    SHA256_Init(in);
    SHA256_Update(in, pad, 64);
    for (int i = 0; i < 64; i++)
        pad[i] = (uint8_t)((i < 32 ? key[i] : 0) ^ 0x5c);
    SHA256_Init(out);
    SHA256_Update(out, pad, 64);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    const char *dir = argc > 2 ? argv[2] : NULL;
    const size_t sizes[] = {1024, 1024 * 1024};
    for (size_t si = 0; si < 2; si++) {
        size_t blen;
        char *body = make_body(sizes[si], &blen);
        if (dir) {
            char path[4096];
            snprintf(path, sizeof path, "%s/body-%zu", dir, sizes[si]);
            FILE *f = fopen(path, "wb");
            if (!f || fwrite(body, 1, blen, f) != blen || fclose(f) != 0) {
                fprintf(stderr, "cannot write %s\n", path);
                return 1;
            }
        }
        char clen[32];
        snprintf(clen, sizeof clen, "%zu", blen);
        tp_sigv4_header h[] = {
            {tp_cursor_from_str("Host"), tp_cursor_from_str("kinesis.us-east-1.amazonaws.com")},
            {tp_cursor_from_str("Content-Type"), tp_cursor_from_str("application/x-amz-json-1.1")},
            {tp_cursor_from_str("X-Amz-Target"), tp_cursor_from_str("Kinesis_20131202.PutRecords")},
            {tp_cursor_from_str("Content-Length"), tp_cursor_from_str(clen)},
        };
        tp_sigv4_request req = TP_SIGV4_REQUEST_INIT;
        req.method = tp_cursor_from_str("POST");
        req.path = tp_cursor_from_str("/");
        req.headers = h;
        req.header_count = 4;
        req.body = tp_cursor_make(body, blen);
        tp_credentials cr = {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                             "FwoGZXIvYXdzEBYaDExampleSessionToken", TP_CREDENTIALS_NO_EXPIRY};
        tp_sigv4_config cfg = TP_SIGV4_CONFIG_INIT;
        cfg.region = "us-east-1";
        cfg.service = "kinesis";
        cfg.now_ms = INT64_C(1761137915123);

        counting ca = {{c_malloc, c_realloc, c_free, NULL}, 0};
        ca.a.payload = &ca;
        tp_sigv4_signer_options o = TP_SIGV4_SIGNER_OPTIONS_INIT;
        o.alloc = &ca.a;
        tp_sigv4_signer *s;
        tp_sigv4_output out;
        if (tp_sigv4_signer_new(&s, &o, NULL) != TP_OK ||
            tp_sigv4_sign(s, &out, &cr, &req, &cfg, NULL) != TP_OK)
            return 1;
        size_t creq_len = tp_sigv4_signer_canonical_request(s).len;
        tp_cursor sts = tp_sigv4_signer_string_to_sign(s);
        uint8_t *sts_copy = malloc(sts.len);
        memcpy(sts_copy, sts.ptr, sts.len);
        size_t sts_len = sts.len;
        uint8_t *creq_like = calloc(1, creq_len);

        /* interleave the two measurements a few times, keep the best of each */
        double best_sign = 1e9, best_floor = 1e9;
        long calls_before = ca.calls, signs = 0;
        volatile uint8_t sink = 0;
        for (int round = 0; round < 3; round++) {
            long n = 0;
            double t0 = now_s(), t1;
            do {
                for (int k = 0; k < 8; k++) {
                    cfg.now_ms += 1;
                    if (tp_sigv4_sign(s, &out, &cr, &req, &cfg, NULL) != TP_OK)
                        return 1;
                    sink ^= (uint8_t)out.signature[0];
                }
                n += 8;
                t1 = now_s();
            } while (t1 - t0 < secs / 3);
            signs += n;
            if ((t1 - t0) / (double)n < best_sign)
                best_sign = (t1 - t0) / (double)n;

            uint8_t key[32], md[32], ih[32];
            memset(key, 7, sizeof key);
            SHA256_CTX in, ou, c;
            hmac_pads(&in, &ou, key);
            n = 0;
            t0 = now_s();
            do {
                for (int k = 0; k < 8; k++) {
                    SHA256((const uint8_t *)body, blen, md);
                    creq_like[0] = md[0];
                    SHA256(creq_like, creq_len, md);
                    sts_copy[sts_len - 1] = md[0];
                    c = in;
                    SHA256_Update(&c, sts_copy, sts_len);
                    SHA256_Final(ih, &c);
                    c = ou;
                    SHA256_Update(&c, ih, 32);
                    SHA256_Final(md, &c);
                    sink ^= md[0];
                }
                n += 8;
                t1 = now_s();
            } while (t1 - t0 < secs / 3);
            if ((t1 - t0) / (double)n < best_floor)
                best_floor = (t1 - t0) / (double)n;
        }
        long allocs = ca.calls - calls_before;
        printf("{\"body_bytes\": %zu, \"sign_us\": %.3f, \"floor_us\": %.3f, "
               "\"allocations\": %ld, \"signatures\": %ld, \"canonical_request_bytes\": %zu}\n",
               blen, best_sign * 1e6, best_floor * 1e6, allocs, signs, creq_len);
        fflush(stdout);
        (void)sink;
        tp_sigv4_signer_free(s);
        free(sts_copy);
        free(creq_like);
        free(body);
    }
    return 0;
}
