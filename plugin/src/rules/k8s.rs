//! Kubernetes' own rules for names, label keys and values, and resource quantities.

/// RFC 1123 label (`[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63); KServe also wants a leading letter.
pub fn dns_label(name: &str, leading_letter: bool) -> Result<(), String> {
    if name.is_empty() {
        return Err("it is empty".to_owned());
    }
    if name.len() > 63 {
        return Err(format!("it is {} characters long, more than 63", name.len()));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')) {
        return Err(if c.is_uppercase() {
            format!("it contains the uppercase letter `{c}`; names are lowercase")
        } else {
            format!("it contains `{c}`")
        });
    }
    if leading_letter && !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("it must start with a lowercase letter".to_owned());
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err("it must start and end with a letter or digit".to_owned());
    }
    Ok(())
}

/// RFC 1123 subdomain: dot-separated labels, at most 253 characters.
pub fn dns_subdomain(name: &str) -> Result<(), String> {
    if name.len() > 253 {
        return Err(format!("it is {} characters long, more than 253", name.len()));
    }
    name.split('.').try_for_each(|label| dns_label(label, false))
}

/// A label value: at most 63 of `[A-Za-z0-9._-]`, starting and ending alphanumeric (or empty).
pub fn label_value(value: &str) -> Result<(), String> {
    if value.len() > 63 {
        return Err(format!("it is {} characters long, more than 63", value.len()));
    }
    if let Some(c) = value.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))) {
        return Err(format!("it contains `{c}`"));
    }
    let alphanumeric_ends =
        value.starts_with(|c: char| c.is_ascii_alphanumeric()) && value.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !value.is_empty() && !alphanumeric_ends {
        return Err("it must start and end with a letter or digit".to_owned());
    }
    Ok(())
}

/// A label or annotation key: an optional DNS-subdomain prefix and `/`, then a name.
pub fn qualified_name(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        dns_subdomain(prefix).map_err(|why| format!("its prefix `{prefix}` is not a DNS subdomain: {why}"))?;
    }
    if name.is_empty() {
        return Err("its name part is empty".to_owned());
    }
    label_value(name)
}

/// An environment variable name (`IsEnvVarName`, the rule every Kubernetes
/// release enforces: letters, digits, `_`, `-` and `.`, not starting with a digit).
pub fn env_var_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("it is empty".to_owned());
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))) {
        return Err(format!("it contains `{c}`"));
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err("it starts with a digit".to_owned());
    }
    Ok(())
}

/// Kubernetes quantity syntax: a decimal number with an optional SI, binary or exponent suffix.
pub fn is_quantity(text: &str) -> bool {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let digits_end = unsigned.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(unsigned.len());
    let (number, suffix) = unsigned.split_at(digits_end);
    let mut parts = number.splitn(2, '.');
    let whole = parts.next().unwrap_or_default();
    let fraction = parts.next();
    let has_digits = !whole.is_empty() || fraction.is_some_and(|f| !f.is_empty());
    let number_ok = has_digits && !fraction.is_some_and(|f| f.contains('.'));
    let suffix_ok = matches!(
        suffix,
        "" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" | "n" | "u" | "m" | "k" | "M" | "G" | "T" | "P" | "E"
    ) || suffix
        .strip_prefix(['e', 'E'])
        .map(|exp| exp.strip_prefix(['+', '-']).unwrap_or(exp))
        .is_some_and(|exp| !exp.is_empty() && exp.chars().all(|c| c.is_ascii_digit()));
    number_ok && suffix_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        for ok in ["1", "500m", "2Gi", "0.5", ".5", "1e3", "1E-2", "+1", "128974848", "129M"] {
            assert!(is_quantity(ok), "{ok} should be a quantity");
        }
        for bad in ["", "one", "1GB", "2gi", "1.2.3", "m", "1e", "--1", "1 Gi"] {
            assert!(!is_quantity(bad), "{bad} should not be a quantity");
        }
    }

    #[test]
    fn names() {
        assert!(dns_label("mochanet", true).is_ok());
        assert!(dns_label("2fa", true).is_err());
        assert!(dns_label("2fa", false).is_ok());
        assert!(dns_label("a.b", false).is_err());
        assert!(dns_label("Upper", false).is_err());
        assert!(dns_label("trailing-", false).is_err());
        assert!(dns_subdomain("models-s3").is_ok());
        assert!(qualified_name("app.kubernetes.io/name").is_ok());
        assert!(qualified_name("bad key").is_err());
        assert!(qualified_name("Example.com/x").is_err());
        assert!(label_value("v1.2.0").is_ok());
        assert!(label_value("1.2.0+build").is_err());
        assert!(label_value("").is_ok());
        assert!(env_var_name("MY_ENV.NAME-1").is_ok());
        assert!(env_var_name("1ST").is_err());
        assert!(env_var_name("A=B").is_err());
        assert!(env_var_name("").is_err());
    }
}
