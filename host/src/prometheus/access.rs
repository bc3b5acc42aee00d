//! Where Prometheus is and how to reach it: the base URL, credentials from the environment or files, trusted CAs and limits.

use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use thiserror::Error;

use crate::escape;

/// The bearer token sent as `Authorization: Bearer …`.
pub const TOKEN_ENV: &str = "MODELGEN_PROMETHEUS_TOKEN";
/// A file whose contents (surrounding whitespace trimmed) are the bearer token.
pub const TOKEN_FILE_ENV: &str = "MODELGEN_PROMETHEUS_TOKEN_FILE";
/// The user name of basic auth.
pub const USERNAME_ENV: &str = "MODELGEN_PROMETHEUS_USERNAME";
/// The password of basic auth.
pub const PASSWORD_ENV: &str = "MODELGEN_PROMETHEUS_PASSWORD";
/// A file whose contents (surrounding whitespace trimmed) are the password of basic auth.
pub const PASSWORD_FILE_ENV: &str = "MODELGEN_PROMETHEUS_PASSWORD_FILE";

/// The default time one request may take, connection and whole answer included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default time all requests of one [`super::Client`] may take together.
pub const DEFAULT_DEADLINE: Duration = Duration::from_mins(2);
/// The default limit of one answer's body: a range query of a few series over
/// a day at one-minute steps is some hundred kilobytes.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 8 * 1024 * 1024;
/// The most bytes read from a token, password or CA file: a file such as
/// `/dev/zero` must not make us read forever.
const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;
const MAX_CA_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// A credential: printed as `***` by `Debug` and `Display`, so that no log,
/// error or panic message can show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The credential itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How requests authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// No `Authorization` header.
    None,
    /// `Authorization: Bearer TOKEN`.
    Bearer(Secret),
    /// `Authorization: Basic base64(USER:PASSWORD)`.
    Basic {
        /// The user name (not secret, but never printed either).
        username: String,
        /// The password.
        password: Secret,
    },
}

impl Auth {
    /// The value of the `Authorization` header, if any.
    pub(crate) fn header(&self) -> Option<Secret> {
        match self {
            Self::None => None,
            Self::Bearer(token) => Some(Secret(format!("Bearer {}", token.expose()))),
            Self::Basic { username, password } => {
                let pair = format!("{username}:{}", password.expose());
                Some(Secret(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))))
            }
        }
    }

    /// Every form in which a credential could appear in a message, to scrub.
    pub(crate) fn secrets(&self) -> Vec<String> {
        let mut all = Vec::new();
        if let Some(header) = self.header() {
            all.push(header.expose().to_owned());
            if let Some((_, value)) = header.expose().split_once(' ') {
                all.push(value.to_owned());
            }
        }
        match self {
            Self::None => {}
            Self::Bearer(token) => all.push(token.expose().to_owned()),
            Self::Basic { password, .. } => all.push(password.expose().to_owned()),
        }
        all.retain(|secret| !secret.is_empty());
        all
    }
}

/// What the command line gives: already parsed flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessOptions {
    /// The base URL of Prometheus' web server (`http` or `https`, optionally
    /// with a path prefix such as `/prometheus`; the API is under `/api/v1`).
    pub url: String,
    /// A PEM file of the certificate authorities to trust instead of the
    /// built-in roots (as Prometheus' own `tls_config.ca_file` and curl's `--cacert`).
    pub ca_file: Option<PathBuf>,
    /// The most time one request may take, from connecting to the answer's last byte.
    pub timeout: Duration,
    /// The most time all requests of one client may take together.
    pub deadline: Duration,
    /// The most bytes of one answer's body.
    pub max_response_bytes: u64,
}

impl AccessOptions {
    /// Options with the default limits and no CA file.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ca_file: None,
            timeout: DEFAULT_TIMEOUT,
            deadline: DEFAULT_DEADLINE,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

/// Everything needed to reach one Prometheus, checked.
#[derive(Clone)]
pub struct Access {
    pub(crate) base: String,
    pub(crate) auth: Auth,
    pub(crate) ca: Option<Vec<ureq::tls::Certificate<'static>>>,
    pub(crate) timeout: Duration,
    pub(crate) deadline: Duration,
    pub(crate) max_response_bytes: u64,
}

/// Why the access settings are unusable (a usage error, not a `hold`).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum AccessError {
    /// The URL does not parse.
    #[error("the Prometheus URL {shown} is not a URL: {reason}")]
    BadUrl {
        /// The URL in backticks, or a note when it may hold credentials.
        shown: String,
        /// Why.
        reason: String,
    },
    /// Another scheme than `http` or `https`.
    #[error("the Prometheus URL `{url}` has scheme `{scheme}`: only `http` and `https` are supported")]
    Scheme {
        /// The URL.
        url: String,
        /// Its scheme.
        scheme: String,
    },
    /// `user:password@` in the URL.
    #[error(
        "the Prometheus URL must not hold credentials (`user:password@`): set `{USERNAME_ENV}` and `{PASSWORD_ENV}` (or `{PASSWORD_FILE_ENV}`), or `{TOKEN_ENV}` (or `{TOKEN_FILE_ENV}`)"
    )]
    Credentials,
    /// A query string or fragment in the base URL.
    #[error(
        "the Prometheus URL `{url}` must not have a query or fragment: give the base URL, e.g. `https://prometheus.example:9090`"
    )]
    QueryOrFragment {
        /// The URL without its query and fragment.
        url: String,
    },
    /// Two ways of giving the same credential, or token and basic auth at once.
    #[error("`{first}` and `{second}` are both set: set only one")]
    Conflict {
        /// One variable.
        first: &'static str,
        /// The other.
        second: &'static str,
    },
    /// A user name without a password or the reverse.
    #[error("`{set}` is set but `{missing}` is not: basic auth needs both")]
    Incomplete {
        /// The variable that is set.
        set: &'static str,
        /// The variable that is missing.
        missing: &'static str,
    },
    /// An empty credential, or one with control characters.
    #[error("the credential from `{source_name}` {reason}")]
    BadCredential {
        /// The variable (and file) it came from.
        source_name: String,
        /// What is wrong, without the value.
        reason: &'static str,
    },
    /// A file that cannot be read.
    #[error("cannot read `{path}` (from {what}): {reason}")]
    File {
        /// The file.
        path: String,
        /// Which setting named it.
        what: String,
        /// Why.
        reason: String,
    },
    /// A CA file without certificates, or with a malformed one.
    #[error("the CA file `{path}` {reason}")]
    BadCa {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A zero timeout, deadline or size limit.
    #[error("the Prometheus {what} must be greater than zero")]
    ZeroLimit {
        /// Which limit.
        what: &'static str,
    },
}

impl fmt::Debug for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Access")
            .field("base", &self.base)
            .field("auth", &self.auth)
            .field("ca_certificates", &self.ca.as_ref().map(Vec::len))
            .field("timeout", &self.timeout)
            .field("deadline", &self.deadline)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

impl Access {
    /// Checks `options` and reads credentials through `env` (the CLI passes
    /// `|name| std::env::var(name).ok()`; tests pass a map).
    pub fn new(options: &AccessOptions, env: impl Fn(&str) -> Option<String>) -> Result<Self, AccessError> {
        let base = base_url(&options.url)?;
        if options.timeout.is_zero() {
            return Err(AccessError::ZeroLimit { what: "timeout" });
        }
        if options.deadline.is_zero() {
            return Err(AccessError::ZeroLimit { what: "deadline" });
        }
        if options.max_response_bytes == 0 {
            return Err(AccessError::ZeroLimit { what: "response size limit" });
        }
        let auth = auth(&env)?;
        let ca = options.ca_file.as_deref().map(ca_certificates).transpose()?;
        Ok(Self {
            base,
            auth,
            ca,
            timeout: options.timeout,
            deadline: options.deadline,
            max_response_bytes: options.max_response_bytes,
        })
    }

    /// The base URL, without a trailing slash (never holds credentials).
    pub fn url(&self) -> &str {
        &self.base
    }

    /// How requests authenticate.
    pub fn auth(&self) -> &Auth {
        &self.auth
    }
}

/// The checked base URL without its trailing slash.
fn base_url(text: &str) -> Result<String, AccessError> {
    let parsed = url::Url::parse(text.trim()).map_err(|e| AccessError::BadUrl {
        // A URL that does not parse may still hold `user:password@`.
        shown: if text.contains('@') {
            "(not shown: it contains `@`)".to_owned()
        } else {
            format!("`{}`", escape::value(text))
        },
        reason: e.to_string(),
    })?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(AccessError::Credentials);
    }
    if parsed.scheme() != "http" && parsed.scheme() != "https" {
        return Err(AccessError::Scheme {
            url: escape::value(parsed.as_str()).into_owned(),
            scheme: escape::value(parsed.scheme()).into_owned(),
        });
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(AccessError::BadUrl {
            shown: format!("`{}`", escape::value(parsed.as_str())),
            reason: "no host".into(),
        });
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        let mut bare = parsed.clone();
        bare.set_query(None);
        bare.set_fragment(None);
        return Err(AccessError::QueryOrFragment { url: escape::value(bare.as_str()).into_owned() });
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

/// Token or basic auth, from exactly one source each.
fn auth(env: &impl Fn(&str) -> Option<String>) -> Result<Auth, AccessError> {
    let token = credential(env, TOKEN_ENV, TOKEN_FILE_ENV)?;
    let username = env(USERNAME_ENV).filter(|name| !name.is_empty());
    let password = credential(env, PASSWORD_ENV, PASSWORD_FILE_ENV)?;
    match (token, username, password) {
        (None, None, None) => Ok(Auth::None),
        (Some(token), None, None) => Ok(Auth::Bearer(token)),
        (Some(_), Some(_), _) => Err(AccessError::Conflict { first: TOKEN_ENV, second: USERNAME_ENV }),
        (Some(_), None, Some(_)) => Err(AccessError::Conflict { first: TOKEN_ENV, second: PASSWORD_ENV }),
        (None, Some(_), None) => Err(AccessError::Incomplete { set: USERNAME_ENV, missing: PASSWORD_ENV }),
        (None, None, Some(_)) => Err(AccessError::Incomplete { set: PASSWORD_ENV, missing: USERNAME_ENV }),
        (None, Some(username), Some(password)) => {
            // RFC 7617: the user name of basic auth cannot contain a colon.
            if username.contains(':') || username.chars().any(char::is_control) {
                return Err(AccessError::BadCredential {
                    source_name: USERNAME_ENV.to_owned(),
                    reason: "contains a colon or a control character",
                });
            }
            Ok(Auth::Basic { username, password })
        }
    }
}

/// A credential from the variable `direct` or the file named by `file`, not both.
fn credential(
    env: &impl Fn(&str) -> Option<String>,
    direct: &'static str,
    file: &'static str,
) -> Result<Option<Secret>, AccessError> {
    let value = env(direct).filter(|v| !v.is_empty());
    let path = env(file).filter(|v| !v.is_empty());
    let (text, source_name) = match (value, path) {
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => return Err(AccessError::Conflict { first: direct, second: file }),
        (Some(value), None) => (value, direct.to_owned()),
        (None, Some(path)) => {
            let bytes = read_bounded(Path::new(&path), MAX_SECRET_FILE_BYTES, file)?;
            let text = String::from_utf8(bytes).map_err(|_| AccessError::BadCredential {
                source_name: format!("{file} (`{}`)", escape::value(&path)),
                reason: "is not UTF-8",
            })?;
            // As Prometheus' own `bearer_token_file` and `password_file`: a
            // file written by `echo` or a Kubernetes secret ends in a newline.
            (text.trim().to_owned(), format!("{file} (`{}`)", escape::value(&path)))
        }
    };
    if text.is_empty() {
        return Err(AccessError::BadCredential { source_name, reason: "is empty" });
    }
    if text.chars().any(char::is_control) {
        return Err(AccessError::BadCredential { source_name, reason: "contains control characters" });
    }
    Ok(Some(Secret(text)))
}

/// At most `limit` bytes of `path`; more is an error.
fn read_bounded(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>, AccessError> {
    let error = |reason: String| AccessError::File {
        path: escape::value(&path.display().to_string()).into_owned(),
        what: what.to_owned(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| error(e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(|e| error(e.to_string()))?;
    if bytes.len() as u64 > limit {
        return Err(error(format!("it is larger than {limit} bytes")));
    }
    Ok(bytes)
}

/// The certificates of a PEM file.
fn ca_certificates(path: &Path) -> Result<Vec<ureq::tls::Certificate<'static>>, AccessError> {
    let bytes = read_bounded(path, MAX_CA_FILE_BYTES, "the CA file")?;
    let shown = escape::value(&path.display().to_string()).into_owned();
    let mut certificates = Vec::new();
    for item in ureq::tls::parse_pem(&bytes) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(certificate)) => certificates.push(certificate),
            Ok(_) => {}
            Err(e) => return Err(AccessError::BadCa { path: shown, reason: format!("is not valid PEM: {e}") }),
        }
    }
    if certificates.is_empty() {
        return Err(AccessError::BadCa {
            path: shown,
            reason: "holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)".into(),
        });
    }
    Ok(certificates)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn access(url: &str, env: &[(&str, &str)]) -> Result<Access, AccessError> {
        let env: BTreeMap<String, String> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Access::new(&AccessOptions::new(url), |name| env.get(name).cloned())
    }

    #[test]
    fn urls_are_http_or_https_without_credentials() {
        assert_eq!(
            access("http://prometheus:9090/", &[]).map(|a| a.url().to_owned()),
            Ok("http://prometheus:9090".into())
        );
        assert_eq!(
            access("https://example.com/prometheus/", &[]).map(|a| a.url().to_owned()),
            Ok("https://example.com/prometheus".into())
        );
        assert!(matches!(access("ftp://example.com", &[]), Err(AccessError::Scheme { .. })));
        assert!(matches!(access("file:///etc/passwd", &[]), Err(AccessError::Scheme { .. })));
        assert!(matches!(access("http://example.com/?x=1", &[]), Err(AccessError::QueryOrFragment { .. })));
        assert!(matches!(access("prometheus:9090", &[]), Err(AccessError::Scheme { .. })));
        assert!(matches!(access("", &[]), Err(AccessError::BadUrl { .. })));
        for url in ["https://admin:hunter2@example.com", "https://hunter2@example.com", "http://admin:hunter2@[bad"] {
            let error = access(url, &[]).expect_err("credentials in the URL");
            assert!(!error.to_string().contains("hunter2"), "{error}");
            assert!(!format!("{error:?}").contains("hunter2"), "{error:?}");
        }
        assert_eq!(access("https://admin:hunter2@example.com", &[]).expect_err("userinfo"), AccessError::Credentials);
    }

    #[test]
    fn credentials_come_from_exactly_one_source() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, "  tok-from-file\n").expect("write");
        let token_path = token_file.to_str().expect("UTF-8");
        assert_eq!(access("http://p", &[]).map(|a| a.auth().clone()), Ok(Auth::None));
        assert_eq!(
            access("http://p", &[(TOKEN_ENV, "tok")]).map(|a| a.auth().clone()),
            Ok(Auth::Bearer(Secret::new("tok")))
        );
        assert_eq!(
            access("http://p", &[(TOKEN_FILE_ENV, token_path)]).map(|a| a.auth().clone()),
            Ok(Auth::Bearer(Secret::new("tok-from-file")))
        );
        assert_eq!(
            access("http://p", &[(USERNAME_ENV, "u"), (PASSWORD_FILE_ENV, token_path)]).map(|a| a.auth().clone()),
            Ok(Auth::Basic { username: "u".into(), password: Secret::new("tok-from-file") })
        );
        let conflicts = [
            vec![(TOKEN_ENV, "a"), (TOKEN_FILE_ENV, token_path)],
            vec![(PASSWORD_ENV, "a"), (PASSWORD_FILE_ENV, token_path), (USERNAME_ENV, "u")],
            vec![(TOKEN_ENV, "a"), (USERNAME_ENV, "u"), (PASSWORD_ENV, "p")],
            vec![(TOKEN_ENV, "a"), (PASSWORD_ENV, "p")],
        ];
        for env in conflicts {
            assert!(matches!(access("http://p", &env), Err(AccessError::Conflict { .. })), "{env:?}");
        }
        assert!(matches!(access("http://p", &[(USERNAME_ENV, "u")]), Err(AccessError::Incomplete { .. })));
        assert!(matches!(access("http://p", &[(PASSWORD_ENV, "p")]), Err(AccessError::Incomplete { .. })));
        assert!(matches!(
            access("http://p", &[(USERNAME_ENV, "a:b"), (PASSWORD_ENV, "p")]),
            Err(AccessError::BadCredential { .. })
        ));
        // A header injection attempt is refused without showing the value.
        let error = access("http://p", &[(TOKEN_ENV, "tok\r\nX-Evil: 1")]).expect_err("control characters");
        assert!(!error.to_string().contains("Evil"), "{error}");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").expect("write");
        assert!(matches!(
            access("http://p", &[(TOKEN_FILE_ENV, empty.to_str().expect("UTF-8"))]),
            Err(AccessError::BadCredential { reason: "is empty", .. })
        ));
        let missing = dir.path().join("missing");
        let error =
            access("http://p", &[(TOKEN_FILE_ENV, missing.to_str().expect("UTF-8"))]).expect_err("missing file");
        assert!(matches!(error, AccessError::File { .. }) && error.to_string().contains("missing"), "{error}");
        // An endless file is read only up to the limit.
        let error = access("http://p", &[(TOKEN_FILE_ENV, "/dev/zero")]).expect_err("endless file");
        assert!(error.to_string().contains("larger than"), "{error}");
    }

    #[test]
    fn secrets_print_as_stars() {
        let access = access("http://p", &[(USERNAME_ENV, "u"), (PASSWORD_ENV, "pa55-word")]).expect("access");
        let shown = format!("{access:?} {:?} {}", access.auth(), Secret::new("pa55-word"));
        assert!(!shown.contains("pa55-word") && shown.contains("***"), "{shown}");
        let header = access.auth().header().expect("header");
        assert_eq!(format!("{header} {header:?}"), "*** ***");
        assert!(header.expose().starts_with("Basic "));
    }

    #[test]
    fn ca_files_must_hold_certificates_and_limits_must_be_positive() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let not_pem = dir.path().join("ca.pem");
        std::fs::write(&not_pem, "hello").expect("write");
        let options = AccessOptions { ca_file: Some(not_pem), ..AccessOptions::new("https://p") };
        assert!(matches!(Access::new(&options, |_| None), Err(AccessError::BadCa { .. })));
        let broken = dir.path().join("broken.pem");
        std::fs::write(&broken, "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n").expect("write");
        let options = AccessOptions { ca_file: Some(broken), ..AccessOptions::new("https://p") };
        assert!(matches!(Access::new(&options, |_| None), Err(AccessError::BadCa { .. })));
        let options = AccessOptions { timeout: Duration::ZERO, ..AccessOptions::new("https://p") };
        assert_eq!(Access::new(&options, |_| None).expect_err("zero"), AccessError::ZeroLimit { what: "timeout" });
        let options = AccessOptions { max_response_bytes: 0, ..AccessOptions::new("https://p") };
        assert!(matches!(Access::new(&options, |_| None), Err(AccessError::ZeroLimit { .. })));
    }
}
