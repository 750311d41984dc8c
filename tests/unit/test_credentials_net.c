/* Floor 3: ECS, IMDSv2 and web-identity credentials and the default chain,
 * against the fault fixture standing in for the metadata endpoints and STS. */
#include "testutil.h"

#include "../fixtures/fault.h"
#include "core/core_int.h"
#include "tradepipe/credentials_net.h"

#include <jansson.h>

static tpt_fault g_fault;
static char *g_dir;

typedef struct {
    const char *vars[24];
} fake_env;

static const char *fake_getenv(const char *name, void *payload)
{
    fake_env *e = payload;
    for (int i = 0; i < 24 && e->vars[i]; i += 2)
        if (strcmp(e->vars[i], name) == 0)
            return e->vars[i + 1];
    return NULL;
}

static void setup(void)
{
    ck_assert_int_eq(tpt_fault_start(&g_fault), 0);
    g_dir = tpt_mkdtemp();
}

static void teardown(void)
{
    tpt_fault_stop(&g_fault);
    tpt_rmtree(g_dir);
    free(g_dir);
}

static tp_credentials_provider_options opts_for(fake_env *e)
{
    tp_credentials_provider_options o = TP_CREDENTIALS_PROVIDER_OPTIONS_INIT;
    o.getenv_fn = fake_getenv;
    o.getenv_payload = e;
    return o;
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

static const char *hdr(json_t *e, const char *name)
{
    return json_string_value(json_object_get(json_object_get(e, "headers"), name));
}

#define CREDS_DOC                                                                                  \
    "{\\\"AccessKeyId\\\":\\\"ASIAECS\\\",\\\"SecretAccessKey\\\":\\\"ecs-secret\\\",\\\"Token\\\":" \
    "\\\"ecs-token\\\",\\\"Expiration\\\":\\\"2099-01-01T00:00:00Z\\\"}"

START_TEST(test_ecs)
{
    char full[128], tokfile[4096];
    snprintf(full, sizeof full, "%s/v2/credentials/abc", g_fault.base);
    snprintf(tokfile, sizeof tokfile, "%s/token", g_dir);
    ck_assert_int_eq(tpt_write_file(tokfile, "file-token\n", 11), 0);
    fake_env e = {{"AWS_CONTAINER_CREDENTIALS_FULL_URI", full,
                   "AWS_CONTAINER_AUTHORIZATION_TOKEN", "env-token"}};
    tp_credentials_provider_options o = opts_for(&e);
    tp_credentials_provider *p;
    const tp_credentials *c = NULL;
    tp_error err;
    ck_assert_int_eq(tp_credentials_provider_new_ecs(&p, &o, &err), TP_OK);
    ck_assert_int_eq(tpt_fault_script(&g_fault, "[{\"body\":\"" CREDS_DOC "\"}]"), 0);
    ck_assert_msg(tp_credentials_provider_get(p, &c, 1000, &err) == TP_OK, "%s", err.message);
    ck_assert_str_eq(c->access_key_id, "ASIAECS");
    ck_assert_str_eq(c->session_token, "ecs-token");
    ck_assert_int_eq(c->expiration_ms, INT64_C(4070908800000));
    tp_credentials_release(c);
    json_t *l = log_entry(0);
    ck_assert_str_eq(json_string_value(json_object_get(l, "path")), "/v2/credentials/abc");
    ck_assert_str_eq(hdr(l, "authorization"), "env-token");
    json_decref(l);
    tp_credentials_provider_free(p);

    /* The token file wins over the variable; an HTTP error is detailed. */
    fake_env e2 = {{"AWS_CONTAINER_CREDENTIALS_FULL_URI", full, "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                    "env-token", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tokfile}};
    o = opts_for(&e2);
    ck_assert_int_eq(tp_credentials_provider_new_ecs(&p, &o, &err), TP_OK);
    ck_assert_int_eq(tpt_fault_reset(&g_fault), 0);
    ck_assert_int_eq(tpt_fault_script(&g_fault, "[{\"status\":500,\"body\":\"oops\"}]"), 0);
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, 1000, &err), TP_E_CREDENTIALS);
    ck_assert_int_eq(err.http_status, 500);
    l = log_entry(0);
    ck_assert_str_eq(hdr(l, "authorization"), "file-token");
    json_decref(l);
    /* A document without the secret. */
    ck_assert_int_eq(tpt_fault_script(&g_fault, "[{\"body\":\"{\\\"AccessKeyId\\\":\\\"A\\\"}\"}]"),
                     0);
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, 1000, &err), TP_E_CREDENTIALS);
    ck_assert_str_eq(err.field, "SecretAccessKey");
    tp_credentials_provider_free(p);

    /* Hosts the SDKs do not allow over plain http, and nothing set. */
    static const char *bad[] = {"http://example.com/creds", "http://169.254.169.254/x",
                                "ftp://127.0.0.1/x", "http://127.0.0.1.example.com/x"};
    for (size_t i = 0; i < TP_ARRAY_LEN(bad); i++) {
        fake_env e3 = {{"AWS_CONTAINER_CREDENTIALS_FULL_URI", bad[i]}};
        o = opts_for(&e3);
        ck_assert_int_eq(tp_credentials_provider_new_ecs(&p, &o, &err), TP_OK);
        ck_assert_int_eq(tp_credentials_provider_get(p, &c, 1000, &err), TP_E_CONFIG);
        /* tp_error.field holds 31 bytes: the name is cut, not lost */
        ck_assert(strncmp(err.field, "AWS_CONTAINER_CREDENTIALS_FULL_URI", 31) == 0);
        tp_credentials_provider_free(p);
    }
    fake_env none = {{NULL}};
    o = opts_for(&none);
    ck_assert_int_eq(tp_credentials_provider_new_ecs(&p, &o, &err), TP_OK);
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, 1000, &err), TP_E_NOT_FOUND);
    tp_credentials_provider_free(p);
}
END_TEST

START_TEST(test_imds)
{
    fake_env e = {{"AWS_EC2_METADATA_SERVICE_ENDPOINT", g_fault.base}};
    tp_credentials_provider_options o = opts_for(&e);
    tp_credentials_provider *p;
    const tp_credentials *c = NULL;
    tp_error err;
    ck_assert_int_eq(tp_credentials_provider_new_imds(&p, &o, &err), TP_OK);
    ck_assert_int_eq(
        tpt_fault_script(&g_fault,
                         "[{\"body\":\"TOKEN-123\"},{\"body\":\"trade-role\\n\"},{\"body\":"
                         "\"{\\\"Code\\\":\\\"Success\\\",\\\"AccessKeyId\\\":\\\"ASIAIMDS\\\","
                         "\\\"SecretAccessKey\\\":\\\"s\\\",\\\"Token\\\":\\\"t\\\",\\\"Expiration\\\""
                         ":\\\"2099-01-01T00:00:00Z\\\"}\"}]"),
        0);
    ck_assert_msg(tp_credentials_provider_get(p, &c, 1000, &err) == TP_OK, "%s", err.message);
    ck_assert_str_eq(c->access_key_id, "ASIAIMDS");
    tp_credentials_release(c);
    json_t *t = log_entry(0), *r = log_entry(1), *k = log_entry(2);
    ck_assert_str_eq(json_string_value(json_object_get(t, "method")), "PUT");
    ck_assert_str_eq(json_string_value(json_object_get(t, "path")), "/latest/api/token");
    ck_assert_str_eq(hdr(t, "x-aws-ec2-metadata-token-ttl-seconds"), "21600");
    ck_assert_str_eq(json_string_value(json_object_get(r, "path")),
                     "/latest/meta-data/iam/security-credentials/");
    ck_assert_str_eq(hdr(r, "x-aws-ec2-metadata-token"), "TOKEN-123");
    ck_assert_str_eq(json_string_value(json_object_get(k, "path")),
                     "/latest/meta-data/iam/security-credentials/trade-role");
    ck_assert_str_eq(hdr(k, "x-aws-ec2-metadata-token"), "TOKEN-123");
    json_decref(t);
    json_decref(r);
    json_decref(k);
    tp_credentials_provider_free(p);

    /* No role: not found. A failed Code: a credentials error. */
    ck_assert_int_eq(tp_credentials_provider_new_imds(&p, &o, &err), TP_OK);
    ck_assert_int_eq(tpt_fault_script(&g_fault, "[{\"body\":\"T\"},{\"status\":404}]"), 0);
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, 1000, &err), TP_E_NOT_FOUND);
    ck_assert_int_eq(tpt_fault_script(&g_fault, "[{\"body\":\"T\"},{\"body\":\"r\"},{\"body\":"
                                                "\"{\\\"Code\\\":\\\"Failure\\\"}\"}]"),
                     0);
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, 1000, &err), TP_E_CREDENTIALS);
    ck_assert_str_eq(err.field, "Code");
    /* A slow service is no service (1 s timeouts). */
    ck_assert_int_eq(tpt_fault_script(&g_fault, "[{\"mode\":\"slow\",\"delay_ms\":2500}]"), 0);
    int64_t t0 = tp_time_mono_ns();
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, 1000, &err), TP_E_NOT_FOUND);
    ck_assert((tp_time_mono_ns() - t0) / 1000000 < 2300);
    tp_credentials_provider_free(p);

    fake_env off = {{"AWS_EC2_METADATA_SERVICE_ENDPOINT", g_fault.base,
                     "AWS_EC2_METADATA_DISABLED", "true"}};
    o = opts_for(&off);
    ck_assert_int_eq(tp_credentials_provider_new_imds(&p, &o, &err), TP_OK);
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, 1000, &err), TP_E_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(err.message, "AWS_EC2_METADATA_DISABLED"));
    tp_credentials_provider_free(p);
}
END_TEST

START_TEST(test_web_identity)
{
    char tokfile[4096];
    snprintf(tokfile, sizeof tokfile, "%s/jwt", g_dir);
    ck_assert_int_eq(tpt_write_file(tokfile, "eyJ.a+b/c=\n", 11), 0);
    fake_env e = {{"AWS_WEB_IDENTITY_TOKEN_FILE", tokfile, "AWS_ROLE_ARN",
                   "arn:aws:iam::123456789012:role/trade", "AWS_ROLE_SESSION_NAME", "sess-1",
                   "AWS_ENDPOINT_URL_STS", g_fault.base, "AWS_REGION", "eu-west-1"}};
    tp_credentials_provider_options o = opts_for(&e);
    tp_credentials_provider *p;
    const tp_credentials *c = NULL;
    tp_error err;
    ck_assert_int_eq(tp_credentials_provider_new_web_identity(&p, &o, &err), TP_OK);
    ck_assert_int_eq(
        tpt_fault_script(
            &g_fault,
            "[{\"body\":\"<AssumeRoleWithWebIdentityResponse xmlns=\\\"https://sts.amazonaws.com/"
            "doc/2011-06-15/\\\"><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIAWEB"
            "</AccessKeyId><SecretAccessKey>web-secret</SecretAccessKey><SessionToken>web-token"
            "</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>"
            "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>\"},"
            "{\"status\":400,\"body\":\"<ErrorResponse><Error><Type>Sender</Type><Code>"
            "InvalidIdentityToken</Code><Message>Token expired</Message></Error><RequestId>rq-9"
            "</RequestId></ErrorResponse>\"}]"),
        0);
    ck_assert_msg(tp_credentials_provider_get(p, &c, 1000, &err) == TP_OK, "%s", err.message);
    ck_assert_str_eq(c->access_key_id, "ASIAWEB");
    ck_assert_str_eq(c->secret_access_key, "web-secret");
    ck_assert_str_eq(c->session_token, "web-token");
    tp_credentials_release(c);
    json_t *l = log_entry(0);
    ck_assert_str_eq(json_string_value(json_object_get(l, "method")), "POST");
    ck_assert_str_eq(json_string_value(json_object_get(l, "path")), "/");
    ck_assert_str_eq(json_string_value(json_object_get(l, "body")),
                     "Action=AssumeRoleWithWebIdentity&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3A"
                     "role%2Ftrade&RoleSessionName=sess-1&Version=2011-06-15&WebIdentityToken=eyJ."
                     "a%2Bb%2Fc%3D");
    ck_assert_ptr_null(json_object_get(json_object_get(l, "headers"), "authorization"));
    json_decref(l);
    tp_credentials_provider_free(p);
    /* STS refuses: its code, message and request id, never the token. */
    ck_assert_int_eq(tp_credentials_provider_new_web_identity(&p, &o, &err), TP_OK);
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, 1000, &err), TP_E_CREDENTIALS);
    ck_assert_str_eq(err.aws_code, "InvalidIdentityToken");
    ck_assert_str_eq(err.request_id, "rq-9");
    ck_assert_int_eq(err.http_status, 400);
    ck_assert_ptr_nonnull(strstr(err.message, "Token expired"));
    ck_assert_ptr_null(strstr(err.message, "eyJ"));
    tp_credentials_provider_free(p);
    /* Half configured. */
    fake_env half = {{"AWS_ROLE_ARN", "arn:aws:iam::1:role/x"}};
    o = opts_for(&half);
    ck_assert_int_eq(tp_credentials_provider_new_web_identity(&p, &o, &err), TP_OK);
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, 1000, &err), TP_E_CONFIG);
    ck_assert_str_eq(err.field, "AWS_WEB_IDENTITY_TOKEN_FILE");
    tp_credentials_provider_free(p);
}
END_TEST

START_TEST(test_default_chain)
{
    char full[128], missing[4096];
    snprintf(full, sizeof full, "%s/creds", g_fault.base);
    snprintf(missing, sizeof missing, "%s/none", g_dir);
    /* Environment first: nothing is fetched. */
    fake_env e = {{"AWS_ACCESS_KEY_ID", "AKIDENV", "AWS_SECRET_ACCESS_KEY", "s",
                   "AWS_CONTAINER_CREDENTIALS_FULL_URI", full, "AWS_CONFIG_FILE", missing,
                   "AWS_SHARED_CREDENTIALS_FILE", missing, "AWS_EC2_METADATA_DISABLED", "true"}};
    tp_credentials_provider_options o = opts_for(&e);
    tp_credentials_provider *p;
    const tp_credentials *c = NULL;
    tp_error err;
    ck_assert_int_eq(tp_credentials_provider_new_default(&p, &o, &err), TP_OK);
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, 1000, &err), TP_OK);
    ck_assert_str_eq(c->access_key_id, "AKIDENV");
    tp_credentials_release(c);
    tp_credentials_provider_free(p);
    char *log = tpt_fault_log(&g_fault);
    ck_assert_str_eq(log, "[]");
    free(log);
    /* No environment, web identity or profile: ECS answers. */
    fake_env e2 = {{"AWS_CONTAINER_CREDENTIALS_FULL_URI", full, "AWS_CONFIG_FILE", missing,
                    "AWS_SHARED_CREDENTIALS_FILE", missing, "AWS_EC2_METADATA_DISABLED", "true"}};
    o = opts_for(&e2);
    ck_assert_int_eq(tp_credentials_provider_new_default(&p, &o, &err), TP_OK);
    ck_assert_int_eq(tpt_fault_script(&g_fault, "[{\"body\":\"" CREDS_DOC "\"}]"), 0);
    ck_assert_msg(tp_credentials_provider_get(p, &c, 1000, &err) == TP_OK, "%s", err.message);
    ck_assert_str_eq(c->access_key_id, "ASIAECS");
    tp_credentials_release(c);
    tp_credentials_provider_free(p);
    /* Nothing anywhere: not found, naming what was tried. */
    fake_env e3 = {{"AWS_CONFIG_FILE", missing, "AWS_SHARED_CREDENTIALS_FILE", missing,
                    "AWS_EC2_METADATA_DISABLED", "true"}};
    o = opts_for(&e3);
    ck_assert_int_eq(tp_credentials_provider_new_default(&p, &o, &err), TP_OK);
    ck_assert_int_eq(tp_credentials_provider_get(p, &c, 1000, &err), TP_E_NOT_FOUND);
    ck_assert_msg(strstr(err.message, "web-identity") && strstr(err.message, "ecs") &&
                      strstr(err.message, "imds"),
                  "%s", err.message);
    tp_credentials_provider_free(p);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("credentials_net");
    TCase *tc = tcase_create("fault");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_ecs);
    tcase_add_test(tc, test_imds);
    tcase_add_test(tc, test_web_identity);
    tcase_add_test(tc, test_default_chain);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tpt_run_suite(suite());
}
