//! The `symbolon` command line.

fn main() -> std::process::ExitCode {
    symbolon_connector::cli::main()
}
