/* Floor 4: the DynamoDB client (AWS JSON 1.0) and attribute values.
 *
 * A tp_ddb_value is a jansson tree in DynamoDB's own JSON form ({"S":"x"},
 * {"M":{...}}): building a request is then a matter of reference counts,
 * and an answer is checked once, on arrival. */
#include "aws/aws_int.h"
#include "tradepipe/dynamodb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TARGET_PREFIX "DynamoDB_20120810."
#define JSON_VERSION  "1.0"
#define MAX_DEPTH     32
#define BATCH_MAX     25

struct tp_dynamodb {
    tp_aws_conn conn;
};

#define J(v)  ((json_t *)(v))
#define CJ(v) ((const json_t *)(v))
#define V(j)  ((tp_ddb_value *)(j))

/* ---- values -------------------------------------------------------------- */

static tp_status wrap(tp_ddb_value **out, const char *tag, json_t *inner, tp_error *err)
{
    *out = NULL;
    json_t *o = inner ? json_object() : NULL;
    if (!o || json_object_set_new(o, tag, inner) != 0) {
        json_decref(o);
        if (!o)
            json_decref(inner);
        return tp_error__set(err, TP_E_NOMEM, "out of memory building a DynamoDB value");
    }
    *out = V(o);
    return TP_OK;
}

tp_status tp_ddb_s_new(tp_ddb_value **out, tp_cursor s, tp_error *err)
{
    json_t *j = json_stringn((const char *)(s.ptr ? s.ptr : (const uint8_t *)""), s.len);
    if (!j) {
        *out = NULL;
        /* json_stringn fails on invalid UTF-8 as well as on memory */
        return tp_error__set(err, TP_E_INVALID, "DynamoDB string is not valid UTF-8");
    }
    return wrap(out, "S", j, err);
}

/* DynamoDB numbers (Amazon DynamoDB Developer Guide, "Supported data types
 * and naming rules", Number): text [-]digits[.digits][(e|E)[+-]digits], at
 * most 38 significant digits (leading and trailing zeros do not count, in the
 * integer part as in the fraction: 1E+100 written out is one significant
 * digit), zero, or a magnitude from 1E-130 to
 * 9.9999999999999999999999999999999999999E+125, positive or negative.
 * `ddb_num` is the parsed form: the significant digits (a slice of the text,
 * possibly with one '.' inside) and the decimal exponent of the first one. */
#define DDB_N_MAX_DIGITS 38
#define DDB_N_MIN_EXP    (-130)
#define DDB_N_MAX_EXP    125

typedef struct {
    int neg;
    int zero;
    size_t sig;        /* significant digits */
    const char *first; /* first significant digit (in the text) */
    long exp10;        /* its decimal exponent: value = d.ddd x 10^exp10 */
} ddb_num;

enum { DDB_N_OK, DDB_N_SYNTAX, DDB_N_DIGITS, DDB_N_MAGNITUDE };

/* Parse `s` into `n`; DDB_N_SYNTAX sets *bad to the byte offset. */
static int parse_number(const char *s, ddb_num *n, size_t *bad)
{
    size_t i = 0, digits = 0, pos = 0, first = 0, last = 0, int_digits = 0;
    int seen = 0;
    memset(n, 0, sizeof *n);
    if (s[i] == '-') {
        n->neg = 1;
        i++;
    }
    for (int frac = 0; frac < 2; frac++) {
        size_t from = digits;
        for (; s[i] >= '0' && s[i] <= '9'; i++, digits++, pos++) {
            if (s[i] == '0')
                continue;
            if (!seen) {
                seen = 1;
                first = pos;
                n->first = s + i;
            }
            last = pos;
        }
        if (!frac) {
            int_digits = digits;
            if (s[i] != '.')
                break;
            i++;
        } else if (digits == from) {
            *bad = i; /* '.' with no digit after it */
            return DDB_N_SYNTAX;
        }
    }
    if (digits == 0) {
        *bad = i;
        return DDB_N_SYNTAX;
    }
    long e = 0;
    if (s[i] == 'e' || s[i] == 'E') {
        i++;
        int eneg = s[i] == '-';
        if (s[i] == '+' || s[i] == '-')
            i++;
        size_t ed = 0;
        for (; s[i] >= '0' && s[i] <= '9'; i++, ed++)
            if (e < 100000000) /* saturate: far past any valid exponent */
                e = e * 10 + (s[i] - '0');
        if (ed == 0) {
            *bad = i;
            return DDB_N_SYNTAX;
        }
        if (eneg)
            e = -e;
    }
    if (s[i]) {
        *bad = i;
        return DDB_N_SYNTAX;
    }
    if (!seen) {
        n->zero = 1;
        return DDB_N_OK;
    }
    n->sig = last - first + 1;
    n->exp10 = (long)int_digits - 1 - (long)first + e;
    if (n->sig > DDB_N_MAX_DIGITS)
        return DDB_N_DIGITS;
    if (n->exp10 < DDB_N_MIN_EXP || n->exp10 > DDB_N_MAX_EXP)
        return DDB_N_MAGNITUDE;
    return DDB_N_OK;
}

/* The error for a number that breaks the rules; `path` names it. */
static tp_status number_error(tp_error *err, int why, size_t bad, const char *path)
{
    switch (why) {
    case DDB_N_DIGITS:
        return tp_error__at(err, TP_E_RANGE, TP_NO_OFFSET, path,
                            "%s has more than 38 significant digits", path);
    case DDB_N_MAGNITUDE:
        return tp_error__at(err, TP_E_RANGE, TP_NO_OFFSET, path,
                            "%s is out of DynamoDB's range (0, or a magnitude from 1E-130 "
                            "to 9.9999999999999999999999999999999999999E+125)",
                            path);
    default:
        return tp_error__at(err, TP_E_PARSE, bad, path, "%s is not a number at byte %zu", path,
                            bad);
    }
}

tp_status tp_ddb_n_new(tp_ddb_value **out, const char *decimal, tp_error *err)
{
    size_t bad = 0;
    *out = NULL;
    if (!decimal)
        return tp_error__at(err, TP_E_PARSE, 0, "N", "no number");
    ddb_num n;
    int why = parse_number(decimal, &n, &bad);
    if (why != DDB_N_OK)
        return number_error(err, why, bad, "N");
    return wrap(out, "N", json_string(decimal), err);
}

tp_status tp_ddb_n_new_i64(tp_ddb_value **out, int64_t v, tp_error *err)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    return wrap(out, "N", json_string(buf), err);
}

tp_status tp_ddb_b_new(tp_ddb_value **out, tp_cursor bytes, tp_error *err)
{
    tp_buf b;
    tp_buf_init(&b, NULL, 0);
    *out = NULL;
    tp_status st = tp_base64_encode(&b, bytes, err);
    if (st == TP_OK)
        st = wrap(out, "B", json_stringn(b.ptr ? (const char *)b.ptr : "", b.len), err);
    tp_buf_dispose(&b);
    return st;
}

tp_status tp_ddb_bool_new(tp_ddb_value **out, int32_t v, tp_error *err)
{
    return wrap(out, "BOOL", json_boolean(v), err);
}

tp_status tp_ddb_null_new(tp_ddb_value **out, tp_error *err)
{
    return wrap(out, "NULL", json_true(), err);
}

tp_status tp_ddb_m_new(tp_ddb_value **out, tp_error *err)
{
    return wrap(out, "M", json_object(), err);
}

tp_status tp_ddb_l_new(tp_ddb_value **out, tp_error *err)
{
    return wrap(out, "L", json_array(), err);
}

static json_t *inner(const tp_ddb_value *v, int32_t type);

tp_status tp_ddb_ss_new(tp_ddb_value **out, const char *const *strings, size_t n, tp_error *err)
{
    *out = NULL;
    if (!strings || n == 0)
        return tp_error__set(err, TP_E_INVALID, "a string set holds at least one string");
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        for (size_t j = 0; j < i; j++)
            if (!strcmp(strings[i], strings[j])) {
                json_decref(a);
                return tp_error__at(err, TP_E_INVALID, i, "SS", "string %zu repeats string %zu",
                                    i, j);
            }
        json_t *e = strings[i] ? json_string(strings[i]) : NULL;
        if (!e || json_array_append_new(a, e) != 0) {
            json_decref(a);
            return tp_error__at(err, TP_E_INVALID, i, "SS",
                                "string %zu is NULL or not UTF-8", i);
        }
    }
    return wrap(out, "SS", a, err);
}

const char *tp_ddb_ss_get(const tp_ddb_value *ss, size_t i)
{
    json_t *a = inner(ss, TP_DDB_SS);
    return a ? json_string_value(json_array_get(a, i)) : NULL;
}

tp_status tp_ddb_value_copy(tp_ddb_value **out, const tp_ddb_value *v, tp_error *err)
{
    *out = v ? V(json_deep_copy(CJ(v))) : NULL;
    if (!*out)
        return tp_error__set(err, v ? TP_E_NOMEM : TP_E_INVALID, "cannot copy the value");
    return TP_OK;
}

void tp_ddb_value_free(tp_ddb_value *v)
{
    json_decref(J(v));
}

static const char *const g_tags[] = {NULL, "S", "N", "B", "BOOL", "NULL", "M", "L", "SS"};

int32_t tp_ddb_value_type(const tp_ddb_value *v)
{
    if (!v || !json_is_object(CJ(v)) || json_object_size(CJ(v)) != 1)
        return TP_DDB_INVALID;
    for (int32_t t = 1; t < (int32_t)TP_ARRAY_LEN(g_tags); t++)
        if (json_object_get(CJ(v), g_tags[t]))
            return t;
    return TP_DDB_INVALID;
}

static json_t *inner(const tp_ddb_value *v, int32_t type)
{
    return tp_ddb_value_type(v) == type ? json_object_get(CJ(v), g_tags[type]) : NULL;
}

tp_status tp_ddb_m_set(tp_ddb_value *m, const char *name, tp_ddb_value *v, tp_error *err)
{
    json_t *o = inner(m, TP_DDB_M);
    if (!o || !name || !*name || tp_ddb_value_type(v) == TP_DDB_INVALID) {
        json_decref(J(v));
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "name",
                            "tp_ddb_m_set needs a map, a name and a value");
    }
    if (json_object_set_new(o, name, J(v)) != 0)
        return tp_error__set(err, TP_E_NOMEM, "out of memory setting %s", name);
    return TP_OK;
}

tp_status tp_ddb_l_append(tp_ddb_value *l, tp_ddb_value *v, tp_error *err)
{
    json_t *a = inner(l, TP_DDB_L);
    if (!a || tp_ddb_value_type(v) == TP_DDB_INVALID) {
        json_decref(J(v));
        return tp_error__set(err, TP_E_INVALID, "tp_ddb_l_append needs a list and a value");
    }
    if (json_array_append_new(a, J(v)) != 0)
        return tp_error__set(err, TP_E_NOMEM, "out of memory appending to a list");
    return TP_OK;
}

tp_status tp_ddb_m_set_s(tp_ddb_value *m, const char *name, const char *s, tp_error *err)
{
    tp_ddb_value *v;
    tp_status st = tp_ddb_s_new(&v, tp_cursor_from_str(s), err);
    return st != TP_OK ? st : tp_ddb_m_set(m, name, v, err);
}

tp_status tp_ddb_m_set_n(tp_ddb_value *m, const char *name, const char *decimal, tp_error *err)
{
    tp_ddb_value *v;
    tp_status st = tp_ddb_n_new(&v, decimal, err);
    return st != TP_OK ? st : tp_ddb_m_set(m, name, v, err);
}

tp_status tp_ddb_m_set_i64(tp_ddb_value *m, const char *name, int64_t n, tp_error *err)
{
    tp_ddb_value *v;
    tp_status st = tp_ddb_n_new_i64(&v, n, err);
    return st != TP_OK ? st : tp_ddb_m_set(m, name, v, err);
}

tp_status tp_ddb_value_s(const tp_ddb_value *v, tp_cursor *out)
{
    json_t *s = inner(v, TP_DDB_S);
    if (!json_is_string(s))
        return TP_E_INVALID;
    *out = tp_cursor_make(json_string_value(s), json_string_length(s));
    return TP_OK;
}

tp_status tp_ddb_value_n(const tp_ddb_value *v, const char **out)
{
    json_t *s = inner(v, TP_DDB_N);
    if (!json_is_string(s))
        return TP_E_INVALID;
    *out = json_string_value(s);
    return TP_OK;
}

tp_status tp_ddb_value_i64(const tp_ddb_value *v, int64_t *out)
{
    const char *s;
    ddb_num n;
    size_t bad;
    if (tp_ddb_value_n(v, &s) != TP_OK || parse_number(s, &n, &bad) != DDB_N_OK)
        return TP_E_INVALID;
    if (n.zero) {
        *out = 0;
        return TP_OK;
    }
    /* an integer when no significant digit lies right of the point; int64
     * has at most 19 digits */
    if (n.exp10 < (long)n.sig - 1 || n.exp10 > 18)
        return TP_E_RANGE;
    uint64_t m = 0, lim = n.neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    const char *p = n.first;
    for (long k = 0; k <= n.exp10; k++) {
        unsigned d = 0;
        if ((size_t)k < n.sig) {
            if (*p == '.')
                p++;
            d = (unsigned)(*p++ - '0');
        }
        if (m > (lim - d) / 10)
            return TP_E_RANGE;
        m = m * 10 + d;
    }
    *out = n.neg ? (int64_t)(0 - m) : (int64_t)m;
    return TP_OK;
}

tp_status tp_ddb_value_b(const tp_ddb_value *v, tp_buf *out, tp_error *err)
{
    json_t *s = inner(v, TP_DDB_B);
    if (!json_is_string(s))
        return tp_error__set(err, TP_E_INVALID, "not a binary value");
    return tp_base64_decode(out, tp_cursor_make(json_string_value(s), json_string_length(s)), err);
}

tp_status tp_ddb_value_bool(const tp_ddb_value *v, int32_t *out)
{
    json_t *b = inner(v, TP_DDB_BOOL);
    if (!json_is_boolean(b))
        return TP_E_INVALID;
    *out = json_is_true(b);
    return TP_OK;
}

const tp_ddb_value *tp_ddb_m_get(const tp_ddb_value *m, const char *name)
{
    json_t *o = inner(m, TP_DDB_M);
    return o && name ? V(json_object_get(o, name)) : NULL;
}

size_t tp_ddb_value_count(const tp_ddb_value *v)
{
    json_t *o = inner(v, TP_DDB_M);
    if (o)
        return json_object_size(o);
    json_t *a = inner(v, TP_DDB_L);
    if (!a)
        a = inner(v, TP_DDB_SS);
    return a ? json_array_size(a) : 0;
}

const tp_ddb_value *tp_ddb_l_get(const tp_ddb_value *l, size_t i)
{
    json_t *a = inner(l, TP_DDB_L);
    return a ? V(json_array_get(a, i)) : NULL;
}

tp_status tp_ddb_value_to_json(const tp_ddb_value *v, tp_buf *out, tp_error *err)
{
    if (tp_ddb_value_type(v) == TP_DDB_INVALID)
        return tp_error__set(err, TP_E_INVALID, "not a DynamoDB value");
    char *s = json_dumps(CJ(v), JSON_COMPACT | JSON_SORT_KEYS);
    if (!s)
        return tp_error__set(err, TP_E_NOMEM, "out of memory writing a value");
    tp_status st = tp_buf_append_str(out, s, err);
    free(s);
    return st;
}

/* Check an attribute value from the wire; `path` names it in errors. */
static tp_status check_value(json_t *v, int depth, const char *path, tp_error *err)
{
    if (depth > MAX_DEPTH)
        return tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, path, "value nested deeper than %d",
                            MAX_DEPTH);
    if (!json_is_object(v) || json_object_size(v) != 1)
        return tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, path,
                            "attribute value must be an object with one type tag");
    const char *tag = json_object_iter_key(json_object_iter(v));
    json_t *x = json_object_iter_value(json_object_iter(v));
    if (!strcmp(tag, "S"))
        return json_is_string(x) ? TP_OK
                                 : tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, path,
                                                "S is not a string");
    if (!strcmp(tag, "N")) {
        size_t bad = 0;
        ddb_num n;
        if (!json_is_string(x))
            return tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, path, "N is not a string");
        int why = parse_number(json_string_value(x), &n, &bad);
        return why == DDB_N_OK ? TP_OK : number_error(err, why, bad, path);
    }
    if (!strcmp(tag, "B")) {
        tp_buf b;
        tp_buf_init(&b, NULL, 0);
        tp_status st = json_is_string(x)
                           ? tp_base64_decode(&b, tp_cursor_make(json_string_value(x),
                                                                 json_string_length(x)),
                                              NULL)
                           : TP_E_PARSE;
        tp_buf_dispose(&b);
        return st == TP_OK ? TP_OK
                           : tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, path, "B is not base64");
    }
    if (!strcmp(tag, "BOOL"))
        return json_is_boolean(x) ? TP_OK
                                  : tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, path,
                                                 "BOOL is not a boolean");
    if (!strcmp(tag, "NULL"))
        return json_is_true(x) ? TP_OK
                               : tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, path,
                                              "NULL must be true");
    if (!strcmp(tag, "M")) {
        if (!json_is_object(x))
            return tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, path, "M is not an object");
        const char *k;
        json_t *e;
        json_object_foreach(x, k, e)
        {
            tp_status st = check_value(e, depth + 1, k, err);
            if (st != TP_OK)
                return st;
        }
        return TP_OK;
    }
    if (!strcmp(tag, "L")) {
        if (!json_is_array(x))
            return tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, path, "L is not an array");
        size_t i;
        json_t *e;
        json_array_foreach(x, i, e)
        {
            tp_status st = check_value(e, depth + 1, path, err);
            if (st != TP_OK)
                return st;
        }
        return TP_OK;
    }
    if (!strcmp(tag, "SS")) {
        if (!json_is_array(x) || json_array_size(x) == 0)
            return tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, path,
                                "SS is not a non-empty array");
        size_t i;
        json_t *e;
        json_array_foreach(x, i, e)
        {
            if (!json_is_string(e))
                return tp_error__at(err, TP_E_PARSE, i, path, "SS entry %zu is not a string", i);
        }
        return TP_OK;
    }
    return tp_error__at(err, TP_E_UNSUPPORTED, TP_NO_OFFSET, path,
                        "attribute type %.8s is not supported", tag);
}

tp_status tp_ddb_value_from_json(tp_ddb_value **out, tp_cursor text, tp_error *err)
{
    json_error_t je;
    *out = NULL;
    json_t *j = json_loadb((const char *)text.ptr, text.len, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        return tp_error__at(err, TP_E_PARSE, (uint64_t)(je.position > 0 ? je.position : 0), NULL,
                            "not JSON: %s", je.text);
    tp_status st = check_value(j, 0, "", err);
    if (st != TP_OK) {
        json_decref(j);
        return st;
    }
    *out = V(j);
    return TP_OK;
}

/* An item from an answer ({name: value}) as an M value (checked). */
static tp_status item_from(json_t *map, const char *field, tp_ddb_value **out, tp_error *err)
{
    *out = NULL;
    if (!json_is_object(map))
        return tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, field, "%s is not a map", field);
    json_t *m = json_object();
    if (!m || json_object_set(m, "M", map) != 0) {
        json_decref(m);
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    }
    tp_status st = check_value(m, 0, field, err);
    if (st != TP_OK) {
        json_decref(m);
        return st;
    }
    *out = V(m);
    return TP_OK;
}

/* ---- the client ---------------------------------------------------------- */

tp_status tp_dynamodb_new(tp_dynamodb **out, const tp_aws_client_options *opts, tp_error *err)
{
    if (!out)
        return tp_error__set(err, TP_E_INVALID, "tp_dynamodb_new: out is NULL");
    *out = NULL;
    const tp_allocator *a = opts ? opts->alloc : NULL;
    tp_dynamodb *d = tp__calloc(a, 1, sizeof *d);
    if (!d)
        return tp_error__set(err, TP_E_NOMEM, "out of memory creating a DynamoDB client");
    tp_status st = tp_aws__conn_init(&d->conn, "dynamodb", TP_AWS_PROTO_JSON, 0, opts, err);
    if (st != TP_OK) {
        tp__free(a, d);
        return st;
    }
    *out = d;
    return TP_OK;
}

void tp_dynamodb_free(tp_dynamodb *d)
{
    if (!d)
        return;
    tp_allocator a = d->conn.alloc_copy;
    int has = d->conn.alloc != NULL;
    tp_aws__conn_dispose(&d->conn);
    tp__free(has ? &a : NULL, d);
}

static tp_status call(tp_dynamodb *d, const char *op, json_t *body, json_t **out, tp_error *err)
{
    char target[64];
    snprintf(target, sizeof target, TARGET_PREFIX "%s", op);
    tp_status st = tp_aws__json_call_obj(&d->conn, JSON_VERSION, target, body, out, err);
    json_decref(body);
    return st;
}

static tp_status call0(tp_dynamodb *d, const char *op, json_t *body, tp_error *err)
{
    json_t *out = NULL;
    tp_status st = call(d, op, body, &out, err);
    json_decref(out);
    return st;
}

static tp_status check_table(const char *table, tp_error *err)
{
    if (!table || strlen(table) < 3 || strlen(table) > 255)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "TableName",
                            "table name must be 3 to 255 characters");
    return TP_OK;
}

static json_t *table_obj(const char *table)
{
    json_t *o = json_object();
    if (o && json_object_set_new(o, "TableName", json_string(table)) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int valid_key_type(const char *t)
{
    return t && (!strcmp(t, "S") || !strcmp(t, "N") || !strcmp(t, "B"));
}

tp_status tp_dynamodb_create_table(tp_dynamodb *d, const char *table, const tp_ddb_key_schema *key,
                                   uint32_t read_capacity, uint32_t write_capacity, tp_error *err)
{
    tp_status st = check_table(table, err);
    if (st != TP_OK)
        return st;
    if (!key || !key->hash_name || !*key->hash_name || !valid_key_type(key->hash_type) ||
        (key->range_name && !valid_key_type(key->range_type)))
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "KeySchema",
                            "a hash key name and type (S, N or B) are required");
    json_t *b = table_obj(table);
    json_t *defs = json_array(), *schema = json_array();
    int ok = b && defs && schema;
    for (int i = 0; ok && i < 2; i++) {
        const char *n = i ? key->range_name : key->hash_name;
        const char *t = i ? key->range_type : key->hash_type;
        if (!n)
            break;
        ok = json_array_append_new(defs, json_pack("{s:s,s:s}", "AttributeName", n,
                                                   "AttributeType", t)) == 0 &&
             json_array_append_new(schema, json_pack("{s:s,s:s}", "AttributeName", n, "KeyType",
                                                     i ? "RANGE" : "HASH")) == 0;
    }
    ok = ok && json_object_set(b, "AttributeDefinitions", defs) == 0 &&
         json_object_set(b, "KeySchema", schema) == 0;
    if (ok && (read_capacity || write_capacity))
        ok = json_object_set_new(b, "ProvisionedThroughput",
                                 json_pack("{s:I,s:I}", "ReadCapacityUnits",
                                           (json_int_t)read_capacity, "WriteCapacityUnits",
                                           (json_int_t)write_capacity)) == 0;
    else if (ok)
        ok = json_object_set_new(b, "BillingMode", json_string("PAY_PER_REQUEST")) == 0;
    json_decref(defs);
    json_decref(schema);
    if (!ok) {
        json_decref(b);
        return tp_error__set(err, TP_E_NOMEM, "CreateTable: out of memory");
    }
    return call0(d, "CreateTable", b, err);
}

tp_status tp_dynamodb_delete_table(tp_dynamodb *d, const char *table, tp_error *err)
{
    tp_status st = check_table(table, err);
    if (st != TP_OK)
        return st;
    json_t *b = table_obj(table);
    if (!b)
        return tp_error__set(err, TP_E_NOMEM, "DeleteTable: out of memory");
    return call0(d, "DeleteTable", b, err);
}

tp_status tp_dynamodb_describe_table(tp_dynamodb *d, const char *table, tp_ddb_table_info *out,
                                     tp_error *err)
{
    json_t *ans = NULL;
    memset(out, 0, sizeof *out);
    tp_status st = check_table(table, err);
    if (st != TP_OK)
        return st;
    json_t *b = table_obj(table);
    if (!b)
        return tp_error__set(err, TP_E_NOMEM, "DescribeTable: out of memory");
    st = call(d, "DescribeTable", b, &ans, err);
    if (st != TP_OK)
        return st;
    json_t *t = json_object_get(ans, "Table");
    if (!json_is_object(t)) {
        st = tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, "Table", "DescribeTable: no Table");
        goto done;
    }
    st = tp_aws__copy_str(t, "TableStatus", 1, out->status, sizeof out->status, err);
    if (st == TP_OK)
        st = tp_aws__copy_str(t, "TableArn", 0, out->arn, sizeof out->arn, err);
    if (st == TP_OK)
        st = tp_aws__get_int(t, "ItemCount", 0, &out->item_count, err);
    json_t *ks = json_object_get(t, "KeySchema");
    for (size_t i = 0; st == TP_OK && i < json_array_size(ks); i++) {
        json_t *e = json_array_get(ks, i);
        const char *kt = NULL;
        st = tp_aws__get_str(e, "KeyType", 1, &kt, err);
        if (st == TP_OK)
            st = tp_aws__copy_str(e, "AttributeName", 1,
                                  strcmp(kt, "RANGE") ? out->hash_name : out->range_name,
                                  sizeof out->hash_name, err);
    }
done:
    json_decref(ans);
    return st;
}

tp_status tp_dynamodb_wait_active(tp_dynamodb *d, const char *table, uint32_t timeout_ms,
                                  tp_error *err)
{
    int64_t deadline = tp_time_mono_ns() / 1000000 + timeout_ms;
    tp_ddb_table_info info;
    for (;;) {
        tp_status st = tp_dynamodb_describe_table(d, table, &info, err);
        if (st != TP_OK)
            return st;
        if (strcmp(info.status, "ACTIVE") == 0)
            return TP_OK;
        int64_t now = tp_time_mono_ns() / 1000000;
        if (now >= deadline)
            return tp_error__set(err, TP_E_TIMEOUT, "table %s still %s after %u ms", table,
                                 info.status, timeout_ms);
        int64_t left = deadline - now;
        tp__sleep_ms((uint32_t)(left < 100 ? left : 100));
    }
}

/* Add the map inside M value `v` to `b` as `field` (no copy: a reference). */
static int set_map(json_t *b, const char *field, const tp_ddb_value *v)
{
    json_t *m = inner(v, TP_DDB_M);
    return m && json_object_set(b, field, m) == 0;
}

static tp_status add_expr(json_t *b, const char *cond_field, const tp_ddb_expr *e, tp_error *err)
{
    if (!e)
        return TP_OK;
    if (e->condition && json_object_set_new(b, cond_field, json_string(e->condition)) != 0)
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    if (e->n_names) {
        if (!e->names)
            return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "ExpressionAttributeNames",
                                "n_names without names");
        json_t *n = json_object();
        if (!n || json_object_set_new(b, "ExpressionAttributeNames", n) != 0)
            return tp_error__set(err, TP_E_NOMEM, "out of memory");
        for (size_t i = 0; i < e->n_names; i++) {
            const char *ph = e->names[2 * i], *name = e->names[2 * i + 1];
            if (!ph || ph[0] != '#' || !name || !*name)
                return tp_error__at(err, TP_E_INVALID, i, "ExpressionAttributeNames",
                                    "name pair %zu: want \"#placeholder\", \"attribute\"", i);
            if (json_object_set_new(n, ph, json_string(name)) != 0)
                return tp_error__set(err, TP_E_NOMEM, "out of memory");
        }
    }
    if (e->values) {
        if (tp_ddb_value_type(e->values) != TP_DDB_M)
            return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "ExpressionAttributeValues",
                                "expression values must be a map");
        if (!set_map(b, "ExpressionAttributeValues", e->values))
            return tp_error__set(err, TP_E_NOMEM, "out of memory");
    }
    return TP_OK;
}

static tp_status key_body(json_t **out, const char *table, const char *field,
                          const tp_ddb_value *key, tp_error *err)
{
    *out = NULL;
    tp_status st = check_table(table, err);
    if (st != TP_OK)
        return st;
    if (tp_ddb_value_type(key) != TP_DDB_M)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, field, "%s must be a map", field);
    json_t *b = table_obj(table);
    if (!b || !set_map(b, field, key)) {
        json_decref(b);
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    }
    *out = b;
    return TP_OK;
}

tp_status tp_dynamodb_get_item(tp_dynamodb *d, const char *table, const tp_ddb_value *key,
                               int32_t consistent_read, tp_ddb_value **out, tp_error *err)
{
    json_t *b, *ans = NULL;
    *out = NULL;
    tp_status st = key_body(&b, table, "Key", key, err);
    if (st != TP_OK)
        return st;
    if (consistent_read && json_object_set_new(b, "ConsistentRead", json_true()) != 0) {
        json_decref(b);
        return tp_error__set(err, TP_E_NOMEM, "out of memory");
    }
    st = call(d, "GetItem", b, &ans, err);
    if (st != TP_OK)
        return st;
    json_t *item = json_object_get(ans, "Item");
    if (!item)
        st = tp_error__set(err, TP_E_NOT_FOUND, "GetItem: no such item in %s", table);
    else
        st = item_from(item, "Item", out, err);
    json_decref(ans);
    return st;
}

tp_status tp_dynamodb_put_item(tp_dynamodb *d, const char *table, const tp_ddb_value *item,
                               const tp_ddb_expr *expr, tp_error *err)
{
    json_t *b;
    tp_status st = key_body(&b, table, "Item", item, err);
    if (st == TP_OK)
        st = add_expr(b, "ConditionExpression", expr, err);
    if (st != TP_OK) {
        json_decref(b);
        return st;
    }
    return call0(d, "PutItem", b, err);
}

tp_status tp_dynamodb_update_item(tp_dynamodb *d, const char *table, const tp_ddb_value *key,
                                  const char *update, const tp_ddb_expr *expr, tp_ddb_value **out,
                                  tp_error *err)
{
    json_t *b, *ans = NULL;
    if (out)
        *out = NULL;
    tp_status st = key_body(&b, table, "Key", key, err);
    if (st == TP_OK && (!update || !*update))
        st = tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "UpdateExpression",
                          "UpdateItem needs an update expression");
    if (st == TP_OK && (json_object_set_new(b, "UpdateExpression", json_string(update)) != 0 ||
                        (out && json_object_set_new(b, "ReturnValues", json_string("ALL_NEW")) != 0)))
        st = tp_error__set(err, TP_E_NOMEM, "out of memory");
    if (st == TP_OK)
        st = add_expr(b, "ConditionExpression", expr, err);
    if (st != TP_OK) {
        json_decref(b);
        return st;
    }
    st = call(d, "UpdateItem", b, &ans, err);
    if (st == TP_OK && out)
        st = item_from(json_object_get(ans, "Attributes"), "Attributes", out, err);
    json_decref(ans);
    return st;
}

tp_status tp_dynamodb_delete_item(tp_dynamodb *d, const char *table, const tp_ddb_value *key,
                                  const tp_ddb_expr *expr, tp_error *err)
{
    json_t *b;
    tp_status st = key_body(&b, table, "Key", key, err);
    if (st == TP_OK)
        st = add_expr(b, "ConditionExpression", expr, err);
    if (st != TP_OK) {
        json_decref(b);
        return st;
    }
    return call0(d, "DeleteItem", b, err);
}

tp_status tp_dynamodb_batch_write(tp_dynamodb *d, const char *table,
                                  const tp_ddb_value *const *puts, size_t n_puts,
                                  const tp_ddb_value *const *delete_keys, size_t n_deletes,
                                  uint32_t max_rounds, size_t *unprocessed, tp_error *err)
{
    tp_status st = check_table(table, err);
    size_t total = n_puts + n_deletes;
    if (unprocessed)
        *unprocessed = 0;
    if (st != TP_OK)
        return st;
    if (!max_rounds)
        max_rounds = 8;
    for (size_t i = 0; i < total; i++) {
        const tp_ddb_value *v = i < n_puts ? puts[i] : delete_keys[i - n_puts];
        if (tp_ddb_value_type(v) != TP_DDB_M)
            return tp_error__at(err, TP_E_INVALID, i, i < n_puts ? "Item" : "Key",
                                "request %zu is not a map", i);
    }
    tp_rng rng;
    tp_rng__seed(&rng, (uint64_t)tp_time_mono_ns());
    for (size_t start = 0; start < total; start += BATCH_MAX) {
        size_t end = start + BATCH_MAX < total ? start + BATCH_MAX : total;
        json_t *reqs = json_array();
        for (size_t i = start; reqs && i < end; i++) {
            int put = i < n_puts;
            json_t *inner_req = json_object();
            if (!inner_req || !set_map(inner_req, put ? "Item" : "Key",
                                       put ? puts[i] : delete_keys[i - n_puts]) ||
                json_array_append_new(reqs, json_pack("{s:o}", put ? "PutRequest" : "DeleteRequest",
                                                      inner_req)) != 0) {
                json_decref(reqs);
                reqs = NULL;
            }
        }
        for (uint32_t round = 0; reqs && json_array_size(reqs); round++) {
            if (round == max_rounds) {
                if (unprocessed)
                    *unprocessed = json_array_size(reqs) + (total - end);
                st = tp_error__set(err, TP_E_THROTTLED,
                                   "BatchWriteItem: %zu requests still unprocessed after %u rounds",
                                   json_array_size(reqs), max_rounds);
                json_decref(reqs);
                return st;
            }
            if (round)
                tp__sleep_ms(tp_retry__backoff_ms(round, tp_rng__next01(&rng),
                                              d->conn.max_backoff_ms));
            json_t *ans = NULL;
            json_t *b = json_pack("{s:{s:O}}", "RequestItems", table, reqs);
            st = call(d, "BatchWriteItem", b, &ans, err);
            json_decref(reqs);
            reqs = NULL;
            if (st != TP_OK)
                return st;
            json_t *left = json_object_get(json_object_get(ans, "UnprocessedItems"), table);
            if (left && !json_is_array(left)) {
                json_decref(ans);
                return tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, "UnprocessedItems",
                                    "BatchWriteItem: bad UnprocessedItems");
            }
            reqs = left ? json_incref(left) : json_array();
            json_decref(ans);
        }
        json_decref(reqs);
        if (!reqs)
            return tp_error__set(err, TP_E_NOMEM, "BatchWriteItem: out of memory");
    }
    return TP_OK;
}

TP__DEFINE_INIT(tp_ddb_query_init, tp_ddb_query, TP_DDB_QUERY_VERSION, TP_DDB_QUERY_INIT)

static tp_status query_or_scan(tp_dynamodb *d, const char *op, const char *table,
                               const tp_ddb_query *q, tp_ddb_item_fn fn, void *payload,
                               uint32_t *pages, tp_error *err)
{
    tp_ddb_query dq = TP_DDB_QUERY_INIT;
    json_t *last = NULL;
    tp_status st = check_table(table, err);
    if (pages)
        *pages = 0;
    if (st != TP_OK)
        return st;
    if (q) {
        if (q->version != TP_DDB_QUERY_VERSION)
            return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "version", "bad query version");
        dq = *q;
    }
    int is_query = strcmp(op, "Query") == 0;
    if (is_query && !dq.key.condition)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "KeyConditionExpression",
                            "Query needs a key condition");
    if (!fn)
        return tp_error__set(err, TP_E_INVALID, "%s needs an item callback", op);
    for (uint32_t page = 0;; page++) {
        if (dq.max_pages && page == dq.max_pages)
            break;
        if (page > 1000000) {
            st = tp_error__set(err, TP_E_LIMIT, "%s: too many pages", op);
            break;
        }
        json_t *b = table_obj(table), *ans = NULL;
        int ok = b != NULL;
        if (ok && dq.index)
            ok = json_object_set_new(b, "IndexName", json_string(dq.index)) == 0;
        if (ok && dq.page_size)
            ok = json_object_set_new(b, "Limit", json_integer(dq.page_size)) == 0;
        if (ok && dq.consistent_read)
            ok = json_object_set_new(b, "ConsistentRead", json_true()) == 0;
        if (ok && is_query && dq.descending)
            ok = json_object_set_new(b, "ScanIndexForward", json_false()) == 0;
        if (ok && dq.filter)
            ok = json_object_set_new(b, "FilterExpression", json_string(dq.filter)) == 0;
        if (ok && last)
            ok = json_object_set(b, "ExclusiveStartKey", last) == 0;
        if (!ok) {
            json_decref(b);
            st = tp_error__set(err, TP_E_NOMEM, "%s: out of memory", op);
            break;
        }
        tp_ddb_expr e = dq.key;
        if (!is_query)
            e.condition = NULL;
        st = add_expr(b, "KeyConditionExpression", &e, err);
        if (st != TP_OK) {
            json_decref(b);
            break;
        }
        st = call(d, op, b, &ans, err);
        if (st != TP_OK)
            break;
        if (pages)
            (*pages)++;
        json_t *items = json_object_get(ans, "Items");
        if (!json_is_array(items)) {
            json_decref(ans);
            st = tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, "Items", "%s: no Items", op);
            break;
        }
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it)
        {
            tp_ddb_value *v;
            st = item_from(it, "Items", &v, err);
            if (st == TP_OK) {
                st = fn(v, payload);
                tp_ddb_value_free(v);
                if (st != TP_OK)
                    tp_error__set(err, st, "%s: the item callback stopped with %s", op,
                                  tp_strerror(st));
            }
            if (st != TP_OK) {
                if (err)
                    err->offset = i;
                break;
            }
        }
        json_decref(last);
        last = json_object_get(ans, "LastEvaluatedKey");
        if (last)
            json_incref(last);
        json_decref(ans);
        if (st != TP_OK || !last)
            break;
        if (!json_is_object(last)) {
            st = tp_error__at(err, TP_E_PARSE, TP_NO_OFFSET, "LastEvaluatedKey",
                              "%s: bad LastEvaluatedKey", op);
            break;
        }
    }
    json_decref(last);
    return st;
}

tp_status tp_dynamodb_query(tp_dynamodb *d, const char *table, const tp_ddb_query *q,
                            tp_ddb_item_fn fn, void *payload, uint32_t *pages, tp_error *err)
{
    return query_or_scan(d, "Query", table, q, fn, payload, pages, err);
}

tp_status tp_dynamodb_scan(tp_dynamodb *d, const char *table, const tp_ddb_query *q,
                           tp_ddb_item_fn fn, void *payload, uint32_t *pages, tp_error *err)
{
    return query_or_scan(d, "Scan", table, q, fn, payload, pages, err);
}
