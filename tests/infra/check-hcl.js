#!/usr/bin/env node
'use strict';
// infra_hcl: every Terraform file (*.tf, *.tfvars, *.tftest.hcl, *.tfvars.example) under the
// given directories (default: infra/ of the repository) parses, and is in
// the canonical format that `terraform fmt` writes.
//
//  - Parsing: HashiCorp's HCL parser (hashicorp/hcl v2 hclsyntax, compiled to
//    WebAssembly in @cdktf/hcl2json). Its diagnostics name file:line,column.
//  - Format: hashicorp/hcl v2 hclwrite's Format (compiled to WebAssembly in
//    @cdktf/hcl-tools), the formatter `terraform fmt` runs: indentation by
//    two spaces per nesting level, `=` of consecutive single-line arguments
//    aligned, one space around binary operators and after commas, no space
//    inside brackets, no trailing whitespace. The file must be byte-identical
//    to its output. Then the three rewrites that `terraform fmt` does before
//    hclwrite, which hclwrite alone does not (internal/command/fmt.go):
//      1. an argument whose whole value is one interpolation, "${x}", is
//         unwrapped to x;
//      2. in a `variable` block, `type = list|map|set` becomes list(any)...,
//         and the legacy quoted types "string", "list", "map" are unquoted;
//      3. block labels are quoted strings (bare identifiers are quoted).
// Usage: node check-hcl.js [DIR|FILE]...   exit 0 when all is well, 1 on findings.
const fs = require('fs');
const path = require('path');
const { find, where, parseError } = require('./lib/files');
const hcl = require('./lib/hcl-scan');

// terraform fmt's files, and the stages' example variable files
// (terraform.tfvars.example), which terraform fmt does not look at.
const EXTS = ['.tf', '.tfvars', '.tftest.hcl', '.tfvars.example'];

// A line as printed in a finding: tabs, carriage returns and trailing blanks made visible.
const show = (l) => l.replace(/\t/g, '\\t').replace(/\r/g, '\\r').replace(/([ ]+)$/, (m) => '\u00b7'.repeat(m.length));

function lineDiff(a, b) {
    const la = a.split('\n'), lb = b.split('\n');
    const out = [];
    // Align on the common prefix and suffix, show the middle.
    let s = 0;
    while (s < la.length && s < lb.length && la[s] === lb[s]) s++;
    let ea = la.length, eb = lb.length;
    while (ea > s && eb > s && la[ea - 1] === lb[eb - 1]) { ea--; eb--; }
    for (let i = s; i < Math.min(ea, s + 12); i++) out.push(`  -${i + 1}: ${show(la[i])}`);
    for (let i = s; i < Math.min(eb, s + 12); i++) out.push(`  +${i + 1}: ${show(lb[i])}`);
    return { first: s + 1, text: out.join('\n') };
}

// `diff -u` of the file and its formatted text (null when diff is missing).
function unified(file, a, b) {
    const os = require('os');
    const { spawnSync } = require('child_process');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'infra-hcl-'));
    try {
        fs.writeFileSync(path.join(dir, 'a'), a);
        fs.writeFileSync(path.join(dir, 'b'), b);
        const r = spawnSync('diff', ['-u', `--label=${file}`, `--label=${file} (formatted)`, 'a', 'b'],
                            { cwd: dir, encoding: 'utf8' });
        return r.status === 1 ? r.stdout.replace(/\n$/, '').split('\n').map((l) => '  ' + l.slice(0, 1) + show(l.slice(1))).join('\n') : null;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

// The terraform-fmt rewrites that hclwrite.Format does not do.
function terraformRewrites(items, file, inBlocks, findings) {
    for (const it of items) {
        if (it.kind === 'attr') {
            const e = it.expr.filter((t) => t.kind !== 'comment');
            if (inBlocks.length === 1 && inBlocks[0] === 'variable' && it.name === 'type') {
                if (e.length === 1 && e[0].kind === 'ident' && ['list', 'map', 'set'].includes(e[0].text)) {
                    findings.push(`${where(file, it.line)}: type = ${e[0].text}: terraform fmt writes ${e[0].text}(any)`);
                }
                if (e.length === 1 && e[0].kind === 'string' && e[0].parts.length === 1 && e[0].parts[0].lit &&
                    ['string', 'list', 'map'].includes(e[0].parts[0].lit)) {
                    findings.push(`${where(file, it.line)}: legacy quoted type ${e[0].text}: terraform fmt unquotes it`);
                }
                continue;
            }
            if (e.length === 1 && e[0].kind === 'string' && e[0].parts.length === 1 && e[0].parts[0].interp !== undefined &&
                e[0].parts[0].kind === '$') {
                findings.push(`${where(file, it.line)}: ${it.name} = ${e[0].text}: an interpolation-only string; terraform fmt unwraps it`);
            }
        } else {
            for (const l of it.rawLabels) {
                if (l.kind === 'ident') findings.push(`${where(file, l.line)}: block label ${l.text} is not quoted; terraform fmt quotes it`);
            }
            terraformRewrites(it.items, file, inBlocks.concat([it.name]), findings);
        }
    }
}

async function main(args) {
    const root = path.resolve(__dirname, '..', '..');
    const dirs = args.length ? args : [path.join(root, 'infra')];
    const files = find(dirs, EXTS);
    if (files.length === 0) {
        console.log(`infra_hcl: no Terraform files under ${dirs.join(' ')}: nothing to check`);
        return 0;
    }
    const { parse } = require('@cdktf/hcl2json');
    const { format } = require('@cdktf/hcl-tools');
    const findings = [];
    for (const f of files) {
        const src = fs.readFileSync(f, 'utf8');
        try {
            await parse(f, src);
        } catch (e) {
            // "parse config: [FILE:L,C-L,C: Summary; Detail]"
            findings.push(parseError(e));
            continue;
        }
        const formatted = await format(src);
        if (formatted !== src) {
            const d = lineDiff(src, formatted);
            findings.push(`${where(f, d.first)}: not in canonical format (terraform fmt would change it):\n${unified(f, src, formatted) || d.text}`);
        }
        try {
            terraformRewrites(hcl.parse(src, f), f, [], findings);
        } catch (e) {
            findings.push(`${e.message} (structure reader; the HCL parser accepted the file)`);
        }
    }
    for (const x of findings) console.log(x);
    console.log(`infra_hcl: ${files.length} files, ${findings.length} findings`);
    return findings.length ? 1 : 0;
}

main(process.argv.slice(2)).then((rc) => process.exit(rc), (e) => { console.error(e); process.exit(2); });
