// Drives headless Chromium at 375 px, with JavaScript off (the page is plain
// HTML forms), through the preference centre as a subscriber would, from the
// link in their mail. Checks each page with axe-core (WCAG 2.0/2.1 A and AA,
// light and dark), that nothing leaves 127.0.0.1, and saves a screenshot of
// each page.
//
// Usage: node preferences.mjs LINK SCREENSHOT_DIR STEP [DOWNLOAD_PATH | NAME CHANGE...]
// STEP `change`: unticks "Japanese Industry and Policy News" and corrects the
//   name to "Jane Q. Doe", saves; then changes the type to individual, which
//   must warn about the two EU-only newsletters before saving (going back
//   changes nothing), and confirms; downloads the JSON export to DOWNLOAD_PATH.
// STEP `erase`: "Erase me", the confirmation, then the link again.
// STEP `choose` NAME CHANGE...: each CHANGE `+TITLE` ticks the newsletter of
//   that title, `-TITLE` unticks it; the name becomes NAME; saves, and checks
//   the saved page shows the choice and the name.
// Prints one JSON object: { screenshots, problems: [...] }.
import { launch, watch } from './chromium.mjs';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const [link, shots, step, download, ...changes] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
const axe = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const browser = await launch();
const problems = [];
const screenshots = [];
const context = await browser.newContext({
  viewport: { width: 375, height: 812 }, javaScriptEnabled: false, acceptDownloads: true,
});
const page = await context.newPage();
// axe needs scripts: each page's HTML is checked in a page of its own that runs them.
const checker = await (await browser.newContext({ viewport: { width: 375, height: 812 } })).newPage();
watch(page, problems);

/// Screenshot, no sideways scrolling at 375 px, and axe in both schemes.
async function check(name) {
  const file = `${shots}/${name}.png`;
  await page.screenshot({ path: file, fullPage: true });
  screenshots.push(file);
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  if (wide > 375) problems.push(`${name}: ${wide} px wide at 375 px`);
  await checker.setContent(await page.content(), { waitUntil: 'load' });
  await checker.addScriptTag({ content: axe });
  for (const colorScheme of ['light', 'dark']) {
    await checker.emulateMedia({ colorScheme });
    const violations = await checker.evaluate(async () => {
      const run = await window.axe.run(document, {
        runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
      });
      return run.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id}: ${v.nodes.slice(0, 2).map((n) => n.target.join(' ')).join(', ')}`);
    });
    for (const v of violations) problems.push(`${name} (${colorScheme}): axe: ${v}`);
  }
}

/// Clicks `button` and waits for the page its form's answer leads to.
async function submit(button) {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), button.click()]);
}

async function heading() {
  return (await page.locator('h1').textContent()).trim();
}

const opened = await page.goto(link, { waitUntil: 'load' });
if (!opened || opened.status() !== 200) problems.push(`${link}: status ${opened && opened.status()}`);

if (step === 'change') {
  if ((await heading()) !== 'Your preferences') problems.push(`the page says "${await heading()}"`);
  await check('preferences-form');
  await page.getByLabel('Japanese Industry and Policy News').uncheck();
  await page.getByLabel('Name').fill('Jane Q. Doe');
  await submit(page.getByRole('button', { name: 'Save' }));
  if ((await page.getByRole('status').count()) !== 1) problems.push('no "saved" after Save');
  if ((await page.getByLabel('Name').inputValue()) !== 'Jane Q. Doe') problems.push('the name is not corrected');
  if (await page.getByLabel('Japanese Industry and Policy News').isChecked()) problems.push('still ticked after Save');
  await check('preferences-saved');

  await page.getByLabel('An individual').check();
  await submit(page.getByRole('button', { name: 'Save' }));
  const warning = await page.locator('main').textContent();
  if (!(await heading()).startsWith('You would stop receiving 2 newsletters')) {
    problems.push(`no warning before saving the type individual: "${await heading()}"`);
  }
  for (const title of ['"About Japan" e-News', 'Japan Tax and Public Procurement Weekly Tender Digest']) {
    if (!warning.includes(title)) problems.push(`the warning does not name ${title}`);
  }
  if ((await page.getByRole('button', { name: 'Save without them' }).count()) !== 1) {
    problems.push('no button to confirm');
  }
  await check('preferences-warning');
  await submit(page.getByRole('link', { name: 'Go back; change nothing' }));
  if (!(await page.getByLabel('A company').isChecked())) problems.push('the warning saved the type before it was confirmed');

  await page.getByLabel('An individual').check();
  await submit(page.getByRole('button', { name: 'Save' }));
  await submit(page.getByRole('button', { name: 'Save without them' }));
  if ((await page.getByRole('status').count()) !== 1) problems.push('no "saved" after confirming');
  if (!(await page.getByLabel('An individual').isChecked())) problems.push('the type is not individual after confirming');
  if (await page.getByLabel(/About Japan/).isChecked()) problems.push('"About Japan" still ticked after confirming');

  const [file] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download my data (JSON)' }).click(),
  ]);
  if (file.suggestedFilename() !== 'bulletin-my-data.json') problems.push(`downloaded as ${file.suggestedFilename()}`);
  await file.saveAs(download);
} else if (step === 'erase') {
  await submit(page.getByRole('button', { name: 'Erase me' }));
  if ((await heading()) !== 'Erase everything about you?') problems.push(`no confirmation before erasing: "${await heading()}"`);
  await check('preferences-erase-confirm');
  await submit(page.getByRole('button', { name: 'Yes, erase me' }));
  if ((await heading()) !== 'You are erased') problems.push(`after erasing: "${await heading()}"`);
  await check('preferences-erased');
  await page.goto(link, { waitUntil: 'load' });
  if ((await heading()) !== 'We hold nothing about you') problems.push(`the link after erasure: "${await heading()}"`);
  await check('preferences-nothing-held');
} else if (step === 'choose') {
  const name = download;
  if ((await heading()) !== 'Your preferences') problems.push(`the page says "${await heading()}"`);
  await check('preferences-choose');
  // A title, and after it perhaps the EU-only note.
  const box = (change) => page.getByLabel(change.slice(1));
  for (const change of changes) {
    if (change.startsWith('+')) await box(change).check();
    else await box(change).uncheck();
  }
  await page.getByLabel('Name').fill(name);
  await submit(page.getByRole('button', { name: 'Save' }));
  if ((await page.getByRole('status').count()) !== 1) problems.push('no "saved" after Save');
  if ((await page.getByLabel('Name').inputValue()) !== name) problems.push(`the name is not ${name}`);
  for (const change of changes) {
    if ((await box(change).isChecked()) !== change.startsWith('+')) problems.push(`not saved: ${change}`);
  }
  await check('preferences-chosen');
} else {
  problems.push(`unknown step ${step}`);
}

await browser.close();
console.log(JSON.stringify({ screenshots, problems }));
