'use strict';
// The cache-conformance subject protocol for Node.js (docs/PROTOCOL.md), with nothing
// beyond Node's standard library.
//
//   const cc = require('./cache_conformance');
//   cc.serve(env => new MyCache(env), { name: 'my cache', flush: true });
//
// Every store access (env.cache, env.db, env.durableQueue, env.clock, env.spawn,
// env.lock) is a request the harness answers when its scheduler lets that step happen;
// each returns a Promise. Which operation or worker a request belongs to is carried by
// AsyncLocalStorage, so a subject uses one `env` everywhere, as in Python.
//
// Determinism: do everything through `env` (no timers, no Date.now(), no Math.random());
// between two answers of the harness the process must do the same thing for the same
// conversation.

const { AsyncLocalStorage } = require('node:async_hooks');
const fs = require('node:fs');

const PROTOCOL_VERSION = 1;

/** A store failed under an injected fault. `kind` is 'unavailable' or 'timeout'. */
class StoreError extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

/** The store is down: the call did nothing. */
class StoreUnavailable extends StoreError {
  constructor(message) {
    super('unavailable', message);
    this.name = 'StoreUnavailable';
  }
}

/** The call timed out: it may or may not have taken effect. */
class StoreTimeout extends StoreError {
  constructor(message) {
    super('timeout', message);
    this.name = 'StoreTimeout';
  }
}

/** The harness reset the subject (a new example) while this request was pending: the
 * operation or worker it belongs to is over. Do not catch it. */
class Cancelled extends Error {
  constructor() {
    super('cancelled: the harness reset the subject');
    this.name = 'Cancelled';
  }
}

function isStoreError(e) {
  return e instanceof StoreError;
}

const context = new AsyncLocalStorage(); // { task, gen } of the running operation or worker
const NEVER = new Promise(() => {});

function failureFields(e) {
  if (e instanceof StoreError) return { error: e.kind, message: String(e.message) };
  const where = e && typeof e.stack === 'string' ? e.stack.split('\n').find(l => l.trim().startsWith('at ')) : null;
  const name = e && e.constructor && e.constructor.name ? e.constructor.name : 'Error';
  const text = e && e.message !== undefined ? String(e.message) : String(e);
  return { error: 'subject', exception: name, message: where ? `${text} (${where.trim()})` : text };
}

class Lock {
  constructor(conn, name) {
    this._conn = conn;
    this.name = name;
  }

  /** Wait for the lock; the harness schedules the waiting (use it, not a mutex of your own,
   * for anything held across a store request). */
  acquire() {
    return this._conn.call('lock', { lock: this.name });
  }

  release() {
    return this._conn.call('unlock', { lock: this.name });
  }

  /** fn() holding the lock. */
  async with(fn) {
    await this.acquire();
    try {
      return await fn();
    } finally {
      await this.release();
    }
  }
}

class Env {
  constructor(conn, instance, incarnation) {
    const call = (target, args) => conn.call(target, args);
    /** Which application instance this subject is (0, 1, ...). */
    this.instance = instance;
    /** How many times this instance was rebuilt after a crash in this example. */
    this.incarnation = incarnation;
    this.cache = {
      get: key => call('cache.get', { key }),
      set: (key, value, ttl = null) => call('cache.set', { key, value, ttl }),
      delete: key => call('cache.delete', { key }),
      cas: (key, expected, value, ttl = null) => call('cache.cas', { key, expected, value, ttl }),
    };
    this.db = {
      get: key => call('db.get', { key }),
      put: (key, value, version = null) => call('db.put', { key, value, version }),
      /** items: [[key, value], ...] or [[key, value, version], ...]; atomic. */
      putMany: items => call('db.put_many', { items }),
      delete: key => call('db.delete', { key }),
    };
    this.clock = {
      now: () => call('clock.now', {}),
      sleep: seconds => call('clock.sleep', { seconds }),
    };
    this._conn = conn;
    this._locks = 0;
  }

  /** A durable queue (survives a crash of the application; lives with the cache). */
  durableQueue(name) {
    const call = (target, args) => this._conn.call(target, { queue: name, ...args });
    return {
      push: item => call('queue.push', { item }),
      peek: n => call('queue.peek', { n }),
      ack: n => call('queue.ack', { n }),
      len: () => call('queue.len', {}),
    };
  }

  /** Start fn() as a background worker the harness schedules; it runs when the harness
   * first gives it the turn. A worker waits only through env.clock.sleep and locks. */
  async spawn(fn) {
    const task = await this._conn.call('spawn', {});
    this._conn.workers.set(task, fn);
    return task;
  }

  /** A mutex the harness's scheduler knows about. */
  lock() {
    return new Lock(this._conn, `lock${this._locks++}`);
  }
}

class Connection {
  constructor(create, capabilities) {
    this.create = create;
    this.capabilities = capabilities;
    this.gen = 0; // bumped by every reset: requests of an older generation are dropped
    this.nextId = 1;
    this.pending = new Map(); // request id -> { resolve, reject }
    this.workers = new Map(); // task -> fn, spawned and not started yet
    this.subject = null;
  }

  send(msg) {
    fs.writeSync(1, JSON.stringify(msg) + '\n');
  }

  call(target, args) {
    const ctx = context.getStore();
    if (ctx === undefined) {
      throw new Error(`env ${target} called outside an operation or worker (a timer or callback of your own?): ` +
        'every store access must come from write/read/flush/close, the factory or a spawned worker');
    }
    if (ctx.gen !== this.gen) return NEVER; // a task of a subject the harness has reset
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send({ type: 'call', id, task: ctx.task, target, args });
    });
  }

  answer(ctx, msg) {
    if (ctx.gen === this.gen) this.send(msg);
  }

  cancelAll() {
    this.gen++;
    const pending = this.pending;
    this.pending = new Map();
    this.workers.clear();
    for (const p of pending.values()) p.reject(new Cancelled());
  }

  onMessage(msg) {
    switch (msg.type) {
      case 'result':
      case 'error': {
        const p = this.pending.get(msg.id);
        if (p === undefined) return fatal(`the harness answered request ${msg.id}, which is not pending`);
        this.pending.delete(msg.id);
        if (msg.type === 'result') p.resolve(msg.value === undefined ? null : msg.value);
        else if (msg.error === 'timeout') p.reject(new StoreTimeout(msg.message));
        else if (msg.error === 'unavailable') p.reject(new StoreUnavailable(msg.message));
        else p.reject(new Error(`harness error ${msg.error}: ${msg.message}`));
        return undefined;
      }
      case 'op':
        return this.operate(msg);
      case 'start':
        return this.startWorker(msg.task);
      default:
        return fatal(`unknown message type ${JSON.stringify(msg.type)}`);
    }
  }

  operate(msg) {
    if (msg.op === 'reset') this.cancelAll();
    const ctx = { task: msg.task, gen: this.gen };
    context.run(ctx, async () => {
      let value = null;
      try {
        switch (msg.op) {
          case 'reset':
            this.subject = null;
            this.subject = await this.create(new Env(this, msg.instance, msg.incarnation));
            break;
          case 'write':
            await this.subject.write(msg.key, msg.value);
            break;
          case 'read':
            value = await this.subject.read(msg.key);
            if (value === undefined) value = null;
            break;
          case 'delete':
            await this.subject.delete(msg.key);
            break;
          case 'flush':
            if (typeof this.subject.flush === 'function') await this.subject.flush();
            break;
          case 'close':
            if (typeof this.subject.close === 'function') await this.subject.close();
            break;
          default:
            throw new Error(`unknown operation ${JSON.stringify(msg.op)}`);
        }
      } catch (e) {
        if (!(e instanceof Cancelled)) this.answer(ctx, { type: 'failed', id: msg.id, ...failureFields(e) });
        return;
      }
      this.answer(ctx, { type: 'done', id: msg.id, value });
    });
  }

  startWorker(task) {
    const fn = this.workers.get(task);
    if (fn === undefined) return fatal(`the harness started task ${task}, which was never spawned`);
    this.workers.delete(task);
    const ctx = { task, gen: this.gen };
    context.run(ctx, async () => {
      try {
        await fn();
      } catch (e) {
        if (!(e instanceof Cancelled)) this.answer(ctx, { type: 'exit', task, ...failureFields(e) });
        return;
      }
      this.answer(ctx, { type: 'exit', task });
    });
    return undefined;
  }

  run() {
    const c = this.capabilities;
    this.send({
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      subject: c.name || null,
      capabilities: {
        flush: Boolean(c.flush),
        delete: Boolean(c.delete),
        durable: Boolean(c.durable),
        fill_ttl: c.fillTtl === undefined ? null : c.fillTtl,
        workers: c.workers === undefined ? true : Boolean(c.workers),
        crash_by_reset: Boolean(c.crashByReset),
      },
    });
    let buf = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', chunk => {
      buf += chunk;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.length) this.onMessage(JSON.parse(line));
      }
    });
    // The harness is gone (or done): so is the subject.
    process.stdin.on('end', () => process.exit(0));
  }
}

function fatal(message) {
  process.stderr.write(`cache_conformance: protocol error: ${message}\n`);
  process.exit(70);
}

/**
 * Serve the protocol on stdin/stdout until stdin closes.
 *
 * @param create  env => subject (or a Promise of one); called at every reset. A subject has
 *                async write(key, value), read(key) -> string|null, and optionally flush(),
 *                close(), delete(key).
 * @param capabilities { name, flush, delete, durable, fillTtl, workers, crashByReset }
 *   crashByReset: the subject keeps nothing outside what `create` builds (no module-level
 *   state, no timers of its own), so the harness may crash it by a reset in this process
 *   instead of killing the process (docs/PROTOCOL.md, Crashes).
 */
function serve(create, capabilities = {}) {
  new Connection(create, capabilities).run();
}

module.exports = { serve, StoreError, StoreUnavailable, StoreTimeout, Cancelled, isStoreError, PROTOCOL_VERSION };
