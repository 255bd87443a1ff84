//! The analytics study's tables and plaintext answer: the committed 4,000 synthetic patients
//! (`mpc/tests/data/ppa-study/n4000`), or a directory with the same four files, for the study
//! at another size (`symbolon demo --study-data DIR`).

use std::path::Path;

use serde_json::Value;

use super::DemoError;

/// The files a study directory holds.
const FILES: [&str; 4] = ["insurer.csv", "hospital.csv", "cbs.csv", "expected.json"];

/// The largest file read (the study at 100,000 patients is a few megabytes a table).
const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;

/// The study's three tables and its plaintext answer.
#[derive(Debug, Clone)]
pub struct StudyData {
    /// The insurer's annual costs per pseudonym.
    pub insurer: String,
    /// The hospital's app use and visits per pseudonym.
    pub hospital: String,
    /// The statistics bureau's income group per pseudonym.
    pub bureau: String,
    /// The plaintext answer the session's cells are checked against.
    pub expected: Value,
}

impl StudyData {
    /// The committed study over 4,000 synthetic patients.
    pub fn committed() -> Result<StudyData, DemoError> {
        StudyData::new(
            include_str!("../../../mpc/tests/data/ppa-study/n4000/insurer.csv"),
            include_str!("../../../mpc/tests/data/ppa-study/n4000/hospital.csv"),
            include_str!("../../../mpc/tests/data/ppa-study/n4000/cbs.csv"),
            include_str!("../../../mpc/tests/data/ppa-study/n4000/expected.json"),
        )
    }

    /// The study in `dir`: `insurer.csv`, `hospital.csv`, `cbs.csv` and `expected.json`.
    pub fn read(dir: &Path) -> Result<StudyData, DemoError> {
        let mut texts = Vec::with_capacity(FILES.len());
        for name in FILES {
            let path = dir.join(name);
            let too_large = |bytes: u64| {
                DemoError::StudyData(format!(
                    "{}: {bytes} bytes, more than the {MAX_FILE_BYTES} a study file may have",
                    path.display()
                ))
            };
            let size = std::fs::metadata(&path)
                .map_err(|e| missing(&path, &e))?
                .len();
            if size > MAX_FILE_BYTES {
                return Err(too_large(size));
            }
            texts.push(std::fs::read_to_string(&path).map_err(|e| missing(&path, &e))?);
        }
        StudyData::new(&texts[0], &texts[1], &texts[2], &texts[3])
    }

    fn new(
        insurer: &str,
        hospital: &str,
        bureau: &str,
        expected: &str,
    ) -> Result<StudyData, DemoError> {
        let expected: Value = serde_json::from_str(expected)
            .map_err(|e| DemoError::StudyData(format!("the study's expected.json: {e}")))?;
        if !expected["cells"].is_array() || expected["n"].as_u64().is_none() {
            return Err(DemoError::StudyData(
                "the study's expected.json has no `n` (the number of patients) or no `cells`"
                    .into(),
            ));
        }
        Ok(StudyData {
            insurer: insurer.to_owned(),
            hospital: hospital.to_owned(),
            bureau: bureau.to_owned(),
            expected,
        })
    }

    /// The number of patients the study links.
    pub fn patients(&self) -> u64 {
        self.expected["n"].as_u64().unwrap_or_default()
    }
}

fn missing(path: &Path, error: &std::io::Error) -> DemoError {
    DemoError::StudyData(format!(
        "{}: {error} (a study directory holds {})",
        path.display(),
        FILES.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_study_has_its_answer() {
        let study = StudyData::committed().unwrap();
        assert_eq!(study.patients(), 4000);
        assert!(study.insurer.starts_with("pseudonym,"));
    }

    #[test]
    fn a_directory_without_the_files_is_named_with_what_it_needs() {
        let dir = tempfile::tempdir().unwrap();
        let error = StudyData::read(dir.path()).unwrap_err().to_string();
        assert!(
            error.contains("insurer.csv") && error.contains("expected.json"),
            "{error}"
        );
    }

    #[test]
    fn an_answer_without_its_size_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        for name in FILES {
            std::fs::write(dir.path().join(name), "pseudonym\n").unwrap();
        }
        std::fs::write(dir.path().join("expected.json"), r#"{"cells": []}"#).unwrap();
        let error = StudyData::read(dir.path()).unwrap_err().to_string();
        assert!(error.contains("`n`"), "{error}");
        std::fs::write(dir.path().join("expected.json"), "{not json").unwrap();
        let error = StudyData::read(dir.path()).unwrap_err().to_string();
        assert!(error.contains("expected.json"), "{error}");
    }
}
