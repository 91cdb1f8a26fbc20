// The checks every page of the editor's desk gets in Chromium (desk.mjs,
// desk_review.mjs): screenshots at 375 and 1280 px, no sideways scrolling,
// and axe-core (WCAG 2.0/2.1 A and AA) in the light and the dark colour
// scheme, its serious and critical violations counted as problems.
import { mkdirSync } from 'node:fs';
import { violations } from './axe-run.mjs';
import { launch, watch } from './chromium.mjs';

// Chromium launched, with what a run notes (`problems`, `screenshots`)
// and its `check(page, name)`, which screenshots into `shots`.
export async function deskBrowser(shots) {
  const browser = await launch();
  const problems = [];
  const screenshots = [];
  return { browser, problems, screenshots, check: await deskChecker(browser, shots, problems, screenshots) };
}

// A fresh browser (its own cookies) with JavaScript on or off, at 375 px,
// watched for errors into `problems`, opened at `url`.
export async function deskPage(browser, javaScriptEnabled, problems, url) {
  const context = await browser.newContext({ viewport: { width: 375, height: 812 }, javaScriptEnabled });
  const page = await context.newPage();
  watch(page, problems);
  await page.goto(url, { waitUntil: 'load' });
  return { context, page };
}

// Clicks a form's `button` and waits for the page it leads to.
export async function submit(page, button) {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), button.click()]);
}

async function deskChecker(browser, shots, problems, screenshots) {
  mkdirSync(shots, { recursive: true });
  // axe needs scripts: each page's HTML is checked in a page of its own that runs them.
  const checker = await (await browser.newContext({ viewport: { width: 375, height: 812 } })).newPage();
  return async function check(page, name) {
    for (const width of [375, 1280]) {
      await page.setViewportSize({ width, height: 812 });
      const file = `${shots}/${name}-${width}.png`;
      await page.screenshot({ path: file, fullPage: true });
      screenshots.push(file);
      const wide = await page.evaluate(() => document.documentElement.scrollWidth);
      if (wide > width) problems.push(`${name}: ${wide} px wide at ${width} px`);
    }
    await page.setViewportSize({ width: 375, height: 812 });
    await checker.setContent(await page.content(), { waitUntil: 'load' });
    for (const colorScheme of ['light', 'dark']) {
      await checker.emulateMedia({ colorScheme });
      for (const v of await violations(checker)) {
        if (v.impact === 'serious' || v.impact === 'critical') {
          problems.push(`${name} (${colorScheme}): axe: ${v.id}: ${v.nodes.join('; ')}`);
        }
      }
    }
  };
}
