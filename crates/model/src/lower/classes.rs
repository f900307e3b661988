//! Request classes: the default class 0, then every class the clients name in order of first
//! mention, one priority each, and the priority levels they fall into (0 the highest).

use super::Cx;
use crate::compile::{ClassModel, MAX_CLASSES};
use tailsim_scenario::diag::Diagnostic;

/// Fills in the scenario's classes, and returns how many priority levels they have.
pub(super) fn compile(cx: &mut Cx<'_>) -> u32 {
    let scenario = cx.scenario;
    // Class 0 is the default; the others in order of first mention.
    let mut classes = vec![ClassModel { name: "default".to_string(), priority: 0, level: 0 }];
    // Each class's place in `classes` by name: a million mentions are read in n log n.
    let mut known_at: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::from([("default", 0)]);
    for (i, c) in scenario.clients.iter().enumerate() {
        for (k, class) in c.classes.iter().enumerate() {
            let path = format!("clients[{i}] \"{}\" .classes[{k}]", c.name);
            if !(class.weight.is_finite() && class.weight > 0.0) {
                cx.error(
                    Diagnostic::error(format!("a class's `weight` must be above zero, got {}", class.weight))
                        .at_path(&path)
                        .with_hint("weights are relative: 90 and 10 send 90% and 10%"),
                );
            }
            match known_at.get(class.name.as_str()).map(|&at| &classes[at]) {
                Some(known) if known.priority != class.priority => cx.error(
                    Diagnostic::error(format!(
                        "class \"{}\" has priority {} here and {} elsewhere",
                        class.name, class.priority, known.priority
                    ))
                    .at_path(&path)
                    .with_hint("a class has one priority; give the two a different name"),
                ),
                Some(_) => {}
                None => {
                    known_at.insert(&class.name, classes.len());
                    classes.push(ClassModel { name: class.name.clone(), priority: class.priority, level: 0 });
                }
            }
        }
    }
    if classes.len() > MAX_CLASSES {
        cx.error(Diagnostic::error(format!("a scenario may have at most {} request classes", MAX_CLASSES - 1)));
        classes.truncate(MAX_CLASSES);
    }
    let mut priorities: Vec<i32> = classes.iter().map(|c| c.priority).collect();
    priorities.sort_unstable_by(|a, b| b.cmp(a));
    priorities.dedup();
    for class in &mut classes {
        class.level = priorities.iter().position(|&p| p == class.priority).unwrap_or(0) as u32;
    }
    cx.classes = classes;
    priorities.len() as u32
}
