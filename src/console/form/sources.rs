//! The source part of the form: every kind's fields (sql, command, file,
//! http), each kind holding its own values while another is chosen, and
//! only the chosen kind turned into the saved source.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;

use tui_input::Input;

use super::argv;
use super::choice::Choice;
use super::fields::{Field, Row};
use super::multiline::MultiLine;
use crate::config::duration::HumanDuration;
use crate::export::source::SourceSpec;
use crate::export::source::command::{CommandOutput, CommandSpec};
use crate::export::source::file::{FileFormat, FileSpec};
use crate::export::source::http::{BodyFormat, HttpSpec};
use crate::export::source::sql::SqlSpec;

/// Which kind of source the job reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// A query on a named connection.
    Sql,
    /// A program's stdout.
    Command,
    /// A file or glob, optionally a template.
    File,
    /// A GET of a URL.
    Http,
}

/// The values of every source kind, as typed or picked.
#[derive(Clone, Debug)]
pub struct SourceValues {
    pub(crate) kind: Choice<SourceKind>,
    pub(crate) connection: Choice<String>,
    pub(crate) query: MultiLine,
    pub(crate) argv: Input,
    pub(crate) cwd: Input,
    pub(crate) env: Input,
    pub(crate) output: Choice<Option<CommandOutput>>,
    pub(crate) path: Input,
    pub(crate) file_format: Choice<Option<FileFormat>>,
    pub(crate) template: Choice<Option<bool>>,
    /// `None`: no template query.
    pub(crate) template_connection: Choice<Option<String>>,
    pub(crate) template_query: MultiLine,
    pub(crate) url: Input,
    pub(crate) http_timeout: Input,
    pub(crate) headers: Input,
    pub(crate) headers_env: Input,
    pub(crate) body_format: Choice<Option<BodyFormat>>,
}

impl SourceValues {
    /// The values of `source`; the other kinds start empty. Connections the
    /// job names but the config lacks are offered too, so they show (flagged).
    pub fn from_spec(source: &SourceSpec, config_connections: &[String]) -> Self {
        let mut connections = config_connections.to_vec();
        let mut add = |name: &str| {
            if !name.is_empty() && !connections.iter().any(|c| c == name) {
                connections.push(name.to_string());
            }
        };
        let first = config_connections.first().cloned().unwrap_or_default();
        let (kind, sql, command, file, http) = match source {
            SourceSpec::Sql(s) => (SourceKind::Sql, Some(s), None, None, None),
            SourceSpec::Command(c) => (SourceKind::Command, None, Some(c), None, None),
            SourceSpec::File(f) => (SourceKind::File, None, None, Some(f), None),
            SourceSpec::Http(h) => (SourceKind::Http, None, None, None, Some(h)),
        };
        if let Some(sql) = sql {
            add(&sql.connection);
        }
        let template_query = file.and_then(|f| f.template_query.as_ref());
        if let Some(q) = template_query {
            add(&q.connection);
        }
        let text = |s: &str| Input::new(s.to_string());
        let mut template_connections = vec![("none".to_string(), None)];
        template_connections.extend(connections.iter().map(|c| (c.clone(), Some(c.clone()))));
        SourceValues {
            kind: Choice::new(
                vec![
                    ("sql".into(), SourceKind::Sql),
                    ("command".into(), SourceKind::Command),
                    ("file".into(), SourceKind::File),
                    ("http".into(), SourceKind::Http),
                ],
                &kind,
            ),
            connection: Choice::new(
                connections.iter().map(|c| (c.clone(), c.clone())).collect(),
                &sql.map_or(first, |s| s.connection.clone()),
            ),
            query: MultiLine::new(sql.map_or("", |s| s.query.as_str())),
            argv: text(&command.map_or(String::new(), |c| argv::join(&c.argv))),
            cwd: text(
                &command
                    .and_then(|c| c.cwd.as_ref())
                    .map_or(String::new(), |p| p.display().to_string()),
            ),
            env: text(&command.map_or(String::new(), |c| argv::join_pairs(&c.env))),
            output: Choice::new(
                vec![
                    ("default: csv".into(), None),
                    ("csv".into(), Some(CommandOutput::Csv)),
                    ("json".into(), Some(CommandOutput::Json)),
                    ("svg".into(), Some(CommandOutput::Svg)),
                    ("raw".into(), Some(CommandOutput::Raw)),
                ],
                &command.and_then(|c| c.output),
            ),
            path: text(file.map_or("", |f| f.path.as_str())),
            file_format: Choice::new(
                vec![
                    ("by extension".into(), None),
                    ("svg".into(), Some(FileFormat::Svg)),
                    ("json".into(), Some(FileFormat::Json)),
                    ("csv".into(), Some(FileFormat::Csv)),
                    ("markdown".into(), Some(FileFormat::Markdown)),
                    ("text".into(), Some(FileFormat::Text)),
                ],
                &file.and_then(|f| f.format),
            ),
            template: Choice::new(
                vec![
                    ("default: no".into(), None),
                    ("no".into(), Some(false)),
                    ("yes".into(), Some(true)),
                ],
                &file.and_then(|f| f.template),
            ),
            template_connection: Choice::new(
                template_connections,
                &template_query.map(|q| q.connection.clone()),
            ),
            template_query: MultiLine::new(template_query.map_or("", |q| q.query.as_str())),
            url: text(http.map_or("", |h| h.url.as_str())),
            http_timeout: text(
                &http
                    .and_then(|h| h.timeout)
                    .map_or(String::new(), |d| d.to_string()),
            ),
            headers: text(&http.map_or(String::new(), |h| argv::join_pairs(&h.headers))),
            headers_env: text(&http.map_or(String::new(), |h| argv::join_pairs(&h.headers_env))),
            body_format: Choice::new(
                vec![
                    ("by content type".into(), None),
                    ("json".into(), Some(BodyFormat::Json)),
                    ("csv".into(), Some(BodyFormat::Csv)),
                ],
                &http.and_then(|h| h.format),
            ),
        }
    }

    /// The chosen kind.
    pub fn kind(&self) -> SourceKind {
        self.kind.value().copied().unwrap_or(SourceKind::Sql)
    }

    /// The rows of the chosen kind, below the kind selector.
    pub fn rows(&self) -> Vec<Row> {
        let fields: &[Field] = match self.kind() {
            SourceKind::Sql => &[Field::Connection, Field::Query],
            SourceKind::Command => &[Field::Argv, Field::Cwd, Field::Env, Field::Output],
            SourceKind::File
                if self
                    .template_connection
                    .value()
                    .is_some_and(Option::is_some) =>
            {
                &[
                    Field::Path,
                    Field::FileFormat,
                    Field::Template,
                    Field::TemplateConnection,
                    Field::TemplateQuery,
                ]
            }
            SourceKind::File => &[
                Field::Path,
                Field::FileFormat,
                Field::Template,
                Field::TemplateConnection,
            ],
            SourceKind::Http => &[
                Field::Url,
                Field::HttpTimeout,
                Field::Headers,
                Field::HeadersEnv,
                Field::BodyFormat,
            ],
        };
        fields.iter().copied().map(Row::Field).collect()
    }

    /// The one-line input behind `field`, if it is a source field typed on one line.
    pub fn input(&self, field: Field) -> Option<&Input> {
        Some(match field {
            Field::Argv => &self.argv,
            Field::Cwd => &self.cwd,
            Field::Env => &self.env,
            Field::Path => &self.path,
            Field::Url => &self.url,
            Field::HttpTimeout => &self.http_timeout,
            Field::Headers => &self.headers,
            Field::HeadersEnv => &self.headers_env,
            _ => return None,
        })
    }

    /// The one-line input behind `field`, to type into.
    pub fn input_mut(&mut self, field: Field) -> Option<&mut Input> {
        Some(match field {
            Field::Argv => &mut self.argv,
            Field::Cwd => &mut self.cwd,
            Field::Env => &mut self.env,
            Field::Path => &mut self.path,
            Field::Url => &mut self.url,
            Field::HttpTimeout => &mut self.http_timeout,
            Field::Headers => &mut self.headers,
            Field::HeadersEnv => &mut self.headers_env,
            _ => return None,
        })
    }

    /// The multi-line buffer behind `field` (the queries).
    pub fn multiline(&self, field: Field) -> Option<&MultiLine> {
        match field {
            Field::Query => Some(&self.query),
            Field::TemplateQuery => Some(&self.template_query),
            _ => None,
        }
    }

    /// The multi-line buffer behind `field`, to type into.
    pub fn multiline_mut(&mut self, field: Field) -> Option<&mut MultiLine> {
        match field {
            Field::Query => Some(&mut self.query),
            Field::TemplateQuery => Some(&mut self.template_query),
            _ => None,
        }
    }

    /// Step the selector behind `field`; false if it is not a source selector.
    pub fn step_choice(&mut self, field: Field, step: isize) -> bool {
        match field {
            Field::SourceKind => self.kind.step(step),
            Field::Connection => self.connection.step(step),
            Field::Output => self.output.step(step),
            Field::FileFormat => self.file_format.step(step),
            Field::Template => self.template.step(step),
            Field::TemplateConnection => self.template_connection.step(step),
            Field::BodyFormat => self.body_format.step(step),
            _ => return false,
        }
        true
    }

    /// Labels of the selector behind `field` and which one is chosen.
    pub fn choice(&self, field: Field) -> Option<(Vec<&str>, usize)> {
        Some(match field {
            Field::SourceKind => self.kind.labels(),
            Field::Connection => self.connection.labels(),
            Field::Output => self.output.labels(),
            Field::FileFormat => self.file_format.labels(),
            Field::Template => self.template.labels(),
            Field::TemplateConnection => self.template_connection.labels(),
            Field::BodyFormat => self.body_format.labels(),
            _ => return None,
        })
    }

    /// The source of the chosen kind, built from its fields only; what
    /// cannot be read is reported through `problem` (field, message, span).
    pub fn spec(&self, problem: &mut dyn FnMut(Field, String, Option<Range<usize>>)) -> SourceSpec {
        match self.kind() {
            SourceKind::Sql => SourceSpec::Sql(SqlSpec {
                connection: self.connection.value().cloned().unwrap_or_default(),
                query: self.query.value().to_string(),
            }),
            SourceKind::Command => {
                let argv = argv::split(self.argv.value()).unwrap_or_else(|e| {
                    problem(Field::Argv, e.to_string(), Some(e.at..e.at + 1));
                    Vec::new()
                });
                let env = pairs(Field::Env, &self.env, problem);
                let cwd = self.cwd.value().trim();
                SourceSpec::Command(CommandSpec {
                    argv,
                    cwd: (!cwd.is_empty()).then(|| PathBuf::from(cwd)),
                    env,
                    output: self.output.value().copied().flatten(),
                })
            }
            SourceKind::File => {
                let template_query =
                    self.template_connection
                        .value()
                        .cloned()
                        .flatten()
                        .map(|connection| SqlSpec {
                            connection,
                            query: self.template_query.value().to_string(),
                        });
                if template_query
                    .as_ref()
                    .is_some_and(|q| q.query.trim().is_empty())
                {
                    problem(
                        Field::TemplateQuery,
                        "is empty: write the query whose first row fills the placeholders, or choose no connection".into(),
                        None,
                    );
                }
                SourceSpec::File(FileSpec {
                    path: self.path.value().trim().to_string(),
                    format: self.file_format.value().copied().flatten(),
                    template: self.template.value().copied().flatten(),
                    template_query,
                })
            }
            SourceKind::Http => {
                let headers = pairs(Field::Headers, &self.headers, problem);
                let headers_env = pairs(Field::HeadersEnv, &self.headers_env, problem);
                let text = self.http_timeout.value().trim();
                let timeout = if text.is_empty() {
                    None
                } else {
                    match text.parse::<HumanDuration>() {
                        Ok(d) if d.0.is_zero() => {
                            problem(Field::HttpTimeout, "must be more than 0s".into(), None);
                            None
                        }
                        Ok(d) => Some(d),
                        Err(e) => {
                            problem(Field::HttpTimeout, e.to_string(), None);
                            None
                        }
                    }
                };
                SourceSpec::Http(HttpSpec {
                    url: self.url.value().trim().to_string(),
                    timeout,
                    headers,
                    headers_env,
                    format: self.body_format.value().copied().flatten(),
                })
            }
        }
    }
}

/// A `NAME=value` field as a map; a problem (and an empty map) if unreadable.
fn pairs(
    field: Field,
    input: &Input,
    problem: &mut dyn FnMut(Field, String, Option<Range<usize>>),
) -> BTreeMap<String, String> {
    argv::split_pairs(input.value()).unwrap_or_else(|e| {
        problem(field, e.message, e.span);
        BTreeMap::new()
    })
}
