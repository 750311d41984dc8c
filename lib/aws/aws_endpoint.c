/* Floor 3: endpoint resolution and the shared client options. */
#include "aws_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <strings.h>

TP__DEFINE_INIT(tp_aws_client_options_init, tp_aws_client_options,
                TP_AWS_CLIENT_OPTIONS_VERSION, TP_AWS_CLIENT_OPTIONS_INIT)

static const char *env(tp_getenv_fn fn, void *payload, const char *name)
{
    const char *v = fn ? fn(name, payload) : getenv(name);
    return v && *v ? v : NULL;
}

/* http(s)://host[:port][/path], host non-empty, no blanks or controls. */
static int valid_url(const char *u)
{
    const char *h;
    if (strncmp(u, "http://", 7) == 0)
        h = u + 7;
    else if (strncmp(u, "https://", 8) == 0)
        h = u + 8;
    else
        return 0;
    if (!*h || *h == '/' || *h == ':')
        return 0;
    for (const char *p = u; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
            return 0;
    return 1;
}

/* A DNS label of lower-case letters, digits and '-': a region or a service
 * name, both of which go into the endpoint's host name. */
static int valid_label(const char *r)
{
    if (!r || !*r)
        return 0;
    for (; *r; r++)
        if (!(islower((unsigned char)*r) || isdigit((unsigned char)*r) || *r == '-'))
            return 0;
    return 1;
}

tp_status tp_aws_endpoint_resolve(char out[TP_ENDPOINT_MAX], int32_t *is_custom,
                                  const char *service, const char *region, tp_getenv_fn getenv_fn,
                                  void *getenv_payload, tp_error *err)
{
    char var[64];
    const char *url = NULL;
    const char *from = NULL;

    if (!out || !valid_label(service) || strlen(service) > 32)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "service", "bad service name");
    if (is_custom)
        *is_custom = 0;
    const char *ignore = env(getenv_fn, getenv_payload, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    if (!(ignore && strcasecmp(ignore, "true") == 0)) {
        size_t n = (size_t)snprintf(var, sizeof var, "AWS_ENDPOINT_URL_");
        for (const char *s = service; *s && n + 1 < sizeof var; s++)
            var[n++] = *s == '-' || *s == ' ' ? '_' : (char)toupper((unsigned char)*s);
        var[n] = 0;
        url = env(getenv_fn, getenv_payload, var);
        from = var;
        if (!url) {
            url = env(getenv_fn, getenv_payload, "AWS_ENDPOINT_URL");
            from = "AWS_ENDPOINT_URL";
        }
    }
    if (url) {
        if (!valid_url(url))
            return tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, from,
                                "%s is not an http:// or https:// URL with a host", from);
        size_t n = strlen(url);
        while (n > 0 && url[n - 1] == '/')
            n--;
        if (n >= TP_ENDPOINT_MAX)
            return tp_error__at(err, TP_E_TOO_LARGE, TP_NO_OFFSET, from, "%s is too long", from);
        memcpy(out, url, n);
        out[n] = 0;
        if (is_custom)
            *is_custom = 1;
        return TP_OK;
    }
    if (!valid_label(region))
        return tp_error__at(err, TP_E_CONFIG, TP_NO_OFFSET, "region",
                            "no endpoint URL configured and no valid region for %s", service);
    const char *suffix = strncmp(region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
    int w = snprintf(out, TP_ENDPOINT_MAX, "https://%s.%s.%s", service, region, suffix);
    if (w < 0 || w >= TP_ENDPOINT_MAX)
        return tp_error__at(err, TP_E_TOO_LARGE, TP_NO_OFFSET, "region", "region too long");
    return TP_OK;
}
