package io.ferrocket.interop;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.rocketmq.common.message.MessageExt;

/** Thread-safe record of the messages a consumer (or several) received, counted by id. */
final class Collector {
    private final Map<String, MsgSpec> expected = new LinkedHashMap<>();
    private final Map<String, AtomicInteger> counts = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> perInstance = new ConcurrentHashMap<>();
    private final Map<String, Set<Integer>> queuesPerInstance = new ConcurrentHashMap<>();
    private final List<String> problems = new ArrayList<>();
    private final AtomicInteger total = new AtomicInteger();

    Collector(Collection<MsgSpec> specs) {
        for (MsgSpec s : specs) {
            expected.put(s.id, s);
            counts.put(s.id, new AtomicInteger());
        }
    }

    void accept(String instance, MessageExt m) {
        total.incrementAndGet();
        perInstance.computeIfAbsent(instance, k -> new AtomicInteger()).incrementAndGet();
        queuesPerInstance.computeIfAbsent(instance, k -> ConcurrentHashMap.newKeySet()).add(m.getQueueId());
        String id = m.getUserProperty(MsgSpec.ID_PROP);
        MsgSpec spec = id == null ? null : expected.get(id);
        if (spec == null) {
            problem("unexpected message id=" + id + " tags=" + m.getTags() + " queue=" + m.getQueueId()
                + " offset=" + m.getQueueOffset());
            return;
        }
        int n = counts.get(id).incrementAndGet();
        if (n == 1) {
            String d = spec.diff(m);
            if (d != null) {
                problem(d);
            }
        }
    }

    private void problem(String p) {
        synchronized (problems) {
            if (problems.size() < 5) {
                problems.add(p);
            }
        }
    }

    int distinct() {
        int n = 0;
        for (AtomicInteger c : counts.values()) {
            if (c.get() > 0) {
                n++;
            }
        }
        return n;
    }

    int expectedCount() {
        return expected.size();
    }

    int total() {
        return total.get();
    }

    int count(String id) {
        AtomicInteger c = counts.get(id);
        return c == null ? 0 : c.get();
    }

    int duplicates() {
        int d = 0;
        for (AtomicInteger c : counts.values()) {
            if (c.get() > 1) {
                d += c.get() - 1;
            }
        }
        return d;
    }

    int receivedBy(String instance) {
        AtomicInteger c = perInstance.get(instance);
        return c == null ? 0 : c.get();
    }

    Set<Integer> queuesOf(String instance) {
        Set<Integer> q = queuesPerInstance.get(instance);
        return q == null ? new TreeSet<>() : new TreeSet<>(q);
    }

    /** Polls until every expected id arrived at least once, or the deadline passes. */
    boolean awaitAll(long timeoutMs) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (System.currentTimeMillis() < deadline) {
            if (distinct() == expected.size()) {
                return true;
            }
            Thread.sleep(50);
        }
        return distinct() == expected.size();
    }

    List<String> missing(int max) {
        List<String> m = new ArrayList<>();
        for (Map.Entry<String, AtomicInteger> e : counts.entrySet()) {
            if (e.getValue().get() == 0 && m.size() < max) {
                m.add(e.getKey());
            }
        }
        return m;
    }

    /** Throws a Failure describing content mismatches, unexpected and missing messages. */
    void assertComplete(String what) {
        synchronized (problems) {
            if (!problems.isEmpty()) {
                throw Scenario.fail(what + ": " + String.join("; ", problems));
            }
        }
        int got = distinct();
        if (got != expected.size()) {
            throw Scenario.fail(what + ": received " + got + " of " + expected.size()
                + " messages, missing e.g. " + missing(5));
        }
    }

    void assertNoDuplicates(String what) {
        int d = duplicates();
        if (d > 0) {
            throw Scenario.fail(what + ": " + d + " duplicate deliveries (" + total() + " deliveries for "
                + expected.size() + " messages)");
        }
    }
}
