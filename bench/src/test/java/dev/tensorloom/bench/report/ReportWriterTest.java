package dev.tensorloom.bench.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.Optional;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportWriterTest {

    @TempDir
    Path dir;

    private static final MachineDescription MACHINE = new MachineDescription("Linux 6.8.0 (amd64)", "AMD EPYC 9R14",
            2, "Eclipse Adoptium OpenJDK 64-Bit Server VM 25+36-LTS", 4L << 30,
            ZonedDateTime.of(2026, 11, 27, 9, 30, 0, 0, ZoneOffset.UTC));

    @Test
    void writesTitleMachineSectionTextTablesAndChartsInOrder() throws IOException {
        MarkdownTable table = new MarkdownTable("engine", "ms").row("tensorloom", "1.2");
        BarChart chart = new BarChart("Latency", "engine", "ms").add("p50", "tensorloom", 1.2);
        Path report = new ReportWriter("Bench report", MACHINE)
                .section("Latency")
                .paragraph("Median of 20 runs.")
                .table(table)
                .chart("latency.png", chart, 400, 300)
                .image("Profile", "profile flame.png")
                .write(dir.resolve("out/report.md"));

        String expected = """
                # Bench report

                ## Machine

                | Property | Value                                               |
                | :------- | :-------------------------------------------------- |
                | OS       | Linux 6.8.0 (amd64)                                 |
                | CPU      | AMD EPYC 9R14                                       |
                | Cores    | 2                                                   |
                | JVM      | Eclipse Adoptium OpenJDK 64-Bit Server VM 25+36-LTS |
                | Max heap | 4.0 GiB                                             |
                | Date     | 2026-11-27T09:30:00Z                                |

                ## Latency

                Median of 20 runs.

                | engine     | ms  |
                | :--------- | :-- |
                | tensorloom | 1.2 |

                ![Latency](latency.png)

                ![Profile](<profile flame.png>)
                """;
        assertEquals(expected, Files.readString(report));
        Path png = dir.resolve("out/latency.png");
        assertNotNull(ImageIO.read(png.toFile()), "the chart next to the report must be a PNG");
        assertEquals(400, ImageIO.read(png.toFile()).getWidth());
    }

    @Test
    void describesTheCurrentMachine() {
        MachineDescription here = MachineDescription.current();
        assertTrue(here.cores() >= 1);
        assertTrue(here.maxHeap() > 0);
        assertFalse(here.cpu().isBlank());
        assertTrue(here.jvm().contains(Runtime.version().toString()), here.jvm());

        String markdown = new ReportWriter("Now").toMarkdown();
        assertTrue(markdown.startsWith("# Now\n\n## Machine\n\n| Property | Value"), markdown);
        for (String property : new String[] {"| OS ", "| CPU ", "| Cores ", "| JVM ", "| Max heap ", "| Date "}) {
            assertTrue(markdown.contains(property), property + " missing from\n" + markdown);
        }
    }

    @Test
    void readsTheCpuModelOfX86AndArmCpuinfo() throws IOException {
        Path x86 = Files.writeString(dir.resolve("x86"), """
                processor\t: 0
                vendor_id\t: GenuineIntel
                model name\t: Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz
                flags\t\t: fpu vme
                """);
        assertEquals(Optional.of("Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz"), MachineDescription.cpuModel(x86));

        Path arm = Files.writeString(dir.resolve("arm"), """
                processor\t: 0
                BogoMIPS\t: 243.75
                CPU implementer\t: 0x41
                CPU part\t: 0xd40
                """);
        assertEquals(Optional.of("CPU implementer 0x41, part 0xd40"), MachineDescription.cpuModel(arm));
        assertEquals(Optional.empty(), MachineDescription.cpuModel(dir.resolve("missing")));
    }

    @Test
    void chartsMustLieInTheReportsFolder() {
        ReportWriter writer = new ReportWriter("r", MACHINE);
        BarChart chart = new BarChart("c", "x", "y").add("s", "a", 1);
        assertThrows(IllegalArgumentException.class, () -> writer.chart("../up.png", chart));
        assertThrows(IllegalArgumentException.class, () -> writer.image("alt", "sub/dir.png"));
    }
}
