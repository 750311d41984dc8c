#ifndef TP_CREDENTIALS_INT_H
#define TP_CREDENTIALS_INT_H

/* Internals of the credentials module shared with the other lib/ files that
 * add sources (ECS, IMDSv2, web identity, the default chain). Not installed. */

#include "core/core_int.h"
#include "tradepipe/credentials.h"

/* Options with every default filled in (version checked, zeros replaced). */
tp_status tp_credentials__opts(tp_credentials_provider_options *out,
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
 * Run `command` with /bin/sh -c (stdin and stderr /dev/null), read its
 * standard output (limit o->max_file_bytes, time limit o->process_timeout_ms)
 * and parse it as a credential_process document (Version 1).
 * @return TP_OK; TP_E_CREDENTIALS (exit status, signal, bad JSON: field
 *         "credential_process" or the JSON key); TP_E_TIMEOUT; TP_E_TOO_LARGE;
 *         TP_E_IO; TP_E_NOMEM.
 */
tp_status tp_credentials__run_process(const tp_credentials **out, const char *command,
                                      const tp_credentials_provider_options *o, tp_error *err);

/* ---- shared config/credentials files ------------------------------------ */

/* One parsed file: sections and their key = value pairs, in file order. */
typedef struct tp_profile_file tp_profile_file;

/* The two kinds of file: credentials ([NAME]) and config ([profile NAME],
 * [default], and other section kinds such as [sso-session NAME] kept under
 * their full header). */
#define TP_PROFILE_FILE_CREDENTIALS 0
#define TP_PROFILE_FILE_CONFIG      1

/*
 * Parse `text` (named `path` in errors) of kind `kind`. Comments (# and ;
 * at line start, or after whitespace), blank lines, `key = value`, and
 * indented continuation lines (sub-properties, kept as "parent.sub") are
 * understood.
 * @return TP_OK; TP_E_CONFIG (err->line, err->field, message naming path);
 *         TP_E_NOMEM.
 */
tp_status tp_profile__parse(tp_profile_file **out, tp_cursor text, const char *path, int kind,
                            const tp_allocator *alloc, tp_error *err);

/*
 * Read and parse the file at `path` (limit opts->max_file_bytes).
 * @return TP_OK; TP_E_NOT_FOUND (no such file: *out NULL); TP_E_IO;
 *         TP_E_TOO_LARGE; as tp_profile__parse.
 */
tp_status tp_profile__load(tp_profile_file **out, const char *path, int kind,
                           const tp_credentials_provider_options *opts, tp_error *err);

/* Whether the profile `name` has a section in `f` (NULL f: no). */
int tp_profile__has(const tp_profile_file *f, const char *name);

/* The value of `key` in profile `name` of `f`, or NULL (NULL f: NULL). The
 * string lives as long as `f`. `line` (may be NULL) receives its line. */
const char *tp_profile__get(const tp_profile_file *f, const char *name, const char *key,
                            uint32_t *line);

/* The path of a parsed file (for errors). */
const char *tp_profile__path(const tp_profile_file *f);

/* Free (values wiped). NULL: no-op. */
void tp_profile__free(tp_profile_file *f);

/*
 * The paths in use: opts->credentials_file / AWS_SHARED_CREDENTIALS_FILE /
 * ~/.aws/credentials, and opts->config_file / AWS_CONFIG_FILE / ~/.aws/config
 * ("~" from HOME). Written NUL-terminated into `out` (cap bytes).
 * @return TP_OK; TP_E_NOT_FOUND (no HOME to expand); TP_E_TOO_LARGE.
 */
tp_status tp_profile__path_for(char *out, size_t cap, int kind,
                               const tp_credentials_provider_options *opts, tp_error *err);

#endif
