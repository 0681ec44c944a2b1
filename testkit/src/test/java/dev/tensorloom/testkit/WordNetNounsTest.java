package dev.tensorloom.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class WordNetNounsTest {

    @Test
    void namesAreNltkStyleAndDistinctAndLinksAreTheKnownOnes() {
        long start = System.nanoTime();
        WordNetNouns.Links links = WordNetNouns.isALinks();
        System.out.printf("WordNetNouns: %d synsets, %d is-a links, read in %d ms%n", links.names().size(),
                links.links(), (System.nanoTime() - start) / 1_000_000);
        List<String> names = links.names();
        assertEquals(names.size(), new HashSet<>(names).size(), "synset names must be distinct");
        // WordNet 3.0 has 82,115 noun synsets; 3.1 changed a few hundred.
        assertTrue(names.size() > 81_000 && names.size() < 83_500, "noun synsets: " + names.size());
        assertEquals(Set.of("canine.n.02", "domestic_animal.n.01"), hypernymsOf(links, "dog.n.01"));
        assertEquals(Set.of("placental.n.01"), hypernymsOf(links, "carnivore.n.01"));
        // An instance link: Paris is an instance of a national capital.
        assertTrue(hypernymsOf(links, "paris.n.01").contains("national_capital.n.01"), hypernymsOf(links, "paris.n.01")
                .toString());
        // entity.n.01 is the one root of the noun hierarchy.
        int roots = 0;
        boolean[] hasHypernym = new boolean[names.size()];
        for (int h : links.hyponyms()) {
            hasHypernym[h] = true;
        }
        for (int i = 0; i < names.size(); i++) {
            if (!hasHypernym[i]) {
                roots++;
                assertEquals("entity.n.01", names.get(i));
            }
        }
        assertEquals(1, roots);
    }

    private static Set<String> hypernymsOf(WordNetNouns.Links links, String name) {
        int i = links.names().indexOf(name);
        assertTrue(i >= 0, name + " not found");
        Set<String> out = new HashSet<>();
        for (int k = 0; k < links.links(); k++) {
            if (links.hyponyms()[k] == i) {
                out.add(links.names().get(links.hypernyms()[k]));
            }
        }
        return out;
    }
    @Test
    void pointersAreARealKnowledgeGraphWithInverseRelationsThatAgree() {
        WordNetNouns.Pointers kg = WordNetNouns.pointers();
        System.out.printf("WordNet noun pointers: %d triples over %d relations %s%n", kg.triples(),
                kg.relations().size(), kg.relations());
        for (String r : List.of("hypernym", "hyponym", "part_meronym", "part_holonym", "member_meronym",
                "member_holonym", "substance_meronym", "substance_holonym", "instance_hypernym", "instance_hyponym")) {
            assertTrue(kg.relations().contains(r), r + " in " + kg.relations());
        }
        // WordNet stores both directions of a semantic pointer: every hypernym triple has its hyponym triple.
        Set<Long> hyponyms = new HashSet<>();
        int hypo = kg.relations().indexOf("hyponym");
        int hyper = kg.relations().indexOf("hypernym");
        int n = kg.entities().size();
        for (int k = 0; k < kg.triples(); k++) {
            if (kg.relationIds()[k] == hypo) {
                hyponyms.add((long) kg.heads()[k] * n + kg.tails()[k]);
            }
        }
        int hypernyms = 0;
        for (int k = 0; k < kg.triples(); k++) {
            if (kg.relationIds()[k] == hyper) {
                hypernyms++;
                assertTrue(hyponyms.contains((long) kg.tails()[k] * n + kg.heads()[k]), "inverse of triple " + k);
            }
        }
        assertEquals(hyponyms.size(), hypernyms);
        // A part the reader can check: a wheel is a part of a wheeled vehicle.
        int wheel = kg.entities().indexOf("wheel.n.01");
        int vehicle = kg.entities().indexOf("wheeled_vehicle.n.01");
        int partHolonym = kg.relations().indexOf("part_holonym");
        boolean found = false;
        for (int k = 0; k < kg.triples(); k++) {
            found |= kg.heads()[k] == wheel && kg.relationIds()[k] == partHolonym && kg.tails()[k] == vehicle;
        }
        assertTrue(found, "wheel.n.01 part_holonym wheeled_vehicle.n.01");
    }
}
