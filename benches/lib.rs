//! Scenarios shared by the benchmarks, built from the bundled scenario files.

use tailsim_model::Model;

/// The M/M/1 scenario at rho = 0.9 with its duration set so that about `customers` arrive.
pub fn mm1(customers: u64) -> Model {
    let source = include_str!("../scenarios/mm1.ron");
    let seconds = customers.div_ceil(900);
    let set = tailsim_model::Override { path: "duration".into(), value: format!("{seconds}s") };
    match tailsim_model::load(source, &[set]) {
        Ok((model, _)) => model,
        Err(errors) => panic!("mm1.ron does not load: {errors:?}"),
    }
}

/// About `messages` messages published at 900/s through a one-partition topic to one consumer
/// with 1 ms of exponential work: the M/M/1 queue at rho = 0.9 as a pipeline (a producer's
/// visit, a publish, a delivery and the consumer's visit per message).
pub fn topic_mm1(messages: u64) -> Model {
    let source = format!(
        r#"Scenario(name: "topic", duration: "{}s", warmup: "10s",
            clients: [Client(name: "users", target: "api", rate: 900.0)],
            services: [
                Service(name: "api", workers: 100, handler: [Publish("jobs")]),
                Service(name: "worker", handler: [Work(Exponential(mean: "1ms"))], consumes: Some((topic: "jobs"))),
            ],
            topics: [Topic(name: "jobs")])"#,
        messages.div_ceil(900)
    );
    match tailsim_model::load(&source, &[]) {
        Ok((model, _)) => model,
        Err(errors) => panic!("the topic scenario does not load: {errors:?}"),
    }
}

/// The bundled checkout scenario.
pub fn checkout() -> Model {
    bundled("checkout.ron", include_str!("../scenarios/checkout.ron"))
}

/// The bundled CPU-throttling scenario: every `Work` step under a CFS quota, re-scheduled
/// when a throttle holds it back.
pub fn cpu_throttling() -> Model {
    bundled("cpu-throttling.ron", include_str!("../scenarios/cpu-throttling.ron"))
}

fn bundled(name: &str, source: &str) -> Model {
    match tailsim_model::load(source, &[]) {
        Ok((model, _)) => model,
        Err(errors) => panic!("{name} does not load: {errors:?}"),
    }
}

/// A scenario of `n` services, each with a `Work` step, one client calling the first: what
/// checking a file of that many items costs (the target: 100,000 services under 2 s).
pub fn many_services(n: usize) -> String {
    let services: Vec<String> =
        (0..n).map(|i| format!("Service(name: \"s{i}\", handler: [Work(Constant(\"1ms\"))])")).collect();
    format!(
        "Scenario(name: \"many\", duration: \"3s\", clients: [Client(name: \"c\", target: \"s0\", rate: 1.0)], \
         services: [{}])",
        services.join(",\n")
    )
}

/// `n` services, each calling an unknown service: `n` errors, each with a did-you-mean hint to
/// look for among `n` names.
pub fn many_unknown_names(n: usize) -> String {
    many_services(n).replace(r#"handler: [Work(Constant("1ms"))]"#, r#"handler: [Call("nowhere")]"#)
}

/// A scenario whose one client mentions `n` classes (all but 62 of them repeats of those 62,
/// the most a scenario may have).
pub fn many_class_mentions(n: usize) -> String {
    let classes: Vec<String> = (0..n).map(|i| format!("Class(name: \"k{}\", weight: 1.0)", i % 62)).collect();
    format!(
        "Scenario(name: \"classes\", duration: \"3s\", clients: [Client(name: \"c\", target: \"s\", rate: 1.0, \
         classes: [{}])], services: [Service(name: \"s\", handler: [Work(Constant(\"1ms\"))])])",
        classes.join(", ")
    )
}

/// A client sending `rate` requests per second, each with a 5 s timeout, to a service with a
/// worker for every request in flight whose work takes 1 s on average (exponential): in steady
/// state `rate` requests are in flight, and `2 x rate` events pending (a `StepDone` and a
/// timeout each), plus the `4 x rate` timeouts already cancelled that wait for their time. The
/// run is 8 s of warm-up (the timeouts' 5 s and the work's tail), then long enough for about
/// three million events.
pub fn pending_timeouts(rate: u64) -> Model {
    let measured = (1_000_000 / rate).max(2);
    let source = format!(
        "Scenario(name: \"pending\", duration: \"{}s\", warmup: \"8s\", window: \"{}s\", \
         clients: [Client(name: \"c\", target: \"slow\", rate: {rate}.0, policy: (timeout: \"5s\"))], \
         services: [Service(name: \"slow\", workers: 1000000, handler: [Work(Exponential(mean: \"1s\"))])])",
        8 + measured,
        (8 + measured).div_ceil(100),
    );
    match tailsim_model::load(&source, &[]) {
        Ok((model, _)) => model,
        Err(errors) => panic!("the pending-timeouts scenario does not load: {errors:?}"),
    }
}

/// A service under `n` short slowdowns one after another over a minute, at 1,000 requests a
/// second: what a timeline of many faults costs each visit (the open ones are kept as the clock
/// moves on, so a visit reads the one or two open, not all `n`).
pub fn many_faults(n: usize) -> Model {
    let gap_us = 60_000_000 / n.max(1);
    let faults: Vec<String> = (0..n)
        .map(|i| {
            format!("Slowdown(service: \"s\", at: \"{}us\", duration: \"{}us\", factor: 1.5)", i * gap_us, gap_us / 2)
        })
        .collect();
    let source = format!(
        "Scenario(name: \"faults\", duration: \"60s\", clients: [Client(name: \"c\", target: \"s\", rate: 1000.0)], \
         services: [Service(name: \"s\", workers: 4, handler: [Work(Exponential(mean: \"1ms\"))])], faults: [{}])",
        faults.join(", ")
    );
    match tailsim_model::load(&source, &[]) {
        Ok((model, _)) => model,
        Err(errors) => panic!("the many-faults scenario does not load: {errors:?}"),
    }
}

/// The shard files of an M/M/1 sweep of `points` loads x `replications`, split into `shards`:
/// what `tailsim merge` reads (the runs are 20 simulated seconds, so building them is quick).
pub fn sweep_shards(points: usize, replications: u32, shards: u32) -> Vec<Vec<u8>> {
    use tailsim_sim::shard::{Batch, Shard, ShardFile, Work, fingerprint};
    let source = include_str!("../scenarios/mm1.ron");
    let grid = tailsim_model::params::Param::parse(&format!("clients.users.rate=100..900:{points}"))
        .unwrap_or_else(|d| panic!("{}", d.message));
    let duration = tailsim_model::Override { path: "duration".into(), value: "20s".into() };
    let points = match tailsim_model::load_points(source, &[duration], &[grid]) {
        Ok(points) => points,
        Err(errors) => panic!("the sweep does not load: {errors:?}"),
    };
    let setup =
        tailsim_sim::sweep::Setup::new("mm1", vec!["clients.users.rate".into()], &points, 1, replications, "users");
    let limits = tailsim_sim::Limits::default();
    let models: Vec<&Model> = points.iter().map(|(_, m)| m).collect();
    let print = fingerprint("sweep", &setup, &models, &limits, setup.runs());
    let runs: Vec<_> = (0..setup.runs()).map(|job| setup.run(&points, job, limits)).collect();
    (0..shards)
        .map(|index| {
            let shard = Shard { index, count: shards };
            let mine = shard.jobs(setup.runs()).map(|j| runs[j as usize].clone()).collect();
            let work = Work::Sweep(Batch { setup: setup.clone(), runs: mine });
            ShardFile::new(print.clone(), shard, setup.runs(), work).encode()
        })
        .collect()
}
