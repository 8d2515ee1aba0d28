//! Per-peer-IP burst throttling: the sliding window of each peer's recent requests and the end
//! of its penalty. The decision is a pure function of the settings, the peer's history and the
//! time, tested on its own.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::faults::Throttle;

/// Peers remembered before the table starts over (a crawl has a handful).
const MAX_PEERS: usize = 10_000;

#[derive(Default)]
struct Peer {
    recent: VecDeque<Instant>,
    penalised_until: Option<Instant>,
}

/// The throttling state of one sim.
#[derive(Default)]
pub(crate) struct Throttler {
    peers: Mutex<HashMap<IpAddr, Peer>>,
}

impl Throttler {
    /// Whether the request of `ip` at `now` is throttled. Requests during a penalty are not
    /// counted and do not extend it; after it the window starts empty.
    pub(super) fn throttled(&self, settings: &Throttle, ip: IpAddr, now: Instant) -> bool {
        let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        if peers.len() >= MAX_PEERS && !peers.contains_key(&ip) {
            peers.clear();
        }
        let peer = peers.entry(ip).or_default();
        if let Some(until) = peer.penalised_until {
            if now < until {
                return true;
            }
            peer.penalised_until = None;
            peer.recent.clear();
        }
        let window = Duration::from_millis(settings.window_ms);
        while peer.recent.front().is_some_and(|&t| now.duration_since(t) >= window) {
            peer.recent.pop_front();
        }
        peer.recent.push_back(now);
        if peer.recent.len() > settings.burst as usize {
            peer.penalised_until = Some(now + Duration::from_millis(settings.penalty_ms));
            peer.recent.clear();
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_over_the_limit_is_penalised_then_forgiven() {
        let settings = Throttle { burst: 3, window_ms: 1_000, penalty_ms: 500 };
        let throttler = Throttler::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        assert!(!throttler.throttled(&settings, ip, at(0)));
        assert!(!throttler.throttled(&settings, ip, at(100)));
        assert!(!throttler.throttled(&settings, ip, at(200)));
        assert!(throttler.throttled(&settings, ip, at(300)), "the fourth within a second");
        assert!(!throttler.throttled(&settings, other, at(300)), "per IP");
        assert!(throttler.throttled(&settings, ip, at(799)), "still penalised");
        assert!(!throttler.throttled(&settings, ip, at(800)), "penalty over, window empty");
        // Spread out, the same number of requests is fine.
        for ms in [2_000, 2_400, 2_800, 3_200, 3_600, 4_000] {
            assert!(!throttler.throttled(&settings, ip, at(ms)), "{ms}");
        }
    }
}
