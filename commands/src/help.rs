//! The text of `/incident help`.

use crate::grammar::usage;
use crate::message::{Line, Message};

pub fn help_message() -> Message {
    let rows: [(&str, &str); 32] = [
        (
            usage::DECLARE,
            "open an incident and its channel (no title: a form; started:-20m backdates; drill: a game day; \
             private: invited people only; service: names one)",
        ),
        (usage::STATUS, "move the status forward"),
        (usage::SEVERITY, "change the severity (commander)"),
        (usage::ASSIGN, "hand a role to someone (commander)"),
        (usage::TAKE, "take command of an incident that has no commander yet"),
        (usage::UPDATE, "post a status update, also to the announcements channel"),
        (usage::PUBLIC, "publish to the status page"),
        (usage::NOTE, "add a key event to the timeline"),
        (usage::TIMELINE, "show the key events so far"),
        (usage::RESOLVE, "resolve it and ask for the postmortem (commander)"),
        (usage::REOPEN, "reopen a resolved incident (commander)"),
        (usage::POSTMORTEM, "write the postmortem, or show it when complete"),
        (
            usage::ACTION_ADD,
            "track a follow-up (owner: you, due: 14 days, prio: medium; addresses: the factor it prevents)",
        ),
        (usage::ACTION_DONE, "close an item (owner or commander)"),
        (usage::ACTION_WONTFIX, "close an item that will not be done"),
        (usage::ACTION_REOPEN, "reopen an item"),
        (usage::ACTION_SNOOZE, "pause reminders for an item"),
        (usage::ACTION_REASSIGN, "hand an item to someone else (owner or commander)"),
        (usage::ACTION_DUE, "move an item's due date (owner or commander)"),
        (usage::ACTION_LINK, "link to an existing issue"),
        (usage::ACTION_LIST, "list action items"),
        (
            usage::ALERT_DECLARE,
            "open an incident from an alert in triage (you lead it); with no severity, a pre-filled form",
        ),
        (usage::ALERT_ATTACH, "add an alert waiting in triage to an open incident"),
        (usage::ALERT_DISMISS, "dismiss an alert waiting in triage; it counts as noise"),
        (usage::ALERTS, "this incident's alerts, or the triage queue outside an incident"),
        (usage::SERVICE, "services it touches; owners are invited"),
        (usage::FACTOR, "contributing-factor tags (conditions, not people)"),
        (usage::INVITE, "bring someone in, also into a private incident"),
        (usage::LIST, "open incidents"),
        (usage::STATS, "counts, MTTA and MTTR by severity and service; drills not counted"),
        (usage::WEB, "a private one-time link to sign in to the web pages"),
        (usage::HELP, "this help"),
    ];
    let mut message = Message::new().line(Line::new().bold("incidentbot commands"));
    for (usage, what) in rows {
        message = message.line(Line::new().code(usage).text(format!(" — {what}")));
    }
    message.line(Line::new().text(
        "In an incident's channel, commands act on that incident; elsewhere, name it first: /incident INC-3 status identified.",
    ))
}
