/* Floor 3: AWS JSON 1.0/1.1 requests (X-Amz-Target) built and parsed with jansson. */
#include "aws_int.h"

#include <stdio.h>

tp_status tp_aws__json_call_raw(tp_aws_conn *c, const char *json_version, const char *target,
                                tp_cursor body, tp_http_response *resp, tp_error *err)
{
    char ctype[48];
    snprintf(ctype, sizeof ctype, "application/x-amz-json-%s", json_version);
    tp_http_header h[] = {{"content-type", ctype}, {"x-amz-target", target}};
    tp_aws_req r = {0};
    r.method = "POST";
    r.path = "/";
    r.headers = h;
    r.n_headers = TP_ARRAY_LEN(h);
    r.body = body;
    return tp_aws__call(c, &r, resp, target, err);
}

tp_status tp_aws__json_parse_answer(tp_cursor body, const char *target, int32_t http_status,
                                    json_t **out, tp_error *err)
{
    *out = NULL;
    if (body.len == 0) {
        *out = json_object();
        return *out ? TP_OK : tp_error__set(err, TP_E_NOMEM, "%s: out of memory", target);
    }
    json_error_t je;
    json_t *root = json_loadb((const char *)body.ptr, body.len, 0, &je);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        tp_error__at(err, TP_E_PARSE, root ? 0 : (uint64_t)(je.position > 0 ? je.position : 0),
                     NULL, "%s: the answer is not a JSON object%s%s", target, root ? "" : ": ",
                     root ? "" : je.text);
        if (err)
            err->http_status = http_status;
        return TP_E_PARSE;
    }
    *out = root;
    return TP_OK;
}

tp_status tp_aws__json_call(tp_aws_conn *c, const char *json_version, const char *target,
                            tp_cursor body, json_t **out, tp_error *err)
{
    tp_http_response resp;
    *out = NULL;
    tp_http_response_init(&resp, c->alloc);
    tp_status st = tp_aws__json_call_raw(c, json_version, target, body, &resp, err);
    if (st == TP_OK)
        st = tp_aws__json_parse_answer(tp_buf_cursor(&resp.body), target, resp.status, out, err);
    tp_http_response_dispose(&resp);
    return st;
}

tp_status tp_aws__json_call_obj(tp_aws_conn *c, const char *json_version, const char *target,
                                json_t *body, json_t **out, tp_error *err)
{
    *out = NULL;
    if (!body)
        return tp_error__set(err, TP_E_NOMEM, "%s: out of memory building the request", target);
    char *text = json_dumps(body, JSON_COMPACT);
    if (!text)
        return tp_error__set(err, TP_E_NOMEM, "%s: out of memory building the request", target);
    tp_status st = tp_aws__json_call(c, json_version, target, tp_cursor_from_str(text), out, err);
    free(text);
    return st;
}

/* Member `key` of `o` in *v; an absent or null one is NULL, an error when
 * `required`. */
static tp_status member(json_t *o, const char *key, int required, json_t **v, tp_error *err)
{
    *v = json_object_get(o, key);
    if (*v && json_is_null(*v))
        *v = NULL;
    if (!*v && required)
        return tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, key, "answer lacks %s", key);
    return TP_OK;
}

tp_status tp_aws__get_str(json_t *o, const char *key, int required, const char **out,
                          tp_error *err)
{
    *out = NULL;
    json_t *v;
    tp_status st = member(o, key, required, &v, err);
    if (st != TP_OK || !v)
        return st;
    if (!json_is_string(v))
        return tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, key, "%s is not a string", key);
    *out = json_string_value(v);
    return TP_OK;
}

tp_status tp_aws__get_int(json_t *o, const char *key, int required, int64_t *out,
                          tp_error *err)
{
    json_t *v;
    tp_status st = member(o, key, required, &v, err);
    if (st != TP_OK || !v)
        return st;
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return TP_OK;
    }
    return tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, key, "%s is not an integer", key);
}

tp_status tp_aws__get_epoch_ms(json_t *o, const char *key, int required, int64_t *out,
                               tp_error *err)
{
    json_t *v;
    tp_status st = member(o, key, required, &v, err);
    if (st != TP_OK || !v)
        return st;
    /* AWS JSON timestamps are epoch seconds, often with a fraction. */
    double d = json_is_integer(v) ? (double)json_integer_value(v)
                                  : json_is_real(v) ? json_real_value(v) : -1e300;
    if (!(d > -9.2e12 && d < 9.2e12))
        return tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, key, "%s is not a timestamp", key);
    double ms = d * 1000.0;
    *out = (int64_t)(ms >= 0 ? ms + 0.5 : ms - 0.5);
    return TP_OK;
}

tp_status tp_aws__copy_str(json_t *o, const char *key, int required, char *dst, size_t cap,
                           tp_error *err)
{
    const char *s = NULL;
    dst[0] = 0;
    tp_status st = tp_aws__get_str(o, key, required, &s, err);
    if (st != TP_OK || !s)
        return st;
    size_t n = strlen(s);
    if (n >= cap)
        return tp_error__at(err, TP_E_RANGE, TP_NO_OFFSET, key, "%s is longer than %zu bytes",
                            key, cap - 1);
    memcpy(dst, s, n + 1);
    return TP_OK;
}
