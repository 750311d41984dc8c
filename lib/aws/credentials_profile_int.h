#ifndef TP_CREDENTIALS_PROFILE_INT_H
#define TP_CREDENTIALS_PROFILE_INT_H

/* The shared config and credentials files (lib/aws/credentials_profile.c).
 * Not installed. */

#include "credentials_int.h"

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
