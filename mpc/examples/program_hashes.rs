//! Prints every program of the library with its hash, as a manifest names it.
//!
//! `cargo run -p symbolon-mpc --example program_hashes`

fn main() {
    for spec in symbolon_mpc::programs::catalog() {
        println!("{} {} {}", spec.id, spec.version, spec.hash());
    }
}
