package cacheconformance;

/** The implementation under test. A store failure may escape from any method. */
public interface Subject {
    /** Returns when the policy acknowledges the write. */
    void write(String key, String value) throws Exception;

    /** The value of key, or null if it has none. */
    String read(String key) throws Exception;

    /** Only if the capabilities declare delete. */
    default void delete(String key) throws Exception {
        throw new UnsupportedOperationException("delete");
    }

    /** Persist everything acknowledged so far (only if the capabilities declare flush). */
    default void flush() throws Exception {
    }

    default void close() throws Exception {
    }
}
