/* Fuzz the SigV4 canonicalization: the input is a request in a small text
 * form, signed in both forms with every flag combination the first byte
 * picks. Checks: no crash, no leak, errors are filled, the result does not
 * depend on the key cache, and the secret never shows.
 *   byte 0: flags; then "METHOD\nPATH\nQUERY\n" header lines "name:value\n",
 *   an empty line, and the body. */
#include "codec/sigv4_int.h"

#include <stdlib.h>
#include <string.h>

#define SECRET "fuzzSECRETfuzzSECRETfuzzSECRETfuzzSECRET"

static const uint8_t *next_line(const uint8_t **p, const uint8_t *end, size_t *n)
{
    const uint8_t *b = *p;
    const uint8_t *nl = memchr(b, '\n', (size_t)(end - b));
    const uint8_t *e = nl ? nl : end;
    *n = (size_t)(e - b);
    *p = nl ? nl + 1 : end;
    return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint32_t flags = data[0] & 0x3f;
    const uint8_t *p = data + 1, *end = data + size;
    tp_sigv4_request req = TP_SIGV4_REQUEST_INIT;
    size_t n;
    const uint8_t *b = next_line(&p, end, &n);
    req.method = tp_cursor_make(b, n);
    b = next_line(&p, end, &n);
    req.path = tp_cursor_make(b, n);
    b = next_line(&p, end, &n);
    req.query = tp_cursor_make(b, n);
    tp_sigv4_header h[64];
    size_t nh = 0;
    while (p < end && nh < 64) {
        b = next_line(&p, end, &n);
        if (n == 0)
            break;
        const uint8_t *colon = memchr(b, ':', n);
        size_t kn = colon ? (size_t)(colon - b) : n;
        h[nh].name = tp_cursor_make(b, kn);
        h[nh].value = colon ? tp_cursor_make(colon + 1, n - kn - 1) : tp_cursor_make(NULL, 0);
        nh++;
    }
    req.headers = h;
    req.header_count = nh;
    req.body = tp_cursor_make(p, (size_t)(end - p));

    tp_credentials cr = {"AKIDFUZZ", SECRET, (data[0] & 0x40) ? "TOKEN" : NULL,
                         TP_CREDENTIALS_NO_EXPIRY};
    tp_sigv4_config cfg = TP_SIGV4_CONFIG_INIT;
    cfg.flags = flags;
    cfg.region = "us-east-1";
    cfg.service = (data[0] & 0x80) ? "s3" : "svc";
    cfg.now_ms = INT64_C(1440938160000) + (int64_t)size * 1000;

    tp_sigv4_signer_options o = TP_SIGV4_SIGNER_OPTIONS_INIT;
    o.max_scratch_bytes = 1 << 20;
    tp_sigv4_signer *s = NULL, *s2 = NULL;
    if (tp_sigv4_signer_new(&s, &o, NULL) != TP_OK || tp_sigv4_signer_new(&s2, &o, NULL) != TP_OK)
        abort();
    /* the secret may only show if the input itself carries it */
    int input_has_secret = memmem(data, size, SECRET, strlen(SECRET)) != NULL;
    tp_error err;
    tp_sigv4_output out, out2;
    tp_status st = tp_sigv4_sign(s, &out, &cr, &req, &cfg, &err);
    if (st != TP_OK) {
        if (err.code != st || err.message[0] == 0 ||
            (!input_has_secret && strstr(err.message, SECRET)))
            abort();
    } else {
        tp_cursor cq = tp_sigv4_signer_canonical_request(s);
        if (cq.len == 0 || (!input_has_secret && memmem(cq.ptr, cq.len, SECRET, strlen(SECRET))))
            abort();
        /* warm cache in s, cold in s2: the same signature */
        if (tp_sigv4_sign(s, &out2, &cr, &req, &cfg, NULL) != TP_OK ||
            strcmp(out.signature, out2.signature) != 0)
            abort();
        if (tp_sigv4_sign(s2, &out2, &cr, &req, &cfg, NULL) != TP_OK ||
            strcmp(out.signature, out2.signature) != 0)
            abort();
    }
    tp_buf target;
    tp_buf_init(&target, NULL, 0);
    st = tp_sigv4_presign(s, &target, &cr, &req, &cfg, &err);
    if (st != TP_OK && (err.code != st || target.len != 0))
        abort();
    tp_buf_dispose(&target);
    tp_sigv4_signer_free(s);
    tp_sigv4_signer_free(s2);
    return 0;
}
