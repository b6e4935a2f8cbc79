import cacheconformance.Capabilities;
import cacheconformance.Env;
import cacheconformance.Protocol;
import cacheconformance.StoreException;
import cacheconformance.Subject;

import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A correct volatile write-behind (a port of implementations/memory/write_behind.py):
 * writes go to a buffer (latest value per key) and the cache; a worker commits the buffer
 * with one atomic putMany per batch, and drops an entry only after its commit and only if
 * it was not re-written meanwhile. Reads look in the buffer first.
 *
 * <p>Locks: {@code lock} (an env lock: the harness sees it) is held across store calls by
 * writes and reads; {@code flushing} keeps flushes one at a time; the buffer itself is
 * a TreeMap (sorted: the same requests every run) guarded by Java's monitor between calls.
 */
public class WriteBehind implements Subject {
    protected final Env env;
    protected final Env.Db db;
    protected final LeasedCache leases;
    protected final TreeMap<String, String> pending = new TreeMap<>(); // acknowledged, not yet committed
    private final Env.Lock lock;
    private final Env.Lock flushing;
    private final double interval = 1.0;
    private final int batchSize = 8;
    private volatile boolean closed;

    protected WriteBehind(Env env) {
        this.env = env;
        this.db = env.db;
        this.leases = new LeasedCache(env, 30, 5);
        this.lock = env.lock();
        this.flushing = env.lock();
    }

    static WriteBehind start(WriteBehind subject) {
        subject.env.spawn(subject::run);
        return subject;
    }

    @Override
    public void write(String key, String value) {
        lock.lock();
        try {
            synchronized (pending) {
                pending.put(key, value);
            }
            leases.store(key, value);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String read(String key) {
        lock.lock();
        try {
            synchronized (pending) {
                String value = pending.get(key);
                if (value != null) return value;
            }
            return leases.lookup(key, db::get);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void flush() {
        flushing.lock();
        try {
            commitPending();
        } finally {
            flushing.unlock();
        }
    }

    @Override
    public void close() {
        closed = true;
        flush();
    }

    protected void commitPending() {
        List<String> keys;
        synchronized (pending) {
            keys = new ArrayList<>(pending.keySet());
        }
        for (int start = 0; start < keys.size(); start += batchSize) {
            List<Map.Entry<String, String>> batch = new ArrayList<>();
            synchronized (pending) {
                for (String k : keys.subList(start, Math.min(keys.size(), start + batchSize))) {
                    String v = pending.get(k);
                    if (v != null) batch.add(new AbstractMap.SimpleEntry<>(k, v));
                }
            }
            if (batch.isEmpty()) continue;
            db.putMany(batch); // all of the batch or none of it
            synchronized (pending) {
                for (Map.Entry<String, String> e : batch) pending.remove(e.getKey(), e.getValue());
            }
        }
    }

    void run() {
        while (!closed) {
            env.clock.sleep(interval);
            if (closed) return;
            try {
                flush();
            } catch (StoreException e) {
                // everything stays pending; the next round retries
            }
        }
    }

    public static void main(String[] args) {
        Protocol.serve(env -> start(new WriteBehind(env)), new Capabilities("write-behind (java)").flush().workers());
    }
}
