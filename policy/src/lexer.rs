//! The lexer: policy text to tokens, each with its span.
//!
//! Literals with a shape of their own are recognised here: datetimes (`2027-01-01T00:00:00Z`,
//! `2027-01-01`), durations (`30d`, `12h`, `P30D`), integers and decimals.

use crate::loc::Span;
use crate::value::{parse_datetime, parse_duration};

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok<'a> {
    /// A name: keyword, action, attribute segment or obligation.
    Ident(&'a str),
    /// A double-quoted string, escapes resolved.
    Str(std::borrow::Cow<'a, str>),
    /// An integer.
    Int(i64),
    /// A decimal in ten-thousandths.
    Decimal(i64),
    /// A datetime in milliseconds since the Unix epoch (UTC).
    DateTime(i64),
    /// A duration in milliseconds.
    Duration(i64),
    /// A punctuation or operator symbol such as `{`, `==` or `*`.
    Sym(&'static str),
    /// The end of the input.
    Eof,
}

/// A token and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Token<'a> {
    /// The token.
    pub tok: Tok<'a>,
    /// Its place in the source.
    pub span: Span,
}

/// A lexical error: the message and where.
#[derive(Debug, Clone, PartialEq)]
pub struct LexError {
    /// What is wrong, in plain words.
    pub message: String,
    /// Advice, if any.
    pub help: Option<String>,
    /// The culprit.
    pub span: Span,
}

const SYMBOLS: [&str; 17] = [
    "==", "!=", "<=", ">=", "<", ">", "{", "}", "[", "]", "(", ")", ",", ".", "=", "*", ";",
];

/// Splits `src` into tokens; the last token is always [`Tok::Eof`].
pub fn lex(src: &str) -> Result<Vec<Token<'_>>, LexError> {
    let bytes = src.as_bytes();
    let mut out = Vec::with_capacity(src.len() / 8 + 1);
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes.get(i).copied().unwrap_or(0);
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'/' && bytes.get(i + 1) == Some(&b'/') {
            while i < bytes.len() && bytes.get(i) != Some(&b'\n') {
                i += 1;
            }
            continue;
        }
        let start = i;
        if c == b'"' {
            let (s, end) = lex_string(src, i)?;
            out.push(Token {
                tok: Tok::Str(s),
                span: Span::new(start, end),
            });
            i = end;
        } else if c.is_ascii_digit()
            || (c == b'-' && bytes.get(i + 1).is_some_and(|b| b.is_ascii_digit()))
        {
            let (tok, end) = lex_number(src, i)?;
            out.push(Token {
                tok,
                span: Span::new(start, end),
            });
            i = end;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let mut end = i;
            while bytes
                .get(end)
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
            {
                end += 1;
            }
            let word = src.get(i..end).unwrap_or("");
            let tok = match word
                .starts_with('P')
                .then(|| parse_duration(word))
                .flatten()
            {
                Some(ms) => Tok::Duration(ms),
                None => Tok::Ident(word),
            };
            out.push(Token {
                tok,
                span: Span::new(start, end),
            });
            i = end;
        } else if let Some(sym) = SYMBOLS
            .iter()
            .find(|s| bytes.get(i..i + s.len()) == Some(s.as_bytes()))
        {
            out.push(Token {
                tok: Tok::Sym(sym),
                span: Span::new(start, i + sym.len()),
            });
            i += sym.len();
        } else {
            let ch = src.get(i..).and_then(|s| s.chars().next()).unwrap_or('?');
            let help = match ch {
                '&' => Some("write `and` instead".to_owned()),
                '|' => Some("write `or` instead".to_owned()),
                '!' => Some("write `not` or `!=` instead".to_owned()),
                '\'' => Some("strings use double quotes: \"...\"".to_owned()),
                _ => None,
            };
            return Err(LexError {
                message: format!("unexpected character `{ch}`"),
                help,
                span: Span::new(i, i + ch.len_utf8()),
            });
        }
    }
    out.push(Token {
        tok: Tok::Eof,
        span: Span::new(src.len(), src.len()),
    });
    Ok(out)
}

fn lex_string(src: &str, start: usize) -> Result<(std::borrow::Cow<'_, str>, usize), LexError> {
    // Fast path: no escapes, borrow the text.
    let body = src.get(start + 1..).unwrap_or("");
    if let Some(end) = body.find(['"', '\\', '\n']) {
        if body.as_bytes().get(end) == Some(&b'"') {
            return Ok((
                std::borrow::Cow::Borrowed(body.get(..end).unwrap_or("")),
                start + 1 + end + 1,
            ));
        }
    }
    let mut s = String::new();
    let mut chars = src.get(start + 1..).unwrap_or("").char_indices();
    while let Some((off, ch)) = chars.next() {
        let at = start + 1 + off;
        match ch {
            '"' => return Ok((std::borrow::Cow::Owned(s), at + 1)),
            '\n' => break,
            '\\' => match chars.next() {
                Some((_, 'n')) => s.push('\n'),
                Some((_, 't')) => s.push('\t'),
                Some((_, '"')) => s.push('"'),
                Some((_, '\\')) => s.push('\\'),
                Some((o2, other)) => {
                    return Err(LexError {
                        message: format!("unknown escape `\\{other}` in string"),
                        help: Some("the escapes are \\n, \\t, \\\" and \\\\".to_owned()),
                        span: Span::new(at, start + 1 + o2 + other.len_utf8()),
                    })
                }
                None => break,
            },
            c => s.push(c),
        }
    }
    Err(LexError {
        message: "unterminated string".to_owned(),
        help: Some("close the string with `\"` on the same line".to_owned()),
        span: Span::new(start, start + 1),
    })
}

fn lex_number(src: &str, start: usize) -> Result<(Tok<'_>, usize), LexError> {
    let bytes = src.as_bytes();
    let mut end = start + 1;
    // A datetime or date: digits, letters and `-:.+` without spaces, starting with 4 digits and `-`.
    let is_date = bytes.get(start + 4) == Some(&b'-')
        && bytes
            .get(start..start + 4)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if is_date {
        while bytes
            .get(end)
            .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b':' | b'.' | b'+'))
        {
            end += 1;
        }
        let text = src.get(start..end).unwrap_or("");
        return match parse_datetime(text) {
            Some(ms) => Ok((Tok::DateTime(ms), end)),
            None => Err(LexError {
                message: format!("`{text}` is not a valid date or datetime"),
                help: Some(
                    "write a date as 2027-01-01 or a datetime as 2027-01-01T00:00:00Z".to_owned(),
                ),
                span: Span::new(start, end),
            }),
        };
    }
    while bytes
        .get(end)
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'.' || *b == b'_')
    {
        end += 1;
    }
    let text = src.get(start..end).unwrap_or("");
    let bad = |what: &str| LexError {
        message: format!("`{text}` is not a valid {what}"),
        help: Some(
            "numbers look like 42, -7 or 2.5; durations like 30d, 12h, 15m, 10s or P30D".to_owned(),
        ),
        span: Span::new(start, end),
    };
    if text.bytes().any(|b| b.is_ascii_alphabetic()) {
        return match parse_duration(text) {
            Some(ms) => Ok((Tok::Duration(ms), end)),
            None => Err(bad("number or duration")),
        };
    }
    if text.contains('.') {
        return match crate::value::parse_decimal(text) {
            Some(d) => Ok((Tok::Decimal(d), end)),
            None => Err(bad("decimal (at most 4 decimal places)")),
        };
    }
    match text.parse::<i64>() {
        Ok(n) => Ok((Tok::Int(n), end)),
        Err(_) => Err(bad("integer")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok<'_>> {
        lex(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn lexes_literals() {
        assert_eq!(
            toks(r#"a.b >= 3 "x\"y" 2.5 30d P1D 1970-01-02"#),
            vec![
                Tok::Ident("a"),
                Tok::Sym("."),
                Tok::Ident("b"),
                Tok::Sym(">="),
                Tok::Int(3),
                Tok::Str("x\"y".into()),
                Tok::Decimal(25_000),
                Tok::Duration(30 * 86_400_000),
                Tok::Duration(86_400_000),
                Tok::DateTime(86_400_000),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn reports_bad_characters() {
        let e = lex("a && b").unwrap_err();
        assert_eq!(e.message, "unexpected character `&`");
        assert_eq!(e.span, Span::new(2, 3));
        assert!(lex("\"open").is_err());
        assert!(lex("2027-13-01").is_err());
    }
}
