package cacheconformance;

/** The body of a background worker (see {@link Env#spawn}). */
@FunctionalInterface
public interface Worker {
    void run() throws Exception;
}
