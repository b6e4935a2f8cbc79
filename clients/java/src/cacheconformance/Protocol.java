package cacheconformance;

import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The subject protocol (docs/PROTOCOL.md) on stdin/stdout.
 *
 * <pre>
 *   public static void main(String[] args) throws Exception {
 *       Protocol.serve(env -&gt; new MyCache(env), new Capabilities("my cache").flush());
 *   }
 * </pre>
 *
 * Each operation runs on a thread of its own, each worker too; a thread's store calls carry
 * its task. One monitor (this object) orders every request, answer and reset, so what one
 * thread wrote before its request is visible to the thread the next answer wakes.
 */
public final class Protocol {
    public static final int VERSION = 1;

    private final SubjectFactory factory;
    private final Capabilities capabilities;
    private final OutputStream out = new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16);
    private final ThreadLocal<Ctx> current = new ThreadLocal<>();
    private final Map<Long, Slot> pending = new HashMap<>();
    private final Map<String, Worker> workers = new HashMap<>();
    private final ExecutorService ops = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "subject-op");
        t.setDaemon(true);
        return t;
    });
    private long gen;
    private long nextId = 1;
    private volatile Subject subject;

    private static final class Ctx {
        final String task;
        final long gen;

        Ctx(String task, long gen) {
            this.task = task;
            this.gen = gen;
        }
    }

    /** One pending request: its answer, handed from the reading thread to the caller. */
    private static final class Slot {
        private boolean done, cancelled;
        private Object value;
        private String error, message;

        synchronized void complete(Object value, String error, String message) {
            this.value = value;
            this.error = error;
            this.message = message;
            done = true;
            notifyAll();
        }

        synchronized void cancel() {
            cancelled = done = true;
            notifyAll();
        }

        synchronized Object await() {
            boolean interrupted = false;
            while (!done) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) Thread.currentThread().interrupt();
            if (cancelled) throw new Cancelled();
            if (error == null) return value;
            if (error.equals("timeout")) throw new StoreTimeout(message);
            if (error.equals("unavailable")) throw new StoreUnavailable(message);
            throw new IllegalStateException("harness error " + error + ": " + message);
        }
    }

    private Protocol(SubjectFactory factory, Capabilities capabilities) {
        this.factory = factory;
        this.capabilities = capabilities;
    }

    /** Serve the protocol until stdin closes, then exit. */
    public static void serve(SubjectFactory factory, Capabilities capabilities) {
        new Protocol(factory, capabilities).run();
    }

    private void send(Map<String, Object> msg) {
        StringBuilder b = new StringBuilder(128);
        Json.write(b, msg);
        b.append('\n');
        try {
            out.write(b.toString().getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException e) {
            Runtime.getRuntime().halt(0); // the harness is gone
        }
    }

    Object call(String target, Map<String, Object> args) {
        Ctx ctx = current.get();
        if (ctx == null) {
            throw new IllegalStateException("env " + target + " called outside an operation or worker (a thread of your own?): "
                    + "every store access must come from an operation, the factory or a spawned worker");
        }
        Slot slot = new Slot();
        synchronized (this) {
            if (ctx.gen != gen) throw new Cancelled();
            long id = nextId++;
            pending.put(id, slot);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("type", "call");
            m.put("id", id);
            m.put("task", ctx.task);
            m.put("target", target);
            m.put("args", args);
            send(m);
        }
        return slot.await();
    }

    void spawn(Worker worker) {
        String task = (String) call("spawn", Env.args());
        synchronized (this) {
            workers.put(task, worker);
        }
    }

    private synchronized void answer(Ctx ctx, Map<String, Object> msg) {
        if (ctx.gen == gen) send(msg);
    }

    private static void failure(Map<String, Object> msg, Throwable e) {
        if (e instanceof StoreException) {
            msg.put("error", ((StoreException) e).kind());
            msg.put("message", String.valueOf(e.getMessage()));
            return;
        }
        msg.put("error", "subject");
        msg.put("exception", e.getClass().getSimpleName());
        StackTraceElement[] where = e.getStackTrace();
        String text = e.getMessage() == null ? e.toString() : e.getMessage();
        msg.put("message", where.length > 0 ? text + " (at " + where[0] + ")" : text);
    }

    private void operate(Map<String, Object> msg) {
        String op = (String) msg.get("op");
        Ctx ctx;
        synchronized (this) {
            if ("reset".equals(op)) {
                // A new example: every pending request of the old subject ends its thread.
                gen++;
                for (Slot s : pending.values()) s.cancel();
                pending.clear();
                workers.clear();
            }
            ctx = new Ctx((String) msg.get("task"), gen);
        }
        ops.execute(() -> {
            current.set(ctx);
            Map<String, Object> reply = new LinkedHashMap<>();
            reply.put("id", msg.get("id"));
            try {
                Object value = null;
                String key = (String) msg.get("key");
                switch (op) {
                    case "reset":
                        subject = null;
                        subject = factory.create(new Env(this, ((Number) msg.get("instance")).intValue(),
                                ((Number) msg.get("incarnation")).intValue()));
                        break;
                    case "write": subject.write(key, (String) msg.get("value")); break;
                    case "read": value = subject.read(key); break;
                    case "delete": subject.delete(key); break;
                    case "flush": subject.flush(); break;
                    case "close": subject.close(); break;
                    default: throw new IllegalArgumentException("unknown operation " + op);
                }
                reply.put("type", "done");
                reply.put("value", value);
            } catch (Cancelled c) {
                return;
            } catch (Throwable e) {
                reply.put("type", "failed");
                failure(reply, e);
            } finally {
                current.remove();
            }
            answer(ctx, reply);
        });
    }

    private void start(String task) {
        Worker worker;
        Ctx ctx;
        synchronized (this) {
            worker = workers.remove(task);
            ctx = new Ctx(task, gen);
        }
        if (worker == null) fatal("the harness started task " + task + ", which was never spawned");
        Thread t = new Thread(() -> {
            current.set(ctx);
            Map<String, Object> reply = new LinkedHashMap<>();
            reply.put("type", "exit");
            reply.put("task", task);
            try {
                worker.run();
            } catch (Cancelled c) {
                return;
            } catch (Throwable e) {
                failure(reply, e);
            }
            answer(ctx, reply);
        }, "subject-worker-" + task);
        t.setDaemon(true);
        t.start();
    }

    @SuppressWarnings("unchecked")
    private void dispatch(Map<String, Object> msg) {
        String type = (String) msg.get("type");
        if ("result".equals(type) || "error".equals(type)) {
            Slot slot;
            synchronized (this) {
                slot = pending.remove(((Number) msg.get("id")).longValue());
                if (slot == null) fatal("the harness answered request " + msg.get("id") + ", which is not pending");
                if ("result".equals(type)) slot.complete(msg.get("value"), null, null);
                else slot.complete(null, (String) msg.get("error"), (String) msg.get("message"));
            }
        } else if ("op".equals(type)) {
            operate(msg);
        } else if ("start".equals(type)) {
            start((String) msg.get("task"));
        } else {
            fatal("unknown message type " + type);
        }
    }

    private static void fatal(String message) {
        System.err.println("cache_conformance: protocol error: " + message);
        System.err.flush();
        Runtime.getRuntime().halt(70);
    }

    @SuppressWarnings("unchecked")
    private void run() {
        Map<String, Object> hello = new LinkedHashMap<>();
        hello.put("type", "hello");
        hello.put("protocol", (long) VERSION);
        hello.put("subject", capabilities.name);
        hello.put("capabilities", capabilities.toJson());
        synchronized (this) {
            send(hello);
        }
        try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8), 1 << 16)) {
            String line;
            while ((line = in.readLine()) != null) {
                if (!line.isEmpty()) dispatch((Map<String, Object>) Json.parse(line));
            }
        } catch (IOException e) {
            // the harness is gone
        }
        Runtime.getRuntime().halt(0);
    }
}
