/* Fuzz the shared config/credentials file parser (both kinds of file) and
 * the lookups on what it parsed. */
#include "aws/credentials_profile_int.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"default", "dev", "profile dev", "x"};
    static const char *const keys[] = {"aws_access_key_id", "region", "s3.max_concurrent_requests",
                                       "credential_process"};
    for (int kind = 0; kind < 2; kind++) {
        tp_profile_file *f = NULL;
        tp_error err;
        tp_status st = tp_profile__parse(&f, tp_cursor_make(data, size), "fuzz", kind, NULL, &err);
        if (st != TP_OK) {
            if (f || err.code != st || err.message[0] == 0 || (st == TP_E_CONFIG && err.line == 0))
                abort();
            continue;
        }
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            int has = tp_profile__has(f, names[i]);
            for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
                uint32_t line = 0;
                const char *v = tp_profile__get(f, names[i], keys[k], &line);
                if (v && (!has || line == 0))
                    abort();
                if (v)
                    (void)strlen(v);
            }
        }
        tp_profile__free(f);
    }
    return 0;
}
