//! CPU seconds and peak resident memory of a process, from /proc (running processes) or
//! getrusage (children already reaped).

use std::fs;

use nix::sys::resource::{getrusage, UsageWho};
use serde::Serialize;

/// Clock ticks per second in /proc/PID/stat: USER_HZ, 100 on every Linux architecture this runs on.
const USER_HZ: f64 = 100.0;

/// What one process cost up to the moment it was sampled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Usage {
    /// utime + stime.
    pub cpu_secs: f64,
    /// VmHWM: the largest resident set the process had.
    pub peak_rss_kib: u64,
}

/// Samples a running process; `None` when it is gone.
pub(crate) fn sample(pid: u32) -> Option<Usage> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    Some(Usage { cpu_secs: cpu_secs(&stat)?, peak_rss_kib: vm_hwm_kib(&status).unwrap_or(0) })
}

/// utime + stime from a /proc/PID/stat line. The command name (field 2) may hold spaces and
/// parentheses, so fields are counted after its last ')'.
fn cpu_secs(stat: &str) -> Option<f64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, so utime (field 14) is index 11 and stime index 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / USER_HZ)
}

fn parent_pid(stat: &str) -> Option<u32> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

fn vm_hwm_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Children of `parent` whose command line contains `needle` (servers the test harness
/// started, whose pids it does not expose).
pub(crate) fn children_matching(parent: u32, needle: &str) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            parent_pid(&stat) == Some(parent) && String::from_utf8_lossy(&cmdline).contains(needle)
        })
        .collect()
}

/// CPU and the largest peak RSS of every child reaped so far (getrusage RUSAGE_CHILDREN).
pub(crate) fn reaped_children() -> Usage {
    match getrusage(UsageWho::RUSAGE_CHILDREN) {
        Ok(usage) => {
            let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
            Usage {
                cpu_secs: secs(usage.user_time()) + secs(usage.system_time()),
                peak_rss_kib: u64::try_from(usage.max_rss()).unwrap_or(0),
            }
        }
        Err(_) => Usage::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_after_a_name_with_spaces() {
        let stat = "42 (a (b) c) S 7 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 5 1000 10";
        assert_eq!(parent_pid(stat), Some(7));
        assert_eq!(cpu_secs(stat), Some(3.0));
    }

    #[test]
    fn own_process_can_be_sampled() {
        let usage = sample(std::process::id()).expect("own /proc entry");
        assert!(usage.peak_rss_kib > 0);
    }

    #[test]
    fn vm_hwm() {
        assert_eq!(vm_hwm_kib("Name:\tx\nVmHWM:\t   12345 kB\nVmRSS:\t 1 kB\n"), Some(12345));
    }
}
