//! Every limit on what users type, in one place. Forms, the grammar, the handlers and
//! the adapters' modals all read these, so a value the core accepts always fits the
//! platform's input (Slack's multiline inputs take at most 3,000 characters).

/// Incident titles, in characters. Longer titles are cut, with a notice.
pub const MAX_TITLE: usize = 200;
/// Notes, updates, summaries, descriptions and postmortem answers, in characters.
/// Slack's modal inputs stop at 3,000, so nothing longer can be pre-filled.
pub const MAX_TEXT: usize = 3000;
/// One postmortem field written in the web editor, in characters. A real postmortem is
/// written there; chat's modals keep [`MAX_TEXT`].
pub const MAX_WEB_POSTMORTEM_FIELD: usize = 20_000;
/// Action-item text, in characters.
pub const MAX_ACTION_TEXT: usize = 500;
/// How far back `started:` may reach, in minutes (30 days).
pub const MAX_STARTED_AGO_MINUTES: i64 = 30 * 24 * 60;
/// How far ahead a due date may be, in days: for `due:+Nd` and `due:YYYY-MM-DD` alike.
pub const MAX_DUE_DAYS: u32 = 3650;
/// How long an item may be snoozed, in days.
pub const MAX_SNOOZE_DAYS: u32 = 365;
/// The longest window `/incident stats` looks back over, in days.
pub const MAX_STATS_DAYS: u32 = 3650;
/// Incident and action-item numbers: ids are SQLite integers, so anything past this
/// cannot name a row. Digit strings longer than this are refused before parsing.
pub const MAX_ID_DIGITS: usize = 18;

/// The most services one `declare` may name.
pub const MAX_SERVICES: usize = 10;
