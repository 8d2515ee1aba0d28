//! crawler-worker.

fn main() {}
