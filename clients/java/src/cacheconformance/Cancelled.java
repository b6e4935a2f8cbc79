package cacheconformance;

/**
 * The harness reset the subject (a new example) while this thread's request was pending:
 * the operation or worker it ran is over. An Error, so that {@code catch (Exception e)}
 * does not swallow it; never catch it.
 */
public final class Cancelled extends Error {
    private static final long serialVersionUID = 1L;

    public Cancelled() {
        super("cancelled: the harness reset the subject", null, false, false);
    }
}
