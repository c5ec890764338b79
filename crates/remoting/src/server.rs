use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::channel::{Channel, ChannelConfig};
use crate::router::Router;

/// A listening socket served by a [`Router`].
pub struct RemotingServer {
    local: SocketAddr,
    stop: watch::Sender<bool>,
}

impl RemotingServer {
    /// Bind `addr` and start accepting connections in a background task.
    pub async fn bind(
        addr: SocketAddr,
        router: Arc<Router>,
        config: ChannelConfig,
    ) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let (stop, mut stopped) = watch::channel(false);
        tokio::spawn(async move {
            let mut channels: Vec<Channel> = Vec::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((stream, peer)) => {
                            tracing::debug!(%peer, %local, "connection accepted");
                            channels.retain(Channel::is_active);
                            channels.push(Channel::spawn(stream, router.clone(), &config));
                        }
                        Err(e) => {
                            // EMFILE and friends: back off instead of spinning.
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        }
                    },
                    _ = stopped.changed() => break,
                }
            }
            for ch in channels {
                ch.close();
            }
        });
        Ok(RemotingServer { local, stop })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Stop accepting and close every connection.
    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
    }
}

impl Drop for RemotingServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}
