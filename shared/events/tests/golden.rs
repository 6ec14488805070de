//! Golden samples: old events must decode forever.
//!
//! `tests/golden/v<N>/` holds, for schema version N, one sample per event type:
//! `<EventType>.bin`, the exact stored payload (the family's wrapper message, encoded),
//! and `<EventType>.json`, what it must decode to today through the upcasting path
//! (`EventPayload::upcast`), in the serde form of the current wrapper. A later sample of
//! the same event type and version, written when a field was added, is
//! `<EventType>.<n>.bin` / `.json` (n = 2, 3, ...); an edge case that a full sample
//! cannot show (optional fields present but empty) is `<EventType>.<label>.*`, built by
//! [`edge_samples`].
//!
//! What the tests assert, the event types and families being read from the compiled
//! protos (`metroplan_events::FILE_DESCRIPTOR_SET`), not from a list kept by hand:
//!
//! - every sample of every version decodes through the upcasting path, as the event
//!   type of its file name, to its JSON; fields that the JSON does not name must be at
//!   their default (a field added since the sample was written). The samples of a
//!   family's current version re-encode byte for byte;
//! - every event type of the current protos has samples at its family's current
//!   version, and together they set every field of the event, nested messages and
//!   repeated ones included, so that renumbering a field or changing its type breaks a
//!   sample;
//! - no sample is left for an event type that no longer exists (unless an upcaster of
//!   that version renames it), nor a stray or unpaired file;
//! - the wrapper messages of the protos are exactly the families this file knows, and
//!   each family has an upcaster for every schema version below its current one;
//! - the upcasting path refuses an envelope whose event type is not the payload's, and
//!   a schema version it has no reader for.
//!
//! The `.bin` files are never edited. A sample is created only for what has none yet:
//! add the event to [`build_sample`] below (every field set, realistic content from
//! `shared/data/psm-torino-2021-2023.json`) and run
//!
//! ```text
//! METROPLAN_BLESS_GOLDEN=1 cargo test -p metroplan-events --test golden
//! ```
//!
//! It writes `<EventType>.bin` and `.json` for every current event type without a
//! sample, `<EventType>.<n>.*` for one whose samples leave a field (newly added) unset,
//! and the edge samples not written yet; it never overwrites a file. Review and commit what it wrote. After a schema
//! version bump (see `metroplan_events::upcast`) it writes the new version's directory.

use metroplan_events::pb::{
    self, ActionEvent, AgreementEvent, CampaignEvent, IndicatorEvent, PlanEvent, ProgressEvent,
    TableEvent, action_event, agreement_event, campaign_event, indicator_event, plan_event,
    progress_event, table_event,
};
use metroplan_events::{EventPayload, FILE_DESCRIPTOR_SET, upcast::registry_problems};
use prost::Message;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The protobuf package of the stored events.
const PACKAGE: &str = "metroplan.events.v1";
/// The `oneof` of a wrapper message whose variants are the event types.
const ONEOF: &str = "event";
const BLESS: &str = "METROPLAN_BLESS_GOLDEN";

// --- the families this binary can decode --------------------------------------------

/// What a sample decodes to through the upcasting path.
struct Decoded {
    event_type: &'static str,
    json: Value,
    reencoded: Vec<u8>,
}

/// One event family, its Rust wrapper type erased behind functions.
struct Family {
    /// The wrapper message's name, `PlanEvent`.
    wrapper: String,
    schema_version: u32,
    /// `(version, renames)` of each registered upcaster.
    upcasters: Vec<(u32, &'static [(&'static str, &'static str)])>,
    decode: fn(&str, u32, &[u8]) -> Result<Decoded, String>,
    registry_problems: fn() -> Vec<String>,
}

fn family<E: EventPayload>() -> Family {
    fn decode<E: EventPayload>(
        event_type: &str,
        version: u32,
        bytes: &[u8],
    ) -> Result<Decoded, String> {
        let payload = E::upcast(event_type, version, bytes).map_err(|e| e.to_string())?;
        Ok(Decoded {
            event_type: payload.event_type(),
            json: serde_json::to_value(&payload).map_err(|e| e.to_string())?,
            reencoded: payload.to_bytes(),
        })
    }
    let name = std::any::type_name::<E>();
    Family {
        wrapper: name.rsplit("::").next().unwrap_or(name).to_owned(),
        schema_version: E::SCHEMA_VERSION,
        upcasters: E::UPCASTERS.iter().map(|u| (u.from, u.renames)).collect(),
        decode: decode::<E>,
        registry_problems: registry_problems::<E>,
    }
}

/// Every family with an `EventPayload` impl; checked against the protos'
/// wrappers by [`the_families_are_the_wrappers_of_the_protos`].
fn families() -> Vec<Family> {
    vec![
        family::<PlanEvent>(),
        family::<ActionEvent>(),
        family::<ProgressEvent>(),
        family::<IndicatorEvent>(),
        family::<CampaignEvent>(),
        family::<TableEvent>(),
        family::<AgreementEvent>(),
    ]
}

// --- the protos, from the compiled descriptors --------------------------------------

/// The few fields of `google/protobuf/descriptor.proto` these tests read.
mod descriptor {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct FileDescriptorSet {
        #[prost(message, repeated, tag = "1")]
        pub file: Vec<FileDescriptorProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct FileDescriptorProto {
        #[prost(string, optional, tag = "2")]
        pub package: Option<String>,
        #[prost(message, repeated, tag = "4")]
        pub message_type: Vec<DescriptorProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct DescriptorProto {
        #[prost(string, optional, tag = "1")]
        pub name: Option<String>,
        #[prost(message, repeated, tag = "2")]
        pub field: Vec<FieldDescriptorProto>,
        #[prost(message, repeated, tag = "3")]
        pub nested_type: Vec<DescriptorProto>,
        #[prost(message, repeated, tag = "8")]
        pub oneof_decl: Vec<OneofDescriptorProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct FieldDescriptorProto {
        #[prost(string, optional, tag = "1")]
        pub name: Option<String>,
        #[prost(int32, optional, tag = "5")]
        pub r#type: Option<i32>,
        #[prost(string, optional, tag = "6")]
        pub type_name: Option<String>,
        #[prost(int32, optional, tag = "9")]
        pub oneof_index: Option<i32>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct OneofDescriptorProto {
        #[prost(string, optional, tag = "1")]
        pub name: Option<String>,
    }

    /// `FieldDescriptorProto.Type.TYPE_MESSAGE`.
    pub const TYPE_MESSAGE: i32 = 11;
}

/// The messages of the event package and the event types of each wrapper.
struct Protos {
    /// Messages by full name without the leading dot (`metroplan.events.v1.PlanCreated`).
    messages: BTreeMap<String, descriptor::DescriptorProto>,
    /// Event type -> (wrapper name, full name of the event's message).
    event_types: BTreeMap<String, (String, String)>,
    /// Wrapper names.
    wrappers: BTreeSet<String>,
}

fn protos() -> &'static Protos {
    static PROTOS: OnceLock<Protos> = OnceLock::new();
    PROTOS.get_or_init(|| {
        let set = descriptor::FileDescriptorSet::decode(FILE_DESCRIPTOR_SET)
            .expect("the build script wrote a FileDescriptorSet");
        let mut messages = BTreeMap::new();
        fn collect(
            prefix: &str,
            m: &descriptor::DescriptorProto,
            out: &mut BTreeMap<String, descriptor::DescriptorProto>,
        ) {
            let name = format!("{prefix}.{}", m.name());
            for nested in &m.nested_type {
                collect(&name, nested, out);
            }
            out.insert(name, m.clone());
        }
        for file in set.file.iter().filter(|f| f.package() == PACKAGE) {
            for m in &file.message_type {
                collect(PACKAGE, m, &mut messages);
            }
        }
        let (mut event_types, mut wrappers) = (BTreeMap::new(), BTreeSet::new());
        for (full, m) in &messages {
            let Some(oneof) = m.oneof_decl.iter().position(|o| o.name() == ONEOF) else {
                continue;
            };
            if full != &format!("{PACKAGE}.{}", m.name()) {
                continue;
            }
            wrappers.insert(m.name().to_owned());
            for f in m
                .field
                .iter()
                .filter(|f| f.oneof_index == Some(oneof as i32))
            {
                let message = f.type_name().trim_start_matches('.').to_owned();
                let previous = event_types.insert(camel(f.name()), (m.name().to_owned(), message));
                assert!(
                    previous.is_none(),
                    "event type {} is in two families",
                    f.name()
                );
            }
        }
        Protos {
            messages,
            event_types,
            wrappers,
        }
    })
}

/// The name prost gives the `oneof` variant of a field: `plan_created` -> `PlanCreated`.
fn camel(snake: &str) -> String {
    snake
        .split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |c| {
                c.to_uppercase().chain(chars).collect::<String>()
            })
        })
        .collect()
}

/// Every field path of `message`, nested messages included (`funding_lines.source`).
fn field_paths(message: &str, prefix: &str, seen: &mut Vec<String>, out: &mut BTreeSet<String>) {
    let protos = protos();
    let m = &protos.messages[message];
    if seen.iter().any(|s| s == message) {
        return;
    }
    seen.push(message.to_owned());
    for f in &m.field {
        let path = format!("{prefix}{}", f.name());
        out.insert(path.clone());
        if f.r#type() == descriptor::TYPE_MESSAGE {
            let nested = f.type_name().trim_start_matches('.');
            field_paths(nested, &format!("{path}."), seen, out);
        }
    }
    seen.pop();
}

/// The field paths of `message` that `json` (its serde form) sets to a non-default value.
fn set_paths(message: &str, json: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    let protos = protos();
    let Some(m) = protos.messages.get(message) else {
        return;
    };
    for f in &m.field {
        let path = format!("{prefix}{}", f.name());
        let Some(value) = json.get(f.name()) else {
            continue;
        };
        if !is_default(value) {
            out.insert(path.clone());
        }
        if f.r#type() == descriptor::TYPE_MESSAGE {
            let nested = f.type_name().trim_start_matches('.');
            let items = match value {
                Value::Array(items) => items.iter().collect(),
                Value::Object(_) => vec![value],
                _ => vec![],
            };
            for item in items {
                set_paths(nested, item, &format!("{path}."), out);
            }
        }
    }
}

/// The serde form of a proto3 default: absent message or optional, empty, zero, false.
fn is_default(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(_) => false,
    }
}

/// The event message inside a wrapper's serde form: `{"event": {"<variant>": {..}}}`.
fn inner(json: &Value) -> &Value {
    json.get(ONEOF)
        .and_then(Value::as_object)
        .and_then(|o| o.values().next())
        .unwrap_or(&Value::Null)
}

// --- the samples on disk -------------------------------------------------------------

struct Sample {
    version: u32,
    event_type: String,
    /// `ActionAdded` or `ActionAdded.2`: the file name without extension.
    stem: String,
    bin: PathBuf,
    json: PathBuf,
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Every sample on disk, after blessing when asked. Panics on a stray or unpaired file.
fn samples() -> Vec<Sample> {
    static BLESSED: OnceLock<()> = OnceLock::new();
    BLESSED.get_or_init(|| {
        if std::env::var_os(BLESS).is_some_and(|v| v != "0") {
            bless();
        }
    });
    read_samples()
}

fn read_samples() -> Vec<Sample> {
    let mut samples = Vec::new();
    let mut problems = Vec::new();
    let Ok(dirs) = std::fs::read_dir(golden_dir()) else {
        return samples;
    };
    for dir in dirs {
        let dir = dir.expect("golden entry").path();
        let name = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let Some(version) = name.strip_prefix('v').and_then(|v| v.parse::<u32>().ok()) else {
            problems.push(format!("{}: not a v<N> directory", dir.display()));
            continue;
        };
        let mut stems = BTreeMap::<String, BTreeSet<String>>::new();
        for file in std::fs::read_dir(&dir).expect("golden version directory") {
            let file = file.expect("golden file").path();
            let (Some(stem), Some(ext)) = (file.file_stem(), file.extension()) else {
                problems.push(format!("{}: not <EventType>.bin|json", file.display()));
                continue;
            };
            stems
                .entry(stem.to_string_lossy().into_owned())
                .or_default()
                .insert(ext.to_string_lossy().into_owned());
        }
        for (stem, exts) in stems {
            let expected: BTreeSet<String> = ["bin", "json"].map(str::to_owned).into();
            if exts != expected {
                problems.push(format!(
                    "v{version}/{stem}: has {exts:?}, needs exactly a .bin and a .json"
                ));
                continue;
            }
            let event_type = stem.split('.').next().unwrap_or(&stem).to_owned();
            samples.push(Sample {
                version,
                event_type,
                bin: dir.join(format!("{stem}.bin")),
                json: dir.join(format!("{stem}.json")),
                stem,
            });
        }
    }
    assert!(
        problems.is_empty(),
        "golden files:\n{}",
        problems.join("\n")
    );
    samples.sort_by(|a, b| (a.version, &a.stem).cmp(&(b.version, &b.stem)));
    samples
}

/// The family that reads `event_type` at schema `version`: the current one, or the
/// one whose upcaster for that version renames it.
fn family_of<'f>(families: &'f [Family], event_type: &str, version: u32) -> Option<&'f Family> {
    let protos = protos();
    if let Some((wrapper, _)) = protos.event_types.get(event_type) {
        return families.iter().find(|f| &f.wrapper == wrapper);
    }
    families.iter().find(|f| {
        f.upcasters.iter().any(|(from, renames)| {
            *from == version && renames.iter().any(|(old, _)| *old == event_type)
        })
    })
}

/// Differences between the golden JSON and the decoded one. A key the golden JSON does
/// not have is allowed only at its default: a field added after the sample was written.
fn differences(expected: &Value, actual: &Value, path: &str, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                match a.get(k) {
                    Some(av) => differences(ev, av, &format!("{path}.{k}"), out),
                    None => out.push(format!("{path}.{k}: in the golden json, not decoded")),
                }
            }
            for (k, av) in a.iter().filter(|(k, _)| !e.contains_key(*k)) {
                if !is_default(av) {
                    out.push(format!(
                        "{path}.{k}: decoded as {av}, not in the golden json"
                    ));
                }
            }
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                differences(ev, av, &format!("{path}[{i}]"), out);
            }
        }
        _ if expected == actual => {}
        _ => out.push(format!("{path}: expected {expected}, decoded {actual}")),
    }
}

// --- the tests -----------------------------------------------------------------------

#[test]
fn the_families_are_the_wrappers_of_the_protos() {
    let known: BTreeSet<String> = families().into_iter().map(|f| f.wrapper).collect();
    assert_eq!(
        known,
        protos().wrappers,
        "a wrapper message of the protos has no family in tests/golden.rs (or the reverse)"
    );
    for f in families() {
        let problems = (f.registry_problems)();
        assert!(problems.is_empty(), "{}: {problems:?}", f.wrapper);
    }
}

#[test]
fn every_sample_decodes_through_the_upcasting_path_to_its_json() {
    let families = families();
    let samples = samples();
    assert!(
        !samples.is_empty(),
        "no golden sample under {}",
        golden_dir().display()
    );
    let mut failures = Vec::new();
    for s in &samples {
        let name = format!("v{}/{}", s.version, s.stem);
        let Some(family) = family_of(&families, &s.event_type, s.version) else {
            failures.push(format!(
                "{name}: no family reads event type {}",
                s.event_type
            ));
            continue;
        };
        if s.version > family.schema_version {
            failures.push(format!(
                "{name}: version {} is newer than {}'s current {}",
                s.version, family.wrapper, family.schema_version
            ));
            continue;
        }
        let bytes = std::fs::read(&s.bin).expect("golden .bin is readable");
        let expected: Value =
            serde_json::from_slice(&std::fs::read(&s.json).expect("golden .json is readable"))
                .unwrap_or_else(|e| panic!("{name}.json is not JSON: {e}"));
        let decoded = match (family.decode)(&s.event_type, s.version, &bytes) {
            Ok(d) => d,
            Err(e) => {
                failures.push(format!("{name}: does not decode: {e}"));
                continue;
            }
        };
        let mut diffs = Vec::new();
        differences(&expected, &decoded.json, "", &mut diffs);
        if !diffs.is_empty() {
            failures.push(format!(
                "{name}: decodes differently:\n  {}",
                diffs.join("\n  ")
            ));
        }
        let current = protos().event_types.contains_key(&s.event_type);
        if current && decoded.event_type != s.event_type {
            failures.push(format!("{name}: event_type() says {}", decoded.event_type));
        }
        if s.version == family.schema_version && decoded.reencoded != bytes {
            failures.push(format!(
                "{name}: re-encodes to other bytes:\n  stored    {}\n  re-encoded {}",
                hex(&bytes),
                hex(&decoded.reencoded)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "golden samples:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_event_type_has_current_samples_that_set_every_field() {
    let families = families();
    let samples = samples();
    let mut failures = Vec::new();
    for (event_type, (wrapper, message)) in &protos().event_types {
        let family = families
            .iter()
            .find(|f| &f.wrapper == wrapper)
            .expect("every wrapper is a family");
        let current: Vec<&Sample> = samples
            .iter()
            .filter(|s| &s.event_type == event_type && s.version == family.schema_version)
            .collect();
        if current.is_empty() {
            failures.push(format!(
                "{event_type}: no sample in v{}; add it to build_sample and run {BLESS}=1",
                family.schema_version
            ));
            continue;
        }
        let missing = unset_fields(message, current.iter().map(|s| read_json(&s.json)));
        if !missing.is_empty() {
            failures.push(format!(
                "{event_type}: no v{} sample sets {missing:?}; set them in build_sample and run {BLESS}=1",
                family.schema_version
            ));
        }
    }
    for (stem, _) in edge_samples() {
        let event_type = stem.split('.').next().unwrap_or(stem);
        let wrapper = &protos().event_types[event_type].0;
        let version = families
            .iter()
            .find(|f| &f.wrapper == wrapper)
            .map_or(0, |f| f.schema_version);
        if !samples
            .iter()
            .any(|s| s.version == version && s.stem == stem)
        {
            failures.push(format!("{stem}: no sample in v{version}; run {BLESS}=1"));
        }
    }
    assert!(
        failures.is_empty(),
        "golden coverage:\n{}",
        failures.join("\n")
    );
}

#[test]
fn no_sample_is_left_for_an_event_type_that_no_longer_exists() {
    let families = families();
    let orphans: Vec<String> = samples()
        .iter()
        .filter(|s| family_of(&families, &s.event_type, s.version).is_none())
        .map(|s| format!("v{}/{}", s.version, s.stem))
        .collect();
    assert!(
        orphans.is_empty(),
        "samples of event types that neither the protos nor an upcaster's renames know: {orphans:?}"
    );
}

/// The event type of each stored sample is the one the builder would write, so the
/// builders below cover what the samples cover.
#[test]
fn every_current_event_type_has_a_builder() {
    let missing: Vec<&String> = protos()
        .event_types
        .keys()
        .filter(|t| build_sample(t).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "build_sample has no sample for {missing:?}"
    );
    for t in protos().event_types.keys() {
        let (bytes, json) = build_sample(t).expect("checked above");
        let family = families()
            .into_iter()
            .find(|f| f.wrapper == protos().event_types[t].0)
            .expect("every wrapper is a family");
        let decoded = (family.decode)(t, family.schema_version, &bytes)
            .unwrap_or_else(|e| panic!("the sample built for {t} does not decode: {e}"));
        assert_eq!(
            decoded.event_type,
            t.as_str(),
            "build_sample({t}) builds another type"
        );
        assert_eq!(decoded.json, json);
    }
    for (stem, (bytes, json)) in edge_samples() {
        let event_type = stem.split('.').next().unwrap_or(stem);
        let family = families()
            .into_iter()
            .find(|f| f.wrapper == protos().event_types[event_type].0)
            .expect("an edge sample is of a current event type");
        let decoded = (family.decode)(event_type, family.schema_version, &bytes)
            .unwrap_or_else(|e| panic!("the edge sample {stem} does not decode: {e}"));
        assert_eq!(decoded.json, json, "{stem}");
    }
}

/// The upcasting path refuses what it cannot read: an envelope that names another
/// event type than the payload's, a schema version newer than the family's, version 0.
#[test]
fn the_upcasting_path_refuses_what_it_cannot_read() {
    use metroplan_events::{DecodeError, EventMetadata, RecordedEvent, UpcastError};
    let (bytes, _) = build_sample("AgreementSigned").expect("a builder");
    let signed = AgreementEvent::upcast("AgreementSigned", 1, &bytes).expect("decodes");
    assert_eq!(signed.event_type(), "AgreementSigned");
    assert!(matches!(
        AgreementEvent::upcast("AgreementTerminated", 1, &bytes),
        Err(UpcastError::TypeMismatch {
            decoded: "AgreementSigned",
            ..
        })
    ));
    for version in [0, AgreementEvent::SCHEMA_VERSION + 1] {
        assert!(matches!(
            AgreementEvent::upcast("AgreementSigned", version, &bytes),
            Err(UpcastError::UnknownSchema { schema_version, .. }) if schema_version == version
        ));
    }
    assert!(matches!(
        TableEvent::upcast("AgreementSigned", TableEvent::SCHEMA_VERSION, &bytes),
        Err(UpcastError::Malformed(_) | UpcastError::TypeMismatch { .. })
    ));
    let recorded = RecordedEvent {
        event_id: uuid::Uuid::nil(),
        stream_id: format!("agreement:{AGREEMENT}"),
        stream_version: 4,
        position: 77,
        event_type: "AgreementAmended".into(),
        schema_version: 1,
        recorded_at: chrono::DateTime::UNIX_EPOCH,
        metadata: EventMetadata::default(),
        payload: bytes,
        hash: Vec::new(),
    };
    let err =
        AgreementEvent::decode_recorded(&recorded).expect_err("the type is not the payload's");
    assert!(
        matches!(err, DecodeError::TypeMismatch { position: 77, .. }),
        "{err}"
    );
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("golden .json is readable"))
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The fields of `message` that none of the wrapper JSONs sets.
fn unset_fields(message: &str, jsons: impl Iterator<Item = Value>) -> Vec<String> {
    let mut all = BTreeSet::new();
    field_paths(message, "", &mut Vec::new(), &mut all);
    let mut set = BTreeSet::new();
    for json in jsons {
        set_paths(message, inner(&json), "", &mut set);
    }
    all.difference(&set).cloned().collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes the samples that are missing; never overwrites a file.
fn bless() {
    let families = families();
    let existing = read_samples();
    for (event_type, (wrapper, message)) in &protos().event_types {
        let family = families
            .iter()
            .find(|f| &f.wrapper == wrapper)
            .expect("every wrapper is a family");
        let version = family.schema_version;
        let current: Vec<&Sample> = existing
            .iter()
            .filter(|s| &s.event_type == event_type && s.version == version)
            .collect();
        let Some((bytes, json)) = build_sample(event_type) else {
            continue;
        };
        let stem = if current.is_empty() {
            event_type.clone()
        } else {
            let missing = unset_fields(message, current.iter().map(|s| read_json(&s.json)));
            if missing.is_empty() {
                continue;
            }
            let still = unset_fields(message, std::iter::once(json.clone()));
            assert!(
                still.is_empty(),
                "build_sample({event_type}) leaves {still:?} unset: set every field"
            );
            let taken: BTreeSet<&str> = current.iter().map(|s| s.stem.as_str()).collect();
            (2..)
                .map(|n| format!("{event_type}.{n}"))
                .find(|s| !taken.contains(s.as_str()))
                .expect("a free sample number")
        };
        let dir = golden_dir().join(format!("v{version}"));
        std::fs::create_dir_all(&dir).expect("golden directory is writable");
        let text = serde_json::to_string_pretty(&json).expect("json") + "\n";
        write_new(&dir.join(format!("{stem}.json")), text.as_bytes());
        write_new(&dir.join(format!("{stem}.bin")), &bytes);
        eprintln!("blessed v{version}/{stem}");
    }
    for (stem, (bytes, json)) in edge_samples() {
        let event_type = stem.split('.').next().unwrap_or(stem);
        let wrapper = &protos().event_types[event_type].0;
        let family = families
            .iter()
            .find(|f| &f.wrapper == wrapper)
            .expect("every wrapper is a family");
        let dir = golden_dir().join(format!("v{}", family.schema_version));
        if dir.join(format!("{stem}.bin")).exists() {
            continue;
        }
        std::fs::create_dir_all(&dir).expect("golden directory is writable");
        let text = serde_json::to_string_pretty(&json).expect("json") + "\n";
        write_new(&dir.join(format!("{stem}.json")), text.as_bytes());
        write_new(&dir.join(format!("{stem}.bin")), &bytes);
        eprintln!("blessed v{}/{stem}", family.schema_version);
    }
}

fn write_new(path: &Path, contents: &[u8]) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .unwrap_or_else(|e| panic!("{BLESS} never overwrites {}: {e}", path.display()));
    file.write_all(contents).expect("golden file is writable");
}

// --- the samples to bless --------------------------------------------------------------

const PLAN: &str = "PSM-2021-2023";
const OWNER: &str = "Città metropolitana di Torino";
const TABLE: &str = "01937a4e-2c00-7d1a-9b3e-5f6a7b8c9d01";
const MEETING: &str = "01937a4e-2c00-7d1a-9b3e-5f6a7b8c9d02";
const AGREEMENT: &str = "01937a4e-2c00-7d1a-9b3e-5f6a7b8c9d03";
const COMMITMENT: &str = "01937a4e-2c00-7d1a-9b3e-5f6a7b8c9d04";

fn s(v: &str) -> String {
    v.to_owned()
}

fn encoded<E: EventPayload>(payload: E) -> (Vec<u8>, Value) {
    let json = serde_json::to_value(&payload).expect("payloads serialize");
    (payload.to_bytes(), json)
}

fn funding_lines() -> Vec<pb::FundingLine> {
    vec![
        // Example figures, not official ones.
        pb::FundingLine {
            source: s("PNRR"),
            programme: s("M2C4"),
            measure: s("M2C4I3.1"),
            planned_cents: 3_000_000_000,
            committed_cents: 2_500_000_000,
            spent_cents: 420_000_000,
            mission: s("M2"),
            ..Default::default()
        },
        pb::FundingLine {
            source: s("OWN"),
            programme: s("DUP"),
            measure: s("Bilancio della Città metropolitana"),
            planned_cents: 30_000_000,
            committed_cents: 30_000_000,
            spent_cents: 12_000_000,
            agreement: s(AGREEMENT),
            commitment_id: s(COMMITMENT),
            ..Default::default()
        },
        pb::FundingLine {
            source: s("EU-2021-2027"),
            programme: s("PR FESR Piemonte 2021-2027"),
            measure: s("Esempio: priorità non ufficiale"),
            planned_cents: 50_000_000,
            committed_cents: 0,
            spent_cents: 0,
            fund: s("FESR"),
            ..Default::default()
        },
    ]
}

fn instrument_links() -> Vec<pb::InstrumentLink> {
    vec![
        pb::InstrumentLink {
            instrument: s("PTGM"),
            section: s("Rete ecologica metropolitana"),
            effect: s("Recepisce le aree di forestazione come elementi della rete ecologica"),
            state: s("in_progress"),
            dup_objective: None,
        },
        pb::InstrumentLink {
            instrument: s("DUP"),
            section: s("Obiettivi operativi"),
            effect: s("Traduce l'azione in obiettivi operativi e di gestione"),
            state: s("achieved"),
            dup_objective: Some(pb::DupObjective {
                level: s("operational"),
                code: s("ESEMPIO-OO-2.1.3"),
                title: s("Esempio, non ufficiale: forestazione metropolitana"),
            }),
        },
    ]
}

fn gran_bosco() -> pb::ActionAdded {
    pb::ActionAdded {
        plan: s(PLAN),
        code: s("2.1.3"),
        strategy: s("2.1"),
        title: s("Gran Bosco Torino"),
        description: s(
            "Metropolitan forestry programme consistent with the national forestry strategy",
        ),
        competence: s("direct"),
        responsible_organisations: vec![s(OWNER)],
        partner_organisations: vec![s("UNCEM Piemonte"), s("Ires Piemonte")],
        territorial_scope: s("Zone omogenee montane"),
        planned_start: s("2021-01-01"),
        planned_end: s("2023-12-31"),
        actual_start: s("2022-03-01"),
        actual_end: s("2023-11-30"),
        funding_lines: funding_lines(),
        instrument_links: instrument_links(),
    }
}

fn plan(event: plan_event::Event) -> Option<(Vec<u8>, Value)> {
    Some(encoded(PlanEvent { event: Some(event) }))
}

fn action(event: action_event::Event) -> Option<(Vec<u8>, Value)> {
    Some(encoded(ActionEvent { event: Some(event) }))
}

fn indicator(event: indicator_event::Event) -> Option<(Vec<u8>, Value)> {
    Some(encoded(IndicatorEvent { event: Some(event) }))
}

fn campaign(event: campaign_event::Event) -> Option<(Vec<u8>, Value)> {
    Some(encoded(CampaignEvent { event: Some(event) }))
}

fn table(event: table_event::Event) -> Option<(Vec<u8>, Value)> {
    Some(encoded(TableEvent { event: Some(event) }))
}

fn agreement(event: agreement_event::Event) -> Option<(Vec<u8>, Value)> {
    Some(encoded(AgreementEvent { event: Some(event) }))
}

/// Samples of what full samples cannot show, written by the bless run beside them:
/// optional fields and replaced lists present but empty ("cleared"), which decode to
/// `""` / `[]` rather than `null` and re-encode only while the field keeps its
/// presence, so that dropping `optional` from a field fails.
fn edge_samples() -> Vec<(&'static str, (Vec<u8>, Value))> {
    let cleared = || Some(String::new());
    vec![
        (
            "IndicatorEdited.target_only",
            encoded(IndicatorEvent {
                event: Some(indicator_event::Event::IndicatorEdited(
                    pb::IndicatorEdited {
                        plan: s(PLAN),
                        code: s("IC-2.1-01"),
                        target_value: Some(s("1450")),
                        target_year: Some(2026),
                        ..Default::default()
                    },
                )),
            }),
        ),
        (
            "AxisEdited.cleared",
            encoded(PlanEvent {
                event: Some(plan_event::Event::AxisEdited(pb::AxisEdited {
                    plan: s(PLAN),
                    code: s("1"),
                    name: cleared(),
                    slogan: cleared(),
                    description: cleared(),
                    pnrr_mission: cleared(),
                })),
            }),
        ),
        (
            "StrategyEdited.cleared",
            encoded(PlanEvent {
                event: Some(plan_event::Event::StrategyEdited(pb::StrategyEdited {
                    plan: s(PLAN),
                    code: s("1.1"),
                    name: cleared(),
                    description: cleared(),
                })),
            }),
        ),
        (
            "ActionEdited.cleared",
            encoded(ActionEvent {
                event: Some(action_event::Event::ActionEdited(pb::ActionEdited {
                    plan: s(PLAN),
                    code: s("6.1.3"),
                    title: cleared(),
                    description: cleared(),
                    competence: cleared(),
                    responsible_organisations: Some(pb::StringList::default()),
                    partner_organisations: Some(pb::StringList::default()),
                    territorial_scope: cleared(),
                    planned_start: cleared(),
                    planned_end: cleared(),
                    actual_start: cleared(),
                    actual_end: cleared(),
                    funding_lines: Some(pb::FundingLines::default()),
                    instrument_links: Some(pb::InstrumentLinks::default()),
                })),
            }),
        ),
        (
            "AgreementAmended.cleared",
            encoded(AgreementEvent {
                event: Some(agreement_event::Event::AgreementAmended(
                    pb::AgreementAmended {
                        id: s(AGREEMENT),
                        plan: s(PLAN),
                        amendment_number: 2,
                        description: s("L'accordo resta in vigore senza scadenza"),
                        amended_on: s("2023-06-30"),
                        new_expires_on: cleared(),
                    },
                )),
            }),
        ),
    ]
}

/// A realistic payload of `event_type` with every field set, encoded, and its JSON;
/// `None` for an event type this function does not know yet.
fn build_sample(event_type: &str) -> Option<(Vec<u8>, Value)> {
    use agreement_event::Event as Ag;
    use plan_event::Event as P;
    use table_event::Event as T;
    match event_type {
        "PlanCreated" => plan(P::PlanCreated(pb::PlanCreated {
            code: s(PLAN),
            title: s("Torino Metropoli aumentata"),
            short_title: s("tM+"),
            owner: s(OWNER),
            period_from: s("2021-01-01"),
            period_to: s("2023-12-31"),
        })),
        "AxisAdded" => plan(P::AxisAdded(pb::AxisAdded {
            plan: s(PLAN),
            code: s("2"),
            name: s("Rivoluzione verde e transizione ecologica"),
            slogan: s("Torino Metropoli più verde ed ecologica"),
            description: s("Green revolution and ecological transition"),
            pnrr_mission: s("M2"),
            position: 2,
        })),
        "AxisEdited" => plan(P::AxisEdited(pb::AxisEdited {
            plan: s(PLAN),
            code: s("3"),
            name: Some(s("Infrastrutture per una mobilità sostenibile")),
            slogan: Some(s("Torino Metropoli più mobile, accessibile e collegata")),
            description: Some(s("Infrastructure for sustainable mobility")),
            pnrr_mission: Some(s("M3")),
        })),
        "AxisMoved" => plan(P::AxisMoved(pb::AxisMoved {
            plan: s(PLAN),
            code: s("6"),
            position: 5,
        })),
        "AxisRetired" => plan(P::AxisRetired(pb::AxisRetired {
            plan: s(PLAN),
            code: s("4"),
            reason: s("Asse accorpato in sede di aggiornamento del piano"),
        })),
        "StrategyAdded" => plan(P::StrategyAdded(pb::StrategyAdded {
            plan: s(PLAN),
            code: s("2.1"),
            axis: s("2"),
            name: s("Costruire e infrastrutturare la metropoli verde"),
            description: s("Rete delle infrastrutture verdi, parco metropolitano, forestazione"),
            position: 1,
        })),
        "StrategyEdited" => plan(P::StrategyEdited(pb::StrategyEdited {
            plan: s(PLAN),
            code: s("1.4"),
            name: Some(s(
                "Rendere semplice e accessibile la pubblica amministrazione grazie al digitale",
            )),
            description: Some(s("Servizi digitali dei comuni e della Città metropolitana")),
        })),
        "StrategyMoved" => plan(P::StrategyMoved(pb::StrategyMoved {
            plan: s(PLAN),
            code: s("1.5"),
            from_axis: s("1"),
            to_axis: s("5"),
            position: 2,
        })),
        "StrategyRetired" => plan(P::StrategyRetired(pb::StrategyRetired {
            plan: s(PLAN),
            code: s("1.5"),
            reason: s("Strategia confluita nella 1.2 con l'aggiornamento"),
        })),
        "RevisionAdopted" => {
            let a = gran_bosco();
            plan(P::RevisionAdopted(pb::RevisionAdopted {
                plan: s(PLAN),
                number: 2,
                name: s("Aggiornamento 2022"),
                act: s("Deliberazione del Consiglio metropolitano n.71/2022"),
                adopted_on: s("2022-12-22"),
                at_position: 1_842,
                snapshot: Some(pb::PlanSnapshot {
                    header: Some(pb::PlanHeader {
                        code: s(PLAN),
                        title: s("Torino Metropoli aumentata"),
                        short_title: s("tM+"),
                        owner: s(OWNER),
                        period_from: s("2021-01-01"),
                        period_to: s("2023-12-31"),
                    }),
                    axes: vec![pb::AxisSnapshot {
                        code: s("2"),
                        name: s("Rivoluzione verde e transizione ecologica"),
                        slogan: s("Torino Metropoli più verde ed ecologica"),
                        description: s("Green revolution and ecological transition"),
                        pnrr_mission: s("M2"),
                        strategies: vec![pb::StrategySnapshot {
                            code: s("2.1"),
                            name: s("Costruire e infrastrutturare la metropoli verde"),
                            description: s(
                                "Rete delle infrastrutture verdi, parco metropolitano, forestazione",
                            ),
                            actions: vec![pb::ActionDefinition {
                                code: a.code,
                                strategy: a.strategy,
                                position: 3,
                                title: a.title,
                                description: a.description,
                                competence: a.competence,
                                responsible_organisations: a.responsible_organisations,
                                partner_organisations: a.partner_organisations,
                                territorial_scope: a.territorial_scope,
                                planned_start: a.planned_start,
                                planned_end: a.planned_end,
                                actual_start: a.actual_start,
                                actual_end: a.actual_end,
                                funding_lines: a.funding_lines,
                                instrument_links: a.instrument_links,
                                stream_version: 4,
                            }],
                        }],
                    }],
                }),
            }))
        }
        "ActionAdded" => action(action_event::Event::ActionAdded(gran_bosco())),
        "ActionEdited" => action(action_event::Event::ActionEdited(pb::ActionEdited {
            plan: s(PLAN),
            code: s("3.1.1"),
            title: Some(s(
                "Centro di competenza per la mobilità come servizio (MAAS)",
            )),
            description: Some(s(
                "Metropolitan competence centre helping municipalities on last-mile, shared, on-demand, cycling, walking and intermodal mobility",
            )),
            competence: Some(s("steering")),
            responsible_organisations: Some(pb::StringList {
                values: vec![s(OWNER)],
            }),
            partner_organisations: Some(pb::StringList {
                values: vec![s("Politecnico di Torino (DIST)")],
            }),
            territorial_scope: Some(s("Comuni della Città metropolitana")),
            planned_start: Some(s("2021-06-01")),
            planned_end: Some(s("2023-12-31")),
            actual_start: Some(s("2021-09-15")),
            actual_end: Some(s("2023-10-31")),
            funding_lines: Some(pb::FundingLines {
                values: funding_lines(),
            }),
            instrument_links: Some(pb::InstrumentLinks {
                values: vec![
                    pb::InstrumentLink {
                        instrument: s("PUMS"),
                        section: s("Mobilità come servizio"),
                        effect: s("Attua la misura del PUMS sulla mobilità condivisa e a chiamata"),
                        state: s("planned"),
                        dup_objective: None,
                    },
                    pb::InstrumentLink {
                        instrument: s("DUP"),
                        section: s("Missione 10 - Trasporti e diritto alla mobilità"),
                        effect: s("Diventa un obiettivo strategico del DUP"),
                        state: s("in_progress"),
                        dup_objective: Some(pb::DupObjective {
                            level: s("strategic"),
                            code: s("ESEMPIO-OS-3"),
                            title: s("Esempio, non ufficiale: mobilità sostenibile"),
                        }),
                    },
                ],
            }),
        })),
        "ActionMoved" => action(action_event::Event::ActionMoved(pb::ActionMoved {
            plan: s(PLAN),
            code: s("2.1.2"),
            from_strategy: s("2.1"),
            to_strategy: s("2.1"),
            position: 1,
        })),
        "ActionRetired" => action(action_event::Event::ActionRetired(pb::ActionRetired {
            plan: s(PLAN),
            code: s("5.1.1"),
            reason: s("Azione assorbita da un progetto regionale"),
        })),
        "ActionProgressReported" => Some(encoded(ProgressEvent {
            event: Some(progress_event::Event::ActionProgressReported(
                pb::ActionProgressReported {
                    plan: s(PLAN),
                    action: s("2.1.3"),
                    status: s("in_progress"),
                    previous_status: s("started"),
                    progress: 40,
                    note: s("Prime aree di forestazione individuate con le Unioni montane"),
                    evidence_url: s(
                        "http://www.cittametropolitana.torino.it/cms/sviluppo-economico/piano-strategico/psm-asse2",
                    ),
                    reporting_organisation: s(OWNER),
                    as_of: s("2022-12-31"),
                },
            )),
        })),
        "CampaignDrafted" => campaign(campaign_event::Event::CampaignDrafted(
            pb::CampaignDrafted {
                plan: s(PLAN),
                campaign: s("monitoraggio-2022"),
                title: s("Questionario di monitoraggio 2022 (esempio)"),
                description: s(
                    "Stato di attuazione sul territorio, opinioni e suggerimenti per riorientare strategie e azioni",
                ),
                opens: s("2022-03-01"),
                closes: s("2022-04-30"),
            },
        )),
        "QuestionsSet" => campaign(campaign_event::Event::QuestionsSet(pb::QuestionsSet {
            plan: s(PLAN),
            campaign: s("monitoraggio-2022"),
            questions: vec![
                pb::Question {
                    id: s("attuazione"),
                    kind: s("scale"),
                    text: s("Quanto è avanzata l'azione nel vostro territorio?"),
                    about: s("actions"),
                    subjects: vec![s("2.1.1"), s("2.1.2")],
                    scale_min: 1,
                    scale_max: 5,
                    min_label: s("per nulla"),
                    max_label: s("del tutto"),
                    choices: Vec::new(),
                    required: true,
                },
                pb::Question {
                    id: s("priorita"),
                    kind: s("choice"),
                    text: s("La strategia va riorientata?"),
                    about: s("strategy"),
                    subjects: vec![s("2.1")],
                    scale_min: 0,
                    scale_max: 0,
                    min_label: String::new(),
                    max_label: String::new(),
                    choices: vec![s("sì"), s("no"), s("non so")],
                    required: false,
                },
            ],
        })),
        "CampaignOpened" => campaign(campaign_event::Event::CampaignOpened(pb::CampaignOpened {
            plan: s(PLAN),
            campaign: s("monitoraggio-2022"),
        })),
        "OrganisationInvited" => campaign(campaign_event::Event::OrganisationInvited(
            pb::OrganisationInvited {
                plan: s(PLAN),
                campaign: s("monitoraggio-2022"),
                organisation: s("Ires Piemonte"),
                link_sha256: s("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
            },
        )),
        "InvitationLinkReplaced" => campaign(campaign_event::Event::InvitationLinkReplaced(
            pb::InvitationLinkReplaced {
                plan: s(PLAN),
                campaign: s("monitoraggio-2022"),
                organisation: s("Ires Piemonte"),
                link_sha256: s("60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"),
            },
        )),
        "AnswersSubmitted" => campaign(campaign_event::Event::AnswersSubmitted(
            pb::AnswersSubmitted {
                plan: s(PLAN),
                campaign: s("monitoraggio-2022"),
                organisation: s("Ires Piemonte"),
                answers: vec![pb::Answer {
                    question: s("attuazione"),
                    action: s("2.1.1"),
                    value: s("4"),
                }],
                submission: 2,
            },
        )),
        "CampaignClosed" => campaign(campaign_event::Event::CampaignClosed(pb::CampaignClosed {
            plan: s(PLAN),
            campaign: s("monitoraggio-2022"),
            invited: 12,
            answered: 9,
        })),
        "IndicatorDefined" => indicator(indicator_event::Event::IndicatorDefined(
            pb::IndicatorDefined {
                plan: s(PLAN),
                code: s("IC-2.1-01"),
                strategy: s("2.1"),
                name: s("Superficie forestale (esempio, dati non ufficiali)"),
                unit: s("ha"),
                source: s("Esempio: dati illustrativi, non ufficiali"),
                direction: s("increase"),
                baseline_value: s("1250.5"),
                baseline_year: 2020,
                target_value: s("1400"),
                target_year: 2023,
                territory: s(OWNER),
            },
        )),
        "MeasurementRecorded" => indicator(indicator_event::Event::MeasurementRecorded(
            pb::MeasurementRecorded {
                plan: s(PLAN),
                indicator: s("IC-2.1-01"),
                measurement: 2,
                period: s("2022-Q3"),
                territory: s("Lanzo Torinese"),
                value: s("-0.75"),
                source_note: s("Esempio: valore illustrativo"),
            },
        )),
        "MeasurementCorrected" => indicator(indicator_event::Event::MeasurementCorrected(
            pb::MeasurementCorrected {
                plan: s(PLAN),
                indicator: s("IC-2.1-01"),
                measurement: 2,
                period: s("2022-Q3"),
                territory: s("Lanzo Torinese"),
                previous_value: s("-0.75"),
                value: s("0.75"),
                reason: s("Segno invertito nella trascrizione"),
            },
        )),
        "IndicatorEdited" => indicator(indicator_event::Event::IndicatorEdited(
            pb::IndicatorEdited {
                plan: s(PLAN),
                code: s("IC-2.1-01"),
                name: Some(s(
                    "Superficie boscata in area metropolitana (esempio, dati non ufficiali)",
                )),
                unit: Some(s("km²")),
                source: Some(s("Esempio: fonte illustrativa, non ufficiale")),
                direction: Some(s("decrease")),
                baseline_value: Some(s("12.505")),
                baseline_year: Some(2021),
                target_value: Some(s("11.75")),
                target_year: Some(2026),
                territory: Some(s("Zona omogenea 1 - Torino")),
            },
        )),
        "IndicatorRetired" => indicator(indicator_event::Event::IndicatorRetired(
            pb::IndicatorRetired {
                plan: s(PLAN),
                code: s("IC-2.1-01"),
                reason: s("Sostituito da un indicatore con fonte più aggiornata (esempio)"),
            },
        )),
        "TableCreated" => table(T::TableCreated(pb::TableCreated {
            id: s(TABLE),
            plan: s(PLAN),
            name: s("Tavolo permanente sulla montagna"),
            kind: s("permanent_mountain"),
            purpose: s(
                "Contribute to in-itinere monitoring and updating of the plan; set an agenda of priorities; horizontal and vertical cooperation.",
            ),
        })),
        "TableMemberJoined" => table(T::TableMemberJoined(pb::TableMemberJoined {
            id: s(TABLE),
            plan: s(PLAN),
            organisation: s("UNCEM Piemonte"),
            person: s("Presidente di UNCEM Piemonte"),
            role: s("member_by_right"),
        })),
        "TableMemberLeft" => table(T::TableMemberLeft(pb::TableMemberLeft {
            id: s(TABLE),
            plan: s(PLAN),
            organisation: s("Associazione Dislivelli"),
            person: s("Referente tecnico"),
        })),
        "MeetingHeld" => table(T::MeetingHeld(pb::MeetingHeld {
            id: s(TABLE),
            plan: s(PLAN),
            meeting_id: s(MEETING),
            held_on: s("2022-05-12"),
            title: s("Riunione plenaria di primavera"),
            decisions: vec![
                pb::Decision {
                    decision_id: format!("{MEETING}/1"),
                    text: s("Le Unioni montane propongono le aree del Gran Bosco Torino"),
                    actions: vec![s("2.1.3")],
                },
                pb::Decision {
                    decision_id: format!("{MEETING}/2"),
                    text: s("Collegare i parchi montani alla rete delle infrastrutture verdi"),
                    actions: vec![s("2.1.1"), s("2.1.2")],
                },
            ],
        })),
        "AgreementDrafted" => agreement(Ag::AgreementDrafted(pb::AgreementDrafted {
            id: s(AGREEMENT),
            plan: s(PLAN),
            kind: s("accordo"),
            title: s("Accordo per il Gran Bosco Torino"),
            subject: s("Forestazione metropolitana coerente con la strategia forestale nazionale"),
            expires_on: s("2023-12-31"),
            drafted_on: s("2022-01-17"),
        })),
        "AgreementPartyAdded" => agreement(Ag::AgreementPartyAdded(pb::AgreementPartyAdded {
            id: s(AGREEMENT),
            plan: s(PLAN),
            organisation: s(OWNER),
            role: s("promoter"),
        })),
        "AgreementPartyRemoved" => {
            agreement(Ag::AgreementPartyRemoved(pb::AgreementPartyRemoved {
                id: s(AGREEMENT),
                plan: s(PLAN),
                organisation: s("Fondazione Santagata"),
            }))
        }
        "AgreementActionLinked" => {
            agreement(Ag::AgreementActionLinked(pb::AgreementActionLinked {
                id: s(AGREEMENT),
                plan: s(PLAN),
                action: s("2.1.3"),
            }))
        }
        "AgreementActionUnlinked" => {
            agreement(Ag::AgreementActionUnlinked(pb::AgreementActionUnlinked {
                id: s(AGREEMENT),
                plan: s(PLAN),
                action: s("2.1.1"),
            }))
        }
        "CommitmentMade" => agreement(Ag::CommitmentMade(pb::CommitmentMade {
            id: s(AGREEMENT),
            plan: s(PLAN),
            commitment_id: s(COMMITMENT),
            party: s(OWNER),
            description: s("Progettazione e messa a dimora delle prime aree di forestazione"),
            amount_cents: 2_500_000_000,
            funding_source: s("PNRR"),
            funding_detail: s("M2C4 Investimento 3.1"),
        })),
        "CommitmentWithdrawn" => agreement(Ag::CommitmentWithdrawn(pb::CommitmentWithdrawn {
            id: s(AGREEMENT),
            plan: s(PLAN),
            commitment_id: s(COMMITMENT),
            party: s(OWNER),
        })),
        "AgreementSigned" => agreement(Ag::AgreementSigned(pb::AgreementSigned {
            id: s(AGREEMENT),
            plan: s(PLAN),
            signed_on: s("2022-03-01"),
            signatories: vec![s(OWNER), s("UNCEM Piemonte")],
        })),
        "AgreementAmended" => agreement(Ag::AgreementAmended(pb::AgreementAmended {
            id: s(AGREEMENT),
            plan: s(PLAN),
            amendment_number: 1,
            description: s("Proroga al termine dell'aggiornamento del piano"),
            amended_on: s("2022-12-22"),
            new_expires_on: Some(s("2024-06-30")),
        })),
        "AgreementTerminated" => agreement(Ag::AgreementTerminated(pb::AgreementTerminated {
            id: s(AGREEMENT),
            plan: s(PLAN),
            terminated_on: s("2023-11-30"),
            reason: s("Obiettivi raggiunti prima della scadenza"),
        })),
        _ => None,
    }
}
