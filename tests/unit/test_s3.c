/* Floor 4: S3 behaviour the emulator cannot show, against the fault fixture:
 * ListObjectsV2 paging, an <Error> inside a 200, an ETag that is not our
 * MD5, AbortMultipartUpload, SlowDown retries; the ListObjectsV2 parser;
 * virtual-hosted addressing on AWS endpoints. */
#include "testutil.h"

#include "../fixtures/fault.h"
#include "core/core_int.h"
#include "clients/s3_int.h"

#include <jansson.h>

static tpt_fault g_fault;
static tp_credentials_provider *g_creds;
static tp_s3 *g_s;

static void setup(void)
{
    tp_error err;
    ck_assert_int_eq(tpt_fault_start(&g_fault), 0);
    ck_assert_int_eq(tp_credentials_provider_new_static(&g_creds, "AKID", "SECRET", NULL, NULL,
                                                        &err),
                     TP_OK);
    tp_aws_client_options o = TP_AWS_CLIENT_OPTIONS_INIT;
    o.endpoint_url = g_fault.base;
    o.credentials = g_creds;
    o.region = "eu-west-1";
    o.max_backoff_ms = 10;
    ck_assert_int_eq(tp_s3_new(&g_s, &o, &err), TP_OK);
}

static void teardown(void)
{
    tp_s3_free(g_s);
    tp_credentials_provider_free(g_creds);
    tpt_fault_stop(&g_fault);
}

static json_t *log_entry(size_t i)
{
    char *log = tpt_fault_log(&g_fault);
    json_t *j = json_loads(log, 0, NULL);
    free(log);
    json_t *e = json_incref(json_array_get(j, i));
    json_decref(j);
    return e;
}

static tp_status count(const tp_s3_list_entry *e, void *payload)
{
    int *n = payload;
    (void)e;
    (*n)++;
    return TP_OK;
}

START_TEST(test_list_paging)
{
    tp_error err;
    ck_assert_int_eq(
        tpt_fault_script(&g_fault,
                         "[{\"body\":\"<ListBucketResult><IsTruncated>true</IsTruncated>"
                         "<NextContinuationToken>a/b+c=</NextContinuationToken><Contents><Key>k1</Key>"
                         "<Size>5</Size><ETag>&quot;abc&quot;</ETag><LastModified>2025-10-22T12:58:35"
                         ".000Z</LastModified></Contents></ListBucketResult>\"},"
                         "{\"body\":\"<ListBucketResult><IsTruncated>false</IsTruncated><Contents>"
                         "<Key>k2</Key><Size>7</Size></Contents><Contents><Key>k3</Key><Size>0</Size>"
                         "</Contents></ListBucketResult>\"}]"),
        0);
    int n = 0;
    uint32_t pages = 0;
    ck_assert_int_eq(tp_s3_list_objects(g_s, "bkt", "raw data/", 1, count, &n, &pages, &err),
                     TP_OK);
    ck_assert_int_eq(n, 3);
    ck_assert_uint_eq(pages, 2);
    json_t *e1 = log_entry(0), *e2 = log_entry(1);
    ck_assert_str_eq(json_string_value(json_object_get(e1, "path")),
                     "/bkt?encoding-type=url&list-type=2&max-keys=1&prefix=raw%20data%2F");
    ck_assert_str_eq(json_string_value(json_object_get(e2, "path")),
                     "/bkt?continuation-token=a%2Fb%2Bc%3D&encoding-type=url&list-type=2&max-keys=1&prefix=raw%20data%2F");
    const char *auth =
        json_string_value(json_object_get(json_object_get(e1, "headers"), "authorization"));
    ck_assert_ptr_nonnull(strstr(auth, "/eu-west-1/s3/aws4_request"));
    ck_assert_ptr_nonnull(json_object_get(json_object_get(e1, "headers"), "x-amz-content-sha256"));
    json_decref(e1);
    json_decref(e2);
    /* Truncated without a token, and malformed answers. */
    ck_assert_int_eq(tpt_fault_script(&g_fault, "[{\"body\":\"<ListBucketResult><IsTruncated>true"
                                                "</IsTruncated></ListBucketResult>\"}]"),
                     0);
    ck_assert_int_eq(tp_s3_list_objects(g_s, "bkt", NULL, 0, count, &n, NULL, &err), TP_E_PARSE);
    ck_assert_str_eq(err.field, "NextContinuationToken");
    ck_assert_int_eq(tpt_fault_script(&g_fault, "[{\"body\":\"<ListBucketResult><Contents><Key>k"
                                                "</Key><Size>12x</Size></Contents>\"}]"),
                     0);
    ck_assert_int_eq(tp_s3_list_objects(g_s, "bkt", NULL, 0, count, &n, NULL, &err), TP_E_PARSE);
    ck_assert_str_eq(err.field, "Size");
}
END_TEST

static const struct {
    const char *xml;
    tp_status want;
    int entries, truncated;
    const char *token, *field;
} list_rows[] = {
    {"<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>", TP_OK, 0, 0, "", ""},
    {"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Contents><Key>a</Key>"
     "</Contents><IsTruncated>true</IsTruncated><NextContinuationToken>t</NextContinuationToken>"
     "</ListBucketResult>",
     TP_OK, 1, 1, "t", ""},
    {"<Error><Code>X</Code></Error>", TP_E_PARSE, 0, 0, "", "Error"},
    {"<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>", TP_E_PARSE, 0, 0,
     "", "Key"},
    {"<ListBucketResult><Contents><Key>a</Key><LastModified>yesterday</LastModified></Contents>"
     "</ListBucketResult>",
     TP_E_PARSE, 0, 0, "", "LastModified"},
    {"<ListBucketResult><Contents><Key>a</Key><Size>99999999999999999999</Size></Contents>"
     "</ListBucketResult>",
     TP_E_PARSE, 0, 0, "", "Size"},
    {"<ListBucketResult><Contents><Key>a</Key>", TP_E_PARSE, 0, 0, "", ""},
};

/* Keys S3 sends url-encoded (encoding-type=url, as botocore asks and
 * decodes: Key is form-encoded, '+' a space): a C0 control, a '+' and a
 * space, UTF-8, '%'; without EncodingType in the answer (s3rver) keys are
 * taken as they are. */
static tp_status collect_keys(const tp_s3_list_entry *e, void *payload)
{
    tp_buf *b = payload;
    tp_buf_append_str(b, e->key, NULL);
    tp_buf_append(b, "|", 1, NULL);
    return TP_OK;
}

START_TEST(test_list_url_encoded)
{
    static const struct {
        const char *xml;
        tp_status want;
        const char *keys;
    } rows[] = {
        {"<ListBucketResult><Name>b</Name><EncodingType>url</EncodingType><Contents><Key>ctl%01byte"
         ".json</Key></Contents><Contents><Key>a+b%2Bc</Key></Contents><Contents><Key>%C3%A9t%C3%A9"
         "/x%25y</Key></Contents><IsTruncated>false</IsTruncated></ListBucketResult>",
         TP_OK, "ctl\x01" "byte.json|a b+c|\xc3\xa9t\xc3\xa9/x%y|"},
        /* the element after the keys */
        {"<ListBucketResult><Contents><Key>a%2Fb+c</Key></Contents><EncodingType>url</EncodingType>"
         "</ListBucketResult>",
         TP_OK, "a/b c|"},
        /* not encoded: as they are */
        {"<ListBucketResult><Contents><Key>a+b%2Bc</Key></Contents></ListBucketResult>", TP_OK,
         "a+b%2Bc|"},
        {"<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>bad%2</Key></Contents>"
         "</ListBucketResult>",
         TP_E_PARSE, ""},
        {"<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>nul%00</Key></Contents>"
         "</ListBucketResult>",
         TP_E_PARSE, ""},
    };
    for (size_t i = 0; i < TP_ARRAY_LEN(rows); i++) {
        tp_buf tok, keys;
        tp_error err;
        int truncated = 0;
        tp_buf_init(&tok, NULL, 0);
        tp_buf_init(&keys, NULL, 0);
        tp_status st = tp_s3__parse_list(tp_cursor_from_str(rows[i].xml), collect_keys, &keys, &tok,
                                         &truncated, NULL, &err);
        ck_assert_msg(st == rows[i].want, "row %zu: %d %s", i, st, err.message);
        if (st == TP_OK)
            ck_assert_str_eq(keys.ptr ? (char *)keys.ptr : "", rows[i].keys);
        else
            ck_assert_str_eq(err.field, "Key");
        tp_buf_dispose(&tok);
        tp_buf_dispose(&keys);
    }
}
END_TEST

START_TEST(test_list_parser)
{
    tp_buf tok;
    tp_error err;
    int n = 0, truncated = -1;
    tp_buf_init(&tok, NULL, 0);
    tp_error_clear(&err);
    tp_status st = tp_s3__parse_list(tp_cursor_from_str(list_rows[_i].xml), count, &n, &tok,
                                     &truncated, NULL, &err);
    ck_assert_msg(st == list_rows[_i].want, "row %d: %d %s", _i, st, err.message);
    if (st == TP_OK) {
        ck_assert_int_eq(n, list_rows[_i].entries);
        ck_assert_int_eq(truncated, list_rows[_i].truncated);
        ck_assert_str_eq(tok.ptr ? (char *)tok.ptr : "", list_rows[_i].token);
    } else {
        ck_assert_str_eq(err.field, list_rows[_i].field);
    }
    tp_buf_dispose(&tok);
}
END_TEST

START_TEST(test_put_checksum_and_errors)
{
    tp_error err;
    tp_s3_object_info info;
    /* An ETag that is not the MD5 of what we sent. */
    ck_assert_int_eq(tpt_fault_script(&g_fault, "[{\"headers\":{\"ETag\":"
                                                "\"\\\"00000000000000000000000000000000\\\"\"}}]"),
                     0);
    ck_assert_int_eq(tp_s3_put_object(g_s, "bkt", "k", tp_cursor_from_str("hello"), NULL, &info,
                                      &err),
                     TP_E_CHECKSUM);
    ck_assert_str_eq(err.field, "ETag");
    json_t *e = log_entry(0);
    json_t *h = json_object_get(e, "headers");
    ck_assert_str_eq(json_string_value(json_object_get(h, "content-md5")),
                     "XUFAKrxLKna5cZ2REBfFkg==");
    ck_assert_str_eq(json_string_value(json_object_get(e, "path")), "/bkt/k");
    ck_assert_str_eq(json_string_value(json_object_get(e, "body")), "hello");
    json_decref(e);
    /* Encrypted with KMS keys or customer keys: the ETag is not an MD5 and the
     * upload succeeded (S3 checked our Content-MD5). SSE-S3 keeps the check. */
    static const struct {
        const char *headers;
        tp_status want;
    } sse[] = {
        {"\"x-amz-server-side-encryption\":\"aws:kms\"", TP_OK},
        {"\"x-amz-server-side-encryption\":\"aws:kms:dsse\"", TP_OK},
        {"\"x-amz-server-side-encryption-customer-algorithm\":\"AES256\"", TP_OK},
        {"\"x-amz-server-side-encryption\":\"AES256\"", TP_E_CHECKSUM},
    };
    for (size_t i = 0; i < TP_ARRAY_LEN(sse); i++) {
        char script[512];
        snprintf(script, sizeof script,
                 "[{\"headers\":{\"ETag\":\"\\\"9f8e7d6c5b4a39281706f5e4d3c2b1a0\\\"\",%s}}]",
                 sse[i].headers);
        ck_assert_int_eq(tpt_fault_script(&g_fault, script), 0);
        ck_assert_msg(tp_s3_put_object(g_s, "bkt", "k", tp_cursor_from_str("hello"), NULL, &info,
                                       &err) == sse[i].want,
                      "%s: %s", sse[i].headers, err.message);
        ck_assert_str_eq(info.etag, "9f8e7d6c5b4a39281706f5e4d3c2b1a0");
    }
    /* tp_s3_upload (one PUT below its part size) inherits the rule. */
    ck_assert_int_eq(tpt_fault_script(&g_fault,
                                      "[{\"headers\":{\"ETag\":\"\\\"9f8e7d6c5b4a39281706f5e4d3c2b1a0\\\"\","
                                      "\"x-amz-server-side-encryption\":\"aws:kms\"}}]"),
                     0);
    FILE *tmpf = tmpfile();
    ck_assert_ptr_nonnull(tmpf);
    fputs("hello", tmpf);
    fflush(tmpf);
    rewind(tmpf);
    int fd = fileno(tmpf);
    ck_assert_msg(tp_s3_upload(g_s, "bkt", "k", tp_http_read_fd, &fd, 5, 0, NULL, &info, &err) ==
                      TP_OK,
                  "%s", err.message);
    fclose(tmpf);
    /* The request line holds the path that was signed, dot segments and all
     * (curl squashed "a/../b.json" into "/bkt/b.json" after signing). */
    static const char *const dotted[][2] = {
        {"a/../b.json", "/bkt/a/../b.json"},
        {"./dot.json", "/bkt/./dot.json"},
        {"x/..", "/bkt/x/.."},
        {"sp ace/\xc3\xa9", "/bkt/sp%20ace/%C3%A9"},
    };
    for (size_t i = 0; i < TP_ARRAY_LEN(dotted); i++) {
        ck_assert_int_eq(tpt_fault_reset(&g_fault), 0);
        ck_assert_int_eq(tp_s3_put_object(g_s, "bkt", dotted[i][0], tp_cursor_from_str("x"), NULL,
                                          NULL, &err),
                         TP_OK);
        e = log_entry(0);
        ck_assert_str_eq(json_string_value(json_object_get(e, "path")), dotted[i][1]);
        json_decref(e);
    }
    /* SlowDown is throttling: retried, then TP_E_THROTTLED with the detail. */
    const char *slow = "{\"status\":503,\"headers\":{\"x-amz-request-id\":\"RID1\"},\"body\":"
                       "\"<Error><Code>SlowDown</Code><Message>Please reduce your request rate."
                       "</Message><RequestId>RID2</RequestId></Error>\"}";
    char script[2048];
    snprintf(script, sizeof script, "[%s,%s,%s]", slow, slow, slow);
    ck_assert_int_eq(tpt_fault_script(&g_fault, script), 0);
    ck_assert_int_eq(tp_s3_put_object(g_s, "bkt", "k", tp_cursor_from_str("x"), NULL, NULL, &err),
                     TP_E_THROTTLED);
    ck_assert_str_eq(err.aws_code, "SlowDown");
    ck_assert_int_eq(err.http_status, 503);
    ck_assert_uint_eq(err.attempts, 3);
    ck_assert_str_eq(err.request_id, "RID2");
    ck_assert_ptr_nonnull(strstr(err.message, "Please reduce your request rate."));
    /* A 403 with a malformed XML body: no code, the status is reported. */
    ck_assert_int_eq(tpt_fault_script(&g_fault, "[{\"status\":403,\"body\":\"<Error><Code>\"}]"), 0);
    ck_assert_int_eq(tp_s3_put_object(g_s, "bkt", "k", tp_cursor_from_str("x"), NULL, NULL, &err),
                     TP_E_AWS);
    ck_assert_int_eq(err.http_status, 403);
    ck_assert_str_eq(err.aws_code, "");
    ck_assert_ptr_nonnull(strstr(err.message, "HTTP 403"));
}
END_TEST

START_TEST(test_multipart_requests)
{
    tp_error err;
    char uid[TP_S3_UPLOAD_ID_MAX];
    ck_assert_int_eq(
        tpt_fault_script(&g_fault,
                         "[{\"body\":\"<InitiateMultipartUploadResult><Bucket>bkt</Bucket><Key>k</Key>"
                         "<UploadId>up/1+2</UploadId></InitiateMultipartUploadResult>\"},"
                         "{\"status\":200,\"body\":\"<Error><Code>InternalError</Code><Message>We "
                         "encountered an internal error.</Message></Error>\"},"
                         "{\"status\":204},"
                         "{\"status\":404,\"body\":\"<Error><Code>NoSuchUpload</Code></Error>\"}]"),
        0);
    ck_assert_int_eq(tp_s3_multipart_create(g_s, "bkt", "k", NULL, uid, &err), TP_OK);
    ck_assert_str_eq(uid, "up/1+2");
    const char *etags[2] = {"e1", "e2"};
    /* 200 with an <Error> body is an error. */
    ck_assert_int_eq(tp_s3_multipart_complete(g_s, "bkt", "k", uid, etags, 2, NULL, &err),
                     TP_E_AWS);
    ck_assert_str_eq(err.aws_code, "InternalError");
    ck_assert_int_eq(err.http_status, 200);
    ck_assert_int_eq(tp_s3_multipart_abort(g_s, "bkt", "k", uid, &err), TP_OK);
    ck_assert_int_eq(tp_s3_multipart_abort(g_s, "bkt", "k", uid, &err), TP_E_NOT_FOUND);
    ck_assert_str_eq(err.aws_code, "NoSuchUpload");
    json_t *c = log_entry(0), *p = log_entry(1), *a = log_entry(2);
    ck_assert_str_eq(json_string_value(json_object_get(c, "method")), "POST");
    ck_assert_str_eq(json_string_value(json_object_get(c, "path")), "/bkt/k?uploads=");
    ck_assert_str_eq(json_string_value(json_object_get(p, "path")), "/bkt/k?uploadId=up%2F1%2B2");
    ck_assert_str_eq(json_string_value(json_object_get(p, "body")),
                     "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                     "<Part><PartNumber>1</PartNumber><ETag>\"e1\"</ETag></Part><Part><PartNumber>2"
                     "</PartNumber><ETag>\"e2\"</ETag></Part></CompleteMultipartUpload>");
    ck_assert_str_eq(json_string_value(json_object_get(a, "method")), "DELETE");
    json_decref(c);
    json_decref(p);
    json_decref(a);
    const char *bad[1] = {"a<b"};
    ck_assert_int_eq(tp_s3_multipart_complete(g_s, "bkt", "k", uid, bad, 1, NULL, &err),
                     TP_E_INVALID);
    /* An answer that is not XML (the fixture's JSON echo). */
    ck_assert_int_eq(tp_s3_multipart_create(g_s, "bkt", "k", NULL, uid, &err), TP_E_PARSE);
    ck_assert_str_eq(uid, "");
}
END_TEST

START_TEST(test_virtual_hosted_on_aws)
{
    /* No endpoint configured: AWS addressing. Nothing resolves here, so the
     * transport error shows the URL origin we tried. */
    tp_aws_client_options o = TP_AWS_CLIENT_OPTIONS_INIT;
    tp_http_options ho = TP_HTTP_OPTIONS_INIT;
    tp_s3 *s;
    tp_error err;
    ho.connect_timeout_ms = 1500;
    ho.timeout_ms = 3000;
    o.http = &ho;
    o.region = "eu-west-1";
    o.credentials = g_creds;
    o.max_attempts = 1;
    o.getenv_fn = NULL;
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_S3");
    setenv("no_proxy", "*", 1);
    ck_assert_int_eq(tp_s3_new(&s, &o, &err), TP_OK);
    tp_status st = tp_s3_put_object(s, "my-bucket", "k", tp_cursor_from_str("x"), NULL, NULL,
                                    &err);
    if (st != TP_OK) {
        ck_assert_msg(strstr(err.message, "PUT https://my-bucket.s3.eu-west-1.amazonaws.com"),
                      "%s", err.message);
    }
    /* Dotted bucket names stay path-style (TLS wildcards do not cover them). */
    st = tp_s3_put_object(s, "my.bucket", "k", tp_cursor_from_str("x"), NULL, NULL, &err);
    if (st != TP_OK) {
        ck_assert_msg(strstr(err.message, "PUT https://s3.eu-west-1.amazonaws.com"), "%s",
                      err.message);
    }
    tp_s3_free(s);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("s3");
    TCase *tc = tcase_create("fault");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_list_paging);
    tcase_add_test(tc, test_list_url_encoded);
    tcase_add_loop_test(tc, test_list_parser, 0, TP_ARRAY_LEN(list_rows));
    tcase_add_test(tc, test_put_checksum_and_errors);
    tcase_add_test(tc, test_multipart_requests);
    tcase_add_test(tc, test_virtual_hosted_on_aws);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tpt_run_suite(suite());
}
