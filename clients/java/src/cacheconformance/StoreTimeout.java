package cacheconformance;

/** The call timed out: it may or may not have taken effect. */
public class StoreTimeout extends StoreException {
    private static final long serialVersionUID = 1L;

    public StoreTimeout(String message) {
        super("timeout", message);
    }
}
