//! Container image references, read the way container runtimes read them (the grammar of `distribution/reference`).
//!
//! The API server accepts any non-empty `image` string; a reference the
//! runtime cannot parse fails only when a node pulls it (`InvalidImageName`),
//! after Argo CD reported the sync healthy. So modelgen parses each one as
//! `ParseNormalizedNamed` in `distribution/reference` v0.6.0 does (the
//! package containerd and the kubelet vendor): the regular expressions are
//! those of its `regexp.go`, composed the same way, and a digest must use an
//! algorithm `opencontainers/go-digest` v1.0.0 registers, in its exact
//! encoding (`algorithm.go`, `anchoredEncodedRegexps`).

use std::sync::LazyLock;

use regex::Regex;

/// `alphanumeric`: a path component's atom; lowercase only.
const ALPHANUMERIC: &str = "[a-z0-9]+";
/// `separator`: one period, one or two underscores, or any number of dashes.
const SEPARATOR: &str = "(?:[._]|__|[-]+)";
/// `domainNameComponent`.
const DOMAIN_NAME_COMPONENT: &str = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
/// `optionalPort`.
const OPTIONAL_PORT: &str = "(?::[0-9]+)?";
/// `tag`: Go's `\w` is ASCII (`[0-9A-Za-z_]`), Rust's is Unicode, so it is spelt out.
const TAG: &str = "[0-9A-Za-z_][0-9A-Za-z_.-]{0,127}";
/// `digestPat`: an algorithm, `:`, at least 32 hex digits.
const DIGEST: &str = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][[:xdigit:]]{32,}";
/// `ipv6address`: in brackets, without zone.
const IPV6_ADDRESS: &str = r"\[(?:[a-fA-F0-9:]+)\]";

/// `RepositoryNameTotalLengthMax`: the longest repository path.
pub const MAX_PATH: usize = 255;

/// The registry the runtime pulls from when a reference names none (`defaultDomain`).
const DEFAULT_DOMAIN: &str = "docker.io";
/// Docker Hub's legacy name, canonicalised to [`DEFAULT_DOMAIN`] (`legacyDefaultDomain`).
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
/// The namespace of Docker Hub's official images (`officialRepoPrefix`).
const OFFICIAL_REPO_PREFIX: &str = "library/";

/// `domainAndPort`.
fn domain_and_port() -> String {
    let domain_name = format!(r"{DOMAIN_NAME_COMPONENT}(?:\.{DOMAIN_NAME_COMPONENT})*");
    format!("(?:{domain_name}|{IPV6_ADDRESS}){OPTIONAL_PORT}")
}

/// `remoteName`: path components joined by `/`.
fn remote_name() -> String {
    let path_component = format!("{ALPHANUMERIC}(?:{SEPARATOR}{ALPHANUMERIC})*");
    format!("{path_component}(?:/{path_component})*")
}

/// `referencePat`: captures the name, the tag and the digest.
static REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    let name = format!("(?:{}/)?{}", domain_and_port(), remote_name());
    compile(&format!("^({name})(?::({TAG}))?(?:@({DIGEST}))?$"))
});
/// `anchoredNamePat`: captures the domain and the path of a name.
static NAME: LazyLock<Regex> =
    LazyLock::new(|| compile(&format!("^(?:({})/)?({})$", domain_and_port(), remote_name())));
/// `anchoredIdentifierRegexp`: a bare image ID, which is not a name.
static IDENTIFIER: LazyLock<Regex> = LazyLock::new(|| compile("^[a-f0-9]{64}$"));
/// Pieces, to say which part of a reference that does not parse is wrong.
static PIECES: LazyLock<[Regex; 3]> = LazyLock::new(|| {
    [compile(&format!("^{}$", remote_name())), compile(&format!("^{TAG}$")), compile(&format!("^{DIGEST}$"))]
});

/// The expressions above are constants; one that did not compile is a bug the unit tests catch.
fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| panic!("image reference grammar: {e}"))
}

/// A digest algorithm `go-digest` registers, with the length of its lowercase hex encoding.
const ALGORITHMS: [(&str, usize); 3] = [("sha256", 64), ("sha384", 96), ("sha512", 128)];

/// A parsed image reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageReference<'a> {
    /// The registry (with its port) the runtime pulls from, as written; `None` means Docker Hub.
    pub domain: Option<&'a str>,
    /// The repository path as written (Docker Hub's official images without their `library/`).
    pub path: &'a str,
    /// The tag, if written (without tag or digest the runtime pulls `latest`).
    pub tag: Option<&'a str>,
    /// The digest (`sha256:…`), if written.
    pub digest: Option<&'a str>,
}

/// Why a reference cannot be pulled. Each message names the part at fault
/// and quotes it, so that the caller can name the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// `ErrNameEmpty`.
    #[error("it is empty")]
    Empty,
    /// Whitespace or a control character anywhere (the API server refuses
    /// leading and trailing whitespace; the grammar refuses it everywhere).
    #[error("it contains whitespace or a control character")]
    Whitespace,
    /// `ParseNormalizedNamed`: a 64-hex image ID is not a repository.
    #[error("it is an image ID, not a repository name")]
    Identifier,
    /// `ErrNameContainsUppercase`, or the normalised repository check.
    #[error("the repository `{0}` has uppercase letters; repositories are lowercase")]
    Uppercase(String),
    /// `ErrNameTooLong`.
    #[error("the repository path is {0} characters long, more than {MAX_PATH}")]
    TooLong(usize),
    /// A tag that does not match `[\w][\w.-]{0,127}`.
    #[error(
        "the tag `{0}` is not valid: at most 128 of letters, digits, `_`, `.` and `-`, not starting with `.` or `-`"
    )]
    Tag(String),
    /// A digest that does not match `digestPat`, or an unknown algorithm (`ErrDigestUnsupported`).
    #[error("the digest `{0}` is not valid: write `sha256:` and 64 lowercase hex digits")]
    Digest(String),
    /// A digest of a known algorithm whose encoding is wrong (`ErrDigestInvalidLength`, `ErrDigestInvalidFormat`).
    #[error("the `{algorithm}` digest must have {length} lowercase hex digits, it has `{encoded}`")]
    DigestEncoding {
        /// `sha256`, `sha384` or `sha512`.
        algorithm: String,
        /// The hex digits it needs.
        length: usize,
        /// What was written.
        encoded: String,
    },
    /// A repository path component the grammar refuses.
    #[error(
        "the repository `{0}` is not valid: path components are lowercase letters and digits, joined by `.`, `_`, `__` or dashes, and separated by `/`"
    )]
    Repository(String),
    /// `ErrReferenceInvalidFormat` where no single part is to blame (a bad registry host, say).
    #[error("it is not of the form `[registry[:port]/]repository[:tag][@digest]`")]
    Format,
}

impl<'a> ImageReference<'a> {
    /// Parses `text` as `ParseNormalizedNamed` does: the registry is the
    /// first path component when it looks like a host (it has a `.` or a
    /// `:`, is `localhost`, or has an uppercase letter), else Docker Hub,
    /// whose one-component names live under `library/`.
    pub fn parse(text: &'a str) -> Result<Self, ReferenceError> {
        if text.is_empty() {
            return Err(ReferenceError::Empty);
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ReferenceError::Whitespace);
        }
        if IDENTIFIER.is_match(text) {
            return Err(ReferenceError::Identifier);
        }
        let (domain, remainder) = split_domain(text);
        let remote = remainder.split_once(':').map_or(remainder, |(name, _)| name);
        if remote.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(ReferenceError::Uppercase(remote.to_owned()));
        }
        // `Parse(domain + "/" + remainder)` of the canonical name: the
        // implicit registry and `library/` count as if written.
        let hub = domain.is_none_or(|d| d == DEFAULT_DOMAIN || d == LEGACY_DEFAULT_DOMAIN);
        let registry = if hub { DEFAULT_DOMAIN } else { domain.unwrap_or(DEFAULT_DOMAIN) };
        let library = if hub && !remainder.contains('/') { OFFICIAL_REPO_PREFIX } else { "" };
        let normalized = format!("{registry}/{library}{remainder}");
        let Some(captures) = REFERENCE.captures(&normalized) else {
            return Err(diagnose(remainder));
        };
        let name = captures.get(1).map_or("", |m| m.as_str());
        let path_len = NAME.captures(name).and_then(|c| c.get(2)).map_or(name.len(), |m| m.as_str().len());
        if path_len > MAX_PATH {
            return Err(ReferenceError::TooLong(path_len));
        }
        // The tag and digest end `normalized` as they end `text`: slice them from the end.
        let digest = captures.get(3).map(|m| &text[text.len() - m.len()..]);
        let tag_end = text.len() - digest.map_or(0, |d| d.len() + 1);
        let tag = captures.get(2).map(|m| &text[tag_end - m.len()..tag_end]);
        let name_end = tag_end - tag.map_or(0, |t| t.len() + 1);
        if let Some(digest) = digest {
            check_digest(digest)?;
        }
        let path = &text[domain.map_or(0, |d| d.len() + 1)..name_end];
        Ok(Self { domain, path, tag, digest })
    }

    /// Whether the runtime pulls exactly one image whatever the registry
    /// does later: only a digest pins it; a tag (`latest` included) can be
    /// pushed again.
    pub fn is_pinned(&self) -> bool {
        self.digest.is_some()
    }

    /// The reference pinned by a placeholder digest, for hints that show how to pin it.
    pub fn pinned_example(&self) -> String {
        match self.domain {
            Some(domain) => format!("{domain}/{}@sha256:<digest>", self.path),
            None => format!("{}@sha256:<digest>", self.path),
        }
    }
}

/// `splitDockerDomain`: the registry as written, if the first component is
/// one (`localhost`, or it has a `.`, a `:` or an uppercase letter), and the rest.
fn split_domain(text: &str) -> (Option<&str>, &str) {
    match text.split_once('/') {
        Some((first, rest))
            if first == "localhost" || first.contains(['.', ':']) || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            (Some(first), rest)
        }
        _ => (None, text),
    }
}

/// Which part of a reference the grammar refuses: the digest, the tag, the
/// repository path, or else the registry.
fn diagnose(remainder: &str) -> ReferenceError {
    let [repository, tag, digest] = &*PIECES;
    let (name_and_tag, written_digest) = match remainder.rsplit_once('@') {
        Some((before, after)) => (before, Some(after)),
        None => (remainder, None),
    };
    if let Some(written) = written_digest
        && !digest.is_match(written)
    {
        return ReferenceError::Digest(written.to_owned());
    }
    let (name, written_tag) = match name_and_tag.rsplit_once(':') {
        Some((before, after)) => (before, Some(after)),
        None => (name_and_tag, None),
    };
    if let Some(written) = written_tag
        && !tag.is_match(written)
    {
        return ReferenceError::Tag(written.to_owned());
    }
    if !repository.is_match(name) {
        return ReferenceError::Repository(name.to_owned());
    }
    ReferenceError::Format
}

/// `digest.Parse`: a registered algorithm, in its exact lowercase hex length.
fn check_digest(digest: &str) -> Result<(), ReferenceError> {
    let (algorithm, encoded) = digest.split_once(':').unwrap_or((digest, ""));
    let Some((_, length)) = ALGORITHMS.iter().find(|(name, _)| *name == algorithm) else {
        return Err(ReferenceError::Digest(digest.to_owned()));
    };
    let lowercase_hex = encoded.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
    if encoded.len() != *length || !lowercase_hex {
        return Err(ReferenceError::DigestEncoding {
            algorithm: algorithm.to_owned(),
            length: *length,
            encoded: encoded.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn valid_references_split_as_the_runtime_splits_them() {
        let full = format!("registry.example.com:5000/team/cat-classifier:v1.2@{SHA}");
        let parsed = ImageReference::parse(&full).expect("valid");
        assert_eq!(parsed.domain, Some("registry.example.com:5000"));
        assert_eq!(parsed.path, "team/cat-classifier");
        assert_eq!(parsed.tag, Some("v1.2"));
        assert_eq!(parsed.digest, Some(SHA));
        assert!(parsed.is_pinned());
        let hub = ImageReference::parse("ubuntu").expect("valid");
        assert_eq!((hub.domain, hub.path, hub.tag, hub.digest), (None, "ubuntu", None, None));
        assert!(!hub.is_pinned());
        let user = ImageReference::parse("acme/cat:latest").expect("valid");
        assert_eq!((user.domain, user.path, user.tag), (None, "acme/cat", Some("latest")));
        assert_eq!(user.pinned_example(), "acme/cat@sha256:<digest>");
        for ok in [
            "localhost/cat",
            "localhost:5000/cat:1",
            "[::1]:5000/cat",
            "192.168.1.1/a/b/c",
            "ghcr.io/a__b/c-----d/e.f",
            "Example.com/cat",
            &format!("cat@{SHA}"),
            &format!("cat:latest@{SHA}"),
            "cat:_tag.with-dots",
            &format!("cat:{}", "t".repeat(128)),
        ] {
            assert!(ImageReference::parse(ok).is_ok(), "{ok} should parse");
        }
    }

    #[test]
    fn invalid_references_name_the_part_at_fault() {
        let err = |text: &str| ImageReference::parse(text).expect_err(text);
        assert_eq!(err(""), ReferenceError::Empty);
        assert_eq!(err("cat classifier"), ReferenceError::Whitespace);
        assert_eq!(err(&SHA[7..]), ReferenceError::Identifier);
        assert_eq!(err("acme/Cat"), ReferenceError::Uppercase("acme/Cat".into()));
        assert_eq!(err("Cat"), ReferenceError::Uppercase("Cat".into()));
        assert_eq!(err("cat:-v1"), ReferenceError::Tag("-v1".into()));
        assert_eq!(err(&format!("cat:{}", "t".repeat(129))), ReferenceError::Tag("t".repeat(129)));
        assert_eq!(err("cat:v1é"), ReferenceError::Tag("v1é".into()), "Go's \\w is ASCII");
        assert_eq!(err("cat@sha256:abc"), ReferenceError::Digest("sha256:abc".into()));
        assert_eq!(
            err(&format!("cat@md5:{}", &SHA[7..39])),
            ReferenceError::Digest(format!("md5:{}", &SHA[7..39])),
            "an algorithm go-digest does not register"
        );
        let upper = format!("cat@sha256:{}", SHA[7..].to_uppercase());
        assert!(matches!(err(&upper), ReferenceError::DigestEncoding { .. }), "go-digest wants lowercase");
        assert!(matches!(err(&format!("cat@{SHA}00")), ReferenceError::DigestEncoding { length: 64, .. }));
        assert_eq!(err("acme//cat"), ReferenceError::Repository("acme//cat".into()));
        assert_eq!(err("acme/-cat"), ReferenceError::Repository("acme/-cat".into()));
        assert_eq!(err("ghcr.io/cat."), ReferenceError::Repository("cat.".into()));
        assert_eq!(err("bad_host.io:x/cat"), ReferenceError::Format);
        assert!(matches!(err(&format!("ghcr.io/{}", "a".repeat(256))), ReferenceError::TooLong(256)));
        // Docker Hub's one-component names count their implicit `library/`.
        assert!(ImageReference::parse(&"a".repeat(247)).is_ok());
        assert!(matches!(err(&"a".repeat(248)), ReferenceError::TooLong(256)));
    }
}
