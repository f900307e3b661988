//! `--slo` text read as an objective of the scenario's own kind: `p99<200ms`,
//! `shop.errors<0.1%`, `db.wait.p90<20s`, and the rest of the measures a scenario's `slos` name.

use crate::diag::Diagnostic;
use crate::schema::{Duration, Slo};

/// Reads `--slo` text: `[CLIENT.]p99<200ms` (also `mean`, `p50`, `p90`, `p999`, `max`),
/// `[CLIENT.]errors<0.1%`, `[CLIENT.]goodput>=1700`, `SERVICE.utilisation<0.8`,
/// `SERVICE.pwait<0.2`, `SERVICE.wait.p90<20s`. `client` is the client when none is named.
pub fn parse_slo(text: &str, client: &str) -> Result<Slo, Diagnostic> {
    let fail = |why: &str| {
        Diagnostic::error(format!("--slo {text}: {why}")).with_hint(
            "write e.g. p99<200ms, shoppers.errors<0.1%, goodput>=1700, db.utilisation<0.8 or db.wait.p90<20s",
        )
    };
    let (left, op, right) = ["<=", ">=", "<", ">"]
        .iter()
        .find_map(|op| text.split_once(op).map(|(l, r)| (l.trim(), *op, r.trim())))
        .ok_or_else(|| fail("no comparison (< or >=)"))?;
    let below = op.starts_with('<');
    let share = |s: &str| -> Result<f64, Diagnostic> {
        let (number, scale) = s.strip_suffix('%').map_or((s, 1.0), |n| (n.trim(), 0.01));
        number.parse::<f64>().map(|x| x * scale).map_err(|_| fail(&format!("`{s}` is not a number")))
    };
    let duration = |s: &str| -> Result<Duration, Diagnostic> {
        tailsim_engine::SimDuration::parse(s).map(Duration).map_err(|e| fail(&format!("`{s}`: {e}")))
    };
    let parts: Vec<&str> = left.split('.').collect();
    let (subject, measure) = match parts.as_slice() {
        [measure] => (client, vec![*measure]),
        [subject, rest @ ..] => (*subject, rest.to_vec()),
        [] => return Err(fail("nothing before the comparison")),
    };
    let subject = subject.to_string();
    let need = |want_below: bool| if below == want_below { Ok(()) } else { Err(fail("this bound goes the other way")) };
    let latency = |stat: &str, d: Duration| -> Option<[Option<Duration>; 6]> {
        let i = ["mean", "p50", "p90", "p99", "p999", "max"].iter().position(|s| *s == stat)?;
        let mut bounds: [Option<Duration>; 6] = Default::default();
        bounds[i] = Some(d);
        Some(bounds)
    };
    Ok(match measure.as_slice() {
        ["errors"] => {
            need(true)?;
            Slo::Errors { client: subject, class: None, below: share(right)? }
        }
        ["goodput"] => {
            need(false)?;
            Slo::Goodput { client: subject, class: None, at_least: share(right)? }
        }
        ["utilisation"] => {
            need(true)?;
            Slo::Utilisation { service: subject, below: share(right)? }
        }
        ["pwait"] => {
            need(true)?;
            Slo::WaitProbability { service: subject, below: share(right)? }
        }
        ["wait", stat] => {
            need(true)?;
            let [mean, p50, p90, p99, p999, max] =
                latency(stat, duration(right)?).ok_or_else(|| fail("unknown statistic"))?;
            Slo::QueueWait { service: subject, mean, p50, p90, p99, p999, max }
        }
        [stat] => {
            need(true)?;
            let [mean, p50, p90, p99, p999, max] =
                latency(stat, duration(right)?).ok_or_else(|| fail(&format!("unknown measure `{stat}`")))?;
            Slo::Latency { client: subject, class: None, mean, p50, p90, p99, p999, max }
        }
        _ => return Err(fail("unknown measure")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slo_text_reads_as_the_scenario_would() {
        let ms = |n: u64| Some(Duration(tailsim_engine::SimDuration::from_millis(n)));
        let p99 = parse_slo("p99<200ms", "users").unwrap();
        assert_eq!(
            p99,
            Slo::Latency {
                client: "users".into(),
                class: None,
                mean: None,
                p50: None,
                p90: None,
                p99: ms(200),
                p999: None,
                max: None
            }
        );
        assert_eq!(
            parse_slo("shop.errors<0.1%", "users").unwrap(),
            Slo::Errors { client: "shop".into(), class: None, below: 0.001 }
        );
        assert_eq!(
            parse_slo("goodput>=1700", "users").unwrap(),
            Slo::Goodput { client: "users".into(), class: None, at_least: 1700.0 }
        );
        assert!(matches!(parse_slo("db.wait.p90<20s", "u").unwrap(), Slo::QueueWait { p90: Some(_), .. }));
        assert!(matches!(parse_slo("db.pwait<0.2", "u").unwrap(), Slo::WaitProbability { .. }));
        for bad in ["p99", "p98<1s", "p99>=1s", "goodput<3", "errors<lots", "p99<fast"] {
            assert!(parse_slo(bad, "u").is_err(), "{bad}");
        }
    }
}
