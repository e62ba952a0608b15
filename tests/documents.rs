//! xlsx, pdf, svg and png read back by independent tools: calamine (and
//! the sheet's own XML), poppler's pdftotext/pdfinfo/pdffonts and qpdf,
//! and the png crate's decoder for pixels.

#[path = "support/formats.rs"]
mod support;

use calamine::{Data, Reader as _, Xlsx, open_workbook};
use chrono::{NaiveDate, NaiveDateTime};
use cronport::export::format::FormatError;
use cronport::export::value::{Column, Row, Value};
use support::{TRICKY, columns, pdf_pages, pdf_text, render, rows, spec, temp_file, tool};

fn cell_datetime(d: &Data) -> NaiveDateTime {
    match d {
        Data::DateTime(dt) => dt.as_datetime().unwrap(),
        other => panic!("not a date: {other:?}"),
    }
}

#[test]
fn xlsx_cells_keep_their_types() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = render(
        &spec(r#"{ kind = "xlsx", sheet = "Report" }"#),
        &columns(),
        &rows(),
    )
    .unwrap();
    let path = temp_file(&dir, "out.xlsx", &bytes);
    let mut book: Xlsx<_> = open_workbook(&path).unwrap();
    let range = book.worksheet_range("Report").unwrap();
    let grid: Vec<Vec<Data>> = range.rows().map(|r| r.to_vec()).collect();
    // The all-NULL last row holds no cell, so a reader's range may end before it.
    assert!(grid.len() == 3 || grid.len() == 4, "{} rows", grid.len());
    let header: Vec<String> = grid[0].iter().map(|d| d.to_string()).collect();
    assert_eq!(
        header,
        columns().iter().map(|c| c.name.clone()).collect::<Vec<_>>()
    );
    let r = &grid[1];
    // Integers beyond 2^53 would be rounded by Excel: they stay exact as text.
    assert_eq!(r[0], Data::String(i64::MIN.to_string()));
    assert_eq!(r[1], Data::Float(0.1));
    assert_eq!(r[2], Data::String("12345678901234567890.0000000001".into()));
    assert_eq!(r[3], Data::Bool(true));
    assert_eq!(r[4], Data::String(TRICKY.into()));
    assert_eq!(r[5], Data::String("AP8B".into()));
    assert_eq!(
        cell_datetime(&r[6]).date(),
        NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()
    );
    assert_eq!(cell_datetime(&r[7]).time().to_string(), "23:59:59.250");
    assert_eq!(cell_datetime(&r[8]).to_string(), "2026-03-08 02:30:00");
    // Instants are written in UTC (Excel has no zones).
    assert_eq!(cell_datetime(&r[9]).to_string(), "2026-03-08 07:00:00");
    assert_eq!(r[10], Data::String(r#"{"a":[1,2.5,null],"b":"ü"}"#.into()));
    assert_eq!(r[11], Data::Empty);
    let r = &grid[2];
    assert_eq!(r[1], Data::Float(-2.5e300));
    assert_eq!(r[2], Data::Float(-0.5));
    assert_eq!(r[3], Data::Bool(false));
    assert_eq!(
        cell_datetime(&r[6]).date(),
        NaiveDate::from_ymd_opt(1900, 3, 1).unwrap()
    );
    assert!(
        grid.get(3)
            .is_none_or(|r| r.iter().all(|d| *d == Data::Empty))
    );

    // Styling lives in the package's XML: a frozen, bold header and widths.
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
    let mut read = |name: &str| {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut zip.by_name(name).unwrap(), &mut text).unwrap();
        text
    };
    let sheet = read("xl/worksheets/sheet1.xml");
    assert!(sheet.contains(r#"ySplit="1""#), "header row not frozen");
    // Equal neighbours share one <col> element; the last covers column 12.
    assert!(
        sheet.matches("<col ").count() >= 6 && sheet.contains(r#"max="12""#),
        "{sheet}"
    );
    assert!(sheet.contains("customWidth=\"1\""));
    assert!(
        read("xl/styles.xml").contains("<b/>"),
        "no bold font for the header"
    );
}

#[test]
fn xlsx_refuses_what_a_cell_cannot_hold() {
    let cols = vec![Column::new("ratio"), Column::new("note")];
    let err = render(
        &spec(r#"{ kind = "xlsx" }"#),
        &cols,
        &[vec![Value::Float(f64::INFINITY), Value::Null]],
    )
    .unwrap_err();
    assert!(
        matches!(&err, FormatError::Cell { row: 1, column, .. } if column == "ratio"),
        "{err}"
    );
    let long = "x".repeat(40_000);
    let err = render(
        &spec(r#"{ kind = "xlsx" }"#),
        &cols,
        &[vec![Value::Null, Value::Text(long)]],
    )
    .unwrap_err();
    assert!(err.to_string().contains("32767"), "{err}");
    let old = NaiveDate::from_ymd_opt(1850, 1, 1).unwrap();
    let err = render(
        &spec(r#"{ kind = "xlsx" }"#),
        &cols,
        &[vec![Value::Date(old), Value::Null]],
    )
    .unwrap_err();
    assert!(err.to_string().contains("before 1900"), "{err}");
}

fn many_rows(n: usize) -> Vec<Row> {
    (0..n)
        .map(|i| {
            let mut row = rows()[i % 2].clone();
            row[0] = Value::Int(i as i64);
            row
        })
        .collect()
}

#[test]
fn pdf_is_paginated_with_headers_numbers_and_embedded_fonts() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = render(
        &spec(r#"{ kind = "pdf", title = "Quarterly Σ report" }"#),
        &columns(),
        &many_rows(120),
    )
    .unwrap();
    let path = temp_file(&dir, "out.pdf", &bytes);
    let check = tool("qpdf", &["--check"], &path);
    assert!(
        check.contains("No syntax or stream encoding errors"),
        "{check}"
    );
    let info = tool("pdfinfo", &[], &path);
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(pages >= 3, "{info}");
    let fonts = tool("pdffonts", &[], &path);
    for line in fonts.lines().skip(2) {
        assert!(line.contains(" yes "), "font not embedded: {line}");
    }
    let text = pdf_text(&path, true);
    if std::env::var_os("CRONPORT_KEEP_PDF").is_some() {
        std::fs::copy(&path, "/tmp/cronport-report.pdf").unwrap();
        std::fs::write("/tmp/cronport-report.txt", &text).unwrap();
    }
    let page_texts = pdf_pages(&text);
    assert_eq!(page_texts.len(), pages);
    for (i, page) in page_texts.iter().enumerate() {
        assert!(
            page.contains("Quarterly Σ report"),
            "page {} has no title",
            i + 1
        );
        assert!(
            page.contains("timestamp"),
            "page {} repeats no header",
            i + 1
        );
        assert!(
            page.contains(&format!("Page {} of {pages}", i + 1)),
            "page {}: {page}",
            i + 1
        );
        assert!(
            page.contains("Run of 2026-03-08 03:00 EDT"),
            "page {} has no run time",
            i + 1
        );
    }
    for needle in [
        "Zoë",
        "東京",
        "🚀",
        "-2.5e300",
        "12345678901234567890",
        "AP8B",
        "2026-03-08T03:00:00-04:00",
        "119",
    ] {
        assert!(text.contains(needle), "{needle} missing from the PDF text");
    }
    // Right-to-left words come back in reading order.
    assert!(
        text.contains("שלום") && text.contains("مرحبا"),
        "RTL text: {text}"
    );
}

#[test]
fn pdf_refuses_more_rows_than_its_limit() {
    let err = render(
        &spec(r#"{ kind = "pdf", max_rows = 10 }"#),
        &columns(),
        &many_rows(11),
    )
    .unwrap_err();
    assert!(err.to_string().contains("format.max_rows"), "{err}");
}

/// Decode a PNG to RGBA rows.
fn decode_png(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::ALPHA);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    assert_eq!(info.color_type, png::ColorType::Rgba);
    (info.width, info.height, buf)
}

fn sales() -> (Vec<Column>, Vec<Row>) {
    let cols = vec![
        Column::new("category"),
        Column::new("amount"),
        Column::new("count"),
    ];
    let rows = vec![
        vec![Value::Text("alpha".into()), Value::Int(60), Value::Int(1)],
        vec![
            Value::Text("beta".into()),
            Value::Decimal("0".into()),
            Value::Int(1),
        ],
        vec![
            Value::Text("gamma".into()),
            Value::Float(30.0),
            Value::Int(1),
        ],
        // Same x again: summed into alpha.
        vec![Value::Text("alpha".into()), Value::Int(40), Value::Null],
    ];
    (cols, rows)
}

#[test]
fn png_chart_puts_bars_where_the_data_says() {
    let (cols, rows) = sales();
    let bytes = render(
        &spec(r#"{ kind = "png", width = 400, height = 300, chart = { kind = "bar", x = "category", y = ["amount"] } }"#),
        &cols,
        &rows,
    )
    .unwrap();
    let (w, h, px) = decode_png(&bytes);
    assert_eq!((w, h), (400, 300));
    // Count the first series' colour (#2f6db5) per pixel column.
    let bar_height = |x: u32| {
        (0..h)
            .filter(|&y| {
                let i = ((y * w + x) * 4) as usize;
                px[i].abs_diff(0x2f) < 8
                    && px[i + 1].abs_diff(0x6d) < 8
                    && px[i + 2].abs_diff(0xb5) < 8
            })
            .count()
    };
    // Plot area: x from 70 to 380, three bands.
    let band = 310.0 / 3.0;
    let centre = |i: f32| (70.0 + band * (i + 0.5)) as u32;
    let (alpha, beta, gamma) = (
        bar_height(centre(0.0)),
        bar_height(centre(1.0)),
        bar_height(centre(2.0)),
    );
    assert!(alpha > 100, "alpha bar {alpha}px");
    assert_eq!(beta, 0, "a zero makes no bar");
    let ratio = alpha as f32 / gamma as f32;
    assert!(
        (ratio - 100.0 / 30.0).abs() < 0.15,
        "alpha {alpha} gamma {gamma}"
    );
    // The background is white, not transparent.
    assert_eq!(&px[0..4], &[255, 255, 255, 255]);
}

#[test]
fn svg_chart_parses_and_names_its_parts() {
    let (cols, rows) = sales();
    let bytes = render(
        &spec(r#"{ kind = "svg", chart = { kind = "line", x = "category", y = ["amount", "count"], title = "Sales & more" } }"#),
        &cols,
        &rows,
    )
    .unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = temp_file(&dir, "chart.svg", text.as_bytes());
    let script = "import json, sys, xml.etree.ElementTree as ET\nroot = ET.parse(sys.argv[1]).getroot()\nns = '{http://www.w3.org/2000/svg}'\nprint(json.dumps({'texts': [t.text for t in root.iter(ns + 'text')], 'lines': len(list(root.iter(ns + 'polyline')))}))";
    let parsed = support::python_json(script, &path);
    let texts: Vec<String> = serde_json::from_value(parsed["texts"].clone()).unwrap();
    for want in [
        "Sales & more",
        "alpha",
        "beta",
        "gamma",
        "amount",
        "count",
        "category",
    ] {
        assert!(
            texts.iter().any(|t| t == want),
            "{want} missing from {texts:?}"
        );
    }
    assert_eq!(parsed["lines"], 2);
}

#[test]
fn charts_name_a_missing_column_and_refuse_text_values() {
    let (cols, rows) = sales();
    let err = render(
        &spec(r#"{ kind = "png", chart = { kind = "bar", x = "category", y = ["total"] } }"#),
        &cols,
        &rows,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("format.chart.y: column \"total\""),
        "{err}"
    );
    let err = render(
        &spec(r#"{ kind = "svg", chart = { kind = "bar", x = "amount", y = ["category"] } }"#),
        &cols,
        &rows,
    )
    .unwrap_err();
    assert!(
        matches!(&err, FormatError::Cell { row: 1, column, .. } if column == "category"),
        "{err}"
    );
    let err = render(&spec(r#"{ kind = "png" }"#), &cols, &rows).unwrap_err();
    assert!(err.to_string().contains("format.chart"), "{err}");
}

fn diagram(svg: &str) -> (Vec<Column>, Vec<Row>) {
    (
        vec![Column::new("path"), Column::new("svg")],
        vec![vec![Value::Text("d.svg".into()), Value::Text(svg.into())]],
    )
}

#[test]
fn png_renders_a_diagram_and_its_text_in_every_script() {
    let (cols, rows) = diagram(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100"><rect x="10" y="10" width="50" height="30" fill="#ff0000"/></svg>"##,
    );
    let bytes = render(&spec(r#"{ kind = "png", scale = 2 }"#), &cols, &rows).unwrap();
    let (w, h, px) = decode_png(&bytes);
    assert_eq!((w, h), (400, 200));
    let at = |x: u32, y: u32| &px[((y * w + x) * 4) as usize..((y * w + x) * 4 + 4) as usize];
    assert_eq!(at(60, 40), &[255, 0, 0, 255]);
    assert_eq!(at(300, 150)[3], 0, "diagrams keep transparency");

    // Distinct glyphs render to distinct pixels; missing ones would all be
    // the same empty box.
    let render_text = |text: &str| {
        let svg = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="160" height="40"><text x="4" y="30" font-size="24">{text}</text></svg>"#
        );
        let (cols, rows) = diagram(&svg);
        let (_, _, px) = decode_png(
            &render(
                &spec(r##"{ kind = "png", background = "#ffffff" }"##),
                &cols,
                &rows,
            )
            .unwrap(),
        );
        px
    };
    for (a, b) in [
        ("東京", "京東"),
        ("שלום", "םולש"),
        ("مرحبا", "ابحرم"),
        ("Zoë", "Zoe"),
        ("📊👍", "👍📊"),
    ] {
        let (pa, pb) = (render_text(a), render_text(b));
        let inked = pa.chunks(4).filter(|p| p[0] < 128).count();
        assert!(inked > 30, "{a} rendered blank");
        assert_ne!(pa, pb, "{a} and {b} look the same: glyphs missing");
    }
}

#[test]
fn a_diagram_that_does_not_parse_is_refused() {
    let (cols, rows) = diagram("<svg xmlns=\"http://www.w3.org/2000/svg\"><rect></svg");
    for kind in ["svg", "png", "pdf"] {
        let err = render(&spec(&format!("{{ kind = \"{kind}\" }}")), &cols, &rows).unwrap_err();
        assert!(
            err.to_string().contains("the SVG does not parse"),
            "{kind}: {err}"
        );
    }
}

#[test]
fn pdf_holds_diagrams_and_a_chart_page() {
    let dir = tempfile::tempdir().unwrap();
    let (cols, rows) = diagram(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="300" height="200"><rect width="300" height="200" fill="#00aa00"/><text x="20" y="100" font-size="30">Status 東京</text></svg>"##,
    );
    let bytes = render(&spec(r#"{ kind = "pdf" }"#), &cols, &rows).unwrap();
    let path = temp_file(&dir, "diagram.pdf", &bytes);
    assert!(tool("qpdf", &["--check"], &path).contains("No syntax or stream encoding errors"));
    assert!(
        tool("pdfimages", &["-list"], &path).lines().count() >= 3,
        "no image in the diagram PDF"
    );

    let (cols, rows) = sales();
    let bytes = render(
        &spec(r#"{ kind = "pdf", chart = { kind = "bar", x = "category", y = ["amount"] } }"#),
        &cols,
        &rows,
    )
    .unwrap();
    let path = temp_file(&dir, "chart.pdf", &bytes);
    assert!(tool("qpdf", &["--check"], &path).contains("No syntax or stream encoding errors"));
    let text = pdf_text(&path, true);
    let pages = pdf_pages(&text);
    assert_eq!(pages.len(), 2, "chart page then table page");
    assert!(pages[0].contains("Page 1 of 2") && !pages[0].contains("gamma"));
    assert!(pages[1].contains("gamma") && pages[1].contains("Page 2 of 2"));
}
