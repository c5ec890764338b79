//! Request processors: one function per request code, registered in [`router`].

pub mod admin;
pub mod client;
pub mod offset;
pub mod pull;
pub mod query;
pub mod send;
pub mod transaction;

use std::sync::Arc;

use ferrocket_protocol::{RemotingCommand, RequestCode as C, ResponseCode};
use ferrocket_remoting::{Channel, Pool, Router};

use crate::broker::BrokerInner;

/// A response with `code` and `remark`.
pub fn reply(code: i32, remark: impl Into<String>) -> RemotingCommand {
    RemotingCommand::response(code, Some(remark.into()))
}

/// An empty success.
pub fn ok() -> RemotingCommand {
    RemotingCommand::response(ResponseCode::SUCCESS, None)
}

/// Decode the typed header; on failure, the SYSTEM_ERROR reply a Java broker gives for a bad
/// header, naming the field.
macro_rules! try_header {
    ($req:expr) => {
        match $req.decode_header() {
            Ok(h) => h,
            Err(e) => return Some($crate::processor::header_error(e)),
        }
    };
}

pub fn header_error(e: ferrocket_protocol::ProtocolError) -> RemotingCommand {
    reply(ResponseCode::SYSTEM_ERROR, e.to_string())
}
pub(crate) use try_header;

type Handler = fn(
    Arc<BrokerInner>,
    Channel,
    RemotingCommand,
) -> ferrocket_remoting::BoxFuture<Option<RemotingCommand>>;

macro_rules! handler {
    ($f:path) => {{
        let h: Handler = |b, ch, req| Box::pin(async move { $f(&b, ch, req).await });
        h
    }};
}

/// The dispatch table: each request code maps to exactly one processor function, running in the
/// bounded queue of its kind.
pub fn router(inner: &Arc<BrokerInner>) -> Router {
    let cfg = &inner.config;
    let send = Pool::new("send", cfg.send_thread_pool_queue_capacity.max(1)).with_max_wait(
        std::time::Duration::from_millis(cfg.wait_time_mills_in_send_queue.max(1)),
    );
    let pull = Pool::new("pull", cfg.pull_thread_pool_queue_capacity.max(1));
    let heartbeat = Pool::new("heartbeat", 50_000);
    let client_pool = Pool::new("client", 50_000);
    let offsets = Pool::new("consumerManage", 100_000);
    let query = Pool::new("query", 20_000);
    let admin = Pool::new("admin", cfg.admin_thread_pool_queue_capacity.max(1));

    let table: Vec<(i32, &Pool, Handler)> = vec![
        (C::SEND_MESSAGE, &send, handler!(send::send_message)),
        (C::SEND_MESSAGE_V2, &send, handler!(send::send_message)),
        (C::SEND_BATCH_MESSAGE, &send, handler!(send::send_message)),
        (
            C::CONSUMER_SEND_MSG_BACK,
            &send,
            handler!(send::consumer_send_msg_back),
        ),
        (C::PULL_MESSAGE, &pull, handler!(pull::pull_message)),
        (C::LITE_PULL_MESSAGE, &pull, handler!(pull::pull_message)),
        (C::HEART_BEAT, &heartbeat, handler!(client::heart_beat)),
        (
            C::UNREGISTER_CLIENT,
            &client_pool,
            handler!(client::unregister_client),
        ),
        (
            C::CHECK_CLIENT_CONFIG,
            &client_pool,
            handler!(client::check_client_config),
        ),
        (
            C::GET_CONSUMER_LIST_BY_GROUP,
            &offsets,
            handler!(client::get_consumer_list_by_group),
        ),
        (
            C::QUERY_CONSUMER_OFFSET,
            &offsets,
            handler!(offset::query_consumer_offset),
        ),
        (
            C::UPDATE_CONSUMER_OFFSET,
            &offsets,
            handler!(offset::update_consumer_offset),
        ),
        (
            C::GET_MAX_OFFSET,
            &offsets,
            handler!(offset::get_max_offset),
        ),
        (
            C::GET_MIN_OFFSET,
            &offsets,
            handler!(offset::get_min_offset),
        ),
        (
            C::SEARCH_OFFSET_BY_TIMESTAMP,
            &offsets,
            handler!(offset::search_offset_by_timestamp),
        ),
        (
            C::GET_EARLIEST_MSG_STORETIME,
            &offsets,
            handler!(offset::get_earliest_msg_storetime),
        ),
        (
            C::LOCK_BATCH_MQ,
            &client_pool,
            handler!(client::lock_batch_mq),
        ),
        (
            C::UNLOCK_BATCH_MQ,
            &client_pool,
            handler!(client::unlock_batch_mq),
        ),
        (
            C::VIEW_MESSAGE_BY_ID,
            &query,
            handler!(query::view_message_by_id),
        ),
        (C::QUERY_MESSAGE, &query, handler!(query::query_message)),
        (
            C::END_TRANSACTION,
            &send,
            handler!(transaction::end_transaction),
        ),
        (
            C::UPDATE_AND_CREATE_TOPIC,
            &admin,
            handler!(admin::update_and_create_topic),
        ),
        (
            C::DELETE_TOPIC_IN_BROKER,
            &admin,
            handler!(admin::delete_topic),
        ),
        (
            C::GET_ALL_TOPIC_CONFIG,
            &admin,
            handler!(admin::get_all_topic_config),
        ),
        (
            C::GET_TOPIC_CONFIG,
            &admin,
            handler!(admin::get_topic_config),
        ),
        (
            C::GET_TOPIC_STATS_INFO,
            &admin,
            handler!(admin::get_topic_stats_info),
        ),
        (
            C::GET_BROKER_RUNTIME_INFO,
            &admin,
            handler!(admin::get_broker_runtime_info),
        ),
        (
            C::GET_BROKER_CONFIG,
            &admin,
            handler!(admin::get_broker_config),
        ),
        (
            C::GET_CONSUME_STATS,
            &admin,
            handler!(admin::get_consume_stats),
        ),
        (
            C::GET_CONSUMER_CONNECTION_LIST,
            &admin,
            handler!(admin::get_consumer_connection_list),
        ),
        (
            C::GET_PRODUCER_CONNECTION_LIST,
            &admin,
            handler!(admin::get_producer_connection_list),
        ),
        (
            C::QUERY_TOPIC_CONSUME_BY_WHO,
            &admin,
            handler!(admin::query_topic_consume_by_who),
        ),
        (
            C::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
            &admin,
            handler!(admin::update_and_create_subscription_group),
        ),
        (
            C::GET_ALL_SUBSCRIPTIONGROUP_CONFIG,
            &admin,
            handler!(admin::get_all_subscription_group_config),
        ),
        (
            C::DELETE_SUBSCRIPTIONGROUP,
            &admin,
            handler!(admin::delete_subscription_group),
        ),
        (
            C::GET_ALL_CONSUMER_OFFSET,
            &admin,
            handler!(admin::get_all_consumer_offset),
        ),
        (
            C::INVOKE_BROKER_TO_RESET_OFFSET,
            &admin,
            handler!(admin::reset_offset),
        ),
        (
            C::GET_CONSUMER_RUNNING_INFO,
            &admin,
            handler!(admin::get_consumer_running_info),
        ),
        (
            C::GET_SYSTEM_TOPIC_LIST_FROM_BROKER,
            &admin,
            handler!(admin::get_system_topic_list),
        ),
    ];
    let mut router = Router::new();
    for (code, pool, h) in table {
        let b = inner.clone();
        router = router.route(code, pool, move |ch, req| h(b.clone(), ch, req));
    }
    let b = inner.clone();
    router.on_close(move |ch| client::channel_closed(&b, ch))
}
