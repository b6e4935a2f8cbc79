package cacheconformance;

/** A store failed under an injected fault: {@link StoreUnavailable} or {@link StoreTimeout}. */
public class StoreException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String kind;

    public StoreException(String kind, String message) {
        super(message);
        this.kind = kind;
    }

    /** "unavailable" or "timeout", as on the wire. */
    public String kind() {
        return kind;
    }
}
