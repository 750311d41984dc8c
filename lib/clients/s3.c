/* Floor 4: the S3 client (REST + XML). */
#include "aws/aws_int.h"
#include "s3_int.h"
#include "tradepipe/s3.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

struct tp_s3 {
    tp_aws_conn conn;
    tp_buf path, query;
    char host_prefix[80];
};

tp_status tp_s3_new(tp_s3 **out, const tp_aws_client_options *opts, tp_error *err)
{
    if (!out)
        return tp_error__set(err, TP_E_INVALID, "tp_s3_new: out is NULL");
    *out = NULL;
    const tp_allocator *a = opts ? opts->alloc : NULL;
    tp_s3 *s = tp__calloc(a, 1, sizeof *s);
    if (!s)
        return tp_error__set(err, TP_E_NOMEM, "out of memory creating an S3 client");
    tp_status st = tp_aws__conn_init(&s->conn, "s3", TP_AWS_PROTO_XML, TP_SIGV4_S3, opts, err);
    if (st != TP_OK) {
        tp__free(a, s);
        return st;
    }
    tp_buf_init(&s->path, s->conn.alloc, 0);
    tp_buf_init(&s->query, s->conn.alloc, 0);
    *out = s;
    return TP_OK;
}

void tp_s3_free(tp_s3 *s)
{
    if (!s)
        return;
    tp_allocator a = s->conn.alloc_copy;
    int has = s->conn.alloc != NULL;
    tp_buf_dispose(&s->path);
    tp_buf_dispose(&s->query);
    tp_aws__conn_dispose(&s->conn);
    tp__free(has ? &a : NULL, s);
}

/* S3 bucket naming rules: 3-63 of [a-z0-9.-], starting and ending with a
 * letter or digit. */
static tp_status check_bucket(const char *b, tp_error *err)
{
    size_t n = b ? strlen(b) : 0;
    int ok = n >= 3 && n <= 63;
    for (size_t i = 0; ok && i < n; i++) {
        char c = b[i];
        ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
    }
    if (ok)
        ok = b[0] != '.' && b[0] != '-' && b[n - 1] != '.' && b[n - 1] != '-';
    return ok ? TP_OK
              : tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "Bucket",
                             "bucket names are 3 to 63 characters of a-z, 0-9, '.' and '-'");
}

static tp_status check_key(const char *k, tp_error *err)
{
    size_t n = k ? strlen(k) : 0;
    if (n == 0 || n > 1024)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "Key",
                            "object keys are 1 to 1024 bytes");
    return TP_OK;
}

/* Build the wire path for bucket (+ key): path-style on custom endpoints and
 * for bucket names with dots (TLS wildcards do not cover them), else
 * virtual-hosted style. */
static tp_status target(tp_s3 *s, const char *bucket, const char *key, tp_error *err)
{
    tp_status st = check_bucket(bucket, err);
    if (st != TP_OK)
        return st;
    if (key && (st = check_key(key, err)) != TP_OK)
        return st;
    tp_buf_clear(&s->path);
    int vhost = !s->conn.custom_endpoint && !strchr(bucket, '.');
    if (vhost) {
        snprintf(s->host_prefix, sizeof s->host_prefix, "%s.", bucket);
        st = tp_buf_append(&s->path, "/", 1, err);
    } else {
        s->host_prefix[0] = 0;
        st = tp_buf_appendf(&s->path, err, "/%s%s", bucket, key ? "/" : "");
    }
    if (st == TP_OK && key)
        st = tp_sigv4_uri_encode(&s->path, tp_cursor_from_str(key), TP_SIGV4_ENCODE_KEEP_SLASH,
                                 err);
    return st;
}

static tp_status s3_send(tp_s3 *s, const char *method, const char *query, const tp_http_header *h,
                      size_t nh, tp_cursor body, tp_http_write_fn sink, void *sink_payload,
                      tp_http_response *resp, const char *what, tp_error *err)
{
    tp_aws_req r = {0};
    r.method = method;
    r.path = (const char *)s->path.ptr;
    r.query = query;
    r.host_prefix = s->host_prefix[0] ? s->host_prefix : NULL;
    r.headers = h;
    r.n_headers = nh;
    r.body = body;
    r.sink = sink;
    r.sink_payload = sink_payload;
    return tp_aws__call(&s->conn, &r, resp, what, err);
}

static void md5_b64(tp_cursor data, char out[32])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    out[0] = 0;
    if (EVP_Digest(data.ptr ? data.ptr : (const uint8_t *)"", data.len, md, &mdlen, EVP_md5(),
                   NULL) != 1)
        return;
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (unsigned int i = 0; i < mdlen; i += 3) {
        uint32_t v = (uint32_t)md[i] << 16;
        if (i + 1 < mdlen)
            v |= (uint32_t)md[i + 1] << 8;
        if (i + 2 < mdlen)
            v |= md[i + 2];
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = i + 1 < mdlen ? tbl[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < mdlen ? tbl[v & 63] : '=';
    }
    out[o] = 0;
}

static void md5_hex(tp_cursor data, char out[33])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    out[0] = 0;
    if (EVP_Digest(data.ptr ? data.ptr : (const uint8_t *)"", data.len, md, &mdlen, EVP_md5(),
                   NULL) == 1 &&
        mdlen == 16)
        tp_hex_encode(out, md, 16);
}

/* Copy header `name` with surrounding quotes removed. */
static void header_copy(const tp_http_response *r, const char *name, char *out, size_t cap)
{
    tp_cursor v;
    out[0] = 0;
    if (tp_http_response_header(r, name, &v) != TP_OK)
        return;
    if (v.len >= 2 && v.ptr[0] == '"' && v.ptr[v.len - 1] == '"') {
        v.ptr++;
        v.len -= 2;
    }
    size_t n = v.len < cap - 1 ? v.len : cap - 1;
    memcpy(out, v.ptr, n);
    out[n] = 0;
}

static void fill_info(const tp_http_response *r, tp_s3_object_info *info)
{
    char tmp[64];
    memset(info, 0, sizeof *info);
    header_copy(r, "ETag", info->etag, sizeof info->etag);
    header_copy(r, "Content-Type", info->content_type, sizeof info->content_type);
    header_copy(r, "Content-Length", tmp, sizeof tmp);
    info->size = tmp[0] ? strtoull(tmp, NULL, 10) : r->body_bytes;
    header_copy(r, "Last-Modified", tmp, sizeof tmp);
    int64_t t = tp_http__parse_date(tmp);
    info->last_modified_ms = t < 0 ? 0 : t * 1000;
}

tp_status tp_s3_create_bucket(tp_s3 *s, const char *bucket, tp_error *err)
{
    tp_http_response resp;
    char body[256] = "";
    tp_status st = target(s, bucket, NULL, err);
    if (st != TP_OK)
        return st;
    if (strcmp(s->conn.region, "us-east-1") != 0)
        snprintf(body, sizeof body,
                 "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                 "<LocationConstraint>%s</LocationConstraint></CreateBucketConfiguration>",
                 s->conn.region);
    tp_http_response_init(&resp, s->conn.alloc);
    st = s3_send(s, "PUT", NULL, NULL, 0, tp_cursor_from_str(body), NULL, NULL, &resp,
              "S3.CreateBucket", err);
    tp_http_response_dispose(&resp);
    return st;
}

/* DELETE of a bucket (key NULL) or an object: no body either way. */
static tp_status s3_delete(tp_s3 *s, const char *bucket, const char *key, const char *what,
                           tp_error *err)
{
    tp_http_response resp;
    tp_status st = target(s, bucket, key, err);
    if (st != TP_OK)
        return st;
    tp_http_response_init(&resp, s->conn.alloc);
    st = s3_send(s, "DELETE", NULL, NULL, 0, tp_cursor_make(NULL, 0), NULL, NULL, &resp, what,
                 err);
    tp_http_response_dispose(&resp);
    return st;
}

tp_status tp_s3_delete_bucket(tp_s3 *s, const char *bucket, tp_error *err)
{
    return s3_delete(s, bucket, NULL, "S3.DeleteBucket", err);
}

/* Whether the ETag of a single-part write is the MD5 of its data: not with
 * server-side encryption by KMS keys (aws:kms, aws:kms:dsse) or customer
 * keys (SSE-C), which the answer's headers announce. */
static int etag_is_md5(const tp_http_response *r)
{
    tp_cursor v;
    if (tp_http_response_header(r, "x-amz-server-side-encryption-customer-algorithm", &v) ==
        TP_OK)
        return 0;
    if (tp_http_response_header(r, "x-amz-server-side-encryption", &v) != TP_OK)
        return 1;
    return v.len == 6 && memcmp(v.ptr, "AES256", 6) == 0;
}

tp_status tp_s3_put_object(tp_s3 *s, const char *bucket, const char *key, tp_cursor data,
                           const char *content_type, tp_s3_object_info *info, tp_error *err)
{
    tp_http_response resp;
    char md5[32], hex[33];
    tp_status st = target(s, bucket, key, err);
    if (st != TP_OK)
        return st;
    md5_b64(data, md5);
    tp_http_header h[2] = {{"content-md5", md5},
                           {"content-type", content_type ? content_type : "application/octet-stream"}};
    tp_http_response_init(&resp, s->conn.alloc);
    st = s3_send(s, "PUT", NULL, h, 2, data.ptr ? data : tp_cursor_make("", 0), NULL, NULL, &resp,
              "S3.PutObject", err);
    if (st == TP_OK) {
        tp_s3_object_info tmp;
        tp_s3_object_info *i = info ? info : &tmp;
        fill_info(&resp, i);
        i->size = data.len;
        md5_hex(data, hex);
        /* S3 checked the body against our Content-MD5 (BadDigest otherwise).
         * The ETag is checked as well only where it is an MD5 of the data
         * (S3 User Guide, "Checking object integrity", ETag): a single PUT
         * in plaintext or SSE-S3; with SSE-KMS, DSSE-KMS or SSE-C it is not,
         * and a success must stay a success. */
        if (i->etag[0] && strlen(i->etag) == 32 && etag_is_md5(&resp) && strcmp(i->etag, hex) != 0)
            st = tp_error__at(err, TP_E_CHECKSUM, TP_NO_OFFSET, "ETag",
                              "S3.PutObject: ETag %s is not the MD5 %s of what we sent", i->etag,
                              hex);
    }
    tp_http_response_dispose(&resp);
    return st;
}

tp_status tp_s3_get_object(tp_s3 *s, const char *bucket, const char *key, tp_http_write_fn sink,
                           void *sink_payload, tp_s3_object_info *info, tp_error *err)
{
    tp_http_response resp;
    tp_status st = target(s, bucket, key, err);
    if (st != TP_OK)
        return st;
    if (!sink)
        return tp_error__set(err, TP_E_INVALID, "tp_s3_get_object needs a sink");
    tp_http_response_init(&resp, s->conn.alloc);
    st = s3_send(s, "GET", NULL, NULL, 0, tp_cursor_make(NULL, 0), sink, sink_payload, &resp,
              "S3.GetObject", err);
    if (st == TP_OK && info)
        fill_info(&resp, info);
    if (st == TP_OK && info && info->size != resp.body_bytes)
        st = tp_error__set(err, TP_E_HTTP, "S3.GetObject: %llu bytes received of %llu",
                           (unsigned long long)resp.body_bytes, (unsigned long long)info->size);
    tp_http_response_dispose(&resp);
    return st;
}

static tp_status buf_sink(const uint8_t *data, size_t len, void *payload)
{
    return tp_buf_append(payload, data, len, NULL);
}

tp_status tp_s3_get_object_buf(tp_s3 *s, const char *bucket, const char *key, tp_buf *out,
                               tp_s3_object_info *info, tp_error *err)
{
    return tp_s3_get_object(s, bucket, key, buf_sink, out, info, err);
}

/* HEAD of `key` in `bucket` (NULL key: of the bucket); fills `info` when not
 * NULL. `what` names the operation in errors. */
static tp_status head(tp_s3 *s, const char *bucket, const char *key, tp_s3_object_info *info,
                      const char *what, tp_error *err)
{
    tp_http_response resp;
    tp_status st = target(s, bucket, key, err);
    if (st != TP_OK)
        return st;
    tp_http_response_init(&resp, s->conn.alloc);
    st = s3_send(s, "HEAD", NULL, NULL, 0, tp_cursor_make(NULL, 0), NULL, NULL, &resp, what, err);
    if (st == TP_OK && info)
        fill_info(&resp, info);
    tp_http_response_dispose(&resp);
    return st;
}

tp_status tp_s3_head_object(tp_s3 *s, const char *bucket, const char *key,
                            tp_s3_object_info *info, tp_error *err)
{
    return head(s, bucket, key, info, "S3.HeadObject", err);
}

tp_status tp_s3_head_bucket(tp_s3 *s, const char *bucket, tp_error *err)
{
    return head(s, bucket, NULL, NULL, "S3.HeadBucket", err);
}

tp_status tp_s3_delete_object(tp_s3 *s, const char *bucket, const char *key, tp_error *err)
{
    return s3_delete(s, bucket, key, "S3.DeleteObject", err);
}

/* ---- ListObjectsV2 ------------------------------------------------------- */

typedef struct list_state {
    tp_s3_list_fn fn;
    void *payload;
    tp_buf key, etag, sclass, token;
    uint64_t size;
    int64_t mtime_ms;
    int truncated;
    int in_error;
    int url_encoded; /* the answer says <EncodingType>url</EncodingType> */
    tp_aws_errinfo errinfo;
} list_state;

/* A key as S3 writes it with encoding-type=url: form-encoded ('+' a space,
 * %XX a byte), as botocore decodes it (unquote_plus). A key holds no NUL. */
static tp_status url_decode_key(tp_buf *b, tp_cursor text, tp_error *err)
{
    tp_buf_clear(b);
    tp_status st = tp_buf_reserve(b, text.len + 1, err);
    if (st != TP_OK)
        return st;
    uint8_t *w = b->ptr;
    for (size_t i = 0; i < text.len; i++) {
        uint8_t c = text.ptr[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int h1 = i + 2 < text.len ? tp__hex_val(text.ptr[i + 1]) : -1;
            int h2 = h1 >= 0 ? tp__hex_val(text.ptr[i + 2]) : -1;
            if (h2 < 0)
                return tp_error__at(err, TP_E_PARSE, i, "Key",
                                    "ListObjectsV2: bad %%-escape in a url-encoded Key at "
                                    "byte %zu",
                                    i);
            c = (uint8_t)(h1 * 16 + h2);
            i += 2;
        }
        if (c == 0)
            return tp_error__at(err, TP_E_PARSE, i, "Key", "ListObjectsV2: a Key with a NUL byte");
        *w++ = c;
    }
    b->len = (size_t)(w - b->ptr);
    b->ptr[b->len] = 0;
    return TP_OK;
}

static tp_status copy_to(tp_buf *b, tp_cursor text, tp_error *err)
{
    tp_buf_clear(b);
    tp_status st = tp_buf_append(b, text.ptr ? text.ptr : (const uint8_t *)"", text.len, err);
    if (st == TP_OK && !b->ptr)
        st = tp_buf_reserve(b, 1, err);
    return st;
}

static tp_status list_leaf(void *payload, const char *path, size_t depth, tp_cursor text,
                           int leaf, tp_error *err)
{
    list_state *ls = payload;
    if (depth == 1) {
        if (strcmp(path, "ListBucketResult") != 0)
            return tp_error__at(err, TP_E_PARSE, 0, path,
                                "ListObjectsV2: answer is not a ListBucketResult");
        return TP_OK;
    }
    if (depth == 2 && leaf) {
        const char *k = path + strlen("ListBucketResult/");
        if (!strcmp(k, "IsTruncated"))
            ls->truncated = text.len == 4 && !memcmp(text.ptr, "true", 4);
        else if (!strcmp(k, "NextContinuationToken"))
            return copy_to(&ls->token, text, err);
        return TP_OK;
    }
    if (depth == 2 && !strcmp(path, "ListBucketResult/Contents")) {
        tp_s3_list_entry e;
        if (!ls->key.len)
            return tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, "Key",
                                "ListObjectsV2: an entry without a Key");
        e.key = (const char *)ls->key.ptr;
        e.size = ls->size;
        e.last_modified_ms = ls->mtime_ms;
        e.etag = ls->etag.ptr ? (const char *)ls->etag.ptr : "";
        e.storage_class = ls->sclass.ptr ? (const char *)ls->sclass.ptr : "";
        tp_status st = ls->fn(&e, ls->payload);
        if (st != TP_OK)
            return tp_error__set(err, st, "ListObjectsV2: the callback stopped with %s",
                                 tp_strerror(st));
        tp_buf_clear(&ls->key);
        tp_buf_clear(&ls->etag);
        tp_buf_clear(&ls->sclass);
        ls->size = 0;
        ls->mtime_ms = 0;
        return TP_OK;
    }
    if (depth == 3 && leaf && !strncmp(path, "ListBucketResult/Contents/", 26)) {
        const char *k = path + 26;
        if (!strcmp(k, "Key"))
            return ls->url_encoded ? url_decode_key(&ls->key, text, err)
                                   : copy_to(&ls->key, text, err);
        if (!strcmp(k, "ETag")) {
            if (text.len >= 2 && text.ptr[0] == '"' && text.ptr[text.len - 1] == '"') {
                text.ptr++;
                text.len -= 2;
            }
            return copy_to(&ls->etag, text, err);
        }
        if (!strcmp(k, "StorageClass"))
            return copy_to(&ls->sclass, text, err);
        if (!strcmp(k, "Size")) {
            uint64_t v = 0;
            if (!text.len || text.len > 19)
                return tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, "Size", "bad Size");
            for (size_t i = 0; i < text.len; i++) {
                if (text.ptr[i] < '0' || text.ptr[i] > '9')
                    return tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, "Size", "bad Size");
                v = v * 10 + (uint64_t)(text.ptr[i] - '0');
            }
            ls->size = v;
            return TP_OK;
        }
        if (!strcmp(k, "LastModified")) {
            int64_t us = 0;
            tp_error terr;
            if (tp_time_parse_iso8601(&us, text, &terr) != TP_OK)
                return tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, "LastModified",
                                    "bad LastModified");
            ls->mtime_ms = us / 1000;
        }
    }
    return TP_OK;
}

tp_status tp_s3__parse_list(tp_cursor xml, tp_s3_list_fn fn, void *payload, tp_buf *next_token,
                            int *truncated, const tp_allocator *alloc, tp_error *err)
{
    list_state ls;
    memset(&ls, 0, sizeof ls);
    ls.fn = fn;
    ls.payload = payload;
    tp_buf_init(&ls.key, alloc, 4096);
    tp_buf_init(&ls.etag, alloc, 256);
    tp_buf_init(&ls.sclass, alloc, 256);
    tp_buf_init(&ls.token, alloc, 4096);
    /* Keys are url-encoded when the answer says so (S3 does when asked;
     * s3rver ignores the parameter). The element may follow the Contents, so
     * it is looked for first; a '<' inside a key is written &lt; or %3C, so
     * the text can only be the element. */
    static const char enc[] = "<EncodingType>url</EncodingType>";
    ls.url_encoded = xml.len >= sizeof enc - 1 &&
                     memmem(xml.ptr, xml.len, enc, sizeof enc - 1) != NULL;
    tp_status st = tp_xml__walk(xml, list_leaf, &ls, alloc, err);
    if (st == TP_OK) {
        *truncated = ls.truncated;
        tp_buf_clear(next_token);
        st = tp_buf_append(next_token, ls.token.ptr ? ls.token.ptr : (const uint8_t *)"",
                           ls.token.len, err);
    }
    tp_buf_dispose(&ls.key);
    tp_buf_dispose(&ls.etag);
    tp_buf_dispose(&ls.sclass);
    tp_buf_dispose(&ls.token);
    return st;
}

tp_status tp_s3_list_objects(tp_s3 *s, const char *bucket, const char *prefix,
                             uint32_t page_size, tp_s3_list_fn fn, void *payload, uint32_t *pages,
                             tp_error *err)
{
    tp_buf token;
    tp_http_response resp;
    tp_status st = target(s, bucket, NULL, err);
    if (pages)
        *pages = 0;
    if (st != TP_OK)
        return st;
    if (!fn)
        return tp_error__set(err, TP_E_INVALID, "tp_s3_list_objects needs a callback");
    tp_buf_init(&token, s->conn.alloc, 0);
    tp_http_response_init(&resp, s->conn.alloc);
    for (uint32_t page = 0;; page++) {
        if (page > 10000000) {
            st = tp_error__set(err, TP_E_LIMIT, "ListObjectsV2: too many pages");
            break;
        }
        /* Parameters in sorted order, values percent-encoded. */
        tp_buf_clear(&s->query);
        if (token.len) {
            st = tp_buf_append_str(&s->query, "continuation-token=", err);
            if (st == TP_OK)
                st = tp_sigv4_uri_encode(&s->query, tp_buf_cursor(&token), 0, err);
            if (st == TP_OK)
                st = tp_buf_append(&s->query, "&", 1, err);
        }
        /* encoding-type=url: a key with a byte XML 1.0 cannot carry (a C0
         * control) would otherwise make the answer unparseable */
        if (st == TP_OK)
            st = tp_buf_appendf(&s->query, err, "encoding-type=url&list-type=2&max-keys=%u",
                                page_size ? page_size : 1000);
        if (st == TP_OK && prefix && *prefix) {
            st = tp_buf_append_str(&s->query, "&prefix=", err);
            if (st == TP_OK)
                st = tp_sigv4_uri_encode(&s->query, tp_cursor_from_str(prefix), 0, err);
        }
        if (st != TP_OK)
            break;
        st = s3_send(s, "GET", (const char *)s->query.ptr, NULL, 0, tp_cursor_make(NULL, 0), NULL,
                  NULL, &resp, "S3.ListObjectsV2", err);
        if (st != TP_OK)
            break;
        if (pages)
            (*pages)++;
        int truncated = 0;
        st = tp_s3__parse_list(tp_buf_cursor(&resp.body), fn, payload, &token, &truncated,
                               s->conn.alloc, err);
        if (st != TP_OK)
            break;
        if (!truncated)
            break;
        if (!token.len) {
            st = tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, "NextContinuationToken",
                              "ListObjectsV2: truncated answer without a continuation token");
            break;
        }
    }
    tp_buf_dispose(&token);
    tp_http_response_dispose(&resp);
    return st;
}

/* ---- multipart ----------------------------------------------------------- */

typedef struct leaf_grab {
    const char *path;
    char *out;
    size_t cap;
    int found;
    int too_long;
} leaf_grab;

static tp_status grab_leaf(void *payload, const char *path, size_t depth, tp_cursor text,
                           int leaf, tp_error *err)
{
    leaf_grab *g = payload;
    (void)depth;
    (void)err;
    if (leaf && strcmp(path, g->path) == 0) {
        if (text.len >= g->cap) {
            g->too_long = 1;
            return TP_OK;
        }
        memcpy(g->out, text.ptr, text.len);
        g->out[text.len] = 0;
        g->found = 1;
    }
    return TP_OK;
}

tp_status tp_s3_multipart_create(tp_s3 *s, const char *bucket, const char *key,
                                 const char *content_type, char upload_id[TP_S3_UPLOAD_ID_MAX],
                                 tp_error *err)
{
    tp_http_response resp;
    upload_id[0] = 0;
    tp_status st = target(s, bucket, key, err);
    if (st != TP_OK)
        return st;
    tp_http_header h = {"content-type", content_type ? content_type : "application/octet-stream"};
    tp_http_response_init(&resp, s->conn.alloc);
    st = s3_send(s, "POST", "uploads=", &h, 1, tp_cursor_make("", 0), NULL, NULL, &resp,
              "S3.CreateMultipartUpload", err);
    if (st == TP_OK) {
        leaf_grab g = {"InitiateMultipartUploadResult/UploadId", upload_id, TP_S3_UPLOAD_ID_MAX, 0,
                       0};
        st = tp_xml__walk(tp_buf_cursor(&resp.body), grab_leaf, &g, s->conn.alloc, err);
        if (st == TP_OK && (!g.found || !upload_id[0]))
            st = tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, "UploadId",
                              "S3.CreateMultipartUpload: answer %s UploadId",
                              g.too_long ? "has too long an" : "lacks an");
    }
    tp_http_response_dispose(&resp);
    return st;
}

static tp_status upload_query(tp_s3 *s, uint32_t part, const char *upload_id, tp_error *err)
{
    tp_buf_clear(&s->query);
    tp_status st = TP_OK;
    if (part)
        st = tp_buf_appendf(&s->query, err, "partNumber=%u&", part);
    if (st == TP_OK)
        st = tp_buf_append_str(&s->query, "uploadId=", err);
    if (st == TP_OK)
        st = tp_sigv4_uri_encode(&s->query, tp_cursor_from_str(upload_id), 0, err);
    return st;
}

tp_status tp_s3_multipart_upload_part(tp_s3 *s, const char *bucket, const char *key,
                                      const char *upload_id, uint32_t part_number, tp_cursor data,
                                      char etag[TP_S3_ETAG_MAX], tp_error *err)
{
    tp_http_response resp;
    char md5[32];
    etag[0] = 0;
    tp_status st = target(s, bucket, key, err);
    if (st != TP_OK)
        return st;
    if (part_number < 1 || part_number > 10000 || !upload_id || !*upload_id)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "PartNumber",
                            "part numbers are 1 to 10000, with an upload id");
    st = upload_query(s, part_number, upload_id, err);
    if (st != TP_OK)
        return st;
    md5_b64(data, md5);
    tp_http_header h = {"content-md5", md5};
    tp_http_response_init(&resp, s->conn.alloc);
    st = s3_send(s, "PUT", (const char *)s->query.ptr, &h, 1,
              data.ptr ? data : tp_cursor_make("", 0), NULL, NULL, &resp, "S3.UploadPart", err);
    if (st == TP_OK) {
        header_copy(&resp, "ETag", etag, TP_S3_ETAG_MAX);
        if (!etag[0])
            st = tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, "ETag",
                              "S3.UploadPart: answer without an ETag");
    }
    tp_http_response_dispose(&resp);
    return st;
}

tp_status tp_s3_multipart_complete(tp_s3 *s, const char *bucket, const char *key,
                                   const char *upload_id, const char *const *etags, uint32_t n,
                                   tp_s3_object_info *info, tp_error *err)
{
    tp_http_response resp;
    tp_buf body;
    tp_status st = target(s, bucket, key, err);
    if (st != TP_OK)
        return st;
    if (!n || !etags || !upload_id || !*upload_id)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "Parts",
                            "CompleteMultipartUpload needs an upload id and parts");
    st = upload_query(s, 0, upload_id, err);
    if (st != TP_OK)
        return st;
    tp_buf_init(&body, s->conn.alloc, 0);
    tp_http_response_init(&resp, s->conn.alloc);
    st = tp_buf_append_str(&body, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/"
                                  "2006-03-01/\">",
                           err);
    for (uint32_t i = 0; st == TP_OK && i < n; i++) {
        if (!etags[i] || strpbrk(etags[i], "<>&\"")) {
            st = tp_error__at(err, TP_E_INVALID, i, "ETag", "bad ETag for part %u", i + 1);
            break;
        }
        st = tp_buf_appendf(&body, err, "<Part><PartNumber>%u</PartNumber><ETag>\"%s\"</ETag></Part>",
                            i + 1, etags[i]);
    }
    if (st == TP_OK)
        st = tp_buf_append_str(&body, "</CompleteMultipartUpload>", err);
    if (st == TP_OK)
        st = s3_send(s, "POST", (const char *)s->query.ptr, NULL, 0, tp_buf_cursor(&body), NULL, NULL,
                  &resp, "S3.CompleteMultipartUpload", err);
    if (st == TP_OK) {
        /* S3 may answer 200 and put an <Error> in the body. */
        tp_aws_errinfo ei;
        tp_error ignored;
        if (tp_aws__s3_error(&ei, tp_buf_cursor(&resp.body), s->conn.alloc, &ignored) == TP_OK) {
            st = tp_aws__fail(err, tp_aws__status_for(ei.code, resp.status, 0), resp.status, &ei,
                              1, "S3.CompleteMultipartUpload");
        } else if (info) {
            memset(info, 0, sizeof *info);
            char etag[TP_S3_ETAG_MAX + 2];
            leaf_grab g = {"CompleteMultipartUploadResult/ETag", etag, sizeof etag, 0, 0};
            st = tp_xml__walk(tp_buf_cursor(&resp.body), grab_leaf, &g, s->conn.alloc, err);
            size_t el = strlen(etag);
            if (st == TP_OK && g.found && el >= 2 && etag[0] == '"' && etag[el - 1] == '"') {
                etag[el - 1] = 0;
                tp__strlcpy(info->etag, etag + 1, sizeof info->etag);
            } else if (st == TP_OK && g.found) {
                tp__strlcpy(info->etag, etag, sizeof info->etag);
            }
        }
    }
    tp_buf_dispose(&body);
    tp_http_response_dispose(&resp);
    return st;
}

tp_status tp_s3_multipart_abort(tp_s3 *s, const char *bucket, const char *key,
                                const char *upload_id, tp_error *err)
{
    tp_http_response resp;
    tp_status st = target(s, bucket, key, err);
    if (st != TP_OK)
        return st;
    if (!upload_id || !*upload_id)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "UploadId", "no upload id");
    st = upload_query(s, 0, upload_id, err);
    if (st != TP_OK)
        return st;
    tp_http_response_init(&resp, s->conn.alloc);
    st = s3_send(s, "DELETE", (const char *)s->query.ptr, NULL, 0, tp_cursor_make(NULL, 0), NULL,
              NULL, &resp, "S3.AbortMultipartUpload", err);
    tp_http_response_dispose(&resp);
    return st;
}

/* Read exactly `n` bytes into `b` (cleared first). */
static tp_status read_exact(tp_http_read_fn read, void *payload, tp_buf *b, uint64_t n,
                            tp_error *err)
{
    tp_buf_clear(b);
    if (n > SIZE_MAX - 1)
        return tp_error__set(err, TP_E_TOO_LARGE, "part too large for memory");
    tp_status st = tp_buf_reserve(b, (size_t)n, err);
    if (st != TP_OK)
        return st;
    while (b->len < n) {
        size_t want = (size_t)n - b->len;
        size_t got = read(b->ptr + b->len, want, payload);
        if (got == TP_HTTP_READ_ABORT || got > want)
            return tp_error__set(err, TP_E_IO, "the upload's read callback failed");
        if (got == 0)
            return tp_error__at(err, TP_E_IO, b->len, NULL,
                                "the upload's data ended early (%zu of %llu bytes)", b->len,
                                (unsigned long long)n);
        b->len += got;
    }
    return TP_OK;
}

tp_status tp_s3_upload(tp_s3 *s, const char *bucket, const char *key, tp_http_read_fn read,
                       void *read_payload, uint64_t size, uint64_t part_size,
                       const char *content_type, tp_s3_object_info *info, tp_error *err)
{
    tp_buf part;
    char upload_id[TP_S3_UPLOAD_ID_MAX] = "";
    char (*etags)[TP_S3_ETAG_MAX] = NULL;
    const char **etag_ptrs = NULL;
    tp_status st;

    if (!read)
        return tp_error__set(err, TP_E_INVALID, "tp_s3_upload needs a read callback");
    if (!part_size)
        part_size = TP_S3_DEFAULT_PART_SIZE;
    if (part_size < TP_S3_MIN_PART_SIZE)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "part_size",
                            "parts are at least 5 MiB");
    tp_buf_init(&part, s->conn.alloc, 0);
    if (size <= part_size) {
        st = read_exact(read, read_payload, &part, size, err);
        if (st == TP_OK)
            st = tp_s3_put_object(s, bucket, key, tp_buf_cursor(&part), content_type, info, err);
        goto done;
    }
    uint64_t nparts = (size + part_size - 1) / part_size;
    if (nparts > 10000) {
        st = tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "part_size",
                          "%llu parts: S3 allows 10000", (unsigned long long)nparts);
        goto done;
    }
    etags = tp__calloc(s->conn.alloc, (size_t)nparts, sizeof *etags);
    etag_ptrs = tp__calloc(s->conn.alloc, (size_t)nparts, sizeof *etag_ptrs);
    if (!etags || !etag_ptrs) {
        st = tp_error__set(err, TP_E_NOMEM, "out of memory for %llu part ETags",
                           (unsigned long long)nparts);
        goto done;
    }
    st = tp_s3_multipart_create(s, bucket, key, content_type, upload_id, err);
    if (st != TP_OK)
        goto done;
    for (uint64_t i = 0; i < nparts && st == TP_OK; i++) {
        uint64_t n = i + 1 < nparts ? part_size : size - i * part_size;
        st = read_exact(read, read_payload, &part, n, err);
        if (st == TP_OK)
            st = tp_s3_multipart_upload_part(s, bucket, key, upload_id, (uint32_t)(i + 1),
                                             tp_buf_cursor(&part), etags[i], err);
        etag_ptrs[i] = etags[i];
    }
    if (st == TP_OK)
        st = tp_s3_multipart_complete(s, bucket, key, upload_id, etag_ptrs, (uint32_t)nparts,
                                      info, err);
    if (st == TP_OK && info)
        info->size = size;
    if (st != TP_OK) {
        /* Leave no parts behind; the first failure is what the caller sees. */
        tp_error ignored;
        tp_s3_multipart_abort(s, bucket, key, upload_id, &ignored);
    }
done:
    tp__free(s->conn.alloc, etags);
    tp__free(s->conn.alloc, etag_ptrs);
    tp_buf_dispose(&part);
    return st;
}
