//! 318 UPDATE_NAMESRV_CONFIG and 319 GET_NAMESRV_CONFIG: the settings as properties text
//! (`mqadmin updateNamesrvConfig` / `getNamesrvConfig`).

use std::sync::Arc;

use ferrocket_protocol::{RemotingCommand, ResponseCode};
use ferrocket_remoting::Channel;

use super::{error, success, Namesrv};
use crate::config::parse_properties;
use crate::kv::write_atomically;
use crate::server::route_options;

/// Keys not in the config are ignored (Java merges only existing keys); blacklisted keys are
/// refused with 16 NO_PERMISSION; a bad value is refused whole with 1 naming the key. The new
/// settings are persisted to `configStorePath`.
pub(crate) async fn update_namesrv_config(
    ns: Arc<Namesrv>,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    if req.body.is_empty() {
        return Some(success());
    }
    let Ok(text) = std::str::from_utf8(&req.body) else {
        return Some(error(ResponseCode::SYSTEM_ERROR, "string2Properties error"));
    };
    let props = parse_properties(text);
    let text = {
        let mut config = ns.config.write();
        if props.keys().any(|k| config.is_blacklisted(k)) {
            return Some(error(
                ResponseCode::NO_PERMISSION,
                "Can not update config in black list.",
            ));
        }
        let unknown = match config.apply(&props) {
            Ok(u) => u,
            Err(e) => return Some(error(ResponseCode::SYSTEM_ERROR, e.to_string())),
        };
        if !unknown.is_empty() {
            tracing::warn!(?unknown, "updateNamesrvConfig: unknown keys ignored");
        }
        ns.route.set_options(route_options(&config));
        tracing::info!(changed = ?props.keys().collect::<Vec<_>>(), "nameserver config updated");
        config.to_properties_text()
    };
    let path = ns.config_store_path();
    let written =
        tokio::task::spawn_blocking(move || write_atomically(&path, text.as_bytes())).await;
    match written {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "persisting nameserver config failed"),
        Err(e) => tracing::error!(error = %e, "persisting nameserver config failed"),
    }
    Some(success())
}

pub(crate) fn get_namesrv_config(
    ns: &Namesrv,
    _ch: &Channel,
    _req: &RemotingCommand,
) -> RemotingCommand {
    success().with_body(ns.config.read().to_properties_text())
}
