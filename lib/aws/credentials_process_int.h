#ifndef TP_CREDENTIALS_PROCESS_INT_H
#define TP_CREDENTIALS_PROCESS_INT_H

/* credential_process (lib/aws/credentials_process.c), for the profile
 * provider. Not installed. */

#include "credentials_int.h"

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

#endif
