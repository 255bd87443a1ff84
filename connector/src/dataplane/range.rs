//! The `Range` request header (RFC 9110 §14): one byte range is served as 206; several, or a
//! header that does not parse, are ignored and the whole representation is served, as the RFC
//! allows; a range that starts past the end is 416.

/// A byte range, both ends inclusive, within a representation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// The first byte.
    pub start: u64,
    /// The last byte.
    pub end: u64,
}

impl ByteRange {
    /// How many bytes it spans.
    pub fn len(self) -> u64 {
        self.end - self.start + 1
    }

    /// Whether it is empty (never, for a range [`parse`] returns).
    pub fn is_empty(self) -> bool {
        false
    }

    /// The `Content-Range` value for it within `length` bytes.
    pub fn content_range(self, length: u64) -> String {
        format!("bytes {}-{}/{length}", self.start, self.end)
    }
}

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requested {
    /// The whole representation (no `Range`, several ranges, or one that does not parse).
    Whole,
    /// One range of it.
    Part(ByteRange),
    /// A range it cannot satisfy (416 with `Content-Range: bytes */<length>`).
    Unsatisfiable,
}

/// Reads a `Range` header against a representation of `length` bytes.
pub fn parse(header: Option<&str>, length: u64) -> Requested {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Requested::Whole;
    };
    if spec.contains(',') {
        return Requested::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Requested::Whole;
    };
    let number = |text: &str| -> Option<u64> {
        let text = text.trim();
        (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse().ok())
            .flatten()
    };
    match (first.trim().is_empty(), last.trim().is_empty()) {
        // `bytes=-N`: the last N bytes.
        (true, false) => match number(last) {
            Some(0) => Requested::Unsatisfiable,
            Some(_) if length == 0 => Requested::Unsatisfiable,
            Some(suffix) => Requested::Part(ByteRange {
                start: length - suffix.min(length),
                end: length - 1,
            }),
            None => Requested::Whole,
        },
        // `bytes=A-`: from A to the end.
        (false, true) => match number(first) {
            Some(start) if start < length => Requested::Part(ByteRange {
                start,
                end: length - 1,
            }),
            Some(_) => Requested::Unsatisfiable,
            None => Requested::Whole,
        },
        // `bytes=A-B`.
        (false, false) => match (number(first), number(last)) {
            (Some(start), Some(end)) if start > end => Requested::Whole,
            (Some(start), Some(_)) if start >= length => Requested::Unsatisfiable,
            (Some(start), Some(end)) => Requested::Part(ByteRange {
                start,
                end: end.min(length - 1),
            }),
            _ => Requested::Whole,
        },
        (true, true) => Requested::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(start: u64, end: u64) -> Requested {
        Requested::Part(ByteRange { start, end })
    }

    #[test]
    fn single_ranges_are_read_as_the_rfc_says() {
        assert_eq!(parse(None, 100), Requested::Whole);
        assert_eq!(parse(Some("bytes=0-9"), 100), part(0, 9));
        assert_eq!(parse(Some("bytes=90-"), 100), part(90, 99));
        assert_eq!(parse(Some("bytes=-10"), 100), part(90, 99));
        assert_eq!(parse(Some("bytes=-1000"), 100), part(0, 99));
        assert_eq!(parse(Some("bytes=50-1000"), 100), part(50, 99));
        assert_eq!(parse(Some(" bytes=1-1 "), 100), part(1, 1));
    }

    #[test]
    fn ranges_past_the_end_are_unsatisfiable() {
        assert_eq!(parse(Some("bytes=100-"), 100), Requested::Unsatisfiable);
        assert_eq!(parse(Some("bytes=100-200"), 100), Requested::Unsatisfiable);
        assert_eq!(parse(Some("bytes=-0"), 100), Requested::Unsatisfiable);
        assert_eq!(parse(Some("bytes=0-"), 0), Requested::Unsatisfiable);
        assert_eq!(parse(Some("bytes=-5"), 0), Requested::Unsatisfiable);
    }

    #[test]
    fn malformed_or_multiple_ranges_are_ignored() {
        for header in [
            "bytes=5-1",
            "bytes=a-b",
            "bytes=-",
            "bytes=0-1,5-9",
            "items=0-9",
            "bytes=+1-2",
            "bytes=99999999999999999999999-",
            "bytes=0x10-",
        ] {
            assert_eq!(parse(Some(header), 100), Requested::Whole, "{header}");
        }
    }

    #[test]
    fn the_content_range_names_the_part_and_the_whole() {
        let range = ByteRange { start: 10, end: 19 };
        assert_eq!(range.len(), 10);
        assert_eq!(range.content_range(100), "bytes 10-19/100");
    }
}
