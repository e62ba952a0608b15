//! The form's fields: their order, labels, and the job-file keys that
//! errors name.

/// A field of the form, in the order it is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// The job's name.
    Name,
    /// Preset or cron text.
    Schedule,
    /// IANA zone.
    Timezone,
    /// `sql`, `command`, `file` or `http`.
    SourceKind,
    /// The `sql` source's connection.
    Connection,
    /// The `sql` source's query.
    Query,
    /// The `command` source's argv, on one line.
    Argv,
    /// The `command` source's working folder.
    Cwd,
    /// The `command` source's extra environment, `NAME=value` words.
    Env,
    /// What the `command` source's stdout holds.
    Output,
    /// The `file` source's path or glob.
    Path,
    /// How the `file` source's files are read.
    FileFormat,
    /// Whether the `file` source's files are templates.
    Template,
    /// The connection of the `file` source's template query, or none.
    TemplateConnection,
    /// The `file` source's template query.
    TemplateQuery,
    /// The `http` source's URL.
    Url,
    /// The `http` source's request timeout.
    HttpTimeout,
    /// The `http` source's headers, `Name=value` words.
    Headers,
    /// The `http` source's headers read from the environment, `Name=VAR` words.
    HeadersEnv,
    /// How the `http` source's body is read.
    BodyFormat,
    /// The output format.
    Format,
    /// Compress the output: none, gzip or zip.
    Compression,
    /// Whether csv/tsv write a header row.
    CsvHeader,
    /// The csv/tsv delimiter, one ASCII character.
    Delimiter,
    /// When csv/tsv fields are quoted.
    Quote,
    /// The csv/tsv line ending.
    LineEnding,
    /// How csv/tsv spell NULL.
    Null,
    /// The html page's or pdf report's title.
    Title,
    /// The xlsx sheet's name.
    Sheet,
    /// The pdf page size.
    Page,
    /// The pdf page orientation.
    Orientation,
    /// The pdf body text size in points.
    FontSize,
    /// Most rows a pdf report may hold.
    MaxRows,
    /// The svg/png width.
    Width,
    /// The svg/png height.
    Height,
    /// The png scale factor.
    Scale,
    /// The png background colour.
    Background,
    /// The chart of svg/png/pdf: none, bar or line.
    Chart,
    /// The chart's x column.
    ChartX,
    /// The chart's y columns, comma separated.
    ChartY,
    /// The chart's title.
    ChartTitle,
    /// The label under the chart's x axis.
    ChartXLabel,
    /// The label beside the chart's y axis.
    ChartYLabel,
    /// The chosen destinations.
    Destinations,
    /// Retries after a failed attempt.
    Retries,
    /// Per-attempt timeout.
    Timeout,
    /// Overlap policy.
    Overlap,
    /// Catch-up policy.
    CatchUp,
    /// Catch-up window.
    CatchUpWindow,
    /// `checks.not_empty`.
    NotEmpty,
    /// `checks.min_rows`.
    CheckMinRows,
    /// `checks.max_rows`.
    CheckMaxRows,
    /// `checks.max_change`, a percentage.
    MaxChange,
    /// `checks.schema`: off or stable.
    SchemaCheck,
    /// What a failed check does.
    OnCheckFail,
    /// How long a held run waits.
    HoldFor,
    /// The schedule's calendar, from `[calendars]`.
    Calendar,
    /// What a day the calendar excludes does.
    OnExcluded,
    /// The outcomes that notify (checkboxes).
    NotifyOn,
    /// The destinations notified (checkboxes).
    NotifyTo,
}

impl Field {
    /// The label shown in front of the field.
    pub fn label(self) -> &'static str {
        match self {
            Field::Name => "Name",
            Field::Schedule => "Schedule",
            Field::Timezone => "Timezone",
            Field::SourceKind => "Source",
            Field::Connection => "Connection",
            Field::Query => "Query",
            Field::Argv => "Command",
            Field::Cwd => "Working folder",
            Field::Env => "Environment",
            Field::Output => "Output",
            Field::Path => "Path",
            Field::FileFormat => "Read as",
            Field::Template => "Template",
            Field::TemplateConnection => "Template conn.",
            Field::TemplateQuery => "Template query",
            Field::Url => "URL",
            Field::HttpTimeout => "Request timeout",
            Field::Headers => "Headers",
            Field::HeadersEnv => "Headers (env)",
            Field::BodyFormat => "Body",
            Field::Format => "Format",
            Field::Compression => "Compression",
            Field::CsvHeader => "Header row",
            Field::Delimiter => "Delimiter",
            Field::Quote => "Quoting",
            Field::LineEnding => "Line ending",
            Field::Null => "NULL as",
            Field::Title => "Title",
            Field::Sheet => "Sheet",
            Field::Page => "Page",
            Field::Orientation => "Orientation",
            Field::FontSize => "Font size",
            Field::MaxRows => "Max rows",
            Field::Width => "Width",
            Field::Height => "Height",
            Field::Scale => "Scale",
            Field::Background => "Background",
            Field::Chart => "Chart",
            Field::ChartX => "Chart x",
            Field::ChartY => "Chart y",
            Field::ChartTitle => "Chart title",
            Field::ChartXLabel => "Chart x label",
            Field::ChartYLabel => "Chart y label",
            Field::Destinations => "Destinations",
            Field::Retries => "Retries",
            Field::Timeout => "Timeout",
            Field::Overlap => "Overlap",
            Field::CatchUp => "Catch-up",
            Field::CatchUpWindow => "Catch-up window",
            Field::NotEmpty => "Check not empty",
            Field::CheckMinRows => "Check min rows",
            Field::CheckMaxRows => "Check max rows",
            Field::MaxChange => "Check change",
            Field::SchemaCheck => "Check schema",
            Field::OnCheckFail => "On check fail",
            Field::HoldFor => "Hold for",
            Field::Calendar => "Calendar",
            Field::OnExcluded => "Excluded days",
            Field::NotifyOn => "Notify on",
            Field::NotifyTo => "Notify to",
        }
    }

    /// The key as written in a job file, which errors name.
    pub fn key(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Schedule => "schedule",
            Field::Timezone => "timezone",
            Field::SourceKind => "source.kind",
            Field::Connection => "source.connection",
            Field::Query => "source.query",
            Field::Argv => "source.argv",
            Field::Cwd => "source.cwd",
            Field::Env => "source.env",
            Field::Output => "source.output",
            Field::Path => "source.path",
            Field::FileFormat => "source.format",
            Field::Template => "source.template",
            Field::TemplateConnection => "source.template_query.connection",
            Field::TemplateQuery => "source.template_query.query",
            Field::Url => "source.url",
            Field::HttpTimeout => "source.timeout",
            Field::Headers => "source.headers",
            Field::HeadersEnv => "source.headers_env",
            Field::BodyFormat => "source.format",
            Field::Format => "format",
            Field::Compression => "format.compression",
            Field::CsvHeader => "format.header",
            Field::Delimiter => "format.delimiter",
            Field::Quote => "format.quote",
            Field::LineEnding => "format.line_ending",
            Field::Null => "format.null",
            Field::Title => "format.title",
            Field::Sheet => "format.sheet",
            Field::Page => "format.page",
            Field::Orientation => "format.orientation",
            Field::FontSize => "format.font_size",
            Field::MaxRows => "format.max_rows",
            Field::Width => "format.width",
            Field::Height => "format.height",
            Field::Scale => "format.scale",
            Field::Background => "format.background",
            Field::Chart => "format.chart.kind",
            Field::ChartX => "format.chart.x",
            Field::ChartY => "format.chart.y",
            Field::ChartTitle => "format.chart.title",
            Field::ChartXLabel => "format.chart.x_label",
            Field::ChartYLabel => "format.chart.y_label",
            Field::Destinations => "destinations",
            Field::Retries => "retries",
            Field::Timeout => "timeout",
            Field::Overlap => "overlap",
            Field::CatchUp => "catch_up",
            Field::CatchUpWindow => "catch_up_window",
            Field::NotEmpty => "checks.not_empty",
            Field::CheckMinRows => "checks.min_rows",
            Field::CheckMaxRows => "checks.max_rows",
            Field::MaxChange => "checks.max_change",
            Field::SchemaCheck => "checks.schema",
            Field::OnCheckFail => "on_check_fail",
            Field::HoldFor => "hold_for",
            Field::Calendar => "calendar",
            Field::OnExcluded => "on_excluded",
            Field::NotifyOn => "notify.on",
            Field::NotifyTo => "notify.to",
        }
    }

    /// The field a job-file key (as `job::validate` names it) belongs to.
    pub fn from_key(key: &str) -> Option<Field> {
        if key == "destinations" || key.starts_with("destinations[") {
            return Some(Field::Destinations);
        }
        if key.starts_with("notify.to[") {
            return Some(Field::NotifyTo);
        }
        ALL.iter().copied().find(|f| f.key() == key)
    }
}

const ALL: [Field; 60] = [
    Field::Name,
    Field::Schedule,
    Field::Timezone,
    Field::SourceKind,
    Field::Connection,
    Field::Query,
    Field::Argv,
    Field::Cwd,
    Field::Env,
    Field::Output,
    Field::Path,
    Field::FileFormat,
    Field::Template,
    Field::TemplateConnection,
    Field::TemplateQuery,
    Field::Url,
    Field::HttpTimeout,
    Field::Headers,
    Field::HeadersEnv,
    Field::BodyFormat,
    Field::Format,
    Field::Compression,
    Field::CsvHeader,
    Field::Delimiter,
    Field::Quote,
    Field::LineEnding,
    Field::Null,
    Field::Title,
    Field::Sheet,
    Field::Page,
    Field::Orientation,
    Field::FontSize,
    Field::MaxRows,
    Field::Width,
    Field::Height,
    Field::Scale,
    Field::Background,
    Field::Chart,
    Field::ChartX,
    Field::ChartY,
    Field::ChartTitle,
    Field::ChartXLabel,
    Field::ChartYLabel,
    Field::Destinations,
    Field::Retries,
    Field::Timeout,
    Field::Overlap,
    Field::CatchUp,
    Field::CatchUpWindow,
    Field::NotEmpty,
    Field::CheckMinRows,
    Field::CheckMaxRows,
    Field::MaxChange,
    Field::SchemaCheck,
    Field::OnCheckFail,
    Field::HoldFor,
    Field::Calendar,
    Field::OnExcluded,
    Field::NotifyOn,
    Field::NotifyTo,
];
