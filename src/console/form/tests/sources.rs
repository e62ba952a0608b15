//! Every source kind in the form: its fields round-trip, switching kinds
//! saves only the chosen kind, and bad values name their field.

use super::*;
use crate::export::source::command::CommandOutput;
use crate::export::source::file::FileFormat;
use crate::export::source::http::BodyFormat;
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

#[test]
fn every_source_kind_saves_unchanged_as_it_was() {
    let mut command = command_spec();
    if let SourceSpec::Command(cmd) = &mut command.source {
        cmd.output = Some(CommandOutput::Json);
        cmd.env.insert("REPORT_TITLE".into(), "Stock levels".into());
    }
    for spec in [full_spec(), command, file_spec(), http_spec()] {
        let mut form = JobForm::edit(&spec, ctx());
        assert!(form.problems().is_empty(), "{:?}", form.problems());
        assert_eq!(saved(&mut form), spec);
        assert!(spec.validate(&known()).is_ok());
    }
}

#[test]
fn a_command_source_gets_its_folder_environment_and_output_typed() {
    let mut form = JobForm::edit(&full_spec(), ctx());
    go_to(&mut form, Row::Field(Field::SourceKind));
    press(&mut form, KeyCode::Right);
    retype(&mut form, Field::Argv, "stock-report --all");
    retype(&mut form, Field::Cwd, "/srv/reports");
    retype(&mut form, Field::Env, "LANG=C 'TITLE=Stock levels'");
    go_to(&mut form, Row::Field(Field::Output));
    press(&mut form, KeyCode::Right);
    press(&mut form, KeyCode::Right);
    let spec = saved(&mut form);
    assert_eq!(
        spec.source,
        SourceSpec::Command(CommandSpec {
            argv: vec!["stock-report".into(), "--all".into()],
            cwd: Some("/srv/reports".into()),
            env: BTreeMap::from([
                ("LANG".into(), "C".into()),
                ("TITLE".into(), "Stock levels".into())
            ]),
            output: Some(CommandOutput::Json),
        })
    );

    retype(&mut form, Field::Env, "LANG=C TZ");
    assert_eq!(
        messages(&form, Field::Env),
        vec!["source.env: \"TZ\" is not NAME=value"]
    );
    assert!(form.valid_spec().is_none());
}

#[test]
fn a_file_source_with_a_template_query_is_made_in_the_form() {
    let mut form = JobForm::new(ctx());
    retype(&mut form, Field::Name, "status-diagram");
    retype(&mut form, Field::Schedule, "hourly at :05");
    go_to(&mut form, Row::Field(Field::SourceKind));
    press(&mut form, KeyCode::Right);
    press(&mut form, KeyCode::Right);
    assert!(!form.values.rows().contains(&Row::Field(Field::Query)));
    go_to(&mut form, Row::Field(Field::Path));
    // A new form does not shout "is empty" before anything is typed.
    assert_eq!(messages(&form, Field::Path), vec!["source.path: is empty"]);
    assert!(!form.shows_problems_of(Field::Path));
    type_text(&mut form, "diagrams/[");
    assert!(messages(&form, Field::Path)[0].starts_with("source.path: is not a valid glob"));
    press(&mut form, KeyCode::Backspace);
    type_text(&mut form, "*.svg");
    go_to(&mut form, Row::Field(Field::FileFormat));
    press(&mut form, KeyCode::Right);
    go_to(&mut form, Row::Field(Field::Template));
    press(&mut form, KeyCode::Left);
    // The query field only shows once a connection is chosen for it.
    assert!(
        !form
            .values
            .rows()
            .contains(&Row::Field(Field::TemplateQuery))
    );
    go_to(&mut form, Row::Field(Field::TemplateConnection));
    press(&mut form, KeyCode::Right);
    assert_eq!(
        messages(&form, Field::TemplateQuery),
        vec![
            "source.template_query.query: is empty: write the query whose first row fills the placeholders, or choose no connection"
        ]
    );
    press(&mut form, KeyCode::Tab);
    type_text(&mut form, "select count(*) as n");
    press(&mut form, KeyCode::Enter);
    type_text(&mut form, "from stock");
    go_to(&mut form, Row::Destination(0));
    press(&mut form, KeyCode::Char(' '));
    let spec = saved(&mut form);
    assert_eq!(
        spec.source,
        serde_json::from_value::<SourceSpec>(serde_json::json!({
            "kind": "file",
            "path": "diagrams/*.svg",
            "format": "svg",
            "template": true,
            "template_query": { "connection": "sales", "query": "select count(*) as n\nfrom stock" },
        }))
        .unwrap()
    );
    assert!(spec.validate(&known()).is_ok());
    let SourceSpec::File(file) = &spec.source else {
        unreachable!()
    };
    assert_eq!(file.format, Some(FileFormat::Svg));
}

#[test]
fn an_http_source_gets_its_headers_and_bad_values_name_their_field() {
    let mut form = JobForm::edit(&full_spec(), ctx());
    go_to(&mut form, Row::Field(Field::SourceKind));
    press(&mut form, KeyCode::Left);
    assert_eq!(
        messages(&form, Field::Url),
        vec!["source.url: \"\" must start with http:// or https://"]
    );
    retype(&mut form, Field::Url, "ftp://example.com/x");
    assert_eq!(
        messages(&form, Field::Url),
        vec!["source.url: \"ftp://example.com/x\" must start with http:// or https://"]
    );
    retype(&mut form, Field::Url, "http://127.0.0.1:8080/stock.csv");
    retype(&mut form, Field::HttpTimeout, "soon");
    assert!(messages(&form, Field::HttpTimeout)[0].starts_with("source.timeout: \"soon\""));
    retype(&mut form, Field::HttpTimeout, "0s");
    assert_eq!(
        messages(&form, Field::HttpTimeout),
        vec!["source.timeout: must be more than 0s"]
    );
    retype(&mut form, Field::HttpTimeout, "1m");
    retype(
        &mut form,
        Field::Headers,
        "Accept=text/csv 'X-Title=a b' Accept=x",
    );
    assert_eq!(
        messages(&form, Field::Headers),
        vec!["source.headers: \"Accept\" is given twice"]
    );
    retype(&mut form, Field::Headers, "Accept=text/csv 'X-Title=a b'");
    retype(&mut form, Field::HeadersEnv, "Authorization=STOCK_TOKEN");
    go_to(&mut form, Row::Field(Field::BodyFormat));
    press(&mut form, KeyCode::Left);
    let spec = saved(&mut form);
    assert_eq!(
        spec.source,
        serde_json::from_value::<SourceSpec>(serde_json::json!({
            "kind": "http",
            "url": "http://127.0.0.1:8080/stock.csv",
            "timeout": "1m",
            "headers": { "Accept": "text/csv", "X-Title": "a b" },
            "headers_env": { "Authorization": "STOCK_TOKEN" },
            "format": "csv",
        }))
        .unwrap()
    );
    let SourceSpec::Http(http) = &spec.source else {
        unreachable!()
    };
    assert_eq!(http.format, Some(BodyFormat::Csv));
}

#[test]
fn switching_kinds_saves_only_the_chosen_kind_and_keeps_the_others_for_later() {
    let spec = http_spec();
    let mut form = JobForm::edit(&spec, ctx());
    // http -> sql: the sql fields start empty and the http values are not saved.
    go_to(&mut form, Row::Field(Field::SourceKind));
    press(&mut form, KeyCode::Right);
    assert_eq!(form.values.source_kind(), SourceKind::Sql);
    assert!(form.values.rows().contains(&Row::Field(Field::Query)));
    assert!(!form.values.rows().contains(&Row::Field(Field::Url)));
    assert_eq!(
        messages(&form, Field::Query),
        vec!["source.query: is empty"]
    );
    go_to(&mut form, Row::Field(Field::Query));
    type_text(&mut form, "select 1 as n");
    let as_sql = saved(&mut form);
    assert_eq!(
        as_sql.source,
        SourceSpec::Sql(SqlSpec {
            connection: "sales".into(),
            query: "select 1 as n".into()
        })
    );
    // Back to http: what was typed there is still there, and only it is saved.
    go_to(&mut form, Row::Field(Field::SourceKind));
    press(&mut form, KeyCode::Left);
    assert_eq!(saved(&mut form), spec);
}

use crate::console::form::fields::SourceKind;
