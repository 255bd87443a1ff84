//! The checks of single members of a HealthDCAT-AP description, each naming the member it
//! refuses.

/// Why a HealthDCAT-AP description is refused: the member and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `health.dcat.{member}`: {why}")]
pub struct DcatError {
    /// The member, as a path under `health.dcat` (`hdab.email`, `health_categories[1]`).
    pub member: String,
    /// Why.
    pub why: String,
}

impl DcatError {
    /// The member as a JSON pointer into the offer (`/health/dcat/health_categories/1`).
    pub fn pointer(&self) -> String {
        let path = self.member.replace(['.', '['], "/").replace(']', "");
        format!("/health/dcat/{path}")
    }
}

pub(super) fn refuse(member: impl Into<String>, why: impl Into<String>) -> DcatError {
    DcatError {
        member: member.into(),
        why: why.into(),
    }
}

/// Longest text accepted in a member.
const MAX_TEXT: usize = 2000;

pub(super) fn text(member: &str, value: &str) -> Result<(), DcatError> {
    if value.trim().is_empty() {
        return Err(refuse(member, "must not be empty"));
    }
    if value.chars().count() > MAX_TEXT {
        return Err(refuse(member, format!("longer than {MAX_TEXT} characters")));
    }
    Ok(())
}

pub(super) fn iri(member: &str, value: &str) -> Result<(), DcatError> {
    let scheme_ok = value.starts_with("https://")
        || value.starts_with("http://")
        || value.starts_with("did:")
        || value.starts_with("urn:");
    if !scheme_ok
        || value.len() > MAX_TEXT
        || value
            .chars()
            .any(|c| c.is_whitespace() || "<>\"{}|\\^`".contains(c))
    {
        return Err(refuse(
            member,
            format!(
                "`{}` is not an absolute IRI (http, https, did or urn)",
                bounded(value)
            ),
        ));
    }
    Ok(())
}

pub(super) fn page(member: &str, value: &str) -> Result<(), DcatError> {
    iri(member, value)?;
    if !(value.starts_with("https://") || value.starts_with("http://")) {
        return Err(refuse(member, "must be an http(s) URL"));
    }
    Ok(())
}

pub(super) fn email(member: &str, value: &str) -> Result<(), DcatError> {
    let ok = value.len() <= 254
        && value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
        })
        && !value
            .chars()
            .any(|c| c.is_whitespace() || "<>\"(),;:[]\\".contains(c));
    if ok {
        Ok(())
    } else {
        Err(refuse(
            member,
            format!("`{}` is not an e-mail address", bounded(value)),
        ))
    }
}

pub(super) fn date(member: &str, value: &str) -> Result<chrono::NaiveDate, DcatError> {
    chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
        refuse(
            member,
            format!("`{}` is not a date (YYYY-MM-DD)", bounded(value)),
        )
    })
}

pub(super) fn bounded(value: &str) -> String {
    value.chars().take(100).collect()
}
