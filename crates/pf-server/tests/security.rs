//! Authentication and TLS: every RPC without a token fails UNAUTHENTICATED when tokens are configured; scopes
//! nest (read < write < admin); off loopback the server refuses to start without TLS and tokens; TLS with a
//! test CA made here (rcgen), with and without client certificates, from tonic and from the stock grpcio
//! Python client.

use std::time::Duration;

use pf_proto::v1 as pb;
use pf_proto::v1::forecast_service_client::ForecastServiceClient;
use pf_server::Config;
use pf_server::config::TokenConfig;
use tokio::sync::oneshot;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tonic::{Code, Request};

struct TestServer {
    addr: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl TestServer {
    async fn start(config: Config) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(pf_server::serve(listener, config, async {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            stop: Some(stop),
            handle,
        }
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(30), self.handle)
            .await
            .expect("shutdown in time")
            .unwrap()
            .unwrap();
    }
}

async fn connect(endpoint: tonic::transport::Endpoint) -> Channel {
    for _ in 0..250 {
        if let Ok(c) = endpoint.connect().await {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("server did not come up");
}

struct Tokens {
    read: String,
    write: String,
    admin: String,
    config: Vec<TokenConfig>,
}

fn tokens() -> Tokens {
    let read = pf_server::auth::new_token().unwrap();
    let write = pf_server::auth::new_token().unwrap();
    let admin = pf_server::auth::new_token().unwrap();
    let t = |name: &str, tok: &str, scope: &str| TokenConfig {
        name: name.into(),
        sha256: pf_server::auth::token_hash(tok),
        scopes: vec![scope.into()],
    };
    let config = vec![
        t("reader", &read, "read"),
        t("writer", &write, "write"),
        t("root", &admin, "admin"),
    ];
    Tokens {
        read,
        write,
        admin,
        config,
    }
}

fn config(dir: &tempfile::TempDir) -> Config {
    Config {
        db: dir.path().join("store.sqlite3"),
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Config::default()
    }
}

fn with_token<T>(msg: T, token: &str) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    r
}

#[path = "common/raw.rs"]
mod raw;
use raw::Raw;

const METHODS: [&str; 18] = [
    "CreateCase",
    "GetCase",
    "UpdateCase",
    "ListCases",
    "DeleteCase",
    "ListSignals",
    "AppendSignals",
    "RetractSignal",
    "GetForecast",
    "GetTrajectory",
    "WhatIf",
    "RunScenario",
    "ComparePolicies",
    "GetValueOfInformation",
    "GetModel",
    "ListSignalTypes",
    "ImportEvents",
    "WatchForecast",
];

async fn raw(ch: &Channel, path: &str, token: Option<&str>) -> Result<(), tonic::Status> {
    let mut g = tonic::client::Grpc::new(ch.clone());
    g.ready().await.unwrap();
    let req = match token {
        Some(t) => with_token(Vec::new(), t),
        None => Request::new(Vec::new()),
    };
    if path.ends_with("WatchForecast") || path.contains("Reflection") {
        g.server_streaming(req, path.parse().unwrap(), Raw)
            .await
            .map(|_| ())
    } else {
        g.unary(req, path.parse().unwrap(), Raw).await.map(|_| ())
    }
}

#[tokio::test]
async fn every_rpc_needs_a_token_and_scopes_nest() {
    let dir = tempfile::tempdir().unwrap();
    let t = tokens();
    let srv = TestServer::start(Config {
        tokens: t.config.clone(),
        ..config(&dir)
    })
    .await;
    let ch = connect(Channel::from_shared(format!("http://{}", srv.addr)).unwrap()).await;
    for m in METHODS {
        let path = format!("/pressureforecast.v1.ForecastService/{m}");
        let e = raw(&ch, &path, None).await.unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated, "{m}: {e:?}");
        let e = raw(&ch, &path, Some("short")).await.unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated, "{m}: {e:?}");
        let e = raw(&ch, &path, Some(&"z".repeat(43))).await.unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated, "{m}: {e:?}");
    }
    // Reflection needs a token too; health does not (probes).
    let e = raw(
        &ch,
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
    let mut health = tonic_health::pb::health_client::HealthClient::new(ch.clone());
    health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap();

    let mut c = ForecastServiceClient::new(ch.clone());
    let case = pb::CreateCaseRequest {
        coercion_case: Some(pb::Case {
            id: "c".into(),
            sender: "USA".into(),
            target: "PRK".into(),
            start: Some(pf_proto::convert::date_to_proto(
                chrono::NaiveDate::from_ymd_opt(2017, 1, 20).unwrap(),
            )),
            term_end: Some(pf_proto::convert::date_to_proto(
                chrono::NaiveDate::from_ymd_opt(2021, 1, 20).unwrap(),
            )),
            ..Default::default()
        }),
    };
    // read: reads, cannot write or delete.
    let e = c
        .create_case(with_token(case.clone(), &t.read))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    assert!(e.message().contains("`write`"), "{e:?}");
    c.get_model(with_token(pb::GetModelRequest {}, &t.read))
        .await
        .unwrap();
    // write: writes, cannot delete or import.
    c.create_case(with_token(case.clone(), &t.write)).await.unwrap();
    let e = c
        .append_signals(with_token(
            pb::AppendSignalsRequest {
                case_id: "c".into(),
                ..Default::default()
            },
            &t.read,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    for tok in [&t.read, &t.write] {
        let e = c
            .delete_case(with_token(pb::DeleteCaseRequest { case_id: "c".into() }, tok))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
        let e = c
            .import_events(with_token(
                pb::ImportEventsRequest {
                    case_id: "c".into(),
                    ..Default::default()
                },
                tok,
            ))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    }
    // admin: everything.
    c.get_case(with_token(
        pb::GetCaseRequest {
            case_id: "c".into(),
            ..Default::default()
        },
        &t.admin,
    ))
    .await
    .unwrap();
    c.delete_case(with_token(
        pb::DeleteCaseRequest { case_id: "c".into() },
        &t.admin,
    ))
    .await
    .unwrap();
    srv.stop().await;
}

#[test]
fn off_loopback_needs_tls_and_tokens_unless_told_otherwise() {
    let c = Config {
        listen: "0.0.0.0:50051".parse().unwrap(),
        ..Config::default()
    };
    let e = c.validate().unwrap_err();
    assert!(e.to_string().contains("loopback"), "{e}");
    let t = tokens();
    let only_tokens = Config {
        tokens: t.config.clone(),
        ..c.clone()
    };
    assert!(only_tokens.validate().is_err());
    let both = Config {
        tls_cert: Some("cert.pem".into()),
        tls_key: Some("key.pem".into()),
        ..only_tokens
    };
    both.validate().unwrap();
    let told = Config {
        allow_insecure: true,
        ..c
    };
    told.validate().unwrap();
    // A malformed hash or scope is refused.
    let bad = Config {
        tokens: vec![TokenConfig {
            name: "x".into(),
            sha256: "abc".into(),
            scopes: vec!["read".into()],
        }],
        ..Config::default()
    };
    assert!(bad.validate().is_err());
}

/// A test CA, a server certificate for localhost and 127.0.0.1, and a client certificate, as PEM files.
struct Pki {
    ca: std::path::PathBuf,
    server_cert: std::path::PathBuf,
    server_key: std::path::PathBuf,
    client_cert: String,
    client_key: String,
}

fn pki(dir: &std::path::Path) -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "pf test ca");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let mut sp = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    sp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = sp.signed_by(&server_key, &issuer).unwrap();
    let client_key = KeyPair::generate().unwrap();
    let mut cp = CertificateParams::new(vec!["client".to_owned()]).unwrap();
    cp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_cert = cp.signed_by(&client_key, &issuer).unwrap();
    let w = |name: &str, text: String| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    Pki {
        ca: w("ca.pem", ca_cert.pem()),
        server_cert: w("server.pem", server_cert.pem()),
        server_key: w("server.key", server_key.serialize_pem()),
        client_cert: client_cert.pem(),
        client_key: client_key.serialize_pem(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_and_without_client_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let p = pki(dir.path());
    let t = tokens();
    let ca = std::fs::read_to_string(&p.ca).unwrap();
    // Server certificate only.
    let srv = TestServer::start(Config {
        tls_cert: Some(p.server_cert.clone()),
        tls_key: Some(p.server_key.clone()),
        tokens: t.config.clone(),
        ..config(&dir)
    })
    .await;
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&ca))
        .domain_name("localhost");
    let ch = connect(
        Channel::from_shared(format!("https://{}", srv.addr))
            .unwrap()
            .tls_config(tls.clone())
            .unwrap(),
    )
    .await;
    let mut c = ForecastServiceClient::new(ch);
    c.get_model(with_token(pb::GetModelRequest {}, &t.read))
        .await
        .unwrap();
    // Plain text to a TLS port fails.
    let plain = Channel::from_shared(format!("http://{}", srv.addr))
        .unwrap()
        .connect()
        .await;
    if let Ok(plain) = plain {
        let e = ForecastServiceClient::new(plain)
            .get_model(with_token(pb::GetModelRequest {}, &t.read))
            .await
            .unwrap_err();
        assert_ne!(e.code(), Code::Ok);
    }
    {
        let (addr, ca, tok) = (srv.addr, p.ca.clone(), t.read.clone());
        tokio::task::spawn_blocking(move || python_grpcio_over_tls(addr, &ca, &tok, None))
            .await
            .unwrap();
    }
    srv.stop().await;

    // Client certificates required.
    let srv = TestServer::start(Config {
        tls_cert: Some(p.server_cert.clone()),
        tls_key: Some(p.server_key.clone()),
        tls_client_ca: Some(p.ca.clone()),
        tokens: t.config.clone(),
        ..config(&dir)
    })
    .await;
    let ep = Channel::from_shared(format!("https://{}", srv.addr))
        .unwrap()
        .tls_config(tls.clone())
        .unwrap();
    // Wait for the server, then a call without a client certificate fails.
    let with_cert = connect(
        Channel::from_shared(format!("https://{}", srv.addr))
            .unwrap()
            .tls_config(
                tls.clone()
                    .identity(Identity::from_pem(&p.client_cert, &p.client_key)),
            )
            .unwrap(),
    )
    .await;
    ForecastServiceClient::new(with_cert)
        .get_model(with_token(pb::GetModelRequest {}, &t.read))
        .await
        .unwrap();
    let without = match ep.connect().await {
        Ok(ch) => ForecastServiceClient::new(ch)
            .get_model(with_token(pb::GetModelRequest {}, &t.read))
            .await
            .map(|_| ()),
        Err(e) => Err(tonic::Status::unavailable(e.to_string())),
    };
    assert!(without.is_err(), "a client without a certificate was served");
    let key = dir.path().join("client.key");
    let cert = dir.path().join("client.pem");
    std::fs::write(&key, &p.client_key).unwrap();
    std::fs::write(&cert, &p.client_cert).unwrap();
    {
        let (addr, ca, tok) = (srv.addr, p.ca.clone(), t.read.clone());
        tokio::task::spawn_blocking(move || python_grpcio_over_tls(addr, &ca, &tok, Some((&cert, &key))))
            .await
            .unwrap();
    }
    srv.stop().await;
}

/// The Python interpreter with grpcio: `PF_PYTHON`, else the worktree's `.venv`, else `python3`; `None` when
/// none has grpcio (the test then says so and checks the rest).
fn python_with_grpcio() -> Option<String> {
    let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/bin/python");
    let candidates = std::env::var("PF_PYTHON")
        .ok()
        .into_iter()
        .chain([venv.to_owned(), "python3".to_owned()]);
    candidates.into_iter().find(|p| {
        std::process::Command::new(p)
            .args(["-c", "import grpc"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// GetModel through the stock grpcio client over TLS with the test CA (and a client certificate).
fn python_grpcio_over_tls(
    addr: std::net::SocketAddr,
    ca: &std::path::Path,
    token: &str,
    client: Option<(&std::path::Path, &std::path::Path)>,
) {
    let Some(py) = python_with_grpcio() else {
        eprintln!("no Python with grpcio (set PF_PYTHON): the grpcio TLS check is skipped");
        return;
    };
    let (cert, key) = client.map_or((String::new(), String::new()), |(c, k)| {
        (c.display().to_string(), k.display().to_string())
    });
    let script = r#"
import sys, grpc
addr, ca, token, cert, key = sys.argv[1:6]
read = lambda p: open(p, 'rb').read() if p else None
creds = grpc.ssl_channel_credentials(root_certificates=read(ca), private_key=read(key), certificate_chain=read(cert))
ch = grpc.secure_channel(addr, creds, options=[('grpc.ssl_target_name_override', 'localhost')])
call = ch.unary_unary('/pressureforecast.v1.ForecastService/GetModel')
reply = call(b'', metadata=[('authorization', 'Bearer ' + token)], timeout=20)
assert len(reply) > 100, len(reply)
try:
    call(b'', timeout=20)
    sys.exit('served without a token')
except grpc.RpcError as e:
    assert e.code() == grpc.StatusCode.UNAUTHENTICATED, e.code()
print('ok', len(reply))
"#;
    let out = std::process::Command::new(py)
        .args([
            "-c",
            script,
            &addr.to_string(),
            &ca.display().to_string(),
            token,
            &cert,
            &key,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "grpcio over TLS failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn rate_limit_per_credential() {
    let dir = tempfile::tempdir().unwrap();
    let t = tokens();
    let srv = TestServer::start(Config {
        tokens: t.config.clone(),
        rate_per_second: 1,
        rate_burst: 2,
        ..config(&dir)
    })
    .await;
    let ch = connect(Channel::from_shared(format!("http://{}", srv.addr)).unwrap()).await;
    let mut c = ForecastServiceClient::new(ch);
    // The burst of one credential, then refusals; another credential has its own bucket.
    let mut refused = None;
    for _ in 0..3 {
        if let Err(e) = c.get_model(with_token(pb::GetModelRequest {}, &t.read)).await {
            refused = Some(e);
            break;
        }
    }
    let e = refused.expect("a third call within the second was served");
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    assert!(e.message().contains("rate_per_second"), "{e:?}");
    c.get_model(with_token(pb::GetModelRequest {}, &t.write))
        .await
        .unwrap();
    srv.stop().await;
}
