//! The editions stage: for one newsletter and date, which classified items
//! are due, in which section and order, and which show only as teasers.

use chrono::{Days, NaiveDate};

use crate::classify::Classified;
use crate::config::{Newsletter, Order, Section};
use crate::items::{Details, Item};

/// One edition of one newsletter, ready to render.
#[derive(Debug)]
pub struct Edition<'a> {
    pub newsletter: &'a Newsletter,
    pub date: NaiveDate,
    pub sections: Vec<EditionSection<'a>>,
}

#[derive(Debug)]
pub struct EditionSection<'a> {
    pub section: &'a Section,
    /// Shown in full, at most `section.limit`.
    pub featured: Vec<&'a Item>,
    /// Shown as one-line teasers under "More", at most `section.more`.
    pub more: Vec<&'a Item>,
    /// Due but over both limits.
    pub overflow: usize,
}

impl Edition<'_> {
    pub fn item_count(&self) -> usize {
        self.sections
            .iter()
            .map(|s| s.featured.len() + s.more.len())
            .sum()
    }

    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.sections
            .iter()
            .flat_map(|s| s.featured.iter().chain(&s.more).copied())
    }
}

/// Assembles the edition of `newsletter` for `date` from classified items.
pub fn assemble<'a>(newsletter: &'a Newsletter, items: &'a [Classified], date: NaiveDate) -> Edition<'a> {
    let id = newsletter.id.get_ref();
    let sections = newsletter
        .sections
        .get_ref()
        .iter()
        .map(|section| {
            let mut due: Vec<&Item> = items
                .iter()
                .filter(|c| c.section_in(id) == Some(section.id.as_str()))
                .map(|c| &c.item)
                .filter(|item| is_due(item, newsletter.window_days, date))
                .collect();
            sort(&mut due, section.order);
            let featured: Vec<&Item> = due.iter().take(section.limit).copied().collect();
            let more: Vec<&Item> = due
                .iter()
                .skip(section.limit)
                .take(section.more)
                .copied()
                .collect();
            EditionSection {
                overflow: due.len() - featured.len() - more.len(),
                section,
                featured,
                more,
            }
        })
        .collect();
    Edition {
        newsletter,
        date,
        sections,
    }
}

/// Published by `date`, and: news within the window, events not yet over,
/// tenders not yet closed. Undated items are never due: they cannot be
/// placed in a window, and `bulletin items` lists them.
pub fn is_due(item: &Item, window_days: u32, date: NaiveDate) -> bool {
    let Some(published) = item.published.map(|p| p.date_naive()) else {
        return false;
    };
    if published > date {
        return false;
    }
    match &item.details {
        Details::Event { end, .. } => *end >= date,
        Details::Tender { deadline, .. } => *deadline >= date,
        Details::News | Details::Report | Details::PressReview => {
            let window_start = date
                .checked_sub_days(Days::new(window_days.into()))
                .unwrap_or(NaiveDate::MIN);
            published > window_start
        }
    }
}

fn sort(items: &mut [&Item], order: Order) {
    let start = |item: &Item| match &item.details {
        Details::Event { start, .. } => Some(*start),
        _ => None,
    };
    let deadline = |item: &Item| match &item.details {
        Details::Tender { deadline, .. } => Some(*deadline),
        _ => None,
    };
    items.sort_by(|a, b| {
        let primary = match order {
            Order::Newest => b.published.cmp(&a.published),
            Order::StartDate => start(a).cmp(&start(b)),
            Order::Deadline => deadline(a).cmp(&deadline(b)),
        };
        primary.then_with(|| a.title.cmp(&b.title))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::items::{Draft, Kind};
    use chrono::{TimeZone, Utc};

    fn item(details: Details, published: (i32, u32, u32)) -> Item {
        Draft {
            title: "T".into(),
            link: "https://ex.example/".into(),
            published: Some(
                Utc.with_ymd_and_hms(published.0, published.1, published.2, 9, 0, 0)
                    .unwrap(),
            ),
            ..Draft::default()
        }
        .into_item("S", details, 100)
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn news_is_due_within_the_window_only() {
        let today = date(2026, 11, 23);
        assert!(is_due(&item(Details::News, (2026, 11, 17)), 7, today));
        assert!(!is_due(&item(Details::News, (2026, 11, 16)), 7, today));
        assert!(
            !is_due(&item(Details::News, (2026, 11, 24)), 7, today),
            "not from the future"
        );
    }

    #[test]
    fn expired_tender_and_past_event_are_not_due() {
        let today = date(2026, 11, 23);
        let tender = |deadline| Details::Tender {
            entity: "E".into(),
            reference: "R".into(),
            deadline,
        };
        assert!(!is_due(
            &item(tender(date(2026, 11, 20)), (2026, 11, 1)),
            7,
            today
        ));
        assert!(is_due(&item(tender(date(2026, 11, 23)), (2026, 11, 1)), 7, today));
        let event = |end| Details::Event {
            start: date(2026, 11, 10),
            end,
            place: "Tokyo".into(),
        };
        assert!(!is_due(&item(event(date(2026, 11, 12)), (2026, 10, 1)), 7, today));
        assert!(
            is_due(&item(event(date(2026, 11, 30)), (2026, 10, 1)), 7, today),
            "still running"
        );
        assert_eq!(Details::plain(Kind::Event), None);
    }

    #[test]
    fn tenders_sort_by_deadline() {
        let tender = |day| {
            item(
                Details::Tender {
                    entity: "E".into(),
                    reference: "R".into(),
                    deadline: date(2026, 12, day),
                },
                (2026, 11, 20),
            )
        };
        let (late, early) = (tender(20), tender(2));
        let mut items = vec![&late, &early];
        sort(&mut items, Order::Deadline);
        assert_eq!(items[0], &early);
    }
}
