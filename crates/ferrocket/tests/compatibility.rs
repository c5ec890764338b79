//! `docs/compatibility.md` is checked against the running servers: every RocketMQ request code is
//! sent to a nameserver and a broker, and a code counts as supported where the answer is not
//! REQUEST_CODE_NOT_SUPPORTED. Run with `FERROCKET_BLESS=1` to rewrite the table.

use std::time::Duration;

use ferrocket_broker::{Broker, BrokerConfig};
use ferrocket_namesrv::{NameServer, NamesrvConfig};
use ferrocket_protocol::codes::request::ALL;
use ferrocket_protocol::{RemotingCommand, ResponseCode};
use ferrocket_remoting::{RemotingClient, Router};

const BEGIN: &str = "<!-- BEGIN GENERATED TABLE -->";
const END: &str = "<!-- END GENERATED TABLE -->";

async fn supported(client: &RemotingClient, addr: &str, code: i32) -> bool {
    let resp = client
        .invoke(addr, RemotingCommand::request(code), Duration::from_secs(5))
        .await;
    match resp {
        Ok(r) => r.code != ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
        Err(_) => true, // answered later or never (server-to-client codes): handled, not refused
    }
}

#[tokio::test]
async fn compatibility_table_matches_the_servers() {
    let dir = tempfile::tempdir().unwrap();
    let ns_cfg = NamesrvConfig {
        listen_port: 0,
        kv_config_path: dir.path().join("kv.json"),
        ..NamesrvConfig::default()
    };
    let ns = NameServer::start(ns_cfg).await.unwrap();
    let cfg = BrokerConfig::local(dir.path().join("store"));
    let broker = Broker::start(cfg).await.unwrap();
    let client = RemotingClient::new(Router::new());
    let ns_addr = ns.local_addr().to_string();

    let mut table = String::new();
    table.push_str("| code | name | served by |\n|---:|---|---|\n");
    for (code, name) in ALL {
        let n = supported(&client, &ns_addr, *code).await;
        let b = supported(&client, broker.addr(), *code).await;
        let by = match (n, b) {
            (true, true) => "nameserver, broker",
            (true, false) => "nameserver",
            (false, true) => "broker",
            (false, false) => "not yet",
        };
        table.push_str(&format!("| {code} | {name} | {by} |\n"));
    }
    broker.shutdown().await;
    ns.shutdown().await;

    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/compatibility.md");
    let doc = std::fs::read_to_string(path).unwrap_or_default();
    let (Some(b), Some(e)) = (doc.find(BEGIN), doc.find(END)) else {
        panic!("docs/compatibility.md lacks the generated-table markers");
    };
    let current = &doc[b + BEGIN.len()..e];
    let wanted = format!("\n{table}");
    if std::env::var_os("FERROCKET_BLESS").is_some() {
        let new = format!("{}{BEGIN}{wanted}{}", &doc[..b], &doc[e..]);
        std::fs::write(path, new).unwrap();
        return;
    }
    assert_eq!(
        current, wanted,
        "docs/compatibility.md is stale: rerun with FERROCKET_BLESS=1"
    );
}
