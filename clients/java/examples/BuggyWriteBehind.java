import cacheconformance.Capabilities;
import cacheconformance.Env;
import cacheconformance.Protocol;

import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A buggy write-behind: the flush drains the buffer before it commits ("take the batch,
 * then store it"). When the DB is down the batch is gone: a later flush returns with
 * nothing to write, and acknowledged writes never reach the DB (eventual-persistence).
 */
public final class BuggyWriteBehind extends WriteBehind {
    BuggyWriteBehind(Env env) {
        super(env);
    }

    @Override
    protected void commitPending() {
        List<Map.Entry<String, String>> batch = new ArrayList<>();
        synchronized (pending) {
            for (Map.Entry<String, String> e : pending.entrySet()) batch.add(new AbstractMap.SimpleEntry<>(e));
            pending.clear();
        }
        if (!batch.isEmpty()) db.putMany(batch);
    }

    public static void main(String[] args) {
        Protocol.serve(env -> start(new BuggyWriteBehind(env)), new Capabilities("buggy write-behind (java)").flush().workers());
    }
}
