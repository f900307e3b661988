//! Service-time and think-time distributions, compiled once from a scenario and sampled in the
//! hot loop without allocation. Parameters are in nanoseconds; samples are [`SimDuration`]s.
//!
//! Every family samples through `rand_distr`, except the empirical distribution (inverse CDF by
//! linear interpolation between quantile points) and mixtures (pick a part by weight).

use std::fmt;

use rand::RngExt;
use rand_distr::{Distribution, Exp1, StandardNormal};

use crate::rng::RngStream;
use crate::time::SimDuration;

/// The standard normal quantile at 0.99, used to turn (median, p99) into a log-normal sigma.
pub const Z_99: f64 = 2.326_347_874_040_840_8;

/// How many times a truncated normal redraws a negative sample before giving zero.
const NORMAL_REDRAWS: u32 = 64;

/// A compiled distribution of durations. Build it with the constructors, which check the
/// parameters; all values are nanoseconds.
#[derive(Clone, Debug)]
pub enum Dist {
    /// Always the same value.
    Constant(f64),
    /// Uniform on `[low, high)`.
    Uniform {
        /// Smallest value.
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// Exponential with the given mean.
    Exponential {
        /// The mean.
        mean: f64,
    },
    /// Normal truncated at zero: negative draws are drawn again.
    Normal {
        /// Mean before truncation.
        mean: f64,
        /// Standard deviation before truncation.
        std_dev: f64,
    },
    /// Log-normal: `exp(mu + sigma * Z)`.
    LogNormal {
        /// Mean of the logarithm (of nanoseconds).
        mu: f64,
        /// Standard deviation of the logarithm.
        sigma: f64,
    },
    /// Pareto (type I): `scale / U^(1/shape)`, never below `scale`.
    Pareto {
        /// Minimum value.
        scale: f64,
        /// Tail index; the mean is finite only above 1.
        shape: f64,
    },
    /// Weibull: `scale * (-ln U)^(1/shape)`.
    Weibull {
        /// Scale.
        scale: f64,
        /// Shape; 1 is the exponential.
        shape: f64,
    },
    /// Inverse CDF interpolated linearly between `(probability, value)` points that start at
    /// probability 0 and end at 1.
    Empirical {
        /// The quantile points, probabilities and values both non-decreasing.
        points: Vec<(f64, f64)>,
    },
    /// A weighted choice among parts.
    Mixture {
        /// Cumulative weights, normalised so the last is 1.
        cumulative: Vec<f64>,
        /// The parts, one per weight.
        parts: Vec<Dist>,
    },
}

/// Why a distribution's parameters were refused. Messages name the parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum DistError {
    /// A parameter that must be positive (or non-negative) is not, or is not finite.
    OutOfRange {
        /// The parameter's name as written in scenario files.
        param: &'static str,
        /// What it must be.
        must_be: &'static str,
        /// The value given.
        value: f64,
    },
    /// Two parameters are in the wrong order (`min > max`, `p99 < median`).
    Order {
        /// What must hold.
        rule: &'static str,
    },
    /// An empirical distribution's points are malformed.
    Empirical(&'static str),
    /// A mixture has no parts or no positive weight.
    EmptyMixture,
}

impl fmt::Display for DistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DistError::OutOfRange { param, must_be, value } => {
                write!(f, "`{param}` must be {must_be}, got {value}")
            }
            DistError::Order { rule } => write!(f, "{rule}"),
            DistError::Empirical(why) => write!(f, "empirical points: {why}"),
            DistError::EmptyMixture => {
                write!(f, "a mixture needs at least one part with positive weight")
            }
        }
    }
}

impl std::error::Error for DistError {}

fn positive(param: &'static str, value: f64) -> Result<f64, DistError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(DistError::OutOfRange { param, must_be: "positive", value })
    }
}

fn non_negative(param: &'static str, value: f64) -> Result<f64, DistError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(DistError::OutOfRange { param, must_be: "zero or more", value })
    }
}

impl Dist {
    /// Always `value` nanoseconds.
    pub fn constant(value: f64) -> Result<Dist, DistError> {
        Ok(Dist::Constant(non_negative("value", value)?))
    }

    /// Uniform between `low` and `high` nanoseconds.
    pub fn uniform(low: f64, high: f64) -> Result<Dist, DistError> {
        let low = non_negative("min", low)?;
        let high = non_negative("max", high)?;
        if low > high {
            return Err(DistError::Order { rule: "`min` must not exceed `max`" });
        }
        Ok(Dist::Uniform { low, high })
    }

    /// Exponential with mean `mean` nanoseconds.
    pub fn exponential(mean: f64) -> Result<Dist, DistError> {
        Ok(Dist::Exponential { mean: positive("mean", mean)? })
    }

    /// Normal truncated at zero.
    pub fn normal(mean: f64, std_dev: f64) -> Result<Dist, DistError> {
        Ok(Dist::Normal { mean: positive("mean", mean)?, std_dev: non_negative("std_dev", std_dev)? })
    }

    /// Log-normal given its median and 99th percentile, which is how engineers describe latency.
    pub fn log_normal_median_p99(median: f64, p99: f64) -> Result<Dist, DistError> {
        let median = positive("median", median)?;
        let p99 = positive("p99", p99)?;
        if p99 <= median {
            return Err(DistError::Order { rule: "`p99` must be greater than `median`" });
        }
        Ok(Dist::LogNormal { mu: median.ln(), sigma: (p99 / median).ln() / Z_99 })
    }

    /// Log-normal given its mean and standard deviation.
    pub fn log_normal_mean_std_dev(mean: f64, std_dev: f64) -> Result<Dist, DistError> {
        let mean = positive("mean", mean)?;
        let std_dev = positive("std_dev", std_dev)?;
        let sigma2 = (1.0 + (std_dev / mean).powi(2)).ln();
        Ok(Dist::LogNormal { mu: mean.ln() - sigma2 / 2.0, sigma: sigma2.sqrt() })
    }

    /// Pareto with minimum `scale` nanoseconds and tail index `shape`.
    pub fn pareto(scale: f64, shape: f64) -> Result<Dist, DistError> {
        Ok(Dist::Pareto { scale: positive("scale", scale)?, shape: positive("shape", shape)? })
    }

    /// Weibull with `scale` nanoseconds and `shape`.
    pub fn weibull(scale: f64, shape: f64) -> Result<Dist, DistError> {
        Ok(Dist::Weibull { scale: positive("scale", scale)?, shape: positive("shape", shape)? })
    }

    /// Empirical distribution from `(probability, nanoseconds)` quantile points: probabilities
    /// from 0 to 1, both columns non-decreasing, at least two points.
    pub fn empirical(points: Vec<(f64, f64)>) -> Result<Dist, DistError> {
        if points.len() < 2 {
            return Err(DistError::Empirical("at least two points are needed"));
        }
        for &(p, value) in &points {
            if !(0.0..=1.0).contains(&p) {
                return Err(DistError::Empirical("probabilities must lie in [0, 1]"));
            }
            non_negative("value", value)?;
        }
        if points.first().map(|p| p.0) != Some(0.0) || points.last().map(|p| p.0) != Some(1.0) {
            return Err(DistError::Empirical("the first probability must be 0 and the last 1"));
        }
        if points.windows(2).any(|w| w[1].0 < w[0].0 || w[1].1 < w[0].1) {
            return Err(DistError::Empirical("probabilities and values must not decrease"));
        }
        Ok(Dist::Empirical { points })
    }

    /// A weighted mixture; weights need not sum to 1.
    pub fn mixture(parts: Vec<(f64, Dist)>) -> Result<Dist, DistError> {
        let mut total = 0.0;
        for &(weight, _) in &parts {
            total += non_negative("weight", weight)?;
        }
        if parts.is_empty() || total <= 0.0 {
            return Err(DistError::EmptyMixture);
        }
        let mut cumulative = Vec::with_capacity(parts.len());
        let mut running = 0.0;
        let mut dists = Vec::with_capacity(parts.len());
        for (weight, dist) in parts {
            running += weight / total;
            cumulative.push(running);
            dists.push(dist);
        }
        if let Some(last) = cumulative.last_mut() {
            *last = 1.0;
        }
        Ok(Dist::Mixture { cumulative, parts: dists })
    }

    /// Draws one duration.
    #[inline]
    pub fn sample(&self, rng: &mut RngStream) -> SimDuration {
        SimDuration::from_nanos_f64(self.sample_nanos(rng))
    }

    /// Draws one value in fractional nanoseconds.
    ///
    /// The exponential (Poisson arrivals, M/M/c service) is drawn inline at the caller; the other
    /// families go through one call, which keeps this small enough to inline everywhere. Both
    /// paths draw the same values from the same random numbers.
    #[inline]
    pub fn sample_nanos(&self, rng: &mut RngStream) -> f64 {
        match self {
            Dist::Exponential { mean } => {
                let unit: f64 = Exp1.sample(rng);
                unit * mean
            }
            _ => self.sample_any(rng),
        }
    }

    /// Draws one value of any family, out of line.
    #[inline(never)]
    fn sample_any(&self, rng: &mut RngStream) -> f64 {
        match self {
            Dist::Constant(value) => *value,
            Dist::Uniform { low, high } => low + (high - low) * rng.random::<f64>(),
            Dist::Exponential { mean } => {
                let unit: f64 = Exp1.sample(rng);
                unit * mean
            }
            Dist::Normal { mean, std_dev } => {
                for _ in 0..NORMAL_REDRAWS {
                    let z: f64 = StandardNormal.sample(rng);
                    let x = mean + std_dev * z;
                    if x >= 0.0 {
                        return x;
                    }
                }
                0.0
            }
            Dist::LogNormal { mu, sigma } => {
                let z: f64 = StandardNormal.sample(rng);
                (mu + sigma * z).exp()
            }
            Dist::Pareto { scale, shape } => {
                // 1 - U lies in (0, 1], so the power is finite.
                let u = 1.0 - rng.random::<f64>();
                scale * u.powf(-1.0 / shape)
            }
            Dist::Weibull { scale, shape } => {
                let unit: f64 = Exp1.sample(rng);
                scale * unit.powf(1.0 / shape)
            }
            Dist::Empirical { points } => {
                let u: f64 = rng.random();
                let upper = points.partition_point(|&(p, _)| p <= u).clamp(1, points.len() - 1);
                let (p0, x0) = points[upper - 1];
                let (p1, x1) = points[upper];
                if p1 > p0 { x0 + (x1 - x0) * (u - p0) / (p1 - p0) } else { x1 }
            }
            Dist::Mixture { cumulative, parts } => {
                let u: f64 = rng.random();
                let idx = cumulative.partition_point(|&c| c <= u).min(parts.len() - 1);
                parts[idx].sample_nanos(rng)
            }
        }
    }

    /// The exact mean in nanoseconds (infinite for a Pareto with shape at most 1).
    pub fn mean(&self) -> f64 {
        match self {
            Dist::Constant(value) => *value,
            Dist::Uniform { low, high } => (low + high) / 2.0,
            Dist::Exponential { mean } => *mean,
            Dist::Normal { mean, std_dev } => {
                if *std_dev == 0.0 {
                    return *mean;
                }
                // Mean of a normal truncated below at 0: mu + sigma * phi(a) / (1 - Phi(a)),
                // a = -mu / sigma.
                let a = -mean / std_dev;
                let pdf = (-a * a / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
                let survival = 0.5 * statrs::function::erf::erfc(a / std::f64::consts::SQRT_2);
                mean + std_dev * pdf / survival
            }
            Dist::LogNormal { mu, sigma } => (mu + sigma * sigma / 2.0).exp(),
            Dist::Pareto { scale, shape } => {
                if *shape <= 1.0 {
                    f64::INFINITY
                } else {
                    shape * scale / (shape - 1.0)
                }
            }
            Dist::Weibull { scale, shape } => scale * statrs::function::gamma::gamma(1.0 + 1.0 / shape),
            Dist::Empirical { points } => points.windows(2).map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0).sum(),
            Dist::Mixture { cumulative, parts } => {
                let mut previous = 0.0;
                let mut mean = 0.0;
                for (c, part) in cumulative.iter().zip(parts) {
                    mean += (c - previous) * part.mean();
                    previous = *c;
                }
                mean
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    /// Sample mean and the fraction of samples at or below `x` over `n` draws.
    fn moments(dist: &Dist, n: usize, x: f64) -> (f64, f64) {
        let mut rng = stream(11, 0, "dist-test");
        let mut sum = 0.0;
        let mut below = 0usize;
        for _ in 0..n {
            let v = dist.sample_nanos(&mut rng);
            sum += v;
            if v <= x {
                below += 1;
            }
        }
        (sum / n as f64, below as f64 / n as f64)
    }

    /// Checks the sample mean against `mean()` within 5 standard errors (`sd` is the
    /// distribution's standard deviation), and the empirical CDF at `x` against `cdf` within 5
    /// binomial standard errors. 400,000 draws.
    fn check(dist: Dist, sd: f64, x: f64, cdf: f64) {
        let n = 400_000;
        let (mean, below) = moments(&dist, n, x);
        let se_mean = sd / (n as f64).sqrt();
        assert!((mean - dist.mean()).abs() <= 5.0 * se_mean, "{dist:?}: mean {mean} vs {}", dist.mean());
        let se_cdf = (cdf * (1.0 - cdf) / n as f64).sqrt();
        assert!((below - cdf).abs() <= 5.0 * se_cdf, "{dist:?}: P(X<={x}) {below} vs {cdf}");
    }

    #[test]
    fn exponential_matches_its_cdf() {
        check(Dist::exponential(2.0).unwrap(), 2.0, 2.0, 1.0 - (-1.0f64).exp());
    }

    /// The inline exponential and the out-of-line path draw the same values from the same stream.
    #[test]
    fn inline_exponential_draws_what_the_general_path_draws() {
        let d = Dist::exponential(1e6).unwrap();
        let (mut inline, mut general) = (stream(3, 0, "inline"), stream(3, 0, "inline"));
        for _ in 0..10_000 {
            assert_eq!(d.sample_nanos(&mut inline).to_bits(), d.sample_any(&mut general).to_bits());
        }
    }

    #[test]
    fn uniform_matches_its_cdf() {
        check(Dist::uniform(1.0, 3.0).unwrap(), 2.0 / 12f64.sqrt(), 1.5, 0.25);
    }

    #[test]
    fn log_normal_median_and_p99_are_the_quantiles_given() {
        let d = Dist::log_normal_median_p99(2e6, 10e6).unwrap();
        let (_, below_median) = moments(&d, 400_000, 2e6);
        let (_, below_p99) = moments(&d, 400_000, 10e6);
        let se = |p: f64| (p * (1.0 - p) / 400_000f64).sqrt();
        assert!((below_median - 0.5).abs() < 5.0 * se(0.5));
        assert!((below_p99 - 0.99).abs() < 5.0 * se(0.99));
    }

    #[test]
    fn log_normal_mean_std_dev_has_that_mean() {
        check(Dist::log_normal_mean_std_dev(5.0, 3.0).unwrap(), 3.0, 5.0, {
            // P(X <= mean) = Phi((ln mean - mu) / sigma) = Phi(sigma / 2).
            let sigma = (1.0 + 0.36f64).ln().sqrt();
            1.0 - 0.5 * statrs::function::erf::erfc(sigma / 2.0 / std::f64::consts::SQRT_2)
        });
    }

    #[test]
    fn pareto_weibull_and_normal_match_closed_forms() {
        // Pareto(1, 3): sd = sqrt(3 / ((3-1)^2 (3-2))) = 0.866; P(X <= 2) = 1 - 2^-3.
        check(Dist::pareto(1.0, 3.0).unwrap(), 0.866, 2.0, 0.875);
        // Weibull(1, 2): mean = Gamma(1.5) = 0.8862, sd = sqrt(1 - 0.785) = 0.4633; CDF(1) = 1 - 1/e.
        check(Dist::weibull(1.0, 2.0).unwrap(), 0.4633, 1.0, 1.0 - (-1.0f64).exp());
        // Normal(10, 2) is unaffected by truncation at 0; CDF at the mean is 1/2.
        check(Dist::normal(10.0, 2.0).unwrap(), 2.0, 10.0, 0.5);
    }

    #[test]
    fn truncated_normal_mean_is_the_half_normal_mean_when_centred_at_zero() {
        // A normal(mu -> 0, 1) truncated at 0 is the half-normal, mean sqrt(2 / pi).
        let d = Dist::normal(1e-12, 1.0).unwrap();
        assert!((d.mean() - (2.0 / std::f64::consts::PI).sqrt()).abs() < 1e-9);
        check(d, 0.6028, 1.0, 0.6827);
    }

    #[test]
    fn empirical_interpolates_between_points() {
        let d = Dist::empirical(vec![(0.0, 0.0), (0.5, 1.0), (1.0, 3.0)]).unwrap();
        // Mean: 0.5 * 0.5 + 0.5 * 2 = 1.25; P(X <= 2) = 0.75.
        assert!((d.mean() - 1.25).abs() < 1e-12);
        check(d, 0.9, 2.0, 0.75);
    }

    #[test]
    fn bimodal_mixture_hits_each_mode_by_weight() {
        let d =
            Dist::mixture(vec![(99.0, Dist::constant(1.0).unwrap()), (1.0, Dist::constant(150.0).unwrap())]).unwrap();
        assert!((d.mean() - (0.99 + 1.5)).abs() < 1e-12);
        check(d, (0.99 * 0.01f64).sqrt() * 149.0, 1.0, 0.99);
    }

    #[test]
    fn constructors_refuse_bad_parameters() {
        assert!(Dist::exponential(0.0).is_err());
        assert!(Dist::exponential(f64::NAN).is_err());
        assert!(Dist::uniform(3.0, 1.0).is_err());
        assert!(Dist::log_normal_median_p99(5.0, 2.0).is_err());
        assert!(Dist::empirical(vec![(0.0, 1.0), (0.9, 2.0)]).is_err());
        assert!(Dist::empirical(vec![(0.0, 3.0), (1.0, 2.0)]).is_err());
        assert!(Dist::mixture(vec![]).is_err());
        assert!(Dist::mixture(vec![(0.0, Dist::constant(1.0).unwrap())]).is_err());
    }
}
