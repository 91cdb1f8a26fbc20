//! `/desk/report/NEWSLETTER/NUMBER`: the delivery report of an edition, for
//! any signed-in editor, as a page or (`?format=csv`) a spreadsheet's file:
//! sent, deferred and failed (with the server's words) from the delivery
//! log, then the bounces, complaints and unsubscribes since the send began.

use super::{Desk, Nav, View};
use crate::store::{DeliveryReport, ReportLine};
use crate::web::server::{Page, Request};
use crate::web::site::{Asked, field};

/// The CSV's file name.
const CSV_FILE: &str = "delivery-report.csv";

/// One list of the report, as the page and the CSV show it.
pub(super) struct Part<'a> {
    /// `sent`, `deferred`…: the CSV's first column, and the page's heading.
    pub(super) outcome: &'static str,
    /// What `detail` holds, for the page's column heading.
    pub(super) detail: &'static str,
    pub(super) lines: &'a [ReportLine],
}

/// The report's lists, in the order shown.
pub(super) fn parts(report: &DeliveryReport) -> [Part<'_>; 7] {
    fn part<'a>(outcome: &'static str, detail: &'static str, lines: &'a [ReportLine]) -> Part<'a> {
        Part {
            outcome,
            detail,
            lines,
        }
    }
    [
        part("sent", "", &report.sent),
        part("deferred", "the server said", &report.deferred),
        part("failed", "the server said", &report.failed),
        part("sending", "", &report.sending),
        part("bounced", "what came back", &report.bounced),
        part("complained", "what came back", &report.complained),
        part("unsubscribed", "", &report.unsubscribed),
    ]
}

impl Desk {
    /// `/desk/report/NEWSLETTER/NUMBER`; `rest` is `NEWSLETTER/NUMBER`.
    pub(super) async fn report(&self, request: &Request, url: &url::Url, rest: &str) -> Page {
        if Asked::of(&request.method) != Asked::Show {
            return self.page(405, &View::MethodNotAllowed);
        }
        let editor = match self.signed_in(&request.headers).await {
            Ok(editor) => editor,
            Err(page) => return page,
        };
        let Some((newsletter, number)) = rest
            .split_once('/')
            .and_then(|(id, n)| Some((id.to_string(), n.parse::<u32>().ok()?)))
        else {
            return self.page(404, &View::NotFound);
        };
        let id = newsletter.clone();
        let found = self
            .store
            .with_store(move |store, _| {
                let Some((edition, _)) = store.edition_numbered(&id, number)? else {
                    return Ok(None);
                };
                store
                    .delivery_report(&id, number)
                    .map(|r| Some((edition.date, r)))
            })
            .await;
        let (date, report) = match found {
            Some(Ok(Some(found))) => found,
            Some(Ok(None)) => return self.page(404, &View::NotFound),
            Some(Err(e)) => return self.unavailable(&e),
            None => return self.page(503, &View::Unavailable),
        };
        if field(url.query().unwrap_or("").as_bytes(), "format").as_deref() == Some("csv") {
            return Page::csv(CSV_FILE, csv(&report));
        }
        let heading = format!("{}, No. {number} of {date}", self.title(&newsletter));
        let download = format!("{}?format=csv", url.path());
        self.page(
            200,
            &View::Report {
                nav: Nav::of(self, &editor),
                heading: &heading,
                download: &download,
                parts: &parts(&report),
            },
        )
    }
}

/// The report as CSV: a header line, then a line per subscriber and
/// outcome, every field quoted and none able to run as a formula.
fn csv(report: &DeliveryReport) -> String {
    let mut out = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .from_writer(Vec::new());
    let lines = parts(report).into_iter().flat_map(|part| {
        part.lines.iter().map(move |line| {
            [
                part.outcome.to_string(),
                line.email.clone(),
                line.name.clone(),
                line.detail.clone(),
                line.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            ]
        })
    });
    let header = ["outcome", "email", "name", "detail", "when"].map(String::from);
    for record in std::iter::once(header).chain(lines) {
        // Writing to a Vec cannot fail.
        let _ = out.write_record(record.iter().map(|f| inert(f)));
    }
    String::from_utf8(out.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// `cell` as a spreadsheet shows it and never runs it: one that begins as a
/// formula does (`=`, `+`, `-`, `@`, or a tab or carriage return before
/// one) gets a `'` first (OWASP's CSV injection advice).
fn inert(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::inert;

    #[test]
    fn a_cell_that_could_run_as_a_formula_is_made_text() {
        for cell in [
            "=HYPERLINK(\"http://x\")",
            "+1+1",
            "-2+3",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
        ] {
            assert_eq!(inert(cell), format!("'{cell}"));
        }
        for cell in ["Jane Doe", "", "550 5.1.1 no such user", "a=b"] {
            assert_eq!(inert(cell), cell);
        }
    }
}
