//! The pass over the tokens: elements opened and closed, runs of text,
//! entries noted.

use std::ops::Range;

use super::facts::note;
use super::lexer::{Tag, Token, Unfinished};
use super::namespaces::{Ns, namespace};
use super::references::{repair_references, unescape};
use super::repairs::{npt_safe, pad_email};
use super::summaries::Reading;
use super::{Channel, Content, Edit, Facts, Frame, Pass, Place, Root, Run};
use crate::items::{escape_html, sanitize, to_text};

impl<'a> Pass<'a> {
    pub(super) fn token(&mut self, span: Range<usize>, token: Token<'a>) {
        self.last_token_at = span.start;
        match token {
            // A `<` that starts no markup, as in "a < b".
            Token::Text("<") => {
                self.text(span.clone(), "<");
                self.edit(span, "&lt;".to_string());
            }
            Token::Text(raw) => {
                // The text as feed-rs will read it: repaired, then expanded.
                let repaired = repair_references(raw, &self.entities);
                self.text(span.clone(), &unescape(repaired.as_deref().unwrap_or(raw)));
                if let Some(repaired) = repaired {
                    self.edit(span, repaired);
                }
            }
            Token::CData(text) => {
                self.text(span.clone(), text);
                self.edit(span, escape_html(text));
            }
            Token::Pi | Token::Comment => self.text(span, ""),
            Token::Doctype(doctype) => self.entities.declare(doctype),
            Token::Start(tag) => {
                self.end_run();
                self.start(span, tag);
            }
            // An end tag that closes nothing goes, and is no break in
            // the text around it.
            Token::End(name) if !self.stack.iter().any(|f| f.name == name) => {
                self.text(span.clone(), "");
                self.edit(span, String::new());
            }
            Token::End(name) => {
                self.end_run();
                self.end(span, name);
            }
        }
    }

    pub(super) fn edit(&mut self, at: Range<usize>, with: String) {
        self.edits.push(Edit { at, with });
    }

    pub(super) fn insert(&mut self, at: usize, text: String) {
        self.edit(at..at, text);
    }

    fn text(&mut self, span: Range<usize>, text: &str) {
        let edits_before = self.edits.len();
        let run = self.run.get_or_insert_with(|| Run {
            at: span.clone(),
            text: String::new(),
            edits_before,
        });
        run.at.end = span.end;
        run.text.push_str(text);
    }

    /// The end of a run of text: kept where it is wanted, and defused
    /// where feed-rs would panic on it.
    fn end_run(&mut self) {
        let Some(run) = self.run.take() else {
            return;
        };
        let Some(frame) = self.stack.last_mut() else {
            return;
        };
        if let Some(text) = frame.text.as_mut() {
            text.push_str(&run.text);
        }
        let safe = match frame.local {
            "author" | "managingEditor" | "webMaster" | "creator" | "name" => pad_email(&run.text),
            "duration" => (!npt_safe(&run.text)).then(String::new),
            _ => None,
        };
        if let Some(safe) = safe {
            self.edits.truncate(run.edits_before);
            self.edit(run.at, escape_html(&safe));
        }
    }

    /// A start tag: the structure noted, the tag repaired, the entry
    /// (if it starts one) noted, the element opened.
    fn start(&mut self, span: Range<usize>, tag: Tag<'a>) {
        if let Some(parent) = self.stack.last_mut().filter(|f| f.takes_markup_as_text()) {
            // Markup in an RSS description, an Atom HTML text or a guid:
            // text to be (or to go), whatever it holds.
            parent.children = true;
            return;
        }
        let bindings = self.bind(&tag);
        let ns = self.resolve(tag.name, &bindings);
        let depth = self.stack.len();
        self.structure(&tag, depth, span.end);
        let local = tag.name.rsplit(':').next().unwrap_or(tag.name);
        if local == "text" || local == "thumbnail" {
            self.defuse_times(&tag);
        }
        self.repair_attributes(&tag);
        let (renamed, local) = match self.rename(&tag, ns, local, depth) {
            Some((name, new_local)) => (Some(name), new_local),
            None => (None, local),
        };
        let is_entry = self.is_entry(depth, ns, local);
        if is_entry {
            self.enter_entry(&tag, depth, span.start);
        }
        let in_entry = self.entry_depth.is_some_and(|d| d + 1 == depth);
        if tag.empty {
            self.empty_element(span, &tag, ns, local, in_entry, is_entry);
            return;
        }
        let place = match (is_entry, in_entry) {
            (true, _) => Place::Entry,
            (_, true) => Place::InEntry,
            _ => Place::Elsewhere,
        };
        let fallback = self
            .entry_depth
            .filter(|_| !is_entry)
            .and_then(|_| self.fallback(&tag, ns, local));
        let content = self.content(&tag, ns, local, place, fallback);
        self.stack.push(Frame {
            name: tag.name,
            name_end: tag.name_end,
            content_at: span.end,
            local,
            ns,
            bindings,
            renamed,
            type_attribute: tag.attribute("type").map(|a| (a.value.to_string(), a.span())),
            text: (in_entry || content != Content::Keep || fallback.is_some()).then(String::new),
            content,
            children: false,
            fallback,
            permalink: tag
                .attribute("isPermaLink")
                .is_none_or(|a| !a.value.trim().eq_ignore_ascii_case("false")),
        });
    }

    /// Notes what a start tag at `depth` says of the document's shape:
    /// the root (the first one: feed-rs reads no other), the first RSS
    /// channel, an element with elements in it.
    fn structure(&mut self, tag: &Tag<'a>, depth: usize, open_end: usize) {
        let local = tag.name.rsplit(':').next().unwrap_or(tag.name);
        if depth == 0 {
            self.roots += 1;
            if self.roots == 1 {
                self.root(tag, local, open_end);
            }
        }
        if depth == 1 && local == "channel" && self.root == Root::Rss && self.channel == Channel::NotSeen {
            self.channel = Channel::Open;
        }
        if let Some(parent) = self.stack.last_mut() {
            parent.children = true;
        }
    }

    fn enter_entry(&mut self, tag: &Tag, depth: usize, at: usize) {
        let about = tag
            .attribute("rdf:about")
            .map(|a| unescape(a.value).trim().to_string());
        self.entries.push(Facts {
            about,
            ..Facts::default()
        });
        self.entry_depth = Some(depth);
        self.entry_at = at;
    }

    /// Notes the format, and gives RSS the version feed-rs wants.
    fn root(&mut self, tag: &Tag<'a>, local: &str, open_end: usize) {
        self.root = match local {
            "rss" => Root::Rss,
            "RDF" => Root::Rdf,
            "feed" => Root::AtomFeed,
            "entry" => Root::AtomEntry,
            _ => Root::Unknown,
        };
        self.root_name = Some(tag.name);
        self.root_open_end = open_end;
        if self.root == Root::Rss {
            self.rss_version(tag);
        }
    }

    /// The namespace of a tag named `name`.
    fn resolve(&self, name: &str, own: &[(&str, Ns)]) -> Ns {
        let prefix = name.split_once(':').map_or("", |(p, _)| p);
        own.iter()
            .chain(self.stack.iter().rev().flat_map(|f| f.bindings.iter()))
            .find(|(p, _)| *p == prefix)
            .map_or(Ns::Undeclared, |(_, ns)| *ns)
    }

    /// The namespaces the tag declares, renaming the URIs that feed-rs
    /// knows by another one.
    fn bind(&mut self, tag: &Tag<'a>) -> Vec<(&'a str, Ns)> {
        let mut bindings = Vec::new();
        for attribute in &tag.attributes {
            let prefix = match attribute.name.strip_prefix("xmlns") {
                Some("") => "",
                Some(rest) => match rest.strip_prefix(':') {
                    Some(prefix) => prefix,
                    None => continue,
                },
                None => continue,
            };
            let (ns, canonical) = namespace(&unescape(attribute.value));
            if let Some(canonical) = canonical.filter(|c| *c != attribute.value) {
                self.edit(attribute.span(), canonical.to_string());
            }
            bindings.push((prefix, ns));
        }
        bindings
    }

    /// Whether an element in `ns` is an Atom element.
    pub(super) fn in_atom(&self, ns: Ns) -> bool {
        ns == Ns::Atom
            || ns == Ns::OldAtom
            || (ns == Ns::Undeclared && matches!(self.root, Root::AtomFeed | Root::AtomEntry))
    }

    pub(super) fn in_rss(&self, ns: Ns) -> bool {
        matches!(self.root, Root::Rss | Root::Rdf) && matches!(ns, Ns::Undeclared | Ns::Rss)
    }

    /// Whether an element at `depth` is an entry as feed-rs sees one.
    fn is_entry(&self, depth: usize, ns: Ns, local: &str) -> bool {
        let rss = ns == Ns::Rss || ns == Ns::Undeclared;
        if self.roots > 1 {
            return false;
        }
        match self.root {
            Root::Rss => {
                local == "item"
                    && rss
                    && ((depth == 2 && self.channel == Channel::Open && self.stack[1].local == "channel")
                        || (depth == 1 && self.channel == Channel::NotSeen))
            }
            Root::Rdf => depth == 1 && local == "item" && rss,
            Root::AtomFeed => depth == 1 && local == "entry" && self.in_atom(ns),
            Root::AtomEntry => depth == 0,
            Root::Unknown => false,
        }
    }

    /// An end tag. One that closes an element with others still open
    /// inside closes those first, as a browser would: quick-xml
    /// rejects a document where it does not.
    fn end(&mut self, span: Range<usize>, name: &str) {
        let Some(index) = self.stack.iter().rposition(|f| f.name == name) else {
            return;
        };
        let closers = self.close_above(index, span.start);
        if !closers.is_empty() {
            self.insert(span.start, closers);
        }
        if let Some(new_name) = self.stack[index].renamed.clone() {
            let start = span.start + 2;
            self.edit(start..start + name.len(), new_name);
        }
        if index == 0 && self.roots == 1 && self.wraps_channel() {
            self.insert(self.root_open_end, "<channel>".to_string());
            self.insert(span.start, "</channel>".to_string());
        }
        self.close(span.start);
    }

    /// Closes the elements above `index` at `at`; returns their end
    /// tags. Inside content that becomes character data, nothing is
    /// closed or changed: it is text.
    fn close_above(&mut self, index: usize, at: usize) -> String {
        if let Some(wrapping) = (index..self.stack.len()).find(|&i| self.stack[i].wraps()) {
            let edits = self.edits.len();
            while self.stack.len() > wrapping + 1 {
                self.close(at);
            }
            self.edits.truncate(edits);
        }
        let mut closers = String::new();
        while self.stack.len() > index + 1 {
            self.close_into(at, &mut closers);
        }
        closers
    }

    /// Whether an RSS document without `<channel>` gets one around what
    /// it holds (feedparser reads items anywhere, feed-rs in a channel,
    /// and refuses an RSS document with none as having "no root").
    fn wraps_channel(&self) -> bool {
        self.root == Root::Rss && self.channel == Channel::NotSeen
    }

    /// Closes the innermost element and adds the end tag it gets to
    /// `closers`.
    fn close_into(&mut self, at: usize, closers: &mut String) {
        if let Some(frame) = self.stack.last() {
            closers.push_str("</");
            closers.push_str(frame.renamed.as_deref().unwrap_or(frame.name));
            closers.push('>');
        }
        self.close(at);
    }

    /// Closes the innermost element, whose end tag is (or goes) at `at`.
    fn close(&mut self, at: usize) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        let depth = self.stack.len();
        if self.entry_depth == Some(depth) {
            self.entry_depth = None;
        }
        if depth == 1 && frame.local == "channel" && self.channel == Channel::Open {
            self.channel = Channel::Closed;
        }
        self.finish_content(&frame, at);
        let in_entry = self.entry_depth.is_some_and(|d| d + 1 == depth);
        let summary = frame
            .fallback
            .map(|f| (f.rank, self.fallback_html(&frame, f.reading, at)));
        let source_title = self
            .is_source_title(&frame, depth)
            .then(|| to_text(&sanitize(&self.fallback_html(&frame, Reading::Atom, at), None)));
        let Some(facts) = self.entries.last_mut() else {
            return;
        };
        if let (true, Some(text)) = (in_entry, &frame.text) {
            note(facts, frame.ns, frame.local, text, frame.permalink);
        }
        if let Some(title) = source_title {
            facts.offer_publisher(1, &title);
        }
        if let Some((rank, html)) = summary {
            facts.offer_summary(rank, html);
        }
    }

    /// Whether a closing element at `depth` is the title of an Atom
    /// entry's `<source>`: the feed the entry was copied from.
    fn is_source_title(&self, frame: &Frame, depth: usize) -> bool {
        let in_source = self.entry_depth.is_some_and(|d| d + 2 == depth)
            && self
                .stack
                .last()
                .is_some_and(|parent| parent.local == "source" && self.in_atom(parent.ns));
        in_source && frame.local == "title" && self.in_atom(frame.ns)
    }

    /// The end of the input. An entry cut short goes; otherwise a
    /// construct cut short is completed (a start tag cut short goes).
    /// The elements left open are closed, so a truncated feed keeps the
    /// entries it has in full. Returns whether the document was cut
    /// short (its root left open).
    pub(super) fn finish(&mut self, unfinished: Option<Unfinished>) -> bool {
        self.end_run();
        let end = self.src.len();
        if let Some(depth) = self.entry_depth.take() {
            // An entry cut short is no entry: it goes, whole.
            self.edit(self.entry_at..end, String::new());
            self.entries.pop();
            self.stack.truncate(depth);
        } else {
            match unfinished {
                Some(Unfinished::Tag) => {
                    self.edit(self.last_token_at..end, String::new());
                    // A cut start tag was taken as open; it is not.
                    if self.stack.last().is_some_and(|f| f.content_at == end) {
                        self.stack.pop();
                    }
                }
                Some(Unfinished::Closer(closer)) => self.insert(end, closer.to_string()),
                None => {}
            }
        }
        if self.stack.is_empty() {
            return false;
        }
        let wrap = self.roots == 1 && self.wraps_channel();
        let mut closers = self.close_above(0, end);
        if wrap {
            closers.push_str("</channel>");
            self.insert(self.root_open_end, "<channel>".to_string());
        }
        self.close_into(end, &mut closers);
        self.insert(end, closers);
        true
    }
}
