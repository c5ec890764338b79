//! `ferrocket bench` end to end: `crates/ferrocket/src/bench.rs` is compiled here against this
//! SDK (the binary wires the same `BenchArgs` into its CLI) and run against an in-process
//! nameserver and broker with small, bounded workloads; the JSON summaries are checked.

#[path = "../../ferrocket/src/bench.rs"]
mod bench;
mod common;

use clap::Parser;

/// The binary's wiring: one `Bench` variant holding `bench::BenchArgs`.
#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Load generator.
    Bench(bench::BenchArgs),
}

async fn bench(args: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("summary.json");
    let mut argv = vec!["ferrocket", "bench"];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&["--json", json.to_str().unwrap()]);
    let Command::Bench(b) = Cli::try_parse_from(&argv).unwrap().command;
    bench::run(b).await.unwrap();
    serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_consume_and_e2e_runs_report_what_happened() {
    let c = common::cluster(1).await;
    let ns = c.ns_addr.as_str();

    let s = bench(&[
        "produce",
        "-n",
        ns,
        "-t",
        "BenchTopic",
        "--queues",
        "4",
        "--threads",
        "3",
        "--size",
        "100",
        "--messages",
        "300",
    ])
    .await;
    assert_eq!(s["command"], "produce");
    assert_eq!(s["messages"], 300);
    assert_eq!(s["errors"], 0);
    assert_eq!(s["latency_ms"]["count"], 300);
    assert!(s["tps"].as_f64().unwrap() > 0.0);

    for (mode, extra) in [
        ("async", "--inflight=8"),
        ("batch", "--batch=7"),
        ("oneway", "--size=5000"),
    ] {
        let s = bench(&[
            "produce",
            "-n",
            ns,
            "-t",
            "BenchTopic",
            "--mode",
            mode,
            extra,
            "--messages",
            "100",
        ])
        .await;
        assert_eq!(s["messages"], 100, "{mode}: {s}");
        assert_eq!(s["errors"], 0, "{mode}: {s}");
        assert_eq!(s["mode"], mode);
    }

    let s = bench(&[
        "consume",
        "-n",
        ns,
        "-t",
        "BenchTopic",
        "-g",
        "bench_drain",
        "--idle-secs",
        "2",
    ])
    .await;
    assert_eq!(s["command"], "consume");
    assert_eq!(s["queues"], 4);
    assert_eq!(s["messages"], 600, "{s}");
    assert_eq!(s["errors"], 0);
    // The offsets were committed: a second drain of the group finds nothing.
    let s = bench(&[
        "consume",
        "-n",
        ns,
        "-t",
        "BenchTopic",
        "-g",
        "bench_drain",
        "--idle-secs",
        "1",
    ])
    .await;
    assert_eq!(s["messages"], 0, "{s}");

    let s = bench(&[
        "e2e",
        "-n",
        ns,
        "-t",
        "BenchE2e",
        "--queues",
        "4",
        "--threads",
        "2",
        "--messages",
        "200",
        "--idle-secs",
        "5",
    ])
    .await;
    assert_eq!(s["command"], "e2e");
    assert_eq!(s["send"]["messages"], 200, "{s}");
    assert_eq!(s["receive"]["messages"], 200, "{s}");
    assert_eq!(s["receive"]["missing"], 0);
    assert_eq!(s["receive"]["latency_ms"]["count"], 200);

    // A duration bound alone ends the run too.
    let s = bench(&[
        "produce",
        "-n",
        ns,
        "-t",
        "BenchTopic",
        "--duration",
        "1",
        "--threads",
        "1",
    ])
    .await;
    assert!(s["elapsed_secs"].as_f64().unwrap() < 3.0, "{s}");
    assert!(s["messages"].as_u64().unwrap() > 0);

    c.stop().await;
}

#[test]
fn cli_rejects_out_of_range_values() {
    for bad in [
        vec!["ferrocket", "bench", "produce", "--threads", "0"],
        vec!["ferrocket", "bench", "produce", "--mode", "turbo"],
        vec!["ferrocket", "bench", "consume", "--idle-secs", "0"],
        vec!["ferrocket", "bench", "nope"],
    ] {
        assert!(Cli::try_parse_from(&bad).is_err(), "{bad:?}");
    }
}
