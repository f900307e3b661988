//! The scenario's `prices`: each names a service or a shared cache that exists, once, with
//! prices that are finite and not negative. A cache's memory price becomes part of its price
//! per node-hour: each node holds `capacity` entries of `entry_bytes`.

use tailsim_stats::cost::{Part, Price as Priced};

use super::Cx;
use crate::compile::CacheModel;
use tailsim_scenario::diag::Diagnostic;
use tailsim_scenario::schema::Price;

/// A GB of memory, as memory is priced: 2^30 bytes.
const GB: f64 = (1u64 << 30) as f64;

/// Lowers every price; caches are looked up among the compiled `caches`.
pub(super) fn compile(cx: &mut Cx<'_>, caches: &[CacheModel]) -> Vec<Priced> {
    let mut priced: Vec<Priced> = Vec::new();
    for (i, price) in cx.scenario.prices.iter().enumerate() {
        match lower(cx, price, caches) {
            Ok(p) if priced.iter().any(|q| q.name == p.name && q.part == p.part) => cx.error(
                Diagnostic::error(format!("\"{}\" has two prices", p.name))
                    .at_path(format!("prices[{i}]"))
                    .with_hint("give each service or cache one price"),
            ),
            Ok(p) => priced.push(p),
            Err((message, hint)) => {
                cx.error(Diagnostic::error(message).at_path(format!("prices[{i}]")).with_hint(hint))
            }
        }
    }
    priced
}

fn lower(cx: &Cx<'_>, price: &Price, caches: &[CacheModel]) -> Result<Priced, (String, String)> {
    let money = |x: f64, what: &str| {
        if x.is_finite() && x >= 0.0 {
            Ok(x)
        } else {
            Err((
                format!("`{what}` must be a sum of money, 0 or more, got {x}"),
                "e.g. per_instance_hour: 0.192".into(),
            ))
        }
    };
    match price {
        Price::Service { service, per_instance_hour, per_million_requests } => {
            let Some(id) = cx.service(service) else {
                return Err((format!("no service is named \"{service}\""), cx.suggest_service(service)));
            };
            Ok(Priced {
                name: service.clone(),
                part: Part::Service(id.0 as usize),
                per_hour: money(*per_instance_hour, "per_instance_hour")?,
                per_million_requests: money(*per_million_requests, "per_million_requests")?,
            })
        }
        Price::Cache { cache, per_node_hour, per_gb_hour, entry_bytes } => {
            let names: Vec<&str> = caches.iter().map(|c| c.name.as_str()).collect();
            let Some(c) = caches.iter().find(|c| &c.name == cache) else {
                return Err((format!("no cache is named \"{cache}\""), cx.suggest_among(cache, &names, "caches")));
            };
            if c.per_instance.is_some() {
                return Err((
                    format!("cache \"{cache}\" lives inside its service's instances, which its price already pays for"),
                    "price the service instead".into(),
                ));
            }
            let memory = match (money(*per_gb_hour, "per_gb_hour")?, entry_bytes) {
                (0.0, _) => 0.0,
                (_, None) => {
                    return Err((
                        format!(
                            "`per_gb_hour` prices cache \"{cache}\"'s memory, but the size of its entries (`entry_bytes`) is not given"
                        ),
                        "add entry_bytes, e.g. entry_bytes: 2048".into(),
                    ));
                }
                (per_gb, Some(bytes)) => per_gb * f64::from(c.capacity) * *bytes as f64 / GB,
            };
            Ok(Priced {
                name: cache.clone(),
                part: Part::Cache { nodes: c.nodes },
                per_hour: money(*per_node_hour, "per_node_hour")? + memory,
                per_million_requests: 0.0,
            })
        }
    }
}
