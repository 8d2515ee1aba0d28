//! Parser throughput benches (placeholder).
fn main() {}
