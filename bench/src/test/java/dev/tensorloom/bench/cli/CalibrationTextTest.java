package dev.tensorloom.bench.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Calibration and evaluation text never overlap, at the largest sizes the two slices allow. */
class CalibrationTextTest {

    @Test
    void theLargestCalibrationSliceSharesNoSentenceWithEvaluation() {
        List<String> calibration = CalibrationText.calibration(CalibrationText.MAX_CALIBRATION);
        List<String> evaluation = CalibrationText.evaluation(5000);
        Set<String> shared = new HashSet<>(calibration);
        shared.retainAll(new HashSet<>(evaluation));
        assertEquals(Set.of(), shared);
        assertEquals(5000, new HashSet<>(evaluation).size());
        assertThrows(IllegalArgumentException.class, () -> CalibrationText.calibration(CalibrationText.MAX_CALIBRATION
                + 1));
    }
}
