//! Fault injection: latency, error statuses, soft blocks, block pages, truncated and slow
//! bodies, connection resets. Set by flags, changed at run time through `/_sim/faults`.
//! Each request draws once: at most one fault per request, each with its own probability.

use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// Added latency before the answer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Latency {
    #[default]
    None,
    Fixed {
        ms: u64,
    },
    Uniform {
        min_ms: u64,
        max_ms: u64,
    },
    /// Log-normal: half the requests wait less than `median_ms`; `sigma` widens the tail.
    LongTail {
        median_ms: u64,
        sigma: f64,
        max_ms: u64,
    },
}

impl Latency {
    /// One draw.
    pub fn sample<R: Rng>(&self, rng: &mut R) -> Duration {
        let ms = match *self {
            Latency::None => 0.0,
            Latency::Fixed { ms } => ms as f64,
            Latency::Uniform { min_ms, max_ms } => rng.gen_range(min_ms as f64..=max_ms.max(min_ms) as f64),
            Latency::LongTail { median_ms, sigma, max_ms } => {
                (median_ms as f64 * (sigma * standard_normal(rng)).exp()).min(max_ms as f64)
            }
        };
        Duration::from_micros((ms * 1000.0) as u64)
    }
}

/// Box–Muller: a standard normal draw from two uniforms.
fn standard_normal<R: Rng>(rng: &mut R) -> f64 {
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Which requests faults apply to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every crawler-facing endpoint (never `/_sim/*`).
    #[default]
    All,
    /// Only the list AJAX endpoint.
    List,
    /// Only the three AJAX endpoints.
    Ajax,
    /// Only pages (`/list/`, `/info/`).
    Pages,
}

/// The fault settings. Rates are probabilities per request (0..=1); their sum must not exceed 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultConfig {
    pub latency: Latency,
    pub scope: Scope,
    /// 500/502/503 answers.
    pub error_5xx: f64,
    pub status_403: f64,
    pub status_429: f64,
    /// `Retry-After` seconds on 403/429/503; `None` sends no header.
    pub retry_after_secs: Option<u64>,
    /// Share of 403/429/503 answers that carry `Retry-After` (when set).
    pub retry_after_share: f64,
    /// 200 with an empty body.
    pub empty_200: f64,
    /// A list request answered with another page of the same listing (the previous one).
    pub repeat_page: f64,
    /// 200 with a block page carrying `비정상적인 접근`.
    pub block_page: f64,
    /// The body cut short (Content-Length matches the cut body).
    pub truncate: f64,
    /// The body dribbled out at `slow_body_bytes_per_sec`.
    pub slow_body: f64,
    pub slow_body_bytes_per_sec: u64,
    /// The TCP connection reset (RST) instead of an answer.
    pub reset: f64,
    /// Per-IP burst throttling (off when `None`); independent of `scope` and the rates.
    pub throttle: Option<Throttle>,
}

/// The 2026 throttling report (DANAWA.md "Newer evidence": Next.js template; "Blocks and
/// politeness"): a peer IP that sends more than `burst` crawler-facing requests within
/// `window_ms` gets empty 200 answers (list requests: the previous page again) for `penalty_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Throttle {
    pub burst: u32,
    pub window_ms: u64,
    pub penalty_ms: u64,
}

/// A fault setting that cannot be installed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultError {
    #[error("{name} must be within 0..=1, got {rate}")]
    Rate { name: &'static str, rate: f64 },
    #[error("fault rates add up to {0}, more than 1")]
    RatesOverOne(f64),
    #[error("retry_after_share must be within 0..=1")]
    RetryAfterShare,
    #[error("throttle {text:?}: {problem} (BURST:WINDOW_MS:PENALTY_MS, the window at least 1 ms)")]
    Throttle { text: String, problem: &'static str },
}

impl std::str::FromStr for Throttle {
    type Err = FaultError;

    /// `BURST:WINDOW_MS:PENALTY_MS`, e.g. `20:1000:5000`.
    fn from_str(text: &str) -> Result<Self, FaultError> {
        let bad = |problem| FaultError::Throttle { text: text.to_owned(), problem };
        let parts: Vec<&str> = text.split(':').map(str::trim).collect();
        let [burst, window, penalty] = parts.as_slice() else { return Err(bad("three numbers expected")) };
        let number = |s: &str| s.parse::<u64>().map_err(|_| bad("not a number"));
        let throttle = Throttle {
            burst: u32::try_from(number(burst)?).map_err(|_| bad("burst too large"))?,
            window_ms: number(window)?,
            penalty_ms: number(penalty)?,
        };
        if throttle.window_ms == 0 {
            return Err(bad("the window must be at least 1 ms"));
        }
        Ok(throttle)
    }
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self {
            latency: Latency::None,
            scope: Scope::All,
            error_5xx: 0.0,
            status_403: 0.0,
            status_429: 0.0,
            retry_after_secs: None,
            retry_after_share: 1.0,
            empty_200: 0.0,
            repeat_page: 0.0,
            block_page: 0.0,
            truncate: 0.0,
            slow_body: 0.0,
            slow_body_bytes_per_sec: 16_384,
            reset: 0.0,
            throttle: None,
        }
    }
}

/// The fault chosen for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    Error5xx(u16),
    Status403,
    Status429,
    Empty200,
    RepeatPage,
    BlockPage,
    Truncate,
    SlowBody,
    Reset,
    /// Not drawn: set by the throttle (empty 200, or the previous list page).
    Throttled,
}

impl Fault {
    /// Short name for stats and logs.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Error5xx(_) => "5xx",
            Fault::Status403 => "403",
            Fault::Status429 => "429",
            Fault::Empty200 => "empty_200",
            Fault::RepeatPage => "repeat_page",
            Fault::BlockPage => "block_page",
            Fault::Truncate => "truncate",
            Fault::SlowBody => "slow_body",
            Fault::Reset => "reset",
            Fault::Throttled => "throttled",
        }
    }
}

impl FaultConfig {
    /// Checks rates before they are installed.
    ///
    /// # Errors
    /// A [`FaultError`] naming the bad setting.
    pub fn validate(&self) -> Result<(), FaultError> {
        let rates = self.rates();
        for (name, rate) in rates {
            if !(0.0..=1.0).contains(&rate) {
                return Err(FaultError::Rate { name, rate });
            }
        }
        let sum: f64 = rates.iter().map(|(_, r)| r).sum();
        if sum > 1.0 + 1e-9 {
            return Err(FaultError::RatesOverOne(sum));
        }
        if !(0.0..=1.0).contains(&self.retry_after_share) {
            return Err(FaultError::RetryAfterShare);
        }
        if let Some(throttle) = self.throttle.filter(|t| t.window_ms == 0) {
            let text = format!("{}:{}:{}", throttle.burst, throttle.window_ms, throttle.penalty_ms);
            return Err(FaultError::Throttle { text, problem: "the window must be at least 1 ms" });
        }
        Ok(())
    }

    fn rates(&self) -> [(&'static str, f64); 9] {
        [
            ("error_5xx", self.error_5xx),
            ("status_403", self.status_403),
            ("status_429", self.status_429),
            ("empty_200", self.empty_200),
            ("repeat_page", self.repeat_page),
            ("block_page", self.block_page),
            ("truncate", self.truncate),
            ("slow_body", self.slow_body),
            ("reset", self.reset),
        ]
    }

    /// Draws the fault (if any) for one request.
    pub fn draw<R: Rng>(&self, rng: &mut R) -> Option<Fault> {
        let roll: f64 = rng.gen();
        let mut acc = 0.0;
        for (name, rate) in self.rates() {
            acc += rate;
            if roll < acc {
                return Some(match name {
                    "error_5xx" => Fault::Error5xx(*[500u16, 502, 503].get(rng.gen_range(0..3)).unwrap_or(&500)),
                    "status_403" => Fault::Status403,
                    "status_429" => Fault::Status429,
                    "empty_200" => Fault::Empty200,
                    "repeat_page" => Fault::RepeatPage,
                    "block_page" => Fault::BlockPage,
                    "truncate" => Fault::Truncate,
                    "slow_body" => Fault::SlowBody,
                    _ => Fault::Reset,
                });
            }
        }
        None
    }

    /// Whether a `Retry-After` header goes on this answer.
    pub fn retry_after<R: Rng>(&self, rng: &mut R) -> Option<u64> {
        let secs = self.retry_after_secs?;
        rng.gen_bool(self.retry_after_share.clamp(0.0, 1.0)).then_some(secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn rates_over_one_are_refused() {
        let config = FaultConfig { error_5xx: 0.7, reset: 0.4, ..FaultConfig::default() };
        assert!(config.validate().is_err());
        assert!(FaultConfig::default().validate().is_ok());
    }

    #[test]
    fn throttle_specs_parse() {
        let t: Throttle = "20:1000:5000".parse().unwrap();
        assert_eq!(t, Throttle { burst: 20, window_ms: 1000, penalty_ms: 5000 });
        assert!("20:1000".parse::<Throttle>().is_err());
        assert!("20:0:5".parse::<Throttle>().is_err());
        assert!("a:1:2".parse::<Throttle>().is_err());
    }

    #[test]
    fn long_tail_is_capped() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let latency = Latency::LongTail { median_ms: 10, sigma: 3.0, max_ms: 50 };
        assert!((0..1000).all(|_| latency.sample(&mut rng) <= Duration::from_millis(50)));
    }
}
