/* Floor 1: clocks and ISO-8601. Pure calendar arithmetic (Howard Hinnant's
 * days-from-civil algorithm), no timezone database, no locale. */
#include "core_int.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

int64_t tp_time_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t tp_time_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void tp__sleep_ms(uint32_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int64_t tp_time_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t mp = m > 2 ? (int64_t)m - 3 : (int64_t)m + 9;
    int64_t doy = (153 * mp + 2) / 5 + (int64_t)d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void tp_time_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    unsigned dd = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    unsigned mm = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (mm <= 2);
    *m = mm;
    *d = dd;
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Read exactly `n` digits at s[*i]; returns -1 if they are not all digits. */
static int64_t digits(tp_cursor s, size_t *i, unsigned n)
{
    int64_t v = 0;
    for (unsigned k = 0; k < n; k++) {
        if (*i >= s.len || s.ptr[*i] < '0' || s.ptr[*i] > '9')
            return -1;
        v = v * 10 + (s.ptr[*i] - '0');
        (*i)++;
    }
    return v;
}

static tp_status bad(tp_error *err, size_t i, const char *what)
{
    return tp_error__at(err, TP_E_PARSE, i, NULL, "bad ISO-8601 timestamp: %s at byte %zu",
                        what, i);
}

static int expect(tp_cursor s, size_t *i, char c)
{
    if (*i < s.len && s.ptr[*i] == (uint8_t)c) {
        (*i)++;
        return 1;
    }
    return 0;
}

tp_status tp_time_parse_iso8601(int64_t *out_us, tp_cursor s, tp_error *err)
{
    size_t i = 0;
    int64_t y = digits(s, &i, 4);
    if (y < 0)
        return bad(err, i, "expected a 4-digit year");
    if (!expect(s, &i, '-'))
        return bad(err, i, "expected '-'");
    int64_t mo = digits(s, &i, 2);
    if (mo < 1 || mo > 12)
        return bad(err, i, "month not 01-12");
    if (!expect(s, &i, '-'))
        return bad(err, i, "expected '-'");
    int64_t d = digits(s, &i, 2);
    if (d < 1 || d > (int64_t)days_in_month(y, (unsigned)mo))
        return bad(err, i, "day out of range for the month");
    if (!(expect(s, &i, 'T') || expect(s, &i, 't') || expect(s, &i, ' ')))
        return bad(err, i, "expected 'T'");
    int64_t hh = digits(s, &i, 2);
    if (hh < 0 || hh > 23)
        return bad(err, i, "hour not 00-23");
    if (!expect(s, &i, ':'))
        return bad(err, i, "expected ':'");
    int64_t mi = digits(s, &i, 2);
    if (mi < 0 || mi > 59)
        return bad(err, i, "minute not 00-59");
    if (!expect(s, &i, ':'))
        return bad(err, i, "expected ':'");
    /* 60 is a leap second; it is folded into the next second. */
    int64_t ss = digits(s, &i, 2);
    if (ss < 0 || ss > 60)
        return bad(err, i, "second not 00-60");
    int64_t frac_us = 0;
    if (expect(s, &i, '.') || expect(s, &i, ',')) {
        unsigned nd = 0;
        while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9') {
            if (nd < 6)
                frac_us = frac_us * 10 + (s.ptr[i] - '0');
            else if (nd >= 9)
                return bad(err, i, "more than 9 fraction digits");
            nd++;
            i++;
        }
        if (nd == 0)
            return bad(err, i, "expected fraction digits");
        for (unsigned k = nd; k < 6; k++)
            frac_us *= 10;
    }
    int64_t off_s = 0;
    if (i < s.len) {
        uint8_t c = s.ptr[i];
        if (c == 'Z' || c == 'z') {
            i++;
        } else if (c == '+' || c == '-') {
            i++;
            int64_t oh = digits(s, &i, 2);
            if (oh < 0 || oh > 23)
                return bad(err, i, "zone hour not 00-23");
            int64_t om = 0;
            if (i < s.len) {
                expect(s, &i, ':');
                om = digits(s, &i, 2);
                if (om < 0 || om > 59)
                    return bad(err, i, "zone minute not 00-59");
            }
            off_s = (oh * 3600 + om * 60) * (c == '-' ? -1 : 1);
        } else {
            return bad(err, i, "expected 'Z' or a zone offset");
        }
    }
    if (i != s.len)
        return bad(err, i, "trailing bytes");
    int64_t days = tp_time_days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t secs = days * 86400 + hh * 3600 + mi * 60 + ss - off_s;
    *out_us = secs * 1000000 + frac_us;
    return TP_OK;
}

size_t tp_time_format_iso8601(char out[TP_ISO8601_MAX], int64_t us, unsigned frac_digits)
{
    int64_t secs = us / 1000000, rem = us % 1000000;
    if (rem < 0) {
        rem += 1000000;
        secs -= 1;
    }
    int64_t days = secs / 86400, sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days -= 1;
    }
    int64_t y;
    unsigned m, d;
    tp_time_civil_from_days(days, &y, &m, &d);
    int n = snprintf(out, TP_ISO8601_MAX, "%04lld-%02u-%02uT%02d:%02d:%02d", (long long)y, m, d,
                     (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
    if (n < 0)
        n = 0;
    if (frac_digits == 3)
        n += snprintf(out + n, TP_ISO8601_MAX - (size_t)n, ".%03d", (int)(rem / 1000));
    else if (frac_digits != 0)
        n += snprintf(out + n, TP_ISO8601_MAX - (size_t)n, ".%06d", (int)rem);
    n += snprintf(out + n, TP_ISO8601_MAX - (size_t)n, "Z");
    return (size_t)n;
}
