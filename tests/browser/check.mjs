// Drives headless Chromium against a running `bulletin preview` and checks
// what a reader would: every newsletter's page loads with no console error
// and no request leaving 127.0.0.1, no horizontal scroll at 375 px, every
// link absolute, and the subscriber switch changes the greeting. Saves a
// screenshot of each edition at 600 px and 375 px.
//
// Usage: node check.mjs HOME_URL SCREENSHOT_DIR SUBSCRIBER_EMAIL GREETING
// Prints one JSON object: { pages, screenshots, problems: [...] }.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

const [home, shots, email, greeting] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-quic'],
});
const problems = [];
let pages = 0;
const screenshots = [];

async function visit(url, width, check) {
  const context = await browser.newContext({ viewport: { width, height: 900 } });
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`${url} at ${width}px: console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`${url}: page error: ${error.message}`));
  page.on('request', (request) => {
    const host = new URL(request.url()).hostname;
    if (host !== '127.0.0.1') problems.push(`${url}: a request left 127.0.0.1: ${request.url()}`);
  });
  const response = await page.goto(url, { waitUntil: 'load' });
  if (!response || response.status() !== 200) problems.push(`${url}: status ${response && response.status()}`);
  pages += 1;
  await check(page);
  await context.close();
}

const index = await browser.newPage();
await index.goto(home);
const editions = await index.$$eval('a', (links) => links.map((a) => a.href).filter((h) => h.endsWith('.html')));
await index.close();
if (editions.length === 0) problems.push('the index links no edition');

for (const url of editions) {
  const id = new URL(url).pathname.split('/').pop().replace('.html', '');
  for (const width of [600, 375]) {
    await visit(url, width, async (page) => {
      const { scroll, inner } = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
      }));
      if (scroll > inner) problems.push(`${id} at ${width}px scrolls sideways: ${scroll} > ${inner}`);
      const relative = await page.$$eval('a', (links) => links
        .map((a) => a.getAttribute('href')).filter((h) => !/^(https?:|mailto:)/.test(h || '')));
      if (relative.length) problems.push(`${id}: links not absolute: ${relative.join(', ')}`);
      const noAlt = await page.$$eval('img', (images) => images.filter((i) => !i.hasAttribute('alt')).length);
      if (noAlt) problems.push(`${id}: ${noAlt} images without alt text`);
      const file = `${shots}/${id}-${width}.png`;
      await page.screenshot({ path: file, fullPage: true });
      screenshots.push(file);
    });
  }
  await visit(url, 600, async (page) => {
    const text = await page.textContent('body');
    if (text.includes('Dear ')) problems.push(`${id}: a greeting without a subscriber`);
  });
  await visit(`${url}?as=${encodeURIComponent(email)}`, 600, async (page) => {
    const text = await page.textContent('body');
    if (!text.includes(greeting)) problems.push(`${id} as ${email}: no "${greeting}"`);
  });
}
await browser.close();
console.log(JSON.stringify({ pages, screenshots, problems }));
