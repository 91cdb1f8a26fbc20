//! The editions stage: for one newsletter and date, which classified items
//! are due, in which section and order, and which show only as teasers.

use std::borrow::Borrow;
use std::collections::HashSet;
use std::ops::Deref;

use chrono::{Datelike, Days, NaiveDate};

use crate::classify::Classified;
use crate::config::{Newsletter, Order, Schedule, Section};
use crate::domain::Placed;
use crate::items::{Details, Item, merge, richness, same_stories};

/// An item as an edition shows it: borrowed, or merged with the copies of
/// its story from other sources (boxed: an edition's items are moved as
/// they are sorted, and a borrowed one is the rule).
#[derive(Debug)]
pub(crate) enum Story<'a> {
    One(&'a Item),
    Merged(Box<Item>),
}

impl Deref for Story<'_> {
    type Target = Item;

    fn deref(&self) -> &Item {
        match self {
            Story::One(item) => item,
            Story::Merged(item) => item,
        }
    }
}

impl Borrow<Item> for Story<'_> {
    fn borrow(&self) -> &Item {
        self
    }
}

/// One edition of one newsletter, ready to render.
#[derive(Debug)]
pub struct Edition<'a> {
    pub(crate) newsletter: &'a Newsletter,
    /// No. 1, 2, … within the newsletter.
    pub(crate) number: u32,
    pub(crate) date: NaiveDate,
    pub(crate) sections: Vec<EditionSection<'a>>,
}

#[derive(Debug)]
pub(crate) struct EditionSection<'a> {
    pub(crate) section: &'a Section,
    /// Shown in full, at most `section.limit`.
    pub(crate) featured: Vec<Story<'a>>,
    /// Shown as one-line teasers under "More", at most `section.more`.
    pub(crate) more: Vec<Story<'a>>,
    /// Tenders of earlier editions whose deadline has not passed, listed
    /// again under the new items, as readers of a weekly digest expect.
    pub(crate) still_open: Vec<&'a Item>,
    /// Due but over both limits.
    pub(crate) overflow: usize,
}

impl<'a> Edition<'a> {
    /// The new items: those no earlier edition carried.
    pub fn item_count(&self) -> usize {
        self.sections
            .iter()
            .map(|s| s.featured.len() + s.more.len())
            .sum()
    }

    /// The tenders listed again as still open.
    pub(crate) fn still_open_count(&self) -> usize {
        self.sections.iter().map(|s| s.still_open.len()).sum()
    }

    /// Nothing new and nothing still open: nothing to say.
    pub(crate) fn is_empty(&self) -> bool {
        self.item_count() == 0 && self.still_open_count() == 0
    }

    pub(crate) fn items(&self) -> impl Iterator<Item = &Item> {
        self.sections
            .iter()
            .flat_map(|s| s.featured.iter().chain(&s.more).map(Deref::deref))
    }

    /// Lists the tenders of earlier editions still open that `placed`
    /// marks so (see `Store::still_open`), in the sections they were placed
    /// in, in each section's order.
    #[must_use]
    pub(crate) fn with_still_open(mut self, placed: &'a [Placed]) -> Edition<'a> {
        for section in &mut self.sections {
            let mut open: Vec<&Item> = placed
                .iter()
                .filter(|p| p.still_open && p.section == section.section.id)
                .map(|p| &p.item)
                .collect();
            sort(&mut open, section.section.order);
            section.still_open = open;
        }
        self
    }

    /// The layout to record, in reading order.
    pub(crate) fn placed(&self) -> Vec<Placed> {
        let mut placed = Vec::new();
        for s in &self.sections {
            for (items, featured) in [(&s.featured, true), (&s.more, false)] {
                placed.extend(items.iter().map(|item| Placed {
                    section: s.section.id.clone(),
                    featured,
                    still_open: false,
                    item: Item::clone(item),
                }));
            }
        }
        placed
    }
}

/// The recorded edition again, laid out as it was published, with the
/// tenders still open that `placed` lists. Items whose section is no
/// longer in the config are left out.
pub(crate) fn restore<'a>(
    newsletter: &'a Newsletter,
    number: u32,
    date: NaiveDate,
    placed: &'a [Placed],
) -> Edition<'a> {
    let sections = newsletter
        .sections
        .iter()
        .map(|section| {
            let here = |featured: bool| {
                placed
                    .iter()
                    .filter(|p| !p.still_open && p.section == section.id && p.featured == featured)
                    .map(|p| Story::One(&p.item))
                    .collect()
            };
            EditionSection {
                section,
                featured: here(true),
                more: here(false),
                still_open: Vec::new(),
                overflow: 0,
            }
        })
        .collect();
    Edition {
        newsletter,
        number,
        date,
        sections,
    }
    .with_still_open(placed)
}

/// Assembles edition `number` of `newsletter` for `date` from the classified
/// items, leaving out those `published` in an earlier edition. A story told
/// by several sources is one item (see [`one_per_story`]).
pub fn assemble<'a>(
    newsletter: &'a Newsletter,
    items: &'a [Classified],
    date: NaiveDate,
    number: u32,
    published: &HashSet<String>,
) -> Edition<'a> {
    let id = newsletter.id.as_str();
    let due: Vec<(&Item, &str)> = items
        .iter()
        .filter_map(|c| Some((&c.item, c.section_in(id)?)))
        .filter(|(item, _)| is_due(item, newsletter.window_days, date))
        .collect();
    let mut by_section: Vec<Vec<Story>> = newsletter.sections.iter().map(|_| Vec::new()).collect();
    for (item, placed) in one_per_story(&due, published) {
        if let Some(k) = newsletter.sections.iter().position(|s| s.id == placed) {
            by_section[k].push(item);
        }
    }
    let sections = newsletter
        .sections
        .iter()
        .zip(by_section)
        .map(|(section, mut due)| {
            sort(&mut due, section.order);
            let mut due = due.into_iter();
            let featured: Vec<Story> = due.by_ref().take(section.limit).collect();
            let more: Vec<Story> = due.by_ref().take(section.more).collect();
            EditionSection {
                overflow: due.len(),
                section,
                featured,
                more,
                still_open: Vec::new(),
            }
        })
        .collect();
    Edition {
        newsletter,
        number,
        date,
        sections,
    }
}

/// The due items, each story once, with its section: copies of a story
/// from several sources (see [`same_stories`]) are merged into the richest
/// one, the others named in its "also in". A story of which any copy was
/// `published` in an earlier edition is left out: it was told.
fn one_per_story<'a>(due: &[(&'a Item, &'a str)], published: &HashSet<String>) -> Vec<(Story<'a>, &'a str)> {
    let items: Vec<&Item> = due.iter().map(|(item, _)| *item).collect();
    let first = same_stories(&items);
    let mut by_story: Vec<usize> = (0..items.len()).collect();
    by_story.sort_by_key(|i| first[*i]); // stable: each story's copies in order
    by_story
        .chunk_by(|a, b| first[*a] == first[*b])
        .filter(|copies| !copies.iter().any(|i| published.contains(&items[*i].id)))
        .map(|copies| {
            let richest = *copies
                .iter()
                .max_by_key(|i| (richness(items[**i]), std::cmp::Reverse(**i)))
                .unwrap_or(&copies[0]);
            let story = match copies {
                [_] => Story::One(items[richest]),
                _ => {
                    let mut item = Box::new(items[richest].clone());
                    for &other in copies.iter().filter(|i| **i != richest) {
                        merge(&mut item, items[other]);
                    }
                    Story::Merged(item)
                }
            };
            (story, due[richest].1)
        })
        .collect()
}

/// Whether `bulletin run` publishes an edition on `date`, given the date of
/// the last one. Catching up is not attempted: a missed day waits for the next.
pub(crate) fn is_scheduled(schedule: Schedule, date: NaiveDate, last: Option<NaiveDate>) -> bool {
    match schedule {
        Schedule::Weekly { weekday, every } => {
            let waited = last.is_none_or(|last| (date - last).num_days() > 7 * (i64::from(every) - 1));
            date.weekday() == weekday && waited
        }
        Schedule::MonthlyWeekday { weekday, week } => {
            let nth = (date.day() - 1) / 7 + 1;
            let is_last = (date + Days::new(7)).month() != date.month();
            date.weekday() == weekday && (nth == week || (week == 5 && is_last)) && new_month(date, last)
        }
        Schedule::MonthlyDay { day } => {
            let last_day = (28..=31)
                .rev()
                .find(|d| date.with_day(*d).is_some())
                .unwrap_or(28);
            date.day() == day.min(last_day) && new_month(date, last)
        }
    }
}

fn new_month(date: NaiveDate, last: Option<NaiveDate>) -> bool {
    last.is_none_or(|last| (last.year(), last.month()) != (date.year(), date.month()))
}

/// Published by `date`, and: news within the window, events not yet over,
/// tenders not yet closed. Undated items are never due: they cannot be
/// placed in a window, and `bulletin items` lists them.
pub(crate) fn is_due(item: &Item, window_days: u32, date: NaiveDate) -> bool {
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

fn sort<I: Borrow<Item>>(items: &mut [I], order: Order) {
    let start = |item: &Item| match &item.details {
        Details::Event { start, .. } => Some(*start),
        _ => None,
    };
    let deadline = |item: &Item| match &item.details {
        Details::Tender { deadline, .. } => Some(*deadline),
        _ => None,
    };
    items.sort_by(|a, b| {
        let (a, b) = (a.borrow(), b.borrow());
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
    fn schedules() {
        use chrono::Weekday::Mon;
        let monday = date(2026, 11, 23);
        let weekly = Schedule::Weekly {
            weekday: Mon,
            every: 1,
        };
        assert!(is_scheduled(weekly, monday, None));
        assert!(is_scheduled(weekly, monday, Some(date(2026, 11, 16))));
        assert!(!is_scheduled(weekly, monday, Some(monday)), "once a day");
        assert!(!is_scheduled(weekly, date(2026, 11, 24), None), "Tuesday");
        let fortnightly = Schedule::Weekly {
            weekday: Mon,
            every: 2,
        };
        assert!(!is_scheduled(fortnightly, monday, Some(date(2026, 11, 16))));
        assert!(is_scheduled(fortnightly, monday, Some(date(2026, 11, 9))));
        let fourth_monday = Schedule::MonthlyWeekday {
            weekday: Mon,
            week: 4,
        };
        assert!(is_scheduled(fourth_monday, monday, Some(date(2026, 10, 26))));
        assert!(!is_scheduled(fourth_monday, date(2026, 11, 16), None));
        let last_monday = Schedule::MonthlyWeekday {
            weekday: Mon,
            week: 5,
        };
        assert!(is_scheduled(last_monday, date(2026, 11, 30), None));
        assert!(!is_scheduled(last_monday, monday, None));
        let thirty_first = Schedule::MonthlyDay { day: 31 };
        assert!(
            is_scheduled(thirty_first, date(2026, 11, 30), None),
            "the last day of a short month"
        );
        assert!(!is_scheduled(
            thirty_first,
            date(2026, 11, 30),
            Some(date(2026, 11, 2))
        ));
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
