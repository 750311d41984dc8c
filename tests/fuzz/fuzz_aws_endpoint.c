/* Fuzz the endpoint resolution (tp_aws_endpoint_resolve): the service name,
 * the region and the endpoint settings read from the environment
 * (AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL,
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS) come from the input, NUL-separated in
 * that order (a missing field: unset). What resolves is an http(s) URL with
 * a host, no blank or control byte and no trailing '/'; custom exactly when
 * a URL setting was used. */
#include "tradepipe.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct env {
    const char *f[5]; /* service, region, service URL, URL, ignore */
} env;

static const char *get(const char *name, void *payload)
{
    const env *e = payload;
    if (strcmp(name, "AWS_ENDPOINT_URL") == 0)
        return e->f[3];
    if (strcmp(name, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") == 0)
        return e->f[4];
    if (strncmp(name, "AWS_ENDPOINT_URL_", 17) == 0)
        return e->f[2];
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = 0;
    env e = {{NULL, NULL, NULL, NULL, NULL}};
    char *p = text, *end = text + size;
    for (int i = 0; i < 5 && p <= end; i++) {
        e.f[i] = p;
        p += strlen(p) + 1;
    }
    char out[TP_ENDPOINT_MAX];
    int32_t custom = -1;
    tp_error err;
    tp_status st =
        tp_aws_endpoint_resolve(out, &custom, e.f[0] ? e.f[0] : "", e.f[1], get, &e, &err);
    if (st != TP_OK) {
        if (err.code != st || !err.message[0])
            abort();
    } else {
        size_t n = strlen(out);
        const char *host = strncmp(out, "http://", 7) == 0    ? out + 7
                           : strncmp(out, "https://", 8) == 0 ? out + 8
                                                              : NULL;
        if (!host || !*host || *host == '/' || n >= TP_ENDPOINT_MAX || out[n - 1] == '/')
            abort();
        for (const char *c = out; *c; c++)
            if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f)
                abort();
        int ignored = e.f[4] && strcasecmp(e.f[4], "true") == 0;
        int set = (e.f[2] && *e.f[2]) || (e.f[3] && *e.f[3]);
        if (custom != (!ignored && set))
            abort();
    }
    free(text);
    return 0;
}
