//! Schema evolution: how a stored payload of any schema version becomes today's payload.
//!
//! Every stored event goes through one path, [`EventPayload::upcast`]:
//! `(event_type, schema_version, bytes) -> current payload`, and
//! [`EventPayload::decode_recorded`] is that path with the event's position added to the
//! error. The choice it makes: a family's schema version says how to read its bytes, and
//! an old version is converted once, on read, straight into the current types; stored
//! bytes are never rewritten.
//!
//! - The current version ([`EventPayload::SCHEMA_VERSION`]) decodes with the generated
//!   types (the identity).
//! - An older version goes through the [`Upcaster`] registered for it in the family's
//!   [`EventPayload::UPCASTERS`], which turns its bytes into the current payload.
//! - A newer version, version 0, or an old version with no upcaster is refused
//!   ([`UpcastError::UnknownSchema`]): this program cannot read it.
//! - The variant decoded must be the envelope's event type (or the name an upcaster
//!   says the old type has today); anything else is [`UpcastError::TypeMismatch`].
//!
//! # When to bump a schema version
//!
//! Not for additive changes: a new field (with a new number) or a new event type keeps
//! the version, because old bytes still decode to the same meaning, the new field at its
//! default. Bump the family's `SCHEMA_VERSION` only when old bytes would decode to a
//! different meaning or no longer decode: a field's type or unit changes, a field is
//! split or merged, a variant is renamed or replaced. Field numbers are never reused.
//!
//! # How to bump a family from version N to N + 1
//!
//! 1. Keep a frozen copy of the version-N messages that change, so that version-N bytes
//!    can still be decoded (a `proto/metroplan/events/v1/legacy/` file in its own
//!    package, or hand-written `#[derive(prost::Message)]` structs in this crate).
//! 2. In the family's `impl EventPayload` (in `payloads_*.rs`, the documented place),
//!    set `const SCHEMA_VERSION: u32 = N + 1;` and add to `UPCASTERS` an
//!    `Upcaster { from: N, renames: &[..], upcast: .. }` whose function decodes version-N
//!    bytes and returns the version-(N + 1) payload. Keep the upcasters of older
//!    versions and make them return the new current payload too (compose: the old
//!    function, then the N -> N + 1 conversion). Every version from 1 to N must have an
//!    upcaster; the golden tests check it.
//! 3. Golden samples (`tests/golden/`, see `tests/golden.rs`): the `.bin` files of every
//!    version are never touched. Edit the `.json` of the version-N samples (and older)
//!    to what the upcast now yields, so the diff shows the conversion for review; then
//!    run `METROPLAN_BLESS_GOLDEN=1 cargo test -p metroplan-events --test golden` to write
//!    the new version's samples into `tests/golden/v<N+1>/`.

use crate::EventPayload;

/// Reads the bytes of one old schema version of a family as the current payload.
pub struct Upcaster<E> {
    /// The schema version whose bytes this reads; lower than the family's current one.
    pub from: u32,
    /// Event types of version `from` that have another name today, `(old, current)`.
    pub renames: &'static [(&'static str, &'static str)],
    /// Decodes version-`from` bytes (the family's wrapper message as it was then) and
    /// converts them into today's wrapper.
    pub upcast: fn(&[u8]) -> Result<E, prost::DecodeError>,
}

/// A stored payload that cannot become a current payload.
#[derive(Debug, thiserror::Error)]
pub enum UpcastError {
    #[error("schema version {schema_version} is not one this program reads (current {current})")]
    UnknownSchema { schema_version: u32, current: u32 },
    #[error(transparent)]
    Malformed(#[from] prost::DecodeError),
    #[error("the payload is a {decoded}, not the {expected} its envelope names")]
    TypeMismatch {
        expected: String,
        decoded: &'static str,
    },
}

/// The body of [`EventPayload::upcast`].
pub(crate) fn upcast<E: EventPayload>(
    event_type: &str,
    schema_version: u32,
    bytes: &[u8],
) -> Result<E, UpcastError> {
    let (payload, expected) = if schema_version == E::SCHEMA_VERSION {
        (E::decode(bytes)?, event_type)
    } else {
        let upcaster = E::UPCASTERS
            .iter()
            .find(|u| u.from == schema_version && u.from < E::SCHEMA_VERSION)
            .ok_or(UpcastError::UnknownSchema {
                schema_version,
                current: E::SCHEMA_VERSION,
            })?;
        let today = upcaster
            .renames
            .iter()
            .find_map(|&(old, new)| (old == event_type).then_some(new))
            .unwrap_or(event_type);
        ((upcaster.upcast)(bytes)?, today)
    };
    if payload.event_type() != expected {
        return Err(UpcastError::TypeMismatch {
            expected: event_type.to_owned(),
            decoded: payload.event_type(),
        });
    }
    Ok(payload)
}

/// The schema versions below the current one of `E` that no upcaster reads, and the
/// versions registered twice or out of range: what a bump forgot. Empty when the
/// family's [`EventPayload::UPCASTERS`] are complete.
pub fn registry_problems<E: EventPayload>() -> Vec<String> {
    let mut problems = Vec::new();
    for version in 1..E::SCHEMA_VERSION {
        match E::UPCASTERS.iter().filter(|u| u.from == version).count() {
            0 => problems.push(format!("no upcaster from schema version {version}")),
            1 => {}
            n => problems.push(format!("{n} upcasters from schema version {version}")),
        }
    }
    for u in E::UPCASTERS {
        if u.from == 0 || u.from >= E::SCHEMA_VERSION {
            problems.push(format!(
                "an upcaster from schema version {} is not below the current {}",
                u.from,
                E::SCHEMA_VERSION
            ));
        }
    }
    problems
}
