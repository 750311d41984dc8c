'use strict';
// A structural reader of HCL native syntax: the body tree (attributes and
// blocks, with their names, labels and line numbers) that the schema check
// and the format check walk. Expressions are kept as token lists, not
// evaluated. Whether a file is valid HCL is decided by HashiCorp's own parser
// (@cdktf/hcl2json, run first); this reader only needs to agree with it on
// the structure, and check-schema.js cross-checks that it does.
//
// Token kinds: ident, number, string (a quoted template: parts), heredoc,
// punct ({ } [ ] ( ) = , . : ? => ... operators), newline, comment.

class HclError extends Error {
    constructor(file, line, msg) { super(`${file}:${line}: ${msg}`); this.line = line; }
}

function lex(src, file) {
    const toks = [];
    let i = 0, line = 1;
    const n = src.length;
    const push = (kind, text, extra) => toks.push(Object.assign({ kind, text, line }, extra || {}));
    // A quoted template starting after the opening quote at i: returns the
    // index after the closing quote, and its parts (literal text, interps).
    function quoted(start) {
        let j = start;
        const parts = [];
        let lit = '';
        while (j < n) {
            const c = src[j];
            if (c === '"') { if (lit) parts.push({ lit }); return { end: j + 1, parts }; }
            if (c === '\\') { lit += src.slice(j, j + 2); j += 2; continue; }
            if ((c === '$' || c === '%') && src[j + 1] === '{') {
                if (src[j + 2] === undefined) break;
                // $${ and %%{ are escapes.
                if (j > start && src[j - 1] === c && lit.endsWith(c)) { lit += '{'; j += 2; continue; }
                if (lit) { parts.push({ lit }); lit = ''; }
                const r = interp(j + 2);
                parts.push({ interp: src.slice(j + 2, r - 1), kind: c });
                j = r;
                continue;
            }
            if (c === '\n') throw new HclError(file, line, 'newline in a quoted string');
            lit += c;
            j++;
        }
        throw new HclError(file, line, 'unterminated string');
    }
    // Skip an interpolation body starting at j (after "${"): index after "}".
    function interp(j) {
        let depth = 1;
        while (j < n) {
            const c = src[j];
            if (c === '"') { j = quoted(j + 1).end; continue; }
            if (c === '\n') line++;
            if (c === '{') depth++;
            else if (c === '}') { if (--depth === 0) return j + 1; }
            j++;
        }
        throw new HclError(file, line, 'unterminated interpolation');
    }
    while (i < n) {
        const c = src[i];
        if (c === '\n') { push('newline', '\n'); line++; i++; continue; }
        if (c === ' ' || c === '\t' || c === '\r') { i++; continue; }
        if (c === '#' || (c === '/' && src[i + 1] === '/')) {
            let j = src.indexOf('\n', i); if (j < 0) j = n;
            push('comment', src.slice(i, j));
            i = j;
            continue;
        }
        if (c === '/' && src[i + 1] === '*') {
            const j = src.indexOf('*/', i + 2);
            if (j < 0) throw new HclError(file, line, 'unterminated comment');
            const text = src.slice(i, j + 2);
            push('comment', text);
            line += (text.match(/\n/g) || []).length;
            i = j + 2;
            continue;
        }
        if (c === '"') {
            const startLine = line;
            const r = quoted(i + 1);
            toks.push({ kind: 'string', text: src.slice(i, r.end), parts: r.parts, line: startLine });
            i = r.end;
            continue;
        }
        if (c === '<' && src[i + 1] === '<') {
            const m = /^<<(-?)([A-Za-z_][A-Za-z0-9_-]*)\r?\n/.exec(src.slice(i, i + 200));
            if (m) {
                const startLine = line;
                let j = i + m[0].length;
                line++;
                const endRe = new RegExp('^[ \\t]*' + m[2] + '[ \\t]*\\r?$');
                for (;;) {
                    if (j >= n) throw new HclError(file, startLine, 'unterminated heredoc ' + m[2]);
                    let e = src.indexOf('\n', j); if (e < 0) e = n;
                    const l = src.slice(j, e);
                    j = e;
                    if (endRe.test(l)) break;
                    j++; line++;
                }
                toks.push({ kind: 'heredoc', text: src.slice(i, j), line: startLine });
                i = j;
                continue;
            }
        }
        let m;
        const rest = src.slice(i, i + 256);
        if ((m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(rest))) { push('ident', m[0]); i += m[0].length; continue; }
        if ((m = /^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(rest))) { push('number', m[0]); i += m[0].length; continue; }
        if ((m = /^(=>|==|!=|<=|>=|&&|\|\||\.\.\.|[{}\[\]()=,.:?!<>+\-*/%])/.exec(rest))) {
            push('punct', m[0]); i += m[0].length; continue;
        }
        throw new HclError(file, line, `unexpected character ${JSON.stringify(c)}`);
    }
    push('newline', '\n');
    return toks;
}

const OPEN = { '{': '}', '[': ']', '(': ')' };

// Parse a body from toks[pos] until `}` (nested) or the end (top level).
function parseBody(toks, pos, file, nested) {
    const items = [];
    for (;;) {
        while (pos < toks.length && (toks[pos].kind === 'newline' || toks[pos].kind === 'comment')) pos++;
        if (pos >= toks.length) {
            if (nested) throw new HclError(file, toks[toks.length - 1].line, 'unclosed block');
            return { items, pos };
        }
        const t = toks[pos];
        if (t.kind === 'punct' && t.text === '}') {
            if (!nested) throw new HclError(file, t.line, 'unexpected }');
            return { items, pos: pos + 1 };
        }
        if (t.kind !== 'ident') throw new HclError(file, t.line, `expected an argument or block, found ${t.text}`);
        const next = toks[pos + 1];
        if (next && next.kind === 'punct' && next.text === '=') {
            // Attribute: the expression runs to the newline at depth 0 (or a
            // closing } of a one-line block).
            let j = pos + 2;
            const stack = [];
            const expr = [];
            for (; j < toks.length; j++) {
                const e = toks[j];
                if (stack.length === 0 && (e.kind === 'newline' || (e.kind === 'punct' && e.text === '}'))) break;
                if (e.kind === 'punct' && OPEN[e.text]) stack.push(OPEN[e.text]);
                else if (e.kind === 'punct' && (e.text === '}' || e.text === ']' || e.text === ')')) {
                    if (stack.pop() !== e.text) throw new HclError(file, e.line, `unbalanced ${e.text}`);
                }
                expr.push(e);
            }
            items.push({ kind: 'attr', name: t.text, line: t.line, expr });
            pos = j;
            continue;
        }
        // Block: labels (quoted or bare identifiers), then {.
        const labels = [];
        let j = pos + 1;
        const rawLabels = [];
        while (j < toks.length && (toks[j].kind === 'string' || toks[j].kind === 'ident')) {
            const l = toks[j];
            rawLabels.push(l);
            labels.push(l.kind === 'string' ? (l.parts.map((p) => p.lit || '').join('')) : l.text);
            j++;
        }
        if (!(toks[j] && toks[j].kind === 'punct' && toks[j].text === '{')) {
            throw new HclError(file, t.line, `expected = or { after ${t.text}`);
        }
        const body = parseBody(toks, j + 1, file, true);
        items.push({ kind: 'block', name: t.text, labels, rawLabels, line: t.line, items: body.items });
        pos = body.pos;
    }
}

function parse(src, file) {
    return parseBody(lex(src, file), 0, file, false).items;
}

module.exports = { lex, parse, HclError };
