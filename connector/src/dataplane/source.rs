//! What a dataset offer serves, on disk or behind a URL: checked when the offer is created and
//! resolved, per request, to a file, a listing or an upstream URL. A path from a request never
//! leaves the offer's directory: `..`, absolute paths and symbolic links that point outside
//! are refused.

use std::path::{Component, Path, PathBuf};

use serde::Serialize;

use crate::domain::DataSource;

/// Most entries a directory listing holds.
pub const MAX_LISTING: usize = 10_000;
/// How deep a directory listing descends.
const MAX_DEPTH: usize = 16;

/// What a request is served from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A file on disk.
    File(PathBuf),
    /// A directory's listing.
    Listing(PathBuf),
    /// An upstream URL, relayed.
    Url(String),
}

/// Why a request names nothing the offer serves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// The path is not one the offer serves (404).
    #[error("{0}")]
    NotFound(String),
    /// The offer's own source is unusable (the operator's mistake).
    #[error("{0}")]
    Unusable(String),
}

/// A relative path of plain components (no `..`, no root, no `.` only, no NUL or `\`), as
/// given in an offer or a request.
pub fn relative(path: &str) -> Result<PathBuf, String> {
    if path.is_empty() || path.len() > 1024 {
        return Err("a path of 1 to 1024 characters is needed".into());
    }
    if path.contains(['\0', '\\']) {
        return Err("a path must not contain NUL or `\\`".into());
    }
    let mut clean = PathBuf::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err("a path must not contain `..`".into()),
            Component::RootDir | Component::Prefix(_) => {
                return Err("a path must be relative to the data folder".into())
            }
        }
    }
    if clean.as_os_str().is_empty() {
        return Err("the path names no file".into());
    }
    Ok(clean)
}

/// Checks `source` when an offer is created, against the data folder `root`: a file or
/// directory exists there with the right kind, or a URL is `http(s)`. Blocking (file system).
pub fn check(source: &DataSource, root: &Path) -> Result<(), String> {
    match source {
        DataSource::File(path) | DataSource::Directory(path) => {
            let wanted_dir = matches!(source, DataSource::Directory(_));
            let full = root.join(relative(path)?);
            let inside = inside(root, &full).map_err(|e| format!("`{path}`: {e}"))?;
            let metadata = std::fs::metadata(&inside)
                .map_err(|e| format!("`{path}` under `{}`: {e}", root.display()))?;
            match (wanted_dir, metadata.is_dir()) {
                (true, false) => Err(format!("`{path}` is not a directory")),
                (false, true) => Err(format!("`{path}` is a directory; use `directory`")),
                _ => Ok(()),
            }
        }
        DataSource::Url(url) => {
            let parsed = url::Url::parse(url).map_err(|e| format!("`{url}`: {e}"))?;
            match parsed.scheme() {
                "http" | "https" if parsed.host_str().is_some() => Ok(()),
                _ => Err(format!("`{url}` is not an http(s) URL with a host")),
            }
        }
    }
}

/// `full`, canonical, if it lies under `root` (both resolved, so a symbolic link pointing
/// outside is refused).
fn inside(root: &Path, full: &Path) -> Result<PathBuf, String> {
    let root = root
        .canonicalize()
        .map_err(|e| format!("the data folder: {e}"))?;
    let full = full.canonicalize().map_err(|e| e.to_string())?;
    if full.starts_with(&root) {
        Ok(full)
    } else {
        Err("it lies outside the data folder".into())
    }
}

/// What a request for `tail` (the path after the process id, if any) of an offer serving
/// `source` from `root` is served from. Blocking (file system).
pub fn resolve(
    source: &DataSource,
    root: &Path,
    tail: Option<&str>,
) -> Result<Target, SourceError> {
    let tail = tail.filter(|t| !t.is_empty());
    let only_root =
        || SourceError::NotFound("this dataset is one resource: request it without a path".into());
    match source {
        DataSource::File(path) => {
            if tail.is_some() {
                return Err(only_root());
            }
            let full = root.join(relative(path).map_err(SourceError::Unusable)?);
            inside(root, &full)
                .map(Target::File)
                .map_err(|e| SourceError::Unusable(format!("the dataset's file `{path}`: {e}")))
        }
        DataSource::Directory(path) => {
            let dir = root.join(relative(path).map_err(SourceError::Unusable)?);
            let dir = inside(root, &dir).map_err(|e| {
                SourceError::Unusable(format!("the dataset's directory `{path}`: {e}"))
            })?;
            let Some(tail) = tail else {
                return Ok(Target::Listing(dir));
            };
            let missing =
                || SourceError::NotFound(format!("no file `{}` in this dataset", clip(tail)));
            let wanted = relative(tail)
                .map_err(|e| SourceError::NotFound(format!("`{}`: {e}", clip(tail))))?;
            let file = inside(&dir, &dir.join(wanted)).map_err(|_| missing())?;
            if file.is_file() {
                Ok(Target::File(file))
            } else {
                Err(missing())
            }
        }
        DataSource::Url(url) => match tail {
            Some(_) => Err(only_root()),
            None => Ok(Target::Url(url.clone())),
        },
    }
}

/// One file of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Its path under the dataset's directory (`/`-separated).
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
}

/// The files under `dir` (regular files only, sorted, at most [`MAX_LISTING`], at most 16
/// levels deep; symbolic links are not followed). Blocking (file system).
pub fn listing(dir: &Path) -> std::io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    let mut pending = vec![(dir.to_path_buf(), 0)];
    while let Some((at, depth)) = pending.pop() {
        for item in std::fs::read_dir(&at)? {
            let item = item?;
            let kind = item.file_type()?;
            let path = item.path();
            if kind.is_dir() && depth < MAX_DEPTH {
                pending.push((path, depth + 1));
            } else if kind.is_file() {
                let name = path
                    .strip_prefix(dir)
                    .unwrap_or(&path)
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                entries.push(Entry {
                    path: name,
                    size: item.metadata()?.len(),
                });
                if entries.len() >= MAX_LISTING {
                    pending.clear();
                    break;
                }
            }
        }
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(entries)
}

/// A media type for a file, by its extension.
pub fn media_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("csv") => "text/csv",
        Some("json") => "application/json",
        Some("jsonl" | "ndjson") => "application/x-ndjson",
        Some("txt") => "text/plain; charset=utf-8",
        Some("parquet") => "application/vnd.apache.parquet",
        Some("xml") => "application/xml",
        Some("zip") => "application/zip",
        Some("gz") => "application/gzip",
        _ => "application/octet-stream",
    }
}

fn clip(text: &str) -> String {
    text.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("wards/2026")).unwrap();
        std::fs::write(root.path().join("wards/2026/jan.csv"), "ward,beds\n").unwrap();
        std::fs::write(root.path().join("wards/index.json"), "{}").unwrap();
        std::fs::write(root.path().join("secret.txt"), "no").unwrap();
        root
    }

    #[test]
    fn paths_must_be_plain_and_relative() {
        assert_eq!(relative("a/./b.csv").unwrap(), PathBuf::from("a/b.csv"));
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a\\b",
            "a\0b",
            ".",
            "./",
        ] {
            assert!(relative(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_offers_source_is_checked_for_existence_and_kind() {
        let root = data();
        let check = |s: DataSource| check(&s, root.path());
        assert!(check(DataSource::File("wards/index.json".into())).is_ok());
        assert!(check(DataSource::Directory("wards".into())).is_ok());
        assert!(check(DataSource::File("wards".into()))
            .unwrap_err()
            .contains("directory"));
        assert!(check(DataSource::Directory("secret.txt".into())).is_err());
        assert!(check(DataSource::File("missing.csv".into())).is_err());
        assert!(check(DataSource::File("../outside".into())).is_err());
        assert!(check(DataSource::Url("https://db.internal/export".into())).is_ok());
        assert!(check(DataSource::Url("file:///etc/passwd".into())).is_err());
        assert!(check(DataSource::Url("not a url".into())).is_err());
    }

    #[test]
    fn a_request_never_leaves_the_offers_directory() {
        let root = data();
        let source = DataSource::Directory("wards".into());
        let resolve = |tail| resolve(&source, root.path(), tail);
        assert!(
            matches!(resolve(Some("2026/jan.csv")), Ok(Target::File(p)) if p.ends_with("2026/jan.csv"))
        );
        assert!(matches!(resolve(None), Ok(Target::Listing(_))));
        for escape in [
            "../secret.txt",
            "2026/../../secret.txt",
            "/etc/passwd",
            "2026",
            "nope.csv",
        ] {
            assert!(
                matches!(resolve(Some(escape)), Err(SourceError::NotFound(_))),
                "{escape}"
            );
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(
                root.path().join("secret.txt"),
                root.path().join("wards/link.txt"),
            )
            .unwrap();
            assert!(matches!(
                resolve(Some("link.txt")),
                Err(SourceError::NotFound(_))
            ));
        }
    }

    #[test]
    fn a_file_dataset_is_one_resource() {
        let root = data();
        let source = DataSource::File("wards/index.json".into());
        assert!(matches!(
            resolve(&source, root.path(), None),
            Ok(Target::File(_))
        ));
        assert!(matches!(
            resolve(&source, root.path(), Some("x")),
            Err(SourceError::NotFound(_))
        ));
    }

    #[test]
    fn a_listing_names_every_file_under_the_directory() {
        let root = data();
        let entries = listing(&root.path().join("wards")).unwrap();
        let names: Vec<_> = entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(names, ["2026/jan.csv", "index.json"]);
        assert_eq!(entries[0].size, 10);
    }
}
