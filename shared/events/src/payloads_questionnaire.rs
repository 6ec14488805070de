//! [`EventPayload`](crate::EventPayload) for the monitoring service's questionnaire
//! family, `CampaignEvent` (stream `campaign:<plan>/<campaign>`) from
//! `proto/metroplan/events/v1/questionnaire.proto`. The impl lives here, beside the
//! generated types, because the orphan rule keeps it out of the service crate.
//!
//! The event type is the `oneof` variant's name; a wrapper with no variant set (which
//! the service never writes) reports `CampaignEventEmpty` rather than panic. Each event
//! message also converts into the wrapper with `From`. Schema version 1, no upcasters
//! yet (see [`upcast`](crate::upcast)).

use crate::EventPayload;
use crate::pb::{
    AnswersSubmitted, CampaignClosed, CampaignDrafted, CampaignEvent, CampaignOpened,
    InvitationLinkReplaced, OrganisationInvited, QuestionsSet, campaign_event,
};

impl EventPayload for CampaignEvent {
    fn event_type(&self) -> &'static str {
        use campaign_event::Event;
        match &self.event {
            Some(Event::CampaignDrafted(_)) => "CampaignDrafted",
            Some(Event::QuestionsSet(_)) => "QuestionsSet",
            Some(Event::CampaignOpened(_)) => "CampaignOpened",
            Some(Event::OrganisationInvited(_)) => "OrganisationInvited",
            Some(Event::AnswersSubmitted(_)) => "AnswersSubmitted",
            Some(Event::CampaignClosed(_)) => "CampaignClosed",
            Some(Event::InvitationLinkReplaced(_)) => "InvitationLinkReplaced",
            None => "CampaignEventEmpty",
        }
    }
}

macro_rules! into_campaign_event {
    ($($message:ident),*) => {$(
        impl From<$message> for CampaignEvent {
            fn from(e: $message) -> Self {
                Self {
                    event: Some(campaign_event::Event::$message(e)),
                }
            }
        }
    )*};
}

into_campaign_event!(
    CampaignDrafted,
    QuestionsSet,
    CampaignOpened,
    OrganisationInvited,
    AnswersSubmitted,
    CampaignClosed,
    InvitationLinkReplaced
);
