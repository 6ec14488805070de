//! Stream ids as NATS subjects: one subject per aggregate stream, readable by an
//! auditor with the `nats` CLI, and mapped back without loss.
//!
//! A stream id `<kind>:<rest>` (split at the first `:`) is stored under
//! `metroplan.events.<kind>.<rest>`, each part escaped into ONE subject token; an id
//! without `:` becomes `metroplan.events.<id>` (three tokens instead of four).
//!
//! # Escaping
//!
//! | in the id | in the token |
//! | --- | --- |
//! | `%` | `%25` |
//! | `.` | `%2E` |
//! | `*` | `%2A` |
//! | `>` | `%3E` |
//! | space, tab, any other whitespace or control character | `%XX` per UTF-8 byte (`%20`, `%09`, …) |
//! | an empty part | `%` alone (escaped text never has a bare `%`) |
//!
//! Everything else stays as it is, including `/`, `-`, `:` and non-ASCII letters, so
//! `action:PSM-2021-2023/2.1.1` is `metroplan.events.action.PSM-2021-2023/2%2E1%2E1`
//! and `nats stream subjects METROPLAN_EVENTS 'metroplan.events.action.>'` lists the
//! actions.

use std::fmt::Write as _;

/// Every event subject starts with this.
pub const SUBJECT_PREFIX: &str = "metroplan.events";

/// The subject filter of the whole log.
pub const ALL_EVENTS: &str = "metroplan.events.>";

/// The subject of stream `stream_id`.
pub fn stream_subject(stream_id: &str) -> String {
    let mut out = String::with_capacity(SUBJECT_PREFIX.len() + stream_id.len() + 8);
    out.push_str(SUBJECT_PREFIX);
    match stream_id.split_once(':') {
        Some((kind, rest)) => {
            out.push('.');
            escape_token(kind, &mut out);
            out.push('.');
            escape_token(rest, &mut out);
        }
        None => {
            out.push('.');
            escape_token(stream_id, &mut out);
        }
    }
    out
}

/// The subject filter that holds every stream whose id starts with `prefix`, as narrow
/// as subjects allow: the kind's subtree when the prefix names a whole kind.
pub fn prefix_filter(prefix: &str) -> String {
    match prefix.split_once(':') {
        Some((kind, _)) => {
            let mut out = format!("{SUBJECT_PREFIX}.");
            escape_token(kind, &mut out);
            out.push_str(".>");
            out
        }
        None => ALL_EVENTS.to_owned(),
    }
}

/// The stream id stored under `subject`, or `None` for a subject this mapping never
/// produces.
pub fn stream_id(subject: &str) -> Option<String> {
    let rest = subject.strip_prefix(SUBJECT_PREFIX)?.strip_prefix('.')?;
    let mut tokens = rest.split('.');
    let first = unescape_token(tokens.next()?)?;
    match (tokens.next(), tokens.next()) {
        (None, _) => Some(first),
        (Some(second), None) => Some(format!("{first}:{}", unescape_token(second)?)),
        (Some(_), Some(_)) => None,
    }
}

fn escape_token(part: &str, out: &mut String) {
    if part.is_empty() {
        out.push('%');
        return;
    }
    for c in part.chars() {
        if matches!(c, '%' | '.' | '*' | '>') || c.is_whitespace() || c.is_control() {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                // Infallible: writing to a String.
                let _ = write!(out, "%{b:02X}");
            }
        } else {
            out.push(c);
        }
    }
}

fn unescape_token(token: &str) -> Option<String> {
    if token == "%" {
        return Some(String::new());
    }
    percent_decode(token)
}

/// Decodes `%XX` sequences; `None` when one is malformed or the result is not UTF-8.
pub(crate) fn percent_decode(text: &str) -> Option<String> {
    if !text.contains('%') {
        return Some(text.to_owned());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_keep_their_readable_parts() {
        assert_eq!(
            stream_subject("action:PSM-2021-2023/2.1.1"),
            "metroplan.events.action.PSM-2021-2023/2%2E1%2E1"
        );
        assert_eq!(stream_subject("plan:psm"), "metroplan.events.plan.psm");
        assert_eq!(
            stream_subject("table:città più"),
            "metroplan.events.table.città%20più"
        );
    }

    #[test]
    fn every_id_maps_to_one_token_per_part_and_back() {
        for id in [
            "plan:a",
            "plan%:y",
            "pl_n:x",
            "action:p/1.2.3",
            "a:b:c",
            "no-colon",
            "plan:",
            ":x",
            ":",
            "",
            "wild:*",
            "wild:>",
            "wild:a*b>c",
            "sp:a b\tc\nd",
            "pct:%25%",
            "dots:...",
            "uni:città — più",
            "ctl:\u{7f}\u{1}",
        ] {
            let subject = stream_subject(id);
            let tokens: Vec<&str> = subject.split('.').collect();
            let expected = if id.contains(':') { 4 } else { 3 };
            assert_eq!(tokens.len(), expected, "{id:?} -> {subject:?}");
            assert!(
                tokens
                    .iter()
                    .all(|t| !t.is_empty() && *t != "*" && *t != ">"),
                "{subject:?}"
            );
            assert!(
                !subject.chars().any(char::is_whitespace),
                "{subject:?} has whitespace"
            );
            assert_eq!(stream_id(&subject).as_deref(), Some(id), "{subject:?}");
        }
    }

    #[test]
    fn foreign_subjects_are_not_streams() {
        assert_eq!(stream_id("metroplan.events"), None);
        assert_eq!(stream_id("metroplan.events.a.b.c"), None);
        assert_eq!(stream_id("other.events.a.b"), None);
        assert_eq!(stream_id("metroplan.events.a.%zz"), None);
    }

    #[test]
    fn prefix_filters_narrow_to_a_kind() {
        assert_eq!(prefix_filter("plan:"), "metroplan.events.plan.>");
        assert_eq!(prefix_filter("action:p/"), "metroplan.events.action.>");
        assert_eq!(prefix_filter("plan"), ALL_EVENTS);
        assert_eq!(prefix_filter(""), ALL_EVENTS);
        assert_eq!(prefix_filter("plan%:"), "metroplan.events.plan%25.>");
    }
}
