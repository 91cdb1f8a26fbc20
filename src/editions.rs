//! The editions stage: for one newsletter and date, which classified items
//! are due, in which section and order, and which show only as teasers.

use std::borrow::Borrow;
use std::collections::HashSet;
use std::ops::Deref;

use chrono::{Datelike, Days, NaiveDate};

use crate::classify::Classified;
use crate::config::{Newsletter, Order, Schedule, Section};
use crate::domain::{Correction, Placed};
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
    /// The editor's introduction, Markdown, shown at the top.
    pub(crate) intro: Option<&'a str>,
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
    intro: Option<&'a str>,
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
        intro: intro.filter(|i| !i.trim().is_empty()),
    }
    .with_still_open(placed)
}

/// Assembles edition `number` of `newsletter` for `date` from the classified
/// items, leaving out those `published` in an earlier edition and those a
/// lasting rule keeps out, with their stories. A story told by several
/// sources is one item (see [`one_per_story`]).
pub fn assemble<'a>(
    newsletter: &'a Newsletter,
    items: &'a [Classified],
    date: NaiveDate,
    number: u32,
    published: &HashSet<String>,
) -> Edition<'a> {
    let id = newsletter.id.as_str();
    // An item a lasting rule keeps out takes its story with it: a copy of
    // it from another source does not come back in its place.
    let due: Vec<(&Item, &str)> = items
        .iter()
        .filter_map(|c| Some((&c.item, c.section_in(id).or(c.kept_out_of(id).then_some(""))?)))
        .filter(|(item, _)| is_due(item, newsletter.window_days, date))
        .collect();
    let mut told = published.clone();
    told.extend(
        items
            .iter()
            .filter(|c| c.kept_out_of(id))
            .map(|c| c.item.id.clone()),
    );
    let mut by_section: Vec<Vec<Story>> = newsletter.sections.iter().map(|_| Vec::new()).collect();
    for (item, placed) in one_per_story(&due, &told) {
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
        intro: None,
    }
}

/// Applies an editor's corrections, in the order made, to a draft's
/// layout: `stored` finds an item to add. A correction whose item is no
/// longer there (dropped from the store, or dropped before) changes
/// nothing. Returns the layout and the introduction; in each section the
/// first `limit` items are shown in full, the rest as teasers (an item the
/// editor added is never cut).
pub(crate) fn correct(
    newsletter: &Newsletter,
    mut placed: Vec<Placed>,
    corrections: &[Correction],
    stored: impl Fn(&str) -> Option<(Item, Option<String>)>,
) -> (Vec<Placed>, Option<String>) {
    let mut intro = None;
    for correction in corrections {
        let at = correction
            .item()
            .and_then(|id| placed.iter().position(|p| p.item.id == id));
        match (correction, at) {
            (Correction::Drop { .. }, Some(i)) => {
                placed.remove(i);
            }
            (Correction::Add { item, section }, None) => {
                if let Some((item, classified)) = stored(item) {
                    let section = section
                        .clone()
                        .or(classified)
                        .or_else(|| newsletter.section_for(item.kind()).map(|s| s.id.clone()));
                    if let Some(section) = section.filter(|s| newsletter.sections.iter().any(|n| n.id == *s))
                    {
                        let end = section_end(&placed, newsletter, &section);
                        placed.insert(
                            end,
                            Placed {
                                section,
                                featured: false,
                                still_open: false,
                                item,
                            },
                        );
                    }
                }
            }
            (
                Correction::Move {
                    section, position, ..
                },
                Some(i),
            ) if newsletter.sections.iter().any(|n| n.id == *section) => {
                let mut moved = placed.remove(i);
                moved.section.clone_from(section);
                let start = placed
                    .iter()
                    .position(|p| p.section == *section)
                    .unwrap_or_else(|| section_end(&placed, newsletter, section));
                let end = section_end(&placed, newsletter, section);
                let at = position.map_or(end, |p| (start + p.saturating_sub(1)).min(end));
                placed.insert(at, moved);
            }
            (Correction::Retitle { title, .. }, Some(i)) => placed[i].item.title.clone_from(title),
            (Correction::Teaser { teaser, .. }, Some(i)) => placed[i].item.teaser.clone_from(teaser),
            (Correction::Intro { markdown }, _) => {
                intro = Some(markdown.clone()).filter(|m| !m.trim().is_empty());
            }
            _ => {}
        }
    }
    (lay_out(newsletter, placed), intro)
}

/// A rebuilt draft's layout before the editor's corrections: the items it
/// placed before (`kept`, in their places), then each item of the `fresh`
/// assembly not among them, at its section's end. Placements once made
/// stay; new items join.
pub(crate) fn keep(newsletter: &Newsletter, mut kept: Vec<Placed>, fresh: Vec<Placed>) -> Vec<Placed> {
    for placed in fresh {
        if kept.iter().any(|k| k.item.id == placed.item.id) {
            continue;
        }
        let end = section_end(&kept, newsletter, &placed.section);
        kept.insert(end, placed);
    }
    kept
}

/// Where an item added to `section` goes: after its last item, or where
/// the section would start in the config's order.
fn section_end(placed: &[Placed], newsletter: &Newsletter, section: &str) -> usize {
    let rank = |id: &str| newsletter.sections.iter().position(|s| s.id == id);
    let target = rank(section);
    placed
        .iter()
        .rposition(|p| rank(&p.section) <= target)
        .map_or(0, |i| i + 1)
}

/// Sections in the config's order; in each, the first `limit` items in full.
fn lay_out(newsletter: &Newsletter, placed: Vec<Placed>) -> Vec<Placed> {
    let mut laid = Vec::with_capacity(placed.len());
    for section in &newsletter.sections {
        let mine = placed.iter().filter(|p| p.section == section.id);
        laid.extend(mine.enumerate().map(|(i, p)| Placed {
            featured: i < section.limit,
            ..p.clone()
        }));
    }
    laid
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

/// Whether `date` is a schedule day, given the date of the last edition.
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

/// The schedule days due by `date` since `last` (the last edition, or the
/// last schedule day a run handled), oldest first: a day missed (no run
/// that day) stays due, with its own date and window, until a run handles
/// it. With no `last` (a newsletter's first edition) only `date` itself can
/// be due: there is nothing to catch up on yet. Looks back a year at most.
pub(crate) fn due_days(schedule: Schedule, date: NaiveDate, last: Option<NaiveDate>) -> Vec<NaiveDate> {
    let Some(mut last) = last else {
        return if is_scheduled(schedule, date, None) {
            vec![date]
        } else {
            Vec::new()
        };
    };
    let year_ago = date - Days::new(366);
    let mut day = last.max(year_ago);
    let mut due = Vec::new();
    while let Some(next) = day.succ_opt().filter(|d| *d <= date) {
        day = next;
        if is_scheduled(schedule, day, Some(last)) {
            due.push(day);
            last = day;
        }
    }
    due
}

/// The first schedule day after `date`, given the last edition (or handled
/// day): within two years, as every schedule has one.
pub(crate) fn next_due(schedule: Schedule, date: NaiveDate, last: Option<NaiveDate>) -> Option<NaiveDate> {
    date.iter_days()
        .skip(1)
        .take(731)
        .find(|d| is_scheduled(schedule, *d, last))
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
    fn a_missed_schedule_day_stays_due() {
        use chrono::Weekday::Mon;
        let weekly = Schedule::Weekly {
            weekday: Mon,
            every: 1,
        };
        let tuesday = date(2026, 11, 24);
        assert_eq!(
            due_days(weekly, tuesday, Some(date(2026, 11, 16))),
            vec![date(2026, 11, 23)]
        );
        assert_eq!(due_days(weekly, tuesday, Some(date(2026, 11, 23))), vec![]);
        assert_eq!(
            due_days(weekly, tuesday, None),
            vec![],
            "no first edition to catch up"
        );
        assert_eq!(
            due_days(weekly, date(2026, 11, 30), Some(date(2026, 11, 16))),
            vec![date(2026, 11, 23), date(2026, 11, 30)]
        );
        assert_eq!(
            next_due(weekly, tuesday, Some(date(2026, 11, 23))),
            Some(date(2026, 11, 30))
        );
    }

    /// A newsletter with a "news" section of `limit` 2 and an empty "events" one.
    fn two_sections() -> crate::config::Config {
        crate::config::Config::parse(
            std::path::Path::new("config.toml"),
            r#"
[site]
name = "S"
base_url = "https://s.example/"

[[newsletter]]
id = "n"
title = "N"
description = "D"
audience = "everyone"

[[newsletter.section]]
id = "news"
title = "News"
kinds = ["news"]
limit = 2

[[newsletter.section]]
id = "events"
title = "Events"
kinds = ["event"]
limit = 2

[[source]]
name = "F"
feed = "f.xml"
newsletters = ["n"]
"#,
            std::path::PathBuf::new(),
        )
        .unwrap()
    }

    fn news(id: &str) -> Placed {
        let mut item = item(Details::News, (2026, 11, 20));
        item.id = id.into();
        Placed {
            section: "news".into(),
            featured: false,
            still_open: false,
            item,
        }
    }

    fn ids(placed: &[Placed]) -> Vec<(&str, &str, bool)> {
        placed
            .iter()
            .map(|p| (p.section.as_str(), p.item.id.as_str(), p.featured))
            .collect()
    }

    #[test]
    fn corrections_drop_move_add_and_retitle_in_order() {
        let config = two_sections();
        let newsletter = &config.newsletters[0];
        let placed = vec![news("a"), news("b"), news("c")];
        let corrections = [
            Correction::Drop { item: "a".into() },
            Correction::Move {
                item: "c".into(),
                section: "news".into(),
                position: Some(1),
            },
            Correction::Add {
                item: "x".into(),
                section: Some("events".into()),
            },
            Correction::Retitle {
                item: "b".into(),
                title: "B!".into(),
            },
            Correction::Drop { item: "gone".into() },
            Correction::Intro {
                markdown: "Hello".into(),
            },
        ];
        let stored = |id: &str| (id == "x").then(|| (news("x").item, None));
        let (laid, intro) = correct(newsletter, placed, &corrections, stored);
        assert_eq!(
            ids(&laid),
            vec![("news", "c", true), ("news", "b", true), ("events", "x", true)]
        );
        assert_eq!(laid[1].item.title, "B!");
        assert_eq!(intro.as_deref(), Some("Hello"));
    }

    #[test]
    fn an_item_past_the_limit_is_a_teaser_and_an_empty_intro_removes_it() {
        let config = two_sections();
        let newsletter = &config.newsletters[0];
        let placed = vec![news("a"), news("b")];
        let corrections = [
            Correction::Intro {
                markdown: "Hello".into(),
            },
            Correction::Add {
                item: "x".into(),
                section: None,
            },
            Correction::Move {
                item: "a".into(),
                section: "news".into(),
                position: Some(99),
            },
            Correction::Intro {
                markdown: " \n".into(),
            },
        ];
        let stored = |id: &str| (id == "x").then(|| (news("x").item, Some("news".to_string())));
        let (laid, intro) = correct(newsletter, placed, &corrections, stored);
        assert_eq!(
            ids(&laid),
            vec![("news", "b", true), ("news", "x", true), ("news", "a", false)]
        );
        assert_eq!(intro, None);
    }

    #[test]
    fn a_rebuilt_layout_keeps_its_places_and_new_items_join_at_their_sections_end() {
        let config = two_sections();
        let newsletter = &config.newsletters[0];
        let section = |id: &str, s: &str| Placed {
            section: s.into(),
            ..news(id)
        };
        let kept = vec![section("b", "news"), section("a", "news"), section("e", "events")];
        let fresh = vec![
            section("a", "news"),
            section("n", "news"),
            section("b", "news"),
            section("m", "events"),
        ];
        let laid: Vec<String> = keep(newsletter, kept, fresh)
            .iter()
            .map(|p| format!("{}:{}", p.section, p.item.id))
            .collect();
        assert_eq!(laid, ["news:b", "news:a", "news:n", "events:e", "events:m"]);
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
