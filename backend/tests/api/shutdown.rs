//! Graceful shutdown of `backend serve`: on SIGTERM it stops accepting connections, lets a request in flight
//! finish and exits 0; a request still running when `SHUTDOWN_GRACE_SECONDS` are up is cut off, and the
//! process ends all the same.

use std::net::SocketAddr;
use std::process::ExitStatus;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use crate::helpers::{BOB, TestApp};

/// `backend serve` on a free port of this machine, against the test app's database and stand-ins.
struct Served {
    child: Child,
    address: SocketAddr,
}

impl Served {
    async fn start(app: &TestApp, grace_seconds: u64) -> Served {
        let address = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap()
        };
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_backend"));
        command.arg("serve");
        app.backend_env(&mut command);
        command
            .env("BIND_ADDR", address.to_string())
            .env("SHUTDOWN_GRACE_SECONDS", grace_seconds.to_string())
            .env("IDP_RECONCILE_MINUTES", "0")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut command = Command::from(command);
        command.kill_on_drop(true);
        let child = command.spawn().unwrap();
        let served = Served { child, address };
        served.wait_until_ready().await;
        served
    }

    async fn wait_until_ready(&self) {
        let url = format!("http://{}/healthz", self.address);
        for _ in 0..300 {
            if let Ok(response) = reqwest::get(&url).await
                && response.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("backend serve did not answer {url}");
    }

    /// Sends SIGTERM, as a container runtime stopping the task does.
    async fn terminate(&self) {
        let pid = self.child.id().unwrap().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .unwrap();
        assert!(status.success());
    }

    /// Whether a new connection is refused (polled briefly: the signal is handled asynchronously).
    async fn refuses_connections(&self) -> bool {
        for _ in 0..50 {
            if TcpStream::connect(self.address).await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    async fn exit_status(mut self) -> ExitStatus {
        tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .expect("backend serve did not exit")
            .unwrap()
    }
}

/// A `POST /api/v1/reports` whose body is sent only up to `cut`, on its own connection.
async fn start_slow_report(address: SocketAddr, token: &str, body: &[u8], cut: usize) -> TcpStream {
    let mut stream = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /api/v1/reports HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..cut]).await.unwrap();
    stream.flush().await.unwrap();
    stream
}

const BODY: &[u8] = br#"{"title": "Written during a shutdown", "body": "It still arrives."}"#;

#[tokio::test]
async fn on_sigterm_a_request_in_flight_finishes_new_connections_are_refused_and_the_process_exits_0()
 {
    let app = TestApp::spawn().await;
    let token = app.pool_tokens(&BOB).await.access_token;
    let served = Served::start(&app, 30).await;

    let mut stream = start_slow_report(served.address, &token, BODY, 10).await;
    // The request has reached the handler, which is waiting for the rest of its body.
    tokio::time::sleep(Duration::from_millis(300)).await;
    served.terminate().await;
    assert!(
        served.refuses_connections().await,
        "no new connection after SIGTERM"
    );

    stream.write_all(&BODY[10..]).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(
        response.starts_with("HTTP/1.1 201"),
        "the request in flight completes: {response}"
    );
    assert!(served.exit_status().await.success());

    let titles: Vec<String> = sqlx::query_scalar("SELECT title FROM reports")
        .fetch_all(&app.db.owner)
        .await
        .unwrap();
    assert_eq!(titles, ["Written during a shutdown"]);
}

#[tokio::test]
async fn a_request_still_running_when_the_grace_period_ends_is_cut_off_and_the_process_ends() {
    let app = TestApp::spawn().await;
    let token = app.pool_tokens(&BOB).await.access_token;
    let served = Served::start(&app, 1).await;

    let mut stream = start_slow_report(served.address, &token, BODY, 10).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    served.terminate().await;
    // The rest of the body never comes; the server gives up on it after its grace period.
    assert!(served.exit_status().await.success());
    let mut left = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut left)).await;
    assert!(read.is_ok(), "the connection is closed");
    let reports: i64 = sqlx::query_scalar("SELECT count(*) FROM reports")
        .fetch_one(&app.db.owner)
        .await
        .unwrap();
    assert_eq!(reports, 0, "nothing half-written");
}
