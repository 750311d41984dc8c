/* Fuzz the reading of STS's AssumeRoleWithWebIdentity answer (the web
 * identity credentials of EKS and other OIDC setups): the first byte picks
 * the HTTP status (200 for most values, 400, 403 or 503), the rest is the
 * body. What is accepted has a key id and a secret and came with a 200; a
 * refusal says why, and never with the secret in it (a secret that is also
 * a word of the message, regressions/sts_answer/secret-is-a-word-of-the-message,
 * is told apart by changing the secret and reading again). */
#include "aws/credentials_int.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The secret in the body, when there is one (to look for it in errors). */
static const char *find_secret(const char *body, char *out, size_t cap)
{
    const char *p = strstr(body, "<SecretAccessKey>");
    if (!p)
        return NULL;
    p += strlen("<SecretAccessKey>");
    const char *e = strchr(p, '<');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n < 8 || n >= cap)
        return NULL; /* too short to be told apart from the message's words */
    memcpy(out, p, n);
    out[n] = 0;
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    static const int32_t statuses[] = {400, 403, 503};
    int32_t status = data[0] < 0xf0 ? 200 : statuses[data[0] % 3];
    tp_cursor body = tp_cursor_make(data + 1, size - 1);
    const tp_credentials *c = NULL;
    tp_error err;
    tp_status st = tp_credentials__sts_answer(&c, status, body, NULL, &err);
    if (st == TP_OK) {
        if (status != 200 || !c || !c->access_key_id[0] || !c->secret_access_key[0])
            abort();
        tp_credentials_release(c);
        return 0;
    }
    if (c || err.code != st || !err.message[0])
        abort();
    char *text = malloc(size);
    if (!text)
        abort();
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;
    char secret[256];
    if (find_secret(text, secret, sizeof secret) && strstr(err.message, secret) &&
        !strstr(text, "<Code>")) {
        /* The message holds the secret's text. It may be a word of the
         * message's own ("meRoleWithWeb" of "AssumeRoleWithWebIdentity"):
         * the same answer with the secret's bytes changed must then give a
         * message still holding it; one that does not took it from the
         * secret. */
        char *p = strstr(text, "<SecretAccessKey>") + strlen("<SecretAccessKey>");
        memset(p, '#', strlen(secret));
        tp_error err2;
        memset(&err2, 0, sizeof err2);
        const tp_credentials *c2 = NULL;
        tp_status st2 = tp_credentials__sts_answer(
            &c2, status, tp_cursor_make((const uint8_t *)text, size - 1), NULL, &err2);
        if (st2 == TP_OK)
            tp_credentials_release(c2);
        else if (!strstr(err2.message, secret))
            abort(); /* the secret in an error */
    }
    free(text);
    return 0;
}
