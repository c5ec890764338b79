//! Request handlers of the nameserver: one function per request code, grouped by area, and the
//! dispatch table ([`router`]) that maps each code to exactly one of them.
//!
//! A handler decodes its header, asks [`RouteInfoManager`] or [`KvConfigManager`] to do the work
//! and builds the response; it never touches the tables itself. A header that cannot be decoded
//! is answered 1 SYSTEM_ERROR with the text Java would send (`the custom field <x> is null`).
//! Codes not in the table are answered 3 REQUEST_CODE_NOT_SUPPORTED by the router.

mod broker_liveness;
mod cluster_info;
mod kv_config;
mod member_group;
mod namesrv_config;
mod register_broker;
mod route;
mod topic_admin;
mod topic_list;
mod unregister_broker;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use ferrocket_protocol::{ProtocolError, RemotingCommand, RequestCode, ResponseCode};
use ferrocket_remoting::{BoxFuture, Channel, Pool, Router};
use parking_lot::RwLock;

use crate::config::NamesrvConfig;
use crate::kv::KvConfigManager;
use crate::route_info::RouteInfoManager;

/// Everything a handler may use.
pub(crate) struct Namesrv {
    pub config: RwLock<NamesrvConfig>,
    pub route: Arc<RouteInfoManager>,
    pub kv: Arc<KvConfigManager>,
    pub started: Instant,
}

impl Namesrv {
    /// Persist the KV table off the async threads; failures are logged (Java answers success
    /// too: the value is already served from memory).
    async fn persist_kv(&self) {
        let kv = self.kv.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || kv.persist()).await {
            tracing::error!(error = %e, "KV persist task failed");
        }
    }

    /// Where UPDATE_NAMESRV_CONFIG writes the settings.
    fn config_store_path(&self) -> PathBuf {
        self.config.read().config_store_path.clone()
    }
}

fn success() -> RemotingCommand {
    RemotingCommand::response(ResponseCode::SUCCESS, None)
}

fn error(code: i32, remark: impl Into<String>) -> RemotingCommand {
    RemotingCommand::response(code, Some(remark.into()))
}

fn bad_header(e: ProtocolError) -> RemotingCommand {
    error(ResponseCode::SYSTEM_ERROR, e.to_string())
}

type SyncHandler = fn(&Namesrv, &Channel, &RemotingCommand) -> RemotingCommand;

/// A handler that answers without waiting on anything.
fn sync(
    ns: &Arc<Namesrv>,
    f: SyncHandler,
) -> impl Fn(Channel, RemotingCommand) -> std::future::Ready<Option<RemotingCommand>>
       + Send
       + Sync
       + 'static {
    let ns = ns.clone();
    move |ch, req| std::future::ready(Some(f(&ns, &ch, &req)))
}

type DeferredHandler = fn(Arc<Namesrv>, RemotingCommand) -> BoxFuture<Option<RemotingCommand>>;

/// A handler that waits (on disk I/O) before answering.
fn deferred(
    ns: &Arc<Namesrv>,
    f: DeferredHandler,
) -> impl Fn(Channel, RemotingCommand) -> BoxFuture<Option<RemotingCommand>> + Send + Sync + 'static
{
    let ns = ns.clone();
    move |_ch, req| f(ns.clone(), req)
}

/// The dispatch table. Route lookups get their own queue, as in Java, so a burst of admin or
/// registration traffic cannot starve clients.
pub(crate) fn router(ns: &Arc<Namesrv>) -> Router {
    let (client_cap, default_cap) = {
        let c = ns.config.read();
        (
            c.client_request_thread_pool_queue_capacity.max(1) as usize,
            c.default_thread_pool_queue_capacity.max(1) as usize,
        )
    };
    // Two bounded queues, as Java's two executors: `c` for route lookups, `d` for the rest.
    let c = &Pool::new("namesrv-client", client_cap);
    let d = &Pool::new("namesrv-default", default_cap);
    use RequestCode as C;
    #[rustfmt::skip]
    let answered_now: [(i32, &Pool, SyncHandler); 20] = [
        (C::GET_ROUTEINFO_BY_TOPIC, c, route::get_route_info_by_topic),
        (C::REGISTER_BROKER, d, register_broker::register_broker),
        (C::UNREGISTER_BROKER, d, unregister_broker::unregister_broker),
        (C::GET_BROKER_CLUSTER_INFO, d, cluster_info::get_broker_cluster_info),
        (C::QUERY_DATA_VERSION, d, broker_liveness::query_data_version),
        (C::BROKER_HEARTBEAT, d, broker_liveness::broker_heartbeat),
        (C::GET_BROKER_MEMBER_GROUP, d, member_group::get_broker_member_group),
        (C::GET_ALL_TOPIC_LIST_FROM_NAMESERVER, d, topic_list::get_all_topic_list),
        (C::GET_TOPICS_BY_CLUSTER, d, topic_list::get_topics_by_cluster),
        (C::GET_SYSTEM_TOPIC_LIST_FROM_NS, d, topic_list::get_system_topic_list),
        (C::GET_UNIT_TOPIC_LIST, d, topic_list::get_unit_topic_list),
        (C::GET_HAS_UNIT_SUB_TOPIC_LIST, d, topic_list::get_has_unit_sub_topic_list),
        (C::GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST, d, topic_list::get_has_unit_sub_ununit_topic_list),
        (C::DELETE_TOPIC_IN_NAMESRV, d, topic_admin::delete_topic_in_namesrv),
        (C::REGISTER_TOPIC_IN_NAMESRV, d, topic_admin::register_topic_in_namesrv),
        (C::WIPE_WRITE_PERM_OF_BROKER, d, topic_admin::wipe_write_perm_of_broker),
        (C::ADD_WRITE_PERM_OF_BROKER, d, topic_admin::add_write_perm_of_broker),
        (C::GET_KV_CONFIG, d, kv_config::get_kv_config),
        (C::GET_KVLIST_BY_NAMESPACE, d, kv_config::get_kv_list_by_namespace),
        (C::GET_NAMESRV_CONFIG, d, namesrv_config::get_namesrv_config),
    ];
    #[rustfmt::skip]
    let answered_after_io: [(i32, &Pool, DeferredHandler); 3] = [
        (C::PUT_KV_CONFIG, d, |ns, req| Box::pin(kv_config::put_kv_config(ns, req))),
        (C::DELETE_KV_CONFIG, d, |ns, req| Box::pin(kv_config::delete_kv_config(ns, req))),
        (C::UPDATE_NAMESRV_CONFIG, d, |ns, req| Box::pin(namesrv_config::update_namesrv_config(ns, req))),
    ];
    let mut router = Router::new();
    for (code, pool, f) in answered_now {
        router = router.route(code, pool, sync(ns, f));
    }
    for (code, pool, f) in answered_after_io {
        router = router.route(code, pool, deferred(ns, f));
    }
    let on_close = ns.route.clone();
    router.on_close(move |ch| {
        on_close.on_channel_closed(ch);
    })
}
