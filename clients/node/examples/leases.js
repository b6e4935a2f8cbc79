'use strict';
// Lease-guarded cache fills, the read path of the reference subjects: a port of
// implementations/memory/leases.py (its docstring argues why the fills never go back).
//
// On a miss a reader puts a unique lease marker in the slot (cas from what it saw), reads
// the DB, and stores the value with cas(marker -> value): that lands only if no writer
// deleted the slot (and no other reader took it) meanwhile. Writers only delete.

const { isStoreError } = require('../cache_conformance');

const LEASE_PREFIX = '\u0000lease:';

function isLease(value) {
  return value !== null && value.startsWith(LEASE_PREFIX);
}

class LeasedCache {
  constructor(env, { ttl = 30, leaseTtl = 5 } = {}) {
    this.cache = env.cache;
    // instance and incarnation make markers unique across processes, deterministically
    this.owner = `${env.instance}.${env.incarnation}`;
    this.ttl = ttl;
    this.leaseTtl = leaseTtl;
    this.tokens = 0;
    this.suspect = new Set(); // keys whose entry may be stale after a failed delete or set
  }

  token() {
    this.tokens += 1;
    return `${LEASE_PREFIX}${this.owner}:${this.tokens}`;
  }

  /** The cached value of key, or load(key) filled under a lease. Cache failures are
   * absorbed (the DB answers); load's failures escape. */
  async lookup(key, load) {
    if (this.suspect.has(key) && !(await this.invalidate(key))) return load(key);
    for (let attempt = 0; attempt < 2; attempt++) {
      let seen;
      try {
        seen = await this.cache.get(key);
      } catch (e) {
        if (!isStoreError(e)) throw e;
        return load(key);
      }
      if (seen !== null && !isLease(seen)) return seen;
      const token = this.token();
      let acquired;
      try {
        acquired = await this.cache.cas(key, seen, token, this.leaseTtl);
      } catch (e) {
        if (!isStoreError(e)) throw e;
        return load(key);
      }
      if (acquired) return this.fill(key, token, load);
    }
    const value = await load(key);
    await this.invalidate(key);
    return value;
  }

  async fill(key, token, load) {
    let value;
    try {
      value = await load(key);
    } catch (e) {
      if (isStoreError(e)) await this.invalidate(key);
      throw e;
    }
    if (value === null) {
      await this.invalidate(key);
      return null;
    }
    let filled;
    try {
      filled = await this.cache.cas(key, token, value, this.ttl);
    } catch (e) {
      if (!isStoreError(e)) throw e;
      filled = false;
    }
    if (!filled) await this.invalidate(key);
    return value;
  }

  /** Delete key's entry (retried once); false if the cache could not be reached. */
  async invalidate(key) {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await this.cache.delete(key);
      } catch (e) {
        if (!isStoreError(e)) throw e;
        continue;
      }
      this.suspect.delete(key);
      return true;
    }
    this.suspect.add(key);
    return false;
  }

  /** Set key to a value known to be the latest; on failure the key becomes suspect. */
  async store(key, value) {
    try {
      await this.cache.set(key, value, this.ttl);
    } catch (e) {
      if (!isStoreError(e)) throw e;
      this.suspect.add(key);
      return false;
    }
    this.suspect.delete(key);
    return true;
  }

  /** Warm key's entry after a write: a guarded fill whose failures are ignored. */
  async refresh(key, load) {
    try {
      await this.lookup(key, load);
    } catch (e) {
      if (!isStoreError(e)) throw e;
    }
  }
}

module.exports = { LeasedCache, isLease, LEASE_PREFIX };
