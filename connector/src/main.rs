//! The `symbolon` command line.
fn main() {}
