#ifndef TRADEPIPE_RECORD_H
#define TRADEPIPE_RECORD_H

/* Floor 2: the trade record and its JSON codec.
 *
 *   {"symbol":"AAPL","price":187.23,"volume":1200,
 *    "timestamp":"2025-10-22T12:58:35.123Z"}
 *
 * plus optional "trade_id", "side", "exchange"; unknown fields are ignored,
 * and so are fields of nested objects. Decoding is exact (prices in 1e-8
 * units) and encoding gives the same digits back. */

#include "tradepipe/price.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fixed sizes, NUL included: a longer value is an error naming the field. */
#define TP_SYMBOL_MAX    128
#define TP_TIMESTAMP_MAX 64
#define TP_TRADE_ID_MAX  64
#define TP_SIDE_MAX      16
#define TP_EXCHANGE_MAX  32

/* tp_trade.ts_kind */
#define TP_TS_NONE   0u /* no timestamp */
#define TP_TS_STRING 1u /* an ISO-8601 string; timestamp[] holds its text */
#define TP_TS_NUMBER 2u /* epoch seconds or milliseconds; timestamp[] holds the number text */

/* tp_trade.flags */
#define TP_TRADE_HAS_TRADE_ID 0x1u
#define TP_TRADE_HAS_SIDE     0x2u
#define TP_TRADE_HAS_EXCHANGE 0x4u
#define TP_TRADE_TS_PARSED    0x8u /* ts_us holds the parsed timestamp */

/**
 * One trade. Plain data with fixed-width fields (ctypes-friendly); all
 * strings are NUL-terminated UTF-8 without embedded NULs.
 */
typedef struct tp_trade {
    int64_t price_e8;   /* > 0, in 1e-8 units */
    int64_t volume;     /* >= 0 */
    int64_t ts_us;      /* microseconds since the epoch, when TP_TRADE_TS_PARSED */
    uint32_t ts_kind;   /* TP_TS_* */
    uint32_t flags;     /* TP_TRADE_* */
    uint32_t symbol_len;
    uint32_t reserved;
    char symbol[TP_SYMBOL_MAX];
    char timestamp[TP_TIMESTAMP_MAX]; /* as in the input: string text or number text */
    char trade_id[TP_TRADE_ID_MAX];
    char side[TP_SIDE_MAX];
    char exchange[TP_EXCHANGE_MAX];
} tp_trade;

/* Decode flags. */
/**
 * Only symbol, price and volume must be valid (the Firehose parser's rule);
 * timestamp and the optional strings are kept when they are well-typed and
 * fit, and otherwise ignored. A timestamp that fits is kept as text (ts_kind
 * and timestamp[] set) and, when it reads as a time (ISO-8601, or epoch
 * seconds / milliseconds as below), parsed too (TP_TRADE_TS_PARSED, ts_us):
 * a completed trade carries the times of its ticks. One that does not read
 * is no error. Without the flag, a present timestamp must be an ISO-8601
 * string or an epoch number, and the optional fields strings.
 */
#define TP_DECODE_LENIENT 0x1u
/**
 * Decode symbol, price and volume only: timestamp and the optional strings
 * are skipped (left empty), whatever they hold. Implies TP_DECODE_LENIENT.
 */
#define TP_DECODE_MINIMAL 0x4u
/** Skip the specialised scanner and decode through jansson (the reference path). */
#define TP_DECODE_REFERENCE 0x2u

/**
 * Decode exactly one JSON object from `in` (whitespace around it allowed;
 * not retained, no NUL needed).
 * Timestamps: a string is parsed as ISO-8601; a number is epoch seconds,
 * or epoch milliseconds when its magnitude is 1e11 or more.
 * @return TP_OK; TP_E_PARSE (not one JSON value; err->offset at the fault);
 *         TP_E_RECORD (valid JSON, not a valid trade: err->field names the
 *         field, err->offset the start of its value or of the object);
 *         TP_E_NOMEM.
 */
TP_API tp_status tp_record_decode(tp_trade *out, tp_cursor in, uint32_t flags, tp_error *err);

/** Encode flags. */
#define TP_ENCODE_NEWLINE 0x1u /* append '\n' after the object (NDJSON) */

/**
 * Append `t` as one JSON object to `out`: symbol, price, volume, then
 * timestamp (string or number, as decoded) and the optional fields that are
 * set. Prices in plain decimal; decode(encode(t)) == t.
 * @return TP_OK; TP_E_INVALID (bad trade: empty symbol, ts_kind unknown);
 *         buffer errors.
 */
TP_API tp_status tp_record_encode(tp_buf *out, const tp_trade *t, uint32_t flags, tp_error *err);

/** Set `t` to an empty trade (all zero). */
TP_API void tp_trade_init(tp_trade *t);

#ifdef __cplusplus
}
#endif
#endif
