//! A real Prometheus for tests: series described in Rust, written as `OpenMetrics`, loaded by `promtool tsdb create-blocks-from openmetrics` and served on a loopback port, optionally behind basic auth, TLS or a bearer-token proxy.
//!
//! What loads: `promtool` cuts the samples into blocks aligned to two hours
//! and Prometheus (2.42, Debian's package) serves them from its data
//! directory at start-up, whether the data is years old (the tests' fixed
//! [`BASE`]) or ends a minute before the wall clock (what an end-to-end test
//! of a command that reads the clock needs); checked both ways. Retention is
//! counted from the newest block, not the wall clock, and is set to 100
//! years anyway so that no block is ever dropped. The server has no scrape
//! targets, so the loaded samples are all it knows. Queries evaluate at
//! fixed times inside the data (instant queries see a sample up to five
//! minutes old, Prometheus' default lookback).
#![allow(dead_code)]

use std::fmt::Write as _;
use std::fs;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{text, tool};

/// 2024-01-01T00:00:00Z: the fixed start of the tests' data (Unix seconds).
pub const BASE: u64 = 1_704_067_200;

/// The type of a metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Written with `_total`.
    Counter,
    /// Written as it is.
    Gauge,
    /// Written as `_bucket{le=…}`, `_count` and `_sum`.
    Histogram,
}

/// One observation of a histogram: cumulative bucket counts by upper bound
/// (`le` as the exporter writes it, without `+Inf`), the total count and sum.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// `(le, cumulative count)`, ascending.
    pub buckets: Vec<(String, f64)>,
    /// The count of all observations (the `+Inf` bucket and `_count`).
    pub count: f64,
    /// The sum of all observations.
    pub sum: f64,
}

#[derive(Debug, Clone)]
enum Point {
    Value(f64),
    Histogram(Histogram),
}

#[derive(Debug)]
struct Family {
    name: String,
    kind: Kind,
    series: Vec<Samples>,
}

/// One series' labels (sorted) and samples (seconds after the base).
#[derive(Debug)]
struct Samples {
    labels: Vec<(String, String)>,
    points: Vec<(u64, Point)>,
}

/// Series to load, with times in seconds after a base time.
#[derive(Debug)]
pub struct Data {
    base: u64,
    families: Vec<Family>,
}

/// `(offset, f(offset))` for `offset` in `from, from + step, … ≤ to`.
pub fn every(from: u64, to: u64, step: u64, f: impl Fn(u64) -> f64) -> Vec<(u64, f64)> {
    (from..=to).step_by(usize::try_from(step).expect("step")).map(|t| (t, f(t))).collect()
}

impl Data {
    /// No series yet; times count from `base` (Unix seconds).
    pub fn new(base: u64) -> Self {
        Self { base, families: Vec::new() }
    }

    /// The base time.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// A counter series `NAME_total{labels}` (give `name` without `_total`).
    pub fn counter(&mut self, name: &str, labels: &[(&str, &str)], samples: &[(u64, f64)]) -> &mut Self {
        let points = samples.iter().map(|(t, v)| (*t, Point::Value(*v))).collect();
        self.add(name, Kind::Counter, labels, points)
    }

    /// A gauge series.
    pub fn gauge(&mut self, name: &str, labels: &[(&str, &str)], samples: &[(u64, f64)]) -> &mut Self {
        let points = samples.iter().map(|(t, v)| (*t, Point::Value(*v))).collect();
        self.add(name, Kind::Gauge, labels, points)
    }

    /// A classic histogram series (`_bucket`, `_count`, `_sum`).
    pub fn histogram(&mut self, name: &str, labels: &[(&str, &str)], samples: &[(u64, Histogram)]) -> &mut Self {
        let points = samples.iter().map(|(t, h)| (*t, Point::Histogram(h.clone()))).collect();
        self.add(name, Kind::Histogram, labels, points)
    }

    fn add(&mut self, name: &str, kind: Kind, labels: &[(&str, &str)], mut points: Vec<(u64, Point)>) -> &mut Self {
        points.sort_by_key(|(t, _)| *t);
        let mut labels: Vec<(String, String)> =
            labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        labels.sort();
        // OpenMetrics wants every family's lines together.
        let index = self.families.iter().position(|f| f.name == name).unwrap_or_else(|| {
            self.families.push(Family { name: name.to_owned(), kind, series: Vec::new() });
            self.families.len() - 1
        });
        let family = &mut self.families[index];
        assert_eq!(family.kind, kind, "`{name}` is added with two types");
        family.series.push(Samples { labels, points });
        self
    }

    /// The `OpenMetrics` text `promtool` reads: families one after another,
    /// each series' samples in time order, timestamps in seconds, `# EOF`.
    pub fn openmetrics(&self) -> String {
        let mut out = String::new();
        for family in &self.families {
            let kind = match family.kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
                Kind::Histogram => "histogram",
            };
            writeln!(out, "# TYPE {} {kind}", family.name).expect("write");
            for Samples { labels, points } in &family.series {
                for (offset, point) in points {
                    let at = self.base + offset;
                    match point {
                        Point::Value(v) => {
                            let suffix = if family.kind == Kind::Counter { "_total" } else { "" };
                            writeln!(out, "{}{suffix}{} {} {at}", family.name, label_set(labels, None), number(*v))
                                .expect("write");
                        }
                        Point::Histogram(h) => {
                            for (le, count) in
                                h.buckets.iter().map(|(le, c)| (le.as_str(), *c)).chain([("+Inf", h.count)])
                            {
                                writeln!(
                                    out,
                                    "{}_bucket{} {} {at}",
                                    family.name,
                                    label_set(labels, Some(le)),
                                    number(count)
                                )
                                .expect("write");
                            }
                            writeln!(out, "{}_count{} {} {at}", family.name, label_set(labels, None), number(h.count))
                                .expect("write");
                            writeln!(out, "{}_sum{} {} {at}", family.name, label_set(labels, None), number(h.sum))
                                .expect("write");
                        }
                    }
                }
            }
        }
        out.push_str("# EOF\n");
        out
    }
}

fn label_set(labels: &[(String, String)], le: Option<&str>) -> String {
    let mut pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape_label(v))).collect();
    if let Some(le) = le {
        pairs.push(format!("le=\"{le}\""));
    }
    if pairs.is_empty() { String::new() } else { format!("{{{}}}", pairs.join(",")) }
}

fn escape_label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

/// How the server is reached.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Basic auth users (`user`, `password`), hashed with bcrypt into the web config.
    pub basic_auth: Option<(String, String)>,
    /// Serve HTTPS with a certificate for `127.0.0.1` and `localhost` signed by a fresh CA.
    pub tls: bool,
    /// Put a proxy in front that lets through only requests with
    /// `Authorization: Bearer TOKEN` (as kube-rbac-proxy or an OAuth proxy
    /// would: Prometheus' own web server knows no bearer tokens); plain HTTP only.
    pub bearer: Option<String>,
}

/// A running Prometheus, killed on drop.
pub struct Prometheus {
    child: Child,
    dir: tempfile::TempDir,
    proxy: Option<BearerProxy>,
    /// `http://127.0.0.1:PORT` or `https://…`.
    pub url: String,
    /// The PEM file of the CA that signed the server's certificate (with [`Options::tls`]).
    pub ca_file: Option<PathBuf>,
}

impl Prometheus {
    /// Loads `data` and serves it over plain HTTP without auth.
    pub fn start(data: &Data) -> Self {
        Self::start_with(data, &Options::default())
    }

    /// Loads `data` and serves it as `options` say; returns once `/-/ready` answers.
    pub fn start_with(data: &Data, options: &Options) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let tsdb = dir.path().join("tsdb");
        let input = dir.path().join("data.om");
        fs::write(&input, data.openmetrics()).expect("write OpenMetrics");
        let out = Command::new(tool("promtool"))
            .args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(&input)
            .arg(&tsdb)
            .output()
            .expect("run promtool");
        assert!(out.status.success(), "promtool cannot load the data:\n{}{}", text(&out.stdout), text(&out.stderr));
        let config = dir.path().join("prometheus.yml");
        fs::write(&config, "scrape_configs: []\n").expect("write config");
        let (web_config, ca_file) = web_config(dir.path(), options);
        // A port that was free a moment ago may be taken by the time the
        // server binds it; the server then exits and we try another.
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port();
            let scheme = if options.tls { "https" } else { "http" };
            let url = format!("{scheme}://127.0.0.1:{port}");
            let log = fs::File::create(dir.path().join("prometheus.log")).expect("log file");
            let mut command = Command::new(tool("prometheus"));
            command
                .arg(format!("--config.file={}", config.display()))
                .arg(format!("--storage.tsdb.path={}", tsdb.display()))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--storage.tsdb.retention.time=100y")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log);
            if let Some(web_config) = &web_config {
                command.arg(format!("--web.config.file={}", web_config.display()));
            }
            let mut child = command.spawn().expect("start prometheus");
            if wait_ready(&mut child, &url, ca_file.as_deref(), options, dir.path()) {
                let Some(token) = &options.bearer else { return Self { child, dir, proxy: None, url, ca_file } };
                assert!(
                    !options.tls && options.basic_auth.is_none(),
                    "the bearer proxy speaks plain HTTP to a plain server"
                );
                let proxy = BearerProxy::start(token.clone(), port);
                let url = proxy.url.clone();
                return Self { child, dir, proxy: Some(proxy), url, ca_file };
            }
            let log = read_log(dir.path());
            assert!(log.contains("address already in use"), "prometheus did not start:\n{log}");
        }
        panic!("prometheus found no free port in 5 tries")
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        read_log(self.dir.path())
    }

    /// The data directory (the loaded blocks).
    pub fn tsdb(&self) -> PathBuf {
        self.dir.path().join("tsdb")
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(proxy) = self.proxy.take() {
            proxy.stop();
        }
    }
}

/// A reverse proxy on another loopback port that answers 401 unless the
/// request carries the bearer token, and otherwise passes the request to
/// Prometheus and its answer back.
struct BearerProxy {
    url: String,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl BearerProxy {
    fn start(token: String, upstream: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let address = listener.local_addr().expect("proxy address");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let token = token.clone();
                thread::spawn(move || proxy_one(stream, &token, upstream));
            }
        });
        Self { url: format!("http://{address}"), stop, thread: Some(thread) }
    }

    fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn proxy_one(mut client: TcpStream, token: &str, upstream: u16) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(10)));
    let Some((head, body)) = read_http_request(&mut client) else { return };
    // The scheme is case-insensitive (RFC 9110), the token is not.
    let authorised = head.lines().any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.eq_ignore_ascii_case("authorization")
                && value
                    .trim()
                    .split_once(' ')
                    .is_some_and(|(scheme, given)| scheme.eq_ignore_ascii_case("bearer") && given == token)
        })
    });
    if !authorised {
        let _ = client.write_all(b"HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: close\r\n\r\nUnauthorized\n");
        return;
    }
    // One request per connection, so that the answer ends where the stream does.
    let mut forwarded = String::new();
    for line in
        head.split("\r\n").filter(|line| !line.is_empty() && !line.to_ascii_lowercase().starts_with("connection:"))
    {
        forwarded.push_str(line);
        forwarded.push_str("\r\n");
    }
    forwarded.push_str("Connection: close\r\n\r\n");
    let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)) else { return };
    if server.write_all(forwarded.as_bytes()).and_then(|()| server.write_all(&body)).is_err() {
        return;
    }
    let _ = std::io::copy(&mut server, &mut client);
}

/// The head (up to the blank line) and the body (by `Content-Length`) of one request.
fn read_http_request(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut bytes = Vec::new();
    let mut buffer = [0; 4096];
    let end = loop {
        if let Some(at) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = stream.read(&mut buffer).ok().filter(|n| *n > 0)?;
        bytes.extend_from_slice(&buffer[..n]);
    };
    let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|line| {
            line.split_once(':')
                .filter(|(name, _)| name.eq_ignore_ascii_case("content-length"))
                .map(|(_, v)| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    let mut body = bytes[end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut buffer).ok().filter(|n| *n > 0)?;
        body.extend_from_slice(&buffer[..n]);
    }
    Some((head, body))
}

fn read_log(dir: &Path) -> String {
    let mut log = String::new();
    if let Ok(mut file) = fs::File::open(dir.join("prometheus.log")) {
        let _ = file.read_to_string(&mut log);
    }
    log
}

/// Polls `/-/ready` (with the server's credentials and CA) for up to 30 s;
/// false if the server exited first.
fn wait_ready(child: &mut Child, url: &str, ca_file: Option<&Path>, options: &Options, dir: &Path) -> bool {
    let mut tls = ureq::tls::TlsConfig::builder();
    if let Some(ca) = ca_file {
        let pem = fs::read(ca).expect("read CA");
        let certs: Vec<_> = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item.expect("PEM") {
                ureq::tls::PemItem::Certificate(c) => Some(c),
                _ => None,
            })
            .collect();
        tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(tls.build())
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(2)))
        .build()
        .into();
    let limit = Instant::now() + Duration::from_secs(30);
    while Instant::now() < limit {
        if child.try_wait().expect("wait for prometheus").is_some() {
            return false;
        }
        let mut request = agent.get(format!("{url}/-/ready"));
        if let Some((user, password)) = &options.basic_auth {
            use base64::Engine as _;
            let pair = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            request = request.header("Authorization", format!("Basic {pair}"));
        }
        if request.call().is_ok() {
            return true;
        }
        thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("prometheus was not ready within 30 s:\n{}", read_log(dir));
}

/// A CA and a server certificate for `127.0.0.1` and `localhost` signed by it.
pub struct Certificates {
    /// The CA certificate (PEM).
    pub ca: String,
    /// The server certificate (PEM).
    pub cert: String,
    /// The server's private key (PEM).
    pub key: String,
}

/// A fresh CA and server certificate.
pub fn certificates() -> Certificates {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, KeyUsagePurpose, SanType};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "modelgen test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key")).expect("CA certificate");
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).expect("server params");
    params.subject_alt_names.push(SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])));
    let key = KeyPair::generate().expect("server key");
    let cert = params.signed_by(&key, &ca).expect("server certificate");
    Certificates { ca: ca.pem(), cert: cert.pem(), key: key.serialize_pem() }
}

/// The `--web.config.file` for `options` (none when plain), and the CA file.
fn web_config(dir: &Path, options: &Options) -> (Option<PathBuf>, Option<PathBuf>) {
    if options.basic_auth.is_none() && !options.tls {
        return (None, None);
    }
    let mut config = String::new();
    let mut ca_file = None;
    if options.tls {
        let certificates = certificates();
        let (ca, cert, key) = (dir.join("ca.pem"), dir.join("server.pem"), dir.join("server-key.pem"));
        fs::write(&ca, &certificates.ca).expect("write CA");
        fs::write(&cert, &certificates.cert).expect("write certificate");
        fs::write(&key, &certificates.key).expect("write key");
        writeln!(config, "tls_server_config:\n  cert_file: {}\n  key_file: {}", cert.display(), key.display())
            .expect("write");
        ca_file = Some(ca);
    }
    if let Some((user, password)) = &options.basic_auth {
        // The lowest cost bcrypt allows: Prometheus checks the hash on every request.
        let hash = bcrypt::hash(password, 4).expect("bcrypt");
        writeln!(config, "basic_auth_users:\n  {user}: '{hash}'").expect("write");
    }
    let path = dir.join("web.yml");
    fs::write(&path, config).expect("write web config");
    (Some(path), ca_file)
}
