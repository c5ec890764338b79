use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use ferrocket_protocol::{codes::response, RemotingCommand};
use futures_util::FutureExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::channel::Channel;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Handles one request code. `None` means "no response" (the requester times out), which is
/// only right for requests that are answered later or never.
pub trait RequestHandler: Send + Sync + 'static {
    fn handle(
        &self,
        channel: Channel,
        request: RemotingCommand,
    ) -> BoxFuture<Option<RemotingCommand>>;
}

impl<F, Fut> RequestHandler for F
where
    F: Fn(Channel, RemotingCommand) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<RemotingCommand>> + Send + 'static,
{
    fn handle(
        &self,
        channel: Channel,
        request: RemotingCommand,
    ) -> BoxFuture<Option<RemotingCommand>> {
        Box::pin(self(channel, request))
    }
}

/// A bounded processing queue shared by the handlers of one kind of request (send, pull, admin…).
/// When `capacity` requests are already queued or running, new ones are answered `SYSTEM_BUSY`.
#[derive(Clone)]
pub struct Pool {
    name: &'static str,
    permits: Arc<Semaphore>,
    max_wait: Option<std::time::Duration>,
}

impl Pool {
    pub fn new(name: &'static str, capacity: usize) -> Self {
        Pool {
            name,
            permits: Arc::new(Semaphore::new(capacity)),
            max_wait: None,
        }
    }

    /// Answer `SYSTEM_BUSY` ("[TIMEOUT_CLEAN_QUEUE]") instead of running a request that waited
    /// longer than `max_wait` between its arrival and the start of its handler (RocketMQ's
    /// `waitTimeMillsInSendQueue`): the client retries elsewhere rather than time out.
    pub fn with_max_wait(mut self, max_wait: std::time::Duration) -> Self {
        self.max_wait = Some(max_wait);
        self
    }
    pub fn name(&self) -> &'static str {
        self.name
    }
    /// Requests currently queued or running.
    pub fn in_flight(&self, capacity: usize) -> usize {
        capacity.saturating_sub(self.permits.available_permits())
    }
    fn try_enter(&self) -> Option<OwnedSemaphorePermit> {
        self.permits.clone().try_acquire_owned().ok()
    }
}

struct Route {
    handler: Arc<dyn RequestHandler>,
    pool: Option<Pool>,
}

type CloseHook = Box<dyn Fn(&Channel) + Send + Sync>;

/// Request code → handler table.
#[derive(Default)]
pub struct Router {
    routes: HashMap<i32, Route>,
    close_hooks: Vec<CloseHook>,
}

impl Router {
    pub fn new() -> Self {
        Self::default()
    }

    /// Register the one handler of `code`, running in `pool`'s bounded queue.
    pub fn route(mut self, code: i32, pool: &Pool, handler: impl RequestHandler) -> Self {
        let prev = self.routes.insert(
            code,
            Route {
                handler: Arc::new(handler),
                pool: Some(pool.clone()),
            },
        );
        debug_assert!(prev.is_none(), "request code {code} routed twice");
        self
    }

    /// Register a handler run without a queue bound (for cheap, never-blocking requests).
    pub fn route_unbounded(mut self, code: i32, handler: impl RequestHandler) -> Self {
        self.routes.insert(
            code,
            Route {
                handler: Arc::new(handler),
                pool: None,
            },
        );
        self
    }

    /// Called for every connection that closes.
    pub fn on_close(mut self, hook: impl Fn(&Channel) + Send + Sync + 'static) -> Self {
        self.close_hooks.push(Box::new(hook));
        self
    }

    pub fn supports(&self, code: i32) -> bool {
        self.routes.contains_key(&code)
    }

    pub(crate) fn connection_closed(&self, channel: &Channel) {
        for hook in &self.close_hooks {
            hook(channel);
        }
    }

    /// Run the handler for `request`: polled once right here, so an answer that is ready at
    /// once goes to the channel's outbox without a task hand-off (the read loop writes every
    /// answer of one read together); a handler that has to wait (long polling, a SYNC_FLUSH
    /// flush, a call to another server) continues in a task of its own and answers from there.
    /// `arrived` is when the request was read off the socket.
    pub(crate) fn dispatch(&self, channel: &Channel, request: RemotingCommand, arrived: Instant) {
        let Some(route) = self.routes.get(&request.code) else {
            tracing::debug!(code = request.code, channel = ?channel, "request code not supported");
            if !request.is_oneway() {
                let resp = RemotingCommand::response(
                    response::REQUEST_CODE_NOT_SUPPORTED,
                    Some(format!(" request type {} not supported", request.code)),
                )
                .response_to(&request);
                let _ = channel.enqueue(&resp);
            }
            return;
        };
        let permit = match &route.pool {
            Some(pool) => match pool.try_enter() {
                Some(p) => Some(p),
                None => {
                    tracing::warn!(
                        code = request.code,
                        pool = pool.name(),
                        "processing queue full, rejecting"
                    );
                    if !request.is_oneway() {
                        let resp = RemotingCommand::response(
                            response::SYSTEM_BUSY,
                            Some(
                                "[REJECTREQUEST]system busy, start flow control for a while"
                                    .to_string(),
                            ),
                        )
                        .response_to(&request);
                        let _ = channel.enqueue(&resp);
                    }
                    return;
                }
            },
            None => None,
        };
        let reply = Reply {
            code: request.code,
            opaque: request.opaque,
            serialize_type: request.serialize_type,
            oneway: request.is_oneway(),
        };
        let waited = arrived.elapsed();
        if let Some(max) = route.pool.as_ref().and_then(|p| p.max_wait) {
            if waited > max {
                tracing::warn!(
                    code = reply.code,
                    waited_ms = waited.as_millis() as u64,
                    "request waited too long in its queue, rejecting"
                );
                let resp = RemotingCommand::response(
                    response::SYSTEM_BUSY,
                    Some(format!(
                        "[TIMEOUT_CLEAN_QUEUE]broker busy, start flow control for a while, period in queue: {}ms",
                        waited.as_millis()
                    )),
                );
                reply.enqueue(channel, Some(resp));
                return;
            }
        }
        let mut fut = route.handler.handle(channel.clone(), request);
        // A future that returns `Pending` has arranged to wake the waker of *that* poll; the task
        // it moves into polls it again at once with its own waker, which every future then
        // registers in place of this no-op one. So nothing is lost by polling it here first.
        let mut cx = Context::from_waker(Waker::noop());
        match std::panic::catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(&mut cx))) {
            Ok(Poll::Ready(resp)) => {
                drop(permit);
                reply.enqueue(channel, resp);
            }
            Ok(Poll::Pending) => {
                let channel = channel.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    let result = AssertUnwindSafe(fut).catch_unwind().await;
                    let resp = match result {
                        Ok(resp) => resp,
                        Err(panic) => Some(panic_response(reply.code, panic)),
                    };
                    if let Some(first) = reply.enqueue(&channel, resp) {
                        channel.flush_coalesced(first).await;
                    }
                });
            }
            Err(panic) => {
                drop(permit);
                reply.enqueue(channel, Some(panic_response(reply.code, panic)));
            }
        }
    }
}

/// How to address the answer to one request.
#[derive(Clone, Copy)]
struct Reply {
    code: i32,
    opaque: i32,
    serialize_type: ferrocket_protocol::SerializeType,
    oneway: bool,
}

impl Reply {
    /// Queue `resp` as the answer (nothing for oneway requests or handlers that answer `None`).
    /// Returns, if something was queued, whether the outbox was idle ([`Channel::enqueue`]).
    fn enqueue(&self, channel: &Channel, resp: Option<RemotingCommand>) -> Option<bool> {
        let mut resp = resp?;
        if self.oneway {
            return None;
        }
        resp.opaque = self.opaque;
        resp.serialize_type = self.serialize_type;
        resp.flag = (resp.flag | ferrocket_protocol::command::FLAG_RESPONSE)
            & !ferrocket_protocol::command::FLAG_ONEWAY;
        channel.enqueue(&resp).ok()
    }
}

fn panic_response(code: i32, panic: Box<dyn std::any::Any + Send>) -> RemotingCommand {
    let msg = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "handler panicked".into());
    tracing::error!(code, error = %msg, "request handler panicked");
    RemotingCommand::response(response::SYSTEM_ERROR, Some(msg))
}
