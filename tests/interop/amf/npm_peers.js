#!/usr/bin/env node
// libamf against third-party npm AMF codecs (@astronautlabs/amf AMF0+AMF3, bytearray-node AMF0+AMF3,
// node-media-server AMF0, amf AMF0 reader), both directions, on a fixed table of cases.
//   peer encodes a JS value -> libamf decodes (amf-interop "D0"/"D3") -> must equal the canonical
//                              typed form of that value;
//   libamf encodes the canonical typed form ("E0"/"E3") -> the peer decodes -> must equal the JS value.
// Where a peer is wrong the case is listed in EXPECTED_PEER_BUGS with the reason, and the test asserts
// that the bug shows exactly as described (so a fixed peer, or a change on our side, is noticed).
// Our side is never relaxed: what libamf decodes is always compared with the full canonical form.
//
// usage: node npm_peers.js AMF_INTEROP_PATH
'use strict';
const path = require('path');
const { spawnSync } = require('child_process');
const peers = require('./load_peers.js');
const astro = () => peers.astro(true);  // fresh copy per call (see load_peers.js)
const tnAmf = peers.tnAmf, nms = peers.nms, ByteArray = peers.ByteArray;

const interop = process.argv[2];
if (!interop) { console.error('usage: npm_peers.js AMF_INTEROP'); process.exit(2); }

// ---------------------------------------------------------------------------------------------
// Cases: JS values.  amf3: the case is also run in AMF3.

const rows = [];
for (let i = 0; i < 50; i++)
  rows.push({ id: i, name: 'user' + String(i).padStart(6, '0'), phone: '+1-555-' + String(i).padStart(7, '0') });

const CASES = [
  ['num-int', 42, true], ['num-frac', 2.5, true], ['num-neg-big', -1e300, true],
  ['num-max', Number.MAX_VALUE, true], ['num-nan', NaN, true], ['num-inf', Infinity, true],
  ['num-neg-inf', -Infinity, true], ['num-neg-zero', -0, true], ['num-2^53', 2 ** 53, true],
  ['num-int29-max', 268435455, true], ['num-int29-over', 268435456, true], ['num-neg', -268435456, true],
  ['str-empty', '', true], ['str-ascii', 'hello world', true],
  ['str-utf8', 'h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c \u{1F600}', true],
  ['str-long', 'x'.repeat(70000), true], ['str-long-utf8', '\u00e9'.repeat(40000), true],
  ['bool-true', true, true], ['bool-false', false, true], ['null', null, true],
  ['undefined', undefined, true],
  ['date', new Date(1234567890123), true], ['date-neg', new Date(-86400000), true],
  ['obj-empty', {}, true], ['obj-flat', { a: 1, b: 'x', c: true, d: null, e: 2.5 }, true],
  ['obj-nested', { n: { m: [1, { z: null }], s: 'deep' } }, true],
  ['obj-utf8-keys', { '\u043a\u043b\u044e\u0447': '\u0437\u043d\u0430\u0447\u0435\u043d\u0438\u0435', 'k\u00e9y': 1 }, true],
  ['obj-date-member', { when: new Date(0), what: 'epoch' }, true],
  ['arr-empty', [], true], ['arr-mixed', [1, 'a', false, null, { k: 'v' }], true],
  ['arr-nested', [[1, 2], [3, [4, []]]], true],
  ['arr-strings-repeated', ['same', 'same', 'other', 'same'], true],
  ['rows-50', rows, true],
  // shared nodes: writers with reference tables (bytearray-node AMF3) send the second use as a
  // reference; libamf must resolve it (the typed form expands shared nodes)
  ['obj-shared', (() => { const o = { x: 1, s: 'shared' }; return { a: o, b: o, c: [o, o] }; })(), true],
  ['date-shared', (() => { const d = new Date(1e12); return { d1: d, d2: d, l: [d] }; })(), true],
];

// ---------------------------------------------------------------------------------------------
// Canonical typed forms (amf-interop's tagged JSON) of a JS value, as a conformant writer produces.

function tnum(n, enc) {
  if (Number.isNaN(n)) return ['double', 'NaN'];
  if (n === Infinity) return ['double', 'Infinity'];
  if (n === -Infinity) return ['double', '-Infinity'];
  if (Object.is(n, -0)) return ['double', '-0'];
  if (enc === 3 && Number.isInteger(n) && n >= -268435456 && n <= 268435455) return ['int', n];
  return ['double', n];
}
// opts.ints3: AMF3 integers as 0x04 (false: every number as a double, a legal writer choice §2.1)
function canon(v, enc, opts = { ints3: true }) {
  if (v === undefined) return ['undefined'];
  if (v === null) return ['null'];
  if (typeof v === 'boolean') return ['bool', v];
  if (typeof v === 'number') return tnum(v, enc === 3 && opts.ints3 ? 3 : 0);
  if (typeof v === 'string') return ['string', v];
  if (v instanceof Date) return ['date', v.getTime()];
  if (Array.isArray(v)) return ['array', v.map(x => canon(x, enc, opts)), []];
  return ['object', '', Object.keys(v).map(k => [k, canon(v[k], enc, opts)])];
}

// Typed forms compare exactly; objects by member name (member order may vary, AMF.md §8.11),
// numbers by value and type, strings by content.
function teq(a, b) {
  if (!Array.isArray(a) || !Array.isArray(b) || a[0] !== b[0]) return false;
  switch (a[0]) {
    case 'object': {
      if (a[1] !== b[1] || a[2].length !== b[2].length) return false;
      const m = new Map(b[2]);
      return a[2].every(([k, x]) => m.has(k) && teq(x, m.get(k)));
    }
    case 'array':
      return a[1].length === b[1].length && a[1].every((x, i) => teq(x, b[1][i])) &&
        teq(['object', '', a[2]], ['object', '', b[2]]);
    case 'ecma': return teq(['object', '', a[1]], ['object', '', b[1]]);
    case 'avm+': return teq(a[1], b[1]);
    default: return JSON.stringify(a) === JSON.stringify(b);
  }
}

// JS deep equality for what peers decode (Dates by time, NaN and -0 by Object.is).
function jeq(a, b) {
  if (a instanceof Date || b instanceof Date)
    return a instanceof Date && b instanceof Date && Object.is(a.getTime(), b.getTime());
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return Object.is(a, b);
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a), kb = Object.keys(b);
  return ka.length === kb.length && ka.every(k => Object.prototype.hasOwnProperty.call(b, k) && jeq(a[k], b[k]));
}

// ---------------------------------------------------------------------------------------------
// Peers

function baPeer(enc) {
  return {
    enc: v => { const b = new ByteArray(); b.objectEncoding = enc; b.writeObject(v); return Buffer.from(b.buffer.subarray(0, b.length)); },
    dec: buf => {
      const b = new ByteArray(Buffer.from(buf)); b.objectEncoding = enc;
      const v = b.readObject();
      if (b.position !== buf.length) throw new Error('used ' + b.position + ' of ' + buf.length + ' bytes');
      return v;
    },
    encoding: enc,
  };
}

const PEERS = {
  'astronaut-amf0': {
    enc: v => Buffer.from(astro().AMF0.Value.any(v).serialize()),
    dec: b => astro().AMF0.Value.deserialize(b).value, encoding: 0, ints3: false,
  },
  'astronaut-amf3': {
    enc: v => Buffer.from(astro().AMF3.Value.any(v).serialize()),
    dec: b => astro().AMF3.Value.deserialize(b).value, encoding: 3, ints3: false,
  },
  'nms-amf0': {  // node-media-server src/protocol/amf.js
    enc: v => nms.amf0EncodeOne(v),
    dec: b => { const r = nms.amf0DecodeOne(b); if (!r || r.len !== b.length) throw new Error('used ' + (r && r.len) + ' of ' + b.length + ' bytes'); return r.value; },
    encoding: 0,
  },
  'bytearray-amf0': baPeer(0),  // bytearray-node (amf0-ts / amf3-ts)
  'bytearray-amf3': baPeer(3),
  'amf-amf0': {  // TooTallNate's amf: a reader only
    dec: b => { const info = { offset: 0 }; const v = tnAmf.read(b, info); if (info.offset !== b.length) throw new Error('used ' + info.offset + ' of ' + b.length + ' bytes'); return v; },
    encoding: 0,
  },
};

// ---------------------------------------------------------------------------------------------
// Expected peer bugs: [peer, direction, case-pattern, reason, check].  direction 'enc' = the peer
// encodes and we decode; 'dec' = we encode and the peer decodes.  check(ctx) must return true for
// the bug to count as "shown as described"; ctx = {v, bytes, ours, err, got}.

const nonAscii = s => /[^\x00-\x7f]/.test(s);
const hasNonAscii = v => typeof v === 'string' ? nonAscii(v) :
  (v && typeof v === 'object' && !(v instanceof Date)) ? Object.keys(v).some(k => nonAscii(k) || hasNonAscii(v[k])) : false;
const hasArray = v => Array.isArray(v) || (v && typeof v === 'object' && !(v instanceof Date) && Object.values(v).some(hasArray));
const hasDate = v => v instanceof Date || (v && typeof v === 'object' && Object.values(v).some(hasDate));
const hasNull = v => v === null || (v && typeof v === 'object' && !(v instanceof Date) && Object.values(v).some(hasNull));
const hasUndef = v => v === undefined || (v && typeof v === 'object' && !(v instanceof Date) && Object.values(v).some(hasUndef));
const hasBool = v => typeof v === 'boolean' || (v && typeof v === 'object' && !(v instanceof Date) && Object.values(v).some(hasBool));
const hasLong = v => typeof v === 'string' ? Buffer.byteLength(v) > 65535 :
  (v && typeof v === 'object' && !(v instanceof Date)) ? Object.values(v).some(hasLong) : false;
const isObjOrArr = v => v !== null && typeof v === 'object' && !(v instanceof Date);
// objects whose members repeat an earlier object's shape: our AMF3 writer sends a traits reference
const repeatsTraits = v => {
  const seen = new Set(); let rep = false;
  (function walk(x) {
    if (!isObjOrArr(x)) return;
    if (!Array.isArray(x)) { if (seen.has('o')) rep = true; seen.add('o'); }
    Object.values(x).forEach(walk);
  })(v);
  return rep;
};
const throwsOrDiffers = c => c.err !== undefined || !c.same;

const nullToUndef = v => v === null ? undefined : Array.isArray(v) ? v.map(nullToUndef) :
  (isObjOrArr(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, nullToUndef(x)])) : v);
const isNonEmptyObj = v => isObjOrArr(v) && !Array.isArray(v) && Object.keys(v).length > 0;
// U29 read with 7 bits in every byte (the 4th byte should carry 8), no sign extension
const u29as7bits = b => { let n = 0; for (let i = 1; i < b.length; i++) n = (n << 7) | (b[i] & 0x7f); return n; };
const readAt3 = b => b.readDoubleBE(3);

// What node-media-server actually writes for reference-free ASCII data: arrays as ECMA arrays keyed
// by index, numbers as doubles (libamf must read exactly that).
function canonNms(v) {
  if (Array.isArray(v)) return ['ecma', v.map((x, i) => [String(i), canonNms(x)])];
  if (isObjOrArr(v)) return ['object', '', Object.keys(v).map(k => [k, canonNms(v[k])])];
  return canon(v, 0);
}

const EXPECTED_PEER_BUGS = [
  // @astronautlabs/amf 0.0.6 (AMF.md §6)
  ['astronaut-amf0', 'enc', v => hasNonAscii(v),
    'AMF0 string writer sizes the buffer by JS string length (chars, not UTF-8 bytes) and throws "offset is out of bounds" on non-ASCII text',
    c => c.err !== undefined && /out of bounds/.test(c.err)],
  ['astronaut-amf0', 'dec', v => hasNull(v),
    'AMF0 reader returns undefined for null (0x05)',
    c => c.err === undefined && jeq(c.got, nullToUndef(c.v))],
  ['astronaut-amf0', 'enc', v => isObjOrArr(v) && JSON.stringify(v).includes('"shared"'),
    'AMF0 writer writes shared objects out in full except the last use, which it sends as reference 0 (07 00 00): index 0 is the root object (AMF.md §1.3: indices count every object/array in encounter order), so the graph turns cyclic',
    c => c.err === undefined && c.bytes.toString('hex').includes('070000') && JSON.stringify(c.ours).includes('["cycle"]')],
  ['astronaut-amf3', 'enc', v => hasArray(v),
    'AMF3 any() cannot encode arrays ("Value cannot be set on this type [ArrayValue]")',
    c => c.err !== undefined && /ArrayValue/.test(c.err)],
  ['astronaut-amf3', 'enc', v => hasBool(v) || hasNull(v) || hasUndef(v),
    'AMF3 any() cannot encode true/false/null/undefined ("Cannot set property value ... which has only a getter")',
    c => c.err !== undefined && /only a getter|Cannot set property/.test(c.err)],
  ['astronaut-amf3', 'dec', v => Array.isArray(v),
    'AMF3 reader yields undefined for every array (0x09): ArrayValue has no value',
    c => c.err === undefined && c.got === undefined],
  ['astronaut-amf3', 'dec', v => isNonEmptyObj(v),
    'AMF3 reader drops the dynamic members of dynamic objects (traits 0x0B): an anonymous object decodes as {}',
    c => c.err === undefined && jeq(c.got, {})],
  ['astronaut-amf3', 'dec', v => typeof v === 'number' && Number.isInteger(v) && Math.abs(v) >= 2 ** 21 && v >= -(2 ** 28) && v < 2 ** 28,
    'AMF3 U29 reader takes 7 bits from the 4th byte (AMF.md §2.1: 8 bits) and never sign-extends, so 4-byte integers decode wrong',
    c => c.err === undefined && c.got === u29as7bits(c.bytes)],
  ['astronaut-amf3', 'dec', v => repeatsTraits(v),
    'AMF3 reader fails on a traits reference (AMF.md §2.4: the second anonymous object refers to the first one\'s traits): throws reading sealedMemberNames of undefined',
    c => c.err !== undefined && /sealedMemberNames/.test(c.err)],
  // node-media-server 4.4.3 src/protocol/amf.js
  ['nms-amf0', 'enc', v => hasNonAscii(v),
    'amf0encString writes str.length (UTF-16 units) as the byte length, so non-ASCII strings are cut short and the rest is misread',
    c => typeof c.v !== 'string' ? (c.err !== undefined || !c.same) :
      c.bytes[0] === 2 && c.bytes.readUInt16BE(1) === (c.v.length & 0xffff) && !c.same],
  ['nms-amf0', 'enc', v => hasArray(v),
    'JS arrays are written as ECMA arrays (0x08) keyed "0","1",... instead of strict arrays (0x0A)',
    c => c.err === undefined && (hasNonAscii(c.v) || hasDate(c.v) || teq(c.ours, canonNms(c.v)))],
  ['nms-amf0', 'enc', v => hasDate(v),
    'Dates are not written as AMF0 dates: typeof Date is "object", so it becomes an empty anonymous object',
    c => c.err === undefined && !c.same && JSON.stringify(c.ours).includes('["object","",[]]')],
  ['nms-amf0', 'enc', v => hasLong(v),
    'no long string (0x0C): strings over 65535 UTF-16 units throw "out of range" in writeUInt16BE, shorter ones over 65535 bytes get a 0x02 length counted in units',
    c => (c.err !== undefined && /out of range/.test(c.err)) ||
      (c.bytes && c.bytes[0] === 2 && c.bytes.readUInt16BE(1) === c.v.length && !c.same)],
  ['nms-amf0', 'dec', v => v instanceof Date,
    'amf0decDate reads the double at offset 3 (as if the S16 time zone came first; AMF.md §1.1: double, then time zone), so dates decode to garbage numbers',
    c => c.err === undefined && Object.is(c.got, readAt3(c.bytes))],
  ['nms-amf0', 'dec', v => isNonEmptyObj(v) && hasDate(v),
    'amf0decDate reads the double at offset 3 and returns a number, so date members decode to garbage numbers',
    c => c.err === undefined && typeof c.got === 'object' && Object.keys(c.v).every(k => !(c.v[k] instanceof Date) || typeof c.got[k] === 'number')],
  // bytearray-node 3.3.5 (amf0-ts 1.x / amf3-ts 1.x)
  ['bytearray-amf0', 'enc', v => hasArray(v),
    'AMF0 writer sends JS arrays as ECMA arrays (0x08) keyed "0","1",... instead of strict arrays (0x0A)',
    c => c.err === undefined && teq(c.ours, canonNms(c.v))],
  ['bytearray-amf0', 'enc', v => isObjOrArr(v) && Object.values(v).filter(x => x instanceof Date).length > 1,
    'AMF0 writer sends a repeated Date as a reference (07 00 01), counting dates in the reference table; AMF0 dates are never referenced (AMF.md §1.3), so the index points past the table and libamf rejects it',
    c => c.err !== undefined && /reference index out of range/.test(c.err) && c.bytes.toString('hex').includes('070001')],
  ['bytearray-amf0', 'dec', v => hasArray(v),
    'AMF0 reader has no strict array (0x0A, AMF.md §6): throws "Unknown or unsupported marker found: \'10\'"',
    c => c.err !== undefined && /marker found: '10'/.test(c.err)],
  ['bytearray-amf3', 'enc', v => Object.is(v, -0),
    'AMF3 writer sends -0 as integer 0 (04 00), losing the sign (an AMF3 integer cannot hold -0; it must be a double)',
    c => c.bytes.toString('hex') === '0400'],
  ['bytearray-amf3', 'dec', v => Array.isArray(v) && v.includes(null),
    'AMF3 reader leaves a hole where a dense array holds null (the element is missing, not null)',
    c => c.err === undefined && Array.isArray(c.got) && c.got.length === c.v.length &&
      c.v.every((x, i) => x === null ? !(i in c.got) : jeq(c.got[i], x))],
  // amf 0.1.0 (TooTallNate)
  ['amf-amf0', 'dec', v => hasLong(v),
    'no AMF0 long string (0x0C) support: throws its "type … implemented: 12" error',
    c => c.err !== undefined && /yet implemented: 12$/.test(c.err)],
];

// ---------------------------------------------------------------------------------------------
// Run

function bugFor(peer, dir, v) {
  return EXPECTED_PEER_BUGS.filter(b => b[0] === peer && b[1] === dir && b[2](v));
}

// Phase 1: collect work for amf-interop
const work = [];  // {line, onAnswer}
const results = [];  // {peer, dir, name, ok, expectedBug, detail}

for (const [peerName, peer] of Object.entries(PEERS)) {
  const enc = peer.encoding;
  for (const [name, v, amf3ok] of CASES) {
    if (enc === 3 && !amf3ok) continue;
    // direction 1: peer encodes, libamf decodes
    if (peer.enc) {
      let bytes, err;
      try { bytes = peer.enc(v); } catch (e) { err = String(e && e.message || e); }
      const rec = { peer: peerName, dir: 'enc', name, v, bytes, err };
      results.push(rec);
      if (bytes) work.push({ line: (enc === 3 ? 'D3 ' : 'D0 ') + bytes.toString('hex'), rec });
    }
    // direction 2: libamf encodes the canonical form, the peer decodes
    if (peer.dec) {
      const rec = { peer: peerName, dir: 'dec', name, v };
      results.push(rec);
      work.push({ line: (enc === 3 ? 'E3 ' : 'E0 ') + JSON.stringify(canon(v, enc)), rec });
    }
  }
}

const r = spawnSync(interop, [], { input: work.map(w => w.line).join('\n') + '\n', maxBuffer: 1 << 30 });
if (r.status !== 0) { console.error('amf-interop failed', r.status, String(r.stderr)); process.exit(1); }
const answers = String(r.stdout).split('\n');
work.forEach((w, i) => { w.rec.answer = answers[i]; });

let fails = 0, okCount = 0, bugCount = 0;
for (const rec of results) {
  const peer = PEERS[rec.peer];
  const ctx = { v: rec.v, bytes: rec.bytes, err: rec.err };
  let ourErr;
  if (rec.dir === 'enc') {
    const want = canon(rec.v, peer.encoding, { ints3: peer.ints3 !== false });
    if (rec.answer !== undefined) {
      if (rec.answer.startsWith('OK ')) ctx.ours = JSON.parse(rec.answer.slice(3));
      else ctx.err = 'libamf: ' + rec.answer;
    }
    ctx.same = ctx.ours !== undefined && teq(ctx.ours, want);
  } else {
    if (!rec.answer.startsWith('OK ')) { ourErr = rec.answer; }
    else {
      ctx.bytes = Buffer.from(rec.answer.slice(3), 'hex');
      try { ctx.got = peer.dec(ctx.bytes); } catch (e) { ctx.err = String(e && e.message || e); }
      ctx.same = ctx.err === undefined && jeq(ctx.got, rec.v);
    }
  }
  const bugs = bugFor(rec.peer, rec.dir, rec.v);
  const tag = `${rec.peer} ${rec.dir === 'enc' ? 'peer->libamf' : 'libamf->peer'} ${rec.name}`;
  if (ourErr) {
    fails++; console.log(`FAIL ${tag}: libamf could not encode the case: ${ourErr}`);
  } else if (ctx.same && ctx.err === undefined) {
    if (bugs.length) {
      fails++; console.log(`FAIL ${tag}: expected peer bug did not show (fixed upstream? or our change?): ${bugs[0][3]}`);
    } else okCount++;
  } else if (bugs.length) {
    if (bugs.some(b => b[4](ctx))) {
      bugCount++;
      console.log(`expected peer bug: ${tag}: ${bugs.map(b => b[3]).join('; ')}`);
    } else {
      fails++;
      console.log(`FAIL ${tag}: differs, but not as the expected peer bug says (${bugs[0][3]}); err=${ctx.err} ours=${JSON.stringify(ctx.ours || ctx.got)}`.slice(0, 600));
    }
  } else {
    fails++;
    const shown = rec.dir === 'enc' ? JSON.stringify(ctx.ours) : (ctx.got === undefined ? 'undefined' : JSON.stringify(ctx.got));
    console.log(`FAIL ${tag}: ${ctx.err ? 'error ' + ctx.err : 'got ' + String(shown).slice(0, 300)} bytes=${ctx.bytes ? ctx.bytes.toString('hex').slice(0, 120) : '-'}`);
  }
}
console.log(`npm peers: ${okCount} identical, ${bugCount} expected peer bugs shown, ${fails} failures (${results.length} checks)`);
process.exit(fails ? 1 : 0);
