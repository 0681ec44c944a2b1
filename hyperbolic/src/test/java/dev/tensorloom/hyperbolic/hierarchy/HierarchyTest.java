package dev.tensorloom.hyperbolic.hierarchy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The closure on small graphs worked by hand, and the errors on bad input. */
class HierarchyTest {

    /**
     * A diamond with a tail: dog → canine → carnivore → animal, dog → pet → animal, cat → carnivore.
     * Its closure, by hand: dog has 4 ancestors, canine 2, pet 1, carnivore 1, cat 2, animal none: 10 pairs.
     */
    private static Hierarchy diamond() {
        List<String> names = List.of("animal", "carnivore", "canine", "pet", "dog", "cat");
        int[] hypo = {1, 2, 3, 4, 4, 5};
        int[] hyper = {0, 1, 0, 2, 3, 1};
        return Hierarchy.closureOf(names, hypo, hyper);
    }

    @Test
    void theClosureOfADiamondHoldsEveryPathAndNoSelfLoop() {
        Hierarchy h = diamond();
        assertEquals(6, h.nodes());
        assertEquals(10, h.pairs());
        int dog = h.indexOf("dog");
        assertEquals(4, h.ancestorCount(dog));
        for (String a : List.of("animal", "carnivore", "canine", "pet")) {
            assertTrue(h.isA(dog, h.indexOf(a)), "dog is-a " + a);
        }
        assertFalse(h.isA(dog, dog));
        assertFalse(h.isA(h.indexOf("animal"), dog));
        assertFalse(h.isA(h.indexOf("cat"), h.indexOf("canine")));
        assertArrayEquals(new int[] {0, 0, 1, 1, 3, 5}, java.util.Arrays.stream(h.descendantCounts()).sorted().toArray());
        int[][] pairs = h.pairArrays();
        assertEquals(10, pairs[0].length);
        for (int e = 0; e < pairs[0].length; e++) {
            assertTrue(h.isA(pairs[0][e], pairs[1][e]));
        }
    }

    @Test
    void aSubtreeKeepsTheRootItsDescendantsAndThePairsInside() {
        Hierarchy carnivores = diamond().subtree("carnivore");
        assertEquals(List.of("carnivore", "canine", "dog", "cat"), carnivores.names());
        // dog → canine, dog → carnivore, canine → carnivore, cat → carnivore; pet and animal are outside.
        assertEquals(4, carnivores.pairs());
        assertEquals(0, carnivores.ancestorCount(carnivores.indexOf("carnivore")));
    }

    @Test
    void badInputIsNamed() {
        assertEquals("an empty hierarchy: no nodes", assertThrows(IllegalArgumentException.class,
                () -> Hierarchy.closureOf(List.of(), new int[0], new int[0])).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Hierarchy.closureOf(List.of("a", "b"),
                new int[] {0}, new int[] {2})).getMessage().contains("link 0 names node 2, outside [0, 2)"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Hierarchy.closureOf(List.of("a", "b", "c"),
                new int[] {0, 1, 2}, new int[] {1, 2, 0})).getMessage().contains("cycle"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Hierarchy.closureOf(List.of("a"),
                new int[] {0}, new int[] {0})).getMessage().contains("its own parent"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Hierarchy.closureOf(List.of("a", "a"),
                new int[0], new int[0])).getMessage().contains("appears twice"));
        String unknown = assertThrows(IllegalArgumentException.class, () -> diamond().indexOf("canin"))
                .getMessage();
        assertTrue(unknown.startsWith("no node 'canin'") && unknown.contains("did you mean canine"), unknown);
    }

    @Test
    void editDistanceCountsATranspositionAsOneEdit() {
        assertEquals(3, CloseNames.editDistance("kitten", "sitting", 5));
        assertEquals(3, CloseNames.editDistance("kitten", "sitting", 2));  // limit + 1 once past the limit
        assertEquals(0, CloseNames.editDistance("dog", "dog", 1));
        assertEquals(1, CloseNames.editDistance("dgo", "dog", 3));  // a transposition is one edit
        assertEquals(3, CloseNames.editDistance("ca", "abc", 3));  // optimal string alignment (Damerau: 2)
    }
}
