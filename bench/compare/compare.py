#!/usr/bin/env python3
"""Side-by-side benchmark of Ferrocket and the Apache RocketMQ 5.3.3 broker (issue #5).

Called by bench/compare/run.sh, which builds and fetches everything first; see run.sh for the
command line. This file owns the measuring: it starts one system at a time on the same ports with
a fresh data dir, runs the workloads with the same clients against it, stops it, alternates the
systems across repeats (A B A B ...), and writes every sample to OUT/results.json. report.py then
turns that file into the table and the plots.

What it must not know about: how the systems are built or fetched (run.sh), how figures are
summarised or drawn (report.py).
"""
import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

import probe

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))

GIB = 1 << 30
MIB = 1 << 20

# JVM settings of the reference servers. RocketMQ's own start scripts ask for 8 GiB (broker) and
# 4 GiB (name server); this is a 2-core, 24 GiB machine shared with builds, so both are scaled
# down and fixed (Xms = Xmx, so the heap size does not move during a run).
JAVA_SERVER_OPTS = ["-XX:+UseG1GC", "-XX:MaxGCPauseMillis=200",
                    "--add-opens", "java.base/java.nio=ALL-UNNAMED",
                    "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
                    "--add-exports", "java.base/jdk.internal.ref=ALL-UNNAMED"]
JAVA_BROKER_HEAP = ["-Xms1g", "-Xmx1g", "-XX:MaxDirectMemorySize=1g"]
JAVA_NAMESRV_HEAP = ["-Xms256m", "-Xmx256m"]
# The JVM running RocketMQ's benchmark Producer (a client, the same for both systems).
JAVA_CLIENT_OPTS = ["-Xms512m", "-Xmx512m", "-XX:+UseG1GC"]

COMMITLOG_FILE_SIZE = GIB  # mappedFileSizeCommitLog for both systems (RocketMQ's default)

# Workload plans. Sizes in bytes, durations in seconds.
PLANS = {
    "quick": {
        "repeats": 2,
        "warmup_secs": 8,
        "duration": 2,
        "sync": [(128, 1), (128, 8), (128, 64), (1024, 8), (4096, 8)],
        "java_producer": [(128, 8)],
        "java_producer_extra_secs": 1,
        "async": (128, 4, 32),           # size, senders, in flight per sender
        "batch": (128, 8, 16),           # size, senders, messages per batch
        "e2e": (128, 1, 2),               # size, senders, seconds
        "backlog": 150_000,
        "big_logs": [256 * MIB],
        "sync_flush": [(1024, 8)],
        "sync_flush_warmup_secs": 3,
    },
    "full": {
        "repeats": 2,
        "warmup_secs": 24,
        "duration": 5,
        "sync": [(s, t) for s in (128, 1024, 4096) for t in (1, 8, 64)],
        "java_producer": [(128, 8), (128, 64), (4096, 8)],
        "java_producer_extra_secs": 5,
        "async": (128, 4, 32),
        "batch": (128, 8, 16),
        "e2e": (128, 1, 10),
        "backlog": 1_000_000,
        "big_logs": [1 * GIB, 10 * GIB],
        "sync_flush": [(1024, 8), (1024, 64)],
        "sync_flush_warmup_secs": 10,
    },
}

LOG = None


def log(msg):
    line = "# %s %s" % (time.strftime("%H:%M:%S"), msg)
    print(line, flush=True)
    if LOG:
        LOG.write(line + "\n")
        LOG.flush()


def size_name(n):
    return "%d KiB" % (n // 1024) if n >= 1024 and n % 1024 == 0 else "%d B" % n


def gib_name(n):
    return "%g GiB" % (n / GIB) if n >= GIB else "%d MiB" % (n // MIB)


# ---------------------------------------------------------------- ports and processes

def port_free(p):
    """True when a server could listen on 127.0.0.1:p. SO_REUSEADDR, as both servers set it:
    connections left in TIME_WAIT by a killed server must not count as busy."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", p))
        return True
    except OSError:
        return False
    finally:
        s.close()


def pick_ports():
    """A name-server port N and a broker port B with B-2 (Java's fast port) and B+1 (Java's HA
    port) free too, chosen once per run so that both systems get the same ports."""
    import random
    rng = random.SystemRandom()
    while True:
        n = rng.randrange(20000, 40000)
        if port_free(n):
            break
    while True:
        b = rng.randrange(40002, 60000)
        if all(port_free(p) for p in (b - 2, b, b + 1)) and b != n:
            return n, b


def wait_ports_free(ports, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if all(port_free(p) for p in ports):
            return True
        time.sleep(0.2)
    return False


def proc_status(pid):
    """(VmRSS, RssAnon) in bytes, or None when the process is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            text = f.read()
    except OSError:
        return None
    vals = {}
    for key in ("VmRSS", "RssAnon"):
        m = re.search(r"^%s:\s+(\d+) kB" % key, text, re.M)
        vals[key] = int(m.group(1)) * 1024 if m else 0
    return vals["VmRSS"], vals["RssAnon"]


CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu_secs(pid):
    """utime + stime of a process in seconds (0 when gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def rss_outside(pid, prefix):
    """Resident bytes of a process outside the mappings of files under `prefix` (the store's
    commit log, consume queues and index files), from /proc/PID/smaps; None when gone."""
    total = 0
    skip = False
    try:
        with open("/proc/%d/smaps" % pid) as f:
            for line in f:
                if line[0] in "0123456789abcdef" and "-" in line.split(" ", 1)[0]:
                    parts = line.split(None, 5)
                    skip = len(parts) == 6 and parts[5].strip().startswith(prefix)
                elif line.startswith("Rss:") and not skip:
                    total += int(line.split()[1]) * 1024
    except OSError:
        return None
    return total


class RssSampler:
    """Samples the broker side's resident memory in a thread: summed VmRSS every 0.5 s, and
    every 2 s the part outside the mapped store files (smaps is costlier to read)."""

    def __init__(self, pids, store_prefix):
        self.pids = list(pids)
        self.prefix = store_prefix
        self.rss = []
        self.outside = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        n = 0
        while not self._stop.is_set():
            self.rss.append(sum((proc_status(p) or (0, 0))[0] for p in self.pids))
            if n % 4 == 0:
                self.outside.append(sum(rss_outside(p, self.prefix) or 0 for p in self.pids))
            n += 1
            self._stop.wait(0.5)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def peak(self):
        """(peak VmRSS, peak RSS outside the store files), bytes."""
        return max(self.rss, default=0), max(self.outside, default=0)


# ---------------------------------------------------------------- the systems under test

class System:
    """One system under test: how to launch it, which processes are its broker side."""

    name = ""

    def __init__(self, ctx):
        self.ctx = ctx
        self.procs = {}  # role -> Popen

    def pids(self):
        return [p.pid for p in self.procs.values() if p.poll() is None]

    def write_conf(self, data, flush):
        ctx = self.ctx
        path = os.path.join(data, "broker.conf")
        # One file for both systems: Ferrocket reads the same keys and logs the Java-only ones
        # (bindAddress, brokerRole) as ignored.
        lines = [
            "brokerClusterName=DefaultCluster",
            "brokerName=broker-a",
            "brokerId=0",
            "listenPort=%d" % ctx.bport,
            "brokerIP1=127.0.0.1",
            "namesrvAddr=127.0.0.1:%d" % ctx.nport,
            "bindAddress=127.0.0.1",
            "brokerRole=ASYNC_MASTER",
            "storePathRootDir=%s/store" % data,
            "storePathCommitLog=%s/store/commitlog" % data,
            "autoCreateTopicEnable=true",
            "flushDiskType=%s" % flush,
            "mappedFileSizeCommitLog=%d" % COMMITLOG_FILE_SIZE,
            "maxMessageSize=4194304",
        ]
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(os.path.join(data, "namesrv.conf"), "w") as f:
            f.write("listenPort=%d\nbindAddress=127.0.0.1\n" % ctx.nport)
        return path

    def _popen(self, role, argv, data, env=None):
        out = open(os.path.join(data, "%s.out" % role), "ab")
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env=env, cwd=data, start_new_session=True)
        out.close()
        self.procs[role] = p
        return p

    def launch(self, data, broker_only=False):
        """Start the processes (returns at once)."""
        raise NotImplementedError

    def broker_roles(self):
        """Roles killed by the kill -9 recovery test."""
        raise NotImplementedError

    def kill(self, roles=None, sig=signal.SIGKILL):
        for role in list(roles or self.procs):
            p = self.procs.get(role)
            if p is None:
                continue
            if p.poll() is None:
                try:
                    os.killpg(p.pid, sig)
                except OSError:
                    pass
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
            del self.procs[role]

    def start_and_probe(self, data, broker_only=False, timeout=180):
        """Launch and time it to the first acknowledged send (probe.py). Returns seconds."""
        ctx = self.ctx
        if not broker_only and not wait_ports_free([ctx.nport, ctx.bport, ctx.bport - 2,
                                                    ctx.bport + 1]):
            raise RuntimeError("ports still busy before start")
        if broker_only and not wait_ports_free([ctx.bport, ctx.bport - 2, ctx.bport + 1]):
            raise RuntimeError("broker ports still busy before restart")
        t0 = time.time()
        self.launch(data, broker_only)
        r = probe.first_send("127.0.0.1:%d" % ctx.nport, "127.0.0.1:%d" % ctx.bport, t0,
                             timeout, alive=lambda: all(p.poll() is None
                                                        for p in self.procs.values()))
        if not r["ok"]:
            raise RuntimeError("%s did not serve: %s" % (self.name, r.get("error")))
        return r["seconds"]


class Ferrocket(System):
    name = "ferrocket"

    def launch(self, data, broker_only=False):
        self._popen("standalone", [self.ctx.ferrocket, "standalone", "-c",
                                   os.path.join(data, "broker.conf"),
                                   "--namesrv-port", str(self.ctx.nport)], data)

    def broker_roles(self):
        return ["standalone"]


class JavaRocketMQ(System):
    name = "java"

    def _java(self, role, heap, main, conf, data):
        home = os.path.join(data, "%s-home" % role)
        os.makedirs(home, exist_ok=True)
        env = dict(os.environ, ROCKETMQ_HOME=home)
        # Own user.home per JVM: RocketMQ writes its logs under ~/logs/rocketmqlogs.
        argv = ["java"] + heap + JAVA_SERVER_OPTS + [
            "-Duser.home=%s" % home, "-Drocketmq.home.dir=%s" % home,
            "-cp", os.path.join(self.ctx.java_broker_lib, "*"), main, "-c", conf]
        self._popen(role, argv, data, env)

    def launch(self, data, broker_only=False):
        if not broker_only:
            self._java("namesrv", JAVA_NAMESRV_HEAP, "org.apache.rocketmq.namesrv.NamesrvStartup",
                       os.path.join(data, "namesrv.conf"), data)
        self._java("broker", JAVA_BROKER_HEAP, "org.apache.rocketmq.broker.BrokerStartup",
                   os.path.join(data, "broker.conf"), data)

    def broker_roles(self):
        # kill -9 hits the broker; the name server is a separate service that stays up.
        return ["broker"]


# ---------------------------------------------------------------- clients

class Runner:
    def __init__(self, ctx, system, repeat):
        self.ctx = ctx
        self.system = system
        self.repeat = repeat
        self.raw = os.path.join(ctx.out, "raw", "%s-r%d" % (system.name, repeat))
        os.makedirs(self.raw, exist_ok=True)

    def record(self, workload, metric, value, unit, **extra):
        rec = {"system": self.system.name, "repeat": self.repeat, "workload": workload,
               "metric": metric, "value": value, "unit": unit}
        rec.update(extra)
        self.ctx.records.append(rec)
        self.ctx.save()

    def fail(self, workload, err):
        log("[%s r%d] %s FAILED: %s" % (self.system.name, self.repeat, workload, err))
        self.ctx.failures.append({"system": self.system.name, "repeat": self.repeat,
                                  "workload": workload, "error": str(err)})
        self.ctx.save()

    def bench(self, slug, args, timeout):
        """Run `ferrocket bench ARGS --json FILE`; return the JSON summary."""
        js = os.path.join(self.raw, slug + ".json")
        out = os.path.join(self.raw, slug + ".out")
        argv = [self.ctx.ferrocket, "bench"] + args + [
            "-n", "127.0.0.1:%d" % self.ctx.nport, "--json", js]
        with open(out, "wb") as f:
            f.write((" ".join(argv) + "\n").encode())
            f.flush()
            env = dict(os.environ, RUST_LOG="warn")
            rc = subprocess.call(argv, stdout=f, stderr=subprocess.STDOUT, timeout=timeout,
                                 stdin=subprocess.DEVNULL, env=env)
        if rc != 0 or not os.path.exists(js):
            with open(out, "rb") as f:
                tail = f.read()[-600:].decode("utf-8", "replace")
            raise RuntimeError("ferrocket bench exited %d: %s" % (rc, tail.strip()))
        with open(js) as f:
            return json.load(f)

    def produce(self, slug, topic, mode, size, threads, duration=None, messages=None,
                extra=(), timeout=None):
        args = ["produce", "-t", topic, "--mode", mode, "-w", str(threads), "-s", str(size),
                "--no-compress", "--queues", "8"] + list(extra)
        if duration:
            args += ["-d", str(duration)]
        if messages:
            args += ["-m", str(messages)]
        return self.bench(slug, args, timeout or (duration or 600) + 120)

    def measured_produce(self, workload, slug, topic, mode, size, threads, duration, extra=()):
        """A timed produce run: throughput, latency and the broker's CPU per message."""
        pids = self.system.pids()
        cpu0 = sum(proc_cpu_secs(p) for p in pids)
        load = os.getloadavg()[0]
        j = self.produce(slug, topic, mode, size, threads, duration=duration, extra=extra)
        cpu = sum(proc_cpu_secs(p) for p in pids) - cpu0
        lat = j["latency_ms"]
        self.record(workload, "tps", j["tps"], "msg/s", errors=j["errors"], load1=load)
        for q in ("p50", "p99", "p999"):
            self.record(workload, q, lat[q], "ms")
        stall = j.get("observer_stall_ms", {}).get("max")
        if stall is not None:
            self.record(workload, "stall_max", stall, "ms")
        if j["messages"]:
            self.record(workload, "broker_cpu_us", round(cpu * 1e6 / j["messages"], 2),
                        "us/msg")
        log("[%s r%d] %-28s tps %9.0f  p50 %7.3f  p99 %7.3f  p999 %8.3f ms  errors %d  "
            "broker cpu %.1f us/msg  load %.1f  observer stall %s ms" % (
                self.system.name, self.repeat, workload, j["tps"], lat["p50"], lat["p99"],
                lat["p999"], j["errors"], cpu * 1e6 / max(j["messages"], 1), load,
                "-" if stall is None else "%.1f" % stall))
        return j

    def java_producer(self, workload, topic, size, threads, extra_secs):
        """RocketMQ's benchmark Producer (sync sends). It prints, once a second after its first
        10 s, the TPS and average RT over a sliding 10-snapshot window; the last such line, taken
        `extra_secs` after the first, is the figure."""
        self.produce("jp-create-%s" % topic, topic, "sync", size, 1, messages=1)
        home = os.path.join(self.raw, "java-client-home")
        os.makedirs(home, exist_ok=True)
        argv = ["java"] + JAVA_CLIENT_OPTS + ["-Duser.home=%s" % home,
                                              "-cp", os.path.join(self.ctx.java_client_lib, "*"),
                                              "org.apache.rocketmq.example.benchmark.Producer",
                                              "-n", "127.0.0.1:%d" % self.ctx.nport, "-t", topic,
                                              "-w", str(threads), "-s", str(size), "-ri", "1000"]
        out_path = os.path.join(self.raw, "java-producer-%s.out" % topic)
        pat = re.compile(r"Send TPS: (\d+) \| Max RT\(ms\): (\d+) \| Average RT\(ms\):\s*([\d.]+)"
                         r" \| Send Failed: (\d+) \| Response Failed: (\d+)")
        last = None
        first_at = None
        deadline = time.time() + 60 + extra_secs
        with open(out_path, "w") as out:
            out.write(" ".join(argv) + "\n")
            p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, text=True, start_new_session=True)
            lines = []
            reader = threading.Thread(target=lambda: [lines.append(l) for l in p.stdout],
                                      daemon=True)
            reader.start()
            seen = 0
            while time.time() < deadline and p.poll() is None:
                time.sleep(0.1)
                while seen < len(lines):
                    line = lines[seen]
                    seen += 1
                    out.write(line)
                    m = pat.search(line)
                    if m:
                        last = m
                        first_at = first_at or time.time()
                if first_at and time.time() - first_at >= extra_secs and last:
                    break
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            p.wait()
            reader.join(timeout=5)
            for line in lines[seen:]:
                out.write(line)
        if not last:
            raise RuntimeError("no 'Send TPS' line from the Java Producer (see %s)" % out_path)
        tps, max_rt, avg_rt, failed, resp_failed = last.groups()
        self.record(workload, "tps", float(tps), "msg/s",
                    errors=int(failed) + int(resp_failed))
        self.record(workload, "avg", float(avg_rt), "ms")
        log("[%s r%d] %-28s tps %9.0f  avg %.3f ms  failed %s/%s" % (
            self.system.name, self.repeat, workload, float(tps), float(avg_rt), failed,
            resp_failed))


# ---------------------------------------------------------------- one round

def run_round(ctx, system, repeat):
    plan = ctx.plan
    r = Runner(ctx, system, repeat)
    data = os.path.join(ctx.out, "data", "%s-r%d" % (system.name, repeat))
    shutil.rmtree(data, ignore_errors=True)
    os.makedirs(data)
    tag = "[%s r%d]" % (system.name, repeat)
    dur = plan["duration"]
    try:
        # 1. Start from nothing: time to the first acknowledged send, idle memory.
        system.write_conf(data, "ASYNC_FLUSH")
        secs = system.start_and_probe(data)
        r.record("start", "first_send_s", secs, "s")
        time.sleep(0.5)
        rss = sum((proc_status(p) or (0, 0))[0] for p in system.pids())
        r.record("idle", "rss_mib", round(rss / MIB, 1), "MiB")
        log("%s started: first acknowledged send after %.3f s, idle RSS %.0f MiB" % (
            tag, secs, rss / MIB))

        # 2. Warm-up (JIT for the JVM, page cache and allocators for both); not recorded.
        r.produce("warmup-sync", "bench_warmup", "sync", 1024, 8, duration=plan["warmup_secs"])
        r.produce("warmup-batch", "bench_warmup", "batch", 1024, 8,
                  duration=max(1, plan["warmup_secs"] // 2))

        # 3. Sync send matrix, with the broker's resident memory sampled throughout.
        with RssSampler(system.pids(), os.path.join(data, "store")) as sampler:
            for size, threads in plan["sync"]:
                wl = "sync %s x%d" % (size_name(size), threads)
                try:
                    r.measured_produce(wl, "sync-%d-%d" % (size, threads),
                                       "bench_sync_%d_%d" % (size, threads), "sync", size,
                                       threads, dur)
                except Exception as e:  # noqa: BLE001 - one failed workload must not end the run
                    r.fail(wl, e)
        peak, peak_outside = sampler.peak()
        r.record("sync send (all)", "peak_rss_mib", round(peak / MIB, 1), "MiB")
        r.record("sync send (all)", "peak_rss_no_store_mib", round(peak_outside / MIB, 1), "MiB")
        log("%s peak RSS during sync sends %.0f MiB (%.0f MiB outside the mapped store files)" % (
            tag, peak / MIB, peak_outside / MIB))

        # 4. The same sync sends from a JVM client: RocketMQ's benchmark Producer.
        for size, threads in plan["java_producer"]:
            wl = "java-client sync %s x%d" % (size_name(size), threads)
            try:
                r.java_producer(wl, "bench_jp_%d_%d" % (size, threads), size, threads,
                                plan["java_producer_extra_secs"])
            except Exception as e:  # noqa: BLE001
                r.fail(wl, e)

        # 5. Async and batch sends.
        size, senders, inflight = plan["async"]
        wl = "async %s x%d (%d in flight each)" % (size_name(size), senders, inflight)
        try:
            r.measured_produce(wl, "async", "bench_async", "async", size, senders, dur,
                               ["--inflight", str(inflight)])
        except Exception as e:  # noqa: BLE001
            r.fail(wl, e)
        size, senders, batch = plan["batch"]
        wl = "batch %s x%d (%d per batch)" % (size_name(size), senders, batch)
        try:
            r.measured_produce(wl, "batch", "bench_batch", "batch", size, senders, dur,
                               ["--batch", str(batch)])
        except Exception as e:  # noqa: BLE001
            r.fail(wl, e)

        # 6. End-to-end latency, send -> push-consumer receive, at the load of one sync sender.
        size, senders, e2e_secs = plan["e2e"]
        wl = "e2e %s x%d sync" % (size_name(size), senders)
        try:
            # Prime the topic with one message per queue so that both brokers have created its
            # consume-queue files before the measured run: the first message of a new queue
            # otherwise waits for that (tens of ms), which is set-up, not steady state. The new
            # consumer group then starts at offset 0 (both brokers do so while the messages are in
            # memory) and receives these 8 unstamped messages too; ferrocket bench counts each as
            # 0 µs (8 samples of several thousand), and "missing" stays right.
            r.produce("e2e-prime", "bench_e2e", "sync", size, 1, messages=8)
            j = r.bench("e2e", ["e2e", "-t", "bench_e2e", "--mode", "sync", "-w", str(senders),
                                "-s", str(size), "-d", str(e2e_secs), "--no-compress",
                                "--queues", "8", "--idle-secs", "5",
                                "-g", "bench_e2e_%s_r%d" % (system.name, repeat)],
                        timeout=e2e_secs + 120)
            lat = j["receive"]["latency_ms"]
            for q in ("p50", "p99", "p999"):
                r.record(wl, q, lat[q], "ms")
            stall = j.get("observer_stall_ms", {}).get("max")
            if stall is not None:
                r.record(wl, "stall_max", stall, "ms")
            r.record(wl, "missing", j["receive"]["missing"], "msgs")
            log("%s %-28s e2e p50 %.3f  p99 %.3f  p999 %.3f ms  (%d received, %d missing)  "
                "observer stall %s ms" % (
                    tag, wl, lat["p50"], lat["p99"], lat["p999"], j["receive"]["messages"],
                    j["receive"]["missing"], "-" if stall is None else "%.1f" % stall))
        except Exception as e:  # noqa: BLE001
            r.fail(wl, e)

        # 7. Backlog: produce N messages (batch mode), then drain them with pull consumers.
        n = plan["backlog"]
        wl = "consume backlog %s x 128 B" % ("%dk" % (n // 1000) if n < 10**6 else
                                             "%gM" % (n / 1e6))
        try:
            j = r.produce("backlog-produce", "bench_backlog", "batch", 128, 4, messages=n,
                          extra=["--batch", "64"])
            log("%s backlog of %d produced at %.0f msg/s" % (tag, j["messages"], j["tps"]))
            j = r.bench("backlog-consume", ["consume", "-t", "bench_backlog", "--from", "first",
                                            "-m", str(n), "--idle-secs", "10",
                                            "-g", "bench_backlog_%s_r%d" % (system.name, repeat)],
                        timeout=900)
            r.record(wl, "tps", j["tps"], "msg/s", errors=j["errors"],
                     messages=j["messages"])
            log("%s %-28s tps %9.0f  (%d of %d in %.2f s)" % (tag, wl, j["tps"], j["messages"],
                                                              n, j["elapsed_secs"]))
        except Exception as e:  # noqa: BLE001
            r.fail(wl, e)

        # 8. Recovery: grow the commit log (4 KiB messages, batch mode), kill -9 the broker,
        #    time the restart to the first acknowledged send. The last restart comes back with
        #    flushDiskType=SYNC_FLUSH for step 9 (one JVM start less per round; the flush type
        #    does not change what recovery does).
        written = 0
        sync_flush_up = False
        for i, target in enumerate(plan["big_logs"]):
            wl = "restart after kill -9, %s log" % gib_name(target)
            free = shutil.disk_usage(data).free
            if free < (target - written) * 1.2 + 2 * GIB:
                log("%s skipping %s: only %.1f GiB free" % (tag, wl, free / GIB))
                r.fail(wl, "skipped: only %.1f GiB free on the data disk" % (free / GIB))
                continue
            try:
                t = time.time()
                msgs = (target - written) // 4096
                j = r.produce("fill-%d" % target, "bench_fill", "batch", 4096, 4, messages=msgs,
                              extra=["--batch", "16"], timeout=3600)
                written = target
                log("%s commit log grown to %s (%.0f MiB/s, %.0f s)" % (
                    tag, gib_name(target), j["tps"] * 4096 / MIB, time.time() - t))
                system.kill(system.broker_roles())
                if i == len(plan["big_logs"]) - 1:
                    system.write_conf(data, "SYNC_FLUSH")
                    sync_flush_up = True
                secs = system.start_and_probe(data, broker_only=(system.name == "java"),
                                              timeout=900)
                r.record(wl, "first_send_s", secs, "s")
                log("%s %-28s serving again after %.3f s" % (tag, wl, secs))
            except Exception as e:  # noqa: BLE001
                r.fail(wl, e)
                sync_flush_up = False
                break

        # 9. SYNC_FLUSH sync sends (a fresh start when step 8 did not leave one running).
        if not (sync_flush_up and len(system.pids()) == len(system.procs)):
            system.kill()
            shutil.rmtree(data, ignore_errors=True)
            os.makedirs(data)
            system.write_conf(data, "SYNC_FLUSH")
            system.start_and_probe(data)
        r.produce("warmup-syncflush", "bench_warmup", "sync", 1024, 8,
                  duration=plan["sync_flush_warmup_secs"])
        for size, threads in plan["sync_flush"]:
            wl = "SYNC_FLUSH sync %s x%d" % (size_name(size), threads)
            try:
                r.measured_produce(wl, "syncflush-%d-%d" % (size, threads),
                                   "bench_sf_%d_%d" % (size, threads), "sync", size, threads, dur)
            except Exception as e:  # noqa: BLE001
                r.fail(wl, e)
    except Exception as e:  # noqa: BLE001
        r.fail("round", e)
    finally:
        system.kill()
        keep = os.path.join(ctx.out, "logs", "%s-r%d" % (system.name, repeat))
        os.makedirs(keep, exist_ok=True)
        for name in os.listdir(data) if os.path.isdir(data) else []:
            src = os.path.join(data, name)
            if name.endswith(".out") or name.endswith(".conf"):
                shutil.copy(src, keep)
            # The Java servers' own logs (broker.log, store.log, ...), for a look afterwards.
            rmq = os.path.join(src, "logs", "rocketmqlogs")
            if name.endswith("-home") and os.path.isdir(rmq):
                dst = os.path.join(keep, name)
                os.makedirs(dst, exist_ok=True)
                for f in os.listdir(rmq):
                    fp = os.path.join(rmq, f)
                    if f.endswith(".log") and os.path.getsize(fp) <= 32 * MIB:
                        shutil.copy(fp, dst)
        shutil.rmtree(data, ignore_errors=True)


# ---------------------------------------------------------------- main

class Ctx:
    def __init__(self, a):
        self.out = os.path.abspath(a.out)
        self.ferrocket = a.ferrocket
        self.java_broker_lib = a.java_broker_lib
        self.java_client_lib = a.java_client_lib
        self.mode = "quick" if a.quick else "full"
        self.plan = dict(PLANS[self.mode])
        self.records = []
        self.failures = []
        self.meta = {}
        self.nport, self.bport = pick_ports()

    def save(self):
        doc = {"meta": self.meta, "records": self.records, "failures": self.failures}
        tmp = os.path.join(self.out, "results.json.tmp")
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=1)
        os.replace(tmp, os.path.join(self.out, "results.json"))


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True,
                              timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine_meta(ctx, systems, repeats):
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", open("/proc/meminfo").read()).group(1))
    df = shutil.disk_usage(ctx.out)
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "mode": ctx.mode,
        "repeats": repeats,
        "systems": systems,
        "order": [s for _ in range(repeats) for s in systems],
        "nproc": os.cpu_count(),
        "cpu": sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip(),
        "memory_gib": round(mem_kb / (1 << 20), 1),
        "disk": "%s, %.0f GiB, %.0f GiB free" % (sh("df --output=source %s | tail -1" % ctx.out),
                                                 df.total / GIB, df.free / GIB),
        "kernel": platform.release(),
        "os": sh(". /etc/os-release && echo $PRETTY_NAME"),
        "java": sh("java -version 2>&1 | head -1"),
        "rustc": sh("rustc --version"),
        "ferrocket": sh("%s --version" % ctx.ferrocket),
        "ferrocket_commit": sh("git -C %s rev-parse --short HEAD" % ROOT),
        "ferrocket_dirty": bool(sh("git -C %s status --porcelain -- crates Cargo.lock" % ROOT)),
        "rocketmq_server": "5.3.3",
        "rocketmq_example_client": "5.5.0",
        "java_broker_opts": " ".join(JAVA_BROKER_HEAP + JAVA_SERVER_OPTS[:2]),
        "java_namesrv_opts": " ".join(JAVA_NAMESRV_HEAP + JAVA_SERVER_OPTS[:2]),
        "java_client_opts": " ".join(JAVA_CLIENT_OPTS),
        "mapped_file_size_commitlog": COMMITLOG_FILE_SIZE,
        "plan": ctx.plan,
        "load_at_start": os.getloadavg(),
    }


def main():
    global LOG
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--systems", default="ferrocket,java")
    ap.add_argument("--repeats", type=int)
    ap.add_argument("--out", required=True)
    ap.add_argument("--ferrocket", required=True)
    ap.add_argument("--java-broker-lib", required=True)
    ap.add_argument("--java-client-lib", required=True)
    ap.add_argument("--command", default="", help="the command line, for the report")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    ctx = Ctx(a)
    LOG = open(os.path.join(ctx.out, "log.txt"), "a")
    systems = [s.strip() for s in a.systems.split(",") if s.strip()]
    for s in systems:
        if s not in ("ferrocket", "java"):
            ap.error("unknown system %r (ferrocket, java)" % s)
    repeats = a.repeats or ctx.plan["repeats"]
    ctx.meta = machine_meta(ctx, systems, repeats)
    ctx.meta["command"] = a.command
    ctx.save()
    started = time.time()
    log("%s run, systems %s, %d repeat(s), name server port %d, broker port %d, out %s" % (
        ctx.mode, ",".join(systems), repeats, ctx.nport, ctx.bport, ctx.out))

    def stop(signum, _frame):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, stop)
    current = None
    try:
        for rep in range(1, repeats + 1):
            for s in systems:
                current = Ferrocket(ctx) if s == "ferrocket" else JavaRocketMQ(ctx)
                t = time.time()
                log("=== %s, repeat %d of %d" % (s, rep, repeats))
                run_round(ctx, current, rep)
                log("=== %s, repeat %d done in %.0f s" % (s, rep, time.time() - t))
                current = None
    except KeyboardInterrupt:
        log("interrupted")
        if current:
            current.kill()
        ctx.meta["interrupted"] = True
    ctx.meta["wall_secs"] = round(time.time() - started)
    ctx.save()
    log("measurements done in %.0f s; %d failure(s)" % (time.time() - started,
                                                        len(ctx.failures)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
