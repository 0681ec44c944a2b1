package dev.tensorloom.bench.cli;

import dev.tensorloom.bench.report.MarkdownTable;
import dev.tensorloom.bench.report.ProgressBars;
import dev.tensorloom.hyperbolic.PoincareKernels;
import dev.tensorloom.hyperbolic.reasoning.KnowledgeGraph;
import dev.tensorloom.hyperbolic.reasoning.PathQueries;
import dev.tensorloom.hyperbolic.reasoning.PathQuery;
import dev.tensorloom.hyperbolic.reasoning.PathReasoner.Answer;
import dev.tensorloom.hyperbolic.reasoning.PathReasoner.Variant;
import dev.tensorloom.hyperbolic.reasoning.PathReasoner;
import dev.tensorloom.hyperbolic.reasoning.QueryEvaluation.HopScores;
import dev.tensorloom.hyperbolic.reasoning.QueryEvaluation;
import dev.tensorloom.hyperbolic.reasoning.ReasonerTrainer.Options;
import dev.tensorloom.hyperbolic.reasoning.ReasonerTrainer;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.testkit.WordNetNouns;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code reason}: the HyperMR-style multi-stage path reasoner on a neighbourhood of WordNet 3.1's noun pointer
 * graph. Trains the Euclidean, shared-curvature and per-stage-curvature variants side by side on 1-, 2- and 3-hop
 * queries, reports filtered MRR, Hits@1 and Hits@10 per hop count on held-out queries, saves every model, and
 * answers a query typed as {@code "anchor relation relation ..."} (from the models just trained, or from a saved
 * one with {@code --model}).
 */
@Command(name = "reason", mixinStandardHelpOptions = true,
        description = "Trains the multi-stage hyperbolic path reasoner (Euclidean, one shared curvature, a curvature"
                + " per stage) on a WordNet 3.1 neighbourhood, reports filtered MRR/Hits per hop count, saves the"
                + " models and answers a query such as \"dog.n.01 hypernym hypernym\".")
final class ReasonCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--entities", defaultValue = "500",
            description = "entities in the neighbourhood trained on (default: ${DEFAULT-VALUE})")
    int entities;

    @Option(names = "--centre", defaultValue = "mammal.n.01",
            description = "the entity the neighbourhood is grown from (default: ${DEFAULT-VALUE})")
    String centre;

    @Option(names = "--variants", split = ",", defaultValue = "EUCLIDEAN,SHARED,PER_STAGE",
            description = "EUCLIDEAN, SHARED and/or PER_STAGE (default: ${DEFAULT-VALUE})")
    List<Variant> variants;

    @Option(names = "--dim", defaultValue = "16", description = "embedding dimension (default: ${DEFAULT-VALUE})")
    int dim;

    @Option(names = "--epochs", defaultValue = "30", description = "epochs (default: ${DEFAULT-VALUE})")
    int epochs;

    @Option(names = "--lr", defaultValue = "0.01", description = "Adam's learning rate (default: ${DEFAULT-VALUE})")
    double lr;

    @Option(names = "--ball-lr", defaultValue = "0.05",
            description = "Riemannian Adam's rate for points of a ball (default: ${DEFAULT-VALUE})")
    double ballLr;

    @Option(names = "--curvature-lr", defaultValue = "0.01",
            description = "the curvatures' learning rate (default: ${DEFAULT-VALUE})")
    double curvatureLr;

    @Option(names = "--negatives", defaultValue = "32", description = "negatives per query (default: ${DEFAULT-VALUE})")
    int negatives;

    @Option(names = "--train-queries", defaultValue = "500",
            description = "training queries per hop count (default: ${DEFAULT-VALUE})")
    int trainQueries;

    @Option(names = "--test-queries", defaultValue = "100",
            description = "test queries per hop count (default: ${DEFAULT-VALUE})")
    int testQueries;

    @Option(names = "--max-answers", defaultValue = "20",
            description = "skip queries with more answers than this (default: ${DEFAULT-VALUE})")
    int maxAnswers;

    @Option(names = "--test-fraction", defaultValue = "0.1",
            description = "share of triples held out (default: ${DEFAULT-VALUE})")
    double testFraction;

    @Option(names = "--seed", defaultValue = "1", description = "random seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--query", description = "a query to answer: an entity, then 1 to 3 relations, space-separated")
    String query;

    @Option(names = "--top", defaultValue = "10", description = "answers shown for --query (default: ${DEFAULT-VALUE})")
    int top;

    @Option(names = "--model", description = "answer --query from this saved model instead of training")
    Path model;

    @Option(names = "--out", defaultValue = "reason",
            description = "folder for the models and the report (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--backend", description = "scalar or vector (default: the fastest host backend)")
    String backend;

    @Override
    public Integer call() throws IOException {
        Backend host = backend != null ? BackendProvider.byName(backend) : BackendProvider.backend();
        if (host.name().equals("cuda")) {
            host = BackendProvider.byName("vector");  // the reasoner computes on host tensors
        }
        ReasonerTrainer trainer = new ReasonerTrainer(host);
        PrintStream console = System.out;
        if (model != null) {
            if (query == null) {
                throw new ParameterException(spec.commandLine(), "--model needs --query: a saved model only answers");
            }
            PathReasoner loaded = PathReasoner.load(model);
            console.printf(Locale.ROOT, "%s: %s, dim %d, %,d entities, %d relations%n", model, loaded.variant(),
                    loaded.dim(), loaded.entities().size(), loaded.relations().size());
            answer(console, loaded, trainer.kernels());
            return 0;
        }
        if (entities < negatives + 2 || dim < 1 || epochs < 0 || variants.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "--entities must exceed --negatives + 1, --dim be >= 1,"
                    + " --epochs >= 0 and --variants name one at least; got " + entities + ", " + negatives + ", "
                    + dim + ", " + epochs + ", " + variants);
        }
        long loadStart = System.nanoTime();
        WordNetNouns.Pointers p = WordNetNouns.pointers();
        KnowledgeGraph wordnet = KnowledgeGraph.of(p.entities(), p.relations(), p.heads(), p.relationIds(),
                p.tails());
        KnowledgeGraph graph = wordnet.neighbourhood(centre, entities);
        KnowledgeGraph.Split split = graph.split(testFraction, seed);
        List<PathQuery> train = new ArrayList<>();
        List<PathQuery> test = new ArrayList<>();
        for (int hops = 1; hops <= PathReasoner.STAGES; hops++) {
            train.addAll(PathQueries.training(split.train(), hops, trainQueries, maxAnswers, seed + hops));
            test.addAll(PathQueries.test(graph, split.train(), hops, testQueries, maxAnswers, seed + 10 + hops));
        }
        console.printf(Locale.ROOT, "WordNet 3.1 noun pointers around %s: %s, %d held out (read in %.1f s);"
                + " %d training and %d test queries; backend %s%n", centre, graph, split.testTriples(),
                seconds(loadStart), train.size(), test.size(), host.name());
        Files.createDirectories(out);
        Options o = new Options(dim, epochs, lr, ballLr, curvatureLr, negatives, 32, 1.0, 1e-2, seed);
        MarkdownTable table = new MarkdownTable("variant", "hops", "test queries", "MRR", "Hits@1", "Hits@10",
                "curvatures", "train s");
        PathReasoner last = null;
        for (Variant v : variants) {
            long start = System.nanoTime();
            PathReasoner m;
            try (ProgressBar bar = ProgressBars.start("reason " + v.name().toLowerCase(Locale.ROOT),
                    (long) train.size() * epochs)) {
                m = trainer.train(split.train(), train, v, o, new ReasonerTrainer.Listener() {
                    @Override
                    public void batchDone(int queries) {
                        bar.stepBy(queries);
                    }

                    @Override
                    public void epochDone(int epoch, double meanLoss) {
                        bar.setExtraMessage(String.format(Locale.ROOT, "epoch %d loss %.3f", epoch + 1, meanLoss));
                    }
                });
            }
            double trainSeconds = seconds(start);
            for (HopScores s : QueryEvaluation.evaluate(m, trainer.kernels(), test)) {
                table.row(v.name().toLowerCase(Locale.ROOT), s.hops(), s.queries(), format("%.3f", s.mrr()),
                        format("%.3f", s.hitsAt1()), format("%.3f", s.hitsAt10()), curvatures(m),
                        format("%.1f", trainSeconds));
            }
            m.save(out.resolve("reason-" + v.name().toLowerCase(Locale.ROOT) + ".txt"));
            last = m;
        }
        String report = "# Multi-stage path reasoning: WordNet 3.1 around " + centre + "\n\n"
                + String.format(Locale.ROOT, "%s, %.0f%% of triples held out; %d training queries per hop count,"
                        + " test queries with a held-out answer (at most %d answers each); dim %d, %d epochs, Adam"
                        + " %.3g (Riemannian %.3g, curvatures %.3g), %d negatives, seed %d. Filtered ranking of the hard"
                        + " answers.%n%n", graph, 100 * testFraction, trainQueries, maxAnswers, dim, epochs, lr,
                        ballLr, curvatureLr, negatives, seed)
                + table.toMarkdown();
        Path md = out.resolve("reason.md");
        Files.writeString(md, report, StandardCharsets.UTF_8);
        console.println();
        console.print(table.toMarkdown());
        console.println("report: " + md + "; models: " + out + "/reason-*.txt");
        if (query != null) {
            console.println("answered by the " + last.variant() + " model:");
            answer(console, last, trainer.kernels());
        }
        return 0;
    }

    private void answer(PrintStream console, PathReasoner m, PoincareKernels kernels) {
        List<String> words = Arrays.stream(query.trim().split("\\s+")).toList();
        if (words.size() < 2) {
            throw new ParameterException(spec.commandLine(), "--query needs an entity and 1 to "
                    + PathReasoner.STAGES + " relations, got '" + query + "'");
        }
        List<Answer> answers = m.answer(kernels, words.getFirst(), words.subList(1, words.size()), top);
        console.println(query + " ?");
        for (int i = 0; i < answers.size(); i++) {
            console.printf(Locale.ROOT, "%3d. %-32s d = %.4f%n", i + 1, answers.get(i).entity(),
                    answers.get(i).distance());
        }
    }

    private static String curvatures(PathReasoner m) {
        if (m.variant() == Variant.EUCLIDEAN) {
            return "-";
        }
        if (m.variant() == Variant.SHARED) {
            return format("%.3f", m.curvature(0));
        }
        List<String> cs = new ArrayList<>();
        for (int s = 0; s < PathReasoner.STAGES; s++) {
            cs.add(format("%.3f", m.curvature(s)));
        }
        return String.join(" / ", cs);
    }

    private static double seconds(long start) {
        return (System.nanoTime() - start) / 1e9;
    }

    private static String format(String pattern, double value) {
        return String.format(Locale.ROOT, pattern, value);
    }
}
