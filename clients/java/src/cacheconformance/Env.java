package cacheconformance;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a subject receives: its cache, its database, a clock, workers and locks. Every call
 * is a request the harness answers when its scheduler lets that step happen; a store under
 * an injected fault throws {@link StoreUnavailable} or {@link StoreTimeout}.
 *
 * <p>Use {@link #lock()}, not a Java lock, for anything held across a store call (the
 * harness must see who waits for whom); a Java lock may guard memory between two calls.
 * Use {@link Clock#sleep}, never Thread.sleep.
 */
public final class Env {
    /** Which application instance this subject is (0, 1, ...). */
    public final int instance;
    /** How many times this instance was rebuilt after a crash in this example. */
    public final int incarnation;
    public final Cache cache;
    public final Db db;
    public final Clock clock;
    private final Protocol conn;
    private int locks;

    Env(Protocol conn, int instance, int incarnation) {
        this.conn = conn;
        this.instance = instance;
        this.incarnation = incarnation;
        this.cache = new Cache();
        this.db = new Db();
        this.clock = new Clock();
    }

    static Map<String, Object> args(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
        return m;
    }

    public final class Cache {
        public String get(String key) {
            return (String) conn.call("cache.get", args("key", key));
        }

        /** ttl in seconds of the clock; null: none. */
        public void set(String key, String value, Double ttl) {
            conn.call("cache.set", args("key", key, "value", value, "ttl", ttl));
        }

        public void delete(String key) {
            conn.call("cache.delete", args("key", key));
        }

        /** Atomic: set key to value if it holds expected (null: absent). */
        public boolean cas(String key, String expected, String value, Double ttl) {
            return Boolean.TRUE.equals(conn.call("cache.cas", args("key", key, "expected", expected, "value", value, "ttl", ttl)));
        }
    }

    public final class Db {
        public String get(String key) {
            return (String) conn.call("db.get", args("key", key));
        }

        public void put(String key, String value) {
            conn.call("db.put", args("key", key, "value", value, "version", null));
        }

        /** Applied only if version is newer than the stored one. */
        public void put(String key, String value, long version) {
            conn.call("db.put", args("key", key, "value", value, "version", version));
        }

        /** An atomic batch of (key, value) pairs. */
        public void putMany(List<Map.Entry<String, String>> items) {
            List<Object> out = new ArrayList<>();
            for (Map.Entry<String, String> e : items) {
                List<Object> pair = new ArrayList<>();
                pair.add(e.getKey());
                pair.add(e.getValue());
                out.add(pair);
            }
            conn.call("db.put_many", args("items", out));
        }

        public void delete(String key) {
            conn.call("db.delete", args("key", key));
        }
    }

    public final class Clock {
        /** Seconds; virtual under simulation. */
        public double now() {
            return ((Number) conn.call("clock.now", args())).doubleValue();
        }

        public void sleep(double seconds) {
            conn.call("clock.sleep", args("seconds", seconds));
        }
    }

    /** A queue that survives a crash of the application (it lives with the cache). */
    public final class DurableQueue {
        private final String name;

        DurableQueue(String name) {
            this.name = name;
        }

        public void push(String item) {
            conn.call("queue.push", args("queue", name, "item", item));
        }

        @SuppressWarnings("unchecked")
        public List<String> peek(int n) {
            return (List<String>) (List<?>) conn.call("queue.peek", args("queue", name, "n", (long) n));
        }

        public void ack(int n) {
            conn.call("queue.ack", args("queue", name, "n", (long) n));
        }

        public int len() {
            return ((Number) conn.call("queue.len", args("queue", name))).intValue();
        }
    }

    /** A mutex the harness's scheduler knows about. */
    public final class Lock {
        private final String name;

        Lock(String name) {
            this.name = name;
        }

        public void lock() {
            conn.call("lock", args("lock", name));
        }

        public void unlock() {
            conn.call("unlock", args("lock", name));
        }
    }

    public DurableQueue durableQueue(String name) {
        return new DurableQueue(name);
    }

    /** Start a worker the harness schedules; it runs on a thread of its own once the
     * harness gives it its first turn, and waits only through clock.sleep and locks. */
    public void spawn(Worker worker) {
        conn.spawn(worker);
    }

    public synchronized Lock lock() {
        return new Lock("lock" + locks++);
    }
}
