#ifndef TP_SIGV4_INT_H
#define TP_SIGV4_INT_H

/* Internals of the SigV4 signer shared with tests and other lib/ files. */

#include "core/core_int.h"
#include "tradepipe/sigv4.h"

/* HMAC-SHA256 of `msg` under `key` (any lengths). */
void tp_sigv4__hmac(uint8_t out[32], const void *key, size_t key_len, const void *msg,
                    size_t msg_len);

/* SHA-256 of `data`. */
void tp_sigv4__sha256(uint8_t out[32], const void *data, size_t len);

/* Derive the SigV4 signing key for (secret, date "YYYYMMDD", region, service). */
void tp_sigv4__derive_key(uint8_t out[32], tp_cursor secret, tp_cursor date8, tp_cursor region,
                          tp_cursor service);

/* How many signing keys this signer has derived (the cache's misses). */
uint64_t tp_sigv4__derivations(const tp_sigv4_signer *s);

/* Format `now_ms` as "YYYYMMDDTHHMMSSZ" (17 bytes with the NUL).
 * @return TP_OK; TP_E_RANGE (before 1970 or after 9999). */
tp_status tp_sigv4__amz_date(char out[TP_SIGV4_DATE_LEN + 1], int64_t now_ms, tp_error *err);

#endif
