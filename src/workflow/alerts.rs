//! `[alerts]`: the editors mailed once per new problem (a run that failed
//! or partly failed, a draft waiting too long for approval), through the
//! configured transport. A problem stays open while the runs that find it
//! keep finding it; once gone it is closed, so when it comes back it is
//! new and mailed again. When the mail itself cannot go out, the alert is
//! written to stderr and the command fails, so cron's own mail carries it.

use std::time::SystemTime;

use anyhow::{Context, Result, anyhow};
use chrono::{Duration, NaiveDate};
use lettre::message::header::ContentType;

use super::{Clock, health};
use crate::config::{Alerts, Config, Mail};
use crate::mail::Letter;
use crate::mail::transport::Outbox;
use crate::store::{EditionState, Problem, RunCommand, Store};

/// The problems a run of `command` found replace its open ones (and the
/// late drafts, when `run` looked); each new one is mailed to `[alerts]`,
/// with the status, once.
pub(super) fn tell(
    config: &Config,
    store: &mut Store,
    command: RunCommand,
    errors: &[String],
    late_drafts: Option<Vec<String>>,
    today: NaiveDate,
    clock: Clock,
) -> Result<()> {
    let mut new = store.set_problems(command.as_str(), errors, clock.now)?;
    if let Some(drafts) = late_drafts {
        new.extend(store.set_problems("drafts", &drafts, clock.now)?);
    }
    let (Some(alerts), Some(mail)) = (&config.alerts, &config.mail) else {
        return Ok(());
    };
    if new.is_empty() {
        return Ok(());
    }
    let status = health(config, store, today, clock.now)?.text().to_string();
    let (subject, body) = alert(config, &new, &status);
    if let Err(e) = mail_alert(config, mail, alerts, &subject, &body, clock) {
        warning!("The alert below could not be mailed to the editors.\n\nSubject: {subject}\n\n{body}");
        return Err(e.context("the alert to the editors (written above) could not be mailed"));
    }
    store.problems_mailed(&new, clock.current())?;
    Ok(())
}

/// The drafts that have waited more than `[alerts]`'s days for approval
/// on `today`; none without `[alerts]`.
pub(super) fn late_drafts(config: &Config, store: &Store, today: NaiveDate) -> Result<Option<Vec<String>>> {
    let Some(alerts) = &config.alerts else {
        return Ok(None);
    };
    let days = alerts.draft_waiting_days;
    let late = store
        .editions(None)?
        .into_iter()
        .filter(|e| e.state == EditionState::Draft && e.date + Duration::days(days.into()) < today)
        .map(|e| {
            let (id, number) = (e.newsletter.as_str(), e.number);
            format!(
                "{id} No. {number} (dated {}) has waited more than {days} days for approval: \
                 `bulletin editions show --newsletter {id} --edition {number}`, then \
                 `bulletin approve --newsletter {id} --edition {number}`",
                e.date
            )
        })
        .collect();
    Ok(Some(late))
}

/// The mail's subject and text: what is new, what to do, and the status.
fn alert(config: &Config, new: &[Problem], status: &str) -> (String, String) {
    let site = &config.site.name;
    let failed = new.iter().any(|p| p.scope != "drafts");
    let subject = match (failed, new.len()) {
        (true, _) => format!("bulletin ({site}): a run failed"),
        (false, 1) => format!("bulletin ({site}): a draft waits for approval"),
        (false, _) => format!("bulletin ({site}): drafts wait for approval"),
    };
    let mut body = String::from("bulletin found a new problem:\n\n");
    for p in new {
        let scope = match p.scope.as_str() {
            "drafts" => String::new(),
            command => format!("`bulletin {command}`: "),
        };
        body.push_str(&format!("- {scope}{}\n", p.text));
    }
    if failed {
        body.push_str(
            "\nWhat to do: `bulletin check --send` checks what a send needs (the signing key, the SMTP \
             server, the bounce address) without sending; fix what it names, then run `bulletin run` \
             again. Nothing that failed is lost: the next run sends what is approved and not sent.\n",
        );
    }
    body.push_str(&format!(
        "\nWhere everything stands (`bulletin status`):\n\n{status}\n\
         This mail is sent once per problem: not again while it lasts, again if it comes back.\n"
    ));
    (subject, body)
}

/// One mail to each of `[alerts]`'s addresses, through `[mail]`'s transport.
fn mail_alert(
    config: &Config,
    mail: &Mail,
    alerts: &Alerts,
    subject: &str,
    body: &str,
    clock: Clock,
) -> Result<()> {
    let outbox = Outbox::new(config, mail, "alerts")?;
    let domain = mail.from.email.domain().to_ascii_lowercase();
    for (i, to) in alerts.to.iter().enumerate() {
        let message_id = format!("<alert.{}.{i}@{domain}>", clock.now.timestamp_micros());
        let message = lettre::Message::builder()
            .from(mail.from.clone())
            .to(to.clone())
            .subject(subject)
            .message_id(Some(message_id.clone()))
            .date(SystemTime::from(clock.now))
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_string())
            .context("building the alert mail")?;
        let address = to.email.to_string();
        outbox
            .send(&Letter::unsigned(message_id, &message), &address)
            .map_err(|e| anyhow!("to {address}: {e}"))?;
    }
    Ok(())
}
