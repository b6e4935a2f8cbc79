package cacheconformance;

import java.util.LinkedHashMap;
import java.util.Map;

/** What the hello declares: {@code new Capabilities("my cache").flush().workers()}. */
public final class Capabilities {
    final String name;
    boolean flush, delete, durable, workers, crashByReset;
    Double fillTtl;

    public Capabilities(String name) {
        this.name = name;
    }

    public Capabilities flush() {
        flush = true;
        return this;
    }

    public Capabilities delete() {
        delete = true;
        return this;
    }

    /** Pending writes survive a crash (write-behind). */
    public Capabilities durable() {
        durable = true;
        return this;
    }

    /** The subject spawns background workers. */
    public Capabilities workers() {
        workers = true;
        return this;
    }

    /** The subject keeps nothing outside what its factory builds (no static state, no threads
     * that outlive a reset): the harness may crash it by a reset in this process instead of
     * killing the process (docs/PROTOCOL.md, Crashes). */
    public Capabilities crashByReset() {
        crashByReset = true;
        return this;
    }

    /** The TTL of fills, in seconds (bounds write-around staleness). */
    public Capabilities fillTtl(double seconds) {
        fillTtl = seconds;
        return this;
    }

    Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("flush", flush);
        m.put("delete", delete);
        m.put("durable", durable);
        m.put("fill_ttl", fillTtl);
        m.put("workers", workers);
        m.put("crash_by_reset", crashByReset);
        return m;
    }
}
