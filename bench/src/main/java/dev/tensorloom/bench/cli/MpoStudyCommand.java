package dev.tensorloom.bench.cli;

import dev.tensorloom.bench.mpo.MpoStudies;
import dev.tensorloom.bench.report.MarkdownTable;
import dev.tensorloom.runtime.bert.BertOnnxLoader;
import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.runtime.embed.ModelFiles;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.testkit.WordNetSentences;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code mpo-study}: the MPO family's studies on the bundled MiniLM and BERT-base sizes, printed as tables. */
@Command(name = "mpo-study", mixinStandardHelpOptions = true,
        description = "MPO studies on the bundled MiniLM: stable ranks, OPF's deep expansion, shared central tensors"
                + " (MPOBERT), mixture of MPO experts (MPOE).")
final class MpoStudyCommand implements Callable<Integer> {

    enum Study { STABLE_RANK, OPF, SHARING, MOE }

    @Option(names = "--study", required = true, description = "STABLE_RANK, OPF, SHARING or MOE")
    Study study;

    @Option(names = "--backend", description = "scalar or vector (default: the fastest available)")
    String backend;

    @Option(names = "--top", defaultValue = "2", description = "stable rank: matrices chosen per type (default: ${DEFAULT-VALUE})")
    int top;

    @Option(names = "--cores", description = "MPO cores (default: 15 for OPF, 3 otherwise)")
    Integer cores;

    @Option(names = "--bond-cap", defaultValue = "64", description = "sharing and MOE: bond cap (default: ${DEFAULT-VALUE})")
    int bondCap;

    @Option(names = "--texts", defaultValue = "64", description = "sharing: held-out WordNet glosses (default: ${DEFAULT-VALUE})")
    int texts;

    @Option(names = "--experts", defaultValue = "8", description = "MOE: experts (default: ${DEFAULT-VALUE})")
    int experts;

    @Option(names = "--top-k", defaultValue = "2", description = "MOE: experts per token (default: ${DEFAULT-VALUE})")
    int topK;

    @Option(names = "--shapes", split = ",", defaultValue = "768x768,768x3072",
            description = "OPF: matrix shapes (default: ${DEFAULT-VALUE})")
    List<String> shapes;

    @Override
    public Integer call() throws Exception {
        Backend b = backend != null ? BackendProvider.byName(backend) : BackendProvider.backend();
        List<MarkdownTable> tables = new ArrayList<>();
        if (study == Study.OPF) {
            List<int[]> dims = shapes.stream().map(s -> s.split("x"))
                    .map(p -> new int[] {Integer.parseInt(p[0].trim()), Integer.parseInt(p[1].trim())}).toList();
            tables.add(MpoStudies.opf(b, dims, cores == null ? 15 : cores));
        } else {
            try (BertWeights weights = BertOnnxLoader.load(ModelFiles.bundledMiniLm().onnx())) {
                int n = cores == null ? 3 : cores;
                int layers = weights.layers().size();
                switch (study) {
                    case STABLE_RANK -> tables.addAll(MpoStudies.stableRanks(weights, top));
                    case SHARING -> {
                        Map<String, List<List<Integer>>> groupings = new LinkedHashMap<>();
                        groupings.put("halves", List.of(IntStream.range(0, layers / 2).boxed().toList(),
                                IntStream.range(layers / 2, layers).boxed().toList()));
                        groupings.put("all layers", List.of(IntStream.range(0, layers).boxed().toList()));
                        groupings.put("none", IntStream.range(0, layers).mapToObj(List::of).toList());
                        // Held-out text: glosses from the end of the list, which no study fitted anything on.
                        List<String> all = WordNetSentences.glosses(texts * 4);
                        tables.addAll(MpoStudies.sharing(weights, groupings, n, bondCap, b,
                                all.subList(all.size() - texts, all.size())));
                    }
                    case MOE -> tables.add(MpoStudies.moe(weights, 0, experts, topK, n, bondCap,
                            new int[] {1, 8, 64}));
                    default -> throw new IllegalStateException(study.toString());
                }
            }
        }
        for (MarkdownTable t : tables) {
            System.out.println(t.toMarkdown());
        }
        return 0;
    }
}
