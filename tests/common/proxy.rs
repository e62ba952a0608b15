//! A loopback TCP proxy that can cut a server off mid-transfer, as a server
//! that dies or a network that drops would, or hold the traffic at a byte
//! count so a test can act (kill the server) at a known point of an upload.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What happens once `limit` bytes went upstream.
#[derive(Clone, Copy)]
enum AtLimit {
    /// Close every connection and refuse new ones.
    Cut,
    /// Stop forwarding client bytes (connections stay open) until released.
    Hold,
}

/// Where a holding proxy is: it holds once, and a release is final.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hold {
    Before,
    Holding,
    Released,
}

/// Forwards `127.0.0.1:port` to an upstream port until cut or held.
pub struct Proxy {
    /// Where clients connect.
    pub port: u16,
    cut: Arc<AtomicBool>,
    hold: watch::Sender<Hold>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Forward to `upstream`; once more than `cut_after` bytes went upstream
    /// in total, every connection is closed and new ones are refused.
    pub async fn start(upstream: u16, cut_after: u64) -> Proxy {
        Self::with(upstream, cut_after, AtLimit::Cut).await
    }

    /// Forward to `upstream`; once `hold_after` bytes went upstream in
    /// total, client bytes are held (on every connection, new ones too)
    /// until [`Proxy::release`]. Answers still flow back, and a connection
    /// whose server side closes is closed.
    pub async fn holding(upstream: u16, hold_after: u64) -> Proxy {
        Self::with(upstream, hold_after, AtLimit::Hold).await
    }

    async fn with(upstream: u16, limit: u64, at_limit: AtLimit) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let (hold, _) = watch::channel(Hold::Before);
        let link = Link {
            cut: cut.clone(),
            hold: hold.clone(),
            sent: Arc::new(AtomicU64::new(0)),
            limit,
            at_limit,
        };
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                if link.cut.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let link = link.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await {
                        pipe(client, server, link).await;
                    }
                });
            }
        });
        Proxy {
            port,
            cut,
            hold,
            task,
        }
    }

    /// Whether the cut has happened.
    pub fn was_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }

    /// Wait until traffic is held (bounded: a test that never gets there
    /// fails rather than hangs).
    pub async fn wait_held(&self) {
        let mut rx = self.hold.subscribe();
        tokio::time::timeout(
            std::time::Duration::from_secs(60),
            rx.wait_for(|h| *h != Hold::Before),
        )
        .await
        .expect("the proxy did not reach its byte count within 60s")
        .expect("the proxy stopped");
    }

    /// Forward everything from now on, held bytes first; no further holds.
    pub fn release(&self) {
        self.hold.send_replace(Hold::Released);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What every connection of one proxy shares.
#[derive(Clone)]
struct Link {
    cut: Arc<AtomicBool>,
    hold: watch::Sender<Hold>,
    sent: Arc<AtomicU64>,
    limit: u64,
    at_limit: AtLimit,
}

impl Link {
    /// Whether `n` more bytes may go upstream now; holds (waits) first when
    /// they would pass a hold limit.
    async fn admit(&self, n: usize) -> bool {
        let before = self.sent.fetch_add(n as u64, Ordering::SeqCst);
        if before + n as u64 <= self.limit {
            return true;
        }
        match self.at_limit {
            AtLimit::Cut => {
                self.cut.store(true, Ordering::SeqCst);
                false
            }
            AtLimit::Hold => {
                // Under the channel's lock, so two connections crossing the
                // limit together both see the hold.
                self.hold.send_if_modified(|h| {
                    let first = *h == Hold::Before;
                    if first {
                        *h = Hold::Holding;
                    }
                    first
                });
                let mut rx = self.hold.subscribe();
                rx.wait_for(|h| *h == Hold::Released).await.is_ok()
            }
        }
    }
}

async fn pipe(client: TcpStream, server: TcpStream, link: Link) {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if !link.admit(n).await {
                return;
            }
            if sw.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    let down = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match sr.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if cw.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    // Whichever side ends first ends the connection: a cut drops both, and
    // a server that dies while bytes are held closes the client's side.
    tokio::select! {
        _ = up => {}
        _ = down => {}
    }
}
