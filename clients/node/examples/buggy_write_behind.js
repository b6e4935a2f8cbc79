'use strict';
// A buggy write-behind: the flush drains the buffer before it commits ("take the batch,
// then store it"). When the DB is down the batch is gone: a later flush returns with
// nothing to write, and acknowledged writes never reach the DB.

const cc = require('../cache_conformance');
const { WriteBehind } = require('./write_behind');

class DrainFirstWriteBehind extends WriteBehind {
  async commitPending() {
    const batch = [...this.pending.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    this.pending.clear();
    if (batch.length) await this.db.putMany(batch);
  }
}

cc.serve(async env => {
  const subject = new DrainFirstWriteBehind(env);
  await env.spawn(() => subject.run());
  return subject;
}, { name: 'buggy write-behind (node)', flush: true, durable: false });
