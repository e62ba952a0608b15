//! Every format kind in the form: its options round-trip, png is offered
//! with its chart, bad options name their key, and only the chosen kind's
//! options are saved.

use super::*;
use crate::export::format::chart::ChartKind;
use crate::export::format::csv::QuoteStyle;
use crate::export::format::{Compression, FormatSpec};
use crate::job::Known;

fn known() -> Known {
    let c = ctx();
    Known {
        default_timezone: Some(chrono_tz::Europe::Berlin),
        connections: c.connections.into_iter().collect(),
        destinations: c.destinations.into_iter().collect(),
        ..Known::default()
    }
}

fn saved(form: &mut JobForm) -> JobSpec {
    match ctrl(form, 's') {
        FormOutcome::Save(spec) => spec,
        other => panic!("not saved ({other:?}): {:?}", form.problems()),
    }
}

/// Step the format selector to `kind`.
fn choose_format(form: &mut JobForm, kind: &str) {
    go_to(form, Row::Field(Field::Format));
    for _ in 0..10 {
        if form.valid_spec().is_some_and(|s| s.format.kind() == kind)
            || form
                .values
                .choice(Field::Format)
                .is_some_and(|(labels, i)| labels[i] == kind)
        {
            return;
        }
        press(form, KeyCode::Right);
    }
    panic!("format {kind} not offered");
}

#[test]
fn every_format_kind_saves_unchanged_as_it_was() {
    for spec in every_format() {
        assert!(spec.validate(&known()).is_ok(), "{:?}", spec.format);
        let mut form = JobForm::edit(&spec, ctx());
        assert!(form.problems().is_empty(), "{:?}", form.problems());
        assert_eq!(saved(&mut form), spec);
    }
}

#[test]
fn csv_options_are_typed_and_a_bad_delimiter_is_named() {
    let mut form = JobForm::edit(&full_spec(), ctx());
    retype(&mut form, Field::Delimiter, "ab");
    assert_eq!(
        messages(&form, Field::Delimiter),
        vec![
            "format.delimiter: \"ab\" must be one ASCII character other than a quote or line break"
        ]
    );
    retype(&mut form, Field::Delimiter, ";");
    go_to(&mut form, Row::Field(Field::Quote));
    press(&mut form, KeyCode::Right);
    press(&mut form, KeyCode::Right);
    retype(&mut form, Field::Null, "\\N");
    go_to(&mut form, Row::Field(Field::Compression));
    press(&mut form, KeyCode::Right);
    let FormatSpec::Csv(csv) = saved(&mut form).format else {
        panic!("not csv");
    };
    assert_eq!(csv.header, Some(false), "kept from the job");
    assert_eq!(csv.delimiter.as_deref(), Some(";"));
    assert_eq!(csv.quote, Some(QuoteStyle::Always));
    assert_eq!(csv.null.as_deref(), Some("\\N"));
    assert_eq!(csv.compression, Some(Compression::Gzip));
}

#[test]
fn png_is_offered_with_its_chart_and_bad_values_name_their_key() {
    let mut form = JobForm::edit(&full_spec(), ctx());
    choose_format(&mut form, "png");
    // No chart: the source's own SVG diagram is rasterised.
    assert!(!form.values.rows().contains(&Row::Field(Field::ChartX)));
    assert_eq!(saved(&mut form).format, FormatSpec::Png(Default::default()));

    go_to(&mut form, Row::Field(Field::Chart));
    press(&mut form, KeyCode::Right);
    assert_eq!(
        messages(&form, Field::ChartX),
        vec!["format.chart.x: name the column along the x axis"]
    );
    assert_eq!(
        messages(&form, Field::ChartY),
        vec!["format.chart.y: name at least one column"]
    );
    retype(&mut form, Field::ChartX, "category");
    retype(&mut form, Field::ChartY, "amount, cost");
    retype(&mut form, Field::Width, "wide");
    assert_eq!(
        messages(&form, Field::Width),
        vec!["format.width: \"wide\" is not a whole number"]
    );
    retype(&mut form, Field::Width, "0");
    assert_eq!(
        messages(&form, Field::Width),
        vec!["format.width: 0 must be between 1 and 20000"]
    );
    retype(&mut form, Field::Width, "1200");
    retype(&mut form, Field::Scale, "20");
    assert_eq!(
        messages(&form, Field::Scale),
        vec!["format.scale: 20 must be between 0.1 and 10"]
    );
    retype(&mut form, Field::Scale, "2");
    retype(&mut form, Field::Background, "#00000080");
    let spec = saved(&mut form);
    let FormatSpec::Png(png) = &spec.format else {
        panic!("not png");
    };
    assert_eq!(png.width, Some(1200));
    assert_eq!(png.scale, Some(2.0));
    assert_eq!(png.background.as_deref(), Some("#00000080"));
    let chart = png.chart.as_ref().expect("a chart");
    assert_eq!(chart.kind, ChartKind::Bar);
    assert_eq!(chart.x, "category");
    assert_eq!(chart.y, vec!["amount", "cost"]);
    assert!(spec.validate(&known()).is_ok());
}

#[test]
fn switching_formats_saves_only_the_chosen_kinds_options() {
    let pdf = every_format().remove(7);
    let mut form = JobForm::edit(&pdf, ctx());
    // pdf -> svg: the chart carries over (svg has one too), the title does not.
    choose_format(&mut form, "svg");
    let FormatSpec::Svg(svg) = saved(&mut form).format else {
        panic!("not svg");
    };
    let FormatSpec::Pdf(pdf_spec) = &pdf.format else {
        unreachable!()
    };
    assert_eq!(svg.chart, pdf_spec.chart);
    assert_eq!((svg.width, svg.height), (None, None));
    // -> html: only the title.
    choose_format(&mut form, "html");
    let spec = saved(&mut form);
    assert_eq!(
        spec.format,
        serde_json::from_value::<FormatSpec>(
            serde_json::json!({ "kind": "html", "title": "Daily sales" })
        )
        .unwrap()
    );
    // A bad font size is named, and only while pdf is chosen.
    choose_format(&mut form, "pdf");
    retype(&mut form, Field::FontSize, "big");
    assert_eq!(
        messages(&form, Field::FontSize),
        vec!["format.font_size: \"big\" is not a number"]
    );
    choose_format(&mut form, "json");
    assert!(form.problems().is_empty(), "{:?}", form.problems());
    assert_eq!(
        saved(&mut form).format,
        FormatSpec::Json(Default::default())
    );
}
