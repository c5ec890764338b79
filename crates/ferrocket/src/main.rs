//! `ferrocket`: an Apache RocketMQ–compatible nameserver and broker in one binary.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

mod bench;

use clap::{Args, Parser, Subcommand};
use ferrocket_broker::{parse_properties, Broker, BrokerConfig};
use ferrocket_namesrv::{NameServer, NamesrvConfig};

#[derive(Parser)]
#[command(
    name = "ferrocket",
    version,
    about = "Apache RocketMQ-compatible message broker"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Nameserver and broker in one process (data in ./ferrocket-data unless configured).
    Standalone(StandaloneArgs),
    /// A nameserver, as `mqnamesrv`.
    Namesrv(NamesrvArgs),
    /// A broker, as `mqbroker`.
    Broker(BrokerArgs),
    /// Load generator: produce, consume and end-to-end latency runs.
    Bench(bench::BenchArgs),
}

#[derive(Args)]
struct StandaloneArgs {
    /// broker.conf (RocketMQ properties; storePathRootDir, listenPort, brokerIP1, ...).
    #[arg(short = 'c', long = "config")]
    config: Option<PathBuf>,
    /// Port of the embedded nameserver.
    #[arg(long, default_value_t = 9876)]
    namesrv_port: u16,
    /// Print the effective broker configuration and exit.
    #[arg(short = 'p', long = "print-config")]
    print_config: bool,
}

#[derive(Args)]
struct NamesrvArgs {
    /// namesrv.conf (RocketMQ properties: listenPort, ...).
    #[arg(short = 'c', long = "config")]
    config: Option<PathBuf>,
    /// Print the effective configuration and exit.
    #[arg(short = 'p', long = "print-config")]
    print_config: bool,
}

#[derive(Args)]
struct BrokerArgs {
    /// broker.conf.
    #[arg(short = 'c', long = "config")]
    config: Option<PathBuf>,
    /// Nameserver addresses, `host:port;host:port` (overrides namesrvAddr).
    #[arg(short = 'n', long = "namesrv-addr")]
    namesrv_addr: Option<String>,
    /// Print the effective configuration and exit.
    #[arg(short = 'p', long = "print-config")]
    print_config: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FERROCKET_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    // one descriptor per mapped file: a large store needs more than the usual soft limit
    if let Some((before, after)) = ferrocket_store::io::raise_open_file_limit() {
        if after > before {
            tracing::debug!(before, after, "raised the soft limit on open files");
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ferrocket: {e}");
            ExitCode::FAILURE
        }
    }
}

fn read_props(path: Option<&PathBuf>) -> Result<BTreeMap<String, String>, String> {
    match path {
        None => Ok(BTreeMap::new()),
        Some(p) => std::fs::read_to_string(p)
            .map(|t| parse_properties(&t))
            .map_err(|e| format!("cannot read {}: {e}", p.display())),
    }
}

fn broker_config(props: &BTreeMap<String, String>) -> Result<BrokerConfig, String> {
    let mut cfg = BrokerConfig::default();
    let ignored = cfg.apply(props).map_err(|e| e.to_string())?;
    for key in ignored {
        tracing::warn!(key = %key, "broker.conf key ignored (unknown or not supported yet)");
    }
    Ok(cfg)
}

fn print_props(props: BTreeMap<String, String>) {
    for (k, v) in props {
        println!("{k}={v}");
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Bench(args) => bench::run(args).await,
        Command::Standalone(args) => {
            let props = read_props(args.config.as_ref())?;
            let mut cfg = broker_config(&props)?;
            cfg.namesrv_addr = Some(format!("127.0.0.1:{}", args.namesrv_port));
            if !props.contains_key("brokerIP1") {
                cfg.broker_ip1 = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
                cfg.broker_ip2 = cfg.broker_ip1;
            }
            if !props.contains_key("brokerName") {
                cfg.broker_name = "broker-a".into();
            }
            if args.print_config {
                print_props(cfg.to_properties());
                return Ok(());
            }
            // Standalone keeps everything under the data directory, the KV config included.
            let mut ns_cfg = NamesrvConfig {
                listen_port: args.namesrv_port,
                ..NamesrvConfig::default()
            };
            ns_cfg.kv_config_path = cfg.store.root_dir.join("namesrv").join("kvConfig.json");
            // A standalone broker announced on loopback keeps its nameserver on loopback too.
            if cfg.broker_ip1.is_loopback() {
                ns_cfg.bind_address = cfg.broker_ip1.to_string();
            }
            ns_cfg.config_store_path = cfg
                .store
                .root_dir
                .join("namesrv")
                .join("namesrv.properties");
            let namesrv = NameServer::start(ns_cfg)
                .await
                .map_err(|e| format!("nameserver: {e}"))?;
            tracing::info!(addr = %namesrv.local_addr(), "nameserver serving");
            let broker = Broker::start(cfg)
                .await
                .map_err(|e| format!("broker: {e}"))?;
            wait_for_signal().await;
            broker.shutdown().await;
            namesrv.shutdown().await;
            Ok(())
        }
        Command::Namesrv(args) => {
            let props = read_props(args.config.as_ref())?;
            let (cfg, ignored) = NamesrvConfig::from_properties(&props.into_iter().collect())
                .map_err(|e| e.to_string())?;
            for key in ignored {
                tracing::warn!(key = %key, "namesrv.conf key ignored (unknown or not supported yet)");
            }
            if args.print_config {
                println!("{cfg:#?}");
                return Ok(());
            }
            let namesrv = NameServer::start(cfg)
                .await
                .map_err(|e| format!("nameserver: {e}"))?;
            tracing::info!(addr = %namesrv.local_addr(), "nameserver serving");
            wait_for_signal().await;
            namesrv.shutdown().await;
            Ok(())
        }
        Command::Broker(args) => {
            let props = read_props(args.config.as_ref())?;
            let mut cfg = broker_config(&props)?;
            if let Some(n) = args.namesrv_addr {
                cfg.namesrv_addr = Some(n);
            }
            if args.print_config {
                print_props(cfg.to_properties());
                return Ok(());
            }
            if cfg.namesrv_addr.is_none() {
                tracing::warn!("no nameserver address (namesrvAddr, -n or NAMESRV_ADDR): clients cannot find this broker");
            }
            let broker = Broker::start(cfg)
                .await
                .map_err(|e| format!("broker: {e}"))?;
            wait_for_signal().await;
            broker.shutdown().await;
            Ok(())
        }
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("shutting down");
}
