//! producer.

fn main() {}
