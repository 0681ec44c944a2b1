package dev.tensorloom.bindings;

/** What a failed {@code MethodHandle.invokeExact} of a downcall becomes. */
final class Downcalls {

    private Downcalls() {
    }

    /** A downcall throws nothing checked; runtime exceptions (a closed arena, a heap segment) pass as they are. */
    static RuntimeException unchecked(Throwable thrown) {
        if (thrown instanceof RuntimeException runtime) {
            return runtime;
        }
        if (thrown instanceof Error error) {
            throw error;
        }
        return new IllegalStateException("a downcall threw a checked exception", thrown);
    }
}
