package dev.tensorloom.testkit;

/**
 * The vector width a test JVM was started for. The build reruns each family's vector contract in JVMs with
 * {@code -XX:MaxVectorSize=16} and {@code =32}, naming the width in {@code -Dtensorloom.test.vectorBytes}, so
 * 4-, 8- and 16-lane kernels are tested on every machine; this check keeps such a run from passing at the
 * wrong width.
 */
public final class VectorWidth {

    /** System property naming the vector bytes a test JVM was started for. */
    public static final String PROPERTY = "tensorloom.test.vectorBytes";

    private VectorWidth() {
    }

    /** Fails when this JVM was started for another width than {@code vectorBytes}, the kernels' own. */
    public static void assertStartedFor(int vectorBytes, String species) {
        String expected = System.getProperty(PROPERTY);
        if (expected != null && Integer.parseInt(expected.trim()) != vectorBytes) {
            throw new AssertionError("this JVM was started for " + expected + "-byte vectors, but the kernels run "
                    + species + " (" + vectorBytes + " bytes)");
        }
    }
}
