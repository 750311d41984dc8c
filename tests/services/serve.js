// Start one AWS emulator bound to 127.0.0.1 on a free port (port 0), then
// write the port to STATE_DIR/NAME.port (only once it listens).
//   node serve.js kinesis|dynamodb|s3 STATE_DIR
// kinesalite's and dynalite's command lines listen on every interface, so
// they are started from here with an explicit host.
'use strict'
const fs = require('fs')
const path = require('path')

const [name, stateDir] = process.argv.slice(2)
if (!name || !stateDir) {
  console.error('usage: node serve.js kinesis|dynamodb|s3 STATE_DIR')
  process.exit(2)
}
const HOST = '127.0.0.1'
// stop.sh sends SIGTERM: leave at once, whatever is still open.
process.on('SIGTERM', () => process.exit(0))
process.on('SIGINT', () => process.exit(0))

function ready(port) {
  const tmp = path.join(stateDir, name + '.port.tmp')
  fs.writeFileSync(tmp, String(port))
  fs.renameSync(tmp, path.join(stateDir, name + '.port'))
}

function fail(err) {
  console.error(name + ': ' + (err && err.stack ? err.stack : err))
  process.exit(1)
}

if (name === 'kinesis') {
  // Short state transitions keep the tests quick but still make CreateStream
  // go through CREATING, as the real service does.
  const server = require('kinesalite')({ createStreamMs: 50, deleteStreamMs: 50,
    updateStreamMs: 50, shardLimit: 50 })
  server.on('error', fail)
  server.listen(0, HOST, () => ready(server.address().port))
} else if (name === 'dynamodb') {
  const server = require('dynalite')({ createTableMs: 50, deleteTableMs: 50, updateTableMs: 50 })
  server.on('error', fail)
  server.listen(0, HOST, () => ready(server.address().port))
} else if (name === 's3') {
  const S3rver = require('s3rver')
  const dir = path.join(stateDir, 's3-data')
  fs.mkdirSync(dir, { recursive: true })
  new S3rver({ address: HOST, port: 0, silent: true, directory: dir, vhostBuckets: false })
    .run()
    .then((addr) => ready(addr.port), fail)
} else {
  fail('unknown service ' + name)
}
