//! Values and types of the language: string, integer, decimal, boolean, datetime, duration and
//! set of strings, with their literal syntax.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

/// The type of an attribute or a literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Type {
    /// `true` or `false`.
    Bool,
    /// A 64-bit signed integer.
    Int,
    /// A decimal with up to four places.
    Decimal,
    /// A string.
    Str,
    /// An instant (RFC 3339, or a date meaning midnight UTC).
    DateTime,
    /// A length of time (`30d`, `P30D`).
    Duration,
    /// A set of strings.
    Set,
}

impl Type {
    /// The name used in schemas and messages.
    pub fn name(self) -> &'static str {
        match self {
            Type::Bool => "boolean",
            Type::Int => "integer",
            Type::Decimal => "decimal",
            Type::Str => "string",
            Type::DateTime => "datetime",
            Type::Duration => "duration",
            Type::Set => "set of strings",
        }
    }

    /// Parses a schema type name (`string`, `integer`, `decimal`, `boolean`, `datetime`,
    /// `duration`, `set`).
    pub fn from_name(name: &str) -> Option<Type> {
        Some(match name {
            "boolean" | "bool" => Type::Bool,
            "integer" | "int" => Type::Int,
            "decimal" => Type::Decimal,
            "string" => Type::Str,
            "datetime" => Type::DateTime,
            "duration" => Type::Duration,
            "set" | "set of strings" => Type::Set,
            _ => return None,
        })
    }

    /// Whether values of the two types can be ordered or compared for equality.
    pub fn comparable(self, other: Type) -> bool {
        self == other || (self.is_number() && other.is_number())
    }

    /// Integer or decimal.
    pub fn is_number(self) -> bool {
        matches!(self, Type::Int | Type::Decimal)
    }
}

impl fmt::Display for Type {
    /// The type's name; with `{:#}`, preceded by its article (`an integer`, `a string`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            f.write_str(if *self == Type::Int { "an " } else { "a " })?;
        }
        f.write_str(self.name())
    }
}

/// A value seen in a request or written in a policy.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A decimal, in ten-thousandths (`2.5` is `25000`).
    Decimal(i64),
    /// A string.
    Str(Arc<str>),
    /// An instant, in milliseconds since 1970-01-01T00:00:00Z.
    DateTime(i64),
    /// A duration, in milliseconds.
    Duration(i64),
    /// A set of strings, kept sorted and without duplicates.
    Set(Arc<[Arc<str>]>),
}

impl Value {
    /// The type of this value.
    pub fn ty(&self) -> Type {
        match self {
            Value::Bool(_) => Type::Bool,
            Value::Int(_) => Type::Int,
            Value::Decimal(_) => Type::Decimal,
            Value::Str(_) => Type::Str,
            Value::DateTime(_) => Type::DateTime,
            Value::Duration(_) => Type::Duration,
            Value::Set(_) => Type::Set,
        }
    }

    /// A string value.
    pub fn str(s: &str) -> Value {
        Value::Str(s.into())
    }

    /// A set of strings (sorted, duplicates removed).
    pub fn set<I: IntoIterator<Item = S>, S: AsRef<str>>(items: I) -> Value {
        let mut v: Vec<Arc<str>> = items.into_iter().map(|s| s.as_ref().into()).collect();
        v.sort();
        v.dedup();
        Value::Set(v.into())
    }

    /// The value with a set sorted and without duplicates, as evaluation expects (sets built with
    /// [`Value::set`] already are).
    pub fn normalized(self) -> Value {
        match self {
            Value::Set(items) if !items.windows(2).all(|w| matches!(w, [a, b] if a < b)) => {
                Value::set(items.iter())
            }
            other => other,
        }
    }

    /// Orders two values of comparable types; `None` if they cannot be ordered.
    pub fn compare(&self, other: &Value) -> Option<Ordering> {
        match (self, other) {
            (Value::Int(a), Value::Int(b))
            | (Value::Decimal(a), Value::Decimal(b))
            | (Value::DateTime(a), Value::DateTime(b))
            | (Value::Duration(a), Value::Duration(b)) => Some(a.cmp(b)),
            (Value::Int(a), Value::Decimal(b)) => {
                Some((i128::from(*a) * 10_000).cmp(&i128::from(*b)))
            }
            (Value::Decimal(a), Value::Int(b)) => {
                Some(i128::from(*a).cmp(&(i128::from(*b) * 10_000)))
            }
            (Value::Str(a), Value::Str(b)) => Some(a.cmp(b)),
            (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }

    /// Equality across integer and decimal (`1 == 1.0`); other types compare structurally.
    pub fn equals(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Int(_), Value::Decimal(_)) | (Value::Decimal(_), Value::Int(_)) => {
                self.compare(other) == Some(Ordering::Equal)
            }
            _ => self == other,
        }
    }

    /// The value in the policy language's literal syntax (`"x"`, `30d`, `["a", "b"]`).
    pub fn literal(&self) -> String {
        self.to_string()
    }

    /// The value as a person reads it in an explanation: strings unquoted inside lists.
    pub fn plain(&self) -> String {
        match self {
            Value::Set(items) => items
                .iter()
                .map(|s| s.as_ref())
                .collect::<Vec<_>>()
                .join(", "),
            Value::Str(s) => s.to_string(),
            other => other.to_string(),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(n) => write!(f, "{n}"),
            Value::Decimal(d) => f.write_str(&format_decimal(*d)),
            Value::Str(s) => write_quoted(f, s),
            Value::DateTime(ms) => f.write_str(&format_datetime(*ms)),
            Value::Duration(ms) => f.write_str(&format_duration(*ms)),
            Value::Set(items) => {
                f.write_str("[")?;
                for (i, s) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write_quoted(f, s)?;
                }
                f.write_str("]")
            }
        }
    }
}

/// Writes `s` as a double-quoted string literal with escapes.
pub(crate) fn write_quoted(f: &mut impl fmt::Write, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// Parses `12.5` into ten-thousandths; `None` if malformed or with more than four places.
pub fn parse_decimal(text: &str) -> Option<i64> {
    let (neg, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = body.split_once('.')?;
    if int.is_empty() || frac.is_empty() || frac.len() > 4 {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int: i64 = int.parse().ok()?;
    let mut f: i64 = frac.parse().ok()?;
    for _ in frac.len()..4 {
        f *= 10;
    }
    let v = int.checked_mul(10_000)?.checked_add(f)?;
    Some(if neg { -v } else { v })
}

/// Formats ten-thousandths as a decimal literal with at least one decimal place.
pub fn format_decimal(d: i64) -> String {
    let sign = if d < 0 { "-" } else { "" };
    let a = d.unsigned_abs();
    let frac = format!("{:04}", a % 10_000);
    let frac = frac.trim_end_matches('0');
    let frac = if frac.is_empty() { "0" } else { frac };
    format!("{sign}{}.{frac}", a / 10_000)
}

const DAY_MS: i64 = 86_400_000;

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn digits(s: &str, n: usize) -> Option<i64> {
    if s.len() == n && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// Parses an RFC 3339 datetime (`2027-01-01T00:00:00Z`, offsets and fractions allowed) or a date
/// (`2027-01-01`, midnight UTC) into milliseconds since the epoch.
pub fn parse_datetime(text: &str) -> Option<i64> {
    let date = text.get(..10)?;
    let y = digits(date.get(..4)?, 4)?;
    let m = digits(date.get(5..7)?, 2)?;
    let d = digits(date.get(8..10)?, 2)?;
    if date.get(4..5)? != "-" || date.get(7..8)? != "-" || !(1..=12).contains(&m) {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let mdays = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if d < 1 || d > *mdays.get(usize::try_from(m - 1).ok()?)? {
        return None;
    }
    let day_ms = days_from_civil(y, m, d) * DAY_MS;
    let rest = text.get(10..)?;
    if rest.is_empty() {
        return Some(day_ms);
    }
    let rest = rest.strip_prefix('T').or_else(|| rest.strip_prefix('t'))?;
    let hh = digits(rest.get(..2)?, 2)?;
    let mm = digits(rest.get(3..5)?, 2)?;
    let ss = digits(rest.get(6..8)?, 2)?;
    if rest.get(2..3)? != ":" || rest.get(5..6)? != ":" || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let mut rest = rest.get(8..)?;
    let mut millis = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        let f = frac.get(..n)?;
        let padded: String = f.chars().chain("000".chars()).take(3).collect();
        millis = padded.parse::<i64>().ok()?;
        rest = frac.get(n..)?;
    }
    let offset_min = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.get(..1)? {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            let oh = digits(rest.get(1..3)?, 2)?;
            let om = digits(rest.get(4..6)?, 2)?;
            if rest.len() != 6 || rest.get(3..4)? != ":" || oh > 23 || om > 59 {
                return None;
            }
            sign * (oh * 60 + om)
        }
    };
    Some(day_ms + ((hh * 60 + mm - offset_min) * 60 + ss) * 1000 + millis)
}

/// Formats milliseconds since the epoch as RFC 3339 in UTC (`2027-01-01T00:00:00Z`).
pub fn format_datetime(ms: i64) -> String {
    let days = ms.div_euclid(DAY_MS);
    let rem = ms.rem_euclid(DAY_MS);
    let (y, m, d) = civil_from_days(days);
    let (h, mi, s, milli) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    );
    if milli == 0 {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
    }
}

/// Parses a duration: `30d`, `2w`, `12h`, `15m`, `10s`, `500ms`, or ISO 8601 `P30D`, `PT12H`,
/// `P1DT2H30M` (weeks, days, hours, minutes, seconds; no months or years, whose length varies).
pub fn parse_duration(text: &str) -> Option<i64> {
    if let Some(iso) = text.strip_prefix("-P") {
        return parse_iso_duration(iso).and_then(i64::checked_neg);
    }
    if let Some(iso) = text.strip_prefix('P') {
        return parse_iso_duration(iso);
    }
    if let Some(rest) = text.strip_prefix('-') {
        if !rest.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        return parse_duration(rest).and_then(i64::checked_neg);
    }
    let n = text.bytes().take_while(u8::is_ascii_digit).count();
    let num: i64 = text.get(..n)?.parse().ok()?;
    let unit = match text.get(n..)? {
        "w" => 7 * DAY_MS,
        "d" => DAY_MS,
        "h" => 3_600_000,
        "m" => 60_000,
        "s" => 1000,
        "ms" => 1,
        _ => return None,
    };
    num.checked_mul(unit)
}

fn parse_iso_duration(iso: &str) -> Option<i64> {
    let mut total: i64 = 0;
    let mut in_time = false;
    let mut num = String::new();
    let mut parts = 0;
    for c in iso.chars() {
        match c {
            '0'..='9' => num.push(c),
            '.' if in_time && !num.is_empty() && !num.contains('.') => num.push(c),
            'T' if !in_time && num.is_empty() => in_time = true,
            'S' if in_time && num.contains('.') => {
                let (whole, frac) = num.split_once('.')?;
                if frac.is_empty() || frac.len() > 3 {
                    return None;
                }
                let padded: String = frac.chars().chain("00".chars()).take(3).collect();
                let ms = whole
                    .parse::<i64>()
                    .ok()?
                    .checked_mul(1000)?
                    .checked_add(padded.parse().ok()?)?;
                total = total.checked_add(ms)?;
                num.clear();
                parts += 1;
            }
            _ => {
                let n: i64 = num.parse().ok()?;
                num.clear();
                let unit = match (in_time, c) {
                    (false, 'W') => 7 * DAY_MS,
                    (false, 'D') => DAY_MS,
                    (true, 'H') => 3_600_000,
                    (true, 'M') => 60_000,
                    (true, 'S') => 1000,
                    _ => return None,
                };
                total = total.checked_add(n.checked_mul(unit)?)?;
                parts += 1;
            }
        }
    }
    if parts == 0 || !num.is_empty() {
        return None;
    }
    Some(total)
}

/// Formats a duration in the shortest exact unit (`30d`, `12h`, `90s`, `5ms`).
pub fn format_duration(ms: i64) -> String {
    for (unit, size) in [("d", DAY_MS), ("h", 3_600_000), ("m", 60_000), ("s", 1000)] {
        if ms != 0 && ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

/// Formats a duration in ISO 8601 (`P30D`, `PT12H`, `PT0.005S`).
pub fn format_iso_duration(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let ms = ms.unsigned_abs();
    let day = DAY_MS.unsigned_abs();
    let (d, rem) = (ms / day, ms % day);
    let mut s = format!("{sign}P");
    if d != 0 {
        s.push_str(&format!("{d}D"));
    }
    if rem != 0 || d == 0 {
        let (h, m, sec, milli) = (
            rem / 3_600_000,
            rem / 60_000 % 60,
            rem / 1000 % 60,
            rem % 1000,
        );
        s.push('T');
        if h != 0 {
            s.push_str(&format!("{h}H"));
        }
        if m != 0 {
            s.push_str(&format!("{m}M"));
        }
        if milli != 0 {
            s.push_str(&format!("{sec}.{milli:03}S"));
        } else if sec != 0 || (h == 0 && m == 0) {
            s.push_str(&format!("{sec}S"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_round_trip() {
        let t = parse_datetime("2027-01-01T00:00:00Z").unwrap();
        assert_eq!(format_datetime(t), "2027-01-01T00:00:00Z");
        assert_eq!(parse_datetime("2027-01-01"), Some(t));
        assert_eq!(parse_datetime("2027-01-01T02:00:00+02:00"), Some(t));
        assert_eq!(format_datetime(-1), "1969-12-31T23:59:59.999Z");
        assert!(parse_datetime("2026-02-29").is_none());
        assert!(parse_datetime("2024-02-29").is_some());
    }

    #[test]
    fn durations_and_decimals() {
        assert_eq!(parse_duration("30d"), parse_duration("P30D"));
        assert_eq!(parse_duration("PT1H30M"), Some(5_400_000));
        assert_eq!(format_duration(5_400_000), "90m");
        assert_eq!(
            parse_duration(&format_iso_duration(5_400_000)),
            Some(5_400_000)
        );
        assert_eq!(parse_duration(&format_iso_duration(0)), Some(0));
        for ms in [5, 1_005, 90_061_001, -86_400_000, 7 * 86_400_000 + 1] {
            assert_eq!(parse_duration(&format_iso_duration(ms)), Some(ms), "{ms}");
        }
        assert!(parse_duration("P").is_none());
        assert_eq!(parse_duration(&format_duration(-90_000)), Some(-90_000));
        assert_eq!(parse_decimal("-2.05"), Some(-20_500));
        assert_eq!(format_decimal(-20_500), "-2.05");
        assert_eq!(format_decimal(10_000), "1.0");
        assert!(Value::Int(1).equals(&Value::Decimal(10_000)));
        let unsorted = Value::Set(vec![Arc::from("b"), Arc::from("a"), Arc::from("b")].into());
        assert_eq!(unsorted.normalized(), Value::set(["a", "b"]));
    }
}
