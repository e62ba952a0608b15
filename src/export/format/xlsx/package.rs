//! The workbook's package: a streamed zip holding the few fixed parts an
//! xlsx needs (content types, relationships, workbook, styles) and the one
//! worksheet, whose XML is deflated as it is written. Nothing is kept back
//! for the end, so memory stays flat and no temporary file is needed.

use std::io::Write;

use zip::ZipWriter;
use zip::write::{SimpleFileOptions, StreamWriter};

use super::super::FormatError;

/// The output as the encoder holds it.
pub(super) type Out = Box<dyn Write + Send>;

/// The deflate level for the parts. On a million rows of sheet XML (235 MB)
/// zlib-rs took 0.6 s at level 1 for 55 MB, 1.2 s at level 3 for 34 MB and
/// 4.6 s at the usual level 6 for 33 MB; end to end on a loaded 2-core
/// machine level 3 made the export a third slower than level 1, so speed
/// wins and the file is about 60% larger than the smallest.
const LEVEL: i64 = 1;

/// A zip entry's largest size without ZIP64, which not every reader of
/// xlsx files supports.
const ZIP32_LIMIT: u64 = u32::MAX as u64;

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/><Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/></Types>"#;

const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/></Relationships>"#;

const APP: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Application>cronport</Application></Properties>"#;

const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>"#;

/// Styles in the order of [`super::cell::Style`]: general, the header
/// (bold white on dark slate, medium bottom border), date, time, date-time.
const STYLES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="3"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/><numFmt numFmtId="165" formatCode="hh:mm:ss.000"/><numFmt numFmtId="166" formatCode="yyyy-mm-dd hh:mm:ss.000"/></numFmts><fonts count="2"><font><sz val="11"/><color rgb="FF000000"/><name val="Calibri"/><family val="2"/></font><font><b/><sz val="11"/><color rgb="FFFFFFFF"/><name val="Calibri"/><family val="2"/></font></fonts><fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill><fill><patternFill patternType="solid"><fgColor rgb="FF2F4858"/><bgColor indexed="64"/></patternFill></fill></fills><borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border><border><left/><right/><top/><bottom style="medium"><color auto="1"/></bottom><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="0" fontId="1" fillId="2" borderId="1" xfId="0" applyFont="1" applyFill="1" applyBorder="1"/><xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles><dxfs count="0"/><tableStyles count="0" defaultTableStyle="TableStyleMedium9" defaultPivotStyle="PivotStyleLight16"/></styleSheet>"#;

/// The sheet up to its column widths: the header row is frozen.
const SHEET_START: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheetViews><sheetView tabSelected="1" workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>"#;

const SHEET_END: &str = r#"</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>"#;

fn zip_error(e: zip::result::ZipError) -> FormatError {
    match e {
        zip::result::ZipError::Io(io) => FormatError::Io(io),
        other => FormatError::Io(std::io::Error::other(other)),
    }
}

/// The package being written; the worksheet entry is open after
/// [`Package::start`] until [`Package::finish`].
pub(super) struct Package {
    zip: ZipWriter<StreamWriter<Out>>,
    /// Uncompressed bytes of the worksheet so far.
    sheet_bytes: u64,
}

impl Package {
    /// Write the fixed parts and open the worksheet for `sheet_name`.
    pub(super) fn start(out: Out, sheet_name: &str) -> Result<Package, FormatError> {
        let mut zip = ZipWriter::new_stream(out);
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(LEVEL))
            .unix_permissions(0o600)
            // A fixed time: the same rows give the same bytes.
            .last_modified_time(zip::DateTime::default());
        let workbook = format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><bookViews><workbookView/></bookViews><sheets><sheet name="{}" sheetId="1" r:id="rId1"/></sheets><calcPr calcId="124519"/></workbook>"#,
            attribute(sheet_name)
        );
        for (name, text) in [
            ("[Content_Types].xml", CONTENT_TYPES),
            ("_rels/.rels", ROOT_RELS),
            ("docProps/app.xml", APP),
            ("xl/workbook.xml", workbook.as_str()),
            ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
            ("xl/styles.xml", STYLES),
        ] {
            zip.start_file(name, options).map_err(zip_error)?;
            zip.write_all(text.as_bytes())?;
        }
        zip.start_file("xl/worksheets/sheet1.xml", options)
            .map_err(zip_error)?;
        let mut package = Package {
            zip,
            sheet_bytes: 0,
        };
        package.write(SHEET_START.as_bytes())?;
        Ok(package)
    }

    /// Write `widths` (in characters, one per column) and open the sheet's
    /// data; neighbours of equal width share one `<col>`.
    pub(super) fn columns(&mut self, widths: &[usize]) -> Result<(), FormatError> {
        let mut xml = String::new();
        if !widths.is_empty() {
            xml.push_str("<cols>");
            let mut first = 0;
            for (i, w) in widths.iter().enumerate() {
                if widths.get(i + 1) != Some(w) {
                    xml.push_str(&format!(
                        r#"<col min="{}" max="{}" width="{}" customWidth="1"/>"#,
                        first + 1,
                        i + 1,
                        excel_width(*w)
                    ));
                    first = i + 1;
                }
            }
            xml.push_str("</cols>");
        }
        xml.push_str("<sheetData>");
        self.write(xml.as_bytes())
    }

    /// Append sheet XML.
    pub(super) fn write(&mut self, xml: &[u8]) -> Result<(), FormatError> {
        self.sheet_bytes += xml.len() as u64;
        if self.sheet_bytes > ZIP32_LIMIT {
            return Err(FormatError::Data(
                "the sheet passes 4 GB of XML, more than an xlsx entry holds without ZIP64; \
                 use csv or fewer columns"
                    .into(),
            ));
        }
        self.zip.write_all(xml)?;
        Ok(())
    }

    /// Close the sheet and the package, and flush the output.
    pub(super) fn finish(mut self) -> Result<(), FormatError> {
        self.write(SHEET_END.as_bytes())?;
        let mut out = self.zip.finish().map_err(zip_error)?.into_inner();
        out.flush()?;
        Ok(())
    }
}

/// A width in characters as Excel stores it: the pixels it would draw
/// (7 per character of Calibri 11 plus 5 of padding), back in characters
/// to 1/256, as Excel itself writes widths.
fn excel_width(chars: usize) -> f64 {
    let pixels = chars as u32 * 7 + 5;
    f64::from(pixels * 256 / 7) / 256.0
}

/// Escape an attribute value.
fn attribute(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_are_stored_as_excel_does() {
        assert_eq!(excel_width(12), 12.7109375);
        assert_eq!(excel_width(8), 8.7109375);
    }
}
