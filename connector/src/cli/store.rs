//! `symbolon store migrate`.

use anyhow::Context as _;

use super::{CommandResult, DataDirArg};
use crate::store::migrate::{migrate_sled, SLED_BACKUP_DIR};

/// Store commands.
#[derive(Debug, clap::Subcommand)]
pub enum StoreCommand {
    /// Move a store written by an earlier Symbolon (the sled engine) to SQLite; the old files
    /// are kept in `DIR/store.sled-backup`. Stop `symbolon serve` first.
    Migrate {
        #[command(flatten)]
        dir: DataDirArg,
    },
}

/// Runs a store command.
pub async fn run(command: StoreCommand) -> CommandResult {
    match command {
        StoreCommand::Migrate { dir } => {
            let root = dir.data_dir;
            let shown = root.display().to_string();
            let migrated = tokio::task::spawn_blocking(move || migrate_sled(&root))
                .await
                .context("the migration was interrupted")?
                .with_context(|| format!("cannot migrate the store of `{shown}`"))?;
            for (table, count) in &migrated.records {
                println!("{table:<13} {count}");
            }
            println!("{:<13} {}", "nonces", migrated.nonces);
            println!(
                "{:<13} {} entries, {} signed heads (hash chain and latest head checked)",
                "audit", migrated.audit_entries, migrated.heads
            );
            println!("the sled files are kept in {shown}/{SLED_BACKUP_DIR}");
            Ok(())
        }
    }
}
