'use strict';
// A correct volatile write-behind (a port of implementations/memory/write_behind.py):
// writes go to a buffer (latest value per key) and the cache; a worker commits the
// buffer with one atomic putMany per batch, and removes an entry only after its commit
// and only if it was not re-written meanwhile. Reads look in the buffer first.
//
// Node runs one thing at a time, so code between two awaits is atomic: the buffer needs a
// lock only where a section spans a store request (write, read), and flushes are kept
// one at a time by a second lock.

const cc = require('../cache_conformance');
const { LeasedCache } = require('./leases');

class WriteBehind {
  constructor(env, { interval = 1, batchSize = 8, ttl = 30 } = {}) {
    this.env = env;
    this.db = env.db;
    this.interval = interval;
    this.batchSize = batchSize;
    this.leases = new LeasedCache(env, { ttl });
    this.lock = env.lock(); // orders the cache updates of writes, and reads against them
    this.flushing = env.lock(); // one flush at a time
    this.pending = new Map(); // acknowledged, not yet committed
    this.closed = false;
    this.load = key => this.db.get(key);
  }

  static async create(env) {
    const subject = new WriteBehind(env);
    await env.spawn(() => subject.run());
    return subject;
  }

  write(key, value) {
    return this.lock.with(async () => {
      this.pending.set(key, value);
      await this.leases.store(key, value);
    });
  }

  read(key) {
    return this.lock.with(async () => {
      if (this.pending.has(key)) return this.pending.get(key);
      return this.leases.lookup(key, this.load);
    });
  }

  flush() {
    return this.flushing.with(() => this.commitPending());
  }

  async close() {
    this.closed = true;
    await this.flush();
  }

  async commitPending() {
    const keys = [...this.pending.keys()].sort(); // sorted: the same requests every run
    for (let i = 0; i < keys.length; i += this.batchSize) {
      const batch = keys.slice(i, i + this.batchSize).filter(k => this.pending.has(k)).map(k => [k, this.pending.get(k)]);
      if (batch.length === 0) continue;
      await this.db.putMany(batch); // all of the batch or none of it
      for (const [k, v] of batch) if (this.pending.get(k) === v) this.pending.delete(k);
    }
  }

  async run() {
    while (!this.closed) {
      await this.env.clock.sleep(this.interval);
      if (this.closed) return;
      try {
        await this.flush();
      } catch (e) {
        if (!cc.isStoreError(e)) throw e; // everything stays pending; the next round retries
      }
    }
  }
}

module.exports = { WriteBehind };

if (require.main === module) {
  cc.serve(env => WriteBehind.create(env), { name: 'write-behind (node)', flush: true, durable: false });
}
