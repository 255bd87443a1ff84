//! The `symbolon` command line.

/// mimalloc keeps freed memory for reuse: an MPC session's rounds allocate and free large
/// message and result buffers, which the system allocator returns to the kernel only to fault
/// them in again (a quarter to a third of the engine's time; see `mpc/README.md`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    symbolon_connector::cli::main()
}
