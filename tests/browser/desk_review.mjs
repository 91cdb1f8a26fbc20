// Drives headless Chromium through the review page of the editor's desk
// (`/desk/edition/ID/N`), with JavaScript off and on (plain forms; the
// item's corrections fold in `<details>`): log in, open the draft from the
// dashboard's "Review" link, drop an item, add a stored one, retitle one,
// set the introduction (Show, then Save), send a test copy to oneself,
// approve; with JavaScript off, then unapprove, so the second round has a
// draft again. The edition is framed as mailed. The draft's and the
// approved edition's pages are checked with axe-core (WCAG 2.0/2.1 A and
// AA, light and dark), for no sideways scrolling at 375 px, and
// screenshotted at 375 and 1280 px.
//
// Usage: node desk_review.mjs DESK_URL EMAIL PASSWORD SCREENSHOT_DIR
// Prints one JSON object: { screenshots, problems: [...] }.
import { deskBrowser, deskPage, submit } from './desk-check.mjs';

const [desk, email, password, shots] = process.argv.slice(2);
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

for (const javaScriptEnabled of [false, true]) {
  const mode = javaScriptEnabled ? 'js' : 'nojs';
  const { context, page } = await deskPage(browser, javaScriptEnabled, problems, desk);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await submit(page, page.getByRole('button', { name: 'Log in' }));
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
  const shown = page.locator('.intro-shown strong');
  if ((await shown.count()) === 0 || (await shown.textContent()) !== 'from') problems.push(`${mode}: Show renders no introduction`);
  await submit(page, page.getByRole('button', { name: 'Save', exact: true }));
  await expect(page, mode, 'intro', 'The introduction is saved');

  await submit(page, page.getByRole('button', { name: `Send a test copy to me (${email})` }));
  await expect(page, mode, 'test copy', `A test copy went to ${email}`);

  await submit(page, page.getByRole('button', { name: /^Approve No\./ }));
  await expect(page, mode, 'approve', 'Approved');
  if ((await page.getByRole('button', { name: 'Drop', exact: true }).count()) !== 0) problems.push(`${mode}: an approved edition offers corrections`);
  await check(page, `desk-review-approved-${mode}`);
  if (!javaScriptEnabled) {
    await submit(page, page.getByRole('button', { name: /^Unapprove No\./ }));
    await expect(page, mode, 'unapprove', 'Unapproved');
  }
  await context.close();
}
await browser.close();
console.log(JSON.stringify({ screenshots, problems }));
