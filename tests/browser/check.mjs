// Drives headless Chromium against a running `bulletin preview` and checks
// what a reader would: every newsletter's page loads with no console error
// and no request leaving 127.0.0.1; the edition is framed whole, fitted to
// its height, and neither it nor the page scrolls sideways at 375 px; every
// link in it is absolute; the subscriber switch changes the greeting; the
// notice above the edition says when the reader shown would not receive it;
// a link in the edition opens in the whole tab; and an open page reloads itself once the preview is rebuilt. Saves a
// screenshot of each edition at 600 px and 375 px.
//
// Usage: node check.mjs HOME_URL SCREENSHOT_DIR SUBSCRIBER_EMAIL GREETING OUTSIDER_EMAIL ONLY_NEWSLETTER CONFIG
// SUBSCRIBER_EMAIL receives every newsletter; OUTSIDER_EMAIL none: subscribed only to
// ONLY_NEWSLETTER, and outside its audience.
// CONFIG is the preview's config.toml: touched at the end, to make the preview rebuild.
// Prints one JSON object: { pages, screenshots, problems: [...] }.
import { launch } from './chromium.mjs';
import { mkdirSync, utimesSync } from 'node:fs';

const [home, shots, email, greeting, outsider, only, config] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
const browser = await launch();
const problems = [];
let pages = 0;
const screenshots = [];

function watch(page, url, width) {
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`${url} at ${width}px: console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`${url}: page error: ${error.message}`));
  page.on('request', (request) => {
    const host = new URL(request.url()).hostname;
    if (host !== '127.0.0.1') problems.push(`${url}: a request left 127.0.0.1: ${request.url()}`);
  });
}

/// Opens `url` at `width`, then runs `check` with the page and its framed edition.
async function visit(url, width, check) {
  const context = await browser.newContext({ viewport: { width, height: 900 } });
  const page = await context.newPage();
  watch(page, url, width);
  const response = await page.goto(url, { waitUntil: 'load' });
  if (!response || response.status() !== 200) problems.push(`${url}: status ${response && response.status()}`);
  pages += 1;
  const frame = await framed(page);
  if (frame) {
    await check(page, frame);
  } else {
    problems.push(`${url}: no framed edition`);
  }
  await context.close();
}

/// The frame the edition is shown in, or undefined.
async function framed(page) {
  return (await page.$('iframe#edition'))?.contentFrame();
}

/// The notice above the edition, or null.
async function notice(page) {
  const shown = await page.$('#preview-notice');
  return shown && shown.textContent();
}

const index = await browser.newPage();
await index.goto(home);
const editions = await index.$$eval('a', (links) => links.map((a) => a.href).filter((h) => h.endsWith('.html')));
await index.close();
if (editions.length === 0) problems.push('the index links no edition');

for (const url of editions) {
  const id = new URL(url).pathname.split('/').pop().replace('.html', '');
  for (const width of [600, 375]) {
    await visit(url, width, async (page, frame) => {
      for (const [what, document] of [['the page', page], ['the edition', frame]]) {
        const { scroll, inner } = await document.evaluate(() => ({
          scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
        }));
        if (scroll > inner) problems.push(`${id} at ${width}px: ${what} scrolls sideways: ${scroll} > ${inner}`);
      }
      const { framed, whole } = await frame.evaluate(() => ({
        framed: window.innerHeight, whole: document.documentElement.scrollHeight,
      }));
      if (framed < whole || framed < 300) problems.push(`${id} at ${width}px: the frame is ${framed} px high, the edition ${whole} px`);
      const relative = await frame.$$eval('a', (links) => links
        .map((a) => a.getAttribute('href')).filter((h) => !/^(https?:|mailto:)/.test(h || '')));
      if (relative.length) problems.push(`${id}: links not absolute: ${relative.join(', ')}`);
      const noAlt = await frame.$$eval('img', (images) => images.filter((i) => !i.hasAttribute('alt')).length);
      if (noAlt) problems.push(`${id}: ${noAlt} images without alt text`);
      const file = `${shots}/${id}-${width}.png`;
      await page.screenshot({ path: file, fullPage: true });
      screenshots.push(file);
    });
  }
  await visit(url, 600, async (page, frame) => {
    if ((await frame.textContent('body')).includes('Dear ')) problems.push(`${id}: a greeting without a subscriber`);
    if (await notice(page)) problems.push(`${id}: a notice without a subscriber: ${await notice(page)}`);
  });
  await visit(`${url}?as=${encodeURIComponent(email)}`, 600, async (page, frame) => {
    if (!(await frame.textContent('body')).includes(greeting)) problems.push(`${id} as ${email}: no "${greeting}"`);
    if (await notice(page)) problems.push(`${id} as ${email}, who receives it: a notice: ${await notice(page)}`);
  });
  await visit(`${url}?as=${encodeURIComponent(outsider)}`, 600, async (page) => {
    const said = await notice(page);
    const why = id === only ? "is not in this newsletter's audience" : 'is not subscribed to';
    if (!(said || '').includes(`${outsider} ${why}`)) {
      problems.push(`${id} as ${outsider}: the notice says ${JSON.stringify(said)}, not "${why}"`);
    }
  });
}

// A link in the edition opens in the whole tab, not in the frame (whose policy would refuse
// it); the address it leads to is answered here, so that nothing leaves the machine.
{
  const context = await browser.newContext({ viewport: { width: 600, height: 900 } });
  const page = await context.newPage();
  await page.route((u) => u.hostname !== '127.0.0.1', (route) => route.fulfill({
    contentType: 'text/html', body: '<!DOCTYPE html><title>elsewhere</title>',
  }));
  await page.goto(editions[0], { waitUntil: 'load' });
  const frame = await framed(page);
  const link = frame.locator('a[href^="http"]').first();
  const href = await link.getAttribute('href');
  try {
    await Promise.all([page.waitForURL(href, { timeout: 10000 }), link.click()]);
  } catch {
    problems.push(`${editions[0]}: its link to ${href} did not open in the tab (it is at ${page.url()})`);
  }
  await context.close();
}

// An open edition reloads itself when the preview is rebuilt (here: its config touched).
const context = await browser.newContext({ viewport: { width: 600, height: 900 } });
const open = await context.newPage();
const url = `${editions[0]}?as=${encodeURIComponent(outsider)}`;
watch(open, url, 600);
await open.goto(url, { waitUntil: 'load' });
const now = new Date();
utimesSync(config, now, now);
try {
  await open.waitForEvent('load', { timeout: 15000 });
  if (!(await notice(open))) problems.push(`${url}: no notice after the reload`);
  const frame = await framed(open);
  if (!frame || !(await frame.textContent('body')).includes('Dear ')) problems.push(`${url}: no edition after the reload`);
} catch {
  problems.push(`${url}: not reloaded within 15 s of a rebuild`);
}
await context.close();
await browser.close();
console.log(JSON.stringify({ pages, screenshots, problems }));
