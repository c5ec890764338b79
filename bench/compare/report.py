#!/usr/bin/env python3
"""Turns OUT/results.json (written by compare.py) into the figures of the comparison.

    report.py OUT

Writes OUT/results.csv (one row per sample), OUT/summary.json and OUT/table.md (per figure:
median and min-max of each system, the ratio ferrocket/java of the medians, which direction is
better, the goal of issue #5 and whether the median ratio meets it), and three plots:
OUT/throughput.png, OUT/latency.png, OUT/resources.png. Can be rerun on an old OUT.
"""
import csv
import json
import os
import statistics
import sys

SYSTEMS = ("ferrocket", "java")
LABEL = {"ferrocket": "Ferrocket", "java": "RocketMQ 5.3.3 (Java)"}
COLOR = {"ferrocket": "#d2551b", "java": "#3b6ea5"}

METRIC_NAME = {
    "tps": "throughput (msg/s)",
    "p50": "latency p50 (ms)",
    "p99": "latency p99 (ms)",
    "p999": "latency p99.9 (ms)",
    "avg": "latency avg (ms)",
    "stall_max": "wait for a CPU: an idle observer thread's longest oversleep (ms)",
    "broker_cpu_us": "broker CPU per message (µs)",
    "first_send_s": "to first acknowledged send (s)",
    "rss_mib": "resident memory, idle (MiB)",
    "peak_rss_mib": "resident memory, peak (MiB)",
    "peak_anon_mib": "anonymous resident memory, peak (MiB)",
    "peak_rss_no_store_mib": "resident memory outside mapped store files, peak (MiB)",
    "missing": "messages not received",
}


def goal(workload, metric):
    """(better, goal ratio or None, goal text) for a figure, from issue #5."""
    if metric == "tps":
        return "higher", 2.0, "≥ 2×"
    if metric in ("p99", "p999"):
        return "lower", 0.5, "≤ 0.5×"
    if metric in ("peak_rss_mib", "peak_anon_mib", "peak_rss_no_store_mib"):
        return "lower", 0.2, "≤ 0.2×"
    if metric == "first_send_s":
        return "lower", 0.1, "≤ 0.1×"
    return "lower", None, ""


def fmt(v):
    if v is None:
        return "–"
    a = abs(v)
    if a >= 1000:
        return "{:,.0f}".format(v)
    if a >= 100:
        return "%.0f" % v
    if a >= 10:
        return "%.1f" % v
    if a >= 1:
        return "%.2f" % v
    return "%.3f" % v


def summarise(doc):
    """Groups samples by (workload, metric) in run order."""
    rows = {}
    for r in doc["records"]:
        key = (r["workload"], r["metric"])
        row = rows.setdefault(key, {"workload": r["workload"], "metric": r["metric"],
                                    "unit": r["unit"], "samples": {s: [] for s in SYSTEMS},
                                    "errors": {s: 0 for s in SYSTEMS}})
        if r["system"] in row["samples"]:
            row["samples"][r["system"]].append(r["value"])
            row["errors"][r["system"]] += int(r.get("errors") or 0)
    out = []
    for row in rows.values():
        better, target, target_text = goal(row["workload"], row["metric"])
        stats = {}
        for s in SYSTEMS:
            v = row["samples"][s]
            stats[s] = None if not v else {"median": statistics.median(v), "min": min(v),
                                           "max": max(v), "n": len(v)}
        ratio = None
        f, j = stats["ferrocket"], stats["java"]
        if f and j and j["median"]:
            ratio = f["median"] / j["median"]
        met = None
        if ratio is not None and target is not None:
            met = ratio >= target if better == "higher" else ratio <= target
        out.append(dict(row, stats=stats, ratio=ratio, better=better, goal=target,
                        goal_text=target_text, met=met))
    return out


def ratio_text(r):
    return ("%.3f×" if r < 0.1 else "%.2f×") % r


def cell(st, errors):
    if not st:
        return "–"
    text = fmt(st["median"])
    if st["n"] > 1:
        text += " (%s–%s)" % (fmt(st["min"]), fmt(st["max"]))
    if errors:
        text += " ⚠ %d errors" % errors
    return text


def table(summary, meta):
    lines = ["| Workload | Figure | Better | Ferrocket | Java | Ferrocket / Java | Goal | Met |",
             "|---|---|---|--:|--:|--:|:-:|:-:|"]
    for row in summary:
        ratio = "–" if row["ratio"] is None else ratio_text(row["ratio"])
        met = {True: "yes", False: "**no**", None: ""}[row["met"]]
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            row["workload"], METRIC_NAME.get(row["metric"], row["metric"]), row["better"],
            cell(row["stats"]["ferrocket"], row["errors"]["ferrocket"]),
            cell(row["stats"]["java"], row["errors"]["java"]), ratio, row["goal_text"], met))
    n = meta.get("repeats", "?")
    lines.append("")
    lines.append("Each cell: median (min–max) over %s repeat(s); the ratio is of the medians. "
                 "Goals from issue #5; \"Met\" judges the median ratio." % n)
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- plots

def hbar(ax, rows, metric_label, log=True, annotate_ratio=True):
    import numpy as np
    names = [r["workload"] for r in rows]
    y = np.arange(len(rows))
    h = 0.38
    for k, s in enumerate(SYSTEMS):
        med = [r["stats"][s]["median"] if r["stats"][s] else 0 for r in rows]
        lo = [r["stats"][s]["median"] - r["stats"][s]["min"] if r["stats"][s] else 0
              for r in rows]
        hi = [r["stats"][s]["max"] - r["stats"][s]["median"] if r["stats"][s] else 0
              for r in rows]
        ax.barh(y + (k - 0.5) * h, med, h, xerr=[lo, hi], color=COLOR[s], label=LABEL[s],
                error_kw={"elinewidth": 1, "capsize": 2, "ecolor": "#222"})
    ax.set_yticks(y)
    ax.set_yticklabels(names, fontsize=8)
    ax.invert_yaxis()
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(metric_label, fontsize=9)
    ax.grid(axis="x", which="both", alpha=0.25)
    ax.tick_params(axis="x", labelsize=8)
    if annotate_ratio:
        for i, r in enumerate(rows):
            if r["ratio"] is not None:
                mark = {True: "✓", False: "✗", None: ""}[r["met"]]
                ax.annotate("%s %s" % (ratio_text(r["ratio"]), mark), xy=(1.0, i),
                            xycoords=("axes fraction", "data"), xytext=(4, 0),
                            textcoords="offset points", va="center", fontsize=7.5,
                            color="#1a7f37" if r["met"] else ("#b42318" if r["met"] is False
                                                              else "#444"))


def legend(fig):
    """One legend for the figure, below the plots, where it cannot hide a bar."""
    handles, labels = fig.axes[0].get_legend_handles_labels()
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8, frameon=False)


def plots(summary, meta, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    sub = "%s, %s repeat(s), %s; medians, whiskers = min–max; ratio ferrocket/java" % (
        meta.get("date", ""), meta.get("repeats", "?"), meta.get("mode", ""))

    tps = [r for r in summary if r["metric"] == "tps"]
    if tps:
        fig, ax = plt.subplots(figsize=(10, 0.42 * len(tps) + 1.6))
        hbar(ax, tps, "messages per second (log scale)")
        ax.set_title("Throughput\n" + sub, fontsize=10)
        legend(fig)
        fig.savefig(os.path.join(out, "throughput.png"), dpi=110)
        plt.close(fig)

    lat_wl = []
    for r in summary:
        if r["metric"] == "p99" and r["workload"] not in lat_wl:
            lat_wl.append(r["workload"])
    if lat_wl:
        fig, axes = plt.subplots(1, 3, figsize=(15, 0.42 * len(lat_wl) + 1.8), sharey=True)
        for ax, q in zip(axes, ("p50", "p99", "p999")):
            rows = [next((r for r in summary if r["workload"] == w and r["metric"] == q), None)
                    for w in lat_wl]
            rows = [r for r in rows if r]
            hbar(ax, rows, "%s, ms (log scale)" % METRIC_NAME[q].split()[1])
            if ax is not axes[0]:
                ax.tick_params(axis="y", labelleft=False)
        fig.suptitle("Latency percentiles (ferrocket bench client)\n" + sub, fontsize=10)
        legend(fig)
        fig.savefig(os.path.join(out, "latency.png"), dpi=110)
        plt.close(fig)

    groups = [
        ("start and restart: time to first acknowledged send (s)",
         [r for r in summary if r["metric"] == "first_send_s"], True),
        ("broker resident memory (MiB)",
         [dict(r, workload="%s: %s" % (r["workload"], METRIC_NAME[r["metric"]].split(",")[0]))
          for r in summary if r["metric"] in ("rss_mib", "peak_rss_mib", "peak_anon_mib",
                                               "peak_rss_no_store_mib")],
         False),
        ("broker CPU time per message (µs)",
         [r for r in summary if r["metric"] == "broker_cpu_us"], True),
    ]
    groups = [g for g in groups if g[1]]
    if groups:
        heights = [len(g[1]) for g in groups]
        fig, axes = plt.subplots(len(groups), 1, figsize=(10, 0.45 * sum(heights) + 2.2 *
                                                          len(groups)),
                                 gridspec_kw={"height_ratios": [h + 1.5 for h in heights]})
        if len(groups) == 1:
            axes = [axes]
        for ax, (title, rows, log) in zip(axes, groups):
            hbar(ax, rows, title, log=log)
        fig.suptitle("Start-up, recovery, memory and CPU\n" + sub, fontsize=10)
        legend(fig)
        fig.savefig(os.path.join(out, "resources.png"), dpi=110)
        plt.close(fig)


def main():
    out = sys.argv[1]
    with open(os.path.join(out, "results.json")) as f:
        doc = json.load(f)
    meta = doc.get("meta", {})
    with open(os.path.join(out, "results.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["system", "repeat", "workload", "metric", "value", "unit", "errors"])
        for r in doc["records"]:
            w.writerow([r["system"], r["repeat"], r["workload"], r["metric"], r["value"],
                        r["unit"], r.get("errors", "")])
    summary = summarise(doc)
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump({"meta": meta, "figures": summary, "failures": doc.get("failures", [])}, f,
                  indent=1)
    text = table(summary, meta)
    if doc.get("failures"):
        text += "\nFailed or skipped:\n\n" + "".join(
            "- %s repeat %s, %s: %s\n" % (x["system"], x["repeat"], x["workload"],
                                          x["error"].splitlines()[0][:300])
            for x in doc["failures"])
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write(text)
    plots(summary, meta, out)
    print(text)
    met = [r for r in summary if r["met"] is not None]
    print("goals met: %d of %d figures with a goal" % (sum(1 for r in met if r["met"]),
                                                        len(met)))


if __name__ == "__main__":
    main()
