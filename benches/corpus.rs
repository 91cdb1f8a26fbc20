//! A deterministic corpus for benchmarks: N feeds × M items of realistic
//! items (HTML descriptions with links, Japanese text, categories), local
//! events and tenders, and a subscriber list, all from one seed. Shared by
//! `benches/stages.rs` and `examples/corpus.rs` (which writes it to disk).
#![allow(dead_code)] // each user takes the parts it needs

/// splitmix64: small, fast, and the same numbers on every machine.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    #[allow(clippy::cast_possible_truncation)] // below `n`, which is a usize
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub(crate) fn pick<'a>(&mut self, options: &[&'a str]) -> &'a str {
        options[self.below(options.len())]
    }
}

const SUBJECTS: &[&str] = &[
    "EU-Japan",
    "METI",
    "The Digital Agency",
    "JETRO",
    "The European Commission",
    "Tohoku University",
    "The EU-Japan Centre",
    "Osaka Prefecture",
    "A Dutch start-up",
    "Rapidus",
];
const VERBS: &[&str] = &[
    "announces",
    "launches",
    "publishes",
    "extends",
    "opens",
    "reviews",
    "signs",
];
const TOPICS: &[&str] = &[
    "semiconductor subsidies",
    "a public procurement reform",
    "hydrogen projects",
    "technology transfer rules",
    "the consumption tax invoice system",
    "a market entry programme",
    "digital cooperation",
    "GX bonds",
    "an R&D partnership",
    "tourism statistics",
    "a business mission",
    "patent licensing",
];
const JAPANESE: &[&str] = &[
    "経済産業省は半導体産業の強化に向けた新たな支援策を発表した。",
    "デジタル庁は欧州連合との協力を一層深める方針を示した。",
    "政府調達の透明性を高めるため、入札情報の英語公開が始まる。",
    "大学発の技術移転が地域の産業振興につながっている。",
];
const CATEGORIES: &[&str] = &[
    "policy",
    "trade",
    "research",
    "procurement",
    "tax",
    "industry",
    "events",
];

/// One feed of `items` items, RSS 2.0, dated in November 2026.
pub(crate) fn rss(feed: usize, items: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed ^ (feed as u64).wrapping_mul(0x1000_0000_01B3));
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel>\n<title>Feed {feed}</title>\n\
         <link>https://feed{feed}.example/</link>\n<description>Generated feed {feed}</description>\n"
    );
    for item in 0..items {
        let (subject, verb, topic) = (rng.pick(SUBJECTS), rng.pick(VERBS), rng.pick(TOPICS));
        let day = 1 + rng.below(28);
        let japanese = if rng.below(4) == 0 { rng.pick(JAPANESE) } else { "" };
        let description = format!(
            "<p>{subject} {verb} {topic}, in a move followed closely by European companies active in Japan. \
             The measure covers <strong>{n} organisations</strong> and takes effect in {month}.</p>\
             <p>{japanese} Details are on the <a href=\"/news/{feed}/{item}?utm_source=rss\">announcement page</a> \
             and in the <a href=\"https://docs.example/{feed}-{item}.pdf\">full text</a>.</p>\
             <img src=\"https://track.example/p.gif\" width=\"1\" height=\"1\">",
            n = 10 + rng.below(990),
            month = rng.pick(&["January", "March", "April", "July", "October"]),
        );
        out.push_str(&format!(
            "<item><title>{subject} {verb} {topic} ({feed}-{item})</title>\
             <link>https://feed{feed}.example/news/{item}</link><guid>https://feed{feed}.example/news/{item}</guid>\
             <pubDate>{weekday}, {day:02} Nov 2026 {hour:02}:{minute:02}:00 +0900</pubDate>\
             <category>{category}</category><description><![CDATA[{description}]]></description></item>\n",
            weekday = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][day % 7],
            hour = rng.below(24),
            minute = rng.below(60),
            category = rng.pick(CATEGORIES),
        ));
    }
    out.push_str("</channel></rss>\n");
    out
}

/// A local event item (Markdown with front matter).
pub(crate) fn event(index: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed ^ 0xE0E0 ^ index as u64);
    format!(
        "+++\ntitle = \"Seminar {index}: {topic}\"\nlink = \"https://events.example/{index}\"\npublished = 2026-11-{day:02}\n\
         start = 2027-0{month}-1{d}\nend = 2027-0{month}-2{d}\nplace = \"{place}\"\n+++\nA seminar on {topic} for EU companies.\n",
        topic = rng.pick(TOPICS),
        day = 1 + rng.below(28),
        month = 1 + rng.below(9),
        d = rng.below(9),
        place = rng.pick(&[
            "Online and in Japan",
            "Tokyo, Japan",
            "Brussels, Belgium",
            "Osaka, Japan"
        ]),
    )
}

/// A local tender item (TOML).
pub(crate) fn tender(index: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed ^ 0x7E7E ^ index as u64);
    format!(
        "title = \"Supply of equipment lot {index}\"\nlink = \"https://tenders.example/{index}\"\npublished = 2026-11-{day:02}\n\
         entity = \"{entity}\"\nreference = \"T-2026-{index:05}\"\ndeadline = 2027-0{month}-15\n\
         summary = \"Public procurement tender for {topic}.\"\n",
        day = 1 + rng.below(28),
        entity = rng.pick(&[
            "Japan Meteorological Agency",
            "Osaka University",
            "JAXA",
            "Tokyo Metropolitan Government"
        ]),
        month = 1 + rng.below(9),
        topic = rng.pick(TOPICS),
    )
}

/// The subscriber CSV: a header line, then `count` rows.
pub(crate) fn subscribers(count: usize, seed: u64) -> impl Iterator<Item = String> {
    let mut rng = Rng::new(seed ^ 0x5AB5);
    let header = "email,name,organisation,organisation_type,country,newsletters,consent_date".to_string();
    std::iter::once(header).chain((0..count).map(move |i| {
        let domain = rng.below(50);
        let kind = rng.pick(&["company", "company", "organisation", "individual"]);
        let country = rng.pick(&["DE", "FR", "IT", "NL", "BE", "JP", "ES"]);
        // As the sign-up form lets them choose: the EU-only newsletters
        // only for EU-27 companies and organisations.
        let newsletters = if kind == "individual" || country == "JP" {
            "eu-japan-news;tech-transfer"
        } else {
            "eu-japan-news;about-japan;tax-procurement"
        };
        format!(
            "reader{i:07}@example{domain}.eu,Reader {i},Org {i},{kind},{country},{newsletters},2025-01-01"
        )
    }))
}
