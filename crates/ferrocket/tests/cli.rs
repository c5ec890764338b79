//! The `ferrocket` binary as an operator uses it: config files, `-p`, bad values, fast start,
//! clean shutdown on SIGTERM.

use std::io::Read;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ferrocket"))
}

fn free_port() -> u16 {
    // A port whose neighbour two below is free too (the broker's fast port).
    for _ in 0..100 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let p = l.local_addr().unwrap().port();
        if p > 1030 && std::net::TcpListener::bind(("127.0.0.1", p - 2)).is_ok() {
            return p;
        }
    }
    panic!("no free port pair");
}

fn write_conf(dir: &Path, port: u16, extra: &str) -> std::path::PathBuf {
    let conf = dir.join("broker.conf");
    std::fs::write(
        &conf,
        format!(
            "brokerClusterName=DefaultCluster\nbrokerName=broker-cli\nlistenPort={port}\nbrokerIP1=127.0.0.1\nstorePathRootDir={}\nmappedFileSizeCommitLog=1048576\nsomeFutureKey=1\n{extra}",
            dir.join("store").display()
        ),
    )
    .unwrap();
    conf
}

fn wait_port(port: u16, limit: Duration) -> Duration {
    let start = Instant::now();
    while start.elapsed() < limit {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return start.elapsed();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("port {port} not open after {limit:?}");
}

#[test]
fn print_config_shows_effective_values() {
    let dir = tempfile::tempdir().unwrap();
    let conf = write_conf(dir.path(), 20911, "flushDiskType=SYNC_FLUSH\n");
    let out = bin()
        .args(["broker", "-c"])
        .arg(&conf)
        .arg("-p")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("listenPort=20911\n"), "{text}");
    assert!(text.contains("flushDiskType=SYNC_FLUSH\n"));
    assert!(text.contains("brokerName=broker-cli\n"));
}

#[test]
fn bad_value_is_a_startup_error_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let conf = write_conf(dir.path(), 20911, "defaultTopicQueueNums=lots\n");
    let out = bin().args(["broker", "-c"]).arg(&conf).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("defaultTopicQueueNums"), "{err}");
}

#[test]
fn standalone_starts_fast_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let ns_port = free_port();
    let conf = write_conf(dir.path(), port, "");
    let started = Instant::now();
    let mut child = bin()
        .args(["standalone", "-c"])
        .arg(&conf)
        .args(["--namesrv-port", &ns_port.to_string()])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_port(ns_port, Duration::from_secs(10));
    wait_port(port, Duration::from_secs(10));
    wait_port(port - 2, Duration::from_secs(10));
    let ready = started.elapsed();
    assert!(
        dir.path().join("store/abort").exists(),
        "abort file marks a running store"
    );
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(exit.success(), "exit {exit:?}\n{log}");
    assert!(
        !dir.path().join("store/abort").exists(),
        "clean shutdown removes the abort file\n{log}"
    );
    assert!(dir.path().join("store/checkpoint").exists());
    assert!(dir.path().join("store/config/topics.json").exists());
    assert!(
        log.contains("someFutureKey"),
        "unknown keys are reported\n{log}"
    );
    eprintln!("standalone ready in {ready:?}");
}
