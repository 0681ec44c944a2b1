package dev.tensorloom.runtime.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.tensorloom.runtime.tokenize.TokenBatch;
import org.junit.jupiter.api.Test;

/** The maps between padded positions and real tokens, worked by hand. */
class TokenPackingTest {

    private static TokenBatch batch(int batch, int seq, float... mask) {
        int[] lengths = new int[batch];
        for (int i = 0; i < mask.length; i++) {
            lengths[i / seq] += mask[i] != 0f ? 1 : 0;
        }
        int[] ids = new int[mask.length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = 100 + i;
        }
        return new TokenBatch(batch, seq, ids, new int[mask.length], mask, lengths);
    }

    @Test
    void trailingPaddingReadsItsTextsLastRealToken() {
        // Texts of 3, 1 and 4 tokens padded to 4.
        TokenPacking p = TokenPacking.of(batch(3, 4, 1, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1));
        assertEquals(8, p.realTokens());
        assertArrayEquals(new int[] {0, 1, 2, 4, 8, 9, 10, 11}, p.realPositions());
        assertArrayEquals(new int[] {0, 1, 2, 2, 3, 3, 3, 3, 4, 5, 6, 7}, p.paddedSources());
        assertArrayEquals(new int[] {100, 101, 102, 104, 108, 109, 110, 111}, p.atRealTokens(batch(3, 4,
                1, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1).ids()));
    }

    @Test
    void paddingBeforeAndBetweenRealTokensReadsTheNearestEarlierOneOrElseTheFirst() {
        TokenPacking p = TokenPacking.of(batch(2, 4, 0, 1, 0, 1, 1, 1, 1, 0));
        assertArrayEquals(new int[] {1, 3, 4, 5, 6}, p.realPositions());
        assertArrayEquals(new int[] {0, 0, 0, 1, 2, 3, 4, 4}, p.paddedSources());
    }

    @Test
    void aBatchWithoutPaddingOrWithATextOfPaddingAloneDoesNotPack() {
        assertNull(TokenPacking.of(batch(2, 2, 1, 1, 1, 1)));
        assertNull(TokenPacking.of(batch(2, 2, 1, 1, 0, 0)));
        assertNull(TokenPacking.of(batch(1, 1, 0)));
    }
}
