//! Metrics every process exports besides its own: `ek_build_info` (which binary, which
//! version) and the standard `process_*` families (CPU, memory, file descriptors, start time),
//! read from `/proc/self` at each scrape, so the numbers are the kernel's and cost nothing
//! between scrapes. On a system without `/proc` the `process_*` families are left out.

use std::time::{SystemTime, UNIX_EPOCH};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

/// The Linux `USER_HZ`: `/proc/<pid>/stat` reports CPU times and the start time in these
/// ticks. It is 100 on every architecture Linux runs containers on (the kernel keeps it fixed
/// for user space whatever its internal HZ), so it needs no `sysconf` call (no unsafe code).
const CLOCK_TICKS_PER_SEC: f64 = 100.0;

/// Registers `ek_build_info{binary, version}` and the process collector on `registry`.
pub fn register(registry: &mut Registry, binary: &str) {
    let info = Info::new(vec![("binary", binary.to_owned()), ("version", env!("CARGO_PKG_VERSION").to_owned())]);
    registry.sub_registry_with_prefix("ek").register("build", "Which binary and version this process runs", info);
    registry.register_collector(Box::new(ProcessCollector));
}

/// The running binary's file name (`crawler-worker`, `producer`, ...), for `ek_build_info`.
pub fn binary_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// One reading of `/proc/self`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessStats {
    pub cpu_seconds: f64,
    pub resident_bytes: u64,
    pub virtual_bytes: u64,
    pub threads: u64,
    pub open_fds: u64,
    pub max_fds: Option<u64>,
    pub start_time_seconds: f64,
}

impl ProcessStats {
    /// Reads the current process; `None` without a readable `/proc/self/stat`.
    pub fn read() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
        let boot = std::fs::read_to_string("/proc/stat").ok().and_then(|s| boot_time(&s));
        let open_fds = std::fs::read_dir("/proc/self/fd").map(|d| d.count() as u64).unwrap_or(0);
        Self::parse(&stat, &status, &limits, boot, open_fds)
    }

    /// The pure part of [`Self::read`], for tests.
    pub fn parse(stat: &str, status: &str, limits: &str, boot_time: Option<u64>, open_fds: u64) -> Option<Self> {
        // The command name (field 2) is in parentheses and may hold spaces: split after it.
        let rest = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // `rest` starts at field 3 (state), so field N is fields[N - 3].
        let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
        let ticks = field(14)? + field(15)?;
        let start_ticks = field(22)?;
        let kib = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        };
        let max_fds = limits
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .and_then(|l| l.split_whitespace().nth(3)?.parse::<u64>().ok());
        Some(Self {
            cpu_seconds: ticks as f64 / CLOCK_TICKS_PER_SEC,
            resident_bytes: kib("VmRSS:").unwrap_or(0) * 1024,
            virtual_bytes: field(23).unwrap_or(0),
            threads: kib("Threads:").unwrap_or(0),
            open_fds,
            max_fds,
            start_time_seconds: boot_time.map_or_else(
                || SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64()),
                |b| b as f64 + start_ticks as f64 / CLOCK_TICKS_PER_SEC,
            ),
        })
    }
}

/// `btime` of `/proc/stat`: the boot time in Unix seconds.
fn boot_time(proc_stat: &str) -> Option<u64> {
    proc_stat.lines().find_map(|l| l.strip_prefix("btime ")).and_then(|v| v.trim().parse().ok())
}

/// Encodes a fresh [`ProcessStats`] on every scrape.
#[derive(Debug)]
struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(s) = ProcessStats::read() else { return Ok(()) };
        let cpu = ConstCounter::new(s.cpu_seconds);
        cpu.encode(encoder.encode_descriptor(
            "process_cpu_seconds",
            "User and system CPU time spent, in seconds",
            None,
            cpu.metric_type(),
        )?)?;
        let mut gauge = |name: &str, help: &str, value: f64| -> Result<(), std::fmt::Error> {
            let g = ConstGauge::new(value);
            g.encode(encoder.encode_descriptor(name, help, None, g.metric_type())?)
        };
        gauge("process_resident_memory_bytes", "Resident memory size, in bytes", s.resident_bytes as f64)?;
        gauge("process_virtual_memory_bytes", "Virtual memory size, in bytes", s.virtual_bytes as f64)?;
        gauge("process_threads", "OS threads of the process", s.threads as f64)?;
        gauge("process_open_fds", "Open file descriptors", s.open_fds as f64)?;
        if let Some(max) = s.max_fds {
            gauge("process_max_fds", "Limit on open file descriptors", max as f64)?;
        }
        gauge("process_start_time_seconds", "Start time of the process, in Unix seconds", s.start_time_seconds)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_files_even_with_spaces_in_the_command_name() {
        let stat = "4242 (tokio rt) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50 0 0 20 0 7 0 1000 123456789 2048";
        let status = "Name:\ttokio rt\nVmRSS:\t   5120 kB\nThreads:\t7\n";
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1048576              1048576              files\n";
        let s = ProcessStats::parse(stat, status, limits, Some(1_700_000_000), 12).expect("parsed");
        assert!((s.cpu_seconds - 3.0).abs() < 1e-9, "{s:?}");
        assert_eq!(s.resident_bytes, 5120 * 1024);
        assert_eq!(s.virtual_bytes, 123_456_789);
        assert_eq!(s.threads, 7);
        assert_eq!(s.max_fds, Some(1_048_576));
        assert!((s.start_time_seconds - 1_700_000_010.0).abs() < 1e-9);
        assert!(ProcessStats::parse("garbage", "", "", None, 0).is_none());
    }

    #[test]
    fn the_registry_exports_build_info_and_process_families() {
        let mut registry = Registry::default();
        register(&mut registry, "test-binary");
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).expect("encode");
        assert!(text.contains("ek_build_info{binary=\"test-binary\",version=\""), "{text}");
        if ProcessStats::read().is_some() {
            for name in ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_start_time_seconds"] {
                assert!(text.contains(&format!("\n{name} ")), "{name} missing:\n{text}");
            }
        }
    }
}
