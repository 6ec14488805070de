//! `serve --demo --examples`: example context indicators with example measurements on
//! strategies the demo plan confirms (2.1, 3.1, 6.1), so the indicator views have
//! something to show. The Torino plan's 74 indicators are not in the public facts
//! this project works from, so none of these is one of them: every code starts with
//! `ESEMPIO`, and every name, source and note says the figures are illustrative and
//! not official.

use metroplan_api::ApiError;
use metroplan_api::indicators::DefineIndicator;
use metroplan_api::monitoring::MonitoringCommand;
use metroplan_monitoring::MonitoringService;

use crate::system_context;

const OWNER: &str = "Città metropolitana di Torino";
const SOURCE: &str = "ESEMPIO: dati illustrativi, non ufficiali";

/// (code, strategy, name, unit, direction, baseline, baseline year, target, target year)
const INDICATORS: [(&str, &str, &str, &str, &str, &str, i64, &str, i64); 3] = [
    (
        "ESEMPIO-2.1-01",
        "2.1",
        "ESEMPIO - Aree verdi connesse alla rete metropolitana (dati illustrativi, non ufficiali)",
        "ha",
        "increase",
        "1000",
        2020,
        "1300",
        2023,
    ),
    (
        "ESEMPIO-3.1-01",
        "3.1",
        "ESEMPIO - Quota di spostamenti con il trasporto pubblico (dati illustrativi, non ufficiali)",
        "%",
        "increase",
        "20.5",
        2020,
        "25",
        2023,
    ),
    (
        "ESEMPIO-6.1-01",
        "6.1",
        "ESEMPIO - Attesa media per una visita specialistica (dati illustrativi, non ufficiali)",
        "giorni",
        "decrease",
        "60",
        2020,
        "45",
        2023,
    ),
];

/// The example measurements, as the CSV import reads them (Italian decimals).
const MEASUREMENTS: &str = "indicator;period;territory;value;source_note
ESEMPIO-2.1-01;2021;Città metropolitana di Torino;1080;ESEMPIO, non ufficiale
ESEMPIO-2.1-01;2022;Città metropolitana di Torino;1150;ESEMPIO, non ufficiale
ESEMPIO-2.1-01;2023;Città metropolitana di Torino;1210;ESEMPIO, non ufficiale
ESEMPIO-3.1-01;2021;Città metropolitana di Torino;19,8;ESEMPIO, non ufficiale
ESEMPIO-3.1-01;2022;Città metropolitana di Torino;21,4;ESEMPIO, non ufficiale
ESEMPIO-6.1-01;2021;Città metropolitana di Torino;62;ESEMPIO, non ufficiale
ESEMPIO-6.1-01;2022;Città metropolitana di Torino;58;ESEMPIO, non ufficiale
";

/// Defines the example indicators of `plan` and imports their measurements, unless
/// the first one is there already. Answers the log position of the last event
/// written, or `None` when nothing was.
///
/// # Errors
/// When a definition or the import is refused for another reason than being there.
pub async fn load(monitoring: &MonitoringService, plan: &str) -> anyhow::Result<Option<u64>> {
    let ctx = system_context(
        OWNER,
        "demo examples: illustrative indicators, not official",
    );
    let mut last = None;
    for (code, strategy, name, unit, direction, baseline, by, target, ty) in INDICATORS {
        let body = DefineIndicator {
            code: code.into(),
            strategy: strategy.into(),
            name: name.into(),
            unit: unit.into(),
            source: SOURCE.into(),
            direction: direction.into(),
            baseline_value: baseline.into(),
            baseline_year: by,
            target_value: target.into(),
            target_year: ty,
            territory: OWNER.into(),
        };
        let cmd = MonitoringCommand::DefineIndicator {
            plan: plan.into(),
            body,
        };
        match monitoring.handle(&ctx, cmd).await {
            Ok(outcome) => last = Some(outcome.position),
            // Loaded by an earlier start: leave them as they are.
            Err(ApiError::Rejected { .. }) if last.is_none() => return Ok(None),
            Err(e) => anyhow::bail!("defining example indicator {code}: {e}"),
        }
    }
    let cmd = MonitoringCommand::ImportMeasurements {
        plan: plan.into(),
        csv: MEASUREMENTS.into(),
        dry_run: false,
    };
    let outcome = monitoring
        .handle(&ctx, cmd)
        .await
        .map_err(|e| anyhow::anyhow!("importing example measurements: {e}"))?;
    Ok(Some(outcome.position.max(last.unwrap_or(0))))
}
