// Drives headless Chromium through the editor's desk, the issue's
// scenario, with JavaScript off and on (plain forms; the item's
// corrections fold in `<details>`). Phase `review`: log in, open the draft
// from the dashboard's "Review" link, drop an item, add a stored one,
// retitle one, set the introduction (Show, then Save), send a test copy to
// oneself, schedule the send on the review page (its answer is the review
// page again, saying so), approve; with JavaScript off, then unapprove, so
// the second round has a draft again; with JavaScript on, the dashboard
// then shows the schedule. The edition is framed as mailed. Phase
// `report` (after the test's `bulletin run` past the time): log in and
// read the edition's delivery report. Each page is checked with axe-core
// (WCAG 2.0/2.1 A and AA, light and dark), for no sideways scrolling at
// 375 px, and screenshotted at 375 and 1280 px.
//
// Usage: node desk_review.mjs DESK_URL EMAIL PASSWORD SCREENSHOT_DIR review WHEN SHOWN
//        node desk_review.mjs DESK_URL EMAIL PASSWORD SCREENSHOT_DIR report COUNTS
// (WHEN: the local time typed, `2026-11-24T09:00`; SHOWN: how the desk
// names it; COUNTS: what the report must say, `sent: 3`.)
// Prints one JSON object: { screenshots, problems: [...] }.
import { deskBrowser, deskPage, submit } from './desk-check.mjs';

const [desk, email, password, shots, phase, ...rest] = process.argv.slice(2);
const [when, shown] = rest;
const [counts] = rest;
const { browser, problems, screenshots, check } = await deskBrowser(shots);

// The page's result line after an action, or its alert.
async function said(page) {
  const done = page.locator('p.done');
  if (await done.count()) return (await done.textContent()).trim();
  const alert = page.locator('[role=alert]');
  return (await alert.count()) ? `refused: ${(await alert.textContent()).trim()}` : '(nothing said)';
}

async function expect(page, mode, what, starts) {
  const line = await said(page);
  if (!line.startsWith(starts)) problems.push(`${mode}: ${what}: the page says "${line}"`);
}

// The first item's corrections, opened.
async function firstItem(page) {
  const details = page.locator('ol.items details').first();
  await details.locator('summary').click();
  return details;
}

// The text of the page's main part, its spaces as one.
async function text(page) {
  return (await page.locator('main').textContent()).replace(/\s+/g, ' ');
}

async function logIn(page) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await submit(page, page.getByRole('button', { name: 'Log in' }));
}

// The send scheduled on the review page: its answer is that page again.
async function schedule(page, mode) {
  const before = new URL(page.url()).pathname;
  await page.getByLabel('Not before (local time)').fill(when);
  const zone = await page.getByLabel('Time zone').inputValue();
  if (zone !== 'Europe/Brussels') problems.push(`${mode}: the zone shown is "${zone}"`);
  await submit(page, page.getByRole('button', { name: 'Schedule', exact: true }));
  await expect(page, mode, 'schedule', 'Send scheduled');
  if (new URL(page.url()).pathname !== before) problems.push(`${mode}: Schedule led to ${page.url()}, not back to ${before}`);
  if (!(await text(page)).includes(`Scheduled: not before ${shown}`)) problems.push(`${mode}: the review page does not show the schedule`);
  await check(page, `desk-review-scheduled-${mode}`);
}

if (phase === 'report') {
  const { context, page } = await deskPage(browser, false, problems, desk);
  await logIn(page);
  await submit(page, page.getByRole('link', { name: 'Delivery report' }).first());
  const title = (await page.locator('h1').textContent()).trim();
  if (title !== 'Delivery report') problems.push(`report: the page says "${title}"`);
  if (!(await text(page)).includes(counts)) problems.push(`report: no "${counts}" in: ${await text(page)}`);
  await check(page, 'desk-report-after-schedule');
  await context.close();
}
for (const javaScriptEnabled of phase === 'review' ? [false, true] : []) {
  const mode = javaScriptEnabled ? 'js' : 'nojs';
  const { context, page } = await deskPage(browser, javaScriptEnabled, problems, desk);
  await logIn(page);
  const review = page.getByRole('link', { name: 'Review', exact: true }).first();
  if ((await review.count()) === 0) {
    problems.push(`${mode}: the dashboard links no review page`);
    await context.close();
    continue;
  }
  await submit(page, review);
  const title = (await page.locator('h1').textContent()).trim();
  if (!title.startsWith('Review: ')) problems.push(`${mode}: the review page says "${title}"`);
  const mailed = page.frames().find((f) => f.url().includes('/mail'));
  if (!mailed || !(await mailed.content()).includes('EU-Japan NEWS')) problems.push(`${mode}: the edition is not framed as mailed`);
  await check(page, `desk-review-${mode}`);

  const dropped = (await page.locator('ol.items li span[id^="t-"]').first().textContent()).trim();
  await submit(page, (await firstItem(page)).getByRole('button', { name: 'Drop', exact: true }));
  await expect(page, mode, 'drop', 'Dropped');
  if ((await page.locator('ol.items').getByText(dropped, { exact: true }).count()) !== 0) {
    problems.push(`${mode}: "${dropped}" is still listed after its drop`);
  }
  const found = page.locator('ul.found li').first();
  await found.locator('select').selectOption({ index: 1 });
  await submit(page, found.getByRole('button', { name: 'Add' }));
  await expect(page, mode, 'add', 'Added');
  const retitled = `Retitled in Chromium (${mode})`;
  const item = await firstItem(page);
  await item.getByLabel('Title').fill(retitled);
  await submit(page, item.getByRole('button', { name: 'Retitle' }));
  await expect(page, mode, 'retitle', 'Retitled');
  if ((await page.locator('ol.items').getByText(retitled).count()) === 0) problems.push(`${mode}: the new title is not listed`);

  await page.getByLabel('Introduction, in Markdown (empty: none)').fill(`Hello **from** ${mode}.`);
  await submit(page, page.getByRole('button', { name: 'Show', exact: true }).first());
  const rendered = page.locator('.intro-shown strong');
  if ((await rendered.count()) === 0 || (await rendered.textContent()) !== 'from') problems.push(`${mode}: Show renders no introduction`);
  await submit(page, page.getByRole('button', { name: 'Save', exact: true }));
  await expect(page, mode, 'intro', 'The introduction is saved');

  await submit(page, page.getByRole('button', { name: `Send a test copy to me (${email})` }));
  await expect(page, mode, 'test copy', `A test copy went to ${email}`);
  await schedule(page, mode);

  await submit(page, page.getByRole('button', { name: /^Approve No\./ }));
  await expect(page, mode, 'approve', 'Approved');
  if (!(await text(page)).includes(`the first run after ${shown} mails it`)) problems.push(`${mode}: the approved page does not say the schedule holds its send`);
  if ((await page.getByRole('button', { name: 'Drop', exact: true }).count()) !== 0) problems.push(`${mode}: an approved edition offers corrections`);
  await check(page, `desk-review-approved-${mode}`);
  if (javaScriptEnabled) {
    await submit(page, page.getByRole('link', { name: 'Newsletters', exact: true }));
    const dashboard = await text(page);
    if (!dashboard.includes(`scheduled for ${shown}`)) problems.push(`${mode}: the dashboard does not show the schedule: ${dashboard}`);
    await check(page, `desk-dashboard-scheduled-${mode}`);
  } else {
    await submit(page, page.getByRole('button', { name: /^Unapprove No\./ }));
    await expect(page, mode, 'unapprove', 'Unapproved');
  }
  await context.close();
}
await browser.close();
console.log(JSON.stringify({ screenshots, problems }));
