use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ferrocket_protocol::RemotingCommand;
use tokio::net::TcpStream;

use crate::channel::{Channel, ChannelConfig, RemotingError};
use crate::router::Router;

/// Connections to remote addresses (`host:port`), one per address, created on demand.
/// Requests the remote side sends to us are dispatched with `router`.
pub struct RemotingClient {
    router: Arc<Router>,
    config: ChannelConfig,
    connect_timeout: Duration,
    /// Live connections by address (looked up on every request, without waiting).
    channels: parking_lot::Mutex<HashMap<String, Channel>>,
    /// Held while connecting, so that concurrent first requests make one connection.
    connecting: tokio::sync::Mutex<()>,
}

impl RemotingClient {
    pub fn new(router: Router) -> Self {
        RemotingClient {
            router: Arc::new(router),
            config: ChannelConfig::default(),
            connect_timeout: Duration::from_secs(3),
            channels: parking_lot::Mutex::new(HashMap::new()),
            connecting: tokio::sync::Mutex::new(()),
        }
    }

    /// The live connection to `addr`, connecting if needed.
    pub async fn channel(&self, addr: &str) -> Result<Channel, RemotingError> {
        if let Some(ch) = self.live(addr) {
            return Ok(ch);
        }
        let _connecting = self.connecting.lock().await;
        if let Some(ch) = self.live(addr) {
            return Ok(ch);
        }
        let sock: SocketAddr = match addr.parse() {
            Ok(s) => s,
            Err(_) => tokio::net::lookup_host(addr)
                .await
                .map_err(|e| RemotingError::Connect(addr.to_string(), e))?
                .next()
                .ok_or_else(|| RemotingError::Address(addr.to_string()))?,
        };
        let stream = tokio::time::timeout(self.connect_timeout, TcpStream::connect(sock))
            .await
            .map_err(|_| {
                RemotingError::Connect(
                    addr.to_string(),
                    std::io::Error::from(std::io::ErrorKind::TimedOut),
                )
            })?
            .map_err(|e| RemotingError::Connect(addr.to_string(), e))?;
        let ch = Channel::spawn(stream, self.router.clone(), &self.config);
        self.channels.lock().insert(addr.to_string(), ch.clone());
        Ok(ch)
    }

    fn live(&self, addr: &str) -> Option<Channel> {
        self.channels
            .lock()
            .get(addr)
            .filter(|ch| ch.is_active())
            .cloned()
    }

    /// Send a request to `addr` and wait for the response.
    pub async fn invoke(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, RemotingError> {
        let ch = self.channel(addr).await?;
        let result = ch.request(request, timeout).await;
        if let Err(RemotingError::Timeout { .. }) = &result {
            // Java closes a channel after a timed-out sync call too; a fresh one is made next time.
            tracing::debug!(addr, "request timed out");
        }
        result
    }

    /// Send a oneway request to `addr`.
    pub async fn invoke_oneway(
        &self,
        addr: &str,
        request: RemotingCommand,
    ) -> Result<(), RemotingError> {
        self.channel(addr).await?.oneway(request).await
    }

    /// Close every connection.
    pub async fn shutdown(&self) {
        let channels: Vec<Channel> = self.channels.lock().drain().map(|(_, ch)| ch).collect();
        for ch in channels {
            ch.close();
        }
    }
}
