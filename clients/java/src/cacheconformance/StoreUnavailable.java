package cacheconformance;

/** The store is down: the call did nothing. */
public class StoreUnavailable extends StoreException {
    private static final long serialVersionUID = 1L;

    public StoreUnavailable(String message) {
        super("unavailable", message);
    }
}
