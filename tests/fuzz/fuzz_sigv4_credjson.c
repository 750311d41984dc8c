/* Fuzz the JSON credential document parser (credential_process, ECS, IMDS). */
#include "aws/credentials_int.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (uint32_t flags = 0; flags < 2; flags++) {
        const tp_credentials *c = NULL;
        tp_error err;
        tp_status st =
            tp_credentials__from_json(&c, tp_cursor_make(data, size), "fuzz", flags, NULL, &err);
        if (st == TP_OK) {
            if (!c || !c->access_key_id[0] || !c->secret_access_key[0])
                abort();
            tp_credentials_release(c);
        } else if (c || err.code != st || err.message[0] == 0) {
            abort();
        }
    }
    return 0;
}
