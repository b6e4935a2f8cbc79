'use strict';
// A buggy write-through: the cache first, then the database (a common shape: "update the
// cache, then persist"). When the DB write fails, the cache already serves a value the
// database never had, and other readers see it until its TTL ends (no-phantom).

const cc = require('../cache_conformance');

class CacheFirstWriteThrough {
  constructor(env) {
    this.env = env;
  }

  async write(key, value) {
    await this.env.cache.set(key, value, 60);
    await this.env.db.put(key, value);
  }

  async read(key) {
    let value;
    try {
      value = await this.env.cache.get(key);
    } catch (e) {
      if (!cc.isStoreError(e)) throw e;
      return this.env.db.get(key);
    }
    if (value !== null) return value;
    value = await this.env.db.get(key);
    if (value !== null) {
      try {
        await this.env.cache.set(key, value, 60);
      } catch (e) {
        if (!cc.isStoreError(e)) throw e;
      }
    }
    return value;
  }
}

cc.serve(env => new CacheFirstWriteThrough(env), { name: 'buggy write-through (node)', workers: false });
