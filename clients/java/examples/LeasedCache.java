import cacheconformance.Env;
import cacheconformance.StoreException;

import java.util.HashSet;
import java.util.Set;
import java.util.function.Function;

/**
 * Lease-guarded cache fills, the read path of the reference subjects: a port of
 * implementations/memory/leases.py (its docstring argues why fills never go back). On a
 * miss a reader puts a unique marker in the slot (cas from what it saw), reads the DB, and
 * stores the value with cas(marker -> value), which lands only if no writer deleted the
 * slot meanwhile. Writers only delete.
 */
final class LeasedCache {
    static final String LEASE_PREFIX = "\u0000lease:";

    private final Env.Cache cache;
    private final String owner;
    private final double ttl, leaseTtl;
    private int tokens;
    private final Set<String> suspect = new HashSet<>(); // entries that may be stale after a failed delete or set

    LeasedCache(Env env, double ttl, double leaseTtl) {
        this.cache = env.cache;
        this.owner = env.instance + "." + env.incarnation; // unique across processes, deterministically
        this.ttl = ttl;
        this.leaseTtl = leaseTtl;
    }

    static boolean isLease(String value) {
        return value != null && value.startsWith(LEASE_PREFIX);
    }

    private synchronized String token() {
        return LEASE_PREFIX + owner + ":" + (++tokens);
    }

    private synchronized boolean isSuspect(String key) {
        return suspect.contains(key);
    }

    private synchronized void mark(String key, boolean stale) {
        if (stale) suspect.add(key);
        else suspect.remove(key);
    }

    /** The cached value of key, or load(key) filled under a lease; load's failures escape. */
    String lookup(String key, Function<String, String> load) {
        if (isSuspect(key) && !invalidate(key)) return load.apply(key);
        for (int attempt = 0; attempt < 2; attempt++) {
            String seen;
            try {
                seen = cache.get(key);
            } catch (StoreException e) {
                return load.apply(key);
            }
            if (seen != null && !isLease(seen)) return seen;
            String token = token();
            boolean acquired;
            try {
                acquired = cache.cas(key, seen, token, leaseTtl);
            } catch (StoreException e) {
                return load.apply(key);
            }
            if (acquired) return fill(key, token, load);
        }
        String value = load.apply(key);
        invalidate(key);
        return value;
    }

    private String fill(String key, String token, Function<String, String> load) {
        String value;
        try {
            value = load.apply(key);
        } catch (StoreException e) {
            invalidate(key);
            throw e;
        }
        if (value == null) {
            invalidate(key);
            return null;
        }
        boolean filled;
        try {
            filled = cache.cas(key, token, value, ttl);
        } catch (StoreException e) {
            filled = false;
        }
        if (!filled) invalidate(key);
        return value;
    }

    /** Delete key's entry (retried once); false if the cache could not be reached. */
    boolean invalidate(String key) {
        for (int attempt = 0; attempt < 2; attempt++) {
            try {
                cache.delete(key);
            } catch (StoreException e) {
                continue;
            }
            mark(key, false);
            return true;
        }
        mark(key, true);
        return false;
    }

    /** Set key to a value known to be the latest; on failure the key becomes suspect. */
    boolean store(String key, String value) {
        try {
            cache.set(key, value, ttl);
        } catch (StoreException e) {
            mark(key, true);
            return false;
        }
        mark(key, false);
        return true;
    }

    /** Warm key's entry after a write: a guarded fill whose failures are ignored. */
    void refresh(String key, Function<String, String> load) {
        try {
            lookup(key, load);
        } catch (StoreException e) {
            // the write is durable already
        }
    }
}
