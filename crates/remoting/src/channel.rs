use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use ferrocket_protocol::{ProtocolError, RemotingCommand};
use futures_util::StreamExt;
use parking_lot::Mutex;
use thiserror::Error;
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, Notify};
use tokio_util::codec::{Decoder, FramedRead};

use crate::router::Router;

/// Transport-level failures (never sent on the wire).
#[derive(Debug, Error)]
pub enum RemotingError {
    #[error("connect to {0} failed: {1}")]
    Connect(String, io::Error),
    #[error("connection to {0} is closed")]
    Closed(SocketAddr),
    #[error("request to {addr} timed out after {millis} ms")]
    Timeout { addr: SocketAddr, millis: u128 },
    #[error("protocol error: {0}")]
    Protocol(#[from] ProtocolError),
    #[error("bad address {0}")]
    Address(String),
}

/// Settings of a connection.
#[derive(Debug, Clone)]
pub struct ChannelConfig {
    /// Close the connection after this long without any traffic (RocketMQ: 120 s).
    pub idle_timeout: Duration,
    /// Outbound frames queued per connection before senders wait.
    pub write_queue: usize,
}

impl Default for ChannelConfig {
    fn default() -> Self {
        ChannelConfig {
            idle_timeout: Duration::from_secs(120),
            write_queue: 4096,
        }
    }
}

static NEXT_CHANNEL_ID: AtomicU64 = AtomicU64::new(1);

struct Inner {
    id: u64,
    remote: SocketAddr,
    local: SocketAddr,
    tx: mpsc::Sender<RemotingCommand>,
    pending: Mutex<HashMap<i32, oneshot::Sender<RemotingCommand>>>,
    next_opaque: AtomicI32,
    closed: AtomicBool,
    close_notify: Notify,
}

/// One connection. Cheap to clone; all clones refer to the same socket.
#[derive(Clone)]
pub struct Channel {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Channel#{}({})", self.inner.id, self.inner.remote)
    }
}

impl PartialEq for Channel {
    fn eq(&self, other: &Self) -> bool {
        self.inner.id == other.inner.id
    }
}
impl Eq for Channel {}
impl std::hash::Hash for Channel {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.inner.id.hash(state)
    }
}

/// Decodes frames; with `FERROCKET_FRAME_CAPTURE=<dir>` set, also writes every whole frame it
/// receives to `<dir>` (one file per frame) — how the golden-byte fixtures of `crates/protocol`
/// were captured from real Java clients and brokers. Off unless that variable is set.
struct FrameCodec {
    capture: Option<std::path::PathBuf>,
}

static CAPTURE_SEQ: AtomicU64 = AtomicU64::new(0);

impl FrameCodec {
    fn new() -> Self {
        FrameCodec {
            capture: std::env::var_os("FERROCKET_FRAME_CAPTURE").map(Into::into),
        }
    }

    fn capture(&self, frame: &[u8], cmd: &RemotingCommand) {
        let Some(dir) = &self.capture else { return };
        let seq = CAPTURE_SEQ.fetch_add(1, Ordering::Relaxed);
        let kind = if cmd.is_response() {
            "response"
        } else {
            "request"
        };
        let ser = match cmd.serialize_type {
            ferrocket_protocol::SerializeType::Json => "json",
            ferrocket_protocol::SerializeType::RocketMq => "rocketmq",
        };
        let name = format!(
            "{seq:05}-{kind}-{}-{}-{ser}.bin",
            cmd.code,
            cmd.language.name()
        );
        let _ = std::fs::create_dir_all(dir);
        let _ = std::fs::write(dir.join(name), frame);
    }
}

impl Decoder for FrameCodec {
    type Item = RemotingCommand;
    type Error = DecodeError;
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<RemotingCommand>, DecodeError> {
        if self.capture.is_none() {
            return RemotingCommand::decode_frame(src).map_err(DecodeError::Protocol);
        }
        let raw = src.clone();
        let before = src.len();
        let cmd = RemotingCommand::decode_frame(src).map_err(DecodeError::Protocol)?;
        if let Some(cmd) = &cmd {
            self.capture(&raw[..before - src.len()], cmd);
        }
        Ok(cmd)
    }
}

#[derive(Debug)]
enum DecodeError {
    Protocol(ProtocolError),
    Io(io::Error),
}
impl From<io::Error> for DecodeError {
    fn from(e: io::Error) -> Self {
        DecodeError::Io(e)
    }
}

impl Channel {
    /// Take over `stream`: spawn its reader and writer tasks. Requests arriving on it are
    /// dispatched with `router` (a client passes a router for server-initiated requests).
    pub fn spawn(stream: TcpStream, router: Arc<Router>, config: &ChannelConfig) -> Channel {
        let _ = stream.set_nodelay(true);
        let remote = stream
            .peer_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let local = stream
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let (tx, rx) = mpsc::channel(config.write_queue);
        let channel = Channel {
            inner: Arc::new(Inner {
                id: NEXT_CHANNEL_ID.fetch_add(1, Ordering::Relaxed),
                remote,
                local,
                tx,
                pending: Mutex::new(HashMap::new()),
                next_opaque: AtomicI32::new(1),
                closed: AtomicBool::new(false),
                close_notify: Notify::new(),
            }),
        };
        let (read_half, write_half) = stream.into_split();
        tokio::spawn(write_loop(channel.clone(), write_half, rx));
        tokio::spawn(read_loop(
            channel.clone(),
            read_half,
            router,
            config.idle_timeout,
        ));
        channel
    }

    pub fn id(&self) -> u64 {
        self.inner.id
    }
    pub fn remote_addr(&self) -> SocketAddr {
        self.inner.remote
    }
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local
    }
    pub fn is_active(&self) -> bool {
        !self.inner.closed.load(Ordering::Acquire)
    }

    /// Close the connection; pending requests fail, in-flight handlers see [`Self::closed`].
    pub fn close(&self) {
        if !self.inner.closed.swap(true, Ordering::AcqRel) {
            self.inner.pending.lock().clear();
            self.inner.close_notify.notify_waiters();
        }
    }

    /// Resolves once the connection is closed.
    pub async fn closed(&self) {
        loop {
            let notified = self.inner.close_notify.notified();
            if !self.is_active() {
                return;
            }
            notified.await;
        }
    }

    /// Queue a command for writing (a response, or a oneway request).
    pub async fn send(&self, cmd: RemotingCommand) -> Result<(), RemotingError> {
        if !self.is_active() {
            return Err(RemotingError::Closed(self.inner.remote));
        }
        self.inner
            .tx
            .send(cmd)
            .await
            .map_err(|_| RemotingError::Closed(self.inner.remote))
    }

    fn next_opaque(&self) -> i32 {
        self.inner.next_opaque.fetch_add(1, Ordering::Relaxed) & i32::MAX
    }

    /// Send a request and wait for its response.
    pub async fn request(
        &self,
        mut cmd: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, RemotingError> {
        let opaque = self.next_opaque();
        cmd.opaque = opaque;
        let (tx, rx) = oneshot::channel();
        self.inner.pending.lock().insert(opaque, tx);
        let result = tokio::time::timeout(timeout, async {
            self.send(cmd).await?;
            rx.await
                .map_err(|_| RemotingError::Closed(self.inner.remote))
        })
        .await;
        match result {
            Ok(r) => r,
            Err(_) => {
                self.inner.pending.lock().remove(&opaque);
                Err(RemotingError::Timeout {
                    addr: self.inner.remote,
                    millis: timeout.as_millis(),
                })
            }
        }
    }

    /// Send a oneway request (never answered).
    pub async fn oneway(&self, cmd: RemotingCommand) -> Result<(), RemotingError> {
        let mut cmd = cmd.mark_oneway();
        cmd.opaque = self.next_opaque();
        self.send(cmd).await
    }

    fn complete(&self, response: RemotingCommand) {
        let waiter = self.inner.pending.lock().remove(&response.opaque);
        match waiter {
            Some(tx) => {
                let _ = tx.send(response);
            }
            None => {
                tracing::debug!(channel = ?self, opaque = response.opaque, "response for no pending request")
            }
        }
    }
}

async fn read_loop(
    channel: Channel,
    read_half: tokio::net::tcp::OwnedReadHalf,
    router: Arc<Router>,
    idle: Duration,
) {
    let mut frames = FramedRead::with_capacity(read_half, FrameCodec::new(), 64 * 1024);
    loop {
        let next = tokio::select! {
            n = tokio::time::timeout(idle, frames.next()) => n,
            _ = channel.closed() => break,
        };
        match next {
            Err(_) => {
                tracing::info!(channel = ?channel, "closing idle connection");
                break;
            }
            Ok(None) => break,
            Ok(Some(Err(DecodeError::Io(e)))) => {
                tracing::debug!(channel = ?channel, error = %e, "read failed");
                break;
            }
            Ok(Some(Err(DecodeError::Protocol(e)))) => {
                tracing::warn!(channel = ?channel, error = %e, "malformed frame, closing connection");
                break;
            }
            Ok(Some(Ok(cmd))) => {
                if cmd.is_response() {
                    channel.complete(cmd);
                } else {
                    router.dispatch(channel.clone(), cmd);
                }
            }
        }
    }
    channel.close();
    router.connection_closed(&channel);
}

async fn write_loop(
    channel: Channel,
    write_half: tokio::net::tcp::OwnedWriteHalf,
    mut rx: mpsc::Receiver<RemotingCommand>,
) {
    let mut out = BufWriter::with_capacity(64 * 1024, write_half);
    let mut prefix = BytesMut::with_capacity(1024);
    loop {
        let cmd = tokio::select! {
            c = rx.recv() => match c { Some(c) => c, None => break },
            _ = channel.closed() => break,
        };
        if write_one(&mut out, &mut prefix, &cmd).await.is_err() {
            break;
        }
        // Coalesce whatever else is queued into the same flush.
        let mut failed = false;
        while let Ok(cmd) = rx.try_recv() {
            if write_one(&mut out, &mut prefix, &cmd).await.is_err() {
                failed = true;
                break;
            }
        }
        if failed || out.flush().await.is_err() {
            break;
        }
    }
    channel.close();
    let _ = out.shutdown().await;
}

async fn write_one(
    out: &mut BufWriter<tokio::net::tcp::OwnedWriteHalf>,
    prefix: &mut BytesMut,
    cmd: &RemotingCommand,
) -> io::Result<()> {
    prefix.clear();
    let header = cmd.encode_header();
    cmd.encode_frame_prefix(&header, prefix);
    out.write_all(prefix).await?;
    if !cmd.body.is_empty() {
        out.write_all(&cmd.body).await?;
    }
    Ok(())
}
