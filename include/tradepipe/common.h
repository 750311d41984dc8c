#ifndef TRADEPIPE_COMMON_H
#define TRADEPIPE_COMMON_H

/* Status codes, error detail, the export macro and the version call: the part
 * of the API every other header uses. */

#include <stddef.h>
#include <stdint.h>

#include "tradepipe/version.h"

/* TP_API marks the exported functions; the library is built with
 * -fvisibility=hidden, so nothing else leaves the shared object. */
#if defined(TP_BUILDING_LIBRARY) && defined(__GNUC__)
#define TP_API __attribute__((visibility("default")))
#else
#define TP_API
#endif

#if defined(__GNUC__)
#define TP_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define TP_WARN_UNUSED       __attribute__((warn_unused_result))
#else
#define TP_PRINTF(fmt, args)
#define TP_WARN_UNUSED
#endif

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The one status type. TP_OK is 0, TP_DONE (end of an iteration) the only
 * positive value, every failure negative. Values never change meaning; new
 * ones are appended.
 */
typedef int32_t tp_status;
enum {
    TP_OK            = 0,
    TP_DONE          = 1,
    TP_E_INVALID     = -1,  /* a bad argument from the caller */
    TP_E_NOMEM       = -2,  /* out of memory (or an allocator said no) */
    TP_E_IO          = -3,  /* a read, write, open or close failed */
    TP_E_RANGE       = -4,  /* a number out of range, an overflow */
    TP_E_PARSE       = -5,  /* malformed input: not JSON, not ISO-8601, ... */
    TP_E_RECORD      = -6,  /* well-formed input that is not a valid record */
    TP_E_TOO_LARGE   = -7,  /* input over a configured limit */
    TP_E_GZIP        = -8,  /* a gzip stream that is truncated or corrupt */
    TP_E_UNSUPPORTED = -9,  /* a feature or format this build does not handle */
    TP_E_NOT_FOUND   = -10, /* a key, file, profile or object that is not there */
    TP_E_CONFIG      = -11, /* bad configuration: files, profiles, options */
    TP_E_CREDENTIALS = -12, /* no credentials, or a provider failed */
    TP_E_HTTP        = -13, /* transport failure: connect, TLS, reset, timeout */
    TP_E_TIMEOUT     = -14, /* a deadline passed */
    TP_E_AWS         = -15, /* the service answered with an error (see aws_code) */
    TP_E_THROTTLED   = -16, /* the service throttled us and retries ran out */
    TP_E_CONDITION   = -17, /* a conditional write's condition failed */
    TP_E_LIMIT       = -18, /* a count limit was reached (symbols, records...) */
    TP_E_STATE       = -19, /* a call out of order, or corrupt saved state */
    TP_E_CHECKSUM    = -20, /* a checksum or digest did not match */
    TP_E_EXISTS      = -21  /* the thing to create is already there */
};

/** A static, never-NULL description of `st`. */
TP_API const char *tp_strerror(tp_status st);

#define TP_ERROR_MESSAGE_MAX 160
#define TP_ERROR_FIELD_MAX   32
#define TP_ERROR_AWS_MAX     64
#define TP_ERROR_REQID_MAX   80
/** tp_error.offset when no byte offset applies. */
#define TP_NO_OFFSET UINT64_MAX

/**
 * Error detail, owned by the caller, filled by a failing call (NULL is
 * allowed wherever a tp_error * is taken). Filling it never allocates, and
 * no secret is ever written into it.
 */
typedef struct tp_error {
    int32_t code;                          /* the tp_status returned */
    int32_t http_status;                   /* 0 when no HTTP answer */
    uint64_t offset;                       /* byte offset in the (uncompressed) input */
    uint32_t line;                         /* 1-based line in a text file, 0 if none */
    uint32_t attempts;                     /* attempts made by a retried call, 0 if none */
    char message[TP_ERROR_MESSAGE_MAX];    /* NUL-terminated, human readable */
    char field[TP_ERROR_FIELD_MAX];        /* JSON field / option / key at fault */
    char aws_code[TP_ERROR_AWS_MAX];       /* AWS error code, e.g. ThrottlingException */
    char request_id[TP_ERROR_REQID_MAX];   /* AWS request id, when the service gave one */
} tp_error;

/** Reset `err` to "no error" (code TP_OK, offset TP_NO_OFFSET). */
TP_API void tp_error_clear(tp_error *err);

/** The library version as "MAJOR.MINOR.PATCH" (of the library actually loaded). */
TP_API const char *tp_version(void);
/** TP_VERSION_NUMBER of the library actually loaded. */
TP_API uint32_t tp_version_number(void);

#ifdef __cplusplus
}
#endif
#endif
