//! [`Gate`]: a TCP forwarder in front of a real server, for outage tests.
//!
//! Clients are pointed at the gate instead of the server. While open, it passes every connection through
//! untouched (TLS, SigV4 and Host headers included, since it forwards bytes). Closed, it behaves as a server
//! that went away: connections in flight are cut and new ones are refused (the port has no listener). Opened
//! again, it listens on the same port, so clients that kept the address reach the server again without being
//! reconfigured: a Postgres restart, or an AWS endpoint that is down for a while, as the client sees them.

use std::net::{Ipv4Addr, SocketAddr};

use anyhow::Context as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::{JoinHandle, JoinSet};
use url::Url;

/// A TCP gate on `127.0.0.1:<port>` forwarding to one target address; see the module's documentation.
#[derive(Debug)]
pub struct Gate {
    address: SocketAddr,
    target: String,
    running: Mutex<Option<Running>>,
}

/// The gate's work while it is open: accepting, and one task per forwarded connection.
#[derive(Debug)]
struct Running {
    accept: JoinHandle<()>,
}

impl Gate {
    /// Opens a gate on a free port of 127.0.0.1 forwarding to `target` (`host:port`).
    pub async fn open(target: impl Into<String>) -> anyhow::Result<Gate> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .context("binding a gate's port")?;
        let address = listener.local_addr().context("reading a gate's address")?;
        let target = target.into();
        let running = Running {
            accept: tokio::spawn(forward(listener, target.clone())),
        };
        Ok(Gate {
            address,
            target,
            running: Mutex::new(Some(running)),
        })
    }

    /// Opens a gate to the host and port of `url` (`http://`, `https://` or `postgres://`).
    pub async fn open_to(url: &Url) -> anyhow::Result<Gate> {
        let host = url.host_str().context("the URL has no host")?;
        let port = url.port_or_known_default().context("the URL has no port")?;
        Gate::open(format!("{host}:{port}")).await
    }

    /// `url` with its host and port replaced by the gate's: the same service, reached through the gate.
    pub fn url_for(&self, url: &Url) -> anyhow::Result<Url> {
        let mut through = url.clone();
        through
            .set_host(Some(&self.address.ip().to_string()))
            .context("setting the gate's host")?;
        through
            .set_port(Some(self.address.port()))
            .map_err(|()| anyhow::anyhow!("the URL cannot have a port"))?;
        Ok(through)
    }

    /// Where the gate listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Closes the gate: connections in flight are cut (both sides see their socket closed) and the port stops
    /// listening, so new connections are refused. Closing a closed gate does nothing.
    pub async fn close(&self) {
        let Some(running) = self.running.lock().await.take() else {
            return;
        };
        running.accept.abort();
        // Waiting for the task makes sure the listener and every forwarded socket are dropped on return.
        let _ = running.accept.await;
    }

    /// Opens a closed gate again on the same port. Opening an open gate does nothing.
    pub async fn reopen(&self) -> anyhow::Result<()> {
        let mut running = self.running.lock().await;
        if running.is_some() {
            return Ok(());
        }
        let listener = TcpListener::bind(self.address)
            .await
            .with_context(|| format!("binding {} again", self.address))?;
        *running = Some(Running {
            accept: tokio::spawn(forward(listener, self.target.clone())),
        });
        Ok(())
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        if let Some(running) = self.running.get_mut().take() {
            running.accept.abort();
        }
    }
}

/// Accepts on `listener` and forwards each connection to `target` until aborted; the connections' tasks are
/// owned here, so aborting this task cuts them all.
async fn forward(listener: TcpListener, target: String) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((mut inbound, _)) = accepted else {
                    continue;
                };
                let target = target.clone();
                connections.spawn(async move {
                    // A target that refuses is passed on as a connection closed at once.
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = outbound.set_nodelay(true);
                        let _ = inbound.set_nodelay(true);
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
            // Reap finished connections so that a long test does not accumulate them.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    /// An echo server: what it reads it writes back.
    async fn echo() -> SocketAddr {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut read, mut write) = stream.split();
                    let _ = tokio::io::copy(&mut read, &mut write).await;
                });
            }
        });
        address
    }

    async fn round_trip(stream: &mut TcpStream, message: &[u8]) -> std::io::Result<Vec<u8>> {
        stream.write_all(message).await?;
        let mut answer = vec![0; message.len()];
        stream.read_exact(&mut answer).await?;
        Ok(answer)
    }

    #[tokio::test]
    async fn a_closed_gate_cuts_open_connections_refuses_new_ones_and_reopens_on_its_port() {
        let gate = Gate::open(echo().await.to_string()).await.unwrap();
        let mut before = TcpStream::connect(gate.address()).await.unwrap();
        assert_eq!(round_trip(&mut before, b"ping").await.unwrap(), b"ping");

        gate.close().await;
        let mut rest = Vec::new();
        let cut = before.read_to_end(&mut rest).await;
        assert!(
            cut.is_err() || rest.is_empty(),
            "the open connection is cut"
        );
        assert!(
            TcpStream::connect(gate.address()).await.is_err(),
            "a closed gate refuses connections"
        );

        gate.reopen().await.unwrap();
        let mut after = TcpStream::connect(gate.address()).await.unwrap();
        assert_eq!(round_trip(&mut after, b"pong").await.unwrap(), b"pong");
    }

    #[test]
    fn urls_through_the_gate_keep_everything_but_the_address() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let gate = runtime
            .block_on(Gate::open("127.0.0.1:5432".to_owned()))
            .unwrap();
        let url =
            Url::parse("postgres://app:secret@localhost:49153/tenant_db?sslmode=disable").unwrap();
        let through = gate.url_for(&url).unwrap();
        assert_eq!(
            through.as_str(),
            format!(
                "postgres://app:secret@127.0.0.1:{}/tenant_db?sslmode=disable",
                gate.address().port()
            )
        );
    }
}
