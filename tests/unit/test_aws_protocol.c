/* Floor 3: AWS error parsing (JSON and S3 XML), the XML walker, endpoint
 * resolution and the standard retry policy's pure parts. */
#include "testutil.h"

#include "aws/aws_int.h"

/* ---- JSON errors --------------------------------------------------------- */

static const struct {
    const char *body, *type_hdr, *query_hdr;
    tp_status want;
    const char *code, *message;
} json_rows[] = {
    {"{\"__type\":\"ResourceNotFoundException\",\"message\":\"Stream s not found\"}", "", "", TP_OK,
     "ResourceNotFoundException", "Stream s not found"},
    {"{\"__type\":\"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException\","
     "\"Message\":\"The conditional request failed\"}",
     "", "", TP_OK, "ConditionalCheckFailedException", "The conditional request failed"},
    {"{\"__type\":\"com.amazon.coral.service#ThrottlingException\",\"message\":\"Rate\"}", "", "",
     TP_OK, "ThrottlingException", "Rate"},
    {"{\"code\":\"ValidationException\",\"errorMessage\":\"bad\"}", "", "", TP_OK,
     "ValidationException", "bad"},
    {"{\"message\":\"x\"}", "ThrottlingException:http://internal.amazon.com/coral/", "", TP_OK,
     "ThrottlingException", "x"},
    {"{\"__type\":\"Other\"}", "aws.protocoltests#FooError", "", TP_OK, "FooError", ""},
    {"{\"__type\":\"Other\"}", "", "AWS.SimpleQueueService.NonExistentQueue;Sender", TP_OK,
     "AWS.SimpleQueueService.NonExistentQueue", ""},
    {"{\"message\":\"no code\"}", "", "", TP_E_NOT_FOUND, "", "no code"},
    {"", "", "", TP_E_NOT_FOUND, "", ""},
    {"  \n", "SlowDown", "", TP_OK, "SlowDown", ""},
    {"<html>502 Bad Gateway</html>", "", "", TP_E_PARSE, "", ""},
    {"<html>502</html>", "InternalFailure", "", TP_OK, "InternalFailure", ""},
    {"[1,2]", "", "", TP_E_PARSE, "", ""},
    {"{\"__type\":\"A\",\"__type\":\"B\"}", "", "", TP_E_PARSE, "", ""},
    {"{\"__type\":\"Bad\\u0001Code\",\"message\":\"tab\\there\"}", "", "", TP_OK, "BadCode",
     "tab here"},
    {"{\"__type\":5,\"message\":7}", "", "", TP_E_NOT_FOUND, "", ""},
};

START_TEST(test_json_errors)
{
    tp_aws_errinfo info;
    tp_error err;
    tp_error_clear(&err);
    tp_status st = tp_aws__json_error(&info, tp_cursor_from_str(json_rows[_i].body),
                                      tp_cursor_from_str(json_rows[_i].type_hdr),
                                      tp_cursor_from_str(json_rows[_i].query_hdr), &err);
    ck_assert_msg(st == json_rows[_i].want, "row %d: got %d", _i, st);
    ck_assert_str_eq(info.code, json_rows[_i].code);
    ck_assert_str_eq(info.message, json_rows[_i].message);
    if (st == TP_E_PARSE)
        ck_assert_uint_ne(err.offset, TP_NO_OFFSET);
}
END_TEST

START_TEST(test_norm_code_truncation)
{
    char code[8];
    tp_aws__norm_code(code, sizeof code, "ns#VeryLongCodeName", 19);
    ck_assert_str_eq(code, "VeryLon");
    tp_aws__norm_code(code, sizeof code, "  A  ", 5);
    ck_assert_str_eq(code, "A");
    tp_aws__norm_code(code, sizeof code, NULL, 0);
    ck_assert_str_eq(code, "");
}
END_TEST

/* ---- S3 XML errors ------------------------------------------------------- */

static const struct {
    const char *body;
    tp_status want;
    const char *code, *message, *reqid;
} xml_rows[] = {
    {"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The "
     "specified key does not exist.</Message><Key>a/b</Key><RequestId>4442587FB7D0A2F9</"
     "RequestId><HostId>x</HostId></Error>",
     TP_OK, "NoSuchKey", "The specified key does not exist.", "4442587FB7D0A2F9"},
    {"<Error>\n  <Code>SlowDown</Code>\n  <Message>Please &amp; reduce</Message>\n</Error>",
     TP_OK, "SlowDown", "Please & reduce", ""},
    {"<Error><Message>m</Message></Error>", TP_E_NOT_FOUND, "", "m", ""},
    {"<ListBucketResult/>", TP_E_NOT_FOUND, "", "", ""},
    {"", TP_E_PARSE, "", "", ""},
    {"<Error><Code>X</Code>", TP_E_PARSE, "X", "", ""},
    {"<Error><Code>X</Cod></Error>", TP_E_PARSE, "", "", ""},
    {"<!DOCTYPE r [<!ENTITY a \"aaaa\">]><Error><Code>&a;</Code></Error>", TP_E_PARSE, "", "",
     ""},
    {"<Error><Code><![CDATA[Cdata]]></Code></Error>", TP_OK, "Cdata", "", ""},
    {"<Error xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Code>NS</Code></Error>", TP_OK,
     "NS", "", ""},
    {"<Other><Error><Code>Deep</Code></Error></Other>", TP_E_NOT_FOUND, "", "", ""},
};

START_TEST(test_s3_errors)
{
    tp_aws_errinfo info;
    tp_error err;
    tp_error_clear(&err);
    tp_status st = tp_aws__s3_error(&info, tp_cursor_from_str(xml_rows[_i].body), NULL, &err);
    ck_assert_msg(st == xml_rows[_i].want, "row %d: got %d (%s)", _i, st, err.message);
    if (st == TP_OK || st == TP_E_NOT_FOUND) {
        ck_assert_str_eq(info.code, xml_rows[_i].code);
        ck_assert_str_eq(info.message, xml_rows[_i].message);
        ck_assert_str_eq(info.request_id, xml_rows[_i].reqid);
    } else {
        ck_assert_uint_ne(err.offset, TP_NO_OFFSET);
        ck_assert_ptr_nonnull(strstr(err.message, "XML"));
    }
}
END_TEST

START_TEST(test_xml_limits)
{
    tp_buf b;
    tp_error err;
    tp_aws_errinfo info;
    tp_buf_init(&b, NULL, 0);
    for (int i = 0; i < 40; i++)
        tp_buf_append_str(&b, "<a>", &err);
    for (int i = 0; i < 40; i++)
        tp_buf_append_str(&b, "</a>", &err);
    ck_assert_int_eq(tp_aws__s3_error(&info, tp_buf_cursor(&b), NULL, &err), TP_E_TOO_LARGE);
    ck_assert_uint_eq(err.offset, 32 * 3);
    tp_buf_dispose(&b);

    /* Billion laughs is refused at the DOCTYPE, before any expansion. */
    const char *bomb = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 "
                       "\"&lol;&lol;&lol;&lol;\">]><Error><Code>&lol2;</Code></Error>";
    ck_assert_int_eq(tp_aws__s3_error(&info, tp_cursor_from_str(bomb), NULL, &err), TP_E_PARSE);
    ck_assert_ptr_nonnull(strstr(err.message, "DOCTYPE"));
}
END_TEST

START_TEST(test_xml_oom_sweep)
{
    const char *doc = "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist "
                      "and this message is long enough to grow the buffer twice over "
                      "..............................................................</Message>"
                      "</Error>";
    for (long n = 1; n < 10; n++) {
        tpt_failing_alloc fa;
        tpt_failing_alloc_init(&fa, n);
        tp_aws_errinfo info;
        tp_error err;
        tp_status st = tp_aws__s3_error(&info, tp_cursor_from_str(doc), &fa.a, &err);
        ck_assert(st == TP_OK || st == TP_E_NOMEM);
        if (st == TP_E_NOMEM)
            ck_assert_int_eq(err.code, TP_E_NOMEM);
        ck_assert_int_eq(fa.live, 0);
    }
}
END_TEST

/* ---- endpoints ----------------------------------------------------------- */

typedef struct {
    const char *vars[8]; /* name, value pairs */
} fake_env;

static const char *fake_getenv(const char *name, void *payload)
{
    fake_env *e = payload;
    for (int i = 0; i < 8 && e->vars[i]; i += 2)
        if (strcmp(e->vars[i], name) == 0)
            return e->vars[i + 1];
    return NULL;
}

static const struct {
    fake_env env;
    const char *service, *region;
    tp_status want;
    const char *url;
    int custom;
    const char *field;
} ep_rows[] = {
    {{{NULL}}, "kinesis", "us-east-1", TP_OK, "https://kinesis.us-east-1.amazonaws.com", 0, ""},
    {{{NULL}}, "dynamodb", "cn-north-1", TP_OK, "https://dynamodb.cn-north-1.amazonaws.com.cn", 0,
     ""},
    {{{"AWS_ENDPOINT_URL", "http://127.0.0.1:4566/"}}, "s3", "eu-west-1", TP_OK,
     "http://127.0.0.1:4566", 1, ""},
    {{{"AWS_ENDPOINT_URL", "http://127.0.0.1:4566", "AWS_ENDPOINT_URL_KINESIS",
       "http://127.0.0.1:4567"}},
     "kinesis", "eu-west-1", TP_OK, "http://127.0.0.1:4567", 1, ""},
    {{{"AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:1"}}, "kinesis", "eu-west-1", TP_OK,
     "https://kinesis.eu-west-1.amazonaws.com", 0, ""},
    {{{"AWS_ENDPOINT_URL", "http://127.0.0.1:1", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUE"}},
     "s3", "us-west-2", TP_OK, "https://s3.us-west-2.amazonaws.com", 0, ""},
    {{{"AWS_ENDPOINT_URL_S3", "ftp://x"}}, "s3", "us-east-1", TP_E_CONFIG, "", 0,
     "AWS_ENDPOINT_URL_S3"},
    {{{"AWS_ENDPOINT_URL", "http://"}}, "s3", "us-east-1", TP_E_CONFIG, "", 0, "AWS_ENDPOINT_URL"},
    {{{"AWS_ENDPOINT_URL", "http://a b"}}, "s3", "us-east-1", TP_E_CONFIG, "", 0,
     "AWS_ENDPOINT_URL"},
    {{{NULL}}, "s3", NULL, TP_E_CONFIG, "", 0, "region"},
    {{{NULL}}, "s3", "us-east-1.evil.com/", TP_E_CONFIG, "", 0, "region"},
    {{{NULL}}, "", "us-east-1", TP_E_INVALID, "", 0, "service"},
    /* a service name goes into the host name: fuzz_aws_endpoint's find */
    {{{NULL}}, "kine\363is", "us-east-1", TP_E_INVALID, "", 0, "service"},
    {{{NULL}}, "kinesis.evil.com/", "us-east-1", TP_E_INVALID, "", 0, "service"},
};

START_TEST(test_endpoints)
{
    char out[TP_ENDPOINT_MAX] = "";
    int32_t custom = -1;
    tp_error err;
    tp_error_clear(&err);
    fake_env e = ep_rows[_i].env;
    tp_status st = tp_aws_endpoint_resolve(out, &custom, ep_rows[_i].service, ep_rows[_i].region,
                                           fake_getenv, &e, &err);
    ck_assert_msg(st == ep_rows[_i].want, "row %d: got %d", _i, st);
    if (st == TP_OK) {
        ck_assert_str_eq(out, ep_rows[_i].url);
        ck_assert_int_eq(custom, ep_rows[_i].custom);
    } else {
        ck_assert_str_eq(err.field, ep_rows[_i].field);
    }
}
END_TEST

/* ---- retry policy -------------------------------------------------------- */

static const struct {
    tp_status st;
    int32_t http;
    const char *code;
    int want;
} cls_rows[] = {
    {TP_OK, 200, NULL, TP_RETRY_NO},
    {TP_OK, 400, "ThrottlingException", TP_RETRY_THROTTLE},
    {TP_OK, 400, "ProvisionedThroughputExceededException", TP_RETRY_THROTTLE},
    {TP_OK, 503, "SlowDown", TP_RETRY_THROTTLE},
    {TP_OK, 400, "RequestLimitExceeded", TP_RETRY_THROTTLE},
    {TP_OK, 400, "LimitExceededException", TP_RETRY_THROTTLE},
    {TP_OK, 400, "RequestTimeout", TP_RETRY_TRANSIENT},
    {TP_OK, 500, "InternalFailure", TP_RETRY_TRANSIENT},
    {TP_OK, 502, NULL, TP_RETRY_TRANSIENT},
    {TP_OK, 503, "", TP_RETRY_TRANSIENT},
    {TP_OK, 504, NULL, TP_RETRY_TRANSIENT},
    {TP_OK, 501, NULL, TP_RETRY_NO},
    {TP_OK, 429, NULL, TP_RETRY_THROTTLE},
    {TP_OK, 403, "RequestTimeTooSkewed", TP_RETRY_SKEW},
    {TP_OK, 400, "InvalidSignatureException", TP_RETRY_SKEW},
    {TP_OK, 400, "ValidationException", TP_RETRY_NO},
    {TP_OK, 400, "ConditionalCheckFailedException", TP_RETRY_NO},
    {TP_OK, 404, "ResourceNotFoundException", TP_RETRY_NO},
    {TP_E_HTTP, 0, NULL, TP_RETRY_TRANSIENT},
    {TP_E_HTTP, 200, NULL, TP_RETRY_TRANSIENT},
    {TP_E_TIMEOUT, 0, NULL, TP_RETRY_TIMEOUT},
    {TP_E_TOO_LARGE, 200, NULL, TP_RETRY_NO},
    {TP_E_NOMEM, 0, NULL, TP_RETRY_NO},
};

START_TEST(test_classify)
{
    ck_assert_int_eq(tp_retry__classify(cls_rows[_i].st, cls_rows[_i].http, cls_rows[_i].code),
                     cls_rows[_i].want);
}
END_TEST

START_TEST(test_backoff_and_quota)
{
    /* min(r * 2^(attempt-1), 20 s) */
    ck_assert_uint_eq(tp_retry__backoff_ms(1, 0.5, 20000), 500);
    ck_assert_uint_eq(tp_retry__backoff_ms(2, 0.5, 20000), 1000);
    ck_assert_uint_eq(tp_retry__backoff_ms(3, 0.25, 20000), 1000);
    ck_assert_uint_eq(tp_retry__backoff_ms(6, 0.99, 20000), 20000);
    ck_assert_uint_eq(tp_retry__backoff_ms(60, 0.99, 20000), 20000);
    ck_assert_uint_eq(tp_retry__backoff_ms(1, 0.0, 20000), 0);
    ck_assert_uint_eq(tp_retry__backoff_ms(1, 7.0, 20000), 0);
    ck_assert_uint_eq(tp_retry__backoff_ms(4, 0.5, 3000), 3000);

    tp_retry_quota q;
    tp_retry__quota_init(&q, 0);
    ck_assert_int_eq(q.available, 500);
    ck_assert_int_eq(tp_retry__quota_acquire(&q, TP_RETRY_THROTTLE), 5);
    ck_assert_int_eq(tp_retry__quota_acquire(&q, TP_RETRY_TIMEOUT), 10);
    ck_assert_int_eq(q.available, 485);
    tp_retry__quota_release(&q, 10);
    ck_assert_int_eq(q.available, 495);
    tp_retry__quota_release(&q, 0);
    ck_assert_int_eq(q.available, 496);
    for (int i = 0; i < 10; i++)
        tp_retry__quota_release(&q, 0);
    ck_assert_int_eq(q.available, 500);
    /* Draining: 100 retries of 5 empty it, the 101st is refused. */
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(tp_retry__quota_acquire(&q, TP_RETRY_TRANSIENT), 5);
    ck_assert_int_eq(tp_retry__quota_acquire(&q, TP_RETRY_TRANSIENT), 0);
    ck_assert_int_eq(q.available, 0);

    tp_rng r;
    tp_rng__seed(&r, 42);
    double sum = 0;
    for (int i = 0; i < 10000; i++) {
        double v = tp_rng__next01(&r);
        ck_assert(v >= 0.0 && v < 1.0);
        sum += v;
    }
    ck_assert(sum > 4800 && sum < 5200);
}
END_TEST

START_TEST(test_max_attempts)
{
    uint32_t n = 0;
    tp_error err;
    ck_assert_int_eq(tp_retry__max_attempts(&n, 0, NULL, &err), TP_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(tp_retry__max_attempts(&n, 7, "2", &err), TP_OK);
    ck_assert_uint_eq(n, 7);
    ck_assert_int_eq(tp_retry__max_attempts(&n, 0, "5", &err), TP_OK);
    ck_assert_uint_eq(n, 5);
    ck_assert_int_eq(tp_retry__max_attempts(&n, 0, "0", &err), TP_E_CONFIG);
    ck_assert_str_eq(err.field, "AWS_MAX_ATTEMPTS");
    ck_assert_int_eq(tp_retry__max_attempts(&n, 0, "3x", &err), TP_E_CONFIG);
    ck_assert_int_eq(tp_retry__max_attempts(&n, 0, "1000", &err), TP_E_CONFIG);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("aws_protocol");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_json_errors, 0, TP_ARRAY_LEN(json_rows));
    tcase_add_test(tc, test_norm_code_truncation);
    tcase_add_loop_test(tc, test_s3_errors, 0, TP_ARRAY_LEN(xml_rows));
    tcase_add_test(tc, test_xml_limits);
    tcase_add_test(tc, test_xml_oom_sweep);
    tcase_add_loop_test(tc, test_endpoints, 0, TP_ARRAY_LEN(ep_rows));
    tcase_add_loop_test(tc, test_classify, 0, TP_ARRAY_LEN(cls_rows));
    tcase_add_test(tc, test_backoff_and_quota);
    tcase_add_test(tc, test_max_attempts);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tpt_run_suite(suite());
}
