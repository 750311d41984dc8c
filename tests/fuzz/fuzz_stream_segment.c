/* Fuzz the file: stream's segment reader. Each input is a shard's segment
 * file, read from TRIM_HORIZON, from LATEST, and once more as the input's
 * last bytes pick: TRIM_HORIZON with another batch size, or an
 * AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER or AT_TIMESTAMP position (a
 * sequence number or arrival time returned or next to one, the first
 * frame's, 0, 1, 2^64 - 1 and beyond, the extreme times); laid out:
 *   1. as the shard's only segment;
 *   2. split in two at a frame boundary near its middle: the first part
 *      (with a few bytes of the next frame: a torn tail) as segment 1, the
 *      rest behind a fresh magic as a second segment named after the
 *      sequence number of its first frame (1000 when there is none), so the
 *      "closed segment with a torn tail" path runs;
 *   3. as 1, with every frame's CRC32C rewritten, so the fuzzer reaches what
 *      lies behind the checksum.
 * Every input is first scanned in memory (tp_stream__segment_scan: what a
 * writer reopening the shard and a LATEST reader make of a segment), as it
 * is and as in 3., and the scan's figures must hold together; the layouts
 * in files below run for one input in 16 (all of them when replayed), and
 * then the scan must agree with the records read.
 * Each such input gets a fresh stream directory, a copy of the one-shard stream
 * the library created once (creating one fsyncs: too slow per input).
 * Every record returned must have a sequence number above the one before, a
 * non-empty NUL-terminated partition key of at most 256 bytes and readable
 * data; LATEST returns no record (nothing is appended); AT_/AFTER_SEQUENCE_NUMBER
 * and AT_TIMESTAMP return what TRIM_HORIZON returned, filtered as Kinesis
 * filters (exactly, for one segment; a subset, for two); a read that meets
 * damage (a bad frame with valid frames behind it) ends in TP_E_CHECKSUM
 * and stays there; a reader's position is after the last record returned. */
#include "tradepipe.h"

#include "pipeline/stream_int.h"

#include "block_cache.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

__attribute__((noreturn)) static void fail(const char *why)
{
    fprintf(stderr, "fuzz_stream_segment: %s\n", why);
    abort();
}

#define MAGIC     "tpseg01\n"
#define MAGIC_LEN 8
#define FRAME_HDR 8  /* CRC32C, body length */
#define BODY_MIN  20 /* sequence, arrival, key length, a key byte, its NUL */
#define BODY_MAX  (18 + TP_STREAM_MAX_PARTITION_KEY + 1 + TP_STREAM_MAX_RECORD_BYTES)
#define SHARD     "shardId-000000000000"

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void rmtree(const char *dir) { nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

static int write_file(const char *path, const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    int ok = (an == 0 || write(fd, a, an) == (ssize_t)an) &&
             (bn == 0 || write(fd, b, bn) == (ssize_t)bn);
    close(fd);
    return ok ? 0 : -1;
}

static void seg_name(char *out, size_t cap, const char *dir, uint64_t first)
{
    snprintf(out, cap, "%s/" SHARD "/%020llu.seg", dir, (unsigned long long)first);
}

/* What a reader returned. */
typedef struct rec {
    uint64_t seq;
    int64_t arrival_ms;
    uint64_t digest; /* of the key and the data */
} rec;

typedef struct recs {
    rec *r;
    size_t n, cap;
} recs;

static void recs_push(recs *l, const rec *x)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 64;
        rec *nr = realloc(l->r, nc * sizeof *nr);
        if (!nr)
            fail("out of memory");
        l->r = nr;
        l->cap = nc;
    }
    l->r[l->n++] = *x;
}

static uint64_t parse_seq(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
        fail("a sequence number is not the decimal form of a u64");
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9 || v > (UINT64_MAX - d) / 10)
            fail("a sequence number is not the decimal form of a u64");
        v = v * 10 + d;
    }
    return v;
}

/* Read the shard from `pos` until a call returns nothing or TP_E_CHECKSUM
 * (damage with valid frames behind it: the reader stays there); check each
 * record and append it to `out`. `max_records` bounds what the segment bytes
 * can hold: more means the reader returns records twice. */
static tp_status read_shard(tp_stream *s, const tp_stream_position *pos, uint32_t limit,
                            size_t max_records, int check_stay, recs *out)
{
    tp_stream_reader *r = NULL;
    tp_error err;
    if (tp_stream_reader_new(&r, s, SHARD, pos, &err) != TP_OK) {
        fprintf(stderr, "%s\n", err.message);
        fail("tp_stream_reader_new refuses a valid position");
    }
    uint64_t bytes = 0, count = 0, sum = 0;
    char last[TP_KINESIS_SEQ_MAX] = "";
    tp_status st;
    for (size_t calls = 0;; calls++) {
        if (calls > max_records + 2)
            fail("records without end (more get calls than records fit)");
        tp_stream_records got;
        memset(&err, 0, sizeof err);
        st = tp_stream_reader_get(r, limit, &got, &err);
        if (st == TP_E_CHECKSUM) {
            if (err.message[0] == '\0' || got.count != 0)
                fail("TP_E_CHECKSUM without a message, or with records");
            uint64_t at = err.offset;
            if (check_stay && (tp_stream_reader_get(r, limit, &got, &err) != TP_E_CHECKSUM ||
                               got.count || err.offset != at))
                fail("a reader at damage does not stay there");
            break;
        }
        if (st != TP_OK) {
            fprintf(stderr, "status %d: %s\n", (int)st, err.message);
            fail("tp_stream_reader_get fails otherwise than with TP_E_CHECKSUM");
        }
        if (got.count == 0)
            break;
        if (limit && got.count > limit)
            fail("more records than the limit");
        for (size_t i = 0; i < got.count; i++) {
            const tp_stream_record *x = &got.records[i];
            rec e;
            e.seq = parse_seq(x->sequence_number);
            if (last[0] && e.seq <= parse_seq(last))
                fail("sequence numbers do not increase within the shard");
            snprintf(last, sizeof last, "%s", x->sequence_number);
            size_t kl =
                x->partition_key ? strnlen(x->partition_key, TP_STREAM_MAX_PARTITION_KEY + 1) : 0;
            if (kl == 0 || kl > TP_STREAM_MAX_PARTITION_KEY)
                fail("a partition key is empty or over 256 bytes");
            if (!x->shard_id || strcmp(x->shard_id, SHARD) != 0)
                fail("a record's shard id is not the reader's");
            if (x->data.len && !x->data.ptr)
                fail("data with a length but no pointer");
            uint64_t h = 1469598103934665603ULL;
            for (size_t k = 0; k < kl; k++)
                h = (h ^ (uint8_t)x->partition_key[k]) * 1099511628211ULL;
            h = (h ^ 0x100) * 1099511628211ULL;
            for (size_t k = 0; k < x->data.len; k++) {
                sum += x->data.ptr[k];
                h = (h ^ x->data.ptr[k]) * 1099511628211ULL;
            }
            e.digest = h ^ x->data.len;
            e.arrival_ms = x->arrival_ms;
            bytes += x->data.len;
            if (++count > max_records)
                fail("more records than the segment bytes can hold");
            recs_push(out, &e);
        }
    }
    tp_stream_reader_stats rs;
    tp_stream_reader_stats_get(r, &rs);
    if (rs.records != count || rs.bytes != bytes)
        fail("reader stats do not match what it returned");
    /* Where a new reader would resume: after the last record returned;
     * before any, where this one started (AT N is AFTER N - 1). */
    tp_stream_position at, trim = {TP_KINESIS_TRIM_HORIZON, 0, 0, ""};
    if (!pos)
        pos = &trim;
    tp_stream_reader_position(r, &at);
    if (count) {
        if (at.type != TP_KINESIS_AFTER_SEQUENCE_NUMBER || strcmp(at.sequence_number, last) != 0)
            fail("the reader's position is not after the last record returned");
    } else if (pos->type == TP_KINESIS_AT_SEQUENCE_NUMBER && strcmp(pos->sequence_number, "0")) {
        unsigned __int128 v = 0;
        char want[TP_KINESIS_HASH_MAX];
        if (tp_stream__u128_parse(&v, pos->sequence_number) != 0)
            fail("u128 parse");
        tp_stream__u128_format(want, v - 1);
        if (at.type != TP_KINESIS_AFTER_SEQUENCE_NUMBER || strcmp(at.sequence_number, want) != 0)
            fail("AT_SEQUENCE_NUMBER N does not resume AFTER N - 1");
    } else if (pos->type != TP_KINESIS_LATEST &&
               (at.type != pos->type || strcmp(at.sequence_number, pos->sequence_number) != 0 ||
                at.timestamp_ms != pos->timestamp_ms))
        fail("a reader that returned nothing does not resume where it started");
    tp_stream_reader_free(r);
    /* Keep `sum` alive: every data byte was read. */
    __asm__ volatile("" : : "r"(sum));
    return st;
}

static void pos_seq(tp_stream_position *p, int32_t type, const char *seq)
{
    memset(p, 0, sizeof *p);
    p->type = type;
    snprintf(p->sequence_number, sizeof p->sequence_number, "%s", seq);
}

static int same(const recs *a, const recs *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (a->r[i].seq != b->r[i].seq || a->r[i].arrival_ms != b->r[i].arrival_ms ||
            a->r[i].digest != b->r[i].digest)
            return 0;
    return 1;
}

/* Is every record of `sub` in `all`, in the same order? */
static int subset(const recs *sub, const recs *all)
{
    size_t j = 0;
    for (size_t i = 0; i < sub->n; i++) {
        const rec *x = &sub->r[i];
        while (j < all->n && (all->r[j].seq != x->seq || all->r[j].digest != x->digest ||
                              all->r[j].arrival_ms != x->arrival_ms))
            j++;
        if (j == all->n)
            return 0;
        j++;
    }
    return 1;
}

/* Read the segments now in the shard from every kind of position. `exact`:
 * one segment, so the filtered positions give exactly the filtered
 * TRIM_HORIZON records. `sel` picks values from the input. */
static void read_all_ways(tp_stream *s, size_t max_records, int exact, const uint8_t *in, size_t n,
                          const tp_stream_segscan *scan)
{
    /* Choices from the last bytes (the first ones are the magic). */
    uint8_t t0 = n > 0 ? in[n - 1] : 0, t1 = n > 1 ? in[n - 2] : 0, t2 = n > 2 ? in[n - 3] : 0;
    uint32_t limit = t0 % 5 == 0 ? 0 : 1u + t0 % 7;
    recs all = {0}, got = {0};
    tp_stream_position p;
    pos_seq(&p, TP_KINESIS_TRIM_HORIZON, "");
    tp_status st_all = read_shard(s, &p, limit, max_records, 1, &all);
    /* The in-memory scan of the only segment agrees with what was read:
     * records read to the end were there, and a clean segment read to the
     * end ends with its largest sequence number, last arrival time. */
    if (scan && st_all == TP_OK && all.n && !scan->has_last)
        fail("records read from a segment the scan found no valid frame in");
    if (scan && st_all == TP_OK && scan->clean && scan->has_last &&
        (!all.n || all.r[all.n - 1].seq != scan->max_seq ||
         all.r[all.n - 1].arrival_ms != scan->last_arrival_ms))
        fail("the scan's last frame is not the last record read");
    /* Every other read returns some of these records: with one segment,
     * or when TRIM_HORIZON read all of them (it did not stop at damage
     * that a read starting in a later segment never sees). */
    int complete = exact || st_all == TP_OK;

    /* (TP_E_CHECKSUM is possible: a segment whose header is damaged but
     * holds valid frames is read from its start.) */
    pos_seq(&p, TP_KINESIS_LATEST, "");
    read_shard(s, &p, limit, max_records, 0, &got);
    if (got.n != 0)
        fail("LATEST returned records (nothing was appended)");
    got.n = 0;

    switch (t1 >> 6) {
    case 0:
        /* A different batch size gives the same records. */
        if (read_shard(s, NULL, limit ? 0 : 3, max_records, 0, &got) != st_all || !same(&got, &all))
            fail("another batch size gives other records");
        break;
    case 1:
    case 2: {
        /* AT_ or AFTER_SEQUENCE_NUMBER of one of: a sequence number returned
         * or its neighbours, the first frame's, 0 or 1, the largest u64 and
         * beyond it. */
        int after = t1 >> 6 == 2;
        char text[48];
        unsigned __int128 v = 0;
        uint64_t cand[7];
        size_t nc = 0;
        if (all.n) {
            uint64_t r = all.r[t2 % all.n].seq;
            cand[nc++] = r;
            cand[nc++] = r - 1;
            cand[nc++] = r + 1;
        }
        if (n >= MAGIC_LEN + FRAME_HDR + 8)
            cand[nc++] = le64(in + MAGIC_LEN + FRAME_HDR);
        cand[nc++] = 0;
        cand[nc++] = 1;
        cand[nc++] = UINT64_MAX;
        static const char *const big[] = {"18446744073709551616",
                                          "340282366920938463463374607431768211455"};
        size_t c = (t1 & 0x3f) % (nc + 2);
        if (c < nc) {
            tp_stream__u64_format(text, cand[c]);
            v = cand[c];
        } else {
            snprintf(text, sizeof text, "%s", big[c - nc]);
            if (tp_stream__u128_parse(&v, text) != 0)
                fail("u128 parse");
        }
        pos_seq(&p, after ? TP_KINESIS_AFTER_SEQUENCE_NUMBER : TP_KINESIS_AT_SEQUENCE_NUMBER, text);
        if (read_shard(s, &p, limit, max_records, 0, &got) != st_all && exact)
            fail("AT/AFTER_SEQUENCE_NUMBER ends otherwise than TRIM_HORIZON");
        if (complete && !subset(&got, &all))
            fail("AT/AFTER_SEQUENCE_NUMBER returned records TRIM_HORIZON did not");
        size_t k = 0;
        for (size_t i = 0; i < all.n; i++) {
            unsigned __int128 q = all.r[i].seq;
            if (after ? q > v : q >= v) {
                if (exact && (k >= got.n || got.r[k].seq != all.r[i].seq))
                    fail("AT/AFTER_SEQUENCE_NUMBER skipped a record at or after the position");
                k++;
            }
        }
        for (size_t i = 0; i < got.n; i++) {
            unsigned __int128 q = got.r[i].seq;
            if (after ? q <= v : q < v)
                fail("AT/AFTER_SEQUENCE_NUMBER returned a record before the position");
        }
        if (exact && k != got.n)
            fail("AT/AFTER_SEQUENCE_NUMBER returned records TRIM_HORIZON did not");
        break;
    }
    default: {
        /* AT_TIMESTAMP of one of: an arrival time returned, just after it,
         * far before, far after. */
        int64_t ts;
        switch (all.n ? t2 / 64 : 2 + t2 / 128) {
        case 0:
            ts = all.r[t2 % all.n].arrival_ms;
            break;
        case 1:
            ts = all.r[t2 % all.n].arrival_ms;
            ts += ts < INT64_MAX;
            break;
        case 2:
            ts = INT64_MIN;
            break;
        default:
            ts = INT64_MAX;
            break;
        }
        pos_seq(&p, TP_KINESIS_AT_TIMESTAMP, "");
        p.timestamp_ms = ts;
        if (read_shard(s, &p, limit, max_records, 0, &got) != st_all && exact)
            fail("AT_TIMESTAMP ends otherwise than TRIM_HORIZON");
        if (complete && !subset(&got, &all))
            fail("AT_TIMESTAMP returned records TRIM_HORIZON did not");
        if (got.n && got.r[0].arrival_ms < ts)
            fail("AT_TIMESTAMP: the first record arrived before the timestamp");
        if (exact) {
            size_t i = 0;
            while (i < all.n && all.r[i].arrival_ms < ts)
                i++;
            if (got.n != all.n - i)
                fail("AT_TIMESTAMP returned other records than TRIM_HORIZON's from the timestamp "
                     "on");
        }
        break;
    }
    }
    free(all.r);
    free(got.r);
}

/* Remove the shard's segments (the stream stays). */
static void clear_shard(const char *dir, uint64_t a, uint64_t b)
{
    char path[4096];
    seg_name(path, sizeof path, dir, a);
    unlink(path);
    seg_name(path, sizeof path, dir, b);
    unlink(path);
}

/* The offset of the frame boundary nearest the middle (walking the length
 * fields from the magic on), 0 when there is none. */
static size_t middle_boundary(const uint8_t *d, size_t n, size_t *next_frame)
{
    size_t off = MAGIC_LEN, best = 0;
    *next_frame = 0;
    while (off + FRAME_HDR <= n) {
        uint32_t len = le32(d + off + 4);
        if (len < BODY_MIN || len > BODY_MAX || (size_t)len > n - off - FRAME_HDR)
            break;
        size_t end = off + FRAME_HDR + len;
        if (end >= n)
            break;
        best = end;
        if (end >= n / 2)
            break;
        off = end;
    }
    if (best && best + FRAME_HDR <= n) {
        uint32_t len = le32(d + best + 4);
        *next_frame = len >= BODY_MIN && len <= BODY_MAX ? FRAME_HDR + len : 0;
    }
    return best;
}

/* The stream.json of a new one-shard stream, made once by the library:
 * creating a stream fsyncs, so each input gets a fresh copy of it instead. */
static char g_meta[512];
static size_t g_meta_len;

static const char *tmp_base(void)
{
    const char *base = getenv("TMPDIR");
    return base && *base ? base : "/tmp";
}

static void make_template(void)
{
    char dir[4096], path[4200], uri[4200];
    snprintf(dir, sizeof dir, "%s/tpfuzz-seg.XXXXXX", tmp_base());
    if (!mkdtemp(dir))
        fail("cannot make a temporary directory");
    snprintf(uri, sizeof uri, "file:%s", dir);
    tp_stream_options o = TP_STREAM_OPTIONS_INIT;
    o.flags = TP_STREAM_CREATE;
    o.shard_count = 1;
    tp_stream *s = NULL;
    tp_error err;
    if (tp_stream_open(&s, uri, &o, &err) != TP_OK)
        fail("cannot create the stream");
    tp_stream_free(s);
    snprintf(path, sizeof path, "%s/stream.json", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, g_meta, sizeof g_meta) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0 || (size_t)n == sizeof g_meta)
        fail("cannot read stream.json");
    g_meta_len = (size_t)n;
    rmtree(dir);
}

/* The in-memory scan (what a writer reopening a shard and a LATEST reader
 * make of a segment): its figures must hold together, and a prefix that
 * ends at its last valid frame must scan the same. */
static void check_scan(const uint8_t *data, size_t size, tp_stream_segscan *sc)
{
    tp_stream__segment_scan(data, size, sc);
    int magic = size >= MAGIC_LEN && memcmp(data, MAGIC, MAGIC_LEN) == 0;
    if (sc->size != size || sc->valid_end > size)
        fail("the scan's size or end is past the segment");
    if (!magic && (sc->valid_end || sc->has_last || sc->clean))
        fail("a segment without its magic scanned as holding something");
    if (magic && sc->valid_end < MAGIC_LEN)
        fail("a segment with its magic scanned as having none");
    if (sc->clean && sc->valid_end != size)
        fail("a clean segment does not end at its last valid frame");
    if (sc->has_last && sc->valid_end < MAGIC_LEN + FRAME_HDR + BODY_MIN)
        fail("a valid frame in fewer bytes than one takes");
    if (!magic)
        return;
    tp_stream_segscan pre;
    tp_stream__segment_scan(data, (size_t)sc->valid_end, &pre);
    if (pre.valid_end != sc->valid_end || pre.has_last != sc->has_last ||
        (sc->has_last && (pre.max_seq != sc->max_seq || pre.last_arrival_ms != sc->last_arrival_ms)))
        fail("the segment cut after its last valid frame scans otherwise");
}

/* FNV-1a of the input: which inputs also run the file layouts. */
static uint64_t input_hash(const uint8_t *d, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ d[i]) * 1099511628211ULL;
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Every input: the scan in memory, on the input and on it with its
     * frames' checksums made right. */
    tp_stream_segscan scan, fixed_scan;
    check_scan(data, size, &scan);
    uint8_t *fixed = malloc(size ? size : 1);
    if (!fixed)
        fail("out of memory");
    memcpy(fixed, data, size);
    for (size_t off = MAGIC_LEN; off + FRAME_HDR <= size;) {
        uint32_t len = le32(fixed + off + 4);
        if (len < BODY_MIN || len > BODY_MAX || (size_t)len > size - off - FRAME_HDR)
            break;
        uint32_t crc = tp_stream__crc32c(fixed + off + 4, 4 + (size_t)len);
        fixed[off] = (uint8_t)crc;
        fixed[off + 1] = (uint8_t)(crc >> 8);
        fixed[off + 2] = (uint8_t)(crc >> 16);
        fixed[off + 3] = (uint8_t)(crc >> 24);
        off += FRAME_HDR + len;
    }
    check_scan(fixed, size, &fixed_scan);
    /* One input in 16 (every input when replayed: TP_FUZZ_REPLAY, set by
     * replay.c), chosen by its bytes so that it is always the same ones:
     * the readers over the layouts in files. A stream directory per input
     * costs ~30 opens and reads: with it for every input the target ran
     * ~1,200 inputs a second; the scan alone runs at tens of thousands. */
    static int replay = -1;
    if (replay < 0)
        replay = getenv("TP_FUZZ_REPLAY") != NULL;
    if (!replay && input_hash(data, size) % 16 != 0) {
        free(fixed);
        return 0;
    }
    if (!g_meta_len)
        make_template();
    /* A fresh stream directory, as tp_stream_open(TP_STREAM_CREATE) lays it out. */
    char dir[4096], uri[4200], path[4200];
    snprintf(dir, sizeof dir, "%s/tpfuzz-seg.XXXXXX", tmp_base());
    if (!mkdtemp(dir)) {
        free(fixed);
        return 0;
    }
    snprintf(path, sizeof path, "%s/" SHARD, dir);
    if (mkdir(path, 0755) != 0)
        fail("cannot make the shard directory");
    snprintf(path, sizeof path, "%s/stream.json", dir);
    if (write_file(path, (const uint8_t *)g_meta, g_meta_len, NULL, 0) != 0)
        fail("cannot write stream.json");
    snprintf(uri, sizeof uri, "file:%s", dir);
    tp_stream_options o = TP_STREAM_OPTIONS_INIT;
    o.shard_count = 1;
    o.alloc = &bc_allocator; /* the readers' buffers grow to a MiB or two: kept across inputs */
    tp_stream *s = NULL;
    tp_error err;
    if (tp_stream_open(&s, uri, &o, &err) != TP_OK)
        fail("cannot open the stream");
    /* Each frame takes at least 28 bytes. */
    size_t max_records = size / (FRAME_HDR + BODY_MIN) + 1;

    /* 1. The input as the only segment. */
    seg_name(path, sizeof path, dir, 1);
    if (write_file(path, data, size, NULL, 0) != 0)
        fail("cannot write a segment");
    read_all_ways(s, max_records, 1, data, size, &scan);
    clear_shard(dir, 1, 1);

    /* 2. Two segments, the first ending in a torn frame. */
    size_t next = 0, cut = middle_boundary(data, size, &next);
    if (cut == 0)
        cut = size / 2;
    size_t torn = next > 1 ? (size_t)data[size - 1] % (next < 16 ? next : 16) : 0;
    if (cut + torn > size)
        torn = size - cut;
    uint64_t second = 1000;
    if (size - cut >= FRAME_HDR + 8)
        second = le64(data + cut + FRAME_HDR); /* its first frame's sequence number */
    if (second == 1)
        second = 1000;
    seg_name(path, sizeof path, dir, 1);
    if (write_file(path, data, cut + torn, NULL, 0) != 0)
        fail("cannot write a segment");
    seg_name(path, sizeof path, dir, second);
    if (write_file(path, (const uint8_t *)MAGIC, MAGIC_LEN, data + cut, size - cut) != 0)
        fail("cannot write a segment");
    read_all_ways(s, (cut + torn + MAGIC_LEN + size - cut) / (FRAME_HDR + BODY_MIN) + 2, 0,
                  data + cut, size - cut, NULL);
    clear_shard(dir, 1, second);

    /* 3. With every frame's checksum made right. */
    if (size && memcmp(fixed, data, size) != 0) {
        seg_name(path, sizeof path, dir, 1);
        if (write_file(path, fixed, size, NULL, 0) != 0)
            fail("cannot write a segment");
        read_all_ways(s, max_records, 1, fixed, size, &fixed_scan);
    }
    free(fixed);
    tp_stream_free(s);
    rmtree(dir);
    return 0;
}
