import cacheconformance.Capabilities;
import cacheconformance.Env;
import cacheconformance.Protocol;
import cacheconformance.StoreTimeout;
import cacheconformance.Subject;

/**
 * A correct write-through: DB first, then the entry is deleted and refilled under a lease
 * (a port of implementations/memory/invalidating.py:WriteThrough).
 *
 * <pre>cache-conformance check --exec "clients/java/run WriteThrough" --policy write-through</pre>
 */
public final class WriteThrough implements Subject {
    private final Env.Db db;
    private final LeasedCache leases;

    WriteThrough(Env env) {
        this.db = env.db;
        this.leases = new LeasedCache(env, 30, 5);
    }

    @Override
    public void write(String key, String value) {
        try {
            db.put(key, value);
        } catch (StoreTimeout e) {
            leases.invalidate(key); // it may have committed: the cached value must not outlive it
            throw e;
        }
        if (leases.invalidate(key)) leases.refresh(key, db::get);
    }

    @Override
    public String read(String key) {
        return leases.lookup(key, db::get);
    }

    @Override
    public void flush() {
        // nothing is pending: every acknowledged write is in the DB
    }

    public static void main(String[] args) {
        Protocol.serve(WriteThrough::new, new Capabilities("write-through (java)").flush());
    }
}
