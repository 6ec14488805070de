//! [`EventPayload`](crate::EventPayload) for the partnership service's two event
//! families, `TableEvent` (stream `table:<id>`) and `AgreementEvent` (stream
//! `agreement:<id>`) from `proto/metroplan/events/v1/partnership.proto`. The impls live
//! here, beside the generated types, because the orphan rule keeps them out of the
//! service crate.
//!
//! The event type is the `oneof` variant's name; a wrapper with no variant set (which a
//! service never writes) reports `TableEventEmpty` / `AgreementEventEmpty` rather than
//! panic. Each event message also converts into its wrapper with `From`.
//!
//! Each impl is where its family's schema evolves: a version bump sets `SCHEMA_VERSION`
//! and registers the reader of the old version in `UPCASTERS` (see
//! [`upcast`](crate::upcast)); both are at their defaults (version 1, none) today.

use crate::EventPayload;
use crate::pb::{AgreementEvent, TableEvent, agreement_event, table_event};

impl EventPayload for TableEvent {
    fn event_type(&self) -> &'static str {
        use table_event::Event;
        match &self.event {
            Some(Event::TableCreated(_)) => "TableCreated",
            Some(Event::TableMemberJoined(_)) => "TableMemberJoined",
            Some(Event::TableMemberLeft(_)) => "TableMemberLeft",
            Some(Event::MeetingHeld(_)) => "MeetingHeld",
            None => "TableEventEmpty",
        }
    }
}

impl EventPayload for AgreementEvent {
    fn event_type(&self) -> &'static str {
        use agreement_event::Event;
        match &self.event {
            Some(Event::AgreementDrafted(_)) => "AgreementDrafted",
            Some(Event::AgreementPartyAdded(_)) => "AgreementPartyAdded",
            Some(Event::AgreementPartyRemoved(_)) => "AgreementPartyRemoved",
            Some(Event::AgreementActionLinked(_)) => "AgreementActionLinked",
            Some(Event::AgreementActionUnlinked(_)) => "AgreementActionUnlinked",
            Some(Event::CommitmentMade(_)) => "CommitmentMade",
            Some(Event::CommitmentWithdrawn(_)) => "CommitmentWithdrawn",
            Some(Event::AgreementSigned(_)) => "AgreementSigned",
            Some(Event::AgreementAmended(_)) => "AgreementAmended",
            Some(Event::AgreementTerminated(_)) => "AgreementTerminated",
            None => "AgreementEventEmpty",
        }
    }
}

/// `impl From<Variant> for Wrapper` for each `oneof` variant.
macro_rules! wrap {
    ($wrapper:ident, $module:ident: $($variant:ident),+ $(,)?) => {
        $(
            impl From<crate::pb::$variant> for $wrapper {
                fn from(e: crate::pb::$variant) -> Self {
                    Self { event: Some($module::Event::$variant(e)) }
                }
            }
        )+
    };
}

wrap!(TableEvent, table_event: TableCreated, TableMemberJoined, TableMemberLeft, MeetingHeld);
wrap!(
    AgreementEvent,
    agreement_event: AgreementDrafted,
    AgreementPartyAdded,
    AgreementPartyRemoved,
    AgreementActionLinked,
    AgreementActionUnlinked,
    CommitmentMade,
    CommitmentWithdrawn,
    AgreementSigned,
    AgreementAmended,
    AgreementTerminated,
);
