//! KV config (spec §7.9): 100 PUT, 101 GET, 102 DELETE, 219 GET_KVLIST_BY_NAMESPACE.

use std::sync::Arc;

use ferrocket_protocol::body::encode_json;
use ferrocket_protocol::header::{
    GetKVConfigResponseHeader, GetKVListByNamespaceRequestHeader, KVConfigKeyRequestHeader,
    PutKVConfigRequestHeader,
};
use ferrocket_protocol::{RemotingCommand, ResponseCode};
use ferrocket_remoting::Channel;

use super::{bad_header, error, success, Namesrv};

pub(crate) async fn put_kv_config(
    ns: Arc<Namesrv>,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h: PutKVConfigRequestHeader = match req.decode_header() {
        Ok(h) => h,
        Err(e) => return Some(bad_header(e)),
    };
    ns.kv.put(&h.namespace, &h.key, &h.value);
    ns.persist_kv().await;
    Some(success())
}

pub(crate) fn get_kv_config(ns: &Namesrv, _ch: &Channel, req: &RemotingCommand) -> RemotingCommand {
    let h: KVConfigKeyRequestHeader = match req.decode_header() {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    match ns.kv.get(&h.namespace, &h.key) {
        Some(value) => success().with_header(&GetKVConfigResponseHeader { value: Some(value) }),
        None => error(
            ResponseCode::QUERY_NOT_FOUND,
            format!("No config item, Namespace: {} Key: {}", h.namespace, h.key),
        ),
    }
}

pub(crate) async fn delete_kv_config(
    ns: Arc<Namesrv>,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h: KVConfigKeyRequestHeader = match req.decode_header() {
        Ok(h) => h,
        Err(e) => return Some(bad_header(e)),
    };
    ns.kv.delete(&h.namespace, &h.key);
    ns.persist_kv().await;
    Some(success())
}

/// 22 only when the namespace was never created; an emptied namespace answers `{"table":{}}`.
pub(crate) fn get_kv_list_by_namespace(
    ns: &Namesrv,
    _ch: &Channel,
    req: &RemotingCommand,
) -> RemotingCommand {
    let h: GetKVListByNamespaceRequestHeader = match req.decode_header() {
        Ok(h) => h,
        Err(e) => return bad_header(e),
    };
    match ns.kv.namespace(&h.namespace) {
        Some(table) => success().with_body(encode_json(&table)),
        None => error(
            ResponseCode::QUERY_NOT_FOUND,
            format!("No config item, Namespace: {}", h.namespace),
        ),
    }
}
