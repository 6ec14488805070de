//! End-to-end tests of both deployments: the suite in [`suite`] runs once against the
//! embedded platform and once against the distributed one (separate processes over a
//! 3-node NATS JetStream cluster); [`distributed`] holds what only the distributed
//! deployment has to prove; [`presence`] covers presence on the live websocket and the
//! serving of the web front end, on both.

mod browser;
mod campaigns;
mod compose;
mod distributed;
mod funding;
mod harness;
mod presence;
mod report;
mod suite;

use harness::Server;

/// Distributed deployments are started one at a time: each is a 3-node cluster and
/// six processes, and the machine has two cores.
async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::OnceLock<tokio::sync::Mutex<()>> = std::sync::OnceLock::new();
    LOCK.get_or_init(|| tokio::sync::Mutex::new(()))
        .lock()
        .await
}

macro_rules! both_deployments {
    ($($case:ident),* $(,)?) => {
        both_deployments!(@from suite: $($case),*);
    };
    (@from $module:ident: $($case:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test]
                async fn $case() {
                    crate::$module::$case(crate::Server::embedded().await).await;
                }
            )*
        }
        mod on_nats {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let _one = crate::one_at_a_time().await;
                    crate::$module::$case(crate::Server::distributed().await).await;
                }
            )*
        }
    };
}

both_deployments!(
    the_demo_plan_is_served_with_its_confirmed_structure,
    tokens_and_roles_guard_every_route,
    progress_reaches_live_subscribers_and_reads_see_it,
    a_client_that_reconnects_with_from_misses_nothing,
    concurrent_edits_merge_or_conflict_never_overwrite,
    bad_input_gets_problem_details_naming_the_field_and_stores_nothing,
    agreements_need_two_parties_to_be_signed_and_show_on_their_actions,
    health_and_openapi_describe_every_route,
    a_table_meeting_decides_on_actions_and_their_history_says_who_and_why,
    only_an_admin_adopts_a_revision_which_freezes_a_numbered_version,
    auditors_see_the_plan_as_it_stood_at_any_point_and_what_changed_between_two,
    the_audit_trail_filters_pages_and_exports_and_auditors_write_nothing,
    a_full_replay_equals_the_live_read_models_and_a_partial_one_the_past,
    context_indicators_are_measured_corrected_imported_and_classified_with_the_rule_version,
    a_context_indicator_is_edited_with_if_match_merged_or_in_conflict_and_retired,
);

/// Monitoring level 2 (effects on planning instruments) and funding, counted once.
mod funding_on_both {
    both_deployments!(@from funding:
        effects_on_instruments_and_funding_roll_up_with_agreements_counted_once,
        bad_funding_lines_and_instrument_links_name_the_field_and_store_nothing,
        links_and_lines_are_co_edited_per_field_merged_or_in_conflict,
    );
}

/// Presence (who is viewing or editing what) and the web front end's serving.
mod presence_on_both {
    both_deployments!(@from presence:
        two_people_on_one_action_see_each_other_view_edit_and_leave,
        bad_presence_messages_get_an_error_and_change_nothing,
        the_page_and_its_assets_are_served_with_their_types,
    );
}

/// The monitoring report and its exports.
mod report_on_both {
    both_deployments!(@from report:
        the_report_and_its_exports_hold_the_plan_the_period_and_the_recorded_data,
        a_bad_period_or_format_is_refused_naming_the_parameter,
    );
}

/// Questionnaire campaigns: questions, personal links, answers, results.
mod campaigns_on_both {
    both_deployments!(@from campaigns:
        a_campaign_collects_one_editable_answer_set_per_organisation_and_aggregates_per_action_and_strategy,
    );
}

/// Embedded only: the live channel's capacity is set in process, small on purpose.
#[tokio::test]
async fn a_slow_client_does_not_hold_back_the_others_and_still_gets_everything_in_order() {
    suite::a_slow_client_does_not_hold_back_the_others_and_still_gets_everything_in_order(
        Server::embedded_with(8).await,
    )
    .await;
}
