/* AWS Signature Version 4: canonical request, string to sign, signing key
 * (cached), signature; header and query-string (presigned) forms.
 *
 * Pure: no I/O, no global mutable state; the time comes from the caller.
 * Hashing is OpenSSL's SHA-256. The low-level SHA256_* calls are used on
 * purpose: their context is a plain struct, so the HMAC states keyed with a
 * signing key can be computed once, cached and copied by assignment, and no
 * call allocates (the EVP interface allocates a context per digest). */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "sigv4_int.h"

#include <openssl/sha.h>

#include <limits.h>
#include <stdio.h>

#define KEY_CACHE_N      4
#define SECRET_CACHE_MAX 128  /* longer secrets work, but their keys are not cached */
#define SECRET_MAX       1024 /* longer is refused */
#define SCOPE_NAME_MAX   63   /* region and service */
#define DEFAULT_SCRATCH  ((size_t)1 << 20)
#define ALGORITHM        "AWS4-HMAC-SHA256"
#define UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define SMALL_SORT       16

typedef struct key_entry {
    uint64_t last_use; /* 0: empty */
    size_t secret_len;
    size_t region_len;
    size_t service_len;
    uint8_t secret[SECRET_CACHE_MAX];
    char date[8];
    char region[SCOPE_NAME_MAX + 1];
    char service[SCOPE_NAME_MAX + 1];
    SHA256_CTX inner; /* SHA-256 state after (signing key ^ ipad) */
    SHA256_CTX outer; /* SHA-256 state after (signing key ^ opad) */
} key_entry;

typedef struct hdr_ent {
    const uint8_t *name;
    size_t name_len;
    const uint8_t *value;
    size_t value_len;
    size_t idx;   /* position given: keeps repeated headers in order */
    uint64_t key; /* the first 8 bytes of the lower-cased name, big-endian: most
                     comparisons end here */
} hdr_ent;

typedef struct q_ent {
    size_t key_off, key_len; /* encoded bytes in qbuf */
    size_t val_off, val_len;
    size_t idx; /* its place in the query as given */
} q_ent;

struct tp_sigv4_signer {
    const tp_allocator *alloc;
    size_t max_scratch;
    tp_buf creq;  /* canonical request */
    tp_buf sts;   /* string to sign */
    tp_buf shdr;  /* signed headers list */
    tp_buf auth;  /* Authorization value */
    tp_buf qbuf;  /* encoded query names and values */
    tp_buf pbuf;  /* normalized path */
    tp_buf phash; /* payload hash text */
    hdr_ent *hents;
    hdr_ent **hord, **htmp; /* the entries, sorted (by pointer: cheap to move) */
    size_t hcap;
    q_ent *qents, *qtmp;
    size_t qcap;
    size_t qn;
    size_t q_user_end; /* qbuf bytes of the caller's parameters (before X-Amz-*) */
    size_t q_user_n;   /* how many parameters the caller gave */
    int valid; /* creq and sts belong to a successful call */
    uint64_t clock;
    uint64_t derivations;
    char date[TP_SIGV4_DATE_LEN + 1];
    char expires[24];
    char signature[TP_SIGV4_SIGNATURE_LEN + 1];
    key_entry cache[KEY_CACHE_N];
};

static const char HEX_UP[] = "0123456789ABCDEF";

/* ---- character classes --------------------------------------------------- */

/* Character classes: 1 RFC 3986 unreserved; 2 may appear in a URI as it is
 * (unreserved, reserved, '%'); 4 an HTTP token char (header names, methods);
 * 8 a control byte a header value cannot carry (all but HTAB, and DEL). */
#define CC_UNRESERVED 1u
#define CC_URI        2u
#define CC_TCHAR      4u
#define CC_BAD_VALUE  8u
static const uint8_t CCLASS[256] = {
    8, 8, 8, 8, 8, 8, 8, 8, 8, 0, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,
    0, 6, 0, 6, 6, 6, 6, 6, 2, 2, 6, 6, 2, 7, 7, 2, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 2, 2, 0, 2, 0, 2,
    2, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 2, 0, 2, 4, 7,
    4, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 0, 4, 0, 7, 8,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static int is_unreserved(uint8_t c) { return CCLASS[c] & CC_UNRESERVED; }

/* Bytes that may appear in a URI as they are (RFC 3986 unreserved, reserved
 * and '%'); anything else has to be percent-encoded to be sent at all. */
static int is_uri_char(uint8_t c) { return CCLASS[c] & CC_URI; }

static int is_tchar(uint8_t c) { return CCLASS[c] & CC_TCHAR; }

static uint8_t lower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c; }

static int ieq(const uint8_t *a, size_t an, const char *b)
{
    size_t bn = strlen(b);
    if (an != bn)
        return 0;
    for (size_t i = 0; i < an; i++)
        if (lower(a[i]) != (uint8_t)b[i])
            return 0;
    return 1;
}

/* ---- hashing ------------------------------------------------------------- */

void tp_sigv4__sha256(uint8_t out[32], const void *data, size_t len)
{
    SHA256_CTX c;
    SHA256_Init(&c);
    SHA256_Update(&c, data, len);
    SHA256_Final(out, &c);
    tp_secure_zero(&c, sizeof c);
}

static void hmac_prepare(SHA256_CTX *inner, SHA256_CTX *outer, const void *key, size_t key_len)
{
    uint8_t k[64], pad[64];
    memset(k, 0, sizeof k);
    if (key_len > sizeof k)
        tp_sigv4__sha256(k, key, key_len);
    else if (key_len)
        memcpy(k, key, key_len);
    for (size_t i = 0; i < 64; i++)
        pad[i] = (uint8_t)(k[i] ^ 0x36);
    SHA256_Init(inner);
    SHA256_Update(inner, pad, 64);
    for (size_t i = 0; i < 64; i++)
        pad[i] = (uint8_t)(k[i] ^ 0x5c);
    SHA256_Init(outer);
    SHA256_Update(outer, pad, 64);
    tp_secure_zero(k, sizeof k);
    tp_secure_zero(pad, sizeof pad);
}

static void hmac_finish(uint8_t out[32], const SHA256_CTX *inner, const SHA256_CTX *outer,
                        const void *msg, size_t n)
{
    SHA256_CTX c = *inner;
    uint8_t ih[32];
    SHA256_Update(&c, msg, n);
    SHA256_Final(ih, &c);
    c = *outer;
    SHA256_Update(&c, ih, sizeof ih);
    SHA256_Final(out, &c);
    tp_secure_zero(&c, sizeof c);
    tp_secure_zero(ih, sizeof ih);
}

void tp_sigv4__hmac(uint8_t out[32], const void *key, size_t key_len, const void *msg,
                    size_t msg_len)
{
    SHA256_CTX in, ou;
    hmac_prepare(&in, &ou, key, key_len);
    hmac_finish(out, &in, &ou, msg, msg_len);
    tp_secure_zero(&in, sizeof in);
    tp_secure_zero(&ou, sizeof ou);
}

void tp_sigv4__derive_key(uint8_t out[32], tp_cursor secret, tp_cursor date8, tp_cursor region,
                          tp_cursor service)
{
    /* kSecret = "AWS4" + secret, hashed as an HMAC key when long: build the
     * key in the inner/outer states without copying the secret around. */
    uint8_t k[32];
    SHA256_CTX in, ou;
    if (secret.len + 4 > 64) {
        uint8_t hk[32];
        SHA256_CTX c;
        SHA256_Init(&c);
        SHA256_Update(&c, "AWS4", 4);
        SHA256_Update(&c, secret.ptr, secret.len);
        SHA256_Final(hk, &c);
        tp_secure_zero(&c, sizeof c);
        hmac_prepare(&in, &ou, hk, sizeof hk);
        tp_secure_zero(hk, sizeof hk);
    } else {
        uint8_t ks[64];
        memcpy(ks, "AWS4", 4);
        if (secret.len)
            memcpy(ks + 4, secret.ptr, secret.len);
        hmac_prepare(&in, &ou, ks, secret.len + 4);
        tp_secure_zero(ks, sizeof ks);
    }
    hmac_finish(k, &in, &ou, date8.ptr, date8.len);
    tp_sigv4__hmac(k, k, sizeof k, region.ptr, region.len);
    tp_sigv4__hmac(k, k, sizeof k, service.ptr, service.len);
    tp_sigv4__hmac(out, k, sizeof k, "aws4_request", 12);
    tp_secure_zero(k, sizeof k);
    tp_secure_zero(&in, sizeof in);
    tp_secure_zero(&ou, sizeof ou);
}

void tp_sigv4_sha256_hex(char out[TP_SIGV4_HASH_HEX_LEN + 1], tp_cursor data)
{
    uint8_t h[32];
    tp_sigv4__sha256(h, data.ptr, data.len);
    tp_hex_encode(out, h, sizeof h);
}

/* ---- options ------------------------------------------------------------- */

TP__DEFINE_INIT(tp_sigv4_config_init, tp_sigv4_config,
                TP_SIGV4_CONFIG_VERSION, TP_SIGV4_CONFIG_INIT)

TP__DEFINE_INIT(tp_sigv4_request_init, tp_sigv4_request,
                TP_SIGV4_REQUEST_VERSION, TP_SIGV4_REQUEST_INIT)

TP__DEFINE_INIT(tp_sigv4_signer_options_init, tp_sigv4_signer_options,
                TP_SIGV4_SIGNER_OPTIONS_VERSION, TP_SIGV4_SIGNER_OPTIONS_INIT)

/* ---- signer -------------------------------------------------------------- */

tp_status tp_sigv4_signer_new(tp_sigv4_signer **out, const tp_sigv4_signer_options *opts,
                              tp_error *err)
{
    if (!out)
        return tp_error__set(err, TP_E_INVALID, "tp_sigv4_signer_new: out is NULL");
    *out = NULL;
    tp_sigv4_signer_options o = TP_SIGV4_SIGNER_OPTIONS_INIT;
    if (opts) {
        if (opts->version != TP_SIGV4_SIGNER_OPTIONS_VERSION)
            return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "version",
                                "unknown tp_sigv4_signer_options version %u",
                                (unsigned)opts->version);
        o = *opts;
    }
    size_t max = DEFAULT_SCRATCH;
    if (o.max_scratch_bytes)
        max = o.max_scratch_bytes > SIZE_MAX / 4 ? SIZE_MAX / 4 : (size_t)o.max_scratch_bytes;
    tp_sigv4_signer *s = tp__calloc(o.alloc, 1, sizeof *s);
    if (!s)
        return tp_error__set(err, TP_E_NOMEM, "out of memory creating a signer");
    s->alloc = o.alloc;
    s->max_scratch = max;
    tp_buf_init(&s->creq, o.alloc, max);
    tp_buf_init(&s->sts, o.alloc, max);
    tp_buf_init(&s->shdr, o.alloc, max);
    tp_buf_init(&s->auth, o.alloc, max);
    tp_buf_init(&s->qbuf, o.alloc, max);
    tp_buf_init(&s->pbuf, o.alloc, max);
    tp_buf_init(&s->phash, o.alloc, max);
    *out = s;
    return TP_OK;
}

void tp_sigv4_signer_free(tp_sigv4_signer *s)
{
    if (!s)
        return;
    const tp_allocator *a = s->alloc;
    tp_buf_dispose(&s->creq);
    tp_buf_dispose(&s->sts);
    tp_buf_dispose(&s->shdr);
    tp_buf_dispose_secure(&s->auth);
    tp_buf_dispose(&s->qbuf);
    tp_buf_dispose(&s->pbuf);
    tp_buf_dispose(&s->phash);
    tp__free(a, s->hents);
    tp__free(a, s->hord);
    tp__free(a, s->htmp);
    tp__free(a, s->qents);
    tp__free(a, s->qtmp);
    tp_secure_zero(s, sizeof *s);
    tp__free(a, s);
}

uint64_t tp_sigv4__derivations(const tp_sigv4_signer *s) { return s ? s->derivations : 0; }

tp_cursor tp_sigv4_signer_canonical_request(const tp_sigv4_signer *s)
{
    if (!s || !s->valid)
        return tp_cursor_make(NULL, 0);
    return tp_buf_cursor(&s->creq);
}

tp_cursor tp_sigv4_signer_string_to_sign(const tp_sigv4_signer *s)
{
    if (!s || !s->valid)
        return tp_cursor_make(NULL, 0);
    return tp_buf_cursor(&s->sts);
}

/* ---- sorting (stable, no allocation) ------------------------------------- */

typedef int (*cmp_fn)(const void *ctx, const void *a, const void *b);

/* Stable merge sort of n elements of `sz` bytes; `tmp` holds n elements. */
static void stable_sort(void *base, void *tmp, size_t n, size_t sz, cmp_fn cmp, const void *ctx)
{
    uint8_t *a = base, *t = tmp;
    if (n < 2)
        return;
    if (n <= SMALL_SORT) {
        for (size_t i = 1; i < n; i++) {
            memcpy(t, a + i * sz, sz);
            size_t j = i;
            while (j > 0 && cmp(ctx, a + (j - 1) * sz, t) > 0) {
                memcpy(a + j * sz, a + (j - 1) * sz, sz);
                j--;
            }
            memcpy(a + j * sz, t, sz);
        }
        return;
    }
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                if (cmp(ctx, a + j * sz, a + i * sz) < 0)
                    memcpy(t + (k++) * sz, a + (j++) * sz, sz);
                else
                    memcpy(t + (k++) * sz, a + (i++) * sz, sz);
            }
            while (i < mid)
                memcpy(t + (k++) * sz, a + (i++) * sz, sz);
            while (j < hi)
                memcpy(t + (k++) * sz, a + (j++) * sz, sz);
        }
        memcpy(a, t, n * sz);
        if (width > n / 2)
            break;
    }
}

static uint64_t name_key(const uint8_t *n, size_t len)
{
    uint64_t k = 0;
    for (size_t i = 0; i < 8; i++)
        k = (k << 8) | (i < len ? lower(n[i]) : 0u);
    return k;
}

static int hdr_cmp(const void *ctx, const void *pa, const void *pb)
{
    (void)ctx;
    const hdr_ent *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    for (size_t i = 8; i < n; i++) {
        uint8_t x = lower(a->name[i]), y = lower(b->name[i]);
        if (x != y)
            return x < y ? -1 : 1;
    }
    if (a->name_len != b->name_len)
        return a->name_len < b->name_len ? -1 : 1;
    return a->idx < b->idx ? -1 : (a->idx > b->idx ? 1 : 0);
}

static int hdr_ptr_cmp(const void *ctx, const void *pa, const void *pb)
{
    return hdr_cmp(ctx, *(hdr_ent *const *)pa, *(hdr_ent *const *)pb);
}

static int bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return an < bn ? -1 : (an > bn ? 1 : 0);
}

static int q_cmp(const void *ctx, const void *pa, const void *pb)
{
    const uint8_t *base = ctx;
    const q_ent *a = pa, *b = pb;
    int c = bytes_cmp(base + a->key_off, a->key_len, base + b->key_off, b->key_len);
    if (c)
        return c;
    return bytes_cmp(base + a->val_off, a->val_len, base + b->val_off, b->val_len);
}

/* ---- scratch growth ------------------------------------------------------ */

static tp_status grow_hdrs(tp_sigv4_signer *s, size_t n, tp_error *err)
{
    if (n <= s->hcap)
        return TP_OK;
    size_t cap = s->hcap ? s->hcap : 16;
    while (cap < n)
        cap *= 2;
    if (cap > s->max_scratch / sizeof(hdr_ent))
        return tp_error__at(err, TP_E_TOO_LARGE, TP_NO_OFFSET, "headers",
                            "%zu headers exceed the signer's scratch limit", n);
    hdr_ent *a = tp__realloc(s->alloc, s->hents, cap * sizeof *a);
    if (!a)
        return tp_error__set(err, TP_E_NOMEM, "out of memory sorting headers");
    s->hents = a;
    hdr_ent **o = tp__realloc(s->alloc, s->hord, cap * sizeof *o);
    if (!o)
        return tp_error__set(err, TP_E_NOMEM, "out of memory sorting headers");
    s->hord = o;
    hdr_ent **t = tp__realloc(s->alloc, s->htmp, cap * sizeof *t);
    if (!t)
        return tp_error__set(err, TP_E_NOMEM, "out of memory sorting headers");
    s->htmp = t;
    s->hcap = cap;
    return TP_OK;
}

static tp_status grow_query(tp_sigv4_signer *s, size_t n, tp_error *err)
{
    if (n <= s->qcap)
        return TP_OK;
    size_t cap = s->qcap ? s->qcap : 16;
    while (cap < n)
        cap *= 2;
    if (cap > s->max_scratch / sizeof(q_ent))
        return tp_error__at(err, TP_E_TOO_LARGE, TP_NO_OFFSET, "query",
                            "%zu query parameters exceed the signer's scratch limit", n);
    q_ent *a = tp__realloc(s->alloc, s->qents, cap * sizeof *a);
    if (!a)
        return tp_error__set(err, TP_E_NOMEM, "out of memory sorting query parameters");
    s->qents = a;
    q_ent *t = tp__realloc(s->alloc, s->qtmp, cap * sizeof *t);
    if (!t)
        return tp_error__set(err, TP_E_NOMEM, "out of memory sorting query parameters");
    s->qtmp = t;
    s->qcap = cap;
    return TP_OK;
}

/* Checked size arithmetic: sets *ok to 0 on overflow. */
static size_t add_sz(size_t a, size_t b, int *ok)
{
    if (a > SIZE_MAX - b) {
        *ok = 0;
        return SIZE_MAX;
    }
    return a + b;
}

static size_t mul_sz(size_t a, size_t b, int *ok)
{
    if (b && a > SIZE_MAX / b) {
        *ok = 0;
        return SIZE_MAX;
    }
    return a * b;
}

/* ---- encoding ------------------------------------------------------------ */

/* Write `b` percent-encoded unless unreserved (or '/' with keep_slash). */
static uint8_t *put_enc(uint8_t *w, uint8_t b, int keep_slash)
{
    if (is_unreserved(b) || (keep_slash && b == '/')) {
        *w++ = b;
    } else {
        *w++ = '%';
        *w++ = (uint8_t)HEX_UP[b >> 4];
        *w++ = (uint8_t)HEX_UP[b & 15];
    }
    return w;
}

/* Decode %XX escapes of `in` and re-encode canonically. A '%' that does not
 * start a valid escape is a literal percent sign. */
static uint8_t *put_reencoded(uint8_t *w, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t b = p[i];
        if (b == '%' && i + 2 < n && tp__hex_val(p[i + 1]) >= 0 && tp__hex_val(p[i + 2]) >= 0) {
            b = (uint8_t)(tp__hex_val(p[i + 1]) * 16 + tp__hex_val(p[i + 2]));
            i += 2;
        }
        w = put_enc(w, b, 0);
    }
    return w;
}

tp_status tp_sigv4_uri_encode(tp_buf *out, tp_cursor in, uint32_t flags, tp_error *err)
{
    if (!out)
        return tp_error__set(err, TP_E_INVALID, "tp_sigv4_uri_encode: out is NULL");
    int ok = 1;
    size_t bound = mul_sz(in.len, 3, &ok);
    if (!ok)
        return tp_error__set(err, TP_E_TOO_LARGE, "input too large to encode");
    tp_status st = tp_buf_reserve(out, bound, err);
    if (st != TP_OK)
        return st;
    uint8_t *w = out->ptr + out->len;
    for (size_t i = 0; i < in.len; i++)
        w = put_enc(w, in.ptr[i], (flags & TP_SIGV4_ENCODE_KEEP_SLASH) != 0);
    out->len = (size_t)(w - out->ptr);
    out->ptr[out->len] = 0;
    return TP_OK;
}

/* ---- time ---------------------------------------------------------------- */

tp_status tp_sigv4__amz_date(char out[TP_SIGV4_DATE_LEN + 1], int64_t now_ms, tp_error *err)
{
    /* 9999-12-31T23:59:59.999Z */
    if (now_ms < 0 || now_ms > INT64_C(253402300799999))
        return tp_error__at(err, TP_E_RANGE, TP_NO_OFFSET, "now_ms",
                            "signing time %lld ms is outside years 1970..9999", (long long)now_ms);
    int64_t secs = now_ms / 1000;
    int64_t days = secs / 86400, rem = secs % 86400;
    int64_t y;
    unsigned m, d;
    tp_time_civil_from_days(days, &y, &m, &d);
    unsigned v[6] = {(unsigned)y / 100,      (unsigned)y % 100,        m, d,
                     (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60)};
    /* YYYYMMDDTHHMMSSZ, written by hand: snprintf costs more than the rest */
    char *p = out;
    for (int i = 0; i < 6; i++) {
        if (i == 4)
            *p++ = 'T';
        *p++ = (char)('0' + v[i] / 10);
        *p++ = (char)('0' + v[i] % 10);
    }
    *p++ = (char)('0' + rem % 60 / 10);
    *p++ = (char)('0' + rem % 10);
    *p++ = 'Z';
    *p = 0;
    return TP_OK;
}

/* ---- validation ---------------------------------------------------------- */

static tp_status check_scope_name(const char *v, const char *what, tp_error *err)
{
    if (!v || !*v)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, what, "%s is missing", what);
    size_t n = strlen(v);
    if (n > SCOPE_NAME_MAX)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, what,
                            "%s is %zu bytes long (at most %d)", what, n, SCOPE_NAME_MAX);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)v[i];
        if (c <= 0x20 || c >= 0x7f || c == '/' || c == ',' || c == ';' || c == '=')
            return tp_error__at(err, TP_E_INVALID, i, what,
                                "%s has a byte that cannot go in a credential scope at offset %zu",
                                what, i);
    }
    return TP_OK;
}

static tp_status check_creds(const tp_credentials *c, size_t *token_len, tp_error *err)
{
    if (!c)
        return tp_error__set(err, TP_E_CREDENTIALS, "no credentials to sign with");
    if (!c->access_key_id || !*c->access_key_id)
        return tp_error__at(err, TP_E_CREDENTIALS, TP_NO_OFFSET, "access_key_id",
                            "the access key id is missing");
    if (!c->secret_access_key || !*c->secret_access_key)
        return tp_error__at(err, TP_E_CREDENTIALS, TP_NO_OFFSET, "secret_access_key",
                            "the secret access key is missing");
    size_t n = strlen(c->access_key_id);
    if (n > 128)
        return tp_error__at(err, TP_E_CREDENTIALS, TP_NO_OFFSET, "access_key_id",
                            "the access key id is %zu bytes long (at most 128)", n);
    for (size_t i = 0; i < n; i++) {
        uint8_t b = (uint8_t)c->access_key_id[i];
        if (b <= 0x20 || b >= 0x7f || b == '/' || b == ',')
            return tp_error__at(err, TP_E_CREDENTIALS, i, "access_key_id",
                                "the access key id has a forbidden byte at offset %zu", i);
    }
    if (strlen(c->secret_access_key) > SECRET_MAX)
        return tp_error__at(err, TP_E_CREDENTIALS, TP_NO_OFFSET, "secret_access_key",
                            "the secret access key is longer than %d bytes", SECRET_MAX);
    *token_len = 0;
    if (c->session_token) {
        size_t t = strlen(c->session_token);
        for (size_t i = 0; i < t; i++) {
            uint8_t b = (uint8_t)c->session_token[i];
            if (b <= 0x20 || b >= 0x7f)
                return tp_error__at(err, TP_E_CREDENTIALS, i, "session_token",
                                    "the session token has a forbidden byte at offset %zu", i);
        }
        *token_len = t;
    }
    return TP_OK;
}

/* Header names the signer adds itself: a caller may not pass them. */
static int reserved_header(const hdr_ent *h, int content_sha)
{
    return ieq(h->name, h->name_len, "authorization") || ieq(h->name, h->name_len, "x-amz-date") ||
           ieq(h->name, h->name_len, "x-amz-security-token") ||
           (content_sha && ieq(h->name, h->name_len, "x-amz-content-sha256"));
}

static tp_status header_error(tp_error *err, size_t i, const hdr_ent *h, const char *what)
{
    char field[TP_ERROR_FIELD_MAX];
    size_t n = h->name_len < sizeof field - 1 ? h->name_len : sizeof field - 1;
    if (n)
        memcpy(field, h->name, n);
    field[n] = 0;
    return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, n ? field : "headers",
                        "header %zu (\"%.*s\"): %s", i, (int)(n > 40 ? 40 : n),
                        (const char *)h->name, what);
}

/* Query parameters the presigner adds itself. */
static const char *const PRESIGN_PARAMS[] = {
    "X-Amz-Algorithm",     "X-Amz-Credential",     "X-Amz-Date",      "X-Amz-Expires",
    "X-Amz-SignedHeaders", "X-Amz-Security-Token", "X-Amz-Signature",
};

/* ---- the signing itself -------------------------------------------------- */

typedef struct sign_ctx {
    const tp_credentials *creds;
    const tp_sigv4_request *req;
    const tp_sigv4_config *cfg;
    int presign;
    int s3;
    int content_sha; /* header form: add x-amz-content-sha256 */
    int sign_token;  /* token part of the signature */
    size_t token_len;
    size_t akid_len, region_len, service_len;
} sign_ctx;

static int same_name(const hdr_ent *a, const hdr_ent *b)
{
    if (a->name_len != b->name_len)
        return 0;
    for (size_t i = 0; i < a->name_len; i++)
        if (lower(a->name[i]) != lower(b->name[i]))
            return 0;
    return 1;
}

/* Collect, validate and sort the headers; build the signed-headers list. */
static tp_status build_headers(tp_sigv4_signer *s, sign_ctx *c, size_t *nh, tp_error *err)
{
    const tp_sigv4_request *r = c->req;
    if (r->header_count && !r->headers)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "headers",
                            "header_count is %zu but headers is NULL", r->header_count);
    int ok = 1;
    size_t n = add_sz(r->header_count, 3, &ok);
    if (!ok)
        return tp_error__set(err, TP_E_TOO_LARGE, "too many headers");
    tp_status st = grow_hdrs(s, n, err);
    if (st != TP_OK)
        return st;
    int have_host = 0;
    size_t k = 0;
    for (size_t i = 0; i < r->header_count; i++) {
        hdr_ent h = {r->headers[i].name.ptr,
                     r->headers[i].name.len,
                     r->headers[i].value.ptr,
                     r->headers[i].value.len,
                     i,
                     0};
        if (h.name_len == 0 || !h.name)
            return header_error(err, i, &h, "empty name");
        for (size_t j = 0; j < h.name_len; j++)
            if (!is_tchar(h.name[j]))
                return header_error(err, i, &h, "the name has a byte that is not a token char");
        if (h.value_len && !h.value)
            return header_error(err, i, &h, "value length without a value");
        for (size_t j = 0; j < h.value_len; j++) {
            uint8_t b = h.value[j];
            if (CCLASS[b] & CC_BAD_VALUE)
                return header_error(err, i, &h,
                                    "the value has a control byte (line breaks cannot be sent)");
        }
        if (reserved_header(&h, c->content_sha))
            return header_error(err, i, &h, "the signer adds this header itself");
        if (ieq(h.name, h.name_len, "host"))
            have_host = 1;
        s->hents[k++] = h;
    }
    if (!have_host)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "host",
                            "the request has no Host header (SigV4 signs it)");
    size_t extra = r->header_count;
    if (!c->presign) {
        hdr_ent d = {(const uint8_t *)"x-amz-date",
                     10,
                     (const uint8_t *)s->date,
                     TP_SIGV4_DATE_LEN,
                     extra++,
                     0};
        s->hents[k++] = d;
        if (c->sign_token) {
            hdr_ent t = {(const uint8_t *)"x-amz-security-token",
                         20,
                         (const uint8_t *)c->creds->session_token,
                         c->token_len,
                         extra++,
                         0};
            s->hents[k++] = t;
        }
        if (c->content_sha) {
            hdr_ent p = {(const uint8_t *)"x-amz-content-sha256",
                         20,
                         s->phash.ptr,
                         s->phash.len,
                         extra++,
                         0};
            s->hents[k++] = p;
        }
    }
    for (size_t i = 0; i < k; i++) {
        s->hents[i].key = name_key(s->hents[i].name, s->hents[i].name_len);
        s->hord[i] = &s->hents[i];
    }
    if (k <= SMALL_SORT) {
        /* the common case, without the generic sort's indirections */
        for (size_t i = 1; i < k; i++) {
            hdr_ent *t = s->hord[i];
            size_t j = i;
            while (j > 0 && hdr_cmp(NULL, s->hord[j - 1], t) > 0) {
                s->hord[j] = s->hord[j - 1];
                j--;
            }
            s->hord[j] = t;
        }
    } else {
        stable_sort(s->hord, s->htmp, k, sizeof(hdr_ent *), hdr_ptr_cmp, NULL);
    }

    /* signed headers: unique lower-case names joined by ';' */
    size_t bound = 0;
    for (size_t i = 0; i < k; i++)
        bound = add_sz(bound, s->hord[i]->name_len + 1, &ok);
    if (!ok)
        return tp_error__set(err, TP_E_TOO_LARGE, "headers too large");
    tp_buf_clear(&s->shdr);
    st = tp_buf_reserve(&s->shdr, bound, err);
    if (st != TP_OK)
        return st;
    uint8_t *w = s->shdr.ptr;
    for (size_t i = 0; i < k; i++) {
        const hdr_ent *h = s->hord[i];
        if (i > 0 && same_name(h, s->hord[i - 1]))
            continue;
        if (i > 0)
            *w++ = ';';
        for (size_t j = 0; j < h->name_len; j++)
            *w++ = lower(h->name[j]);
    }
    s->shdr.len = (size_t)(w - s->shdr.ptr);
    s->shdr.ptr[s->shdr.len] = 0;
    *nh = k;
    return TP_OK;
}

/* Append one query parameter (name and value re-encoded, or encoded from raw
 * when `raw`) to qbuf and the entry list. Room was reserved by the caller. */
static void add_param(tp_sigv4_signer *s, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn,
                      int raw)
{
    q_ent *e = &s->qents[s->qn];
    e->idx = s->qn++;
    uint8_t *w = s->qbuf.ptr + s->qbuf.len;
    e->key_off = s->qbuf.len;
    if (raw)
        for (size_t i = 0; i < kn; i++)
            w = put_enc(w, k[i], 0);
    else
        w = put_reencoded(w, k, kn);
    e->key_len = (size_t)(w - s->qbuf.ptr) - e->key_off;
    e->val_off = (size_t)(w - s->qbuf.ptr);
    if (raw)
        for (size_t i = 0; i < vn; i++)
            w = put_enc(w, v[i], 0);
    else
        w = put_reencoded(w, v, vn);
    e->val_len = (size_t)(w - s->qbuf.ptr) - e->val_off;
    s->qbuf.len = (size_t)(w - s->qbuf.ptr);
}

static void scope_into(char *w, const sign_ctx *c, const char *date)
{
    /* date8/region/service/aws4_request */
    memcpy(w, date, 8);
    w += 8;
    *w++ = '/';
    memcpy(w, c->cfg->region, c->region_len);
    w += c->region_len;
    *w++ = '/';
    memcpy(w, c->cfg->service, c->service_len);
    w += c->service_len;
    memcpy(w, "/aws4_request", 14); /* with the NUL */
}

#define SCOPE_MAX (8 + 1 + SCOPE_NAME_MAX + 1 + SCOPE_NAME_MAX + 13 + 1)

/* Parse the caller's query and, when presigning, add the X-Amz-* parameters. */
static tp_status build_query(tp_sigv4_signer *s, sign_ctx *c, tp_error *err)
{
    tp_cursor q = c->req->query;
    if (q.len && !q.ptr)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "query", "query length without data");
    size_t count = 0;
    for (size_t i = 0; i < q.len; i++)
        if (q.ptr[i] == '&')
            count++;
    int ok = 1;
    count = add_sz(count, 1 + 6, &ok);
    size_t bound = mul_sz(q.len, 3, &ok);
    char scope[SCOPE_MAX];
    if (c->presign) {
        /* algorithm, credential (3x for encoding), date, expires, signed headers, token */
        bound = add_sz(bound, 64 + 3 * (c->akid_len + 1 + SCOPE_MAX), &ok);
        bound = add_sz(bound, 64 + mul_sz(s->shdr.len, 3, &ok), &ok);
        bound = add_sz(bound, 32 + mul_sz(c->token_len, 3, &ok), &ok);
    }
    if (!ok)
        return tp_error__set(err, TP_E_TOO_LARGE, "query too large");
    tp_status st = grow_query(s, count, err);
    if (st != TP_OK)
        return st;
    tp_buf_clear(&s->qbuf);
    st = tp_buf_reserve(&s->qbuf, bound, err);
    if (st != TP_OK)
        return st;
    s->qn = 0;
    size_t start = 0;
    for (size_t i = 0; q.len && i <= q.len; i++) {
        if (i < q.len && q.ptr[i] != '&')
            continue;
        const uint8_t *p = q.ptr + start;
        size_t n = i - start;
        size_t seg_off = start;
        start = i + 1;
        if (n == 0)
            continue; /* "a=1&&b=2": an empty segment is no parameter */
        size_t eq = 0;
        while (eq < n && p[eq] != '=')
            eq++;
        size_t before = s->qn;
        add_param(s, p, eq, eq < n ? p + eq + 1 : p + n, eq < n ? n - eq - 1 : 0, 0);
        if (c->presign) {
            const q_ent *e = &s->qents[before];
            for (size_t j = 0; j < TP_ARRAY_LEN(PRESIGN_PARAMS); j++) {
                if (bytes_cmp(s->qbuf.ptr + e->key_off, e->key_len,
                              (const uint8_t *)PRESIGN_PARAMS[j], strlen(PRESIGN_PARAMS[j])) == 0)
                    return tp_error__at(err, TP_E_INVALID, seg_off, PRESIGN_PARAMS[j],
                                        "the query already has %s (the presigner adds it)",
                                        PRESIGN_PARAMS[j]);
            }
        }
    }
    s->q_user_end = s->qbuf.len;
    s->q_user_n = s->qn;
    if (c->presign) {
        scope_into(scope, c, s->date);
        char cred[128 + 1 + SCOPE_MAX];
        memcpy(cred, c->creds->access_key_id, c->akid_len);
        cred[c->akid_len] = '/';
        memcpy(cred + c->akid_len + 1, scope, strlen(scope) + 1);
#define RAW(str) (const uint8_t *)(str), strlen(str)
        add_param(s, RAW("X-Amz-Algorithm"), RAW(ALGORITHM), 1);
        add_param(s, RAW("X-Amz-Credential"), RAW(cred), 1);
        add_param(s, RAW("X-Amz-Date"), (const uint8_t *)s->date, TP_SIGV4_DATE_LEN, 1);
        add_param(s, RAW("X-Amz-Expires"), RAW(s->expires), 1);
        add_param(s, RAW("X-Amz-SignedHeaders"), s->shdr.ptr, s->shdr.len, 1);
        if (c->sign_token)
            add_param(s, RAW("X-Amz-Security-Token"), (const uint8_t *)c->creds->session_token,
                      c->token_len, 1);
#undef RAW
    }
    s->qbuf.ptr[s->qbuf.len] = 0;
    stable_sort(s->qents, s->qtmp, s->qn, sizeof(q_ent), q_cmp, s->qbuf.ptr);
    return TP_OK;
}

/* The canonical path into `w` (room for 3 * max(len, 1) bytes). */
static uint8_t *put_path(tp_sigv4_signer *s, uint8_t *w, const sign_ctx *c)
{
    tp_cursor p = c->req->path;
    uint32_t f = c->cfg->flags;
    if (p.len == 0) {
        *w++ = '/';
        return w;
    }
    if (c->s3 || (f & TP_SIGV4_NO_DOUBLE_ENCODE)) {
        /* Signed as given (the wire form is the once-encoded form); bytes that
         * cannot be sent as they are get the encoding the wire needs. */
        if (!c->s3 && !(f & TP_SIGV4_NO_PATH_NORMALIZE)) {
            for (size_t i = 0; i < s->pbuf.len; i++)
                w = is_uri_char(s->pbuf.ptr[i]) ? (*w = s->pbuf.ptr[i], w + 1)
                                                : put_enc(w, s->pbuf.ptr[i], 0);
            return w;
        }
        for (size_t i = 0; i < p.len; i++)
            w = is_uri_char(p.ptr[i]) ? (*w = p.ptr[i], w + 1) : put_enc(w, p.ptr[i], 0);
        return w;
    }
    const uint8_t *src = p.ptr;
    size_t n = p.len;
    if (!(f & TP_SIGV4_NO_PATH_NORMALIZE)) {
        src = s->pbuf.ptr;
        n = s->pbuf.len;
    }
    for (size_t i = 0; i < n; i++)
        w = put_enc(w, src[i], 1);
    return w;
}

/* Remove dot segments and empty segments of the path into pbuf; a trailing
 * '/' is kept when something is left before it. */
static tp_status normalize_path(tp_sigv4_signer *s, tp_cursor p, tp_error *err)
{
    tp_buf_clear(&s->pbuf);
    tp_status st = tp_buf_reserve(&s->pbuf, p.len + 1, err);
    if (st != TP_OK)
        return st;
    uint8_t *o = s->pbuf.ptr;
    size_t len = 0;
    size_t i = 0;
    while (i < p.len) {
        while (i < p.len && p.ptr[i] == '/')
            i++;
        size_t b = i;
        while (i < p.len && p.ptr[i] != '/')
            i++;
        size_t n = i - b;
        if (n == 0 || (n == 1 && p.ptr[b] == '.'))
            continue;
        if (n == 2 && p.ptr[b] == '.' && p.ptr[b + 1] == '.') {
            while (len > 0 && o[len - 1] != '/')
                len--;
            if (len > 0)
                len--; /* the '/' that started the popped segment */
            continue;
        }
        o[len++] = '/';
        memcpy(o + len, p.ptr + b, n);
        len += n;
    }
    if (len == 0)
        o[len++] = '/';
    else if (p.ptr[p.len - 1] == '/')
        o[len++] = '/';
    s->pbuf.len = len;
    o[len] = 0;
    return TP_OK;
}

static uint8_t *put_str(uint8_t *w, const void *p, size_t n)
{
    if (n)
        memcpy(w, p, n);
    return w + n;
}

/* Trim spaces and tabs at both ends, fold inner runs of spaces. */
static uint8_t *put_header_value(uint8_t *w, const uint8_t *v, size_t n)
{
    size_t b = 0, e = n;
    while (b < e && (v[b] == ' ' || v[b] == '\t'))
        b++;
    while (e > b && (v[e - 1] == ' ' || v[e - 1] == '\t'))
        e--;
    int sp = 0;
    for (size_t i = b; i < e; i++) {
        if (v[i] == ' ') {
            if (sp)
                continue;
            sp = 1;
        } else {
            sp = 0;
        }
        *w++ = v[i];
    }
    return w;
}

static const key_entry *signing_key(tp_sigv4_signer *s, const sign_ctx *c, key_entry *tmp)
{
    const char *secret = c->creds->secret_access_key;
    size_t sn = strlen(secret);
    for (size_t i = 0; i < KEY_CACHE_N; i++) {
        key_entry *e = &s->cache[i];
        if (e->last_use && e->secret_len == sn && memcmp(e->date, s->date, 8) == 0 &&
            e->region_len == c->region_len && e->service_len == c->service_len &&
            memcmp(e->secret, secret, sn) == 0 &&
            memcmp(e->region, c->cfg->region, c->region_len) == 0 &&
            memcmp(e->service, c->cfg->service, c->service_len) == 0) {
            e->last_use = ++s->clock;
            return e;
        }
    }
    uint8_t key[32];
    tp_sigv4__derive_key(key, tp_cursor_make(secret, sn), tp_cursor_make(s->date, 8),
                         tp_cursor_make(c->cfg->region, c->region_len),
                         tp_cursor_make(c->cfg->service, c->service_len));
    s->derivations++;
    key_entry *e = tmp;
    if (sn <= SECRET_CACHE_MAX) {
        e = &s->cache[0];
        for (size_t i = 1; i < KEY_CACHE_N; i++)
            if (s->cache[i].last_use < e->last_use)
                e = &s->cache[i];
        tp_secure_zero(e, sizeof *e);
        memcpy(e->secret, secret, sn);
        e->secret_len = sn;
        memcpy(e->date, s->date, 8);
        memcpy(e->region, c->cfg->region, c->region_len);
        e->region_len = c->region_len;
        memcpy(e->service, c->cfg->service, c->service_len);
        e->service_len = c->service_len;
        e->last_use = ++s->clock;
    }
    hmac_prepare(&e->inner, &e->outer, key, sizeof key);
    tp_secure_zero(key, sizeof key);
    return e;
}

static tp_status sign_common(tp_sigv4_signer *s, sign_ctx *c, tp_error *err)
{
    const tp_sigv4_request *r = c->req;
    const tp_sigv4_config *cfg = c->cfg;
    tp_status st;
    s->valid = 0;

    if (!r || r->version != TP_SIGV4_REQUEST_VERSION)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "request",
                            r ? "unknown tp_sigv4_request version" : "no request to sign");
    if (!cfg || cfg->version != TP_SIGV4_CONFIG_VERSION)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "config",
                            cfg ? "unknown tp_sigv4_config version" : "no signing config");
    const uint32_t known = TP_SIGV4_S3 | TP_SIGV4_NO_PATH_NORMALIZE | TP_SIGV4_NO_DOUBLE_ENCODE |
                           TP_SIGV4_CONTENT_SHA256 | TP_SIGV4_UNSIGNED_PAYLOAD |
                           TP_SIGV4_OMIT_SESSION_TOKEN;
    if (cfg->flags & ~known)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "flags", "unknown flags 0x%x",
                            (unsigned)(cfg->flags & ~known));
    if ((st = check_scope_name(cfg->region, "region", err)) != TP_OK)
        return st;
    if ((st = check_scope_name(cfg->service, "service", err)) != TP_OK)
        return st;
    if ((st = check_creds(c->creds, &c->token_len, err)) != TP_OK)
        return st;
    c->akid_len = strlen(c->creds->access_key_id);
    c->region_len = strlen(cfg->region);
    c->service_len = strlen(cfg->service);
    c->s3 = (cfg->flags & TP_SIGV4_S3) != 0;
    c->content_sha = !c->presign && (cfg->flags & (TP_SIGV4_S3 | TP_SIGV4_CONTENT_SHA256));
    c->sign_token = c->token_len > 0 && !(cfg->flags & TP_SIGV4_OMIT_SESSION_TOKEN);

    if (r->method.len == 0 || !r->method.ptr)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "method", "the method is missing");
    for (size_t i = 0; i < r->method.len; i++)
        if (!is_tchar(r->method.ptr[i]))
            return tp_error__at(err, TP_E_INVALID, i, "method",
                                "the method has a byte that is not a token char at offset %zu", i);
    if (r->path.len && !r->path.ptr)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "path", "path length without data");
    if (r->path.len && r->path.ptr[0] != '/')
        return tp_error__at(err, TP_E_INVALID, 0, "path", "the path does not start with '/'");
    for (size_t i = 0; i < r->path.len; i++) {
        uint8_t b = r->path.ptr[i];
        if (b < 0x20 || b == 0x7f)
            return tp_error__at(err, TP_E_INVALID, i, "path",
                                "the path has a control byte at offset %zu", i);
    }
    for (size_t i = 0; i < r->query.len; i++) {
        uint8_t b = r->query.ptr ? r->query.ptr[i] : 0;
        if (b < 0x20 || b == 0x7f)
            return tp_error__at(err, TP_E_INVALID, i, "query",
                                "the query has a control byte at offset %zu", i);
    }
    if (c->presign) {
        int64_t ex = cfg->expires_s ? cfg->expires_s : TP_SIGV4_DEFAULT_EXPIRES_S;
        if (ex < 1 || ex > TP_SIGV4_MAX_EXPIRES_S)
            return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "expires_s",
                                "expires_s %lld is outside 1..%d", (long long)cfg->expires_s,
                                TP_SIGV4_MAX_EXPIRES_S);
        snprintf(s->expires, sizeof s->expires, "%lld", (long long)ex);
    }
    if ((st = tp_sigv4__amz_date(s->date, cfg->now_ms, err)) != TP_OK)
        return st;

    /* payload hash */
    tp_buf_clear(&s->phash);
    if (r->payload_hash.len) {
        if (!r->payload_hash.ptr)
            return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "payload_hash",
                                "payload_hash length without data");
        for (size_t i = 0; i < r->payload_hash.len; i++) {
            uint8_t b = r->payload_hash.ptr[i];
            if (b <= 0x20 || b >= 0x7f)
                return tp_error__at(err, TP_E_INVALID, i, "payload_hash",
                                    "payload_hash has a forbidden byte at offset %zu", i);
        }
        st = tp_buf_append(&s->phash, r->payload_hash.ptr, r->payload_hash.len, err);
    } else if ((cfg->flags & TP_SIGV4_UNSIGNED_PAYLOAD) || (c->presign && c->s3)) {
        /* S3 presigned URLs never sign a body they cannot know */
        st = tp_buf_append(&s->phash, UNSIGNED_PAYLOAD, sizeof UNSIGNED_PAYLOAD - 1, err);
    } else {
        if (r->body.len && !r->body.ptr)
            return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "body",
                                "body length without data");
        st = tp_buf_reserve(&s->phash, TP_SIGV4_HASH_HEX_LEN, err);
        if (st == TP_OK) {
            tp_sigv4_sha256_hex((char *)s->phash.ptr, r->body);
            s->phash.len = TP_SIGV4_HASH_HEX_LEN;
        }
    }
    if (st != TP_OK)
        return st;

    size_t nh = 0;
    if ((st = build_headers(s, c, &nh, err)) != TP_OK)
        return st;
    if ((st = build_query(s, c, err)) != TP_OK)
        return st;
    int normalize = !c->s3 && !(cfg->flags & TP_SIGV4_NO_PATH_NORMALIZE);
    if (normalize && r->path.len && (st = normalize_path(s, r->path, err)) != TP_OK)
        return st;

    /* canonical request: one reservation, then plain writes */
    int ok = 1;
    size_t bound = r->method.len + 1;
    bound = add_sz(bound, mul_sz(r->path.len ? r->path.len : 1, 3, &ok) + 1, &ok);
    bound = add_sz(bound, add_sz(s->qbuf.len, 2 * s->qn + 1, &ok), &ok);
    for (size_t i = 0; i < nh; i++)
        bound = add_sz(bound, add_sz(s->hord[i]->name_len, s->hord[i]->value_len + 2, &ok), &ok);
    bound = add_sz(bound, add_sz(s->shdr.len, s->phash.len + 3, &ok), &ok);
    if (!ok)
        return tp_error__set(err, TP_E_TOO_LARGE, "request too large to sign");
    tp_buf_clear(&s->creq);
    if ((st = tp_buf_reserve(&s->creq, bound, err)) != TP_OK)
        return st;
    uint8_t *w = s->creq.ptr;
    w = put_str(w, r->method.ptr, r->method.len);
    *w++ = '\n';
    w = put_path(s, w, c);
    *w++ = '\n';
    for (size_t i = 0; i < s->qn; i++) {
        const q_ent *e = &s->qents[i];
        if (i)
            *w++ = '&';
        w = put_str(w, s->qbuf.ptr + e->key_off, e->key_len);
        *w++ = '=';
        w = put_str(w, s->qbuf.ptr + e->val_off, e->val_len);
    }
    *w++ = '\n';
    for (size_t i = 0; i < nh; i++) {
        const hdr_ent *h = s->hord[i];
        if (i && same_name(h, s->hord[i - 1])) {
            *w++ = ',';
        } else {
            if (i)
                *w++ = '\n';
            for (size_t j = 0; j < h->name_len; j++)
                *w++ = lower(h->name[j]);
            *w++ = ':';
        }
        w = put_header_value(w, h->value, h->value_len);
    }
    *w++ = '\n';
    *w++ = '\n';
    w = put_str(w, s->shdr.ptr, s->shdr.len);
    *w++ = '\n';
    w = put_str(w, s->phash.ptr, s->phash.len);
    s->creq.len = (size_t)(w - s->creq.ptr);
    s->creq.ptr[s->creq.len] = 0;

    /* string to sign */
    char scope[SCOPE_MAX];
    scope_into(scope, c, s->date);
    size_t scope_len = strlen(scope);
    tp_buf_clear(&s->sts);
    if ((st = tp_buf_reserve(&s->sts, sizeof ALGORITHM + TP_SIGV4_DATE_LEN + scope_len + 64 + 3,
                             err)) != TP_OK)
        return st;
    uint8_t h[32];
    tp_sigv4__sha256(h, s->creq.ptr, s->creq.len);
    w = s->sts.ptr;
    w = put_str(w, ALGORITHM "\n", sizeof ALGORITHM);
    w = put_str(w, s->date, TP_SIGV4_DATE_LEN);
    *w++ = '\n';
    w = put_str(w, scope, scope_len);
    *w++ = '\n';
    tp_hex_encode((char *)w, h, sizeof h);
    w += 64;
    s->sts.len = (size_t)(w - s->sts.ptr);
    s->sts.ptr[s->sts.len] = 0;

    /* signature */
    key_entry tmp;
    const key_entry *k = signing_key(s, c, &tmp);
    hmac_finish(h, &k->inner, &k->outer, s->sts.ptr, s->sts.len);
    if (k == &tmp)
        tp_secure_zero(&tmp, sizeof tmp);
    tp_hex_encode(s->signature, h, sizeof h);
    s->valid = 1;
    return TP_OK;
}

tp_status tp_sigv4_sign(tp_sigv4_signer *s, tp_sigv4_output *out, const tp_credentials *creds,
                        const tp_sigv4_request *req, const tp_sigv4_config *cfg, tp_error *err)
{
    if (!s || !out)
        return tp_error__set(err, TP_E_INVALID, "tp_sigv4_sign: %s is NULL", s ? "out" : "signer");
    memset(out, 0, sizeof *out);
    sign_ctx c = {creds, req, cfg, 0, 0, 0, 0, 0, 0, 0, 0};
    tp_status st = sign_common(s, &c, err);
    if (st != TP_OK)
        return st;

    /* Authorization: AWS4-HMAC-SHA256 Credential=AKID/scope, SignedHeaders=..., Signature=... */
    char scope[SCOPE_MAX];
    scope_into(scope, &c, s->date);
    tp_buf_clear(&s->auth);
    st = tp_buf_reserve(&s->auth,
                        sizeof ALGORITHM + 12 + c.akid_len + 1 + strlen(scope) + 16 + s->shdr.len +
                            12 + TP_SIGV4_SIGNATURE_LEN,
                        err);
    if (st != TP_OK) {
        s->valid = 0;
        return st;
    }
    uint8_t *w = s->auth.ptr;
    w = put_str(w, ALGORITHM " Credential=", sizeof ALGORITHM + 11);
    w = put_str(w, creds->access_key_id, c.akid_len);
    *w++ = '/';
    w = put_str(w, scope, strlen(scope));
    w = put_str(w, ", SignedHeaders=", 16);
    w = put_str(w, s->shdr.ptr, s->shdr.len);
    w = put_str(w, ", Signature=", 12);
    w = put_str(w, s->signature, TP_SIGV4_SIGNATURE_LEN);
    s->auth.len = (size_t)(w - s->auth.ptr);
    s->auth.ptr[s->auth.len] = 0;

    size_t n = 0;
    if (c.token_len) {
        out->headers[n].name = tp_cursor_make("X-Amz-Security-Token", 20);
        out->headers[n++].value = tp_cursor_make(creds->session_token, c.token_len);
    }
    out->headers[n].name = tp_cursor_make("X-Amz-Date", 10);
    out->headers[n++].value = tp_cursor_make(s->date, TP_SIGV4_DATE_LEN);
    if (c.content_sha) {
        out->headers[n].name = tp_cursor_make("x-amz-content-sha256", 20);
        out->headers[n++].value = tp_buf_cursor(&s->phash);
    }
    out->headers[n].name = tp_cursor_make("Authorization", 13);
    out->headers[n++].value = tp_buf_cursor(&s->auth);
    out->header_count = n;
    memcpy(out->amz_date, s->date, sizeof out->amz_date);
    memcpy(out->signature, s->signature, sizeof out->signature);
    return TP_OK;
}

/* The path and the caller's query parameters of a presigned URL, as they
 * were signed, then '?' (and '&' after the caller's parameters): a URL is
 * sent as written, so it must hold the bytes the signature covers. The
 * query is written re-encoded as canonicalized (RFC 3986 unreserved bytes as
 * they are, every other byte %XX, escapes kept), in the caller's order. An
 * S3 path (or TP_SIGV4_NO_DOUBLE_ENCODE) is written in the form it was
 * signed in; any other path is signed as the once-encoded wire form and
 * double-encoded, so a byte that cannot stand in a URL there (a space, a
 * non-ASCII byte) is refused: encode it first. */
static tp_status put_wire_target(tp_sigv4_signer *s, tp_buf *out, const sign_ctx *c,
                                 tp_error *err)
{
    tp_cursor p = c->req->path;
    const uint32_t f = c->cfg->flags;
    int ok = 1;
    size_t room = add_sz(mul_sz(p.len ? p.len : 1, 3, &ok), add_sz(s->q_user_end, s->qn * 2 + 2,
                                                                   &ok),
                         &ok);
    if (!ok)
        return tp_error__set(err, TP_E_TOO_LARGE, "presigned URL too large");
    if (!(c->s3 || (f & TP_SIGV4_NO_DOUBLE_ENCODE))) {
        for (size_t i = 0; i < p.len; i++)
            if (!is_uri_char(p.ptr[i]))
                return tp_error__at(err, TP_E_INVALID, i, "path",
                                    "path byte 0x%02x at offset %zu cannot stand in a URL as "
                                    "it is (percent-encode the path)",
                                    p.ptr[i], i);
    }
    tp_status st = tp_buf_reserve(out, room, err);
    if (st != TP_OK)
        return st;
    uint8_t *w = out->ptr + out->len;
    if (c->s3 || (f & TP_SIGV4_NO_DOUBLE_ENCODE)) {
        w = put_path(s, w, c);
    } else if (p.len) {
        memcpy(w, p.ptr, p.len);
        w += p.len;
    } else {
        *w++ = '/';
    }
    *w++ = '?';
    /* the caller's parameters, in their order */
    for (size_t i = 0; i < s->qn; i++) /* qtmp (the sort's scratch) by place */
        if (s->qents[i].idx < s->q_user_n)
            s->qtmp[s->qents[i].idx] = s->qents[i];
    for (size_t k = 0; k < s->q_user_n; k++) {
        const q_ent *e = &s->qtmp[k];
        memcpy(w, s->qbuf.ptr + e->key_off, e->key_len);
        w += e->key_len;
        *w++ = '=';
        memcpy(w, s->qbuf.ptr + e->val_off, e->val_len);
        w += e->val_len;
        *w++ = '&';
    }
    out->len = (size_t)(w - out->ptr);
    out->ptr[out->len] = 0;
    return TP_OK;
}

tp_status tp_sigv4_presign(tp_sigv4_signer *s, tp_buf *out, const tp_credentials *creds,
                           const tp_sigv4_request *req, const tp_sigv4_config *cfg, tp_error *err)
{
    if (!s || !out)
        return tp_error__set(err, TP_E_INVALID, "tp_sigv4_presign: %s is NULL",
                             s ? "out" : "signer");
    sign_ctx c = {creds, req, cfg, 1, 0, 0, 0, 0, 0, 0, 0};
    tp_status st = sign_common(s, &c, err);
    if (st != TP_OK)
        return st;
    /* path and query as given, then the parameters in the customary order */
    size_t before = out->len;
    char scope[SCOPE_MAX];
    scope_into(scope, &c, s->date);
    st = put_wire_target(s, out, &c, err);
    if (st != TP_OK) {
        /* signed, but the URL cannot carry it: the views show what was
         * signed; on any other failure they are empty, as always */
        out->len = before;
        if (out->ptr)
            out->ptr[before] = 0;
        if (st != TP_E_INVALID)
            s->valid = 0;
        return st;
    }
    if (st == TP_OK)
        st = tp_buf_appendf(out, err, "X-Amz-Algorithm=%s&X-Amz-Credential=", ALGORITHM);
    if (st == TP_OK)
        st = tp_sigv4_uri_encode(out, tp_cursor_from_str(creds->access_key_id), 0, err);
    if (st == TP_OK)
        st = tp_buf_append(out, "%2F", 3, err);
    if (st == TP_OK)
        st = tp_sigv4_uri_encode(out, tp_cursor_from_str(scope), 0, err);
    if (st == TP_OK)
        st = tp_buf_appendf(out, err, "&X-Amz-Date=%s&X-Amz-SignedHeaders=", s->date);
    if (st == TP_OK)
        st = tp_sigv4_uri_encode(out, tp_buf_cursor(&s->shdr), 0, err);
    if (st == TP_OK)
        st = tp_buf_appendf(out, err, "&X-Amz-Expires=%s", s->expires);
    if (st == TP_OK && c.token_len) {
        st = tp_buf_append_str(out, "&X-Amz-Security-Token=", err);
        if (st == TP_OK)
            st =
                tp_sigv4_uri_encode(out, tp_cursor_make(creds->session_token, c.token_len), 0, err);
    }
    if (st == TP_OK)
        st = tp_buf_appendf(out, err, "&X-Amz-Signature=%s", s->signature);
    if (st != TP_OK) {
        out->len = before;
        if (out->ptr)
            out->ptr[before] = 0;
        s->valid = 0;
    }
    return st;
}
