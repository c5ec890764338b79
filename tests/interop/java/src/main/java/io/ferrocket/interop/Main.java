package io.ferrocket.interop;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;

import org.apache.rocketmq.common.MQVersion;

/**
 * Runs every Java-client scenario against a running name server + broker and prints one line per
 * scenario: {@code PASS <name>} or {@code FAIL <name>: <reason>}. Exit code 0 iff nothing failed.
 *
 * <pre>
 * java -cp ... io.ferrocket.interop.Main --namesrv 127.0.0.1:9876 --label 5.3.3 --run-id abc
 *      --phase 1|2 --state-dir DIR [--only REGEX]
 * </pre>
 *
 * Phase 1 runs all scenarios plus the first half of the restart scenario; the runner then restarts
 * the broker and runs phase 2 (second half of the restart scenario).
 */
public final class Main {
    /** Hard limit for one scenario; every wait inside a scenario is shorter than this. */
    static final long SCENARIO_TIMEOUT_MS = 60_000;

    public static void main(String[] args) {
        // Everything printed by this class goes through one UTF-8 stream, flushed per line.
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        Config cfg;
        try {
            cfg = Config.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("usage error: " + e.getMessage());
            System.exit(2);
            return;
        }
        out.println("# java client " + MQVersion.getVersionDesc(MQVersion.CURRENT_VERSION)
            + " (maven " + cfg.label + "), namesrv " + cfg.namesrv + ", run " + cfg.runId + ", phase " + cfg.phase);

        List<Scenario> scenarios = new ArrayList<>();
        Scenarios.register(cfg, scenarios);
        Features.register(cfg, scenarios);

        ExecutorService pool = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "scenario");
            t.setDaemon(true);
            return t;
        });
        Pattern only = cfg.only == null ? null : Pattern.compile(cfg.only);
        int passed = 0;
        int failed = 0;
        for (Scenario s : scenarios) {
            String fullName = "java-" + cfg.label + "/" + s.name;
            if (s.phase != cfg.phase || (only != null && !only.matcher(fullName).find())) {
                continue;
            }
            long start = System.nanoTime();
            String failure;
            Future<?> f = pool.submit(() -> {
                s.body.run();
                return null;
            });
            try {
                f.get(SCENARIO_TIMEOUT_MS, TimeUnit.MILLISECONDS);
                failure = null;
            } catch (TimeoutException e) {
                f.cancel(true);
                failure = "timed out after " + SCENARIO_TIMEOUT_MS / 1000 + " s";
            } catch (ExecutionException e) {
                failure = describe(e.getCause());
            } catch (InterruptedException e) {
                failure = "interrupted";
            }
            if (failure == Scenario.SILENT) {
                continue; // phase 2 of a scenario whose phase 1 already failed
            }
            long ms = (System.nanoTime() - start) / 1_000_000;
            if (failure == null) {
                passed++;
                out.println("PASS " + fullName);
            } else {
                failed++;
                out.println("FAIL " + fullName + ": " + failure.replaceAll("[\\r\\n]+", " | "));
            }
            out.println("# " + fullName + " took " + ms + " ms");
        }
        out.println("# java-" + cfg.label + " phase " + cfg.phase + ": " + passed + " passed, " + failed + " failed");
        out.flush();
        // Client threads (netty, schedulers) of timed-out scenarios may linger: exit hard.
        System.exit(failed == 0 ? 0 : 1);
    }

    static String describe(Throwable t) {
        if (t instanceof Scenario.Failure) {
            return t.getMessage();
        }
        if (t instanceof Scenario.SilentSkip) {
            return Scenario.SILENT;
        }
        StringBuilder sb = new StringBuilder(t.getClass().getName());
        if (t.getMessage() != null) {
            sb.append(": ").append(t.getMessage());
        }
        Throwable c = t.getCause();
        int depth = 0;
        while (c != null && depth++ < 3) {
            sb.append(" caused by ").append(c.getClass().getName());
            if (c.getMessage() != null) {
                sb.append(": ").append(c.getMessage());
            }
            c = c.getCause();
        }
        if (sb.length() > 600) {
            sb.setLength(600);
            sb.append("...");
        }
        return sb.toString();
    }

    /** Command-line configuration. */
    static final class Config {
        String namesrv;
        String label;
        String runId;
        int phase = 1;
        String stateDir;
        String only;

        static Config parse(String[] args) {
            Config c = new Config();
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException("missing value for " + a);
                }
                String v = args[++i];
                switch (a) {
                    case "--namesrv": c.namesrv = v; break;
                    case "--label": c.label = v; break;
                    case "--run-id": c.runId = v; break;
                    case "--phase": c.phase = Integer.parseInt(v); break;
                    case "--state-dir": c.stateDir = v; break;
                    case "--only": c.only = v; break;
                    default: throw new IllegalArgumentException("unknown option " + a);
                }
            }
            if (c.namesrv == null || c.label == null || c.runId == null || c.stateDir == null) {
                throw new IllegalArgumentException("--namesrv, --label, --run-id and --state-dir are required");
            }
            if (!c.runId.matches("[A-Za-z0-9_]+")) {
                throw new IllegalArgumentException("--run-id must match [A-Za-z0-9_]+");
            }
            return c;
        }

        /** A topic/group name unique per scenario, client version and run (only [A-Za-z0-9_]). */
        String name(String what) {
            return "fr_" + label.replaceAll("[^A-Za-z0-9]", "_") + "_" + runId + "_" + what;
        }
    }
}
