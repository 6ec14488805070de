//! Who is present where: which live session is viewing or editing (which field of)
//! which topic, for co-editing ("who else is looking at this action now").
//!
//! [`Presence`] is this gateway's registry. Its own sessions join through
//! [`Presence::join`] and leave a topic, or everything when their socket closes (the
//! [`PresenceSession`] handle's drop). Every change bumps the topic's version and
//! re-renders the topic's frame (the full list, `{"type":"presence",..}`), then names the
//! topic on a broadcast channel; each live session reads the current frame of a topic it
//! cares about and sends it only if its version is newer than the one it last sent, so a
//! client never gets an older list after a newer one.
//!
//! Gateways share their entries through a [`PresenceLink`] (nothing in the embedded
//! deployment, NATS in the distributed one: [`nats`]), the same way the core reaches the
//! read side and the bus through traits. A gateway sends each change at once and all its
//! entries every [`ANNOUNCE_EVERY`]; another gateway's entry not announced again within
//! [`EXPIRE_AFTER`] is dropped, so the users of a crashed gateway vanish.
//! Actor and organisation always come from the session's token, never from the client.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::ws::Utf8Bytes;
use metroplan_api::Caller;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

pub mod nats;

/// How often a gateway announces all its entries to the others.
pub const ANNOUNCE_EVERY: Duration = Duration::from_secs(3);
/// How long another gateway's entry lives without being announced again: three
/// announce periods and a margin.
pub const EXPIRE_AFTER: Duration = Duration::from_secs(10);
/// The most topics one session may be present on at once.
pub const MAX_TOPICS_PER_SESSION: usize = 64;
/// Changes waiting for slow sessions; one that falls further behind re-reads every
/// topic it cares about.
const CHANGES: usize = 1024;
/// Entries per batch of an announcement.
const BATCH: usize = 200;

/// What a session says it does on a topic, on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceState {
    Viewing,
    Editing,
    Left,
}

/// The field being edited: 1 to 100 ASCII letters, digits and `_ . - : / [ ]`
/// (`title`, `funding.0.amount`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PresenceError {
    #[error("{0:?} is not a field name: 1 to 100 letters, digits and _ . - : / [ ]")]
    BadField(String),
    #[error("a session is present on at most {MAX_TOPICS_PER_SESSION} topics at once")]
    TooManyTopics,
}

impl FromStr for Field {
    type Err = PresenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = (1..=100).contains(&s.len())
            && s.chars().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | ':' | '/' | '[' | ']')
            });
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(PresenceError::BadField(s.to_owned()))
        }
    }
}

impl Field {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a present session does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activity {
    Viewing,
    Editing(Field),
}

impl Activity {
    fn state(&self) -> PresenceState {
        match self {
            Activity::Viewing => PresenceState::Viewing,
            Activity::Editing(_) => PresenceState::Editing,
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            Activity::Viewing => None,
            Activity::Editing(f) => Some(f.as_str()),
        }
    }
}

/// One entry as gateways exchange it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announced {
    pub session: String,
    pub topic: String,
    pub state: PresenceState,
    #[serde(default)]
    pub field: Option<String>,
    pub actor: String,
    pub organisation: String,
}

/// What one gateway tells the others: changes or a refresh of its entries (`left` drops
/// one), or, with `gone`, that it stops (drop all of its entries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    pub gateway: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gone: bool,
    #[serde(default)]
    pub entries: Vec<Announced>,
}

/// How presence reaches the other gateways.
pub trait PresenceLink: Send + Sync {
    /// Hands `batch` to the other gateways. Called with the registry locked, so that
    /// batches leave in the order of the changes: it must not block.
    fn send(&self, batch: Batch);
}

#[derive(Debug, Clone)]
enum Origin {
    Local,
    Remote { gateway: String, seen: Instant },
}

#[derive(Debug, Clone)]
struct Entry {
    actor: String,
    organisation: String,
    activity: Activity,
    origin: Origin,
}

impl Entry {
    fn same(&self, other: &Entry) -> bool {
        self.actor == other.actor
            && self.organisation == other.organisation
            && self.activity == other.activity
    }

    fn announced(&self, session: &str, topic: &str) -> Announced {
        Announced {
            session: session.to_owned(),
            topic: topic.to_owned(),
            state: self.activity.state(),
            field: self.activity.field().map(str::to_owned),
            actor: self.actor.clone(),
            organisation: self.organisation.clone(),
        }
    }

    fn remote_of(&self, gateway: &str) -> bool {
        matches!(&self.origin, Origin::Remote { gateway: g, .. } if g == gateway)
    }
}

#[derive(Debug)]
struct Topic {
    version: u64,
    /// By session id.
    entries: BTreeMap<String, Entry>,
    frame: Utf8Bytes,
}

#[derive(Debug, Default)]
struct Registry {
    version: u64,
    topics: HashMap<String, Topic>,
    /// This gateway's sessions and the topics each is present on.
    local: HashMap<String, HashSet<String>>,
}

impl Registry {
    fn entry(&self, topic: &str, session: &str) -> Option<&Entry> {
        self.topics.get(topic)?.entries.get(session)
    }

    fn insert(&mut self, topic: &str, session: &str, entry: Entry) {
        self.topics
            .entry(topic.to_owned())
            .or_insert_with(|| Topic {
                version: 0,
                entries: BTreeMap::new(),
                frame: Utf8Bytes::from_static(""),
            })
            .entries
            .insert(session.to_owned(), entry);
    }

    fn remove(&mut self, topic: &str, session: &str) -> Option<Entry> {
        self.topics.get_mut(topic)?.entries.remove(session)
    }

    /// Re-renders `topic` after a change (or forgets it once empty).
    fn touched(&mut self, topic: &str) {
        self.version += 1;
        let version = self.version;
        let Some(t) = self.topics.get_mut(topic) else {
            return;
        };
        if t.entries.is_empty() {
            self.topics.remove(topic);
            return;
        }
        t.version = version;
        t.frame = render(topic, &t.entries);
    }
}

fn render(topic: &str, entries: &BTreeMap<String, Entry>) -> Utf8Bytes {
    let present: Vec<serde_json::Value> = entries
        .iter()
        .map(|(session, e)| {
            serde_json::json!({
                "session": session,
                "actor": e.actor,
                "organisation": e.organisation,
                "state": e.activity.state(),
                "field": e.activity.field(),
            })
        })
        .collect();
    serde_json::json!({"type": "presence", "topic": topic, "present": present})
        .to_string()
        .into()
}

/// This gateway's view of who is present where.
pub struct Presence {
    gateway: String,
    registry: Mutex<Registry>,
    changes: broadcast::Sender<Arc<str>>,
    link: Option<Arc<dyn PresenceLink>>,
}

impl std::fmt::Debug for Presence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presence")
            .field("gateway", &self.gateway)
            .finish_non_exhaustive()
    }
}

impl Default for Presence {
    fn default() -> Self {
        Self::in_process()
    }
}

fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

impl Presence {
    /// Presence within this process only (the embedded deployment).
    pub fn in_process() -> Self {
        Self::with_link(None)
    }

    /// Presence shared with other gateways over `link`.
    pub fn linked(link: Arc<dyn PresenceLink>) -> Self {
        Self::with_link(Some(link))
    }

    fn with_link(link: Option<Arc<dyn PresenceLink>>) -> Self {
        Self {
            gateway: new_id(),
            registry: Mutex::default(),
            changes: broadcast::channel(CHANGES).0,
            link,
        }
    }

    /// This gateway's id on the link.
    pub fn gateway(&self) -> &str {
        &self.gateway
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn notify(&self, topic: &str) {
        // No receiver is fine: nobody is listening.
        let _ = self.changes.send(Arc::from(topic));
    }

    fn tell(&self, entries: Vec<Announced>) {
        if let Some(link) = &self.link
            && !entries.is_empty()
        {
            link.send(Batch {
                gateway: self.gateway.clone(),
                gone: false,
                entries,
            });
        }
    }

    /// A new session of `caller` on this gateway, present nowhere yet.
    pub fn join(self: &Arc<Self>, caller: &Caller) -> PresenceSession {
        PresenceSession {
            presence: Arc::clone(self),
            id: new_id(),
            actor: caller.actor.clone(),
            organisation: caller.organisation.clone(),
        }
    }

    /// The topics whose presence changed, by name, from now on.
    pub fn changes(&self) -> broadcast::Receiver<Arc<str>> {
        self.changes.subscribe()
    }

    /// The current version and frame of `topic`, when anyone is present on it.
    pub fn current(&self, topic: &str) -> Option<(u64, Utf8Bytes)> {
        self.lock()
            .topics
            .get(topic)
            .map(|t| (t.version, t.frame.clone()))
    }

    /// The frame of a topic where no one is present.
    pub fn empty_frame(topic: &str) -> Utf8Bytes {
        render(topic, &BTreeMap::new())
    }

    fn set(
        &self,
        session: &PresenceSession,
        topic: &str,
        activity: Option<Activity>,
    ) -> Result<(), PresenceError> {
        let mut r = self.lock();
        let id = session.id.as_str();
        match activity {
            None => {
                let Some(gone) = r.remove(topic, id) else {
                    return Ok(());
                };
                if let Some(mine) = r.local.get_mut(id) {
                    mine.remove(topic);
                }
                r.touched(topic);
                let mut left = gone.announced(id, topic);
                left.state = PresenceState::Left;
                left.field = None;
                self.tell(vec![left]);
            }
            Some(activity) => {
                let entry = Entry {
                    actor: session.actor.clone(),
                    organisation: session.organisation.clone(),
                    activity,
                    origin: Origin::Local,
                };
                if r.entry(topic, id).is_some_and(|e| e.same(&entry)) {
                    return Ok(());
                }
                let mine = r.local.entry(id.to_owned()).or_default();
                if !mine.contains(topic) && mine.len() >= MAX_TOPICS_PER_SESSION {
                    return Err(PresenceError::TooManyTopics);
                }
                mine.insert(topic.to_owned());
                self.tell(vec![entry.announced(id, topic)]);
                r.insert(topic, id, entry);
                r.touched(topic);
            }
        }
        drop(r);
        self.notify(topic);
        Ok(())
    }

    fn close(&self, session: &str) {
        let mut r = self.lock();
        let Some(topics) = r.local.remove(session) else {
            return;
        };
        let mut left = Vec::new();
        for topic in &topics {
            if let Some(gone) = r.remove(topic, session) {
                let mut a = gone.announced(session, topic);
                a.state = PresenceState::Left;
                a.field = None;
                left.push(a);
                r.touched(topic);
            }
        }
        self.tell(left);
        drop(r);
        for topic in &topics {
            self.notify(topic);
        }
    }

    /// Applies what another gateway said, at `now`.
    pub fn receive(&self, batch: Batch, now: Instant) {
        if batch.gateway == self.gateway {
            return;
        }
        let mut changed = HashSet::new();
        let mut r = self.lock();
        if batch.gone {
            let topics: Vec<String> = r.topics.keys().cloned().collect();
            for topic in topics {
                if let Some(t) = r.topics.get_mut(&topic) {
                    let before = t.entries.len();
                    t.entries.retain(|_, e| !e.remote_of(&batch.gateway));
                    if t.entries.len() != before {
                        changed.insert(topic);
                    }
                }
            }
        }
        for a in batch.entries {
            if !crate::live::valid_topic(&a.topic) {
                continue;
            }
            let existing = r.entry(&a.topic, &a.session).cloned();
            if existing
                .as_ref()
                .is_some_and(|e| !e.remote_of(&batch.gateway))
            {
                // Not this gateway's session: ids are unique, so this is a stray message.
                continue;
            }
            let activity = match (a.state, a.field.as_deref().map(Field::from_str)) {
                (PresenceState::Left, _) => {
                    if existing.is_some() {
                        r.remove(&a.topic, &a.session);
                        changed.insert(a.topic);
                    }
                    continue;
                }
                (PresenceState::Viewing, None) => Activity::Viewing,
                (PresenceState::Editing, Some(Ok(f))) => Activity::Editing(f),
                _ => continue,
            };
            let entry = Entry {
                actor: a.actor,
                organisation: a.organisation,
                activity,
                origin: Origin::Remote {
                    gateway: batch.gateway.clone(),
                    seen: now,
                },
            };
            let same = existing.is_some_and(|e| e.same(&entry));
            r.insert(&a.topic, &a.session, entry);
            if !same {
                changed.insert(a.topic);
            }
        }
        for topic in &changed {
            r.touched(topic);
        }
        drop(r);
        for topic in &changed {
            self.notify(topic);
        }
    }

    /// Drops the entries of other gateways not announced since `now - EXPIRE_AFTER`.
    pub fn expire(&self, now: Instant) {
        let mut changed = Vec::new();
        let mut r = self.lock();
        for (topic, t) in &mut r.topics {
            let before = t.entries.len();
            t.entries.retain(|_, e| match &e.origin {
                Origin::Local => true,
                Origin::Remote { seen, .. } => now.saturating_duration_since(*seen) <= EXPIRE_AFTER,
            });
            if t.entries.len() != before {
                changed.push(topic.clone());
            }
        }
        for topic in &changed {
            r.touched(topic);
        }
        drop(r);
        for topic in &changed {
            self.notify(topic);
        }
    }

    /// Announces all of this gateway's entries to the others (in batches).
    pub fn announce(&self) {
        let r = self.lock();
        let mut all = Vec::new();
        for (session, topics) in &r.local {
            for topic in topics {
                if let Some(e) = r.entry(topic, session) {
                    all.push(e.announced(session, topic));
                }
            }
        }
        while !all.is_empty() {
            let rest = all.split_off(all.len().min(BATCH));
            self.tell(std::mem::replace(&mut all, rest));
        }
    }

    /// Tells the others that this gateway stops: they drop its entries at once.
    pub fn depart(&self) {
        let _r = self.lock();
        if let Some(link) = &self.link {
            link.send(Batch {
                gateway: self.gateway.clone(),
                gone: true,
                entries: Vec::new(),
            });
        }
    }
}

/// One live session's presence; dropping it (the socket closed) removes its entries.
#[derive(Debug)]
pub struct PresenceSession {
    presence: Arc<Presence>,
    id: String,
    actor: String,
    organisation: String,
}

impl PresenceSession {
    /// The session's opaque id, as lists show it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Marks the session `activity` on `topic`, or gone from it (`None`).
    ///
    /// # Errors
    /// [`PresenceError::TooManyTopics`] when the session is already present on
    /// [`MAX_TOPICS_PER_SESSION`] other topics.
    pub fn set(&self, topic: &str, activity: Option<Activity>) -> Result<(), PresenceError> {
        self.presence.set(self, topic, activity)
    }

    /// Whether the session is present on `topic`.
    pub fn is_present(&self, topic: &str) -> bool {
        self.presence
            .lock()
            .local
            .get(&self.id)
            .is_some_and(|t| t.contains(topic))
    }

    /// The topics the session is present on.
    pub fn topics(&self) -> Vec<String> {
        self.presence
            .lock()
            .local
            .get(&self.id)
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default()
    }
}

impl Drop for PresenceSession {
    fn drop(&mut self) {
        self.presence.close(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use metroplan_api::Role;
    use serde_json::Value;

    use super::*;

    const TOPIC: &str = "action:PSM-2021-2023/2.1.1";

    fn caller(actor: &str) -> Caller {
        Caller {
            actor: actor.into(),
            organisation: "Città metropolitana di Torino".into(),
            role: Role::Editor,
        }
    }

    /// Records what the registry hands to the other gateways.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<Batch>>);

    impl PresenceLink for Recorder {
        fn send(&self, batch: Batch) {
            self.0.lock().unwrap().push(batch);
        }
    }

    impl Recorder {
        fn take(&self) -> Vec<Batch> {
            std::mem::take(&mut self.0.lock().unwrap())
        }
    }

    fn present(p: &Presence, topic: &str) -> Vec<Value> {
        p.current(topic).map_or_else(Vec::new, |(_, frame)| {
            let v: Value = serde_json::from_str(frame.as_str()).unwrap();
            assert_eq!(v["type"], "presence");
            assert_eq!(v["topic"], topic);
            v["present"].as_array().unwrap().clone()
        })
    }

    fn changed(rx: &mut broadcast::Receiver<Arc<str>>) -> Vec<String> {
        let mut got = Vec::new();
        while let Ok(t) = rx.try_recv() {
            got.push(t.to_string());
        }
        got
    }

    fn title() -> Activity {
        Activity::Editing("title".parse().unwrap())
    }

    #[test]
    fn sessions_join_edit_a_field_and_leave() {
        let p = Arc::new(Presence::in_process());
        let mut rx = p.changes();
        let anna = p.join(&caller("anna"));
        let bruno = p.join(&caller("bruno"));
        assert_ne!(anna.id(), bruno.id());
        assert!(p.current(TOPIC).is_none());

        anna.set(TOPIC, Some(Activity::Viewing)).unwrap();
        let (v1, _) = p.current(TOPIC).unwrap();
        bruno.set(TOPIC, Some(Activity::Viewing)).unwrap();
        let list = present(&p, TOPIC);
        assert_eq!(list.len(), 2);
        assert_eq!(list[0]["session"], anna.id());
        assert_eq!(list[0]["actor"], "anna");
        assert_eq!(list[0]["organisation"], "Città metropolitana di Torino");
        assert_eq!(list[0]["state"], "viewing");
        assert_eq!(list[0]["field"], Value::Null);
        assert_eq!(list[1]["actor"], "bruno");
        assert_eq!(changed(&mut rx), [TOPIC, TOPIC]);

        bruno.set(TOPIC, Some(title())).unwrap();
        let (v2, _) = p.current(TOPIC).unwrap();
        assert!(v2 > v1, "each change is a newer version");
        let list = present(&p, TOPIC);
        assert_eq!(list[1]["state"], "editing");
        assert_eq!(list[1]["field"], "title");
        // saying the same again changes nothing
        bruno.set(TOPIC, Some(title())).unwrap();
        assert_eq!(p.current(TOPIC).unwrap().0, v2);
        assert_eq!(changed(&mut rx), [TOPIC]);

        bruno.set(TOPIC, None).unwrap();
        let list = present(&p, TOPIC);
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["actor"], "anna");
        assert!(!bruno.is_present(TOPIC));
        anna.set(TOPIC, None).unwrap();
        assert!(p.current(TOPIC).is_none(), "an empty topic is forgotten");
        assert_eq!(changed(&mut rx), [TOPIC, TOPIC]);
        // leaving where one is not present changes nothing
        anna.set(TOPIC, None).unwrap();
        assert!(changed(&mut rx).is_empty());
    }

    #[test]
    fn a_closed_session_vanishes_from_every_topic() {
        let p = Arc::new(Presence::in_process());
        let anna = p.join(&caller("anna"));
        let bruno = p.join(&caller("bruno"));
        let other = "action:PSM-2021-2023/3.1.1";
        anna.set(TOPIC, Some(Activity::Viewing)).unwrap();
        anna.set(other, Some(title())).unwrap();
        bruno.set(TOPIC, Some(Activity::Viewing)).unwrap();
        let mut rx = p.changes();
        let mut topics = anna.topics();
        topics.sort();
        assert_eq!(topics, [TOPIC, other]);
        drop(anna);
        let mut got = changed(&mut rx);
        got.sort();
        assert_eq!(got, [TOPIC, other]);
        assert!(p.current(other).is_none());
        let list = present(&p, TOPIC);
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["actor"], "bruno");
    }

    #[test]
    fn a_session_is_present_on_a_bounded_number_of_topics() {
        let p = Arc::new(Presence::in_process());
        let anna = p.join(&caller("anna"));
        for i in 0..MAX_TOPICS_PER_SESSION {
            anna.set(&format!("action:P/{i}"), Some(Activity::Viewing))
                .unwrap();
        }
        assert_eq!(
            anna.set("action:P/one-more", Some(Activity::Viewing)),
            Err(PresenceError::TooManyTopics)
        );
        assert!(p.current("action:P/one-more").is_none());
        // a topic it is already on can still change
        anna.set("action:P/0", Some(title())).unwrap();
    }

    #[test]
    fn fields_are_parsed() {
        assert!("title".parse::<Field>().is_ok());
        assert!("funding.0.amount".parse::<Field>().is_ok());
        assert!("".parse::<Field>().is_err());
        assert!("a b".parse::<Field>().is_err());
        assert!("x".repeat(101).parse::<Field>().is_err());
    }

    #[test]
    fn changes_and_announcements_go_over_the_link() {
        let link = Arc::new(Recorder::default());
        let p = Arc::new(Presence::linked(Arc::clone(&link) as Arc<dyn PresenceLink>));
        let anna = p.join(&caller("anna"));
        anna.set(TOPIC, Some(title())).unwrap();
        let sent = link.take();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].gateway, p.gateway());
        assert_eq!(
            sent[0].entries,
            [Announced {
                session: anna.id().to_owned(),
                topic: TOPIC.into(),
                state: PresenceState::Editing,
                field: Some("title".into()),
                actor: "anna".into(),
                organisation: "Città metropolitana di Torino".into(),
            }]
        );
        p.announce();
        let sent = link.take();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].entries[0].state, PresenceState::Editing);
        let id = anna.id().to_owned();
        drop(anna);
        let sent = link.take();
        assert_eq!(sent[0].entries[0].session, id);
        assert_eq!(sent[0].entries[0].state, PresenceState::Left);
        p.announce();
        assert!(link.take().is_empty(), "nothing left to announce");
        p.depart();
        assert!(link.take()[0].gone);
    }

    fn from_gateway(
        gateway: &str,
        session: &str,
        state: PresenceState,
        field: Option<&str>,
    ) -> Batch {
        Batch {
            gateway: gateway.into(),
            gone: false,
            entries: vec![Announced {
                session: session.into(),
                topic: TOPIC.into(),
                state,
                field: field.map(str::to_owned),
                actor: format!("{session}'s actor"),
                organisation: "UNCEM Piemonte".into(),
            }],
        }
    }

    #[test]
    fn another_gateways_entries_expire_unless_announced_again() {
        let p = Arc::new(Presence::in_process());
        let anna = p.join(&caller("anna"));
        anna.set(TOPIC, Some(Activity::Viewing)).unwrap();
        let mut rx = p.changes();
        let t0 = Instant::now();
        p.receive(from_gateway("g2", "s2", PresenceState::Viewing, None), t0);
        p.receive(
            from_gateway("g3", "s3", PresenceState::Editing, Some("title")),
            t0,
        );
        assert_eq!(present(&p, TOPIC).len(), 3);
        assert_eq!(changed(&mut rx), [TOPIC, TOPIC]);
        // g2 announces again; an unchanged entry is refreshed without a change
        let t1 = t0 + ANNOUNCE_EVERY;
        p.receive(from_gateway("g2", "s2", PresenceState::Viewing, None), t1);
        assert!(changed(&mut rx).is_empty());
        let v = p.current(TOPIC).unwrap().0;
        p.expire(t0 + EXPIRE_AFTER);
        assert_eq!(p.current(TOPIC).unwrap().0, v, "nothing is old enough yet");
        // g3 crashed: its entry goes after EXPIRE_AFTER; g2's, refreshed later, stays
        p.expire(t0 + EXPIRE_AFTER + Duration::from_secs(1));
        let list = present(&p, TOPIC);
        let actors: Vec<&str> = list.iter().map(|e| e["actor"].as_str().unwrap()).collect();
        assert_eq!(actors, ["anna", "s2's actor"]);
        assert_eq!(list[1]["organisation"], "UNCEM Piemonte");
        assert_eq!(changed(&mut rx), [TOPIC]);
        // local sessions never expire
        p.expire(t1 + EXPIRE_AFTER * 10);
        assert_eq!(present(&p, TOPIC).len(), 1);
        assert!(anna.is_present(TOPIC));
    }

    #[test]
    fn another_gateway_can_leave_go_and_not_touch_this_ones_sessions() {
        let p = Arc::new(Presence::in_process());
        let anna = p.join(&caller("anna"));
        anna.set(TOPIC, Some(Activity::Viewing)).unwrap();
        let now = Instant::now();
        p.receive(from_gateway("g2", "s2", PresenceState::Viewing, None), now);
        p.receive(
            from_gateway("g2", "s2b", PresenceState::Editing, Some("title")),
            now,
        );
        p.receive(from_gateway("g3", "s3", PresenceState::Viewing, None), now);
        assert_eq!(present(&p, TOPIC).len(), 4);
        p.receive(from_gateway("g2", "s2", PresenceState::Left, None), now);
        assert_eq!(present(&p, TOPIC).len(), 3);
        // a stray message about this gateway's session, and bad entries, change nothing
        p.receive(
            from_gateway("g3", anna.id(), PresenceState::Left, None),
            now,
        );
        p.receive(from_gateway("g3", "sx", PresenceState::Editing, None), now);
        p.receive(
            from_gateway("g3", "sy", PresenceState::Editing, Some("a b")),
            now,
        );
        let mut bad = from_gateway("g3", "sz", PresenceState::Viewing, None);
        bad.entries[0].topic = "nonsense".into();
        p.receive(bad, now);
        // this gateway's own messages, echoed by the link, are ignored
        p.receive(
            from_gateway(p.gateway(), "s9", PresenceState::Viewing, None),
            now,
        );
        assert_eq!(present(&p, TOPIC).len(), 3);
        p.receive(
            Batch {
                gateway: "g2".into(),
                gone: true,
                entries: Vec::new(),
            },
            now,
        );
        let list = present(&p, TOPIC);
        let actors: Vec<&str> = list.iter().map(|e| e["actor"].as_str().unwrap()).collect();
        assert_eq!(list.len(), 2);
        assert!(actors.contains(&"anna") && actors.contains(&"s3's actor"));
    }

    #[test]
    fn the_wire_format_is_stable() {
        let b = from_gateway("g2", "s2", PresenceState::Editing, Some("title"));
        let json = serde_json::to_value(&b).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"gateway": "g2", "entries": [{"session": "s2", "topic": TOPIC, "state": "editing", "field": "title", "actor": "s2's actor", "organisation": "UNCEM Piemonte"}]})
        );
        let back: Batch = serde_json::from_value(json).unwrap();
        assert_eq!(back, b);
    }
}
