//! `bulletin preview`: the next edition of every newsletter, served on
//! 127.0.0.1 as readers will see it, rebuilt whenever `config.toml` or
//! `feeds/` change (an open page reloads itself). Browsing records and
//! sends nothing: the store is only read, for items fetched from the web
//! and for what earlier editions already carried.
//!
//! The one exception is the review page ([`review`]): a draft as it
//! will be mailed, with the editor's corrections and the approval as
//! buttons, which write to the store as `bulletin edit` and `bulletin
//! approve` do, through the same functions: the command hands them in as
//! a [`Desk`], with the editions to show.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use askama::Template;
use chrono::{DateTime, NaiveDate, Utc};

use super::server::{Handler, Hosts, Limits, Page as Reply, Request, Server, TrustedProxies};
use super::site::{Asked, field, rendered};
use super::worker::{self, Owner, Rhythm, Worker};
use crate::audience::admits;
use crate::store::SubscriberRecord;

mod built;
mod review;

pub(crate) use built::{Built, Page};
pub(crate) use review::{About, Action, Change};
use review::{Csrf, Editor, Posting};

/// What the preview asks of the application: the editions to show, and
/// the review page's changes applied. `bulletin preview` hands in the
/// functions `bulletin build`, `edit` and `approve` use.
pub(crate) trait Desk: Send {
    /// The next edition of every newsletter, from the stored items and the
    /// file sources as they are now.
    fn build(&self, date: NaiveDate, now: DateTime<Utc>) -> anyhow::Result<Built>;
    /// One change of the review page, applied as `bulletin edit` or
    /// `bulletin approve` would, at `now`.
    fn apply(&self, change: &Change, now: DateTime<Utc>) -> anyhow::Result<()>;
    /// Files beside the config's folders whose change changes what is
    /// shown: the store, which `bulletin approve`, `edit`, `skip` or `run`
    /// change from elsewhere, so the review page follows them.
    fn watched(&self) -> Vec<PathBuf>;
}

/// How `bulletin preview` runs.
pub struct Options {
    pub listen: String,
    pub date: NaiveDate,
    /// Open the index in the default browser.
    pub open: bool,
    pub limits: Limits,
    /// Who makes the corrections and approvals of the review page.
    pub by: String,
}

struct Snapshot {
    version: u64,
    built: anyhow::Result<Built>,
}

/// Serves until SIGTERM or Ctrl-C. The first line on stdout is the index's URL.
pub(crate) fn run(
    config_path: &Path,
    options: &Options,
    desk: Box<dyn Desk>,
    now: &(dyn Fn() -> DateTime<Utc> + Sync),
) -> anyhow::Result<()> {
    let server = Server::bind(&options.listen)?;
    let addr = server.local_addr()?;
    let home = home(addr);
    // Taken before the first build, so that a change made while it runs,
    // or as soon as the address is printed, is seen.
    let stored = desk.watched();
    let seen = fingerprint(config_path, &stored);
    let snapshot = Arc::new(Mutex::new(Snapshot {
        version: 1,
        built: desk.build(options.date, now()),
    }));
    warn_if_reachable(addr); // before the address, which a script may wait for
    println!("preview on {home} (Ctrl-C to stop)");
    if options.open {
        let _ = std::process::Command::new("xdg-open").arg(&home).spawn();
    }
    let (worker, queue) = worker::channel();
    let pages = Arc::new(Pages {
        snapshot: snapshot.clone(),
        csrf: Csrf::new(addr.port())?,
        by: options.by.clone(),
        worker,
    });
    let mut builder = Builder {
        config_path: config_path.to_path_buf(),
        date: options.date,
        desk,
        snapshot,
        seen,
        stored,
    };
    std::thread::scope(|scope| {
        scope.spawn(move || worker::work(&mut builder, &queue, WATCH, now));
        // Loopback only, and no proxy in front: the client is who connected.
        // Returns once every connection is closed; the pages, and with them
        // the builder's worker, are dropped with them: its thread ends.
        server.run(pages, Hosts::Loopback, options.limits, TrustedProxies::default())
    })?;
    Ok(())
}

/// How often the builder looks at the watched files; one change of the
/// review page at a time, each seen rebuilt before the next.
const WATCH: Rhythm = Rhythm {
    every: Duration::from_millis(400),
    batch: 1,
};

/// The preview shows personal data: listening beyond this machine is worth a warning.
fn warn_if_reachable(addr: SocketAddr) {
    if !addr.ip().is_loopback() {
        eprintln!(
            "warning: the preview listens on {addr}, reachable from other machines, and shows subscribers' \
             addresses and valid unsubscribe links; it answers only requests addressed to 127.0.0.1:{0}, \
             [::1]:{0} or localhost:{0}",
            addr.port()
        );
    }
}

/// The index's address: a loopback name the preview answers to.
fn home(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("http://localhost:{}/", addr.port())
    } else {
        format!("http://{addr}/")
    }
}

/// The HTTP side: answers GETs from the latest snapshot, on a blocking
/// thread (personalising a page is CPU work the connections should not
/// wait on); hands the review page's POSTs to the [`Builder`].
struct Pages {
    snapshot: Arc<Mutex<Snapshot>>,
    /// The sessions, and the token each one's forms carry.
    csrf: Csrf,
    /// Who corrects and approves, as the review page says.
    by: String,
    /// To the builder: one POST at a time, each answered once it is applied.
    worker: Worker<Builder>,
}

impl Handler for Pages {
    async fn handle(&self, request: Request) -> Reply {
        match Asked::of(&request.method) {
            Asked::Act => return self.post(&request).await,
            Asked::NotAllowed => return Reply::text(405, "method not allowed".into()),
            Asked::Show => {}
        }
        let snapshot = self.snapshot.clone();
        let Ok(session) = self.csrf.session(&request.headers, std::time::Instant::now()) else {
            return Reply::text(500, "no random bytes for a session; try again".into());
        };
        let editor = Editor {
            token: session.token,
            by: self.by.clone(),
        };
        let reply = tokio::task::spawn_blocking(move || match snapshot.lock() {
            Ok(snapshot) => answer(&request.target, &snapshot, &editor),
            Err(_) => Reply::text(500, "the preview's state is lost; restart it".into()),
        })
        .await
        .unwrap_or_else(|_| Reply::text(500, "the page could not be built".into()));
        Reply {
            set_cookie: session.set_cookie,
            ..reply
        }
    }
}

impl Pages {
    /// A POST of the review page: checked, then applied on the builder's
    /// thread, one at a time, and answered once it is.
    async fn post(&self, request: &Request) -> Reply {
        let Posting { change, back } = match review::posting(request, &self.csrf) {
            Ok(posting) => posting,
            Err(refused) => return refused,
        };
        let applied = self.worker.run(move |builder, now| builder.apply(&change, now));
        review::applied(applied.await, &back)
    }
}

/// The one thread that rebuilds the snapshot: when a watched file changes,
/// and after each correction or approval it applies.
pub(crate) struct Builder {
    config_path: PathBuf,
    date: NaiveDate,
    desk: Box<dyn Desk>,
    snapshot: Arc<Mutex<Snapshot>>,
    /// The watched files as last built.
    seen: Vec<(PathBuf, Option<SystemTime>, u64)>,
    /// The desk's own watched files, as the config last named them.
    stored: Vec<PathBuf>,
}

impl Builder {
    /// Applies one change of the review page, and rebuilds after it.
    fn apply(&mut self, change: &Change, now: DateTime<Utc>) -> anyhow::Result<()> {
        self.desk.apply(change, now)?;
        self.rebuild("applied a change from the review page", now);
        Ok(())
    }

    /// A new snapshot, under a new version: open pages reload themselves.
    fn rebuild(&self, what: &str, now: DateTime<Utc>) {
        let built = self.desk.build(self.date, now);
        let Ok(mut snapshot) = self.snapshot.lock() else {
            return;
        };
        snapshot.version += 1;
        snapshot.built = built;
        eprintln!("preview: {what} (version {})", snapshot.version);
    }
}

impl Owner for Builder {
    /// Rebuilds when a watched file changed from what was last seen.
    fn settled(&mut self, now: DateTime<Utc>) {
        let current = fingerprint(&self.config_path, &self.stored);
        if current != self.seen {
            // The config may name another store: asked again before the next look.
            self.stored = self.desk.watched();
            self.seen = current;
            self.rebuild("rebuilt", now);
        }
    }
}

/// Modification times and sizes of `config.toml`, everything under
/// `feeds/` and `templates/` beside it, and the `also` files (the store).
fn fingerprint(config_path: &Path, also: &[PathBuf]) -> Vec<(PathBuf, Option<SystemTime>, u64)> {
    let root = config_path.parent().unwrap_or(Path::new(""));
    let mut files = vec![config_path.to_path_buf()];
    files.extend_from_slice(also);
    let mut visited = HashSet::new();
    for folder in ["feeds", "templates"] {
        collect(&root.join(folder), &mut files, &mut visited);
    }
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let meta = std::fs::metadata(&path).ok();
            let modified = meta.as_ref().and_then(|m| m.modified().ok());
            (path, modified, meta.map_or(0, |m| m.len()))
        })
        .collect()
}

/// The files under `folder`, following symbolic links, each folder walked
/// once: `visited` holds the canonical path of every folder walked, so a
/// link back up (`feeds/a -> .`) ends the walk there instead of walking an
/// endless tree (two such links took a core and 18 MB/s).
fn collect(folder: &Path, files: &mut Vec<PathBuf>, visited: &mut HashSet<PathBuf>) {
    let Ok(canonical) = std::fs::canonicalize(folder) else {
        return;
    };
    if !visited.insert(canonical) {
        return;
    }
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files, visited);
        } else {
            files.push(path);
        }
    }
}

/// The page for one request; `editor` fills the review page's forms.
fn answer(url: &str, snapshot: &Snapshot, editor: &Editor) -> Reply {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    match path {
        "/__version" => return Reply::text(200, snapshot.version.to_string()),
        // Browsers ask for it on their own; a 404 shows as a console error.
        "/favicon.ico" => return Reply::text(204, String::new()),
        "/__reload.js" => {
            return Reply {
                content_type: "text/javascript; charset=utf-8",
                ..Reply::text(200, PREVIEW_JS.to_string())
            };
        }
        _ => {}
    }
    let built = match &snapshot.built {
        Ok(built) => built,
        Err(error) => {
            let message = format!("{error:#}");
            let content = Content::Error { message: &message };
            let page = PreviewPage {
                title: "Preview: error",
                content: &content,
                version: snapshot.version,
            };
            return rendered(500, &page);
        }
    };
    let reader = field(query.as_bytes(), "as");
    if path == "/" {
        let content = Content::Index {
            key_note: built.key_note.as_deref(),
            pages: &built.pages,
            subscribers: &built.subscribers,
        };
        let page = PreviewPage {
            title: "Preview: next editions",
            content: &content,
            version: snapshot.version,
        };
        return rendered(200, &page);
    }
    if let Some(id) = path.strip_prefix("/review/") {
        return match built.pages.iter().find(|p| p.id == id) {
            Some(page) => review::review(page, built, reader.as_deref(), editor, snapshot.version),
            None => Reply::text(404, "no such newsletter".into()),
        };
    }
    if let Some(id) = path.strip_prefix("/mail/") {
        return match built.pages.iter().find(|p| p.id == id) {
            Some(page) => review::as_mailed(page, built, reader.as_deref()),
            None => Reply::text(404, "no such newsletter".into()),
        };
    }
    let Some((id, extension)) = path.strip_prefix("/n/").and_then(|p| p.rsplit_once('.')) else {
        return Reply::text(404, "not found".into());
    };
    let Some(page) = built.pages.iter().find(|p| p.id == id) else {
        return Reply::text(404, "no such newsletter".into());
    };
    let subscriber = reader
        .as_deref()
        .and_then(|email| built.subscribers.iter().find(|s| s.email == email));
    let personal = match (subscriber, &page.mail) {
        (Some(s), Some(mail)) => Some(mail.personalise(&built.key, &s.email, &s.name)),
        _ => None,
    };
    match extension {
        "txt" => Reply::text(200, personal.map_or_else(|| page.web.text.clone(), |p| p.text)),
        "html" => {
            let html = personal.map_or_else(|| page.web.html.clone(), |p| p.html);
            let notice = reader.and_then(|email| audience_notice(page, subscriber, &email));
            let edition = PreviewEdition {
                title: &page.title,
                number: page.number,
                html: &html,
                notice: notice.as_deref(),
                version: snapshot.version,
            };
            rendered(200, &edition)
        }
        _ => Reply::text(404, "not found".into()),
    }
}

/// Why this reader would not get this newsletter, if they would not.
fn audience_notice(page: &Page, subscriber: Option<&SubscriberRecord>, email: &str) -> Option<String> {
    let Some(subscriber) = subscriber else {
        return Some(format!(
            "{email} is not a subscriber: shown without personalisation."
        ));
    };
    if !subscriber.newsletters.contains(&page.id) {
        return Some(format!(
            "{email} is not subscribed to {}: they would not receive it.",
            page.title
        ));
    }
    admits(page.audience, subscriber.organisation_type, &subscriber.country)
        .err()
        .map(|skip| {
            format!(
                "{email} is not in this newsletter's audience ({}): they would not receive it.",
                skip.as_str()
            )
        })
}

/// `templates/preview_edition.html`: an edition as the preview shows it.
/// The edition's HTML is framed whole (`<iframe srcdoc>`), the bytes the
/// send mails (or the web shows), never edited: the preview's notice sits
/// above the frame and its script after it, in a page of the preview's own.
#[derive(Template)]
#[template(path = "preview_edition.html")]
struct PreviewEdition<'a> {
    title: &'a str,
    number: u32,
    html: &'a str,
    /// Why the reader shown would not receive it, when they would not.
    notice: Option<&'a str>,
    version: u64,
}

/// Loads the preview's script ([`PREVIEW_JS`]). It is a file of its own,
/// not inline, so the pages' Content-Security-Policy can allow scripts
/// from the preview itself and nothing else.
#[derive(Template)]
#[template(path = "preview_reload.html")]
struct PreviewReload {
    version: u64,
}

/// Polls `/__version` and reloads the page when it is not the version the
/// page was built from (its `?v=`). On an edition's page, fits the frame to
/// the edition's height (the page scrolls, not the frame) whenever it loads
/// or the window changes width, and opens the edition's links in the whole
/// tab (`<base target="_top">` in the frame's document, not in its bytes):
/// in the frame, the policy's `frame-src 'self'` would refuse them.
const PREVIEW_JS: &str = r#"(function () {
  var v = new URL(document.currentScript.src).searchParams.get("v");
  setInterval(function () {
    fetch("/__version").then(function (r) { return r.text(); })
      .then(function (t) { if (t !== v) { location.reload(); } }).catch(function () {});
  }, 1000);
  var frame = document.getElementById("edition");
  if (!frame) { return; }
  function fit() {
    var edition = frame.contentDocument;
    if (!edition || !edition.head) { return; }
    if (!edition.querySelector("base[target]")) {
      var base = edition.createElement("base");
      base.target = "_top";
      edition.head.appendChild(base);
    }
    frame.style.height = "0";
    frame.style.height = edition.documentElement.scrollHeight + "px";
  }
  frame.addEventListener("load", fit);
  window.addEventListener("resize", fit);
  fit();
})();
"#;

/// What a preview page of its own shows.
enum Content<'a> {
    /// Every newsletter's next edition, with links and the "preview as" switch.
    Index {
        key_note: Option<&'a str>,
        pages: &'a [Page],
        subscribers: &'a [SubscriberRecord],
    },
    /// Why the preview could not be built.
    Error { message: &'a str },
}

/// `templates/preview.html`: the index or the error, with the reload script.
#[derive(Template)]
#[template(path = "preview.html")]
struct PreviewPage<'a> {
    title: &'a str,
    content: &'a Content<'a>,
    version: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_page_escapes_the_error_and_reloads_itself() {
        let content = Content::Error {
            message: "config.toml:3:1: <script>alert(1)</script>",
        };
        let html = PreviewPage {
            title: "Preview: error",
            content: &content,
            version: 7,
        }
        .render()
        .unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
        assert!(html.contains("<pre>config.toml:3:1: &#60;script&#62;"), "{html}");
        assert!(
            html.ends_with("<script src=\"/__reload.js?v=7\"></script></body></html>"),
            "{html}"
        );
    }

    #[test]
    fn an_editions_page_frames_its_bytes_untouched_below_the_notice() {
        let mail = "<!DOCTYPE html>\r\n<html lang=\"en\"><body style=\"margin:0\"><p title='x'>A &amp; B</p>\r\n\
                    </iframe><script>alert(1)</script></body></html>";
        let html = PreviewEdition {
            title: "EU-Japan NEWS",
            number: 3,
            html: mail,
            notice: Some("a&b <i>"),
            version: 4,
        }
        .render()
        .unwrap();
        let notice = html.find("id=\"preview-notice\"").expect("the notice");
        let frame = html.find("<iframe id=\"edition\"").expect("the frame");
        assert!(notice < frame, "the notice above the edition: {html}");
        assert!(html.contains(">a&#38;b &#60;i&#62;</div>"), "{html}");
        let srcdoc = html[frame..]
            .split_once("srcdoc=\"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .expect("a srcdoc attribute")
            .0;
        assert!(!srcdoc.contains(['<', '>', '\'']), "nothing unescaped: {srcdoc}");
        let unescaped = srcdoc
            .replace("&#60;", "<")
            .replace("&#62;", ">")
            .replace("&#34;", "\"")
            .replace("&#39;", "'")
            .replace("&#38;", "&");
        assert_eq!(unescaped, mail, "the bytes as mailed");
        assert!(
            html.ends_with("<script src=\"/__reload.js?v=4\"></script></body></html>"),
            "{html}"
        );
        let quiet = PreviewEdition {
            notice: None,
            title: "EU-Japan NEWS",
            number: 3,
            html: mail,
            version: 4,
        }
        .render()
        .unwrap();
        assert!(!quiet.contains("preview-notice"), "{quiet}");
    }

    #[cfg(unix)]
    #[test]
    fn the_watched_files_are_listed_once_through_symlink_loops() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        for file in [
            "config.toml",
            "feeds/a.xml",
            "feeds/local/e.md",
            "templates/t.html",
        ] {
            std::fs::create_dir_all(root.join(file).parent().unwrap()).unwrap();
            std::fs::write(root.join(file), file).unwrap();
        }
        std::os::unix::fs::symlink(".", root.join("feeds/a")).unwrap();
        std::os::unix::fs::symlink(".", root.join("feeds/b")).unwrap();
        std::os::unix::fs::symlink("..", root.join("feeds/local/up")).unwrap();
        std::os::unix::fs::symlink("../../templates", root.join("feeds/local/templates")).unwrap();
        let (done, walked) = std::sync::mpsc::channel();
        let config = root.join("config.toml");
        std::thread::spawn(move || done.send(fingerprint(&config, &[])));
        let files = walked
            .recv_timeout(Duration::from_secs(20))
            .expect("the walk ends");
        let mut names: Vec<String> = files
            .iter()
            .map(|(path, _, _)| {
                std::fs::canonicalize(path)
                    .unwrap()
                    .strip_prefix(std::fs::canonicalize(&root).unwrap())
                    .unwrap()
                    .display()
                    .to_string()
            })
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "config.toml",
                "feeds/a.xml",
                "feeds/local/e.md",
                "templates/t.html"
            ]
        );
    }
}
