#ifndef TRADEPIPE_DYNAMODB_H
#define TRADEPIPE_DYNAMODB_H

/* Floor 4: a DynamoDB client (AWS JSON 1.0) and its attribute values.
 *
 * Attribute values (tp_ddb_value) are trees of S (string), N (number, kept
 * as its exact decimal text), B (bytes), BOOL, NULL, M (map of name to
 * value), L (list) and SS (a set of strings). An item is an M value. Values are built with the
 * tp_ddb_*_new calls and put into maps and lists, which take ownership;
 * everything a getter returns is borrowed from the value it came from.
 * Values use jansson's allocator (not a per-handle one).
 *
 * Thread rule: one thread at a time per tp_dynamodb; a tp_ddb_value may be
 * read from several threads when no one changes it. */

#include "tradepipe/aws.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- attribute values ------------------------------------------------------ */

typedef struct tp_ddb_value tp_ddb_value; /* opaque */

/* tp_ddb_value_type results */
#define TP_DDB_INVALID 0
#define TP_DDB_S       1
#define TP_DDB_N       2
#define TP_DDB_B       3
#define TP_DDB_BOOL    4
#define TP_DDB_NULL    5
#define TP_DDB_M       6
#define TP_DDB_L       7
#define TP_DDB_SS      8 /* string set */

/** A string value (UTF-8, copied). @return TP_OK; TP_E_INVALID (not UTF-8); TP_E_NOMEM. */
TP_API tp_status tp_ddb_s_new(tp_ddb_value **out, tp_cursor s, tp_error *err);
/**
 * A number from its decimal text, kept exactly as given:
 * [-]digits[.digits][(e|E)[+-]digits], as in "-12.5", "1E+3", ".5".
 * DynamoDB's rules (Developer Guide, "Supported data types", Number): at most
 * 38 significant digits (leading and trailing zeros, of the integer part as of
 * the fraction, do not count), and the value is zero or has a magnitude from
 * 1E-130 to 9.9999999999999999999999999999999999999E+125. The same rules are
 * applied to every N read from the service.
 * @return TP_OK; TP_E_PARSE (err->offset at the bad byte); TP_E_RANGE (digits
 *         or magnitude); TP_E_NOMEM.
 */
TP_API tp_status tp_ddb_n_new(tp_ddb_value **out, const char *decimal, tp_error *err);
/** A number from an integer. @return TP_OK; TP_E_NOMEM. */
TP_API tp_status tp_ddb_n_new_i64(tp_ddb_value **out, int64_t v, tp_error *err);
/** A binary value (copied). @return TP_OK; TP_E_NOMEM. */
TP_API tp_status tp_ddb_b_new(tp_ddb_value **out, tp_cursor bytes, tp_error *err);
TP_API tp_status tp_ddb_bool_new(tp_ddb_value **out, int32_t v, tp_error *err);
TP_API tp_status tp_ddb_null_new(tp_ddb_value **out, tp_error *err);
/** An empty map (an item) or list. */
TP_API tp_status tp_ddb_m_new(tp_ddb_value **out, tp_error *err);
TP_API tp_status tp_ddb_l_new(tp_ddb_value **out, tp_error *err);
/**
 * A string set of `n` (at least 1: DynamoDB has no empty set) distinct
 * UTF-8 strings, copied. @return TP_OK; TP_E_INVALID (n == 0, a duplicate,
 * not UTF-8: err->offset is the index); TP_E_NOMEM.
 */
TP_API tp_status tp_ddb_ss_new(tp_ddb_value **out, const char *const *strings, size_t n,
                               tp_error *err);
/** A deep copy. @return TP_OK; TP_E_NOMEM. */
TP_API tp_status tp_ddb_value_copy(tp_ddb_value **out, const tp_ddb_value *v, tp_error *err);
/** Free a value and everything in it. NULL: no-op. Never free a borrowed value. */
TP_API void tp_ddb_value_free(tp_ddb_value *v);

/**
 * Set `name` in map `m` to `v`, replacing any value there. Takes ownership
 * of `v`, even on failure.
 * @return TP_OK; TP_E_INVALID (m not a map, empty name); TP_E_NOMEM.
 */
TP_API tp_status tp_ddb_m_set(tp_ddb_value *m, const char *name, tp_ddb_value *v, tp_error *err);
/** Append `v` to list `l` (ownership as tp_ddb_m_set). */
TP_API tp_status tp_ddb_l_append(tp_ddb_value *l, tp_ddb_value *v, tp_error *err);

/* Shorthands: build and set in one call. */
TP_API tp_status tp_ddb_m_set_s(tp_ddb_value *m, const char *name, const char *s, tp_error *err);
TP_API tp_status tp_ddb_m_set_n(tp_ddb_value *m, const char *name, const char *decimal,
                                tp_error *err);
TP_API tp_status tp_ddb_m_set_i64(tp_ddb_value *m, const char *name, int64_t v, tp_error *err);

/** TP_DDB_* of `v` (TP_DDB_INVALID for NULL). */
TP_API int32_t tp_ddb_value_type(const tp_ddb_value *v);
/** The string of an S value (borrowed). @return TP_OK; TP_E_INVALID (other type). */
TP_API tp_status tp_ddb_value_s(const tp_ddb_value *v, tp_cursor *out);
/** The exact decimal text of an N value (borrowed, NUL-terminated). */
TP_API tp_status tp_ddb_value_n(const tp_ddb_value *v, const char **out);
/**
 * An N value as int64, from any of its forms ("1E+3", "1000.0", "12.5e1").
 * @return TP_OK; TP_E_INVALID (not an N); TP_E_RANGE (a fraction, or outside int64).
 */
TP_API tp_status tp_ddb_value_i64(const tp_ddb_value *v, int64_t *out);
/** Append the bytes of a B value to `out`. @return TP_OK; TP_E_INVALID; TP_E_PARSE; buffer errors. */
TP_API tp_status tp_ddb_value_b(const tp_ddb_value *v, tp_buf *out, tp_error *err);
TP_API tp_status tp_ddb_value_bool(const tp_ddb_value *v, int32_t *out);
/** The value of `name` in map `m` (borrowed), or NULL. */
TP_API const tp_ddb_value *tp_ddb_m_get(const tp_ddb_value *m, const char *name);
/** Entries of a map, a list or a string set (0 for other types). */
TP_API size_t tp_ddb_value_count(const tp_ddb_value *v);
/** String `i` of string set `ss` (borrowed, NUL-terminated), or NULL. */
TP_API const char *tp_ddb_ss_get(const tp_ddb_value *ss, size_t i);
/** Entry `i` of list `l` (borrowed), or NULL. */
TP_API const tp_ddb_value *tp_ddb_l_get(const tp_ddb_value *l, size_t i);

/**
 * The DynamoDB JSON form of `v` ({"S":"x"}, {"M":{...}}) appended to `out`,
 * and back. tp_ddb_value_from_json checks every type tag and number.
 * @return TP_OK; TP_E_PARSE (err->field names the bad tag or path); buffer errors.
 */
TP_API tp_status tp_ddb_value_to_json(const tp_ddb_value *v, tp_buf *out, tp_error *err);
TP_API tp_status tp_ddb_value_from_json(tp_ddb_value **out, tp_cursor json, tp_error *err);

/* ---- the client -------------------------------------------------------------- */

typedef struct tp_dynamodb tp_dynamodb; /* opaque */

/** Create a client (endpoint: AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL, the region's). */
TP_API tp_status tp_dynamodb_new(tp_dynamodb **out, const tp_aws_client_options *opts,
                                 tp_error *err);
TP_API void tp_dynamodb_free(tp_dynamodb *d);

/** A table's key: hash key and optional range key, with types "S", "N" or "B". */
typedef struct tp_ddb_key_schema {
    const char *hash_name;
    const char *hash_type;
    const char *range_name; /* NULL: none */
    const char *range_type;
} tp_ddb_key_schema;

/**
 * CreateTable, billed per request (read/write capacity 0) or provisioned.
 * @return TP_OK; TP_E_EXISTS (ResourceInUseException); TP_E_INVALID; TP_E_AWS ...
 */
TP_API tp_status tp_dynamodb_create_table(tp_dynamodb *d, const char *table,
                                          const tp_ddb_key_schema *key, uint32_t read_capacity,
                                          uint32_t write_capacity, tp_error *err);
TP_API tp_status tp_dynamodb_delete_table(tp_dynamodb *d, const char *table, tp_error *err);

typedef struct tp_ddb_table_info {
    char status[16]; /* CREATING, ACTIVE, DELETING, UPDATING */
    char hash_name[256];
    char range_name[256]; /* "" if none */
    char arn[2048];
    int64_t item_count;
} tp_ddb_table_info;

/** DescribeTable. @return TP_OK; TP_E_NOT_FOUND; TP_E_PARSE; TP_E_AWS ... */
TP_API tp_status tp_dynamodb_describe_table(tp_dynamodb *d, const char *table,
                                            tp_ddb_table_info *out, tp_error *err);
/** Poll DescribeTable until ACTIVE, at most `timeout_ms`. @return TP_OK; TP_E_TIMEOUT; ... */
TP_API tp_status tp_dynamodb_wait_active(tp_dynamodb *d, const char *table, uint32_t timeout_ms,
                                         tp_error *err);

/**
 * Expressions: a condition (or key condition / filter), its attribute names
 * (`names`: n_names pairs "#placeholder", "attribute") and values (an M of
 * ":placeholder" -> value; borrowed). Every field may be NULL/0.
 */
typedef struct tp_ddb_expr {
    const char *condition;
    const char *const *names;
    size_t n_names;
    const tp_ddb_value *values;
} tp_ddb_expr;

/**
 * GetItem of `key` (an M holding the key attributes). *out is the item
 * (free with tp_ddb_value_free).
 * @return TP_OK; TP_E_NOT_FOUND (no such item: err->message says so; or no
 *         such table: err->aws_code ResourceNotFoundException); TP_E_AWS ...
 */
TP_API tp_status tp_dynamodb_get_item(tp_dynamodb *d, const char *table, const tp_ddb_value *key,
                                      int32_t consistent_read, tp_ddb_value **out, tp_error *err);
/**
 * PutItem, conditional when expr->condition is set.
 * @return TP_OK; TP_E_CONDITION (ConditionalCheckFailedException); TP_E_AWS ...
 */
TP_API tp_status tp_dynamodb_put_item(tp_dynamodb *d, const char *table, const tp_ddb_value *item,
                                      const tp_ddb_expr *expr, tp_error *err);
/**
 * UpdateItem with `update` (an UpdateExpression) and expr (condition, names,
 * values). `out` (may be NULL) receives the item after the update (ALL_NEW).
 * @return as tp_dynamodb_put_item.
 */
TP_API tp_status tp_dynamodb_update_item(tp_dynamodb *d, const char *table,
                                         const tp_ddb_value *key, const char *update,
                                         const tp_ddb_expr *expr, tp_ddb_value **out,
                                         tp_error *err);
/** DeleteItem, conditional when expr->condition is set. @return as tp_dynamodb_put_item. */
TP_API tp_status tp_dynamodb_delete_item(tp_dynamodb *d, const char *table,
                                         const tp_ddb_value *key, const tp_ddb_expr *expr,
                                         tp_error *err);

/**
 * BatchWriteItem: put `puts` and delete `delete_keys` in batches of 25,
 * sending UnprocessedItems again (with backoff) until none are left, at most
 * `max_rounds` times per batch (0: 8).
 * @param unprocessed (may be NULL) requests still unprocessed when giving up.
 * @return TP_OK; TP_E_THROTTLED (items left unprocessed); TP_E_AWS ...
 */
TP_API tp_status tp_dynamodb_batch_write(tp_dynamodb *d, const char *table,
                                         const tp_ddb_value *const *puts, size_t n_puts,
                                         const tp_ddb_value *const *delete_keys, size_t n_deletes,
                                         uint32_t max_rounds, size_t *unprocessed, tp_error *err);

/** Called for each item of a Query or Scan (borrowed until the callback returns). */
typedef tp_status (*tp_ddb_item_fn)(const tp_ddb_value *item, void *payload);

typedef struct tp_ddb_query {
    uint32_t version;      /* TP_DDB_QUERY_VERSION */
    uint32_t page_size;    /* Limit per request; 0: the service's (1 MB pages) */
    const char *index;     /* IndexName; NULL: the table */
    tp_ddb_expr key;       /* Query: KeyConditionExpression (+ names, values) */
    const char *filter;    /* FilterExpression (names and values from `key`); NULL: none */
    int32_t consistent_read;
    int32_t descending;    /* Query: ScanIndexForward false */
    uint32_t max_pages;    /* 0: all */
} tp_ddb_query;
#define TP_DDB_QUERY_VERSION 1
#define TP_DDB_QUERY_INIT    {TP_DDB_QUERY_VERSION, 0, NULL, {NULL, NULL, 0, NULL}, NULL, 0, 0, 0}
TP_API tp_status tp_ddb_query_init(tp_ddb_query *q, uint32_t version);

/**
 * Query (key condition required) or Scan every page, following
 * LastEvaluatedKey, calling `fn` for each item; a non-TP_OK return from `fn`
 * stops and is returned. `pages` (may be NULL) counts requests made.
 * @return TP_OK; fn's status; TP_E_INVALID; TP_E_NOT_FOUND; TP_E_AWS ...
 */
TP_API tp_status tp_dynamodb_query(tp_dynamodb *d, const char *table, const tp_ddb_query *q,
                                   tp_ddb_item_fn fn, void *payload, uint32_t *pages,
                                   tp_error *err);
TP_API tp_status tp_dynamodb_scan(tp_dynamodb *d, const char *table, const tp_ddb_query *q,
                                  tp_ddb_item_fn fn, void *payload, uint32_t *pages,
                                  tp_error *err);

#ifdef __cplusplus
}
#endif
#endif
