package dev.tensorloom.runtime.kernel.vector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The choice of twelve-row tiles from the property and from cpuinfo texts as Linux writes them. */
class TallTilesTest {

    @TempDir
    Path dir;

    private Path cpuinfo(String vendor) throws IOException {
        return Files.writeString(dir.resolve("cpuinfo"), """
                processor\t: 0
                vendor_id\t: %s
                cpu family\t: 6
                model name\t: Some CPU

                processor\t: 1
                vendor_id\t: AuthenticAMD
                """.formatted(vendor));
    }

    @Test
    void intelCoresTakeThemAndOthersDoNot() throws IOException {
        assertTrue(TallTiles.chosen(null, cpuinfo("GenuineIntel")));
        assertFalse(TallTiles.chosen(" ", cpuinfo("AuthenticAMD")));
        assertFalse(TallTiles.chosen(null, cpuinfo("HygonGenuine")));
    }

    @Test
    void withoutAVendorLineOrAFileTheyAreOff() throws IOException {
        Path arm = Files.writeString(dir.resolve("arm"), "processor\t: 0\nCPU implementer\t: 0x41\n");
        assertFalse(TallTiles.chosen(null, arm));
        assertFalse(TallTiles.chosen(null, dir.resolve("absent")));
    }

    @Test
    void thePropertyOverridesTheVendor() throws IOException {
        assertFalse(TallTiles.chosen("false", cpuinfo("GenuineIntel")));
        assertTrue(TallTiles.chosen(" true ", cpuinfo("AuthenticAMD")));
    }

    @Test
    void aPropertyThatIsNotABooleanIsRefusedByName() throws IOException {
        Path amd = cpuinfo("AuthenticAMD");
        var e = assertThrows(IllegalArgumentException.class, () -> TallTiles.chosen("yes", amd));
        assertTrue(e.getMessage().contains(TallTiles.PROPERTY) && e.getMessage().contains("'yes'"), e.getMessage());
    }

    @Test
    void theBuildsTestsRunTheTwelveRowKernelWhereverVectorsAre512Bit() {
        // The surefire configuration sets the property, so the contract tests cover packedTall on any maker's core.
        assertEquals(GemmMicroKernel.WIDE, GemmMicroKernel.TALL);
    }
}
