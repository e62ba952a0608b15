//! Cells as SpreadsheetML: the bytes of one `<c>` element per value, written
//! straight into the sheet's buffer. This is the hot loop of a large export,
//! so nothing here allocates for numbers, dates or text that needs no escape.

use chrono::{Datelike as _, NaiveDate, NaiveDateTime, NaiveTime, Timelike as _};

/// The style index (`s`) of each kind of cell; `styles.xml` in
/// [`super::package`] lists them in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Style {
    /// General: numbers, booleans and text.
    Plain = 0,
    /// The bold, filled header row.
    Header = 1,
    /// `yyyy-mm-dd`.
    Date = 2,
    /// `hh:mm:ss.000`.
    Time = 3,
    /// `yyyy-mm-dd hh:mm:ss.000`.
    DateTime = 4,
}

/// Writes the cells of one row: the column letters are prepared once per
/// sheet and the row number once per row, so a cell's reference costs two
/// copies.
pub(super) struct CellWriter {
    /// `<c r="B` for each column.
    starts: Vec<Vec<u8>>,
    /// The current row's number, as digits.
    row: Vec<u8>,
}

impl CellWriter {
    /// A writer for `columns` columns.
    pub(super) fn new(columns: usize) -> Self {
        CellWriter {
            starts: (0..columns)
                .map(|c| format!("<c r=\"{}", column_letters(c)).into_bytes())
                .collect(),
            row: Vec::with_capacity(8),
        }
    }

    /// Open row `number` (counted from 1, the header's row).
    pub(super) fn start_row(&mut self, buf: &mut Vec<u8>, number: u32) {
        self.row.clear();
        self.row
            .extend_from_slice(itoa::Buffer::new().format(number).as_bytes());
        buf.extend_from_slice(b"<row r=\"");
        buf.extend_from_slice(&self.row);
        buf.extend_from_slice(b"\">");
    }

    /// Close the row opened by [`CellWriter::start_row`].
    pub(super) fn end_row(buf: &mut Vec<u8>) {
        buf.extend_from_slice(b"</row>");
    }

    /// `<c r="B7" s="2" t="b">`, leaving the value to the caller.
    fn open(&self, buf: &mut Vec<u8>, col: usize, style: Style, kind: &[u8]) {
        buf.extend_from_slice(&self.starts[col]);
        buf.extend_from_slice(&self.row);
        buf.push(b'"');
        if style != Style::Plain {
            buf.extend_from_slice(b" s=\"");
            buf.push(b'0' + style as u8);
            buf.push(b'"');
        }
        buf.extend_from_slice(kind);
    }

    /// A number cell whose value is already written as `digits`.
    fn number_text(&self, buf: &mut Vec<u8>, col: usize, style: Style, digits: &[u8]) {
        self.open(buf, col, style, b"><v>");
        buf.extend_from_slice(digits);
        buf.extend_from_slice(b"</v></c>");
    }

    /// A finite double (the caller refuses NaN and infinities), in its
    /// shortest exact form.
    pub(super) fn float(&self, buf: &mut Vec<u8>, col: usize, style: Style, value: f64) {
        let mut digits = ryu::Buffer::new();
        self.number_text(buf, col, style, digits.format_finite(value).as_bytes());
    }

    /// An integer Excel holds exactly (the caller checks |i| <= 2^53), or a
    /// date's serial day.
    pub(super) fn int(&self, buf: &mut Vec<u8>, col: usize, style: Style, value: i64) {
        let mut digits = itoa::Buffer::new();
        self.number_text(buf, col, style, digits.format(value).as_bytes());
    }

    /// A boolean, shown by Excel as TRUE or FALSE.
    pub(super) fn bool(&self, buf: &mut Vec<u8>, col: usize, value: bool) {
        self.open(buf, col, Style::Plain, b" t=\"b\"><v>");
        buf.push(if value { b'1' } else { b'0' });
        buf.extend_from_slice(b"</v></c>");
    }

    /// Text as an inline string: no shared-string table to keep in memory.
    pub(super) fn text(&self, buf: &mut Vec<u8>, col: usize, style: Style, text: &str) {
        self.open(buf, col, style, b" t=\"inlineStr\"><is>");
        // Readers trim unmarked whitespace at either end of a <t>.
        let edge = |b: Option<&u8>| matches!(b, Some(b' ' | b'\t' | b'\n' | b'\r'));
        if edge(text.as_bytes().first()) || edge(text.as_bytes().last()) {
            buf.extend_from_slice(b"<t xml:space=\"preserve\">");
        } else {
            buf.extend_from_slice(b"<t>");
        }
        escape(buf, text);
        buf.extend_from_slice(b"</t></is></c>");
    }
}

/// `A`..`Z`, `AA`..`XFD`: the letters of a zero-based column.
pub(super) fn column_letters(mut col: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'A' + (col % 26) as u8);
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    letters.reverse();
    String::from_utf8_lossy(&letters).into_owned()
}

/// Bytes that need more than a copy inside a `<t>`: markup characters,
/// controls XML cannot carry (written as Excel's `_xHHHH_`), and `_`, which
/// might start a literal `_xHHHH_` that Excel would otherwise decode.
const SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b != b'\t' as usize && b != b'\n' as usize;
        b += 1;
    }
    table[b'&' as usize] = true;
    table[b'<' as usize] = true;
    table[b'>' as usize] = true;
    table[b'_' as usize] = true;
    // The lead byte of U+FFFE and U+FFFF (EF BF BE/BF), which XML forbids.
    table[0xEF] = true;
    table
};

/// Append `text` escaped for element content.
pub(super) fn escape(buf: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    let mut copied = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !SPECIAL[usize::from(b)] {
            continue;
        }
        let replacement: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'_' if is_hex_escape(&bytes[i..]) => b"_x005F_",
            0xEF if bytes[i..].starts_with(&[0xEF, 0xBF, 0xBE]) => b"_xFFFE_",
            0xEF if bytes[i..].starts_with(&[0xEF, 0xBF, 0xBF]) => b"_xFFFF_",
            b'_' | 0xEF => continue,
            control => {
                buf.extend_from_slice(&bytes[copied..i]);
                buf.extend_from_slice(format!("_x{control:04X}_").as_bytes());
                copied = i + 1;
                continue;
            }
        };
        buf.extend_from_slice(&bytes[copied..i]);
        buf.extend_from_slice(replacement);
        // U+FFFE/U+FFFF are three bytes; everything else replaced is one.
        copied = i + if b == 0xEF { 3 } else { 1 };
    }
    buf.extend_from_slice(&bytes[copied..]);
}

/// Whether `bytes` starts with `_xHHHH_`.
fn is_hex_escape(bytes: &[u8]) -> bool {
    bytes.len() >= 7
        && bytes[1] == b'x'
        && bytes[2..6].iter().all(u8::is_ascii_hexdigit)
        && bytes[6] == b'_'
}

/// Excel's serial day: days since 1899-12-30, except that Excel counts a
/// 29 February 1900 that never was, so days before it are one lower.
/// The caller refuses dates before 1900.
pub(super) fn date_serial(date: NaiveDate) -> i64 {
    // 1899-12-30 is day 693,594 counted from 0001-01-01 as day 1.
    let days = i64::from(date.num_days_from_ce()) - 693_594;
    if days < 61 { days - 1 } else { days }
}

/// The fraction of a day that a time of day is.
pub(super) fn time_fraction(time: NaiveTime) -> f64 {
    let seconds = f64::from(time.num_seconds_from_midnight())
        + f64::from(time.nanosecond()) / 1_000_000_000.0;
    seconds / 86_400.0
}

/// A date and time as one serial number.
pub(super) fn datetime_serial(dt: NaiveDateTime) -> f64 {
    date_serial(dt.date()) as f64 + time_fraction(dt.time())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(text: &str) -> String {
        let mut buf = Vec::new();
        escape(&mut buf, text);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn escapes_markup_controls_and_literal_excel_escapes() {
        assert_eq!(escaped("a<b>&c"), "a&lt;b&gt;&amp;c");
        assert_eq!(escaped("tab\tnew\nline"), "tab\tnew\nline");
        assert_eq!(escaped("cr\r bell\u{7}"), "cr_x000D_ bell_x0007_");
        assert_eq!(escaped("_x0041_ and _x4_"), "_x005F_x0041_ and _x4_");
        assert_eq!(
            escaped("\u{FFFE}\u{FFFF}\u{FFFD}é"),
            "_xFFFE__xFFFF_\u{FFFD}é"
        );
        assert_eq!(escaped("東京 🚀"), "東京 🚀");
    }

    #[test]
    fn column_letters_run_to_xfd() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(701), "ZZ");
        assert_eq!(column_letters(702), "AAA");
        assert_eq!(column_letters(16_383), "XFD");
    }

    #[test]
    fn serials_match_excel() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(date_serial(d(1900, 1, 1)), 1);
        assert_eq!(date_serial(d(1900, 2, 28)), 59);
        assert_eq!(date_serial(d(1900, 3, 1)), 61);
        assert_eq!(date_serial(d(2026, 1, 1)), 46_023);
        assert_eq!(date_serial(d(9999, 12, 31)), 2_958_465);
        let noon = d(2026, 1, 1).and_hms_opt(12, 0, 0).unwrap();
        assert_eq!(datetime_serial(noon), 46_023.5);
    }
}
