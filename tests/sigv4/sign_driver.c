/* Test driver for the botocore differential test (tests/sigv4/diff_botocore.py).
 *
 * Reads one JSON request per line on stdin, signs it with the public API and
 * writes one JSON line per request on stdout:
 *   in:  {"id", "mode": "header"|"presign", "flags", "method", "path", "query",
 *         "headers": [[name, value], ...], "body": hex, "payload_hash"?,
 *         "akid", "secret", "token"|null, "region", "service", "now_ms", "expires"}
 *   out: {"id", "status", "error", "creq", "sts", "signature",
 *         "headers": [[name, value], ...] (header mode), "target" (presign)}
 * One signer serves every request, as a client would use it. */
#include "tradepipe.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static tp_cursor cur(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return tp_cursor_make(json_string_value(v), json_string_length(v));
}

static json_t *cursor_json(tp_cursor c) { return json_stringn((const char *)c.ptr, c.len); }

int main(void)
{
    tp_sigv4_signer *s = NULL;
    if (tp_sigv4_signer_new(&s, NULL, NULL) != TP_OK)
        return 2;
    size_t cap = 1 << 20;
    char *line = malloc(cap);
    tp_buf body, target;
    tp_buf_init(&body, NULL, 0);
    tp_buf_init(&target, NULL, 0);
    if (!line)
        return 2;
    for (;;) {
        size_t len = 0;
        int c;
        while ((c = getchar()) != EOF && c != '\n') {
            if (len + 1 >= cap) {
                cap *= 2;
                char *nl = realloc(line, cap);
                if (!nl)
                    return 2;
                line = nl;
            }
            line[len++] = (char)c;
        }
        if (len == 0 && c == EOF)
            break;
        line[len] = 0;
        json_error_t je;
        json_t *in = json_loads(line, 0, &je);
        if (!in) {
            fprintf(stderr, "sign_driver: bad input line: %s\n", je.text);
            return 2;
        }
        json_t *hs = json_object_get(in, "headers");
        size_t nh = json_array_size(hs);
        tp_sigv4_header *h = calloc(nh ? nh : 1, sizeof *h);
        for (size_t i = 0; i < nh; i++) {
            json_t *pair = json_array_get(hs, i);
            json_t *n = json_array_get(pair, 0), *v = json_array_get(pair, 1);
            h[i].name = tp_cursor_make(json_string_value(n), json_string_length(n));
            h[i].value = tp_cursor_make(json_string_value(v), json_string_length(v));
        }
        tp_buf_clear(&body);
        tp_hex_decode(&body, cur(in, "body"), NULL);

        tp_credentials cr = {str(in, "akid"), str(in, "secret"),
                             json_string_value(json_object_get(in, "token")),
                             TP_CREDENTIALS_NO_EXPIRY};
        tp_sigv4_request req = TP_SIGV4_REQUEST_INIT;
        req.method = cur(in, "method");
        req.path = cur(in, "path");
        req.query = cur(in, "query");
        req.headers = h;
        req.header_count = nh;
        req.body = tp_buf_cursor(&body);
        req.payload_hash = cur(in, "payload_hash");
        tp_sigv4_config cfg = TP_SIGV4_CONFIG_INIT;
        cfg.flags = (uint32_t)json_integer_value(json_object_get(in, "flags"));
        cfg.region = str(in, "region");
        cfg.service = str(in, "service");
        cfg.now_ms = (int64_t)json_integer_value(json_object_get(in, "now_ms"));
        cfg.expires_s = (int64_t)json_integer_value(json_object_get(in, "expires"));

        json_t *out = json_object();
        json_object_set(out, "id", json_object_get(in, "id"));
        tp_error err;
        tp_error_clear(&err);
        tp_status st;
        if (strcmp(str(in, "mode"), "presign") == 0) {
            tp_buf_clear(&target);
            st = tp_sigv4_presign(s, &target, &cr, &req, &cfg, &err);
            if (st == TP_OK)
                json_object_set_new(out, "target", cursor_json(tp_buf_cursor(&target)));
        } else {
            tp_sigv4_output o;
            st = tp_sigv4_sign(s, &o, &cr, &req, &cfg, &err);
            if (st == TP_OK) {
                json_t *arr = json_array();
                for (size_t i = 0; i < o.header_count; i++) {
                    json_t *pair = json_array();
                    json_array_append_new(pair, cursor_json(o.headers[i].name));
                    json_array_append_new(pair, cursor_json(o.headers[i].value));
                    json_array_append_new(arr, pair);
                }
                json_object_set_new(out, "headers", arr);
                json_object_set_new(out, "signature", json_string(o.signature));
            }
        }
        json_object_set_new(out, "status", json_integer(st));
        json_object_set_new(out, "error", json_string(err.message));
        if (st == TP_OK) {
            json_object_set_new(out, "creq", cursor_json(tp_sigv4_signer_canonical_request(s)));
            json_object_set_new(out, "sts", cursor_json(tp_sigv4_signer_string_to_sign(s)));
        }
        char *text = json_dumps(out, JSON_COMPACT | JSON_ENSURE_ASCII);
        if (!text)
            return 2;
        puts(text);
        free(text);
        json_decref(out);
        json_decref(in);
        free(h);
    }
    fflush(stdout);
    tp_buf_dispose(&body);
    tp_buf_dispose(&target);
    tp_sigv4_signer_free(s);
    free(line);
    return 0;
}
