//! Interactions: `/incident` commands, their autocomplete, buttons and modal submits.
//!
//! Replies from the core are private, so every reply here is ephemeral. Anything that
//! may take more than a second (channel creation, posts, database writes) is deferred
//! first and completed by editing the deferred reply. Only what may open a modal —
//! `/incident declare` with no title, `/incident postmortem` and the postmortem buttons —
//! answers directly, because a modal must be the first response and the core decides
//! quickly (a few reads) whether to open one. The triage post's Declare and Dismiss
//! buttons are among them (the pre-filled declare form, the optional reason).
//!
//! What is deferred is first committed to the inbox (see [`inbox`](super::inbox)), so a
//! crash after the deferral loses nothing: the next start runs it again.
//!
//! Answers go through [`retry`](super::retry): a rate-limited answer is sent again, a
//! callback that may have arrived is not.

use ::commands::postmortem::FIELDS as POSTMORTEM_FIELDS;
use ::commands::{
    ButtonAction, ButtonPress, CoreError, FormKind, FormSubmission, Invocation, Line, Message, Outcome, TagPicker,
    TagSelection,
};
use anyhow::Context as _;
use serenity::all::{
    ActionRowComponent, CommandInteraction, ComponentInteraction, ComponentInteractionDataKind,
    CreateAutocompleteResponse, CreateInteractionResponse, CreateInteractionResponseFollowup,
    CreateInteractionResponseMessage, Interaction, ModalInteraction,
};

use super::commands::{to_command, INCIDENT_OPTION, SERVICE_OPTIONS, TAG_OPTIONS};
use super::inbox;
use super::render::{self, Rendered, INPUTS_PER_MODAL};
use super::retry::{self, Effect};
use super::Discord;
use ::commands::grammar::Command as GrammarCommand;

/// Discord's limit on autocomplete choices, and on a choice's name.
const MAX_CHOICES: usize = super::limits::CHOICES;
const MAX_CHOICE_NAME: usize = super::limits::CHOICE_NAME;

/// One REST call answering an interaction, under the bot's retry policy.
pub(crate) async fn answer<T, F, Fut>(
    bot: &Discord,
    operation: &'static str,
    effect: Effect,
    attempt: F,
) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = serenity::Result<T>>,
{
    retry::call(bot.chat.retry_policy(), operation, effect, attempt).await.context(operation)
}

/// Handles one interaction of any kind.
pub async fn handle_interaction(bot: &Discord, interaction: &Interaction) -> anyhow::Result<()> {
    match interaction {
        Interaction::Command(command) => on_command(bot, command).await,
        Interaction::Autocomplete(command) => on_autocomplete(bot, command).await,
        Interaction::Component(component) => on_component(bot, component).await,
        Interaction::Modal(modal) => on_modal(bot, modal).await,
        _ => Ok(()),
    }
}

/// The source id of an interaction: unique per interaction, so the core's idempotency
/// holds if the same interaction is ever handled twice.
fn source_id(id: impl std::fmt::Display) -> ::commands::SourceId {
    ::commands::SourceId::new(format!("discord:interaction:{id}"))
}

fn defer_ephemeral() -> CreateInteractionResponse {
    CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new().ephemeral(true))
}

fn ephemeral(message: &Message) -> CreateInteractionResponse {
    CreateInteractionResponse::Message(render::render(message).interaction_message(true))
}

/// Sends the parts of a long reply after its first as ephemeral follow-ups, in order.
pub(crate) async fn follow_up<F, Fut>(bot: &Discord, rest: Vec<Rendered>, send: F) -> anyhow::Result<()>
where
    F: Fn(CreateInteractionResponseFollowup) -> Fut,
    Fut: std::future::Future<Output = serenity::Result<serenity::all::Message>>,
{
    for part in rest {
        let followup = part.followup(true);
        answer(bot, "follow up a reply", Effect::Creates, || send(followup.clone())).await?;
    }
    Ok(())
}

/// The first part of a reply, and the rest to follow it (see [`render::render_all`]).
pub(crate) fn first_and_rest(mut parts: Vec<Rendered>) -> (Rendered, Vec<Rendered>) {
    if parts.is_empty() {
        return (render::render(&Message::plain("Done.")), Vec::new());
    }
    let first = parts.remove(0);
    (first, parts)
}

/// What to show for a core result that did not open a modal, in parts.
pub(crate) fn reply_for(result: Result<Outcome, CoreError>) -> Vec<Rendered> {
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(error) => {
            tracing::error!(error = %error, "discord: the core failed");
            return render::render_all(&error.reply());
        }
    };
    let mut message = outcome.reply.unwrap_or_else(|| Message::plain("Done."));
    let tag_select = outcome.tag_picker.as_ref().map(render::tag_select);
    if tag_select.is_some() {
        message =
            message.line(Line::new().text("Tag the contributing factors below; pick the conditions, not people."));
    }
    if let Some(form) = &outcome.form {
        // Reached only when a form comes back after the reply was deferred: a modal
        // needs a fresh interaction, so offer the button that opens it.
        if let Some(incident) = form.kind.postmortem_incident() {
            message = message.line(Line::new().text("Press the button to write the postmortem.")).button(
                "Write postmortem",
                ButtonAction::WritePostmortem { incident },
                true,
            );
        }
    }
    let mut rendered = render::render_all(&message);
    // With the first part, where the reply's own components (Continue) go too.
    if let (Some(row), Some(first)) = (tag_select, rendered.first_mut()) {
        first.components.push(row);
    }
    rendered
}

/// The first response to an action whose outcome may be a form: modal part `part`,
/// or the reply as an ephemeral message (and the parts of a long one to follow it).
fn modal_or_reply(result: Result<Outcome, CoreError>, part: usize) -> (CreateInteractionResponse, Vec<Rendered>) {
    if let Ok(Outcome { form: Some(form), .. }) = &result {
        if let Some(modal) = render::form_modal(form, part).or_else(|| render::form_modal(form, 1)) {
            return (CreateInteractionResponse::Modal(modal), Vec::new());
        }
    }
    let (first, rest) = first_and_rest(reply_for(result));
    (CreateInteractionResponse::Message(first.interaction_message(true)), rest)
}

async fn on_command(bot: &Discord, command: &CommandInteraction) -> anyhow::Result<()> {
    let received = std::time::Instant::now();
    if let Some(guild) = command.guild_id {
        bot.chat.remember_guild(guild);
    }
    let typed = match to_command(&command.data) {
        Ok(typed) => typed,
        Err(problem) => {
            let message = Message::new()
                .line(Line::new().text(problem.problem))
                .line(Line::new().text("Usage: ").code(problem.usage));
            let response = ephemeral(&message);
            return answer(bot, "reply to a command", Effect::Creates, || {
                command.create_response(&*bot.http, response.clone())
            })
            .await;
        }
    };
    let invocation = Invocation {
        source_id: source_id(command.id),
        user: command.user.id.to_string(),
        channel_id: command.channel_id.to_string().into(),
        // Only for the logs: the typed command goes to the core as it is.
        text: format!("{typed:?}"),
    };
    if typed.may_open_form() {
        let result = bot.core.execute(&invocation, typed).await;
        observe_command(received, &result);
        let (response, rest) = modal_or_reply(result, 1);
        answer(bot, "answer a command", Effect::Creates, || command.create_response(&*bot.http, response.clone()))
            .await?;
        return follow_up(bot, rest, |f| command.create_followup(&*bot.http, f)).await;
    }
    // Committed before the deferral, so what Discord shows as "thinking" is never lost.
    let pending = inbox::Pending::Command { interaction: Box::new(command.clone()) };
    if !inbox::accept(bot, &invocation.source_id, &pending).await? {
        return Ok(());
    }
    let response = defer_ephemeral();
    answer(bot, "defer a command", Effect::Creates, || command.create_response(&*bot.http, response.clone())).await?;
    inbox::process(bot, &invocation.source_id, &pending, chrono::Utc::now()).await?;
    crate::metrics::metrics().slash_command_handled(storage::Platform::Discord, received.elapsed());
    Ok(())
}

/// Records a handled slash command in the metrics.
fn observe_command(received: std::time::Instant, result: &Result<Outcome, CoreError>) {
    let metrics = crate::metrics::metrics();
    metrics.slash_command_handled(storage::Platform::Discord, received.elapsed());
    metrics.observe_result(result);
}

/// Suggests what the focused option names: incidents the user may see (open, and
/// resolved for postmortems), services from the catalog, or factor tags.
async fn on_autocomplete(bot: &Discord, command: &CommandInteraction) -> anyhow::Result<()> {
    let choices = match command.data.autocomplete() {
        Some(focused) if SERVICE_OPTIONS.contains(&focused.name) => service_choices(bot, focused.name, focused.value),
        Some(focused) if TAG_OPTIONS.contains(&focused.name) => {
            bot.core.settings().factors.matching(focused.value, MAX_CHOICES).into_iter().fold(
                CreateAutocompleteResponse::new(),
                |response, factor| {
                    let name = render::cut(&format!("{} · {}", factor.tag, factor.description), MAX_CHOICE_NAME);
                    response.add_string_choice(name, factor.tag.clone())
                },
            )
        }
        focused => {
            let typed = focused.filter(|o| o.name == INCIDENT_OPTION).map(|o| o.value).unwrap_or_default();
            let user = command.user.id.to_string();
            let incidents = bot.core.incident_choices(&user, typed, MAX_CHOICES).await?;
            incidents.iter().fold(CreateAutocompleteResponse::new(), |response, incident| {
                let name = render::cut(
                    &format!("{} · {} · {}", incident.reference(), incident.status, incident.title),
                    MAX_CHOICE_NAME,
                );
                response.add_string_choice(name, incident.reference())
            })
        }
    };
    let response = CreateInteractionResponse::Autocomplete(choices);
    answer(bot, "answer autocomplete", Effect::Creates, || command.create_response(&*bot.http, response.clone())).await
}

/// Services matching what was typed. In `services` (several, comma-separated) only the
/// last name is completed; the ones before it are kept as typed.
fn service_choices(bot: &Discord, option: &str, typed: &str) -> CreateAutocompleteResponse {
    let (before, last) = match typed.rsplit_once(',') {
        Some((before, last)) if option == "services" => (format!("{}, ", before.trim()), last.trim()),
        _ => (String::new(), typed.trim()),
    };
    bot.core.settings().services.matching(last, MAX_CHOICES).into_iter().fold(
        CreateAutocompleteResponse::new(),
        |response, service| {
            let value = format!("{before}{}", service.name);
            let mut name = value.clone();
            if !service.team.is_empty() {
                name.push_str(&format!(" · team {}", service.team));
            }
            response.add_string_choice(render::cut(&name, MAX_CHOICE_NAME), render::cut(&value, MAX_CHOICE_NAME))
        },
    )
}

/// A choice in the contributing-factor select menu: the incident's tags become the
/// values chosen.
async fn on_tag_select(bot: &Discord, component: &ComponentInteraction, incident: i64) -> anyhow::Result<()> {
    let tags = match &component.data.kind {
        ComponentInteractionDataKind::StringSelect { values } => values.clone(),
        _ => Vec::new(),
    };
    let response = defer_ephemeral();
    answer(bot, "defer a tag choice", Effect::Creates, || component.create_response(&*bot.http, response.clone()))
        .await?;
    let selection = TagSelection {
        source_id: source_id(component.id),
        user: component.user.id.to_string(),
        channel_id: component.channel_id.to_string().into(),
        incident,
        tags,
    };
    let result = bot.core.select_factor_tags(&selection).await;
    crate::metrics::metrics().observe_result(&result);
    let (first, rest) = first_and_rest(reply_for(result));
    let edit = first.edit_response();
    answer(bot, "complete a tag choice", Effect::Idempotent, || component.edit_response(&*bot.http, edit.clone()))
        .await?;
    follow_up(bot, rest, |f| component.create_followup(&*bot.http, f)).await
}

async fn on_component(bot: &Discord, component: &ComponentInteraction) -> anyhow::Result<()> {
    let custom_id = component.data.custom_id.as_str();
    if let Some(incident) = TagPicker::decode(custom_id) {
        return on_tag_select(bot, component, incident).await;
    }
    let press = |action| ButtonPress {
        source_id: source_id(component.id),
        user: component.user.id.to_string(),
        channel_id: component.channel_id.to_string().into(),
        action,
    };
    if let Some((kind, part)) = render::parse_continue_id(custom_id) {
        // The core builds the form afresh, so the next modal shows what the last saved.
        let result = match kind {
            FormKind::PostmortemAll { incident } => {
                let invocation = Invocation {
                    source_id: source_id(component.id),
                    user: component.user.id.to_string(),
                    channel_id: component.channel_id.to_string().into(),
                    text: "postmortem all".into(),
                };
                bot.core.execute(&invocation, GrammarCommand::Postmortem { target: Some(incident), all: true }).await
            }
            _ => match kind.postmortem_incident() {
                Some(incident) => bot.core.press_button(&press(ButtonAction::WritePostmortem { incident })).await,
                None => Ok(Outcome::silent()),
            },
        };
        let (response, rest) = modal_or_reply(result, part);
        answer(bot, "open the second modal", Effect::Creates, || {
            component.create_response(&*bot.http, response.clone())
        })
        .await?;
        return follow_up(bot, rest, |f| component.create_followup(&*bot.http, f)).await;
    }
    let Some(action) = ButtonAction::decode(custom_id) else {
        let message = Message::plain("This button is no longer in use.");
        let response = ephemeral(&message);
        return answer(bot, "reply to a button", Effect::Creates, || {
            component.create_response(&*bot.http, response.clone())
        })
        .await;
    };
    if action.may_open_form() {
        let result = bot.core.press_button(&press(action)).await;
        let (response, rest) = modal_or_reply(result, 1);
        answer(bot, "open a form", Effect::Creates, || component.create_response(&*bot.http, response.clone())).await?;
        return follow_up(bot, rest, |f| component.create_followup(&*bot.http, f)).await;
    }
    let source = source_id(component.id);
    let pending = inbox::Pending::Button { interaction: Box::new(component.clone()) };
    if !inbox::accept(bot, &source, &pending).await? {
        return Ok(());
    }
    let response = defer_ephemeral();
    answer(bot, "defer a button", Effect::Creates, || component.create_response(&*bot.http, response.clone())).await?;
    inbox::process(bot, &source, &pending, chrono::Utc::now()).await
}

/// Every input of a submitted modal as `(key, value)`.
pub fn modal_answers(modal: &ModalInteraction) -> Vec<(String, String)> {
    modal
        .data
        .components
        .iter()
        .flat_map(|row| row.components.iter())
        .filter_map(|component| match component {
            ActionRowComponent::InputText(input) => {
                Some((input.custom_id.clone(), input.value.clone().unwrap_or_default()))
            }
            _ => None,
        })
        .collect()
}

async fn on_modal(bot: &Discord, modal: &ModalInteraction) -> anyhow::Result<()> {
    let Some((kind, part)) = render::parse_modal_id(&modal.data.custom_id) else {
        let message = Message::plain("This form is no longer in use.");
        let response = ephemeral(&message);
        return answer(bot, "reply to a form", Effect::Creates, || modal.create_response(&*bot.http, response.clone()))
            .await;
    };
    let response = defer_ephemeral();
    answer(bot, "defer a form", Effect::Creates, || modal.create_response(&*bot.http, response.clone())).await?;
    let submission = FormSubmission {
        source_id: source_id(modal.id),
        user: modal.user.id.to_string(),
        channel_id: modal.channel_id.to_string().into(),
        kind,
        answers: modal_answers(modal),
    };
    let result = bot.core.submit_form(&submission).await;
    crate::metrics::metrics().observe_result(&result);
    let accepted = matches!(&result, Ok(outcome) if !outcome.is_error);
    // What comes next is the core's: the fields it still wants (`continues`). Paging a
    // form that asks every field is Discord's own, since its modals hold five inputs.
    let next = match &result {
        Ok(outcome) if accepted => match (kind, outcome.continues) {
            (FormKind::PostmortemAll { .. }, _) if part * INPUTS_PER_MODAL < POSTMORTEM_FIELDS.len() => {
                Some((kind, part + 1))
            }
            (_, Some(next)) => Some((next, 1)),
            _ => None,
        },
        _ => None,
    };
    let (mut first, rest) = first_and_rest(reply_for(result));
    if let Some((next, part)) = next {
        first.components.push(render::continue_postmortem_button(next, part));
    }
    let edit = first.edit_response();
    answer(bot, "complete a form", Effect::Idempotent, || modal.edit_response(&*bot.http, edit.clone())).await?;
    follow_up(bot, rest, |f| modal.create_followup(&*bot.http, f)).await
}
