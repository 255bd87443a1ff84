//! Diagnostics: what is wrong, where, and how to fix it; rendered as text with a caret or as JSON.

use std::fmt;
use std::sync::Arc;

use serde_json::json;

use crate::loc::{SourceFile, Span};

/// At most this many diagnostics are reported for one check or parse; the rest are dropped, so a
/// huge broken input cannot make reporting slow.
pub const MAX_DIAGNOSTICS: usize = 100;

/// One problem found in a policy source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file the culprit is in.
    pub file: Arc<SourceFile>,
    /// The culprit.
    pub span: Span,
    /// What is wrong, in plain words (lowercase, no final period).
    pub message: String,
    /// Concrete advice, such as a "did you mean" suggestion.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic without help.
    pub fn new(file: &Arc<SourceFile>, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            file: Arc::clone(file),
            span,
            message: message.into(),
            help: None,
        }
    }

    /// Adds advice.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The source text of the culprit.
    pub fn snippet(&self) -> &str {
        self.file.snippet(self.span)
    }

    /// The diagnostic as JSON: `file`, `line`, `column`, `end_line`, `end_column`, `message`,
    /// `help`, `snippet`.
    pub fn to_json(&self) -> serde_json::Value {
        let start = self.file.line_col(self.span.start);
        let end = self.file.line_col(self.span.end);
        json!({
            "file": self.file.name(),
            "line": start.line,
            "column": start.column,
            "end_line": end.line,
            "end_column": end.column,
            "message": self.message,
            "help": self.help,
            "snippet": self.snippet(),
        })
    }
}

impl fmt::Display for Diagnostic {
    /// `file:line:column: error: message`, the source line, a caret line under the culprit and
    /// `help: ...` if there is advice.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.file.line_col(self.span.start);
        writeln!(
            f,
            "{}:{}:{}: error: {}",
            self.file.name(),
            at.line,
            at.column,
            self.message
        )?;
        let line = self.file.line_text(at.line);
        let gutter = at.line.to_string();
        let pad = " ".repeat(gutter.len());
        writeln!(f, "{pad} |")?;
        writeln!(f, "{gutter} | {line}")?;
        // Underline to the end of the span or the end of the line, at least one caret.
        let end = self.file.line_col(self.span.end);
        let line_chars = line.chars().count();
        let last = if end.line == at.line {
            end.column
        } else {
            line_chars + 1
        };
        let width = last.saturating_sub(at.column).max(1);
        let indent: String = line
            .chars()
            .take(at.column.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        writeln!(f, "{pad} | {indent}{}", "^".repeat(width))?;
        if let Some(help) = &self.help {
            writeln!(f, "{pad} = help: {help}")?;
        }
        Ok(())
    }
}

/// Every problem found in one or more policy sources.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diagnostics {
    /// The problems, in the order found.
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Whether there are no problems.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The problems as text, one block each, as a compiler shows them.
    pub fn render(&self) -> String {
        self.to_string()
    }

    /// The problems as a JSON array of [`Diagnostic::to_json`] objects.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Array(self.items.iter().map(Diagnostic::to_json).collect())
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.items.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        let n = self.items.len();
        write!(f, "{n} error{}", if n == 1 { "" } else { "s" })
    }
}

impl std::error::Error for Diagnostics {}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics { items: vec![d] }
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    //! Asserts the words of a diagnostic: message, help and the one underlined text.

    use super::Diagnostics;

    /// What a test expects of the single diagnostic it provokes.
    pub struct Expected<'a> {
        message: &'a str,
        help: Option<&'a str>,
        underline: Option<&'a str>,
    }

    /// Expects exactly one diagnostic with this message.
    pub fn error(message: &str) -> Expected<'_> {
        Expected {
            message,
            help: None,
            underline: None,
        }
    }

    impl<'a> Expected<'a> {
        /// And this help.
        pub fn help(mut self, help: &'a str) -> Self {
            self.help = Some(help);
            self
        }

        /// And exactly this underlined source text.
        pub fn exactly_one_underline(mut self, text: &'a str) -> Self {
            self.underline = Some(text);
            self
        }

        /// Checks `diags` against the expectation.
        #[track_caller]
        pub fn assert(&self, diags: &Diagnostics) {
            assert_eq!(
                diags.items.len(),
                1,
                "expected one diagnostic, got:\n{diags}"
            );
            let d = &diags.items[0];
            assert_eq!(d.message, self.message, "message; full:\n{diags}");
            if let Some(h) = self.help {
                assert_eq!(d.help.as_deref(), Some(h), "help; full:\n{diags}");
            }
            if let Some(u) = self.underline {
                assert_eq!(d.snippet(), u, "underline; full:\n{diags}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_file_line_column_and_caret() {
        let f = SourceFile::new("p.policy", "policy \"a\" {\n  permit raed on offer *\n}\n");
        let d = Diagnostic::new(&f, Span::new(22, 26), "unknown action `raed`")
            .with_help("did you mean `read`?");
        let text = d.to_string();
        assert_eq!(
            text,
            "p.policy:2:10: error: unknown action `raed`\n  |\n2 |   permit raed on offer *\n  |          ^^^^\n  = help: did you mean `read`?\n"
        );
        assert_eq!(d.to_json()["column"], 10);
    }
}
