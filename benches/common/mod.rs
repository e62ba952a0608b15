//! What the benchmarks share: the machine they ran on, the memory a
//! process holds, an executor that does nothing.
#![allow(dead_code)]

use async_trait::async_trait;
use cronport::export::delivery::Outcome;
use cronport::export::pipeline::Rendered;
use cronport::export::{ExportError, RunContext};
use cronport::job::Job;
use cronport::scheduler::Executor;

/// Executes nothing, at once: the scheduler, the store or the console is
/// measured, not an export.
pub struct Instantly;

#[async_trait]
impl Executor for Instantly {
    async fn render(
        &self,
        _job: &Job,
        _ctx: &RunContext,
        _measure: cronport::export::pipeline::Measure,
    ) -> Result<Rendered, ExportError> {
        Ok(Rendered::nothing())
    }

    async fn deliver(
        &self,
        _job: &Job,
        _rendered: &Rendered,
        _ctx: &RunContext,
    ) -> Result<Outcome, ExportError> {
        Ok(Outcome {
            deliveries: Vec::new(),
            failure: None,
        })
    }
}

/// "2 cores available (model), 23 GB RAM, shared with other work: load ...".
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|s| s.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .map(|l| l.split_whitespace().nth(1).unwrap_or("?").to_string())
        .unwrap_or_default();
    format!(
        "machine: {cores} cores available ({model}), {} MB RAM, shared with other work: {}",
        mem.parse::<u64>().map_or(0, |kb| kb / 1024),
        loadavg()
    )
}

/// "load average 1.02 0.80 0.55".
pub fn loadavg() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let parts: Vec<&str> = text.split_whitespace().take(3).collect();
    format!("load average {}", parts.join(" "))
}

/// Resident and peak resident memory of this process, in kB.
pub fn rss_kb() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The whole machine's CPU time so far, from /proc/stat: everything, idle
/// (with I/O wait), and stolen by the hypervisor, in clock ticks.
#[derive(Clone, Copy)]
pub struct MachineTime {
    total: u64,
    idle: u64,
    steal: u64,
}

pub fn machine_time() -> MachineTime {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = text
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let get = |i: usize| fields.get(i).copied().unwrap_or(0);
    MachineTime {
        total: fields.iter().take(8).sum(),
        idle: get(3) + get(4),
        steal: get(7),
    }
}

/// What the machine did since `since`: the share of all cores busy (every
/// process, ours included) and the share stolen by the hypervisor; other
/// engineers' work and the host both move our figures.
pub fn machine_since(since: MachineTime) -> String {
    let now = machine_time();
    let total = now.total.saturating_sub(since.total).max(1) as f64;
    let idle = now.idle.saturating_sub(since.idle) as f64;
    let steal = now.steal.saturating_sub(since.steal) as f64;
    format!(
        "machine meanwhile: {:.0}% of all cores busy, {:.0}% stolen by the hypervisor",
        (total - idle - steal) / total * 100.0,
        steal / total * 100.0
    )
}
