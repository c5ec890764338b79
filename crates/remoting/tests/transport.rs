//! Transport behaviour over real sockets.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use ferrocket_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferrocket_remoting::{ChannelConfig, Pool, RemotingClient, RemotingServer, Router};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ECHO: i32 = 9000;
const SLOW: i32 = 9001;
const PANIC: i32 = 9002;

async fn server() -> RemotingServer {
    let pool = Pool::new("test", 2);
    let router = Router::new()
        .route(ECHO, &pool, |_ch, req: RemotingCommand| async move {
            let body = req.body.clone();
            Some(RemotingCommand::response(ResponseCode::SUCCESS, None).with_body(body))
        })
        .route(SLOW, &pool, |_ch, _req| async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            Some(RemotingCommand::response(ResponseCode::SUCCESS, None))
        })
        .route(PANIC, &pool, |_ch, _req| async move {
            if true {
                panic!("boom");
            }
            None
        });
    serve(router).await
}

/// A server on an ephemeral loopback port with default channel settings.
async fn serve(router: Router) -> RemotingServer {
    RemotingServer::bind(
        "127.0.0.1:0".parse().unwrap(),
        Arc::new(router),
        ChannelConfig::default(),
    )
    .await
    .unwrap()
}

fn timeout() -> Duration {
    Duration::from_secs(5)
}

#[tokio::test]
async fn request_response_and_unknown_code_keeps_connection() {
    let srv = server().await;
    let addr = srv.local_addr().to_string();
    let client = RemotingClient::new(Router::new());
    let resp = client
        .invoke(
            &addr,
            RemotingCommand::request(ECHO).with_body(&b"ping"[..]),
            timeout(),
        )
        .await
        .unwrap();
    assert_eq!(resp.code, ResponseCode::SUCCESS);
    assert_eq!(&resp.body[..], b"ping");

    let resp = client
        .invoke(&addr, RemotingCommand::request(4242), timeout())
        .await
        .unwrap();
    assert_eq!(resp.code, ResponseCode::REQUEST_CODE_NOT_SUPPORTED);
    assert_eq!(
        resp.remark.as_deref(),
        Some(" request type 4242 not supported")
    );

    // same connection still works
    let resp = client
        .invoke(&addr, RemotingCommand::request(ECHO), timeout())
        .await
        .unwrap();
    assert_eq!(resp.code, ResponseCode::SUCCESS);
}

#[tokio::test]
async fn full_queue_answers_system_busy() {
    let srv = server().await;
    let addr = srv.local_addr().to_string();
    let client = Arc::new(RemotingClient::new(Router::new()));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let c = client.clone();
        let a = addr.clone();
        tasks.push(tokio::spawn(async move {
            c.invoke(&a, RemotingCommand::request(SLOW), timeout())
                .await
                .unwrap()
                .code
        }));
    }
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.unwrap());
    }
    codes.sort();
    assert_eq!(
        codes,
        vec![0, 0, ResponseCode::SYSTEM_BUSY, ResponseCode::SYSTEM_BUSY]
    );
}

#[tokio::test]
async fn handler_panic_is_a_system_error() {
    let srv = server().await;
    let client = RemotingClient::new(Router::new());
    let resp = client
        .invoke(
            &srv.local_addr().to_string(),
            RemotingCommand::request(PANIC),
            timeout(),
        )
        .await
        .unwrap();
    assert_eq!(resp.code, ResponseCode::SYSTEM_ERROR);
    assert_eq!(resp.remark.as_deref(), Some("boom"));
}

#[tokio::test]
async fn oneway_requests_get_no_answer() {
    let srv = server().await;
    let mut raw = TcpStream::connect(srv.local_addr()).await.unwrap();
    let mut frame = BytesMut::new();
    RemotingCommand::request(ECHO)
        .mark_oneway()
        .encode_frame(&mut frame);
    let mut probe = RemotingCommand::request(ECHO);
    probe.opaque = 77;
    probe.encode_frame(&mut frame);
    raw.write_all(&frame).await.unwrap();
    // The first frame we get back is the probe's response.
    let len = raw.read_i32().await.unwrap();
    let mut buf = vec![0u8; len as usize];
    raw.read_exact(&mut buf).await.unwrap();
    let resp = RemotingCommand::decode_frame_body(buf.into()).unwrap();
    assert_eq!(resp.opaque, 77);
    assert!(resp.is_response());
}

#[tokio::test]
async fn oversized_frame_closes_only_that_connection() {
    let srv = server().await;
    let mut raw = TcpStream::connect(srv.local_addr()).await.unwrap();
    let mut frame = BytesMut::new();
    frame.put_i32(64 * 1024 * 1024);
    frame.put_i32(10);
    raw.write_all(&frame).await.unwrap();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(timeout(), raw.read(&mut buf))
        .await
        .unwrap()
        .unwrap_or(0);
    assert_eq!(n, 0, "server must close the connection");
    // Others are unaffected.
    let client = RemotingClient::new(Router::new());
    let resp = client
        .invoke(
            &srv.local_addr().to_string(),
            RemotingCommand::request(ECHO),
            timeout(),
        )
        .await
        .unwrap();
    assert_eq!(resp.code, 0);
}

#[tokio::test]
async fn server_can_call_the_client_back() {
    let srv_pool = Pool::new("srv", 16);
    let router = Router::new().route(
        ECHO,
        &srv_pool,
        |ch: ferrocket_remoting::Channel, _req| async move {
            // Ask the client something on the same connection, return what it said.
            let back = ch
                .request(
                    RemotingCommand::request(RequestCode::GET_CONSUMER_RUNNING_INFO),
                    Duration::from_secs(3),
                )
                .await
                .ok()?;
            Some(RemotingCommand::response(0, None).with_body(back.body))
        },
    );
    let srv = serve(router).await;
    let cli_pool = Pool::new("cli", 16);
    let client = RemotingClient::new(Router::new().route(
        RequestCode::GET_CONSUMER_RUNNING_INFO,
        &cli_pool,
        |_ch, _req| async move {
            Some(RemotingCommand::response(0, None).with_body(&b"client-info"[..]))
        },
    ));
    let resp = client
        .invoke(
            &srv.local_addr().to_string(),
            RemotingCommand::request(ECHO),
            timeout(),
        )
        .await
        .unwrap();
    assert_eq!(&resp.body[..], b"client-info");
}

#[tokio::test]
async fn request_times_out_when_no_answer() {
    // A listener that accepts and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (_s, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(10)).await;
    });
    let client = RemotingClient::new(Router::new());
    let err = client
        .invoke(
            &addr,
            RemotingCommand::request(ECHO),
            Duration::from_millis(200),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        ferrocket_remoting::RemotingError::Timeout { .. }
    ));
}

#[tokio::test]
async fn requests_that_waited_too_long_are_answered_busy() {
    // A handler that blocks the runtime's only thread makes the next request wait in line.
    let pool = Pool::new("send", 16).with_max_wait(Duration::from_millis(50));
    let router = Router::new().route(ECHO, &pool, |_ch, _req| async move {
        std::thread::sleep(Duration::from_millis(300)); // hog the worker thread
        Some(RemotingCommand::response(ResponseCode::SUCCESS, None))
    });
    let srv = serve(router).await;
    let mut raw = TcpStream::connect(srv.local_addr()).await.unwrap();
    let mut frames = BytesMut::new();
    for opaque in [1, 2] {
        let mut req = RemotingCommand::request(ECHO);
        req.opaque = opaque;
        req.encode_frame(&mut frames);
    }
    raw.write_all(&frames).await.unwrap(); // both arrive together
    let mut codes = Vec::new();
    for _ in 0..2 {
        let len = raw.read_i32().await.unwrap();
        let mut buf = vec![0u8; len as usize];
        raw.read_exact(&mut buf).await.unwrap();
        let resp = RemotingCommand::decode_frame_body(buf.into()).unwrap();
        codes.push((resp.opaque, resp.code, resp.remark.unwrap_or_default()));
    }
    codes.sort();
    assert_eq!((codes[0].0, codes[0].1), (1, ResponseCode::SUCCESS));
    assert_eq!((codes[1].0, codes[1].1), (2, ResponseCode::SYSTEM_BUSY));
    assert!(
        codes[1].2.starts_with("[TIMEOUT_CLEAN_QUEUE]"),
        "{}",
        codes[1].2
    );
}

#[tokio::test]
async fn a_peer_that_reads_late_gets_every_answer_intact_and_in_order() {
    // 400 pipelined 64 KiB echoes (25 MiB of answers) to a peer that starts reading only after
    // half a second: the socket fills, the server's outbox passes its high-water mark and it
    // stops reading that peer's requests until the answers drain; nothing is lost or reordered.
    let srv = server().await;
    let stream = TcpStream::connect(srv.local_addr()).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    const N: i32 = 400;
    let body: Vec<u8> = (0..65536u32).map(|i| (i * 7 % 251) as u8).collect();
    let sent = body.clone();
    let writer = tokio::spawn(async move {
        for opaque in 1..=N {
            let mut frame = BytesMut::new();
            let mut req = RemotingCommand::request(ECHO).with_body(sent.clone());
            req.opaque = opaque;
            req.encode_frame(&mut frame);
            wr.write_all(&frame).await.unwrap();
        }
        wr
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    for opaque in 1..=N {
        let len = tokio::time::timeout(Duration::from_secs(20), rd.read_i32())
            .await
            .expect("answer in time")
            .unwrap();
        let mut buf = vec![0u8; len as usize];
        rd.read_exact(&mut buf).await.unwrap();
        let resp = RemotingCommand::decode_frame_body(buf.into()).unwrap();
        assert_eq!(resp.opaque, opaque);
        assert_eq!(resp.code, ResponseCode::SUCCESS);
        assert!(resp.body[..] == body[..], "body of answer {opaque}");
    }
    let _wr = writer.await.unwrap();
}

#[tokio::test]
async fn pipelined_requests_read_together_are_all_answered() {
    let srv = server().await;
    let mut raw = TcpStream::connect(srv.local_addr()).await.unwrap();
    let mut frames = BytesMut::new();
    for opaque in 1..=50 {
        let mut req = RemotingCommand::request(if opaque == 25 { 4242 } else { ECHO })
            .with_body(format!("m{opaque}").into_bytes());
        req.opaque = opaque;
        req.encode_frame(&mut frames);
    }
    raw.write_all(&frames).await.unwrap(); // one write: read (mostly) in one go
    let mut seen = Vec::new();
    for _ in 1..=50 {
        let len = raw.read_i32().await.unwrap();
        let mut buf = vec![0u8; len as usize];
        raw.read_exact(&mut buf).await.unwrap();
        let resp = RemotingCommand::decode_frame_body(buf.into()).unwrap();
        if resp.opaque == 25 {
            assert_eq!(resp.code, ResponseCode::REQUEST_CODE_NOT_SUPPORTED);
        } else {
            assert_eq!(&resp.body[..], format!("m{}", resp.opaque).as_bytes());
        }
        seen.push(resp.opaque);
    }
    assert_eq!(seen, (1..=50).collect::<Vec<_>>());
}

/// Write coalescing (`Channel::flush_coalesced`): many concurrent requesters on one connection
/// all get their answers, and a frame whose sender is dropped while it yields before writing
/// still goes out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coalesced_writes_leave_no_frame_behind() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    const COUNT: i32 = 9003;
    let seen = Arc::new(AtomicUsize::new(0));
    let pool = Pool::new("count", 2);
    let counter = Arc::clone(&seen);
    let router = Router::new()
        .route(ECHO, &pool, |_ch, req: RemotingCommand| async move {
            let body = req.body.clone();
            Some(RemotingCommand::response(ResponseCode::SUCCESS, None).with_body(body))
        })
        .route(COUNT, &pool, move |_ch, _req| {
            let counter = Arc::clone(&counter);
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                None
            }
        });
    let srv = serve(router).await;
    let addr = srv.local_addr().to_string();
    let client = Arc::new(RemotingClient::new(Router::new()));

    // 64 requesters × 50 requests each on the one connection: every answer is its own
    let mut tasks = Vec::new();
    for t in 0..64u32 {
        let (client, addr) = (Arc::clone(&client), addr.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..50u32 {
                let body = format!("{t}-{i}");
                let resp = client
                    .invoke(
                        &addr,
                        RemotingCommand::request(ECHO).with_body(body.clone().into_bytes()),
                        timeout(),
                    )
                    .await
                    .unwrap();
                assert_eq!(&resp.body[..], body.as_bytes());
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }

    // a oneway send polled until it yields, then dropped: its frame is written anyway
    let mut fut = Box::pin(client.invoke_oneway(&addr, RemotingCommand::request(COUNT)));
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    assert!(
        fut.as_mut().poll(&mut cx).is_pending(),
        "the first sender on an idle outbox yields before writing"
    );
    drop(fut);
    let deadline = tokio::time::Instant::now() + timeout();
    while seen.load(Ordering::SeqCst) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the dropped sender's frame never reached the server"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
