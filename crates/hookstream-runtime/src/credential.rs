//! Taking credentials out of a request.

use http::HeaderMap;
use http::header::{AUTHORIZATION, COOKIE};

/// The location of a credential in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialLocation {
    /// An API key in the named header.
    Header(&'static str),
    /// An API key in the named cookie.
    Cookie(&'static str),
    /// `Authorization: Bearer <token>`.
    Bearer,
}

impl CredentialLocation {
    /// Describes the location for an error message.
    pub fn describe(self) -> String {
        match self {
            Self::Header(name) => format!("the `{name}` header"),
            Self::Cookie(name) => format!("the `{name}` cookie"),
            Self::Bearer => "`Authorization: Bearer <token>`".to_string(),
        }
    }
}

/// A secret value whose `Debug` output is redacted, so that logging a
/// credential by mistake does not leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// Returns the secret itself. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Secret(<redacted>)")
    }
}

/// A credential from a request: which scheme and which value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential<S> {
    /// The security scheme the credential belongs to.
    pub scheme: S,
    /// The value the request carried.
    pub secret: Secret,
}

/// The reason a request was not authenticated. Messages never contain the
/// credential itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    /// The request carried none of the accepted credentials.
    Missing {
        /// The accepted locations, described for the caller.
        accepted: Vec<String>,
    },
    /// A credential was present but not well formed.
    Malformed {
        /// The problem, in words safe to show the caller.
        reason: String,
    },
    /// The implementation rejected the credential: unknown, revoked or
    /// expired.
    Rejected {
        /// The reason, in words safe to show the caller.
        reason: String,
    },
}

impl AuthFailure {
    /// Builds a rejection with a reason that is safe to show the caller.
    pub fn rejected(reason: impl Into<String>) -> Self {
        Self::Rejected {
            reason: reason.into(),
        }
    }

    /// Returns one sentence for the caller.
    pub fn message(&self) -> String {
        match self {
            Self::Missing { accepted } => {
                format!("Missing credentials: send {}", alternatives(accepted))
            }
            Self::Malformed { reason } => format!("Malformed credentials: {reason}"),
            Self::Rejected { reason } => format!("Invalid credentials: {reason}"),
        }
    }
}

/// Joins alternatives as `a`, `a or b`, or `a, b or c`.
fn alternatives(items: &[String]) -> String {
    match items {
        [] => "a credential".to_string(),
        [only] => only.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// Returns the credential of the first scheme in `accepted` that the
/// request carries. Every accepted location is checked, and a malformed
/// value in any of them rejects the request even when another is valid.
pub fn extract_credential<S: Copy>(
    headers: &HeaderMap,
    accepted: &[(S, CredentialLocation)],
) -> Result<Credential<S>, AuthFailure> {
    let mut first = None;
    for &(scheme, location) in accepted {
        if let Some(value) = find(headers, location)? {
            check_token(&value, location)?;
            first.get_or_insert(Credential {
                scheme,
                secret: Secret(value),
            });
        }
    }
    first.ok_or_else(|| AuthFailure::Missing {
        accepted: accepted.iter().map(|(_, l)| l.describe()).collect(),
    })
}

fn find(headers: &HeaderMap, location: CredentialLocation) -> Result<Option<String>, AuthFailure> {
    match location {
        CredentialLocation::Header(name) => single_header(headers, name),
        CredentialLocation::Bearer => {
            let Some(value) = single_header(headers, AUTHORIZATION.as_str())? else {
                return Ok(None);
            };
            let (scheme, token) = value.split_once(' ').unwrap_or((&value, ""));
            if !scheme.eq_ignore_ascii_case("bearer") {
                return Err(AuthFailure::Malformed {
                    reason: "the `Authorization` header must use the `Bearer` scheme".into(),
                });
            }
            Ok(Some(token.trim_start_matches(' ').to_string()))
        }
        CredentialLocation::Cookie(name) => {
            let mut found = None;
            // Read as bytes, so that another cookie's non-ASCII value does
            // not spoil the request: only the named cookie must be ASCII.
            for header in headers.get_all(COOKIE) {
                for pair in header.as_bytes().split(|&byte| byte == b';') {
                    let pair = pair.trim_ascii();
                    let Some(equals) = pair.iter().position(|&byte| byte == b'=') else {
                        continue;
                    };
                    if &pair[..equals] != name.as_bytes() {
                        continue;
                    }
                    if found.is_some() {
                        return Err(AuthFailure::Malformed {
                            reason: format!("the `{name}` cookie is sent more than once"),
                        });
                    }
                    let value = std::str::from_utf8(&pair[equals + 1..])
                        .ok()
                        .filter(|value| value.is_ascii())
                        .ok_or_else(|| AuthFailure::Malformed {
                            reason: format!("the `{name}` cookie is not visible ASCII"),
                        })?;
                    found = Some(value.trim_matches('"').to_string());
                }
            }
            Ok(found)
        }
    }
}

fn single_header(headers: &HeaderMap, name: &str) -> Result<Option<String>, AuthFailure> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthFailure::Malformed {
            reason: format!("the `{name}` header is sent more than once"),
        });
    }
    let text = value.to_str().map_err(|_| AuthFailure::Malformed {
        reason: format!("the `{name}` header is not visible ASCII"),
    })?;
    Ok(Some(text.trim().to_string()))
}

/// Accepts a token of visible ASCII characters only (RFC 6750 allows fewer,
/// but no scheme here needs spaces or control characters).
fn check_token(value: &str, location: CredentialLocation) -> Result<(), AuthFailure> {
    if value.is_empty() {
        return Err(AuthFailure::Malformed {
            reason: format!("{} is empty", location.describe()),
        });
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AuthFailure::Malformed {
            reason: format!(
                "{} contains spaces or control characters",
                location.describe()
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const ACCEPTED: &[(u8, CredentialLocation)] = &[
        (1, CredentialLocation::Header("x-api-key")),
        (2, CredentialLocation::Cookie("session")),
        (3, CredentialLocation::Bearer),
    ];

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn header_key_is_found() {
        let credential = extract_credential(&headers(&[("x-api-key", "k1")]), ACCEPTED).unwrap();
        assert_eq!(credential.scheme, 1);
        assert_eq!(credential.secret.expose(), "k1");
    }

    #[test]
    fn non_ascii_other_cookie_is_ignored() {
        let mut map = headers(&[("x-api-key", "k1")]);
        map.append(
            COOKIE,
            HeaderValue::from_bytes(b"theme=caf\xc3\xa9; other=1").unwrap(),
        );
        let credential = extract_credential(&map, ACCEPTED).unwrap();
        assert_eq!(credential.scheme, 1);
    }

    #[test]
    fn non_ascii_session_cookie_is_malformed() {
        let mut map = HeaderMap::new();
        map.append(
            COOKIE,
            HeaderValue::from_bytes(b"session=t\xc3\xa9").unwrap(),
        );
        let failure = extract_credential(&map, ACCEPTED).unwrap_err();
        assert!(
            failure.message().contains("not visible ASCII"),
            "{}",
            failure.message()
        );
    }

    #[test]
    fn cookie_is_found_among_others() {
        let map = headers(&[("cookie", "a=1; session=tok; b=2")]);
        let credential = extract_credential(&map, ACCEPTED).unwrap();
        assert_eq!(credential.scheme, 2);
        assert_eq!(credential.secret.expose(), "tok");
    }

    #[test]
    fn bearer_is_case_insensitive() {
        let credential =
            extract_credential(&headers(&[("authorization", "bearer t")]), ACCEPTED).unwrap();
        assert_eq!(credential.scheme, 3);
        assert_eq!(credential.secret.expose(), "t");
    }

    #[test]
    fn basic_authorization_is_malformed() {
        let error =
            extract_credential(&headers(&[("authorization", "Basic dTpw")]), ACCEPTED).unwrap_err();
        assert!(matches!(error, AuthFailure::Malformed { .. }), "{error:?}");
    }

    #[test]
    fn basic_beside_valid_cookie_is_malformed() {
        let map = headers(&[("cookie", "session=tok"), ("authorization", "Basic dTpw")]);
        let error = extract_credential(&map, ACCEPTED).unwrap_err();
        assert!(matches!(error, AuthFailure::Malformed { .. }), "{error:?}");
    }

    #[test]
    fn empty_bearer_beside_valid_key_is_malformed() {
        let map = headers(&[("x-api-key", "k1"), ("authorization", "Bearer")]);
        let error = extract_credential(&map, ACCEPTED).unwrap_err();
        assert!(matches!(error, AuthFailure::Malformed { .. }), "{error:?}");
    }

    #[test]
    fn first_valid_scheme_is_chosen() {
        let map = headers(&[("authorization", "Bearer t"), ("x-api-key", "k1")]);
        let credential = extract_credential(&map, ACCEPTED).unwrap();
        assert_eq!(credential.scheme, 1);
        assert_eq!(credential.secret.expose(), "k1");
    }

    #[test]
    fn no_credential_is_missing() {
        let error = extract_credential(&HeaderMap::new(), ACCEPTED).unwrap_err();
        assert!(matches!(error, AuthFailure::Missing { .. }), "{error:?}");
    }

    #[test]
    fn tab_in_key_is_malformed() {
        let error = extract_credential(&headers(&[("x-api-key", "a\tb")]), ACCEPTED).unwrap_err();
        assert!(matches!(error, AuthFailure::Malformed { .. }), "{error:?}");
    }

    #[test]
    fn repeated_header_is_malformed() {
        let map = headers(&[("x-api-key", "a"), ("x-api-key", "b")]);
        let error = extract_credential(&map, ACCEPTED).unwrap_err();
        assert!(matches!(error, AuthFailure::Malformed { .. }), "{error:?}");
    }

    #[test]
    fn secret_debug_is_redacted() {
        assert_eq!(
            format!("{:?}", Secret::new("hunter2")),
            "Secret(<redacted>)"
        );
    }
}
