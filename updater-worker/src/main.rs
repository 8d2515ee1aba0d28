//! updater-worker.

fn main() {}
