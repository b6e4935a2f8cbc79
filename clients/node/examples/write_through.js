'use strict';
// A correct write-through: DB first, then the entry is deleted and refilled under a lease
// (a port of implementations/memory/invalidating.py:WriteThrough).
//
//   cache-conformance check --exec "node clients/node/examples/write_through.js" --policy write-through

const cc = require('../cache_conformance');
const { LeasedCache } = require('./leases');

class WriteThrough {
  constructor(env) {
    this.db = env.db;
    this.leases = new LeasedCache(env);
    this.load = key => this.db.get(key);
  }

  async write(key, value) {
    try {
      await this.db.put(key, value);
    } catch (e) {
      // A timed-out put may have committed: the cached value must not outlive it.
      if (e instanceof cc.StoreTimeout) await this.leases.invalidate(key);
      throw e;
    }
    if (await this.leases.invalidate(key)) await this.leases.refresh(key, this.load);
  }

  read(key) {
    return this.leases.lookup(key, this.load);
  }

  async flush() {} // nothing is pending: every acknowledged write is in the DB
}

module.exports = { WriteThrough };

if (require.main === module) {
  // Everything it keeps is built by its constructor: a crash may be a reset in place.
  cc.serve(env => new WriteThrough(env), { name: 'write-through (node)', flush: true, workers: false,
    crashByReset: true });
}
