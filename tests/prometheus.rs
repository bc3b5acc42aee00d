//! The Prometheus access layer (`modelgen::prometheus`) against a real Prometheus (Debian's package, data loaded by promtool) and against hostile in-test servers.

// The values compared exactly are integers loaded into Prometheus, or infinity.
#![allow(clippy::float_cmp)]

mod support;

#[path = "prometheus/harness.rs"]
mod harness;

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use harness::{BASE, Data, Histogram, Options, Prometheus, every};
use modelgen::prometheus::{Access, AccessOptions, Client, QueryError, Sample};

/// A time `offset` seconds after [`BASE`].
fn at(offset: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(BASE + offset)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A small whole number as a value.
fn float(n: u64) -> f64 {
    f64::from(u32::try_from(n).expect("small"))
}

fn client_with(options: &AccessOptions, env: &[(&str, &str)]) -> Client {
    let env: BTreeMap<String, String> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    Client::new(Access::new(options, |name| env.get(name).cloned()).expect("valid access"))
}

fn client(url: &str) -> Client {
    client_with(&AccessOptions::new(url), &[])
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// An hour of traffic: a counter that grows by 10 a minute, a latency
/// histogram with 2 of every 10 requests under 100 ms and the rest under
/// 500 ms, and a 0/1 gauge that turns on at 30 minutes.
fn traffic() -> Data {
    let mut data = Data::new(BASE);
    data.counter("requests", &[("model", "iris"), ("code", "200")], &every(0, 3600, 60, |t| float(t / 60 * 10)));
    let latency: Vec<(u64, Histogram)> = (0..=3600)
        .step_by(60)
        .map(|t| {
            let n = float(t / 60 * 10);
            let buckets = vec![("0.1".to_owned(), n * 0.2), ("0.5".to_owned(), n), ("1.0".to_owned(), n)];
            (t, Histogram { buckets, count: n, sum: n * 0.3 })
        })
        .collect();
    data.histogram("latency_seconds", &[("model", "iris")], &latency);
    data.gauge("live", &[("model", "iris")], &every(0, 3600, 60, |t| if t >= 1800 { 1.0 } else { 0.0 }));
    data
}

fn value(samples: &[Sample]) -> f64 {
    assert_eq!(samples.len(), 1, "one sample expected: {samples:?}");
    samples[0].value
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn instant_and_range_queries_return_the_loaded_values() {
    let server = Prometheus::start(&traffic());
    let prometheus = client(&server.url);

    let samples = prometheus.instant("requests_total", at(1800)).expect("instant query");
    assert_eq!(
        samples,
        vec![Sample {
            labels: labels(&[("__name__", "requests_total"), ("code", "200"), ("model", "iris")]),
            value: 300.0
        }]
    );
    let rate = value(&prometheus.instant("sum by (model) (rate(requests_total[5m]))", at(1800)).expect("rate"));
    assert!(close(rate, 10.0 / 60.0), "rate {rate}");
    let median = value(
        &prometheus
            .instant("histogram_quantile(0.5, sum by (le) (rate(latency_seconds_bucket[5m])))", at(1800))
            .expect("quantile"),
    );
    assert!(close(median, 0.25), "median {median}");
    // A scalar result is one unlabelled sample.
    assert_eq!(
        prometheus.instant("scalar(sum(live))", at(3000)).expect("scalar"),
        vec![Sample { labels: BTreeMap::new(), value: 1.0 }]
    );
    // 0/0 is NaN, Prometheus' "no value": left out; x/0 is +Inf: kept.
    assert_eq!(prometheus.instant("(live - live) / (live - live)", at(3000)).expect("NaN"), vec![]);
    assert_eq!(value(&prometheus.instant("sum(requests_total) / 0", at(1800)).expect("Inf")), f64::INFINITY);
    // A long expression fits (sent in the POST body, not the URL).
    let long = vec!["requests_total"; 2000].join(" + ");
    assert!(close(value(&prometheus.instant(&format!("sum({long})"), at(1800)).expect("long")), 600_000.0));

    let series = prometheus.range("requests_total", at(600), at(900), secs(60)).expect("range query");
    assert_eq!(series.len(), 1);
    assert_eq!(series[0].labels, labels(&[("__name__", "requests_total"), ("code", "200"), ("model", "iris")]));
    let expected: Vec<_> = (10..=15).map(|m| (at(m * 60), float(m * 10))).collect();
    assert_eq!(series[0].points, expected);
}

#[test]
fn prometheus_refusals_are_typed_errors() {
    let server = Prometheus::start(&traffic());
    let prometheus = client(&server.url);
    match prometheus.instant("rate(requests_total)", at(1800)) {
        Err(QueryError::Rejected { status: 400, error_type, error, .. }) => {
            assert_eq!(error_type, "bad_data");
            assert!(error.contains("range vector"), "{error}");
        }
        other => panic!("a bad expression must be rejected: {other:?}"),
    }
    // A range selector is a matrix: not what an instant query may give.
    match prometheus.instant("requests_total[5m]", at(1800)) {
        Err(QueryError::Malformed { reason, .. }) => assert!(reason.contains("`matrix`"), "{reason}"),
        other => panic!("{other:?}"),
    }
    match prometheus.range("requests_total", at(0), at(3600), Duration::from_millis(100)) {
        Err(QueryError::Arguments { reason, .. }) => assert!(reason.contains("11000"), "{reason}"),
        other => panic!("too many points must be refused before asking: {other:?}"),
    }
    let error = prometheus.instant("rate(x)", at(0)).expect_err("bad expression");
    assert_eq!(error.url(), format!("{}/api/v1/query", server.url));
    assert!(error.to_string().contains(&server.url) && !error.to_string().contains('\n'), "{error}");
}

#[test]
fn held_for_finds_how_long_a_series_has_been_nonzero() {
    let mut data = traffic();
    // Nonzero every minute except a gap with no samples from 2400 s to 2700 s
    // (longer than the five minutes an old sample stays visible).
    data.gauge(
        "flaky",
        &[],
        &every(0, 3600, 60, |_| 1.0).into_iter().filter(|(t, _)| !(2400..=2700).contains(t)).collect::<Vec<_>>(),
    );
    // Two series: one always 0, one 1 from 1200 s: the expression holds when either is nonzero.
    data.gauge("pair", &[("side", "a")], &every(0, 3600, 60, |_| 0.0));
    data.gauge("pair", &[("side", "b")], &every(0, 3600, 60, |t| if t >= 1200 { 1.0 } else { 0.0 }));
    let server = Prometheus::start(&data);
    let prometheus = client(&server.url);
    let minute = secs(60);
    let held = |expr: &str, lookback: u64, now: u64| {
        prometheus.held_for(expr, Duration::from_secs(lookback), minute, at(now)).expect("held_for")
    };

    // On from 1800 s: at 3000 s it has held for 20 minutes.
    assert_eq!(held("live", 3600, 3000), Some(secs(1200)));
    assert_eq!(held("live == 1", 3600, 3000), Some(secs(1200)));
    assert_eq!(held("live", 3600, 1800), Some(Duration::ZERO));
    assert_eq!(held("live", 3600, 1740), None);
    // Capped at the lookback.
    assert_eq!(held("live", 600, 3000), Some(secs(600)));
    // Off-grid `now` (seconds that are not whole minutes after the data) still sees the run.
    assert_eq!(held("live", 3600, 3030), Some(secs(1200)));
    // A gap breaks the run: the samples come back at 2760 s.
    assert_eq!(held("flaky", 3600, 3300), Some(secs(540)));
    assert_eq!(held("flaky", 3600, 2700), None);
    assert_eq!(held("pair", 3600, 3000), Some(secs(1800)));
    assert_eq!(held("no_such_metric", 3600, 3000), None);
}

#[test]
fn data_ending_a_minute_ago_loads_too() {
    // What an end-to-end test of a command that reads the clock needs.
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs();
    let mut data = Data::new(now - 3600);
    data.gauge("live", &[], &every(0, 3540, 60, |t| if t >= 1800 { 1.0 } else { 0.0 }));
    let server = Prometheus::start(&data);
    let prometheus = client(&server.url);
    let end = UNIX_EPOCH + Duration::from_secs(now - 60);
    assert_eq!(value(&prometheus.instant("live", end).expect("instant")), 1.0);
    assert_eq!(prometheus.held_for("live", secs(3600), secs(60), end).expect("held"), Some(secs(1740)));
}

#[test]
fn basic_auth_is_accepted_and_a_wrong_or_missing_password_is_refused() {
    let password = "basic-pa55-7c1e";
    let options = Options { basic_auth: Some(("canary".into(), password.into())), ..Options::default() };
    let server = Prometheus::start_with(&traffic(), &options);
    let access = AccessOptions::new(&server.url);
    let good =
        client_with(&access, &[("MODELGEN_PROMETHEUS_USERNAME", "canary"), ("MODELGEN_PROMETHEUS_PASSWORD", password)]);
    assert_eq!(value(&good.instant("requests_total", at(1800)).expect("authorised")), 300.0);

    let wrong = client_with(
        &access,
        &[("MODELGEN_PROMETHEUS_USERNAME", "canary"), ("MODELGEN_PROMETHEUS_PASSWORD", "wrong-pa55")],
    );
    let error = wrong.instant("requests_total", at(1800)).expect_err("wrong password");
    assert!(matches!(error, QueryError::Status { status: 401, .. }), "{error:?}");
    assert!(error.to_string().contains("HTTP 401"), "{error}");
    assert!(!error.to_string().contains("wrong-pa55") && !format!("{error:?}").contains("wrong-pa55"));
    let none = client(&server.url);
    assert!(matches!(none.instant("requests_total", at(1800)), Err(QueryError::Status { status: 401, .. })));
}

#[test]
fn a_bearer_token_is_accepted_by_a_proxy_in_front_of_prometheus_and_a_wrong_one_refused() {
    let token = "bearer-5ecret-90ab";
    let options = Options { bearer: Some(token.into()), ..Options::default() };
    let server = Prometheus::start_with(&traffic(), &options);
    let access = AccessOptions::new(&server.url);
    let good = client_with(&access, &[("MODELGEN_PROMETHEUS_TOKEN", token)]);
    assert_eq!(value(&good.instant("requests_total", at(1800)).expect("authorised")), 300.0);
    let series = good.range("requests_total", at(600), at(900), secs(60)).expect("authorised range");
    assert_eq!(series[0].points.len(), 6);
    // Prometheus' own refusal passes through the proxy as it is.
    assert!(matches!(good.instant("rate(requests_total)", at(1800)), Err(QueryError::Rejected { status: 400, .. })));

    let wrong = client_with(&access, &[("MODELGEN_PROMETHEUS_TOKEN", "bearer-wrong")]);
    let error = wrong.instant("requests_total", at(1800)).expect_err("wrong token");
    assert!(matches!(error, QueryError::Status { status: 401, .. }), "{error:?}");
    assert!(!error.to_string().contains("bearer-wrong"), "{error}");
    assert!(matches!(
        client(&server.url).instant("requests_total", at(1800)),
        Err(QueryError::Status { status: 401, .. })
    ));
}

#[test]
fn a_ca_file_trusts_the_tls_server_and_nothing_else_does() {
    let options = Options { tls: true, ..Options::default() };
    let server = Prometheus::start_with(&traffic(), &options);
    assert!(server.url.starts_with("https://"));
    let ca_file = server.ca_file.clone().expect("CA file");
    let trusted = client_with(&AccessOptions { ca_file: Some(ca_file), ..AccessOptions::new(&server.url) }, &[]);
    assert_eq!(value(&trusted.instant("requests_total", at(1800)).expect("trusted")), 300.0);

    // The built-in roots do not know the test CA.
    let error = client(&server.url).instant("requests_total", at(1800)).expect_err("untrusted");
    assert!(matches!(error, QueryError::Unreachable { .. }), "{error:?}");
    assert!(error.to_string().contains("UnknownIssuer"), "{error}");
    // Nor does another CA.
    let other = tempfile::NamedTempFile::new().expect("temporary file");
    std::fs::write(other.path(), harness::certificates().ca).expect("write CA");
    let stranger =
        client_with(&AccessOptions { ca_file: Some(other.path().to_owned()), ..AccessOptions::new(&server.url) }, &[]);
    assert!(matches!(stranger.instant("requests_total", at(1800)), Err(QueryError::Unreachable { .. })));
}

/// A loopback server that hands each connection to `answer` (with the
/// request's head and body already read), in its own thread.
struct Tiny {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
    connections: Arc<AtomicUsize>,
}

impl Tiny {
    fn start(answer: impl Fn(&str, &mut TcpStream) + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let answer = Arc::new(answer);
        let (seen, count) = (requests.clone(), connections.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                count.fetch_add(1, Ordering::SeqCst);
                let (answer, seen) = (answer.clone(), seen.clone());
                thread::spawn(move || {
                    let request = read_request(&mut stream);
                    seen.lock().expect("lock").push(request.clone());
                    answer(&request, &mut stream);
                });
            }
        });
        Self { url, requests, connections }
    }

    /// A server that answers every request with `status` and `body`.
    fn answering(status: u16, body: impl Into<String>) -> Self {
        let body = body.into();
        Self::start(move |_, stream| respond(stream, status, &body))
    }
}

fn read_request(stream: &mut TcpStream) -> String {
    let mut bytes = Vec::new();
    let mut buffer = [0; 4096];
    while !bytes.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => bytes.extend_from_slice(&buffer[..n]),
        }
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let length: usize = text
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
        .unwrap_or(0);
    let head = text.find("\r\n\r\n").map_or(bytes.len(), |i| i + 4);
    while bytes.len() < head + length {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => bytes.extend_from_slice(&buffer[..n]),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn respond(stream: &mut TcpStream, status: u16, body: &str) {
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
}

const VECTOR: &str = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"model":"iris"},"value":[1704069000,"3"]}]}}"#;

fn quick(url: &str) -> AccessOptions {
    AccessOptions { timeout: Duration::from_millis(500), ..AccessOptions::new(url) }
}

#[test]
fn a_server_that_never_answers_times_out() {
    let tiny = Tiny::start(|_, stream| {
        // Keeps the connection open without a byte until the client gives up.
        let _ = stream.read(&mut [0; 1]);
    });
    let error = client_with(&quick(&tiny.url), &[]).instant("up", at(0)).expect_err("silence");
    assert!(matches!(error, QueryError::Timeout { .. }), "{error:?}");
    assert!(error.to_string().contains("0.5s"), "{error}");
}

#[test]
fn a_server_that_drips_its_answer_runs_into_the_timeout() {
    // A valid head, then one byte of the body every 10 ms: each read
    // succeeds, so only a timeout over the whole request stops it. (Without
    // one, the 20 s drip ends in a body that is not JSON, and the test fails.)
    let body_drip = Tiny::start(|_, stream| {
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n");
        for _ in 0..2000 {
            if stream.write_all(b" ").is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(10));
        }
    });
    let error = client_with(&quick(&body_drip.url), &[]).instant("up", at(0)).expect_err("drip");
    assert!(matches!(error, QueryError::Timeout { .. }), "{error:?}");
    // The same with the head itself dripping.
    let head_drip = Tiny::start(|_, stream| {
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: ".iter().chain(std::iter::repeat_n(&b'a', 2000)) {
            if stream.write_all(&[*byte]).is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(10));
        }
    });
    let error = client_with(&quick(&head_drip.url), &[]).instant("up", at(0)).expect_err("drip");
    assert!(matches!(error, QueryError::Timeout { .. }), "{error:?}");
}

#[test]
fn the_overall_deadline_bounds_all_requests_together() {
    let tiny = Tiny::start(|_, stream| {
        let _ = stream.read(&mut [0; 1]);
    });
    let options =
        AccessOptions { timeout: secs(10), deadline: Duration::from_millis(300), ..AccessOptions::new(&tiny.url) };
    let prometheus = client_with(&options, &[]);
    let first = prometheus.instant("up", at(0)).expect_err("deadline");
    assert!(matches!(first, QueryError::Timeout { what: "the overall deadline ran out", .. }), "{first:?}");
    let connections = tiny.connections.load(Ordering::SeqCst);
    // Once it has run out, nothing more is sent.
    let second = prometheus.instant("up", at(0)).expect_err("deadline");
    assert!(matches!(second, QueryError::Timeout { .. }), "{second:?}");
    assert_eq!(tiny.connections.load(Ordering::SeqCst), connections);
}

#[test]
fn an_answer_over_the_size_limit_is_refused() {
    let item = r#"{"metric":{"model":"iris"},"value":[1704069000,"3"]},"#;
    let big = format!(
        r#"{{"status":"success","data":{{"resultType":"vector","result":[{}{}]}}}}"#,
        item.repeat(1000),
        &item[..item.len() - 1]
    );
    let options = |url: &str| AccessOptions { max_response_bytes: 4096, ..quick(url) };
    let sized = Tiny::answering(200, big.clone());
    let error = client_with(&options(&sized.url), &[]).instant("up", at(0)).expect_err("too large");
    assert!(matches!(error, QueryError::TooLarge { limit: 4096, .. }), "{error:?}");
    // Without a length up front (chunked), and as an error status.
    let chunked = Tiny::start(move |_, stream| {
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        for chunk in big.as_bytes().chunks(1000) {
            let _ = stream.write_all(format!("{:x}\r\n", chunk.len()).as_bytes());
            let _ = stream.write_all(chunk);
            let _ = stream.write_all(b"\r\n");
        }
        let _ = stream.write_all(b"0\r\n\r\n");
    });
    let error = client_with(&options(&chunked.url), &[]).instant("up", at(0)).expect_err("too large");
    assert!(matches!(error, QueryError::TooLarge { .. }), "{error:?}");
    let huge_error = Tiny::answering(500, "x".repeat(100_000));
    let error = client_with(&options(&huge_error.url), &[]).instant("up", at(0)).expect_err("too large");
    assert!(matches!(error, QueryError::TooLarge { .. }), "{error:?}");
    // Just under the limit is fine.
    let fits = Tiny::answering(200, VECTOR);
    assert_eq!(value(&client_with(&options(&fits.url), &[]).instant("up", at(0)).expect("fits")), 3.0);
}

#[test]
fn malformed_answers_are_errors_not_panics() {
    let deep = format!(r#"{{"status":"success","data":{}"#, "[".repeat(100_000));
    let bodies = [
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1704069000,"3"]"#
            .to_owned(),
        deep,
        "<html>gateway</html>".to_owned(),
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1704069000,3]}]}}"#
            .to_owned(),
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1704069000,"three"]}]}}"#
            .to_owned(),
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[-5,"3"]}]}}"#.to_owned(),
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":1},"value":[1,"3"]}]}}"#
            .to_owned(),
        r#"{"status":"success","data":{"resultType":"histogram","result":[]}}"#.to_owned(),
        r#"{"status":"success"}"#.to_owned(),
        r#"{"status":"pending","data":{"resultType":"vector","result":[]}}"#.to_owned(),
        r#"{"status":"success","data":{"resultType":"string","result":[1,"x"]}}"#.to_owned(),
    ];
    for body in bodies {
        let tiny = Tiny::answering(200, body.clone());
        let error = client_with(&quick(&tiny.url), &[]).instant("up", at(0)).expect_err("malformed");
        assert!(matches!(error, QueryError::Malformed { .. }), "{}: {error:?}", &body[..body.len().min(80)]);
        assert!(!error.to_string().contains('\n') && error.to_string().len() < 1000, "{error}");
    }
    // A head larger than any real one, all at once.
    let huge_head = Tiny::start(|_, stream| {
        let _ = stream.write_all(format!("HTTP/1.1 200 OK\r\nX-Big: {}\r\n\r\n", "a".repeat(1 << 20)).as_bytes());
    });
    let error = client_with(&quick(&huge_head.url), &[]).instant("up", at(0)).expect_err("huge head");
    assert!(matches!(error, QueryError::Malformed { .. }), "{error:?}");
    // Not HTTP at all.
    let garbage = Tiny::start(|_, stream| {
        let _ = stream.write_all(b"SSH-2.0-OpenSSH_9.6\r\n\r\n");
    });
    let error = client_with(&quick(&garbage.url), &[]).instant("up", at(0)).expect_err("not HTTP");
    assert!(matches!(error, QueryError::Malformed { .. } | QueryError::Unreachable { .. }), "{error:?}");
    // A range query given a vector.
    let vector = Tiny::answering(200, VECTOR);
    let error = client_with(&quick(&vector.url), &[]).range("up", at(0), at(60), secs(60)).expect_err("vector");
    assert!(matches!(error, QueryError::Malformed { ref reason, .. } if reason.contains("`vector`")), "{error:?}");
}

#[test]
fn prometheus_error_answers_become_one_escaped_line() {
    let body = r#"{"status":"error","errorType":"execution","error":"boom\nline two \u001b[31mred\u001b[0m"}"#;
    let tiny = Tiny::answering(422, body);
    let error = client_with(&quick(&tiny.url), &[]).instant("up", at(0)).expect_err("error");
    match &error {
        QueryError::Rejected { status: 422, error_type, error, .. } => {
            assert_eq!(error_type, "execution");
            assert!(error.starts_with("boom\\nline two"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    let shown = error.to_string();
    assert!(!shown.contains('\n') && !shown.contains('\u{1b}'), "{shown}");
    assert!(shown.contains(&tiny.url), "{shown}");
    // A proxy's plain error page: the status and an escaped, clipped excerpt.
    let proxy = Tiny::answering(502, format!("Bad Gateway\n{}", "x".repeat(5000)));
    let error = client_with(&quick(&proxy.url), &[]).instant("up", at(0)).expect_err("502");
    assert!(matches!(error, QueryError::Status { status: 502, .. }), "{error:?}");
    assert!(!error.to_string().contains('\n') && error.to_string().len() < 700, "{error}");
    // An unreachable port.
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address");
    let error = client_with(&quick(&format!("http://{closed}")), &[]).instant("up", at(0)).expect_err("refused");
    assert!(matches!(error, QueryError::Unreachable { .. }), "{error:?}");
}

const TOKEN: &str = "tok-5ecret-4f1b9c";

/// A server that checks the bearer token and echoes the Authorization header into its refusals.
fn bearer_server() -> Tiny {
    Tiny::start(|request, stream| {
        let authorization = request
            .lines()
            .find_map(|l| l.strip_prefix("authorization: ").or_else(|| l.strip_prefix("Authorization: ")));
        match authorization {
            Some(value) if value == format!("Bearer {TOKEN}") && request.contains("query=up") => {
                respond(stream, 200, VECTOR);
            }
            Some(value) if value == format!("Bearer {TOKEN}") => {
                respond(
                    stream,
                    400,
                    &format!(r#"{{"status":"error","errorType":"bad_data","error":"you sent {value}"}}"#),
                );
            }
            other => respond(stream, 401, &format!("unauthorized: {other:?}")),
        }
    })
}

#[test]
fn a_bearer_token_is_sent_and_never_shown() {
    let server = bearer_server();
    let token_file = tempfile::NamedTempFile::new().expect("temporary file");
    std::fs::write(token_file.path(), format!("{TOKEN}\n")).expect("write token");
    let path = token_file.path().to_str().expect("UTF-8 path");
    for env in [[("MODELGEN_PROMETHEUS_TOKEN", TOKEN)], [("MODELGEN_PROMETHEUS_TOKEN_FILE", path)]] {
        let prometheus = client_with(&quick(&server.url), &env);
        assert_eq!(value(&prometheus.instant("up", at(0)).expect("authorised")), 3.0);
        // The server quotes the header back: the error must not.
        let error = prometheus.instant("down", at(0)).expect_err("echo");
        assert!(matches!(error, QueryError::Rejected { .. }), "{error:?}");
        for shown in [error.to_string(), format!("{error:?}"), format!("{prometheus:?}")] {
            assert!(!shown.contains(TOKEN), "the token leaked: {shown}");
        }
        assert!(error.to_string().contains("you sent ***"), "{error}");
    }
    let requests = server.requests.lock().expect("lock").clone();
    assert!(requests.iter().all(|r| r.contains(&format!("Bearer {TOKEN}"))), "every request carries the token");
    assert!(requests.iter().all(|r| r.starts_with("POST /api/v1/query HTTP/1.1")), "{requests:?}");

    let wrong = client_with(&quick(&server.url), &[("MODELGEN_PROMETHEUS_TOKEN", "not-it")]);
    let error = wrong.instant("up", at(0)).expect_err("wrong token");
    assert!(matches!(error, QueryError::Status { status: 401, .. }), "{error:?}");
    assert!(!error.to_string().contains("not-it"), "{error}");
}

#[test]
fn basic_auth_credentials_are_scrubbed_from_echoes() {
    let password = "basic-5ecret-77";
    let echo = Tiny::start(|request, stream| {
        let authorization =
            request.lines().find(|l| l.to_ascii_lowercase().starts_with("authorization:")).unwrap_or("").to_owned();
        respond(stream, 403, &format!("denied {authorization} for {}", "canary:basic-5ecret-77"));
    });
    let prometheus = client_with(
        &quick(&echo.url),
        &[("MODELGEN_PROMETHEUS_USERNAME", "canary"), ("MODELGEN_PROMETHEUS_PASSWORD", password)],
    );
    let error = prometheus.instant("up", at(0)).expect_err("denied");
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("canary:{password}"));
    for shown in [error.to_string(), format!("{error:?}"), format!("{prometheus:?}")] {
        assert!(!shown.contains(password) && !shown.contains(&encoded), "a credential leaked: {shown}");
    }
    assert!(error.to_string().contains("HTTP 403"), "{error}");
}

#[test]
fn redirects_are_not_followed() {
    let target = bearer_server();
    let location = format!("{}/api/v1/query", target.url);
    let redirect = Tiny::start(move |_, stream| {
        let _ = stream
            .write_all(format!("HTTP/1.1 307 Moved\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n").as_bytes());
    });
    let error = client_with(&quick(&redirect.url), &[("MODELGEN_PROMETHEUS_TOKEN", TOKEN)])
        .instant("up", at(0))
        .expect_err("redirect");
    assert!(matches!(error, QueryError::Status { status: 307, .. }), "{error:?}");
    assert_eq!(target.connections.load(Ordering::SeqCst), 0, "the token went to the redirect's target");
}
