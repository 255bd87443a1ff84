//! `symbolon presentation create|verify`.

use std::sync::Arc;

use anyhow::{anyhow, Context as _};
use symbolon_identity::nonce::MemoryNonceStore;
use symbolon_identity::{create_presentation, Expectations, Format, Input, Secured};

use super::{print_report, read_input, CommandResult, DataDirArg, Failure};
use crate::datadir::DataDir;

/// Presentation commands.
#[derive(Debug, clap::Subcommand)]
pub enum PresentationCommand {
    /// Present credentials from the wallet (or the given files), bound to a nonce and audience.
    Create {
        #[command(flatten)]
        dir: DataDirArg,
        /// The verifier's nonce (challenge; it may begin with `-`, as a base64url one can).
        #[arg(long, allow_hyphen_values = true)]
        nonce: String,
        /// The verifier's DID or origin (audience, domain).
        #[arg(long)]
        audience: String,
        /// jwt, di (eddsa-rdfc-2022), di-jcs (eddsa-jcs-2022) or sd-jwt (one SD-JWT VC
        /// presented with a Key Binding JWT).
        #[arg(long, default_value = "jwt")]
        format: String,
        /// With sd-jwt: the claims to disclose (`name`, or `name=value` for one element of an
        /// array claim), comma-separated or repeated; the others stay hidden. Without it,
        /// every claim is disclosed.
        #[arg(long, value_delimiter = ',')]
        disclose: Option<Vec<String>>,
        /// Credential files to present (default: every credential in the wallet).
        files: Vec<String>,
    },
    /// Verify a presentation (exit 0 valid, 1 invalid, 2 usage error).
    Verify {
        /// The nonce (challenge) the presentation must carry (it may begin with `-`).
        #[arg(long, allow_hyphen_values = true)]
        nonce: String,
        /// The audience (domain) the presentation must name.
        #[arg(long)]
        audience: String,
        #[command(flatten)]
        trust: super::credential::TrustArgs,
        /// Print the full report as JSON.
        #[arg(long)]
        json: bool,
        /// The presentation file (`-` for standard input).
        file: String,
    },
}

/// Runs a presentation command.
pub async fn run(command: PresentationCommand) -> CommandResult {
    match command {
        PresentationCommand::Create {
            dir,
            nonce,
            audience,
            format,
            disclose,
            files,
        } => {
            let dir = DataDir::new(&dir.data_dir);
            let identity = dir.identity().context("cannot load the identity")?;
            let format: Format = format
                .parse()
                .map_err(|e: String| Failure::Usage(anyhow!(e)))?;
            let credentials: Vec<Secured> = if files.is_empty() {
                crate::store::Store::open(dir.root())
                    .and_then(|store| store.credentials.list())
                    .context("cannot read the wallet")?
                    .iter()
                    .map(|c| c.secured())
                    .collect()
            } else {
                let mut credentials = Vec::new();
                for file in &files {
                    match Input::parse(&read_input(file)?).map_err(|e| Failure::Usage(e.into()))? {
                        Input::Jwt(token) => credentials.push(Secured::Jwt(token)),
                        Input::Json(value) => credentials.push(Secured::Json(value)),
                    }
                }
                credentials
            };
            let presentation = match (format, disclose) {
                (Format::SdJwt, Some(disclose)) => {
                    let [Secured::Jwt(token)] = credentials.as_slice() else {
                        return Err(Failure::Usage(anyhow!(
                            "an SD-JWT presentation carries exactly one SD-JWT VC: name its file"
                        )));
                    };
                    symbolon_identity::sd_jwt::present(
                        token,
                        &identity.key,
                        &symbolon_identity::sd_jwt::Presentation {
                            disclose: &disclose,
                            nonce: &nonce,
                            audience: &audience,
                        },
                    )
                    .map(Secured::Jwt)
                    .context("cannot create the presentation")?
                }
                (_, Some(_)) => {
                    return Err(Failure::Usage(anyhow!(
                        "--disclose applies to --format sd-jwt only"
                    )))
                }
                (format, None) => {
                    create_presentation(&identity, &credentials, format, &nonce, &audience)
                        .await
                        .context("cannot create the presentation")?
                }
            };
            println!("{}", presentation.to_text());
            Ok(())
        }
        PresentationCommand::Verify {
            nonce,
            audience,
            trust,
            json,
            file,
        } => {
            let text = read_input(&file)?;
            let verifier = super::credential::verifier(trust.trust()?)
                .await?
                .with_nonce_store(Arc::new(MemoryNonceStore::default()));
            let input = match Input::parse(&text) {
                Ok(input) => input,
                Err(error) => {
                    eprintln!("rejected: {error}");
                    return Err(Failure::Rejected);
                }
            };
            let report = verifier
                .verify_presentation(
                    &input,
                    &Expectations {
                        challenge: nonce,
                        audience,
                    },
                )
                .await;
            print_report(&report, json)
        }
    }
}
