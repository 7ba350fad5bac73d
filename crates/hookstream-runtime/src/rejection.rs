//! Rejections: requests that the generated router turns away before an
//! operation runs.

use crate::credential::AuthFailure;
use crate::meta::RequestMeta;
use std::cmp::Ordering;

/// The part of a request in which a violation was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Location {
    /// A path parameter.
    Path,
    /// A query parameter.
    Query,
    /// A header parameter.
    Header,
    /// The request body.
    Body,
}

impl Location {
    /// Returns the words that open an error sentence, such as `Invalid body`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Path => "Invalid path parameter",
            Self::Query => "Invalid query parameter",
            Self::Header => "Invalid header",
            Self::Body => "Invalid body",
        }
    }
}

/// One way in which a request does not match the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The part of the request that carries the value.
    pub location: Location,
    /// The value's path, such as `filter_rules[0].op`, or the parameter
    /// name; empty for the body as a whole.
    pub path: String,
    /// A stable, machine-readable code such as `max_length`.
    pub code: String,
    /// The problem, phrased as the end of a sentence that starts with the path,
    /// such as `must be at most 155 characters`.
    pub message: String,
}

impl Violation {
    /// Builds a violation.
    pub fn new(
        location: Location,
        path: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            location,
            path: path.into(),
            code: code.into(),
            message: message.into(),
        }
    }

    /// Returns one sentence, such as `Invalid body: name must be at most
    /// 155 characters`.
    pub fn sentence(&self) -> String {
        if self.path.is_empty() {
            format!("{}: {}", self.location.label(), self.message)
        } else {
            format!("{}: {} {}", self.location.label(), self.path, self.message)
        }
    }
}

/// A request the router responded to without calling the operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Parameters or body do not match the spec. Holds every violation
    /// found, sorted by location and path.
    Invalid(Vec<Violation>),
    /// No credential, a malformed one, or one the implementation rejected.
    Unauthenticated(AuthFailure),
    /// The body is not `application/json`; contains the `Content-Type` that was sent.
    UnsupportedMediaType(Option<String>),
    /// The body is larger than the limit, in bytes, that it holds.
    PayloadTooLarge(usize),
}

impl Rejection {
    /// Returns the HTTP status that fits the rejection.
    pub fn status(&self) -> u16 {
        match self {
            Self::Invalid(_) => 400,
            Self::Unauthenticated(_) => 401,
            Self::PayloadTooLarge(_) => 413,
            Self::UnsupportedMediaType(_) => 415,
        }
    }

    /// Returns one sentence for the caller that names what failed.
    pub fn message(&self) -> String {
        match self {
            Self::Invalid(violations) => match violations.as_slice() {
                [] => "Invalid request".to_string(),
                [only] => only.sentence(),
                [first, rest @ ..] => format!(
                    "{} (and {} more {})",
                    first.sentence(),
                    rest.len(),
                    if rest.len() == 1 {
                        "violation"
                    } else {
                        "violations"
                    }
                ),
            },
            Self::Unauthenticated(failure) => failure.message(),
            Self::UnsupportedMediaType(Some(sent)) => {
                format!("Unsupported media type `{sent}`: send the body as `application/json`")
            }
            Self::UnsupportedMediaType(None) => {
                "Missing `Content-Type`: send the body as `application/json`".to_string()
            }
            Self::PayloadTooLarge(limit) => {
                format!("Request body is larger than the limit of {limit} bytes")
            }
        }
    }

    /// Returns the violations of an [`Rejection::Invalid`], else nothing.
    pub fn violations(&self) -> &[Violation] {
        match self {
            Self::Invalid(violations) => violations,
            _ => &[],
        }
    }
}

/// Adds the violations that an implementation found to those of the
/// schema, keeping the order that [`Rejection::Invalid`] promises and
/// dropping repeats.
pub fn add_violations(violations: &mut Vec<Violation>, more: Vec<Violation>) {
    violations.extend(more);
    sort_violations(violations);
}

/// Sorts violations by location, then path, then code, and drops repeats.
/// Array indexes in paths compare as numbers, so `rules[2]` comes before
/// `rules[10]`.
pub fn sort_violations(violations: &mut Vec<Violation>) {
    violations.sort_by(|a, b| {
        a.location
            .cmp(&b.location)
            .then_with(|| compare_paths(&a.path, &b.path))
            .then_with(|| a.code.cmp(&b.code))
    });
    violations.dedup();
}

/// Compares two paths character by character, except that runs of digits
/// compare by their numeric value.
fn compare_paths(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a, b);
    loop {
        let digits_a = a.len() - a.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let digits_b = b.len() - b.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits_a > 0 && digits_b > 0 {
            let (number_a, rest_a) = a.split_at(digits_a);
            let (number_b, rest_b) = b.split_at(digits_b);
            // Leading zeros aside, a longer run of digits is a larger number.
            let (trimmed_a, trimmed_b) = (
                number_a.trim_start_matches('0'),
                number_b.trim_start_matches('0'),
            );
            let order = trimmed_a
                .len()
                .cmp(&trimmed_b.len())
                .then_with(|| trimmed_a.cmp(trimmed_b))
                .then_with(|| number_a.len().cmp(&number_b.len()));
            if order != Ordering::Equal {
                return order;
            }
            (a, b) = (rest_a, rest_b);
            continue;
        }
        let mut chars_a = a.chars();
        let mut chars_b = b.chars();
        match (chars_a.next(), chars_b.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x != y => return x.cmp(&y),
            (Some(_), Some(_)) => (a, b) = (chars_a.as_str(), chars_b.as_str()),
        }
    }
}

/// Logs a rejection with the request id. Messages hold no credential.
/// The reason is logged quoted and escaped, because it can quote property
/// names from the body, and a raw line break in one would forge a log line.
pub fn log_rejection(meta: &RequestMeta, rejection: &Rejection) {
    tracing::info!(
        request_id = %meta.request_id,
        operation = meta.operation_id,
        status = rejection.status(),
        reason = ?rejection.message(),
        "request rejected"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_indexes_sort_as_numbers() {
        let mut paths = [
            "rules[10].op",
            "rules[2].op",
            "rules[1]",
            "name",
            "rules[02].a",
        ];
        paths.sort_by(|a, b| compare_paths(a, b));
        assert_eq!(
            paths,
            [
                "name",
                "rules[1]",
                "rules[2].op",
                "rules[02].a",
                "rules[10].op"
            ]
        );
    }

    #[test]
    fn added_violations_keep_order() {
        let mut violations = vec![
            Violation::new(Location::Path, "id", "pattern", "must match"),
            Violation::new(Location::Body, "name", "min_length", "must not be empty"),
        ];
        add_violations(
            &mut violations,
            vec![
                Violation::new(Location::Body, "enabled", "conflict", "contradicts status"),
                Violation::new(Location::Body, "name", "min_length", "must not be empty"),
            ],
        );
        let order: Vec<(Location, &str)> = violations
            .iter()
            .map(|violation| (violation.location, violation.path.as_str()))
            .collect();
        assert_eq!(
            order,
            [
                (Location::Path, "id"),
                (Location::Body, "enabled"),
                (Location::Body, "name"),
            ]
        );
    }
}
