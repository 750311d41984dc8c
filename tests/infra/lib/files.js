'use strict';
const fs = require('fs');
const path = require('path');

// Every file under `dirs` whose name ends with one of `exts`, sorted, skipping
// .terraform/ (provider plugins and modules that `terraform init` fetched),
// node_modules/ and hidden directories.
function find(dirs, exts) {
    const out = [];
    const walk = (d) => {
        let entries;
        try { entries = fs.readdirSync(d, { withFileTypes: true }); } catch (e) { return; }
        for (const e of entries) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) {
                if (e.name.startsWith('.') || e.name === 'node_modules') continue;
                walk(p);
            } else if (exts.some((x) => e.name.endsWith(x))) out.push(p);
        }
    };
    for (const d of dirs) {
        if (fs.existsSync(d) && fs.statSync(d).isFile()) out.push(d); else walk(d);
    }
    return out.sort();
}

// "resource.tf:12" relative to the current directory when shorter.
function where(file, line) {
    const rel = path.relative(process.cwd(), file);
    return `${rel.startsWith('..') ? file : rel}:${line}`;
}

// HCL's diagnostic "parse config: [FILE:L,C-L,C: Summary; Detail]" as FILE:L:C: Summary; Detail.
function parseError(e) {
    const msg = String(e.message || e).replace(/^Error: /, '');
    const m = /^parse config: \[(.*)\]$/s.exec(msg);
    if (!m) return msg;
    return m[1].replace(/(^|, )([^,\[\]]+?):(\d+),(\d+)-\d+(?:,\d+)?: /g, (_, sep, f, l, c) => `${sep ? '\n' : ''}${where(f, l)}:${c}: `);
}

module.exports = { find, where, parseError };
