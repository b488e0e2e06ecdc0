#!/usr/bin/env node
// npm AMF codecs timed on the bytes bench_amf wrote (same run, same machine): decode of each sample
// the peer can read, and encode of the same data as JS values.  Peers come from
// tests/interop/amf/node_modules (scripts/deps.sh test installs them).  Every decode is checked
// (row count and a sample row) before it is timed; a peer that cannot read a sample is reported with
// the reason instead of a figure.
//
// usage: node peers.js SAMPLE_DIR [--runs R] [--min-ms M]
'use strict';
const fs = require('fs');
const path = require('path');
const peers = require(path.join(__dirname, '..', '..', 'tests', 'interop', 'amf', 'load_peers.js'));
const astro = peers.astro(false), tnAmf = peers.tnAmf, nms = peers.nms, ByteArray = peers.ByteArray;

const dir = process.argv[2];
let runs = 7, minMs = 50;
for (let i = 3; i < process.argv.length; i++) {
  if (process.argv[i] === '--runs') runs = +process.argv[++i];
  else if (process.argv[i] === '--min-ms') minMs = +process.argv[++i];
}
const load = n => fs.readFileSync(path.join(dir, n + '.bin'));
const S = {
  'rows-amf0': load('rows-amf0'), 'rows-amf3': load('rows-amf3'), 'rows-amf3-anon': load('rows-amf3-anon'),
  'graph-amf0': load('graph-amf0'), 'graph-amf3': load('graph-amf3'),
};
const N = 10000;
const rowsJs = n => Array.from({ length: n }, (_, i) => ({
  id: i, name: 'user' + String(i).padStart(6, '0'), phone: '+1-555-' + String(i).padStart(7, '0') }));

// best ms per op: each run repeats f until it lasts minMs (slow peers: one call per run); the
// caller has already run f once (the correctness check), which is the warm-up
function bestMs(f, maxRuns = runs) {
  let best = Infinity, iters = 1;
  for (let r = 0; r < maxRuns; r++) {
    let el;
    for (;;) {
      const t0 = process.cpuUsage();  // CPU time, like bench_amf (the VM is shared)
      for (let i = 0; i < iters; i++) f();
      const d = process.cpuUsage(t0);
      el = (d.user + d.system) / 1e3;
      if (el >= minMs || iters > 1e6) break;
      iters = Math.ceil(iters * minMs / Math.max(el, 0.01) * 1.1);
    }
    best = Math.min(best, el / iters);
  }
  return best;
}

function row(sample, codec, op, ms, bytes, objs, note = '') {
  const pad = (s, n) => String(s).padEnd(n);
  console.log(`${pad(sample, 14)} ${pad(codec, 16)} ${pad(op, 7)} ${ms.toFixed(3).padStart(9)} ms ` +
    `${(bytes / ms / 1e3).toFixed(1).padStart(9)} MB/s ${(objs / ms / 1e3).toFixed(3).padStart(8)} M obj/s  (${bytes} B, ${objs} obj)${note ? '  ' + note : ''}`);
}
function fails(sample, codec, op, why) {
  console.log(`${sample.padEnd(14)} ${codec.padEnd(16)} ${op.padEnd(7)} cannot: ${String(why).slice(0, 150)}`);
}
function checkRows(v, n) {
  if (!Array.isArray(v) || v.length !== n) throw new Error('decoded ' + (Array.isArray(v) ? v.length + ' rows' : typeof v));
  const r = v[n - 1];
  if (!r || Number(r.id) !== n - 1 || r.name !== 'user' + String(n - 1).padStart(6, '0') ||
      r.phone !== '+1-555-' + String(n - 1).padStart(7, '0'))
    throw new Error('wrong last row ' + JSON.stringify(r));
}
function tryBench(sample, codec, op, f, check, bytes, objs, maxRuns, note) {
  try {
    check(f());
    row(sample, codec, op, bestMs(f, maxRuns), bytes, objs, note);
  } catch (e) {
    fails(sample, codec, op, e && e.message || e);
  }
}

console.log(`npm peers (node ${process.version}), best of ${runs} runs (each >= ${minMs} ms; slow peers fewer runs)`);
const rows = rowsJs(N);

// AMF0 rows
const b0 = S['rows-amf0'];
tryBench('rows-amf0', 'amf (TooTallNate)', 'decode', () => tnAmf.read(b0, { offset: 0 }), v => checkRows(v, N), b0.length, N);
tryBench('rows-amf0', 'node-media-server', 'decode', () => nms.amf0DecodeOne(b0).value, v => checkRows(v, N), b0.length, N);
tryBench('rows-amf0', '@astronautlabs', 'decode', () => astro.AMF0.Value.deserialize(b0).value, v => checkRows(v, N), b0.length, N, 2);
{
  // node-media-server writes JS arrays as ECMA arrays: a strict array needs its (unexported) marker,
  // so encode the rows one by one into the strict-array layout, which is what it can do
  const enc = () => Buffer.concat([Buffer.from([0x0a, 0, 0, N >> 8, N & 255]), ...rows.map(r => nms.amf0EncodeOne(r))]);
  tryBench('rows-amf0', 'node-media-server', 'encode', enc, b => { if (!b.equals(b0)) throw new Error('bytes differ from libamf\'s'); }, b0.length, N);
  const n = 300, part = rowsJs(n), bytes = Math.round(b0.length * n / N);
  tryBench('rows-amf0', '@astronautlabs', 'encode', () => Buffer.from(astro.AMF0.Value.any(part).serialize()),
    b => { if (b.length !== 60 * n + 5) throw new Error('size ' + b.length); }, bytes, n, 1, `(${n} rows: quadratic, full size unusable)`);
}
// AMF3 rows: the ArrayCollection of typed objects, then plain arrays of anonymous objects
const b3 = S['rows-amf3'], ba3 = S['rows-amf3-anon'];
tryBench('rows-amf3', '@astronautlabs', 'decode', () => astro.AMF3.Value.deserialize(b3).value, v => checkRows(v, N), b3.length, N, 1);
if (ByteArray) {
  const rd = b => () => { const ba = new ByteArray(b); ba.objectEncoding = 3; return ba.readObject(); };
  tryBench('rows-amf3', 'bytearray-node', 'decode', rd(b3), v => checkRows(v, N), b3.length, N, 3);
  tryBench('rows-amf3-anon', 'bytearray-node', 'decode', rd(ba3), v => checkRows(v, N), ba3.length, N, 3);
  const n = 1000, part = rowsJs(n);
  tryBench('rows-amf3-anon', 'bytearray-node', 'encode', () => { const ba = new ByteArray(); ba.objectEncoding = 3; ba.writeObject(part); return ba; },
    ba => { if (ba.length < 30 * n) throw new Error('size ' + ba.length); }, Math.round(ba3.length * n / N), n, 1, `(${n} rows: slow encoder)`);
} else {
  fails('rows-amf3', 'bytearray-node', 'decode', 'not installed');
}
tryBench('rows-amf3-anon', '@astronautlabs', 'decode', () => astro.AMF3.Value.deserialize(ba3).value, v => checkRows(v, N), ba3.length, N, 1);
tryBench('rows-amf3-anon', '@astronautlabs', 'encode', () => Buffer.from(astro.AMF3.Value.any(rows).serialize()), b => b, ba3.length, N, 1);
// graphs (references and cycles)
const g0 = S['graph-amf0'], g3 = S['graph-amf3'];
// shared nodes must come back: Person 1999's company is Company 49, its manager Person 199
const checkGraph = v => {
  const p = v && Array.isArray(v.people) && v.people.length === 2000 && v.people[1999];
  if (!p || p.name !== 'Person 1999' || !p.company || p.company.name !== 'Company 49' || !p.manager ||
      p.manager.name !== 'Person 199' || p.company.ceo !== v.people[343])
    throw new Error('graph not read back (references lost)');
};
tryBench('graph-amf0', 'amf (TooTallNate)', 'decode', () => tnAmf.read(g0, { offset: 0 }), checkGraph, g0.length, 8354);
tryBench('graph-amf0', 'node-media-server', 'decode', () => nms.amf0DecodeOne(g0).value, checkGraph, g0.length, 8354);
tryBench('graph-amf0', '@astronautlabs', 'decode', () => astro.AMF0.Value.deserialize(g0).value, checkGraph, g0.length, 8354, 1);
if (ByteArray) {
  tryBench('graph-amf3', 'bytearray-node', 'decode', () => { const ba = new ByteArray(g3); ba.objectEncoding = 3; return ba.readObject(); }, checkGraph, g3.length, 8354, 3);
}
tryBench('graph-amf3', '@astronautlabs', 'decode', () => astro.AMF3.Value.deserialize(g3).value, checkGraph, g3.length, 8354, 1);
