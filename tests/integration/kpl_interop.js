// KPL aggregation interoperability, both ways, with aws-kinesis-agg 4.2.8
// (npm, pinned in tests/services/package-lock.json):
//   ours -> theirs: kpl_tool agg builds aggregates, aws-kinesis-agg's
//                   deaggregateSync (checksums on) reads them back;
//   theirs -> ours: aws-kinesis-agg's RecordAggregator builds aggregates,
//                   kpl_tool deagg reads them back.
// Every user record must come back with its partition key, explicit hash key
// (or none), data and sub-sequence number.
//
// Two known defects of aws-kinesis-agg 4.2.8 are checked as defects, and in
// those cases the format (awslabs/amazon-kinesis-producer:aggregation-format.md)
// decides, through our own decoder and a reading of the protobuf by the
// format (protobufjs with aws-kinesis-agg's own kpl.json message types):
//   1. its deaggregator gives a record without explicit_hash_key_index the
//      table's entry 0 (protobufjs's proto2 default), where the format says
//      "none";
//   2. its aggregator writes the partition key table with Object.keys(), which
//      puts keys that look like small integers first, so records point at the
//      wrong keys.
//
//   node kpl_interop.js PATH/TO/kpl_tool
'use strict'
const assert = require('assert')
const crypto = require('crypto')
const path = require('path')
const { spawnSync } = require('child_process')

const modules = path.join(__dirname, '..', 'services', 'node_modules')
const agg = require(path.join(modules, 'aws-kinesis-agg'))
const common = require(path.join(modules, 'aws-kinesis-agg', 'lib', 'common.js'))

const tool = process.argv[2]
if (!tool) {
  console.error('usage: node kpl_interop.js KPL_TOOL')
  process.exit(2)
}

let checks = 0
function check(cond, msg) {
  checks++
  assert.ok(cond, msg)
}

function run(mode, args, input) {
  const r = spawnSync(tool, [mode, ...args], { input, maxBuffer: 1 << 28 })
  if (r.status !== 0)
    throw new Error(`kpl_tool ${mode} exited ${r.status}: ${r.stderr}`)
  return r.stdout.toString().split('\n').filter((l) => l.length)
}

const hex = (b) => Buffer.from(b).toString('hex')

// ---- ours: aggregate and de-aggregate through kpl_tool ------------------------

function oursAggregate(records, maxBytes) {
  const input = records.map((r) =>
    `${hex(Buffer.from(r.pk, 'utf8'))} ${r.ehk === undefined ? '-' : 'x' + hex(Buffer.from(r.ehk))} ${hex(r.data)}\n`).join('')
  return run('agg', maxBytes ? [String(maxBytes)] : [], input).map((l) => {
    const f = l.split(' ')
    if (f[0] !== 'OK')
      throw new Error('kpl_tool agg: ' + l)
    return { blob: Buffer.from(f[1], 'hex'), pk: Buffer.from(f[2], 'hex').toString('utf8'), ehk: f[3] }
  })
}

function oursDeaggregate(blobs) {
  const lines = run('deagg', [], blobs.map((b) => hex(b) + '\n').join(''))
  const out = []
  let cur = []
  for (const l of lines) {
    const f = l.split(' ')
    if (f[0] === 'REC') {
      cur.push({ sub: Number(f[1]), pk: Buffer.from(f[2], 'hex').toString('utf8'),
        ehk: f[3] === '-' ? undefined : Buffer.from(f[3].slice(1), 'hex').toString('utf8'),
        data: Buffer.from(f[4] || '', 'hex') })
    } else if (f[0] === 'END') {
      check(Number(f[1]) === cur.length, 'END count matches the records')
      out.push(cur)
      cur = []
    } else {
      out.push({ error: l })
      cur = []
    }
  }
  return out
}

// ---- theirs ---------------------------------------------------------------------

function theirsDeaggregate(blob, pk, ehk) {
  let result
  agg.deaggregateSync({ partitionKey: pk, explicitPartitionKey: ehk, sequenceNumber: '4955',
    data: blob.toString('base64') }, true, (err, recs) => {
    if (err)
      throw err
    result = recs
  })
  return result.map((r) => ({ sub: r.subSequenceNumber, pk: r.partitionKey, ehk: r.explicitPartitionKey,
    data: Buffer.from(r.data, 'base64') }))
}

function theirsAggregate(records) {
  const ra = new agg.RecordAggregator()
  for (const r of records) {
    const u = { partitionKey: r.pk, data: Buffer.from(r.data) }
    if (r.ehk !== undefined)
      u.explicitHashKey = r.ehk
    ra.addUserRecord(u)
  }
  const enc = ra.build()
  return { blob: enc.data, pk: enc.partitionKey, ehk: enc.ExplicitHashKey }
}

// What the format says a blob holds: the protobuf read with protobufjs, an
// absent explicit_hash_key_index meaning none.
function formatDecode(blob) {
  assert.strictEqual(blob.slice(0, 4).toString('hex'), 'f3899ac2')
  const proto = blob.slice(4, blob.length - 16)
  assert.strictEqual(crypto.createHash('md5').update(proto).digest('hex'),
    blob.slice(blob.length - 16).toString('hex'))
  const m = common.AggregatedRecord.decode(proto)
  return m.records.map((r, i) => ({ sub: i,
    pk: m.partition_key_table[Number(r.partition_key_index)],
    ehk: Object.prototype.hasOwnProperty.call(r, 'explicit_hash_key_index')
      ? m.explicit_hash_key_table[Number(r.explicit_hash_key_index)] : undefined,
    data: Buffer.from(r.data) }))
}

function md5Decimal(s) {
  return BigInt('0x' + crypto.createHash('md5').update(Buffer.from(s, 'utf8')).digest('hex')).toString()
}

function sameRecord(got, want, what) {
  check(got.pk === want.pk, `${what}: partition key ${JSON.stringify(got.pk)} != ${JSON.stringify(want.pk)}`)
  check(got.ehk === want.ehk, `${what}: explicit hash key ${got.ehk} != ${want.ehk}`)
  check(Buffer.compare(got.data, Buffer.from(want.data)) === 0, `${what}: data differs`)
}

// ---- record sets ------------------------------------------------------------------

let seed = 20251022 // mulberry32: the same sets on every run
function rnd(n) {
  seed = (seed + 0x6D2B79F5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) % n
}
const alphabet = ['a', 'B', 'z', '-', '_', '.', 'é', 'Ж', '中', '😀', ' ']
function randomKey() {
  let s = 'k'
  const n = 1 + rnd(12)
  for (let i = 0; i < n; i++)
    s += alphabet[rnd(alphabet.length)]
  return s
}
function randomData() {
  const pick = rnd(8)
  const n = pick === 0 ? 1 : pick === 1 ? 127 : pick === 2 ? 128 : pick === 3 ? 16384 + rnd(300) : rnd(400)
  return crypto.createHash('sha256').update(String(rnd(1e9))).digest().toString('hex').repeat(n).slice(0, n)
}
function randomSet(n, ehkMode) {
  const keys = Array.from({ length: 1 + rnd(30) }, randomKey)
  return Array.from({ length: n }, (_, i) => {
    const r = { pk: keys[rnd(keys.length)], data: Buffer.from(randomData()) }
    if (ehkMode === 'all' || (ehkMode === 'mixed' && rnd(2)))
      r.ehk = String(BigInt(rnd(1e9)) * 340282366920938463463374607431n / 1000000000n)
    return r
  })
}

const sets = {
  simple: [{ pk: 'AAPL', data: 'hi' }, { pk: 'MSFT', data: 'there' }, { pk: 'AAPL', data: '!' }],
  withEhk: [{ pk: 'AAPL', ehk: '0', data: 'a' }, { pk: 'MSFT', ehk: '340282366920938463463374607431768211455', data: 'b' },
    { pk: 'AAPL', ehk: '0', data: 'c' }],
  random: randomSet(300, 'none'),
  randomEhk: randomSet(300, 'all'),
}
for (const k of Object.keys(sets))
  sets[k] = sets[k].map((r) => ({ ...r, data: Buffer.from(r.data) }))

// ---- ours -> theirs -----------------------------------------------------------------

function oursToTheirs(name, records, maxBytes) {
  const aggs = oursAggregate(records, maxBytes)
  let i = 0
  for (const a of aggs) {
    const first = records[i]
    check(a.pk === first.pk, `${name}: outer partition key is the first record's`)
    check(a.ehk === (first.ehk !== undefined ? first.ehk : md5Decimal(first.pk)),
      `${name}: outer explicit hash key is the first record's hash key`)
    if (maxBytes)
      check(a.blob.length + Buffer.byteLength(a.pk) <= maxBytes, `${name}: aggregate within ${maxBytes}`)
    const hasEhk = formatDecode(a.blob).some((r) => r.ehk !== undefined)
    const theirs = theirsDeaggregate(a.blob, a.pk, a.ehk)
    theirs.forEach((t, j) => {
      const want = records[i + j]
      check(t.sub === j, `${name}: sub-sequence ${t.sub} != ${j}`)
      if (want.ehk === undefined && hasEhk) {
        // Defect 1: their deaggregator fills in table entry 0; the format says none.
        const ehkTable0 = ehkTableOf(a.blob)[0]
        check(t.ehk === ehkTable0, `${name}: aws-kinesis-agg gives a keyless record table entry 0`)
        sameRecord({ ...t, ehk: undefined }, want, `${name}[${i + j}] (theirs, keyless)`)
      } else {
        sameRecord(t, want, `${name}[${i + j}] (theirs)`)
      }
    })
    // Our own reading of our blob, against the format.
    const ours = oursDeaggregate([a.blob])[0]
    check(Array.isArray(ours), `${name}: our reader accepts our blob`)
    ours.forEach((o, j) => { sameRecord(o, records[i + j], `${name}[${i + j}] (ours)`); check(o.sub === j, 'sub') })
    i += theirs.length
  }
  check(i === records.length, `${name}: ${i} of ${records.length} records came back`)
  return aggs.length
}

function ehkTableOf(blob) {
  return common.AggregatedRecord.decode(blob.slice(4, blob.length - 16)).explicit_hash_key_table
}

for (const [name, recs] of Object.entries(sets))
  oursToTheirs(name, recs)
// Mixed: some records with an explicit hash key, some without (defect 1 applies).
oursToTheirs('mixed', randomSet(200, 'mixed').map((r) => ({ ...r, data: Buffer.from(r.data) })))
oursToTheirs('mixedSmall', [{ pk: 'x', data: Buffer.from('1') }, { pk: 'y', ehk: '42', data: Buffer.from('2') }])
// Split into several aggregates by a small cap: every record, in order.
const small = sets.random.filter((r) => r.data.length <= 1000)
const nsplit = oursToTheirs('split', small, 4096)
check(nsplit > 5, `split: ${nsplit} aggregates`)
// A record that cannot fit even alone is refused, alone.
{
  const lines = run('agg', ['4096'], `6b31 - ${'00'.repeat(5000)}\n6b32 - 00\n`)
  check(lines.length === 2 && lines[0] === 'ERR -7 data' && lines[1].startsWith('OK '),
    `too large: ${lines.map((l) => l.slice(0, 20))}`)
}
// Partition keys that look like integers: fine this way (we keep insertion order).
oursToTheirs('intKeys', [{ pk: 'b', data: Buffer.from('0') }, { pk: '10', data: Buffer.from('1') },
  { pk: '2', data: Buffer.from('2') }, { pk: 'b', data: Buffer.from('3') }])

// ---- theirs -> ours -----------------------------------------------------------------

function theirsToOurs(name, records, expectDefect) {
  const t = theirsAggregate(records)
  const fmt = formatDecode(t.blob)
  const ours = oursDeaggregate([t.blob])[0]
  check(Array.isArray(ours), `${name}: our reader accepts their blob: ${ours && ours.error}`)
  check(ours.length === records.length, `${name}: ${ours.length} records of ${records.length}`)
  ours.forEach((o, j) => {
    check(o.sub === j, `${name}: sub-sequence`)
    sameRecord(o, fmt[j], `${name}[${j}] (ours vs the format)`)
  })
  let differs = false
  ours.forEach((o, j) => {
    const want = records[j]
    if (o.pk !== want.pk || o.ehk !== want.ehk || Buffer.compare(o.data, want.data) !== 0)
      differs = true
  })
  if (expectDefect)
    check(differs, `${name}: aws-kinesis-agg's aggregate points records at other keys (defect 2)`)
  else
    ours.forEach((o, j) => sameRecord(o, records[j], `${name}[${j}] (ours vs the input)`))
}

for (const [name, recs] of Object.entries(sets))
  theirsToOurs(name, recs, false)
// Mixed keys: their encoder omits the index for keyless records, so the
// format (and we) say none; their own deaggregator would say table entry 0.
theirsToOurs('mixed', randomSet(200, 'mixed').map((r) => ({ ...r, data: Buffer.from(r.data) })), false)
// Defect 2: "10" and "2" go first in Object.keys(), ahead of "b".
theirsToOurs('intKeys', [{ pk: 'b', data: Buffer.from('0') }, { pk: '10', data: Buffer.from('1') },
  { pk: '2', data: Buffer.from('2') }, { pk: 'b', data: Buffer.from('3') }], true)

// A corrupt aggregate from them: one flipped byte is a checksum error from us.
{
  const t = theirsAggregate(sets.simple)
  const bad = Buffer.from(t.blob)
  bad[8] ^= 1
  const r = oursDeaggregate([bad])[0]
  check(r.error === `ERR -20 ${bad.length - 16} md5`, `corrupt blob: ${r.error}`)
}

console.log(`kpl_interop: ${checks} checks passed`)
