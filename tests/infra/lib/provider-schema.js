'use strict';
// The configuration schema of a Terraform provider, read from the provider
// bindings that the CDK for Terraform generates from `terraform providers
// schema -json` and ships on npm (@cdktf/provider-aws for hashicorp/aws).
//
// The package carries no schema JSON, but every generated resource, data
// source and nested-block struct has a `synthesizeHclAttributes()` /
// `<struct>ToHclTerraform()` function listing each configurable argument by its
// Terraform name with `isBlock` (nested block or argument), `type`
// (simple/list/set/map/struct) and, for nested blocks and nested attributes,
// the function of the nested struct. Computed-only attributes are not listed
// (they cannot be set in configuration), which is what a configuration check
// wants.
//
// Result (cached as JSON under node_modules/.cache, keyed by package version):
//   { provider: "registry.terraform.io/hashicorp/aws", version: "6.25.0",
//     package: "@cdktf/provider-aws@21.22.1",
//     structs:  { fnName: { name: {block: bool, type, struct: fnName|null} } },
//     required: { fnName: [names of required arguments and blocks] },
//     provider_config: fnName-like root, resources: { type: root }, data_sources: { type: root } }
// A root is the same shape as a struct entry's table (kept in `structs` under
// a synthetic key "<type>#root").
const fs = require('fs');
const path = require('path');

// Bumped when the extracted form changes (it names the cache file).
const FORMAT = 2;
const ENTRY = /(?:"([^"]+)"|([A-Za-z_][A-Za-z0-9_]*)): \{\s*value: ([^\n]*),\s*isBlock: (true|false),\s*type: "(\w+)",\s*storageClassType: "(\w+)",\s*\}/g;
const FN_REF = /(?<!cdktf\.)\b(\w+ToHclTerraform)\b/;

function parseAttrs(body) {
    const out = {};
    ENTRY.lastIndex = 0;
    let m;
    while ((m = ENTRY.exec(body)) !== null) {
        const name = m[1] || m[2];
        const value = m[3];
        // cdktf.stringToHclTerraform & co. are scalar helpers, not structs.
        const ref = value.match(FN_REF);
        out[name] = { block: m[4] === 'true', type: m[5], struct: ref ? ref[1] : null };
    }
    return out;
}

// The body of every `const attrs = { ... }; // remove undefined attributes`
// following `marker` (a function or method header) in `text`.
function attrsAfter(text, idx) {
    const start = text.indexOf('const attrs = {', idx);
    if (start < 0) return null;
    const end = text.indexOf('// remove undefined attributes', start);
    if (end < 0) return null;
    return text.slice(start, end);
}

// Required arguments and blocks, from the TypeScript declarations beside the
// code: a property without `?` in a struct's interface. Its Terraform name is
// in the registry link of its doc comment (`...#stream_mode Class#stream_mode}`).
function requiredIn(dts) {
    const out = {};
    const ifRe = /\nexport interface (\w+)(?: extends [\w.]+)? \{\n([\s\S]*?)\n\}/g;
    let m;
    while ((m = ifRe.exec(dts)) !== null) {
        const req = [];
        const propRe = /\/\*\*([\s\S]*?)\*\/\s*readonly (\w+)(\??):/g;
        let p;
        while ((p = propRe.exec(m[2])) !== null) {
            if (p[3] === '?') continue;
            const link = /#(\w+) \w+#\w+\}/.exec(p[1]);
            req.push(link ? link[1] : p[2].replace(/[A-Z]/g, (c) => '_' + c.toLowerCase()));
        }
        out[m[1]] = req;
    }
    return out;
}

function extractDir(dir, structs, required) {
    const files = [];
    const dts = [];
    (function walk(d) {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) walk(p);
            else if (e.name.endsWith('.js')) files.push(p);
            else if (e.name.endsWith('.d.ts')) dts.push(p);
        }
    })(dir);
    let root = null, tfType = null, isData = false, className = null;
    for (const f of files) {
        const text = fs.readFileSync(f, 'utf8');
        const fnRe = /\nfunction (\w+ToHclTerraform)\(struct\) \{/g;
        let m;
        while ((m = fnRe.exec(text)) !== null) {
            const body = attrsAfter(text, m.index);
            // A struct function with no configurable attribute has no attrs.
            const next = text.indexOf('\nfunction ', m.index + 10);
            structs[m[1]] = body && (next < 0 || text.indexOf('const attrs = {', m.index) < next)
                ? parseAttrs(body) : {};
        }
        const t = text.match(/\n(\w+)\.tfResourceType = "([^"]+)";/);
        if (t) {
            tfType = t[2];
            className = t[1];
            isData = new RegExp('class ' + t[1] + ' extends cdktf\\.TerraformDataSource').test(text);
            const s = text.indexOf('synthesizeHclAttributes() {');
            root = s >= 0 ? parseAttrs(attrsAfter(text, s) || '') : {};
        }
    }
    if (!tfType) return null;
    const key = tfType + (isData ? '#data' : '#root');
    for (const f of dts) {
        for (const [iface, req] of Object.entries(requiredIn(fs.readFileSync(f, 'utf8')))) {
            if (!req.length) continue;
            if (iface === className + 'Config') required[key] = req;
            else required[iface[0].toLowerCase() + iface.slice(1) + 'ToHclTerraform'] = req;
        }
    }
    return { tfType, isData, root, key };
}

function build(pkgDir) {
    const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
    const lib = path.join(pkgDir, 'lib');
    const structs = {};
    const required = {};
    const schema = {
        provider: pkg.cdktf && pkg.cdktf.provider ? pkg.cdktf.provider.name : null,
        version: pkg.cdktf && pkg.cdktf.provider ? pkg.cdktf.provider.version : null,
        package: pkg.name + '@' + pkg.version,
        provider_config: null, resources: {}, data_sources: {}, structs, required,
    };
    for (const e of fs.readdirSync(lib, { withFileTypes: true })) {
        if (!e.isDirectory()) continue;
        const r = extractDir(path.join(lib, e.name), structs, required);
        if (!r) continue;
        const key = r.key;
        structs[key] = r.root;
        if (e.name === 'provider') schema.provider_config = key;
        else if (r.isData) schema.data_sources[r.tfType] = key;
        else schema.resources[r.tfType] = key;
    }
    return schema;
}

// Load the schema of the npm package `pkgName` (resolved from `fromDir`),
// extracting it once and caching it.
function load(pkgName, fromDir) {
    let pkgJson;
    try {
        pkgJson = require.resolve(pkgName + '/package.json', { paths: [fromDir] });
    } catch (e) {
        return null;
    }
    const pkgDir = path.dirname(pkgJson);
    const pkg = JSON.parse(fs.readFileSync(pkgJson, 'utf8'));
    const cacheDir = path.join(fromDir, 'node_modules', '.cache', 'tradepipe-infra');
    const cache = path.join(cacheDir, `${pkgName.replace(/[@/]/g, '_')}-${pkg.version}-v${FORMAT}.json`);
    try {
        return JSON.parse(fs.readFileSync(cache, 'utf8'));
    } catch (e) { /* not cached yet */ }
    const schema = build(pkgDir);
    fs.mkdirSync(cacheDir, { recursive: true });
    const tmp = cache + '.' + process.pid;
    fs.writeFileSync(tmp, JSON.stringify(schema));
    fs.renameSync(tmp, cache);
    return schema;
}

module.exports = { load, build };

if (require.main === module) {
    // node provider-schema.js PKG [TYPE]: summary, or one type's table.
    const s = load(process.argv[2] || '@cdktf/provider-aws', path.join(__dirname, '..'));
    if (!s) { console.error('package not installed'); process.exit(1); }
    if (process.argv[3]) {
        const t = process.argv[3];
        const key = s.resources[t] || s.data_sources[t.replace(/^data\./, '')];
        const dump = (k, ind, seen) => {
            for (const [n, a] of Object.entries(s.structs[k] || {})) {
                console.log(ind + n + (a.block ? ' {block ' : ' (') + a.type + (a.block ? '}' : ')'));
                if (a.struct && !seen.has(a.struct)) dump(a.struct, ind + '  ', new Set([...seen, a.struct]));
            }
        };
        dump(key, '', new Set());
    } else {
        console.log(s.package, s.provider, s.version, Object.keys(s.resources).length, 'resources',
                    Object.keys(s.data_sources).length, 'data sources');
    }
}
