//! The pdf report read back by poppler and qpdf: Arabic shaped and
//! extracted in reading order, and a report of many pages streamed through
//! the spill file with a chart in front.

#[path = "support/formats.rs"]
mod support;

use cronport::export::value::{Column, Row, Value};
use support::{pdf_pages, pdf_text, render, spec, temp_file, tool};

fn pages_of(path: &std::path::Path) -> usize {
    tool("pdfinfo", &[], path)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("pdfinfo reports pages")
}

fn check(path: &std::path::Path) {
    let check = tool("qpdf", &["--check"], path);
    assert!(
        check.contains("No syntax or stream encoding errors"),
        "{check}"
    );
    for line in tool("pdffonts", &[], path).lines().skip(2) {
        assert!(
            line.contains(" yes yes "),
            "font not embedded as a subset: {line}"
        );
    }
}

#[test]
fn arabic_is_shaped_and_extracted_in_reading_order() {
    let dir = tempfile::tempdir().unwrap();
    // "Peace be upon you" has a lam-alef ligature; "report 2026" mixes
    // Arabic with digits; the Hebrew stays unshaped.
    let phrases = ["السلام عليكم", "تقرير 2026", "שלום עולם"];
    let rows: Vec<Row> = phrases
        .iter()
        .map(|p| vec![Value::Text((*p).into())])
        .collect();
    let bytes = render(
        &spec(r#"{ kind = "pdf" }"#),
        &[Column::new("phrase")],
        &rows,
    )
    .unwrap();
    let path = temp_file(&dir, "arabic.pdf", &bytes);
    check(&path);
    let text = pdf_text(&path, false);
    for phrase in ["السلام عليكم", "تقرير", "2026", "שלום עולם"] {
        assert!(text.contains(phrase), "{phrase} missing: {text}");
    }
    // Extraction gives letters, never the presentation forms drawn.
    assert!(
        !text
            .chars()
            .any(|c| matches!(c as u32, 0xFB50..=0xFDFF | 0xFE70..=0xFEFF)),
        "{text}"
    );
}

#[test]
fn many_pages_stream_with_a_chart_in_front() {
    let dir = tempfile::tempdir().unwrap();
    let columns = vec![
        Column::new("id"),
        Column::new("name"),
        Column::new("region"),
        Column::new("amount"),
    ];
    let n = 3000;
    let regions = ["north", "south", "east", "west"];
    let rows: Vec<Row> = (0..n)
        .map(|i| {
            vec![
                Value::Int(i),
                Value::Text(format!("customer {i} · 東京")),
                Value::Text(regions[i as usize % 4].into()),
                Value::Float(i as f64 * 0.25),
            ]
        })
        .collect();
    let bytes = render(
        &spec(
            r#"{ kind = "pdf", title = "Ventes été", chart = { kind = "bar", x = "region", y = ["amount"] } }"#,
        ),
        &columns,
        &rows,
    )
    .unwrap();
    let path = temp_file(&dir, "many.pdf", &bytes);
    check(&path);
    let pages = pages_of(&path);
    assert!(pages > 50, "{pages} pages");
    let images = tool("pdfimages", &["-list"], &path);
    let first_image_page = images
        .lines()
        .nth(2)
        .and_then(|l| l.split_whitespace().next())
        .expect("an image");
    assert_eq!(first_image_page, "1", "{images}");
    let text = pdf_text(&path, true);
    let page_texts = pdf_pages(&text);
    assert_eq!(page_texts.len(), pages);
    for (i, page) in page_texts.iter().enumerate() {
        assert!(page.contains("Ventes été"), "page {} has no title", i + 1);
        assert!(
            page.contains(&format!("Page {} of {pages}", i + 1)),
            "page {}: {page}",
            i + 1
        );
        assert!(
            page.contains(&format!("{n} rows")),
            "page {} has no row count",
            i + 1
        );
        if i > 0 {
            assert!(page.contains("amount"), "page {} repeats no header", i + 1);
        }
    }
    assert!(page_texts[1].contains("customer 0 · 東京"));
    // Widths come from the first 1,000 rows, so later, longer names wrap.
    assert!(page_texts[pages - 1].contains(&format!("customer {} ·", n - 1)));
}

#[test]
fn an_empty_result_is_one_page_with_the_header() {
    let dir = tempfile::tempdir().unwrap();
    let columns = [Column::new("when"), Column::new("what")];
    let bytes = render(&spec(r#"{ kind = "pdf" }"#), &columns, &[]).unwrap();
    let path = temp_file(&dir, "empty.pdf", &bytes);
    check(&path);
    assert_eq!(pages_of(&path), 1);
    let text = pdf_text(&path, true);
    for needle in ["when", "what", "0 rows", "Page 1 of 1"] {
        assert!(text.contains(needle), "{needle} missing: {text}");
    }
}
