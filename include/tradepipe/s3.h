#ifndef TRADEPIPE_S3_H
#define TRADEPIPE_S3_H

/* Floor 4: an S3 client (REST, XML answers parsed with expat, SigV4 with S3
 * rules). Custom endpoints (AWS_ENDPOINT_URL_S3, emulators, on-prem S3) are
 * addressed path-style (http://host/bucket/key), AWS virtual-hosted style
 * (https://bucket.s3.REGION.amazonaws.com/key). Keys are any UTF-8 text.
 *
 * Thread rule: one thread at a time per tp_s3. */

#include "tradepipe/aws.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tp_s3 tp_s3; /* opaque */

/** Default part size of tp_s3_upload, and S3's minimum (except the last part). */
#define TP_S3_DEFAULT_PART_SIZE ((uint64_t)8 << 20)
#define TP_S3_MIN_PART_SIZE     ((uint64_t)5 << 20)
#define TP_S3_ETAG_MAX          80
#define TP_S3_UPLOAD_ID_MAX     1024

/** Create a client (endpoint: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the region's). */
TP_API tp_status tp_s3_new(tp_s3 **out, const tp_aws_client_options *opts, tp_error *err);
TP_API void tp_s3_free(tp_s3 *s);

/**
 * CreateBucket (with a LocationConstraint outside us-east-1).
 * @return TP_OK; TP_E_EXISTS (BucketAlreadyExists / BucketAlreadyOwnedByYou);
 *         TP_E_INVALID (bad bucket name); TP_E_AWS ...
 */
TP_API tp_status tp_s3_create_bucket(tp_s3 *s, const char *bucket, tp_error *err);
/** DeleteBucket (it must be empty). @return TP_OK; TP_E_NOT_FOUND; TP_E_AWS ... */
TP_API tp_status tp_s3_delete_bucket(tp_s3 *s, const char *bucket, tp_error *err);

/**
 * HeadBucket: whether `bucket` exists and this client may use it. The answer
 * to a HEAD has no body, so a failure carries the HTTP status and no AWS code.
 * @return TP_OK; TP_E_NOT_FOUND (404: no such bucket); TP_E_INVALID (bad
 *         bucket name); TP_E_AWS (403: it exists but belongs to another
 *         account, or the caller lacks s3:ListBucket) ...
 */
TP_API tp_status tp_s3_head_bucket(tp_s3 *s, const char *bucket, tp_error *err);

typedef struct tp_s3_object_info {
    uint64_t size;
    int64_t last_modified_ms;
    char etag[TP_S3_ETAG_MAX];  /* as S3 sends it, quotes removed */
    char content_type[128];
} tp_s3_object_info;

/**
 * PutObject of `data` with its Content-MD5 (S3 refuses a body that does not
 * match: BadDigest). `content_type` may be NULL. `info` (may be NULL) gets
 * the ETag. Where S3 makes the ETag the MD5 of the data (no encryption, or
 * SSE-S3 "AES256") it is checked against the MD5 we sent as well; with
 * SSE-KMS, DSSE-KMS or SSE-C it is not an MD5 and only Content-MD5 applies
 * (S3 User Guide, "Checking object integrity").
 * @return TP_OK; TP_E_CHECKSUM (an MD5 ETag differs from our MD5); TP_E_NOT_FOUND
 *         (no bucket); TP_E_AWS ...
 */
TP_API tp_status tp_s3_put_object(tp_s3 *s, const char *bucket, const char *key, tp_cursor data,
                                  const char *content_type, tp_s3_object_info *info,
                                  tp_error *err);
/**
 * GetObject streamed to `sink` (tp_http_write_fd writes to a file
 * descriptor). `info` (may be NULL) gets size, ETag, type, time.
 * @return TP_OK; TP_E_NOT_FOUND (NoSuchKey, NoSuchBucket); the sink's status; TP_E_AWS ...
 */
TP_API tp_status tp_s3_get_object(tp_s3 *s, const char *bucket, const char *key,
                                  tp_http_write_fn sink, void *sink_payload,
                                  tp_s3_object_info *info, tp_error *err);
/** GetObject into `out` (appended; its max caps the size). */
TP_API tp_status tp_s3_get_object_buf(tp_s3 *s, const char *bucket, const char *key, tp_buf *out,
                                      tp_s3_object_info *info, tp_error *err);
/** HeadObject. @return TP_OK; TP_E_NOT_FOUND; TP_E_AWS ... */
TP_API tp_status tp_s3_head_object(tp_s3 *s, const char *bucket, const char *key,
                                   tp_s3_object_info *info, tp_error *err);
/** DeleteObject (a missing key is no error, as in S3). */
TP_API tp_status tp_s3_delete_object(tp_s3 *s, const char *bucket, const char *key,
                                     tp_error *err);

/** One entry of a listing, borrowed for the duration of the callback. */
typedef struct tp_s3_list_entry {
    const char *key;
    uint64_t size;
    int64_t last_modified_ms;
    const char *etag; /* quotes removed */
    const char *storage_class;
} tp_s3_list_entry;
typedef tp_status (*tp_s3_list_fn)(const tp_s3_list_entry *e, void *payload);

/**
 * ListObjectsV2 of `prefix` (NULL: all), `page_size` keys a page (0: 1000),
 * following NextContinuationToken; `fn` is called for each object, and a
 * status other than TP_OK from it stops the listing and is returned.
 * @return TP_OK; fn's status; TP_E_PARSE (bad XML: offset); TP_E_NOT_FOUND; TP_E_AWS ...
 */
TP_API tp_status tp_s3_list_objects(tp_s3 *s, const char *bucket, const char *prefix,
                                    uint32_t page_size, tp_s3_list_fn fn, void *payload,
                                    uint32_t *pages, tp_error *err);

/* ---- multipart upload ----------------------------------------------------- */

/** CreateMultipartUpload: writes the UploadId and a NUL to `upload_id`. */
TP_API tp_status tp_s3_multipart_create(tp_s3 *s, const char *bucket, const char *key,
                                        const char *content_type,
                                        char upload_id[TP_S3_UPLOAD_ID_MAX], tp_error *err);
/** UploadPart `part_number` (1..10000) of `data`, with its Content-MD5; writes its ETag. */
TP_API tp_status tp_s3_multipart_upload_part(tp_s3 *s, const char *bucket, const char *key,
                                             const char *upload_id, uint32_t part_number,
                                             tp_cursor data, char etag[TP_S3_ETAG_MAX],
                                             tp_error *err);
/**
 * CompleteMultipartUpload of parts 1..n with their ETags (as returned).
 * `info` (may be NULL) gets the final ETag ("...-N").
 * @return TP_OK; TP_E_AWS (InvalidPart, an <Error> inside a 200 answer ...).
 */
TP_API tp_status tp_s3_multipart_complete(tp_s3 *s, const char *bucket, const char *key,
                                          const char *upload_id, const char *const *etags,
                                          uint32_t n, tp_s3_object_info *info, tp_error *err);
/** AbortMultipartUpload. @return TP_OK; TP_E_NOT_FOUND (NoSuchUpload); TP_E_AWS ... */
TP_API tp_status tp_s3_multipart_abort(tp_s3 *s, const char *bucket, const char *key,
                                       const char *upload_id, tp_error *err);

/**
 * Upload `size` bytes read from `read` (tp_http_read_fd reads a file
 * descriptor): one PutObject up to `part_size` (0: 8 MiB; at least 5 MiB),
 * else a multipart upload in parts of `part_size`, aborted if any part fails.
 * @return TP_OK; TP_E_IO (the read callback failed or ended early); as the
 *         calls above.
 */
TP_API tp_status tp_s3_upload(tp_s3 *s, const char *bucket, const char *key,
                              tp_http_read_fn read, void *read_payload, uint64_t size,
                              uint64_t part_size, const char *content_type,
                              tp_s3_object_info *info, tp_error *err);

#ifdef __cplusplus
}
#endif
#endif
