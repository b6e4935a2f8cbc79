import cacheconformance.Capabilities;
import cacheconformance.Env;
import cacheconformance.Protocol;
import cacheconformance.StoreException;
import cacheconformance.Subject;

/**
 * A buggy write-through: the cache first, then the database ("update the cache, then
 * persist"). When the DB write fails, the cache already serves a value the database never
 * had (no-phantom).
 */
public final class BuggyWriteThrough implements Subject {
    private final Env env;

    BuggyWriteThrough(Env env) {
        this.env = env;
    }

    @Override
    public void write(String key, String value) {
        env.cache.set(key, value, 60.0);
        env.db.put(key, value);
    }

    @Override
    public String read(String key) {
        String value;
        try {
            value = env.cache.get(key);
        } catch (StoreException e) {
            return env.db.get(key);
        }
        if (value != null) return value;
        value = env.db.get(key);
        if (value != null) {
            try {
                env.cache.set(key, value, 60.0);
            } catch (StoreException e) {
                // a miss next time
            }
        }
        return value;
    }

    public static void main(String[] args) {
        Protocol.serve(BuggyWriteThrough::new, new Capabilities("buggy write-through (java)"));
    }
}
