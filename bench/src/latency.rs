//! The latency the sim injects: fixed, long-tail with the same mean, none, or a raw spec; and
//! the danawa-sim `--latency` argument for each.

use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub enum LatencyArg {
    /// No added latency: the zero-latency throughput run.
    Zero,
    /// Every request takes the mean.
    Fixed,
    /// Log-normal, capped, with the same mean as `Fixed`.
    LongTail,
    /// A danawa-sim spec passed through (`uniform:1000-2500`, ...).
    Spec(String),
}

impl FromStr for LatencyArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "0" | "none" | "zero" => Ok(Self::Zero),
            "fixed" => Ok(Self::Fixed),
            "long-tail" | "longtail" => Ok(Self::LongTail),
            spec if spec.contains(':') => Ok(Self::Spec(spec.to_owned())),
            other => Err(format!("unknown latency {other:?}: 0, fixed, long-tail or a danawa-sim spec")),
        }
    }
}

impl LatencyArg {
    /// The danawa-sim `--latency` value.
    pub fn sim_spec(&self, mean: Duration, sigma: f64, cap_multiple: f64) -> String {
        let mean_ms = mean.as_secs_f64() * 1e3;
        match self {
            Self::Zero => "none".to_owned(),
            Self::Fixed => format!("fixed:{}", mean_ms.round()),
            Self::LongTail => {
                let cap_ms = (mean_ms * cap_multiple).round();
                let median = longtail_median(mean_ms, sigma, cap_ms);
                format!("longtail:{}:{sigma}:{cap_ms}", median.round())
            }
            Self::Spec(spec) => spec.clone(),
        }
    }
}

/// The median of a log-normal with this `sigma` whose values capped at `cap` have mean
/// `mean`: E[min(X, M)] = e^(mu + s^2/2) Phi((ln M - mu - s^2)/s) + M (1 - Phi((ln M - mu)/s)),
/// which grows with mu; solved by bisection.
pub(crate) fn longtail_median(mean: f64, sigma: f64, cap: f64) -> f64 {
    let capped_mean = |mu: f64| {
        let ln_cap = cap.ln();
        let below = (mu + sigma * sigma / 2.0).exp() * phi((ln_cap - mu - sigma * sigma) / sigma);
        below + cap * (1.0 - phi((ln_cap - mu) / sigma))
    };
    let (mut lo, mut hi) = (mean.ln() - 10.0, cap.ln());
    for _ in 0..200 {
        let mid = (lo + hi) / 2.0;
        if capped_mean(mid) < mean {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    ((lo + hi) / 2.0).exp()
}

/// The standard normal distribution function.
fn phi(x: f64) -> f64 {
    0.5 * (1.0 + erf(x / std::f64::consts::SQRT_2))
}

/// Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7).
fn erf(x: f64) -> f64 {
    let sign = x.signum();
    let x = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly =
        t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    sign * (1.0 - poly * (-x * x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_uncapped_longtail_has_the_lognormal_median() {
        let median = longtail_median(1750.0, 0.8, 1e12);
        let expected = 1750.0 / (0.32f64).exp();
        assert!((median - expected).abs() < 1.0, "{median} vs {expected}");
    }

    #[test]
    fn the_cap_raises_the_median_to_keep_the_mean() {
        assert!(longtail_median(1750.0, 0.8, 10_500.0) > longtail_median(1750.0, 0.8, 1e12));
    }

    #[test]
    fn specs() {
        let mean = Duration::from_millis(1750);
        assert_eq!(LatencyArg::Fixed.sim_spec(mean, 0.8, 6.0), "fixed:1750");
        assert_eq!(LatencyArg::Zero.sim_spec(mean, 0.8, 6.0), "none");
        assert!(LatencyArg::LongTail.sim_spec(mean, 0.8, 6.0).starts_with("longtail:"));
        assert_eq!("0".parse::<LatencyArg>(), Ok(LatencyArg::Zero));
    }
}
