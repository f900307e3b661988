//! Open-loop rates that change over time: a client's base rate shaped by steps, ramps, spikes,
//! a daily rhythm, growth and on/off bursts, and the bound that thinning needs.
//!
//! Poisson arrivals at a varying rate r(t) are drawn by thinning (Lewis and Shedler): candidates
//! at the constant bound r_max, each kept with probability r(t) / r_max. Where the rate is zero
//! (an off period, a step to zero) the candidates jump to the next time it may change.

use rand::RngExt;
use tailsim_engine::{Dist, RngStream, SimDuration, SimTime};

use tailsim_scenario::schema::Shape;

/// One compiled shape; times in nanoseconds from the start of the run.
#[derive(Clone, Debug, PartialEq)]
enum Piece {
    Step { at: u64, rate: f64 },
    Ramp { from: u64, to: u64, rate: f64 },
    Spike { at: u64, end: u64, rate: f64 },
    Diurnal { period_ns: f64, amplitude: f64 },
    Growth { per_hour: f64 },
    OnOff,
}

impl Piece {
    /// The rate at `t` ns after this piece, given `rate` before it: steps, ramps and spikes
    /// set it; the factors (applied by [`Traffic::rate_at`]) leave it.
    fn level(&self, t: u64, rate: f64) -> f64 {
        match *self {
            Piece::Step { at, rate: r } if t >= at => r,
            Piece::Ramp { to, rate: r, .. } if t >= to => r,
            Piece::Ramp { from, to, rate: r } if t >= from => {
                rate + (r - rate) * (t - from) as f64 / (to - from) as f64
            }
            Piece::Spike { at, end, rate: r } if t >= at && t < end => r,
            _ => rate,
        }
    }
}

/// A client's rate over time.
#[derive(Clone, Debug)]
pub struct Traffic {
    base: f64,
    pieces: Vec<Piece>,
    /// Mean on and off periods of the bursts, if any.
    on_off: Option<(Dist, Dist)>,
    /// An upper bound of the rate over the run.
    max_rate: f64,
    /// Every time a piece begins or ends, sorted.
    breakpoints: Vec<u64>,
}

/// Where a client's bursts stand: on or off, and until when.
#[derive(Clone, Copy, Debug)]
pub struct Bursts {
    on: bool,
    until: SimTime,
}

impl Default for Bursts {
    fn default() -> Self {
        Bursts { on: true, until: SimTime::ZERO }
    }
}

/// The most shapes a client's traffic may have: the rate at an instant folds them all, once per
/// candidate arrival, so a hundred thousand would make every arrival slow (and the peak's search
/// quadratic). A recorded day is a `trace`, not thousands of steps.
pub const MAX_SHAPES: usize = 1_000;

impl Traffic {
    /// Compiles `shapes` over `base` for a run of `duration`; errors name the shape.
    pub fn new(base: f64, shapes: &[Shape], duration: SimDuration) -> Result<Traffic, String> {
        if shapes.len() > MAX_SHAPES {
            return Err(format!(
                "`traffic` has {} shapes, more than the {MAX_SHAPES} a client may have; replay a recorded rate as a `trace`",
                shapes.len()
            ));
        }
        let mut pieces = Vec::with_capacity(shapes.len());
        let mut on_off = None;
        let positive = |rate: f64, i: usize| {
            if (0.0..=crate::compile::MAX_RATE_PER_S).contains(&rate) {
                Ok(rate)
            } else {
                Err(format!("`traffic[{i}]`: a rate must be zero or more (and at most 1e9/s), got {rate}"))
            }
        };
        for (i, shape) in shapes.iter().enumerate() {
            pieces.push(match shape {
                Shape::Step { at, rate } => Piece::Step { at: at.0.as_nanos(), rate: positive(*rate, i)? },
                Shape::Ramp { from, to, rate } => {
                    if to.0 <= from.0 {
                        return Err(format!("`traffic[{i}]`: a ramp's `to` must come after its `from`"));
                    }
                    Piece::Ramp { from: from.0.as_nanos(), to: to.0.as_nanos(), rate: positive(*rate, i)? }
                }
                Shape::Spike { at, duration, rate } => Piece::Spike {
                    at: at.0.as_nanos(),
                    end: at.0.as_nanos().saturating_add(duration.0.as_nanos()),
                    rate: positive(*rate, i)?,
                },
                Shape::Diurnal { period, amplitude } => {
                    if period.0 == SimDuration::ZERO || !(0.0..=1.0).contains(amplitude) {
                        return Err(format!("`traffic[{i}]`: `Diurnal` needs a period and an amplitude from 0 to 1"));
                    }
                    Piece::Diurnal { period_ns: period.0.as_nanos() as f64, amplitude: *amplitude }
                }
                Shape::Growth { per_hour } => {
                    if !(per_hour.is_finite() && *per_hour > -1.0 && *per_hour <= 1e3) {
                        return Err(format!("`traffic[{i}]`: `per_hour` must lie above -1 (and at most 1000)"));
                    }
                    Piece::Growth { per_hour: *per_hour }
                }
                Shape::OnOff { on, off } => {
                    if on.0 == SimDuration::ZERO || off.0 == SimDuration::ZERO || on_off.is_some() {
                        return Err(format!("`traffic[{i}]`: one `OnOff` with `on` and `off` above zero"));
                    }
                    on_off = Some((
                        Dist::Exponential { mean: on.0.as_nanos() as f64 },
                        Dist::Exponential { mean: off.0.as_nanos() as f64 },
                    ));
                    Piece::OnOff
                }
            });
        }
        let mut breakpoints: Vec<u64> = pieces
            .iter()
            .flat_map(|p| match *p {
                Piece::Step { at, .. } => vec![at],
                Piece::Ramp { from, to, .. } => vec![from, to],
                Piece::Spike { at, end, .. } => vec![at, end],
                Piece::Diurnal { .. } | Piece::Growth { .. } | Piece::OnOff => vec![],
            })
            .collect();
        breakpoints.sort_unstable();
        breakpoints.dedup();
        let mut traffic = Traffic { base: positive(base, 0)?, pieces, on_off, max_rate: 0.0, breakpoints };
        // The piecewise-linear part peaks at a breakpoint or an end; the factors at their peaks.
        let end = duration.as_nanos();
        let linear_peak = traffic
            .breakpoints
            .iter()
            .copied()
            .chain([0, end])
            .filter(|&t| t <= end)
            .flat_map(|t| [t, t.saturating_sub(1)])
            .map(|t| traffic.linear_rate(t))
            .fold(0.0, f64::max);
        let factor_peak: f64 = traffic
            .pieces
            .iter()
            .map(|p| match *p {
                Piece::Diurnal { amplitude, .. } => 1.0 + amplitude,
                Piece::Growth { per_hour } => (1.0 + per_hour).powf(end as f64 / 3.6e12).max(1.0),
                _ => 1.0,
            })
            .product();
        traffic.max_rate = linear_peak * factor_peak;
        if !(traffic.max_rate.is_finite() && traffic.max_rate <= crate::compile::MAX_RATE_PER_S) {
            return Err(format!("the traffic's peak rate is too high: {:e}/s", traffic.max_rate));
        }
        Ok(traffic)
    }

    /// The rate from the steps, ramps and spikes alone at `t` ns.
    fn linear_rate(&self, t: u64) -> f64 {
        self.pieces.iter().fold(self.base, |rate, piece| piece.level(t, rate))
    }

    /// The rate at `now`, per second, moving the bursts on as far as `now`.
    pub fn rate_at(&self, now: SimTime, bursts: &mut Bursts, rng: &mut RngStream) -> f64 {
        let t = now.as_nanos();
        let mut rate = self.base;
        for piece in &self.pieces {
            rate = piece.level(t, rate);
            match *piece {
                Piece::Diurnal { period_ns, amplitude } => {
                    rate *= 1.0 + amplitude * (std::f64::consts::TAU * t as f64 / period_ns).sin();
                }
                Piece::Growth { per_hour } => rate *= (1.0 + per_hour).powf(t as f64 / 3.6e12),
                Piece::OnOff => {
                    if let Some((on, off)) = &self.on_off {
                        while bursts.until <= now {
                            // The first period (from 0) is on; each later one switches.
                            if bursts.until > SimTime::ZERO {
                                bursts.on = !bursts.on;
                            }
                            let length = if bursts.on { on.sample(rng) } else { off.sample(rng) };
                            // A zero-length draw still moves on: periods last at least 1 ns.
                            bursts.until = bursts.until.saturating_add(length.max(SimDuration(1)));
                        }
                    }
                    if !bursts.on {
                        rate = 0.0;
                    }
                }
                _ => {}
            }
        }
        rate.max(0.0)
    }

    /// The bound thinning draws candidates at, per second.
    pub fn max_rate(&self) -> f64 {
        self.max_rate
    }

    /// The next time after `now` the rate may change from zero: a breakpoint or the end of the
    /// current off period.
    pub fn next_change(&self, now: SimTime, bursts: &Bursts) -> SimTime {
        let t = now.as_nanos();
        let next = self.breakpoints.iter().copied().find(|&b| b > t).map_or(SimTime(u64::MAX), SimTime);
        if self.on_off.is_some() && !bursts.on { next.min(bursts.until) } else { next }
    }

    /// The mean rate over `[0, duration)`, per second, for the offered-load estimate (bursts
    /// counted at their long-run share of time on).
    pub fn mean_rate(&self, duration: SimDuration) -> f64 {
        const POINTS: u64 = 10_000;
        let end = duration.as_nanos().max(1);
        let on_share = match &self.on_off {
            Some((on, off)) => on.mean() / (on.mean() + off.mean()),
            None => 1.0,
        };
        let mut bursts = Bursts { on: true, until: SimTime(u64::MAX) };
        let mut rng = tailsim_engine::rng::stream(0, 0, "mean-rate");
        let sum: f64 =
            (0..POINTS).map(|k| self.rate_at(SimTime((k * 2 + 1) * end / (2 * POINTS)), &mut bursts, &mut rng)).sum();
        sum / POINTS as f64 * on_share
    }

    /// Draws the time of the next Poisson arrival after `now` by thinning: `(t, true)`, or
    /// `(t, false)` when none was kept within a bounded amount of work and the caller should
    /// look again from `t`. A time at or past `end` means none in the run.
    pub fn next_poisson(
        &self,
        now: SimTime,
        end: SimTime,
        bursts: &mut Bursts,
        gaps: &mut RngStream,
        coins: &mut RngStream,
    ) -> (SimTime, bool) {
        let mean_gap_ns = 1e9 / self.max_rate;
        let gap = Dist::Exponential { mean: mean_gap_ns };
        let mut t = now;
        for _ in 0..1024 {
            t = t.saturating_add(gap.sample(gaps));
            if t >= end {
                return (t, true);
            }
            let rate = self.rate_at(t, bursts, coins);
            let silent = (self.on_off.is_some() && !bursts.on) || self.linear_rate(t.as_nanos()) <= 0.0;
            if silent {
                // Nothing until the rate may change: start again from there (memoryless).
                t = self.next_change(t, bursts);
                if t >= end {
                    return (t, true);
                }
                continue;
            }
            if coins.random::<f64>() * self.max_rate < rate {
                return (t, true);
            }
        }
        (t, false)
    }
}
