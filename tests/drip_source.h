#ifndef TP_DRIP_SOURCE_H
#define TP_DRIP_SOURCE_H

/* A tp_read_fn handing out at most `step` bytes per call: drives the
 * reader's resumption paths (records cut anywhere). Tests and fuzzers only. */
#include <string.h>

#include "tradepipe.h"

typedef struct drip {
    const uint8_t *p;
    size_t len, pos, step;
} drip;

static inline tp_status drip_read(void *payload, uint8_t *buf, size_t cap, size_t *n,
                                  tp_error *err)
{
    (void)err;
    drip *d = payload;
    size_t k = d->len - d->pos;
    if (k > d->step)
        k = d->step;
    if (k > cap)
        k = cap;
    memcpy(buf, d->p + d->pos, k);
    d->pos += k;
    *n = k;
    return TP_OK;
}

#endif
