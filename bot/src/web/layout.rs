//! The page shell (header, navigation, who is signed in, log out), the stylesheet
//! compiled into the binary, small shared pieces (badges, times, names), and the
//! rendering of the core's messages as HTML. maud escapes every value put into markup.

use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use commands::{Line, Message, Span};
use maud::{html, Markup, DOCTYPE};
use storage::{Severity, Status, WebUser};

/// Our one stylesheet, compiled in; pages load nothing else (the page-weight budget counts it).
pub const STYLESHEET: &str = include_str!("style.css");

/// `GET /static/style.css`.
pub async fn stylesheet() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], STYLESHEET)
        .into_response()
}

/// Which section of the navigation a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Incidents,
    Postmortems,
    Actions,
    Insights,
}

/// Who is signed in, for the header and for forms.
pub struct Viewer<'a> {
    pub user: &'a WebUser,
    pub csrf: &'a str,
}

/// A full page for a signed-in person.
pub fn page(title: &str, section: Section, viewer: &Viewer<'_>, body: Markup) -> Html<String> {
    let nav = [
        (Section::Incidents, "/incidents", "Incidents"),
        (Section::Postmortems, "/postmortems", "Postmortems"),
        (Section::Actions, "/actions", "Action items"),
        (Section::Insights, "/insights", "Insights"),
    ];
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " · incidentbot" }
                    link rel="stylesheet" href="/static/style.css";
                }
                body {
                    header.top {
                        a.brand href="/incidents" { "incidentbot" }
                        nav {
                            @for (s, href, label) in nav {
                                a href=(href) class=[(s == section).then_some("here")] { (label) }
                            }
                        }
                        div.who {
                            span { "Signed in as " strong { (viewer.user.user_id) } " (" (viewer.user.platform) ")" }
                            form method="post" action="/sign-out" {
                                input type="hidden" name="csrf" value=(viewer.csrf);
                                button.plain type="submit" { "Log out" }
                            }
                        }
                    }
                    main { (body) }
                }
            }
        }
        .into_string(),
    )
}

/// A page with no navigation: sign-in, errors.
pub fn bare_page(title: &str, text: &str) -> Html<String> {
    bare(title, html! { p { (text) } })
}

/// A page with no navigation and the given body.
pub fn bare(title: &str, body: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " · incidentbot" }
                    link rel="stylesheet" href="/static/style.css";
                }
                body {
                    main {
                        div.signin {
                            h1 { (title) }
                            (body)
                        }
                    }
                }
            }
        }
        .into_string(),
    )
}

pub fn severity_badge(severity: Severity) -> Markup {
    html! { span class={ "badge sev-" (severity) } { (severity) } }
}

pub fn status_text(status: Status) -> Markup {
    html! { span.status { (status) } }
}

/// `2026-03-05 14:02 CET`, in the configured zone.
pub fn time(at: DateTime<Utc>, tz: Tz) -> String {
    commands::format::time(at, tz)
}

/// A count with thousands separated: `20,000`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A platform as a sentence names it.
pub fn platform_name(platform: storage::Platform) -> &'static str {
    match platform {
        storage::Platform::Slack => "Slack",
        storage::Platform::Discord => "Discord",
        storage::Platform::Console => "The console",
    }
}

/// A stored author or role holder as people read it: `@bob`, or the bot for the system.
pub fn person(id: Option<&str>) -> String {
    match id {
        None => "—".to_string(),
        Some(id) => commands::Actor::from_stored(id).to_string(),
    }
}

/// A core message (a reply after an edit) as paragraphs.
pub fn message(message: &Message) -> Markup {
    html! {
        @for line in &message.lines { p { (line_markup(line)) } }
    }
}

fn line_markup(line: &Line) -> Markup {
    html! {
        @for span in &line.0 {
            @match span {
                Span::Text(text) => (text),
                Span::Bold(text) => strong { (text) },
                Span::Code(text) => code { (text) },
                Span::User(id) => { "@" (id) }
                Span::Channel { name, .. } => { "#" (name) }
            }
        }
    }
}

/// The result of an edit, shown above the page.
pub fn flash(outcome: &commands::Outcome) -> Markup {
    let class = if outcome.is_error { "flash error" } else { "flash" };
    html! {
        @if let Some(reply) = &outcome.reply {
            div class=(class) role="status" { (message(reply)) }
        } @else {
            div class=(class) role="status" { p { "Saved." } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(20_000), "20,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
