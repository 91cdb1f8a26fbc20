// Drives headless Chromium, with JavaScript off (the page is plain HTML
// forms), through the preview's review page as an editor would: opens a
// newsletter's draft, drops an item by clicking its "Drop" button,
// approves by clicking "Approve". Checks that the edition as mailed is
// framed beside the buttons and loses the item, and that nothing leaves
// 127.0.0.1. Saves screenshots of the page before and after the drop.
//
// Usage: node review.mjs HOME_URL SCREENSHOT_DIR NEWSLETTER ITEM_TITLE GREETING
// Prints one JSON object: { screenshots, state, problems: [...] }.
import { launch, watch } from './chromium.mjs';
import { mkdirSync } from 'node:fs';

const [home, shots, newsletter, title, greeting] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
const browser = await launch();
const problems = [];
const screenshots = [];
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, javaScriptEnabled: false });
const page = await context.newPage();
watch(page, problems);
const review = new URL(`review/${newsletter}`, home).href;

/// Clicks `button` and waits for the page the form's 303 leads back to.
async function submit(button, what) {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().startsWith(review) && r.request().method() === 'GET'),
    button.click(),
  ]);
  if (response.status() !== 200) problems.push(`${what}: the page came back with ${response.status()}`);
  await page.waitForLoadState('load');
}

/// The text of the framed edition, as mailed.
async function mailed() {
  return page.frameLocator('iframe').locator('body').textContent();
}

async function shoot(name) {
  const file = `${shots}/${name}.png`;
  await page.screenshot({ path: file, fullPage: true });
  screenshots.push(file);
}

const opened = await page.goto(review, { waitUntil: 'load' });
if (!opened || opened.status() !== 200) problems.push(`${review}: status ${opened && opened.status()}`);
const before = await mailed();
if (!before.includes(title)) problems.push(`the framed edition lacks "${title}" before the drop`);
if (!before.includes(greeting)) problems.push(`the framed edition lacks "${greeting}"`);
const line = page.locator('li', { has: page.getByText(title, { exact: true }) });
if ((await line.count()) !== 1) problems.push(`"${title}" is listed ${await line.count()} times`);
await shoot('review-before-drop');

await submit(line.getByRole('button', { name: 'Drop' }), 'drop');
if ((await line.count()) !== 0) problems.push(`"${title}" is still listed after the drop`);
if ((await mailed()).includes(title)) problems.push(`the framed edition still has "${title}" after the drop`);
const corrections = await page.getByRole('heading', { name: 'Corrections' }).count();
if (corrections !== 1) problems.push('no list of corrections after the drop');
await shoot('review-after-drop');

await submit(page.getByRole('button', { name: /^Approve No\. / }), 'approve');
const state = await page.locator('#state').textContent();
if ((await page.getByRole('button', { name: 'Drop' }).count()) !== 0) problems.push('buttons left on the approved edition');
await shoot('review-approved');

await browser.close();
console.log(JSON.stringify({ screenshots, state, problems }));
