// Loads the npm AMF peers from this directory's node_modules (npm ci --ignore-scripts, see
// scripts/deps.sh), for npm_peers.js and bench/amf/peers.js.
'use strict';
const fs = require('fs');
const path = require('path');
const Module = require('module');
const nm = path.join(__dirname, 'node_modules');

function check() {
  if (!fs.existsSync(path.join(nm, '@astronautlabs', 'amf'))) {
    console.error(`npm peers missing in ${nm}: run scripts/deps.sh test (npm ci --prefix tests/interop/amf)`);
    process.exit(1);
  }
}
check();
require(path.join(nm, 'reflect-metadata'));

// @astronautlabs/amf keeps writer state in module scope: after an encode throws (non-ASCII AMF0 text)
// the next object it writes starts with stale bytes.  fresh: a newly loaded copy, so one case's
// failure cannot leak into the next.
function astro(fresh) {
  if (fresh)
    for (const k of Object.keys(require.cache))
      if (k.includes(`${path.sep}@astronautlabs${path.sep}`)) delete require.cache[k];
  return require(path.join(nm, '@astronautlabs/amf'));
}

// bytearray-node loads the native lzma-native at start-up, which --ignore-scripts leaves unbuilt
// (AMF.md §6.1: building it is fragile).  Its AMF0/AMF3 code does not use it, so lzma-native is
// replaced by a module whose compressor refuses to run.
function byteArray() {
  try {
    const lz = require.resolve(path.join(nm, 'lzma-native'));
    if (!fs.existsSync(path.join(path.dirname(lz), 'binding-v6.0.1-n-api-linux-x64'))) {
      const m = new Module(lz);
      m.filename = lz;
      m.loaded = true;
      m.exports = { LZMA: function () { throw new Error('lzma-native is not built (compression unused)'); } };
      require.cache[lz] = m;
    }
    return require(path.join(nm, 'bytearray-node'));
  } catch (e) {
    return null;
  }
}

module.exports = {
  astro,
  tnAmf: require(path.join(nm, 'amf')),
  nms: require(path.join(nm, 'node-media-server/src/protocol/amf.js')),
  ByteArray: byteArray(),
};
