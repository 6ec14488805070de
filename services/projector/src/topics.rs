//! Which live topics an event concerns, decided from the event alone (its stream and
//! payload), so a client resuming from an old position gets the same topics that live
//! clients got.
//!
//! | stream | topics |
//! | --- | --- |
//! | `plan:P` | `plan:P`, `dashboard:P` |
//! | `action:P/A`, `progress:P/A` | `plan:P`, `dashboard:P`, `action:P/A` |
//! | `indicator:P/I` | `plan:P`, `indicator:P/I` |
//! | `campaign:P/C` | `plan:P`, `campaign:P/C` |
//! | `table:T`, `agreement:G` | `plan:P`, `dashboard:P`, and `action:P/A` for every action the event names |

use metroplan_events::{EventPayload, RecordedEvent, pb, streams};

pub fn for_event(event: &RecordedEvent) -> Vec<String> {
    let (kind, rest) = event.stream_id.split_once(':').unwrap_or(("", ""));
    match kind {
        "plan" => vec![format!("plan:{rest}"), format!("dashboard:{rest}")],
        "action" | "progress" => {
            let plan = rest.split_once('/').map_or(rest, |(p, _)| p);
            vec![
                format!("plan:{plan}"),
                format!("dashboard:{plan}"),
                format!("action:{rest}"),
            ]
        }
        "indicator" => {
            let plan = rest.split_once('/').map_or(rest, |(p, _)| p);
            vec![format!("plan:{plan}"), format!("indicator:{rest}")]
        }
        "campaign" => {
            let plan = rest.split_once('/').map_or(rest, |(p, _)| p);
            vec![format!("plan:{plan}"), format!("campaign:{rest}")]
        }
        "table" => match pb::TableEvent::decode_recorded(event)
            .ok()
            .and_then(|e| e.event)
        {
            Some(e) => {
                use pb::table_event::Event;
                let (plan, actions): (&str, Vec<&str>) = match &e {
                    Event::TableCreated(x) => (&x.plan, vec![]),
                    Event::TableMemberJoined(x) => (&x.plan, vec![]),
                    Event::TableMemberLeft(x) => (&x.plan, vec![]),
                    Event::MeetingHeld(x) => (
                        &x.plan,
                        x.decisions
                            .iter()
                            .flat_map(|d| d.actions.iter().map(String::as_str))
                            .collect(),
                    ),
                };
                with_actions(plan, &actions)
            }
            None => Vec::new(),
        },
        "agreement" => match pb::AgreementEvent::decode_recorded(event)
            .ok()
            .and_then(|e| e.event)
        {
            Some(e) => {
                use pb::agreement_event::Event;
                let (plan, action) = match &e {
                    Event::AgreementDrafted(x) => (&x.plan, None),
                    Event::AgreementPartyAdded(x) => (&x.plan, None),
                    Event::AgreementPartyRemoved(x) => (&x.plan, None),
                    Event::AgreementActionLinked(x) => (&x.plan, Some(x.action.as_str())),
                    Event::AgreementActionUnlinked(x) => (&x.plan, Some(x.action.as_str())),
                    Event::CommitmentMade(x) => (&x.plan, None),
                    Event::CommitmentWithdrawn(x) => (&x.plan, None),
                    Event::AgreementSigned(x) => (&x.plan, None),
                    Event::AgreementAmended(x) => (&x.plan, None),
                    Event::AgreementTerminated(x) => (&x.plan, None),
                };
                with_actions(plan, &action.into_iter().collect::<Vec<_>>())
            }
            None => Vec::new(),
        },
        _ => Vec::new(),
    }
}

fn with_actions(plan: &str, actions: &[&str]) -> Vec<String> {
    let mut topics = vec![format!("plan:{plan}"), format!("dashboard:{plan}")];
    for a in actions {
        let t = format!(
            "action:{}",
            streams::action(plan, a).trim_start_matches("action:")
        );
        if !topics.contains(&t) {
            topics.push(t);
        }
    }
    topics
}
