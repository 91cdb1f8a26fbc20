// Runs axe-core (WCAG 2.0 A and AA, 2.1 AA) in headless Chromium on each
// page given, once in the light and once in the dark colour scheme
// (`prefers-color-scheme` emulated), and checks what axe does not: that
// Japanese text is marked `lang="ja"` and nothing else is, and that every
// table is a layout table (`role="presentation"`): bulletin has no data tables.
// Frames are left out: the preview frames an edition's bytes as mailed, which
// are checked at their own address (the preview's `/mail/ID`).
//
// Usage: node axe.mjs PAGES.json
// PAGES.json: [{ "name": "...", "url": "...", "click": "CSS selector"? }]; with
// `click`, the page is the one that clicking it leads to (a form's answer).
// Prints one JSON object: { results: [{ name, scheme, counts, serious }], problems: [...] }
// where counts are the violations by impact and serious lists the serious
// and critical ones.
import { launch } from './chromium.mjs';
import { readFileSync } from 'node:fs';
import { violations as axeViolations } from './axe-run.mjs';

const pages = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const browser = await launch();

// In the page: every text node that reads as Japanese (at least half of its
// letters kana or kanji, the rule bulletin marks by) must be under lang="ja",
// and every text node that reads as another language must not be.
function problems() {
  const japanese = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]/gu;
  const letters = /\p{L}/gu;
  const wrong = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    const all = (text.match(letters) || []).length;
    const parent = node.parentElement;
    if (all < 2 || !parent || !parent.checkVisibility() || parent.closest('[aria-hidden="true"]')) continue;
    const isJapanese = 2 * (text.match(japanese) || []).length >= all;
    const lang = (parent.closest('[lang]') || document.documentElement).getAttribute('lang') || '';
    if (isJapanese !== lang.startsWith('ja')) wrong.push(`lang="${lang}" on ${JSON.stringify(text.slice(0, 60))}`);
  }
  const tables = document.querySelectorAll('table:not([role="presentation"])').length;
  if (tables) wrong.push(`${tables} tables without role="presentation"`);
  return wrong;
}

const results = [];
const found = [];
for (const { name, url, click } of pages) {
  for (const scheme of ['light', 'dark']) {
    // bypassCSP: the pages allow only their own scripts, and axe is injected.
    const context = await browser.newContext({ colorScheme: scheme, bypassCSP: true, viewport: { width: 600, height: 900 } });
    const page = await context.newPage();
    await page.goto(url, { waitUntil: 'load' });
    if (click) {
      await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click(click)]);
    }
    const violations = await axeViolations(page);
    const counts = { minor: 0, moderate: 0, serious: 0, critical: 0 };
    for (const v of violations) counts[v.impact] += 1;
    const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    results.push({ name, scheme, counts, serious });
    if (scheme === 'light') found.push(...(await page.evaluate(problems)).map((w) => `${name}: ${w}`));
    await context.close();
  }
}
await browser.close();
console.log(JSON.stringify({ results, problems: found }));
