#ifndef TP_CREDENTIALS_INT_H
#define TP_CREDENTIALS_INT_H

/* What lib/aws/credentials.c (values, the caching provider, options, the
 * JSON credential document) gives the files that add sources: profiles,
 * credential_process, ECS, IMDSv2, web identity. Not installed. */

#include "core/core_int.h"
#include "tradepipe/credentials.h"

/* Options with every default filled in (version checked, zeros replaced). */
tp_status tp_credentials__opts(tp_credentials_provider_options *out,
                               const tp_credentials_provider_options *in, tp_error *err);

/* The start of a provider constructor: *out = NULL (when `out` is not NULL),
 * then tp_credentials__opts. */
tp_status tp_credentials__provider_opts(tp_credentials_provider **out,
                                       tp_credentials_provider_options *o,
                                       const tp_credentials_provider_options *in, tp_error *err);

/* A deep copy of `o` (its strings in the same block); free with tp__free(o->alloc, copy).
 * NULL with err filled (TP_E_NOMEM) on failure. */
tp_credentials_provider_options *tp_credentials__opts_dup(const tp_credentials_provider_options *o,
                                                          tp_error *err);

/* A provider whose payload is a copy of the (defaulted) options: `fetch`
 * receives that copy, which the provider frees. For the sources that need
 * nothing but the options (environment, profile). */
tp_status tp_credentials__new_opts_provider(tp_credentials_provider **out, const char *name,
                                            tp_status (*fetch)(void *payload,
                                                               const tp_credentials **out,
                                                               int64_t now_ms, tp_error *err),
                                            const tp_credentials_provider_options *opts,
                                            tp_error *err);

/* Look `name` up through opts->getenv_fn (or getenv); NULL if unset or empty. */
const char *tp_credentials__getenv(const tp_credentials_provider_options *o, const char *name);

/* The profile name in use: opts->profile, else AWS_PROFILE, else "default". */
const char *tp_credentials__profile_name(const tp_credentials_provider_options *o);

/* tp_credentials__from_json flags */
#define TP_CREDENTIALS_JSON_VERSION1 0x1u /* require "Version": 1 (credential_process) */

/*
 * Parse the AWS JSON credential document shared by credential_process, the
 * ECS container endpoint and IMDS: AccessKeyId, SecretAccessKey, then
 * SessionToken or Token (optional), Expiration (ISO-8601, optional: none
 * means TP_CREDENTIALS_NO_EXPIRY). `what` names the origin in errors ("ECS
 * response", "credential_process output"). Values are never put in errors,
 * and the parsed copies of the secret and token are wiped.
 * @return TP_OK; TP_E_CREDENTIALS (not JSON, err->offset; missing or
 *         non-string key, err->field; bad Expiration or Version); TP_E_NOMEM.
 */
tp_status tp_credentials__from_json(const tp_credentials **out, tp_cursor json, const char *what,
                                    uint32_t flags, const tp_allocator *alloc, tp_error *err);

/*
 * Read STS's answer to AssumeRoleWithWebIdentity (XML; `http_status` the
 * answer's status): the credentials of a 200, or the error an ErrorResponse
 * names (err->aws_code, request_id, http_status). Values other than the
 * error's code and message are never put in errors; the copies are wiped.
 * @return TP_OK; TP_E_CREDENTIALS; TP_E_NOMEM.
 */
tp_status tp_credentials__sts_answer(const tp_credentials **out, int32_t http_status,
                                     tp_cursor body, const tp_allocator *alloc, tp_error *err);

#endif
