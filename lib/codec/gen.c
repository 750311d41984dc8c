/* Floor 2: synthetic market data (see include/tradepipe/gen.h).
 *
 * Integer arithmetic only, so a seed gives the same bytes everywhere: ratios
 * of a price are Q24 (1.0 == 1 << 24), levels Q16 cents (1/65536 cent).
 *
 * A symbol trades at fair * (1 + disp + jitter), rounded to the cent:
 *  - fair, the level: in calm spells a random walk with a per-tick sd of
 *    0.05%..0.1%; always pulled toward the base price by 1/4000 of
 *    2 (base - fair) / (base + fair) = -2 tanh(ln(fair / base) / 2) per tick,
 *    which is about its log distance, and the same pull from base*3 as from
 *    base/3;
 *  - disp, dips and rallies: -/+ 3%..9% of fair over 5..20 ticks; then a dip
 *    recovers fast (0.4% of fair a tick), a rally fades slowly (0.02%);
 *  - jitter, volatile spells (sd 0.3%..0.5%): independent noise around the
 *    level, scaled so the change between two trades has that sd.
 * The shape is what lets a buy-the-dip engine (buy 2% under the recent high,
 * sell 5% over the entry, no stop-loss) trade at all: on any walk that stays
 * in range it soon buys a 2% drop near the top and then waits for a +5% that
 * hardly comes. Here a dip is bought and recovers, a rally then sells, and
 * neither a fading rally (0.4% in 20 ticks) nor volatile noise (it does not
 * accumulate) often makes a 2% drop at the top. Measured: ~30 round trips
 * per symbol per 20,000 ticks, prices within ~0.8..1.2 of base over
 * 1,000,000 ticks. A symbol's first trade is at its base price: each tick
 * moves the price for the symbol's next trade. */
#include "tradepipe/gen.h"
#include "core/core_int.h"
#include "json_int.h"

#include <stddef.h>

_Static_assert(TP_TIMESTAMP_MAX >= TP_ISO8601_MAX, "the formatter writes into ts_text");

/* A ratio in Q24 from parts per million. */
#define Q24_PPM(ppm) ((int64_t)(ppm) * (INT64_C(1) << 24) / 1000000)
/* A per-tick probability in 1/65536 units (compared to 16 random bits). */
#define P16(one_in) ((uint32_t)((65536 + (one_in) / 2) / (one_in)))

/* Per-tick standard deviation of the price, drawn per spell. */
#define CALM_SIGMA_MIN Q24_PPM(500) /* 0.05% */
#define CALM_SIGMA_MAX Q24_PPM(1000)
#define VOL_SIGMA_MIN  Q24_PPM(3000) /* 0.3% */
#define VOL_SIGMA_MAX  Q24_PPM(5000)
/* Spell switching: calm spells last ~1000 ticks, volatile ones ~250. */
#define P_TO_VOLATILE P16(1000)
#define P_TO_CALM     P16(250)
/* Dips and rallies. One starts with probability P_EVENT per tick once the
 * last has faded to within GATE of fair (so no dip starts from the top of a
 * rally), and is of the other kind than the last with probability
 * P_SWITCH / 65536. It moves the price by 3%..9% of fair over 5..20 ticks;
 * then a dip recovers quickly and a rally fades slowly, both linearly. Each
 * kind comes about once in 500 ticks. */
#define P_EVENT         P16(100)
#define P_SWITCH        57344 /* 7/8 */
#define GATE            Q24_PPM(10000)
#define EVENT_MOVE_MIN  Q24_PPM(30000)
#define EVENT_MOVE_MAX  Q24_PPM(90000)
#define EVENT_TICKS_MIN 5
#define EVENT_TICKS_MAX 20
#define DIP_RECOVER     Q24_PPM(4000) /* of fair, per tick */
#define RALLY_FADE      Q24_PPM(200)
/* Mean reversion of fair per tick: 1/4000 of its log distance to base. */
#define REVERT Q24_PPM(250)
/* Volumes: 1..50 lots, a block of 100..500 lots about 1 trade in 200. */
#define P_BLOCK        P16(200)
#define LOTS_MAX       50
#define BLOCK_LOTS_MIN 100
#define BLOCK_LOTS_MAX 500

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z, microseconds. */
#define TIME_MIN_US INT64_C(-62167219200000000)
#define TIME_MAX_US INT64_C(253402300799999000)

typedef struct gsym {
    int64_t fair;    /* Q16 cents: the level calm noise and the pull to base move */
    int64_t cents;   /* the price of the symbol's next trade */
    int64_t base;    /* cents */
    int64_t lo, hi;  /* hard bounds (cents), far outside where the pull keeps it */
    int32_t disp;    /* Q24: the running or fading dip (< 0) or rally (> 0) */
    int32_t ev_step; /* Q24 added to disp per tick while ev_left */
    int32_t sigma;   /* Q24 */
    uint16_t ev_left;
    uint8_t volatile_spell;
    uint8_t last_dip; /* the last event was a dip */
} gsym;

typedef char gname[TP_SYMBOL_MAX];

struct tp_gen {
    uint64_t rng[4]; /* xoshiro256** */
    const tp_allocator *alloc;
    uint32_t n;
    gsym *syms;
    gname *names; /* NUL-padded */
    uint8_t *name_len;
    uint64_t count;
    int64_t next_us;
    uint64_t gap_ms; /* the mean gap; 1 = every gap is 1 ms */
    int exhausted;   /* the next trade's time would pass TIME_MAX_US */
    int64_t ts_day;  /* the day (since the epoch) ts_text holds; INT64_MIN = none */
    int64_t ts_sec;  /* the second (since the epoch) ts_text holds; INT64_MIN = none */
    char ts_text[TP_TIMESTAMP_MAX]; /* NUL-padded */
};

/* ---- numbers -------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t next64(uint64_t *s)
{
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* floor(v / 2^k): >> on a negative value is implementation-defined in C. */
static inline int64_t shr_floor(int64_t v, unsigned k) { return v >= 0 ? v >> k : ~(~v >> k); }

/* The high 64 bits of a * b. */
static uint64_t mulhi64(uint64_t a, uint64_t b)
{
    uint64_t alo = a & 0xffffffffu, ahi = a >> 32, blo = b & 0xffffffffu, bhi = b >> 32;
    uint64_t lo = alo * blo;
    uint64_t mid1 = ahi * blo + (lo >> 32);
    uint64_t mid2 = alo * bhi + (mid1 & 0xffffffffu);
    return ahi * bhi + (mid1 >> 32) + (mid2 >> 32);
}

/* Uniform in lo..hi (hi - lo < 2^32) from 32 random bits. */
static inline int64_t uniform(uint32_t bits, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(((uint64_t)bits * (uint64_t)(hi - lo + 1)) >> 32);
}

static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)p[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

/* ---- base prices ---------------------------------------------------------- */

static const struct {
    const char *name;
    int64_t cents;
} known[] = {
    {"AAPL", 19000}, {"MSFT", 41000}, {"GOOGL", 17000}, {"AMZN", 18000}, {"TSLA", 24000},
    {"META", 51000}, {"NVDA", 45500}, {"JPM", 20000},   {"V", 27000},    {"NFLX", 61500},
    {"IBM", 16500},  {"ORCL", 12000}, {"INTC", 3500},   {"AMD", 15000},  {"KO", 6000},
    {"PEP", 17000},  {"XOM", 11000},  {"WMT", 16000},   {"DIS", 9500},   {"BA", 21000},
};

static int64_t base_cents(const char *name, size_t len)
{
    for (size_t i = 0; i < TP_ARRAY_LEN(known); i++)
        if (strlen(known[i].name) == len && memcmp(known[i].name, name, len) == 0)
            return known[i].cents;
    return 1000 + (int64_t)(fnv1a(name, len) % 49001); /* 10.00 .. 500.00 */
}

/* ---- options -------------------------------------------------------------- */

TP__DEFINE_INIT(tp_gen_options_init, tp_gen_options, TP_GEN_OPTIONS_VERSION, TP_GEN_OPTIONS_INIT)

static tp_status check_options(const tp_gen_options *o, tp_error *err)
{
    if (o->version != TP_GEN_OPTIONS_VERSION)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "version",
                            "unknown generator options version %u", (unsigned)o->version);
    if (o->n_symbols < 1 || o->n_symbols > TP_GEN_MAX_SYMBOLS)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "symbols",
                            "n_symbols must be 1..%u, not %u", TP_GEN_MAX_SYMBOLS,
                            (unsigned)o->n_symbols);
    if (!o->symbols)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "symbols", "symbols is NULL");
    if (o->start_us % 1000 != 0)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "start_us",
                            "start_us must be a whole number of milliseconds, not %lld",
                            (long long)o->start_us);
    if (o->start_us < TIME_MIN_US || o->start_us > TIME_MAX_US)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "start_us",
                            "start_us must be within the years 0000..9999, not %lld",
                            (long long)o->start_us);
    if (o->mean_gap_us < 0)
        return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "mean_gap_us",
                            "mean_gap_us must not be negative, not %lld",
                            (long long)o->mean_gap_us);
    return TP_OK;
}

/* Copy and check the names; find a name given twice with a hash table of
 * indexes+1 (cap a power of two, at least twice n). */
static tp_status load_names(tp_gen *g, const char *const *symbols, uint32_t *table, size_t cap,
                            tp_error *err)
{
    for (uint32_t i = 0; i < g->n; i++) {
        const char *s = symbols[i];
        if (!s)
            return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "symbols", "symbols[%u] is NULL",
                                (unsigned)i);
        size_t len = strnlen(s, TP_SYMBOL_MAX);
        if (len == 0 || len >= TP_SYMBOL_MAX)
            return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "symbols",
                                "symbols[%u] must be 1..%d bytes: \"%.*s%s\"", (unsigned)i,
                                TP_SYMBOL_MAX - 1, 24, s, len > 24 ? "..." : "");
        if (!tp_json__utf8_valid((const uint8_t *)s, len))
            return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "symbols",
                                "symbols[%u] is not valid UTF-8 (records are JSON text)",
                                (unsigned)i);
        uint64_t h = fnv1a(s, len);
        size_t mask = cap - 1;
        size_t at = (size_t)h & mask;
        for (; table[at]; at = (at + 1) & mask) {
            uint32_t j = table[at] - 1;
            if (g->name_len[j] == len && memcmp(g->names[j], s, len) == 0)
                return tp_error__at(err, TP_E_INVALID, TP_NO_OFFSET, "symbols",
                                    "duplicate symbol \"%s\" (symbols[%u] and [%u])", s,
                                    (unsigned)j, (unsigned)i);
        }
        table[at] = i + 1;
        memcpy(g->names[i], s, len); /* the rest stays NUL from calloc */
        g->name_len[i] = (uint8_t)len;
    }
    return TP_OK;
}

static int32_t draw_sigma(uint64_t *rng, int volatile_spell)
{
    uint32_t bits = (uint32_t)(next64(rng) >> 32);
    return (int32_t)(volatile_spell ? uniform(bits, VOL_SIGMA_MIN, VOL_SIGMA_MAX)
                                    : uniform(bits, CALM_SIGMA_MIN, CALM_SIGMA_MAX));
}

tp_status tp_gen_new(tp_gen **out, const tp_gen_options *opts, tp_error *err)
{
    tp_status st = TP_OK;
    tp_gen *g = NULL;
    uint32_t *table = NULL;
    size_t cap = 4;

    if (!out)
        return tp_error__set(err, TP_E_INVALID, "tp_gen_new: out is NULL");
    *out = NULL;
    if (!opts)
        return tp_error__set(err, TP_E_INVALID, "tp_gen_new: options are NULL");
    st = check_options(opts, err);
    if (st != TP_OK)
        return st;

    g = tp__calloc(opts->alloc, 1, sizeof *g);
    if (!g)
        return tp_error__set(err, TP_E_NOMEM, "out of memory creating a generator");
    g->alloc = opts->alloc;
    g->n = opts->n_symbols;
    while (cap < (size_t)g->n * 2)
        cap *= 2;
    g->syms = tp__calloc(g->alloc, g->n, sizeof *g->syms);
    g->names = tp__calloc(g->alloc, g->n, sizeof *g->names);
    g->name_len = tp__calloc(g->alloc, g->n, sizeof *g->name_len);
    table = tp__calloc(g->alloc, cap, sizeof *table);
    if (!g->syms || !g->names || !g->name_len || !table) {
        st = tp_error__set(err, TP_E_NOMEM, "out of memory creating a generator");
        goto done;
    }
    st = load_names(g, opts->symbols, table, cap, err);
    if (st != TP_OK)
        goto done;

    uint64_t x = opts->seed;
    for (int i = 0; i < 4; i++)
        g->rng[i] = splitmix64(&x);
    for (uint32_t i = 0; i < g->n; i++) {
        gsym *s = &g->syms[i];
        s->base = base_cents(g->names[i], g->name_len[i]);
        s->cents = s->base;
        s->fair = s->base << 16;
        s->lo = s->base / 8 > 100 ? s->base / 8 : 100;
        s->hi = s->base * 8;
        s->sigma = draw_sigma(g->rng, 0);
    }
    /* ceil(mean / 1 ms) without overflow */
    int64_t mean_us = opts->mean_gap_us ? opts->mean_gap_us : TP_GEN_DEFAULT_GAP_US;
    g->gap_ms = (uint64_t)(mean_us / 1000 + (mean_us % 1000 != 0));
    g->next_us = opts->start_us;
    g->ts_day = INT64_MIN;
    g->ts_sec = INT64_MIN;
    *out = g;
    g = NULL;
done:
    tp__free(opts->alloc, table);
    tp_gen_free(g);
    return st;
}

void tp_gen_free(tp_gen *g)
{
    if (!g)
        return;
    tp__free(g->alloc, g->syms);
    tp__free(g->alloc, g->names);
    tp__free(g->alloc, g->name_len);
    tp__free(g->alloc, g);
}

uint64_t tp_gen_count(const tp_gen *g) { return g ? g->count : 0; }

/* ---- generation ----------------------------------------------------------- */

/* Move `s` one tick on. */
static inline void advance(gsym *s, uint64_t *rng)
{
    const uint64_t d = next64(rng);
    const uint32_t u_regime = (uint32_t)(d & 0xffff);
    const uint32_t u_event = (uint32_t)((d >> 16) & 0xffff);
    const uint32_t u_switch = (uint32_t)((d >> 32) & 0xffff);
    int64_t disp = s->disp;

    if (TP_UNLIKELY(u_regime < (s->volatile_spell ? P_TO_CALM : P_TO_VOLATILE))) {
        s->volatile_spell = !s->volatile_spell;
        s->sigma = draw_sigma(rng, s->volatile_spell);
    }
    if (TP_UNLIKELY(u_event < P_EVENT && !s->ev_left && disp < GATE && disp > -GATE)) {
        const uint64_t e = next64(rng);
        const int64_t move = uniform((uint32_t)(e >> 32), EVENT_MOVE_MIN, EVENT_MOVE_MAX);
        const int64_t ticks = uniform((uint32_t)e, EVENT_TICKS_MIN, EVENT_TICKS_MAX);
        s->last_dip = (uint8_t)(s->last_dip ^ (u_switch < P_SWITCH));
        s->ev_step = (int32_t)(s->last_dip ? -move / ticks : move / ticks);
        s->ev_left = (uint16_t)ticks;
    }

    /* Irwin-Hall of three 21-bit uniforms: mean 3 * 2^20, sd exactly 2^20. */
    const uint64_t r = next64(rng);
    const int64_t z = (int64_t)((r & 0x1fffff) + ((r >> 21) & 0x1fffff) + ((r >> 42) & 0x1fffff)) -
                      3 * (INT64_C(1) << 20);
    const int64_t noise = shr_floor(s->sigma * z, 20); /* Q24, sd sigma */
    const int64_t fc = s->fair >> 16; /* whole cents, < 2^19 within the hard bounds */
    int64_t f = s->fair;
    int64_t jitter = 0;
    if (s->volatile_spell)
        jitter = noise * 181 / 256; /* around fair: a change between trades has sd sigma */
    else
        f += shr_floor(fc * noise, 8); /* a random walk of fair */
    f += shr_floor(fc * (2 * REVERT * (s->base - fc) / (s->base + fc)), 8);
    if (TP_UNLIKELY(f < s->lo << 16))
        f = s->lo << 16;
    else if (TP_UNLIKELY(f > s->hi << 16))
        f = s->hi << 16;
    s->fair = f;

    if (s->ev_left) {
        disp += s->ev_step;
        s->ev_left--;
    } else if (disp < 0) {
        disp = disp < -DIP_RECOVER ? disp + DIP_RECOVER : 0;
    } else {
        disp = disp > RALLY_FADE ? disp - RALLY_FADE : 0;
    }
    s->disp = (int32_t)disp;

    int64_t nc = (f * ((INT64_C(1) << 24) + disp + jitter) + (INT64_C(1) << 39)) >> 40;
    if (TP_UNLIKELY(nc < s->lo))
        nc = s->lo;
    else if (TP_UNLIKELY(nc > s->hi))
        nc = s->hi;
    s->cents = nc;
}

static inline int64_t volume(uint64_t *rng)
{
    const uint64_t r = next64(rng);
    int64_t lots;
    if (TP_UNLIKELY((r & 0xffff) < P_BLOCK)) {
        lots = uniform((uint32_t)(r >> 32), BLOCK_LOTS_MIN, BLOCK_LOTS_MAX);
    } else {
        /* The product of two uniforms (density -ln x): 1 lot is the most
         * common size, half the trades are 10 lots or less. */
        const uint64_t a = (r >> 16) & 0xffff, b = (r >> 32) & 0xffff;
        lots = 1 + (int64_t)((a * b * LOTS_MAX) >> 32);
    }
    return lots * TP_GEN_LOT;
}

static inline void put2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ", as tp_time_format_iso8601(out, us, 3) writes
 * it: the date is formatted by it once a day, the time of day by hand once a
 * second (its snprintf would cost more than all the rest of a trade). */
static inline void format_ts(tp_gen *g, char *out, int64_t us)
{
    int64_t sec = us / 1000000, rem = us % 1000000;
    if (rem < 0) {
        rem += 1000000;
        sec--;
    }
    char *t = g->ts_text;
    if (TP_UNLIKELY(sec != g->ts_sec)) {
        int64_t day = sec / 86400, sod = sec % 86400;
        if (sod < 0) {
            sod += 86400;
            day--;
        }
        if (day != g->ts_day) {
            tp_time_format_iso8601(t, day * 86400 * 1000000, 3); /* "...T00:00:00.000Z" */
            g->ts_day = day;
        }
        put2(t + 11, (unsigned)(sod / 3600));
        put2(t + 14, (unsigned)(sod / 60 % 60));
        put2(t + 17, (unsigned)(sod % 60));
        g->ts_sec = sec;
    }
    const unsigned ms = (unsigned)(rem / 1000);
    t[20] = (char)('0' + ms / 100);
    put2(t + 21, ms % 100);
    memcpy(out, t, TP_TIMESTAMP_MAX);
}

tp_status tp_gen_next(tp_gen *g, tp_trade *out, tp_error *err)
{
    if (TP_UNLIKELY(!g || !out))
        return tp_error__set(err, TP_E_INVALID, "tp_gen_next: NULL argument");
    if (TP_UNLIKELY(g->exhausted))
        return tp_error__at(err, TP_E_RANGE, TP_NO_OFFSET, "timestamp",
                            "the generator's clock would pass 9999-12-31T23:59:59.999Z");
    uint64_t rng[4];
    memcpy(rng, g->rng, sizeof rng);
    const int64_t t = g->next_us;
    const uint32_t i = (uint32_t)(((next64(rng) >> 32) * g->n) >> 32);
    gsym *s = &g->syms[i];

    /* Every byte is written (the strings NUL-padded), cheaper than a memset
     * of the whole trade. */
    out->price_e8 = s->cents * 1000000;
    out->volume = volume(rng);
    out->ts_us = t;
    out->ts_kind = TP_TS_STRING;
    out->flags = TP_TRADE_TS_PARSED;
    out->symbol_len = g->name_len[i];
    out->reserved = 0;
    memcpy(out->symbol, g->names[i], TP_SYMBOL_MAX);
    format_ts(g, out->timestamp, t);
    memset((char *)out + offsetof(tp_trade, trade_id), 0,
           sizeof *out - offsetof(tp_trade, trade_id));

    advance(s, rng);

    uint64_t gap_ms = g->gap_ms;
    if (gap_ms > 1)
        gap_ms = 1 + mulhi64(next64(rng), 2 * gap_ms - 1); /* uniform 1..2*mean-1 */
    if (gap_ms > (uint64_t)(TIME_MAX_US - t) / 1000)
        g->exhausted = 1;
    else
        g->next_us = t + (int64_t)gap_ms * 1000;
    memcpy(g->rng, rng, sizeof rng);
    g->count++;
    return TP_OK;
}
