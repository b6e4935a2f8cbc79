package cacheconformance;

/** Builds a fresh subject; called at every reset (a new example, or after a crash). */
@FunctionalInterface
public interface SubjectFactory {
    Subject create(Env env) throws Exception;
}
