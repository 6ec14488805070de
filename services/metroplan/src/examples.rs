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

/// One example indicator's definition.
struct Example {
    code: &'static str,
    strategy: &'static str,
    name: &'static str,
    unit: &'static str,
    direction: &'static str,
    baseline: &'static str,
    baseline_year: i64,
    target: &'static str,
    target_year: i64,
}

const INDICATORS: [Example; 3] = [
    Example {
        code: "ESEMPIO-2.1-01",
        strategy: "2.1",
        name: "ESEMPIO - Aree verdi connesse alla rete metropolitana (dati illustrativi, non ufficiali)",
        unit: "ha",
        direction: "increase",
        baseline: "1000",
        baseline_year: 2020,
        target: "1300",
        target_year: 2023,
    },
    Example {
        code: "ESEMPIO-3.1-01",
        strategy: "3.1",
        name: "ESEMPIO - Quota di spostamenti con il trasporto pubblico (dati illustrativi, non ufficiali)",
        unit: "%",
        direction: "increase",
        baseline: "20.5",
        baseline_year: 2020,
        target: "25",
        target_year: 2023,
    },
    Example {
        code: "ESEMPIO-6.1-01",
        strategy: "6.1",
        name: "ESEMPIO - Attesa media per una visita specialistica (dati illustrativi, non ufficiali)",
        unit: "giorni",
        direction: "decrease",
        baseline: "60",
        baseline_year: 2020,
        target: "45",
        target_year: 2023,
    },
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
    for e in INDICATORS {
        let body = DefineIndicator {
            code: e.code.into(),
            strategy: e.strategy.into(),
            name: e.name.into(),
            unit: e.unit.into(),
            source: SOURCE.into(),
            direction: e.direction.into(),
            baseline_value: e.baseline.into(),
            baseline_year: e.baseline_year,
            target_value: e.target.into(),
            target_year: e.target_year,
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
            Err(err) => anyhow::bail!("defining example indicator {}: {err}", e.code),
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
