#ifndef TRADEPIPE_CREDENTIALS_H
#define TRADEPIPE_CREDENTIALS_H

/* Floor 3 (no network here): AWS credentials, credential providers and
 * region resolution.
 *
 * A tp_credentials is a plain view (access key id, secret, optional session
 * token, expiry) that the signer reads. Providers hand out reference-counted
 * tp_credentials that live until the last tp_credentials_release; their
 * memory is wiped when freed.
 *
 * A tp_credentials_provider caches what its source returned and refreshes it
 * before it expires. It is safe to share between threads (a mutex guards the
 * cache and the fetch). Sources here need no network: static, environment,
 * shared files (credentials and config, with profiles) and credential_process;
 * more (ECS, IMDSv2, web identity, the default chain) plug into the same
 * interface (tp_credentials_provider_new_custom).
 *
 * Errors name the file, the line (err->line) and the key (err->field); the
 * secret and the session token are never written into an error. */

#include "tradepipe/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/** tp_credentials.expiration_ms of credentials that never expire. */
#define TP_CREDENTIALS_NO_EXPIRY INT64_MAX

/**
 * Credentials. Any caller may fill one (pointing to its own strings) to sign
 * with; those made by the library (tp_credentials_new, providers) are
 * reference-counted and must be released with tp_credentials_release.
 */
typedef struct tp_credentials {
    const char *access_key_id;     /* NUL-terminated, required */
    const char *secret_access_key; /* NUL-terminated, required */
    const char *session_token;     /* NUL-terminated; NULL or "" = none */
    int64_t expiration_ms;         /* ms since the epoch; TP_CREDENTIALS_NO_EXPIRY = never */
} tp_credentials;

/**
 * Make library-owned credentials: the strings are copied into one block
 * (reference count 1). `session_token` may be NULL.
 * @return TP_OK; TP_E_CREDENTIALS (key id or secret missing or empty, field
 *         names which); TP_E_NOMEM.
 */
TP_API tp_status tp_credentials_new(const tp_credentials **out, const char *access_key_id,
                                    const char *secret_access_key, const char *session_token,
                                    int64_t expiration_ms, const tp_allocator *alloc,
                                    tp_error *err);
/** Take one more reference on library-owned credentials; returns `c`. Thread-safe. */
TP_API const tp_credentials *tp_credentials_acquire(const tp_credentials *c);
/** Drop a reference; the last one wipes and frees. NULL: no-op. Thread-safe. */
TP_API void tp_credentials_release(const tp_credentials *c);

/* ---- providers ----------------------------------------------------------- */

typedef struct tp_credentials_provider tp_credentials_provider;

/** Environment lookup (getenv-like); the returned string is read at once, not kept. */
typedef const char *(*tp_getenv_fn)(const char *name, void *payload);

typedef struct tp_credentials_provider_options {
    uint32_t version;             /* TP_CREDENTIALS_PROVIDER_OPTIONS_VERSION */
    uint32_t reserved;            /* 0 */
    int64_t refresh_before_ms;    /* refresh this long before expiry; 0 = 5 minutes */
    const char *profile;          /* NULL: AWS_PROFILE, else "default" */
    const char *credentials_file; /* NULL: AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials */
    const char *config_file;      /* NULL: AWS_CONFIG_FILE, else ~/.aws/config */
    int64_t process_timeout_ms;   /* credential_process run time limit; 0 = 60 s */
    uint64_t max_file_bytes;      /* shared files and process output limit; 0 = 1 MiB */
    tp_getenv_fn getenv_fn;       /* NULL: the process environment (getenv) */
    void *getenv_payload;
    const tp_allocator *alloc; /* NULL = malloc/free */
} tp_credentials_provider_options;
#define TP_CREDENTIALS_PROVIDER_OPTIONS_VERSION 1
#define TP_CREDENTIALS_PROVIDER_OPTIONS_INIT                                                       \
    {                                                                                              \
        TP_CREDENTIALS_PROVIDER_OPTIONS_VERSION, 0, 0, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL    \
    }
#define TP_CREDENTIALS_DEFAULT_REFRESH_MS (5 * 60 * 1000)
#define TP_CREDENTIALS_DEFAULT_PROCESS_MS (60 * 1000)
#define TP_CREDENTIALS_DEFAULT_FILE_MAX   ((uint64_t)1 << 20)

/** Set `o` to TP_CREDENTIALS_PROVIDER_OPTIONS_INIT. @return TP_OK; TP_E_INVALID. */
TP_API tp_status tp_credentials_provider_options_init(tp_credentials_provider_options *o,
                                                      uint32_t version);

/**
 * A source of credentials, for custom providers (and the network ones).
 * `fetch` is called with the provider's mutex held, so never concurrently for
 * one provider; it returns TP_OK with *out set to new library-owned
 * credentials (tp_credentials_new; ownership passes to the provider),
 * TP_E_NOT_FOUND when this source has none (a chain moves on), or another
 * failure with `err` filled. `destroy` (may be NULL) frees `payload` when the
 * provider is freed.
 */
typedef struct tp_credentials_source {
    uint32_t version; /* TP_CREDENTIALS_SOURCE_VERSION */
    uint32_t reserved;
    const char *name; /* short, for errors: "environment", "profile", "ecs", ... */
    tp_status (*fetch)(void *payload, const tp_credentials **out, int64_t now_ms, tp_error *err);
    void (*destroy)(void *payload);
} tp_credentials_source;
#define TP_CREDENTIALS_SOURCE_VERSION 1

/**
 * A provider over a custom source (`source` is copied; `payload` is owned by
 * the provider from now on, even on failure: destroy is called).
 * @return TP_OK; TP_E_INVALID; TP_E_NOMEM.
 */
TP_API tp_status tp_credentials_provider_new_custom(tp_credentials_provider **out,
                                                    const tp_credentials_source *source,
                                                    void *payload,
                                                    const tp_credentials_provider_options *opts,
                                                    tp_error *err);

/** Fixed credentials (copied). @return TP_OK; TP_E_CREDENTIALS; TP_E_NOMEM. */
TP_API tp_status tp_credentials_provider_new_static(
    tp_credentials_provider **out, const char *access_key_id, const char *secret_access_key,
    const char *session_token, const tp_credentials_provider_options *opts, tp_error *err);

/**
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, read at each
 * fetch. Fetch: TP_E_NOT_FOUND when neither is set, TP_E_CREDENTIALS naming
 * the missing one when only one is.
 */
TP_API tp_status tp_credentials_provider_new_environment(
    tp_credentials_provider **out, const tp_credentials_provider_options *opts, tp_error *err);

/**
 * The shared files: the profile's aws_access_key_id, aws_secret_access_key and
 * aws_session_token from the credentials file ([NAME] sections), else from
 * the config file ([profile NAME] sections, [default] for the default
 * profile), else its credential_process. Files are read at each fetch.
 * Fetch: TP_E_NOT_FOUND (no files, the default profile absent, or a profile
 * with neither keys nor credential_process); TP_E_CONFIG (a profile named by
 * `profile` or AWS_PROFILE that is in neither file; a malformed line; a key
 * without its pair: file, err->line, err->field); TP_E_IO; process errors as
 * tp_credentials_provider_new_process (the message names the config line).
 */
TP_API tp_status tp_credentials_provider_new_profile(tp_credentials_provider **out,
                                                     const tp_credentials_provider_options *opts,
                                                     tp_error *err);

/**
 * credential_process: run `command` with /bin/sh -c, read its standard output
 * as the JSON document {"Version": 1, "AccessKeyId", "SecretAccessKey",
 * "SessionToken"?, "Expiration"? (ISO-8601)} and honour Expiration.
 * Fetch: TP_E_CREDENTIALS (non-zero exit status, bad JSON, missing or wrong
 * key: err->field names it), TP_E_TIMEOUT, TP_E_IO.
 */
TP_API tp_status tp_credentials_provider_new_process(tp_credentials_provider **out,
                                                     const char *command,
                                                     const tp_credentials_provider_options *opts,
                                                     tp_error *err);

/**
 * A chain: the providers are asked in order (each caches its own answer);
 * the first that has credentials wins, one that reports TP_E_NOT_FOUND is
 * skipped, any other failure (a malformed file, a failing process) stops the
 * chain and is returned. The chain takes ownership of the `n` providers, even
 * on failure.
 * @return TP_OK; TP_E_INVALID; TP_E_NOMEM.
 */
TP_API tp_status tp_credentials_provider_new_chain(tp_credentials_provider **out,
                                                   tp_credentials_provider *const *providers,
                                                   size_t n,
                                                   const tp_credentials_provider_options *opts,
                                                   tp_error *err);

/**
 * Current credentials: the cached ones while they are valid for more than
 * refresh_before_ms at `now_ms`, else fetched afresh (if a refresh fails
 * while the cached ones have not expired yet, those are returned). Inside
 * the refresh window the source is asked at most once a second. Credentials
 * a source hands out already expired are an error (TP_E_CREDENTIALS, field
 * "Expiration"), as in botocore ("refreshed credentials are still expired");
 * the source is then asked again after 1 s, 2 s, 4 s ... up to 60 s, and the
 * same error is returned meanwhile, never a fetch per call. *out is a new
 * reference: release it with tp_credentials_release. Thread-safe.
 * @return TP_OK; TP_E_NOT_FOUND; TP_E_CREDENTIALS; TP_E_CONFIG; TP_E_NOMEM; ...
 */
TP_API tp_status tp_credentials_provider_get(tp_credentials_provider *p, const tp_credentials **out,
                                             int64_t now_ms, tp_error *err);

/**
 * The service refused `used` (got from this provider) as expired
 * (ExpiredToken, ExpiredTokenException; InvalidClientTokenId for temporary
 * credentials): the next tp_credentials_provider_get fetches afresh whatever
 * their Expiration says, once. Does nothing when the provider has moved on
 * from `used` already (another thread refreshed), so concurrent callers cause
 * one refresh. A chain passes it to the provider that gave `used`. The AWS
 * clients call it themselves and retry the request once. Thread-safe.
 */
TP_API void tp_credentials_provider_invalidate(tp_credentials_provider *p,
                                               const tp_credentials *used);

/** Free a provider (and its cached credentials, wiped). NULL: no-op. */
TP_API void tp_credentials_provider_free(tp_credentials_provider *p);

/* ---- region -------------------------------------------------------------- */

/** Room for a region name and its NUL. */
#define TP_REGION_MAX 64

/**
 * The region: AWS_REGION, then AWS_DEFAULT_REGION, then the profile's
 * `region` in the config file (profile, config_file, getenv_fn and
 * max_file_bytes from `opts`, NULL: defaults).
 * @return TP_OK; TP_E_NOT_FOUND (none set); TP_E_CONFIG (malformed file, a
 *         region that is not a region name); TP_E_IO.
 */
TP_API tp_status tp_credentials_resolve_region(char out[TP_REGION_MAX],
                                               const tp_credentials_provider_options *opts,
                                               tp_error *err);

#ifdef __cplusplus
}
#endif
#endif
