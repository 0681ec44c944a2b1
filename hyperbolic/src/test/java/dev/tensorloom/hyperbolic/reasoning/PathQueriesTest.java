package dev.tensorloom.hyperbolic.reasoning;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.testkit.WordNetNouns;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Path queries over a graph worked by hand, and over WordNet 3.1's noun pointers with a held-out split: training
 * queries are answered by the training graph, every test query has an answer only a held-out triple reaches.
 */
class PathQueriesTest {

    /**
     * dog -hypernym-> canine, dog -hypernym-> pet, canine -hypernym-> carnivore, pet -hypernym-> animal,
     * dog -part-> tail, canine -part-> paw.
     */
    private static final List<String> ENTITIES = List.of("dog", "canine", "pet", "carnivore", "animal", "tail", "paw");
    private static final List<String> RELATIONS = List.of("hypernym", "part");
    private static final KnowledgeGraph TOY = KnowledgeGraph.of(ENTITIES, RELATIONS,
            new int[] {0, 0, 1, 2, 0, 1, 1}, new int[] {0, 0, 0, 0, 1, 1, 1}, new int[] {1, 2, 3, 4, 5, 6, 6});

    private static KnowledgeGraph wordnet;
    private static KnowledgeGraph.Split split;

    @BeforeAll
    static void load() {
        WordNetNouns.Pointers p = WordNetNouns.pointers();
        wordnet = KnowledgeGraph.of(p.entities(), p.relations(), p.heads(), p.relationIds(), p.tails());
        split = wordnet.split(0.05, 17);
    }

    @Test
    void answersFollowTheRelationsInOrder() {
        assertEquals(6, TOY.triples(), "the repeated triple counts once");
        assertArrayEquals(new int[] {1, 2}, PathQueries.answers(TOY, 0, new int[] {0}));
        assertArrayEquals(new int[] {3, 4}, PathQueries.answers(TOY, 0, new int[] {0, 0}));
        assertArrayEquals(new int[] {6}, PathQueries.answers(TOY, 0, new int[] {0, 1}));
        assertArrayEquals(new int[0], PathQueries.answers(TOY, 0, new int[] {1, 1}));
        // Without canine -part-> paw, no dog-hypernym-part answer is left: paw is that query's hard answer.
        KnowledgeGraph train = KnowledgeGraph.of(ENTITIES, RELATIONS, new int[] {0, 0, 1, 2, 0},
                new int[] {0, 0, 0, 0, 1}, new int[] {1, 2, 3, 4, 5});
        List<PathQuery> test = PathQueries.test(TOY, train, 2, 1, 10, 3);
        assertEquals(new PathQuery(0, new int[] {0, 1}, new int[] {6}, new int[] {6}), test.getFirst());
    }

    @Test
    void wordnetQueriesOfOneTwoAndThreeHopsRespectTheSplit() {
        KnowledgeGraph train = split.train();
        System.out.printf("WordNet KG %s; train %s, %d held out%n", wordnet, train, split.testTriples());
        assertEquals(wordnet.triples(), train.triples() + split.testTriples());
        for (int k = 0; k < split.testTriples(); k += 97) {
            assertFalse(train.contains(split.testHeads()[k], split.testRelations()[k], split.testTails()[k]));
            assertTrue(wordnet.contains(split.testHeads()[k], split.testRelations()[k], split.testTails()[k]));
        }
        for (int hops = 1; hops <= 3; hops++) {
            List<PathQuery> trainQueries = PathQueries.training(train, hops, 300, 100, hops);
            List<PathQuery> testQueries = PathQueries.test(wordnet, train, hops, 100, 100, 100 + hops);
            Set<List<Integer>> trainKeys = new HashSet<>();
            for (PathQuery q : trainQueries) {
                assertEquals(hops, q.hops());
                assertTrue(q.answers().length >= 1 && q.answers().length <= 100);
                assertArrayEquals(q.answers(), PathQueries.answers(train, q.anchor(), q.relations()));
                trainKeys.add(key(q));
            }
            assertEquals(300, trainKeys.size(), "training queries are distinct");
            for (PathQuery q : testQueries) {
                int[] easy = PathQueries.answers(train, q.anchor(), q.relations());
                assertArrayEquals(q.answers(), PathQueries.answers(wordnet, q.anchor(), q.relations()));
                assertTrue(q.hardAnswers().length >= 1);
                for (int a : q.hardAnswers()) {
                    assertTrue(Arrays.binarySearch(easy, a) < 0, "a hard answer is reachable in training");
                    assertTrue(Arrays.binarySearch(q.answers(), a) >= 0);
                }
            }
            assertEquals(testQueries, PathQueries.test(wordnet, train, hops, 100, 100, 100 + hops),
                    "a function of the seed");
        }
    }

    @Test
    void unknownNamesAndEmptyGraphsAreClearErrors() {
        String entity = assertThrows(IllegalArgumentException.class, () -> wordnet.entity("dgo.n.01")).getMessage();
        assertTrue(entity.startsWith("unknown entity 'dgo.n.01': did you mean") && entity.contains("dog.n.01"), entity);
        String relation = assertThrows(IllegalArgumentException.class, () -> wordnet.relation("part_meronim"))
                .getMessage();
        assertEquals("unknown relation 'part_meronim': did you mean part_meronym, part_holonym?", relation);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TOY.relation("owns")).getMessage()
                .contains("the relations are [hypernym, part]"));
        assertThrows(IllegalArgumentException.class, () -> KnowledgeGraph.of(List.of(), RELATIONS, new int[0],
                new int[0], new int[0]));
        KnowledgeGraph empty = KnowledgeGraph.of(ENTITIES, RELATIONS, new int[0], new int[0], new int[0]);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> PathQueries.training(empty, 1, 1, 10, 1))
                .getMessage().contains("it has no triples"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> KnowledgeGraph.of(ENTITIES, RELATIONS,
                new int[] {0}, new int[] {2}, new int[] {1})).getMessage().contains("triple 0 (0, 2, 1) is outside"));
    }

    private static List<Integer> key(PathQuery q) {
        List<Integer> key = new java.util.ArrayList<>();
        key.add(q.anchor());
        for (int r : q.relations()) {
            key.add(r);
        }
        return key;
    }
}
