/* Helpers for the integration suites: the emulators' endpoints from
 * $TP_SERVICES_STATE/endpoints.env, the test credentials
 * (tests/services/credentials.env), and awscli (the
 * independent client) run through tests/integration/aws_cli.sh. */
#ifndef TP_IT_UTIL_H
#define TP_IT_UTIL_H

#include "testutil.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static inline const char *it_state(void)
{
    const char *s = getenv("TP_SERVICES_STATE");
    return s && *s ? s : "build/services";
}

/* Export every NAME=VALUE line of a file (# comments skipped); 0 on success. */
static inline int it_env_file(const char *path)
{
    char line[512];
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        char *eq = strchr(line, '=');
        if (line[0] == '#' || !eq)
            continue;
        *eq = 0;
        setenv(line, eq + 1, 1);
    }
    fclose(f);
    return 0;
}

/* Export the endpoints and credentials the emulators take; 0 on success. */
static inline int it_env_setup(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/endpoints.env", it_state());
    if (it_env_file(path) != 0)
        return -1;
    /* The test credentials: s3rver's access key id, a distinctive secret key
     * and session token (no log of the run may show them). */
    const char *src = getenv("TP_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/services/credentials.env", src && *src ? src : ".");
    if (it_env_file(path) != 0)
        return -1;
    setenv("AWS_REGION", "us-east-1", 1);
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_PROFILE");
    setenv("AWS_CONFIG_FILE", "/dev/null", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    /* Loopback never through a proxy a developer may have configured. */
    setenv("no_proxy", "127.0.0.1,localhost", 1);
    setenv("NO_PROXY", "127.0.0.1,localhost", 1);
    return 0;
}

/* Quote one argument for /bin/sh. */
static inline void it_shquote(char *out, size_t cap, const char *s)
{
    size_t o = 0;
    if (o + 1 < cap)
        out[o++] = '\'';
    for (; *s && o + 5 < cap; s++) {
        if (*s == '\'') {
            memcpy(out + o, "'\\''", 4);
            o += 4;
        } else {
            out[o++] = *s;
        }
    }
    if (o + 1 < cap)
        out[o++] = '\'';
    out[o] = 0;
}

/* Run awscli: `service` then NULL-terminated arguments. Returns its parsed
 * JSON output (NULL when it printed nothing), and its exit status in *rc. */
static inline json_t *it_aws(int *rc, const char *service, ...)
{
    static char cmd[65536];
    char q[8192];
    size_t n = (size_t)snprintf(cmd, sizeof cmd, "%s/tests/integration/aws_cli.sh ",
                                tpt_source_dir());
    it_shquote(q, sizeof q, it_state());
    n += (size_t)snprintf(cmd + n, sizeof cmd - n, "%s %s", q, service);
    va_list ap;
    va_start(ap, service);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < sizeof cmd) {
        it_shquote(q, sizeof q, a);
        n += (size_t)snprintf(cmd + n, sizeof cmd - n, " %s", q);
    }
    va_end(ap);
    snprintf(cmd + n, sizeof cmd - n, " 2>&1");
    FILE *p = popen(cmd, "r");
    if (!p) {
        *rc = -1;
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t r;
    while ((r = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += r;
        if (len + 1 >= cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    buf[len] = 0;
    int st = pclose(p);
    *rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    json_t *j = len ? json_loads(buf, 0, NULL) : NULL;
    if (*rc != 0 || (len && !j))
        fprintf(stderr, "awscli %s: rc=%d output: %.2000s\n", service, *rc, buf);
    free(buf);
    return j;
}

/* A name unique to this run (emulators keep state across suites). */
static inline void it_name(char *out, size_t cap, const char *prefix)
{
    static unsigned counter;
    snprintf(out, cap, "%s-%ld-%u", prefix, (long)getpid(), counter++);
}

#endif
