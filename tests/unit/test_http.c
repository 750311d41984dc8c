/* Floor 3: the HTTP client against tests/fixtures/fault_server.py on loopback. */
#include "testutil.h"

#include "../fixtures/fault.h"
#include "core/core_int.h"
#include "aws/http_int.h"

#include <fcntl.h>
#include <jansson.h>
#include <time.h>

static tpt_fault g_fault;

static void setup(void)
{
    ck_assert_msg(tpt_fault_start(&g_fault) == 0, "fault server did not start");
}

static void teardown(void)
{
    tpt_fault_stop(&g_fault);
}

static tp_http_client *new_client(uint32_t timeout_ms, size_t max_resp, const tp_allocator *a)
{
    tp_http_options o;
    tp_error err;
    tp_http_client *c = NULL;
    ck_assert_int_eq(tp_http_options_init(&o, TP_HTTP_OPTIONS_VERSION), TP_OK);
    o.timeout_ms = timeout_ms;
    o.max_response_bytes = max_resp;
    o.alloc = a;
    ck_assert_int_eq(tp_http_client_new(&c, &o, &err), TP_OK);
    return c;
}

static void url(char *out, size_t cap, const char *path)
{
    snprintf(out, cap, "%s%s", g_fault.base, path);
}

START_TEST(test_get_and_headers)
{
    tp_http_client *c = new_client(0, 0, NULL);
    tp_http_request rq;
    tp_http_response rs;
    tp_error err;
    char u[128];
    url(u, sizeof u, "/hello?x=1");
    tp_http_request_init(&rq, TP_HTTP_REQUEST_VERSION);
    rq.url = u;
    tp_http_header h[] = {{"X-Test", "v1"}, {"x-amz-target", "Svc.Op"}};
    rq.headers = h;
    rq.n_headers = 2;
    tp_http_response_init(&rs, NULL);
    ck_assert_int_eq(tp_http_send(c, &rq, &rs, &err), TP_OK);
    ck_assert_int_eq(rs.status, 200);
    json_t *j = json_loadb((const char *)rs.body.ptr, rs.body.len, 0, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(j, "method")), "GET");
    ck_assert_str_eq(json_string_value(json_object_get(j, "path")), "/hello?x=1");
    json_t *hd = json_object_get(j, "headers");
    ck_assert_str_eq(json_string_value(json_object_get(hd, "x-test")), "v1");
    ck_assert_str_eq(json_string_value(json_object_get(hd, "x-amz-target")), "Svc.Op");
    ck_assert_ptr_null(json_object_get(hd, "expect"));
    json_decref(j);
    tp_cursor v;
    ck_assert_int_eq(tp_http_response_header(&rs, "CONTENT-TYPE", &v), TP_OK);
    ck_assert_int_eq(v.len, strlen("application/json"));
    ck_assert(memcmp(v.ptr, "application/json", v.len) == 0);
    ck_assert_int_eq(tp_http_response_header(&rs, "x-missing", &v), TP_E_NOT_FOUND);
    tp_http_response_dispose(&rs);
    tp_http_client_free(c);
}
END_TEST

START_TEST(test_methods_and_bodies)
{
    static const char *methods[] = {"POST", "PUT", "DELETE", "HEAD", "POST"};
    tp_http_client *c = new_client(0, 0, NULL);
    tp_error err;
    char u[128];
    url(u, sizeof u, "/m");
    for (size_t i = 0; i < 5; i++) {
        tp_http_request rq;
        tp_http_response rs;
        tp_http_request_init(&rq, TP_HTTP_REQUEST_VERSION);
        rq.method = methods[i];
        rq.url = u;
        if (i < 2) {
            rq.body = (const uint8_t *)"{\"a\":1}";
            rq.body_len = 7;
        }
        tp_http_response_init(&rs, NULL);
        ck_assert_int_eq(tp_http_send(c, &rq, &rs, &err), TP_OK);
        ck_assert_int_eq(rs.status, 200);
        if (i != 3) {
            json_t *j = json_loadb((const char *)rs.body.ptr, rs.body.len, 0, NULL);
            ck_assert_ptr_nonnull(j);
            ck_assert_str_eq(json_string_value(json_object_get(j, "method")), methods[i]);
            ck_assert_int_eq(json_integer_value(json_object_get(j, "body_len")), i < 2 ? 7 : 0);
            if (i < 2)
                ck_assert_str_eq(json_string_value(json_object_get(j, "body")), "{\"a\":1}");
            json_decref(j);
        } else {
            ck_assert_uint_eq(rs.body.len, 0);
        }
        tp_http_response_dispose(&rs);
    }
    tp_http_client_free(c);
}
END_TEST

typedef struct {
    size_t left;
    size_t chunk;
} gen_state;

static size_t gen_read(void *dst, size_t cap, void *payload)
{
    gen_state *g = payload;
    size_t n = g->left < cap ? g->left : cap;
    if (n > g->chunk)
        n = g->chunk;
    memset(dst, 'z', n);
    g->left -= n;
    return n;
}

static size_t abort_read(void *dst, size_t cap, void *payload)
{
    (void)dst;
    (void)cap;
    (void)payload;
    return TP_HTTP_READ_ABORT;
}

START_TEST(test_streaming)
{
    tp_http_client *c = new_client(0, 0, NULL);
    tp_error err;
    char u[128];
    url(u, sizeof u, "/stream");
    /* Upload 300 000 bytes from a callback, size unknown (chunked). */
    gen_state g = {300000, 7000};
    tp_http_request rq;
    tp_http_response rs;
    tp_http_request_init(&rq, TP_HTTP_REQUEST_VERSION);
    rq.method = "PUT";
    rq.url = u;
    rq.body_read = gen_read;
    rq.body_read_payload = &g;
    rq.body_read_len = -1;
    tp_http_response_init(&rs, NULL);
    ck_assert_int_eq(tp_http_send(c, &rq, &rs, &err), TP_OK);
    json_t *j = json_loadb((const char *)rs.body.ptr, rs.body.len, 0, NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "body_len")), 300000);
    json_decref(j);

    /* Upload from a file descriptor with a known size. */
    char *dir = tpt_mkdtemp();
    char path[4096];
    snprintf(path, sizeof path, "%s/up", dir);
    ck_assert_int_eq(tpt_write_file(path, "0123456789", 10), 0);
    int fd = open(path, O_RDONLY);
    tp_http_request_init(&rq, TP_HTTP_REQUEST_VERSION);
    rq.method = "PUT";
    rq.url = u;
    rq.body_read = tp_http_read_fd;
    rq.body_read_payload = &fd;
    rq.body_read_len = 10;
    ck_assert_int_eq(tp_http_send(c, &rq, &rs, &err), TP_OK);
    close(fd);
    j = json_loadb((const char *)rs.body.ptr, rs.body.len, 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(j, "body")), "0123456789");
    json_decref(j);

    /* Download 1 MB into a file descriptor; the response buffer stays empty. */
    ck_assert_int_eq(tpt_fault_script(&g_fault, "[{\"body\":\"abcdefgh\",\"repeat\":131072}]"), 0);
    snprintf(path, sizeof path, "%s/down", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    tp_http_request_init(&rq, TP_HTTP_REQUEST_VERSION);
    rq.url = u;
    rq.sink = tp_http_write_fd;
    rq.sink_payload = &fd;
    ck_assert_int_eq(tp_http_send(c, &rq, &rs, &err), TP_OK);
    close(fd);
    ck_assert_uint_eq(rs.body.len, 0);
    ck_assert_uint_eq(rs.body_bytes, 1048576);
    size_t n = 0;
    uint8_t *data = tpt_read_file(path, &n);
    ck_assert_uint_eq(n, 1048576);
    ck_assert(memcmp(data + 1048568, "abcdefgh", 8) == 0);
    free(data);

    /* An error status is buffered even with a sink, so it can be parsed. */
    ck_assert_int_eq(tpt_fault_script(&g_fault, "[{\"status\":404,\"body\":\"<Error/>\"}]"), 0);
    fd = open(path, O_WRONLY | O_TRUNC);
    ck_assert_int_eq(tp_http_send(c, &rq, &rs, &err), TP_OK);
    close(fd);
    ck_assert_int_eq(rs.status, 404);
    ck_assert_str_eq((char *)rs.body.ptr, "<Error/>");

    /* A failing read callback fails the request with TP_E_IO. */
    tp_http_request_init(&rq, TP_HTTP_REQUEST_VERSION);
    rq.method = "PUT";
    rq.url = u;
    rq.body_read = abort_read;
    rq.body_read_len = 100;
    ck_assert_int_eq(tp_http_send(c, &rq, &rs, &err), TP_E_IO);
    ck_assert_int_eq(err.code, TP_E_IO);

    tp_http_response_dispose(&rs);
    tp_http_client_free(c);
    tpt_rmtree(dir);
    free(dir);
}
END_TEST

/* Faults: each row scripts one answer and expects a status and detail. */
static const struct {
    const char *script;
    uint32_t timeout_ms;
    size_t max_resp;
    tp_status want;
    int32_t want_http;
    const char *want_msg;
} fault_rows[] = {
    {"[{\"status\":503,\"body\":\"busy\"}]", 0, 0, TP_OK, 503, NULL},
    {"[{\"mode\":\"reset\"}]", 0, 0, TP_E_HTTP, 0, "GET http://127.0.0.1:"},
    {"[{\"mode\":\"reset_mid\",\"body\":\"0123456789abcdef\",\"repeat\":4096}]", 0, 0, TP_E_HTTP,
     200, "curl error"},
    {"[{\"mode\":\"truncate\",\"body\":\"{\\\"a\\\":1234567890}\"}]", 0, 0, TP_E_HTTP, 200,
     "curl error"},
    {"[{\"mode\":\"slow\",\"delay_ms\":1500}]", 300, 0, TP_E_TIMEOUT, 0, "timed out"},
    {"[{\"body\":\"0123456789\",\"repeat\":1000}]", 0, 5000, TP_E_TOO_LARGE, 200,
     "over the limit of 5000"},
};

START_TEST(test_faults)
{
    tp_http_client *c = new_client(fault_rows[_i].timeout_ms, fault_rows[_i].max_resp, NULL);
    tp_http_request rq;
    tp_http_response rs;
    tp_error err;
    char u[128];
    url(u, sizeof u, "/fault?secret=do-not-log");
    ck_assert_int_eq(tpt_fault_script(&g_fault, fault_rows[_i].script), 0);
    tp_http_request_init(&rq, TP_HTTP_REQUEST_VERSION);
    rq.url = u;
    tp_http_response_init(&rs, NULL);
    tp_status st = tp_http_send(c, &rq, &rs, &err);
    ck_assert_msg(st == fault_rows[_i].want, "row %d: got %d (%s)", _i, st, err.message);
    if (st == TP_OK) {
        ck_assert_int_eq(rs.status, fault_rows[_i].want_http);
    } else {
        ck_assert_int_eq(err.code, st);
        ck_assert_int_eq(err.http_status, fault_rows[_i].want_http);
        ck_assert_msg(strstr(err.message, fault_rows[_i].want_msg), "row %d: %s", _i,
                      err.message);
        ck_assert_ptr_null(strstr(err.message, "secret"));
    }
    /* The client is still usable after a failure. */
    ck_assert_int_eq(tp_http_send(c, &rq, &rs, &err), TP_OK);
    ck_assert_int_eq(rs.status, 200);
    tp_http_response_dispose(&rs);
    tp_http_client_free(c);
}
END_TEST

START_TEST(test_connection_reuse)
{
    tp_http_client *c = new_client(0, 0, NULL);
    tp_http_request rq;
    tp_http_response rs;
    tp_error err;
    char u[128];
    url(u, sizeof u, "/reuse");
    tp_http_request_init(&rq, TP_HTTP_REQUEST_VERSION);
    rq.url = u;
    tp_http_response_init(&rs, NULL);
    for (int i = 0; i < 5; i++) {
        rq.method = i % 2 ? "POST" : "GET";
        ck_assert_int_eq(tp_http_send(c, &rq, &rs, &err), TP_OK);
    }
    tp_http_response_dispose(&rs);
    tp_http_client_free(c);
    char *log = tpt_fault_log(&g_fault);
    json_t *j = json_loads(log, 0, NULL);
    ck_assert_int_eq(json_array_size(j), 5);
    json_int_t port0 = json_integer_value(json_object_get(json_array_get(j, 0), "peer_port"));
    for (size_t i = 1; i < 5; i++)
        ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(j, i), "peer_port")),
                         port0);
    json_decref(j);
    free(log);
}
END_TEST

typedef struct {
    int done;
    tp_status st;
} done_rec;

static void on_done(tp_status st, const tp_error *err, tp_http_response *resp, void *payload)
{
    (void)err;
    (void)resp;
    done_rec *d = payload;
    d->done++;
    d->st = st;
}

START_TEST(test_concurrent)
{
    enum { N = 6 };
    tp_http_client *c = new_client(0, 0, NULL);
    tp_http_response rs[N];
    done_rec d[N];
    tp_error err;
    char u[128];
    url(u, sizeof u, "/slow");
    ck_assert_int_eq(
        tpt_fault_script(&g_fault, "[{\"mode\":\"slow\",\"delay_ms\":400},{\"mode\":\"slow\","
                                   "\"delay_ms\":400},{\"mode\":\"slow\",\"delay_ms\":400},"
                                   "{\"mode\":\"slow\",\"delay_ms\":400},{\"mode\":\"slow\","
                                   "\"delay_ms\":400},{\"mode\":\"slow\",\"delay_ms\":400}]"),
        0);
    int64_t t0 = tp_time_mono_ns();
    for (int i = 0; i < N; i++) {
        tp_http_request rq;
        tp_http_request_init(&rq, TP_HTTP_REQUEST_VERSION);
        rq.url = u;
        tp_http_response_init(&rs[i], NULL);
        d[i].done = 0;
        ck_assert_int_eq(tp_http_start(c, &rq, &rs[i], on_done, &d[i], &err), TP_OK);
    }
    size_t in_flight = N;
    for (int k = 0; k < 100 && in_flight; k++)
        ck_assert_int_eq(tp_http_poll(c, 100, &in_flight, &err), TP_OK);
    int64_t ms = (tp_time_mono_ns() - t0) / 1000000;
    ck_assert_uint_eq(in_flight, 0);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(d[i].done, 1);
        ck_assert_int_eq(d[i].st, TP_OK);
        ck_assert_int_eq(rs[i].status, 200);
        tp_http_response_dispose(&rs[i]);
    }
    /* Serially it would take N * 400 ms = 2.4 s. */
    ck_assert_msg(ms < 2000, "took %lld ms", (long long)ms);
    tp_http_client_free(c);
}
END_TEST

static const struct {
    const char *method, *url, *hname, *hvalue, *field;
} bad_rows[] = {
    {"GET", "ftp://127.0.0.1/", NULL, NULL, "url"},
    {"GET", "127.0.0.1/x", NULL, NULL, "url"},
    {"G T", "http://127.0.0.1/", NULL, NULL, "method"},
    {"", "http://127.0.0.1/", NULL, NULL, "method"},
    {"GET", "http://127.0.0.1/", "X-A", "v\r\nInjected: 1", "headers"},
    {"GET", "http://127.0.0.1/", "Bad:Name", "v", "headers"},
    {"GET", "http://127.0.0.1/", "", "v", "headers"},
};

START_TEST(test_bad_requests)
{
    tp_http_client *c = new_client(0, 0, NULL);
    tp_http_request rq;
    tp_http_response rs;
    tp_error err;
    tp_http_request_init(&rq, TP_HTTP_REQUEST_VERSION);
    rq.method = bad_rows[_i].method;
    rq.url = bad_rows[_i].url;
    tp_http_header h = {bad_rows[_i].hname, bad_rows[_i].hvalue};
    if (h.name) {
        rq.headers = &h;
        rq.n_headers = 1;
    }
    tp_http_response_init(&rs, NULL);
    ck_assert_int_eq(tp_http_send(c, &rq, &rs, &err), TP_E_INVALID);
    ck_assert_str_eq(err.field, bad_rows[_i].field);
    tp_http_response_dispose(&rs);
    tp_http_client_free(c);
}
END_TEST

START_TEST(test_refused_and_tls)
{
    tp_http_client *c = new_client(2000, 0, NULL);
    tp_http_request rq;
    tp_http_response rs;
    tp_error err;
    char u[128];
    /* A port nobody listens on: take one and close it. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(s, (struct sockaddr *)&a, sizeof a);
    getsockname(s, (struct sockaddr *)&a, &al);
    close(s);
    snprintf(u, sizeof u, "http://127.0.0.1:%d/", ntohs(a.sin_port));
    tp_http_request_init(&rq, TP_HTTP_REQUEST_VERSION);
    rq.url = u;
    tp_http_response_init(&rs, NULL);
    ck_assert_int_eq(tp_http_send(c, &rq, &rs, &err), TP_E_HTTP);
    ck_assert_int_eq(err.http_status, 0);
    /* https:// to a plain-HTTP server: the TLS handshake fails. */
    snprintf(u, sizeof u, "https://127.0.0.1:%d/", g_fault.port);
    ck_assert_int_eq(tp_http_send(c, &rq, &rs, &err), TP_E_HTTP);
    tp_http_response_dispose(&rs);
    tp_http_client_free(c);
}
END_TEST

START_TEST(test_oom_sweep)
{
    char u[128];
    url(u, sizeof u, "/oom");
    for (long n = 1; n < 40; n++) {
        tpt_failing_alloc fa;
        tpt_failing_alloc_init(&fa, n);
        tp_http_options o = TP_HTTP_OPTIONS_INIT;
        o.alloc = &fa.a;
        tp_http_client *c = NULL;
        tp_error err;
        tp_status st = tp_http_client_new(&c, &o, &err);
        if (st == TP_OK) {
            tp_http_request rq = TP_HTTP_REQUEST_INIT;
            tp_http_response rs;
            tp_http_header h = {"X-A", "b"};
            rq.url = u;
            rq.headers = &h;
            rq.n_headers = 1;
            tp_http_response_init(&rs, &fa.a);
            st = tp_http_send(c, &rq, &rs, &err);
            if (st == TP_OK)
                ck_assert_int_eq(rs.status, 200);
            tp_http_response_dispose(&rs);
            tp_http_client_free(c);
        }
        if (st != TP_OK) {
            ck_assert_int_eq(st, TP_E_NOMEM);
            ck_assert_int_eq(err.code, TP_E_NOMEM);
        }
        ck_assert_int_eq(fa.live, 0);
    }
}
END_TEST

START_TEST(test_options_and_dates)
{
    tp_http_options o;
    ck_assert_int_eq(tp_http_options_init(&o, 99), TP_E_INVALID);
    o.version = 99;
    tp_http_client *c = NULL;
    tp_error err;
    ck_assert_int_eq(tp_http_client_new(&c, &o, &err), TP_E_INVALID);
    ck_assert_str_eq(err.field, "version");
    ck_assert_int_eq(tp_http__parse_date("Wed, 25 Nov 2026 16:57:52 GMT"), 1795625872);
    ck_assert_int_eq(tp_http__parse_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
    ck_assert_int_eq(tp_http__parse_date("not a date"), -1);
    ck_assert_int_eq(tp_http__parse_date(""), -1);
}
END_TEST

/* TLS: the certificate is checked (a self-signed one is refused), and
 * AWS_CA_BUNDLE (or the ca_bundle option) makes it trusted. */
START_TEST(test_tls_verification)
{
    tpt_fault tls;
    ck_assert_int_eq(tpt_fault_start_mode(&tls, 1), 0);
    char u[128], ca[4096];
    snprintf(u, sizeof u, "%s/secure", tls.base);
    snprintf(ca, sizeof ca, "%s/tests/fixtures/tls-cert.pem", tpt_source_dir());
    tp_http_request rq = TP_HTTP_REQUEST_INIT;
    tp_http_response rs;
    tp_error err;
    rq.url = u;
    tp_http_response_init(&rs, NULL);
    unsetenv("AWS_CA_BUNDLE");
    tp_http_client *c = new_client(5000, 0, NULL);
    ck_assert_int_eq(tp_http_send(c, &rq, &rs, &err), TP_E_HTTP);
    ck_assert_msg(strstr(err.message, "certificate"), "%s", err.message);
    tp_http_client_free(c);

    setenv("AWS_CA_BUNDLE", ca, 1);
    c = new_client(5000, 0, NULL);
    ck_assert_msg(tp_http_send(c, &rq, &rs, &err) == TP_OK, "%s", err.message);
    ck_assert_int_eq(rs.status, 200);
    tp_http_client_free(c);
    unsetenv("AWS_CA_BUNDLE");

    /* The option wins over the environment; a wrong bundle fails. */
    setenv("AWS_CA_BUNDLE", "/nonexistent/ca.pem", 1);
    tp_http_options o = TP_HTTP_OPTIONS_INIT;
    o.ca_bundle = ca;
    ck_assert_int_eq(tp_http_client_new(&c, &o, &err), TP_OK);
    ck_assert_int_eq(tp_http_send(c, &rq, &rs, &err), TP_OK);
    tp_http_client_free(c);
    o.ca_bundle = NULL;
    ck_assert_int_eq(tp_http_client_new(&c, &o, &err), TP_OK);
    ck_assert_int_eq(tp_http_send(c, &rq, &rs, &err), TP_E_HTTP);
    tp_http_client_free(c);
    unsetenv("AWS_CA_BUNDLE");
    tp_http_response_dispose(&rs);
    tpt_fault_stop(&tls);
}
END_TEST

/* Proxies come from the environment as curl reads them: with http_proxy
 * pointing at the fixture, it receives the absolute URL. */
START_TEST(test_proxy_from_env)
{
    setenv("http_proxy", g_fault.base, 1);
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
    tp_http_client *c = new_client(5000, 0, NULL);
    tp_http_request rq = TP_HTTP_REQUEST_INIT;
    tp_http_response rs;
    tp_error err;
    rq.url = "http://service.example.invalid/path?q=1";
    tp_http_response_init(&rs, NULL);
    ck_assert_msg(tp_http_send(c, &rq, &rs, &err) == TP_OK, "%s", err.message);
    json_t *j = json_loadb((const char *)rs.body.ptr, rs.body.len, 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(j, "path")),
                     "http://service.example.invalid/path?q=1");
    json_decref(j);
    tp_http_response_dispose(&rs);
    tp_http_client_free(c);
    unsetenv("http_proxy");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("loopback");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_get_and_headers);
    tcase_add_test(tc, test_methods_and_bodies);
    tcase_add_test(tc, test_streaming);
    tcase_add_loop_test(tc, test_faults, 0, TP_ARRAY_LEN(fault_rows));
    tcase_add_test(tc, test_connection_reuse);
    tcase_add_test(tc, test_concurrent);
    tcase_add_loop_test(tc, test_bad_requests, 0, TP_ARRAY_LEN(bad_rows));
    tcase_add_test(tc, test_refused_and_tls);
    tcase_add_test(tc, test_oom_sweep);
    tcase_add_test(tc, test_options_and_dates);
    tcase_add_test(tc, test_tls_verification);
    tcase_add_test(tc, test_proxy_from_env);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tpt_run_suite(suite());
}
