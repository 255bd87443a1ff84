//! A computation offer's data, read from its CSV file when a session's program runs: the
//! columns the binding names (integers) and, for linking programs, the identifier column.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead as _, BufReader};
use std::path::Path;

use symbolon_mpc::programs::LocalTable;

use crate::dataplane::source;
use crate::domain::{DataSource, InputBinding};

/// Largest CSV file read (1 GiB).
pub const MAX_FILE_BYTES: u64 = 1 << 30;
/// Longest line read.
const MAX_LINE: usize = 64 * 1024;

/// Why a binding cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum BindingError {
    /// The file is missing, outside the data folder, too large or unreadable.
    #[error("the data file `{file}`: {reason}")]
    File {
        /// The binding's file.
        file: String,
        /// Why.
        reason: String,
    },
    /// The header lacks a column the binding names, or repeats one.
    #[error("the data file `{file}` has no column `{column}` (its header: {header})")]
    MissingColumn {
        /// The binding's file.
        file: String,
        /// The CSV column.
        column: String,
        /// The header found.
        header: String,
    },
    /// A value is not what the binding says.
    #[error("the data file `{file}`, line {line}, column `{column}`: {reason}")]
    Value {
        /// The binding's file.
        file: String,
        /// The line (1 is the header).
        line: usize,
        /// The CSV column.
        column: String,
        /// Why.
        reason: String,
    },
}

/// Checks, when an offer is created, that the binding's file is a readable file under `root`
/// and its header has every column the binding names.
pub fn check(binding: &InputBinding, root: &Path) -> Result<(), BindingError> {
    let file_error = |reason: String| BindingError::File {
        file: binding.file.clone(),
        reason,
    };
    if binding.columns.is_empty() && binding.ids.is_none() {
        return Err(file_error("the binding names no column".into()));
    }
    source::check(&DataSource::File(binding.file.clone()), root).map_err(file_error)?;
    let mut lines = open(binding, root)?;
    let header = next_line(&mut lines, binding)?.unwrap_or_default();
    positions(binding, &header).map(|_| ())
}

/// Reads the binding's data.
pub fn load(binding: &InputBinding, root: &Path) -> Result<LocalTable, BindingError> {
    let mut lines = open(binding, root)?;
    let header = next_line(&mut lines, binding)?.unwrap_or_default();
    let (id_at, columns) = positions(binding, &header)?;
    let mut table = LocalTable {
        ids: id_at.map(|_| Vec::new()),
        columns: columns
            .iter()
            .map(|(name, _, _)| ((*name).to_owned(), Vec::new()))
            .collect(),
    };
    let mut seen = HashSet::new();
    let mut line_no = 1;
    while let Some(line) = next_line(&mut lines, binding)? {
        line_no += 1;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let value_error = |column: &str, reason: String| BindingError::Value {
            file: binding.file.clone(),
            line: line_no,
            column: column.to_owned(),
            reason,
        };
        if let (Some(at), Some(ids)) = (id_at, table.ids.as_mut()) {
            let column = binding.ids.as_deref().unwrap_or_default();
            let id = fields
                .get(at)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| value_error(column, "no identifier".into()))?;
            if !seen.insert((*id).to_owned()) {
                return Err(value_error(column, format!("identifier `{id}` repeats")));
            }
            ids.push((*id).to_owned());
        }
        for (name, csv, at) in &columns {
            let text = fields
                .get(*at)
                .ok_or_else(|| value_error(csv, "the line has too few fields".into()))?;
            let value = text
                .parse::<i64>()
                .map_err(|_| value_error(csv, format!("`{text}` is not an integer")))?;
            if let Some(column) = table.columns.get_mut(*name) {
                column.push(value);
            }
        }
    }
    Ok(table)
}

type Lines = std::io::Lines<BufReader<std::fs::File>>;

fn open(binding: &InputBinding, root: &Path) -> Result<Lines, BindingError> {
    let file_error = |reason: String| BindingError::File {
        file: binding.file.clone(),
        reason,
    };
    let path = match source::resolve(&DataSource::File(binding.file.clone()), root, None) {
        Ok(source::Target::File(path)) => path,
        Ok(_) => return Err(file_error("not a file".into())),
        Err(error) => return Err(file_error(error.to_string())),
    };
    let file = std::fs::File::open(&path).map_err(|e| file_error(e.to_string()))?;
    let size = file
        .metadata()
        .map_err(|e| file_error(e.to_string()))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(file_error(format!(
            "{size} bytes, more than the {MAX_FILE_BYTES} a binding may read"
        )));
    }
    Ok(BufReader::new(file).lines())
}

fn next_line(lines: &mut Lines, binding: &InputBinding) -> Result<Option<String>, BindingError> {
    match lines.next() {
        None => Ok(None),
        Some(Err(error)) => Err(BindingError::File {
            file: binding.file.clone(),
            reason: error.to_string(),
        }),
        Some(Ok(line)) if line.len() > MAX_LINE => Err(BindingError::File {
            file: binding.file.clone(),
            reason: format!("a line longer than {MAX_LINE} bytes"),
        }),
        Some(Ok(line)) => Ok(Some(line)),
    }
}

/// The identifier column's position and each bound column's (program name, CSV name,
/// position).
#[allow(clippy::type_complexity)]
fn positions<'a>(
    binding: &'a InputBinding,
    header: &str,
) -> Result<(Option<usize>, Vec<(&'a str, &'a str, usize)>), BindingError> {
    let names: BTreeMap<&str, usize> = header
        .trim_start_matches('\u{feff}')
        .split(',')
        .map(str::trim)
        .enumerate()
        .map(|(i, n)| (n, i))
        .collect();
    let find = |column: &str| {
        names
            .get(column)
            .copied()
            .ok_or_else(|| BindingError::MissingColumn {
                file: binding.file.clone(),
                column: column.to_owned(),
                header: header.chars().take(200).collect(),
            })
    };
    let id_at = binding.ids.as_deref().map(find).transpose()?;
    let columns = binding
        .columns
        .iter()
        .map(|(name, csv)| Ok((name.as_str(), csv.as_str(), find(csv)?)))
        .collect::<Result<_, BindingError>>()?;
    Ok((id_at, columns))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(columns: &[(&str, &str)], ids: Option<&str>) -> InputBinding {
        InputBinding {
            file: "t.csv".into(),
            columns: columns
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect(),
            ids: ids.map(str::to_owned),
        }
    }

    fn dir_with(text: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t.csv"), text).unwrap();
        dir
    }

    #[test]
    fn a_binding_reads_its_columns_under_their_program_names() {
        let dir = dir_with("pseudonym,cost,visits\na1,100,3\nb2,250,0\n");
        let b = binding(&[("annual_cost", "cost")], Some("pseudonym"));
        check(&b, dir.path()).unwrap();
        let table = load(&b, dir.path()).unwrap();
        assert_eq!(table.ids, Some(vec!["a1".to_owned(), "b2".to_owned()]));
        assert_eq!(table.columns["annual_cost"], vec![100, 250]);
        assert_eq!(table.columns.len(), 1, "unbound columns are not read");
    }

    #[test]
    fn bad_files_are_refused_with_the_line_and_column() {
        let dir = dir_with("id,salary\nx,2500\ny,lots\n");
        let b = binding(&[("salary", "salary")], None);
        let error = load(&b, dir.path()).unwrap_err().to_string();
        assert!(
            error.contains("line 3") && error.contains("`lots`"),
            "{error}"
        );

        let missing = binding(&[("salary", "wage")], None);
        let error = check(&missing, dir.path()).unwrap_err().to_string();
        assert!(error.contains("no column `wage`"), "{error}");

        let repeated = dir_with("id,salary\nx,1\nx,2\n");
        let error = load(
            &binding(&[("salary", "salary")], Some("id")),
            repeated.path(),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("`x` repeats"), "{error}");

        let outside = InputBinding {
            file: "../t.csv".into(),
            ..binding(&[("salary", "salary")], None)
        };
        assert!(check(&outside, dir.path()).is_err());
        let short = dir_with("id,salary\nx\n");
        let error = load(&binding(&[("salary", "salary")], None), short.path())
            .unwrap_err()
            .to_string();
        assert!(error.contains("too few fields"), "{error}");
    }
}
