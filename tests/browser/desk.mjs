// Drives headless Chromium through the editor's desk of `bulletin serve`,
// with JavaScript off and on (plain forms): /desk without a session leads to
// the login page; logging in opens the dashboard naming the newsletters;
// the dashboard's first "Delivery report" link opens an edition's report
// with its counts; logging out ends the session (the desk asks for a login again). Each page
// is checked with axe-core (WCAG 2.0/2.1 A and AA, light and dark), for no
// sideways scrolling at 375 px, and screenshotted at 375 and 1280 px.
// With `--admin`, an admin then logs in, searches the subscribers for
// SEARCH, unsubscribes the first found from a newsletter (a confirmation
// follows) and reads the log, which names it with who; each page checked
// the same way.
//
// Usage: node desk.mjs DESK_URL EMAIL PASSWORD SCREENSHOT_DIR TITLE... [--admin EMAIL PASSWORD SEARCH]
// Prints one JSON object: { screenshots, problems: [...] }.
import { deskBrowser, deskPage, submit } from './desk-check.mjs';

const [desk, email, password, shots, ...rest] = process.argv.slice(2);
const adminAt = rest.indexOf('--admin');
const titles = adminAt < 0 ? rest : rest.slice(0, adminAt);
const admin = adminAt < 0 ? null : rest.slice(adminAt + 1);
const { browser, problems, screenshots, check } = await deskBrowser(shots);

async function heading(page) {
  return (await page.locator('h1').textContent()).trim();
}

for (const javaScriptEnabled of [false, true]) {
  const mode = javaScriptEnabled ? 'js' : 'nojs';
  const { context, page } = await deskPage(browser, javaScriptEnabled, problems, desk);
  if (!page.url().endsWith('/desk/login')) problems.push(`${mode}: /desk without a session shows ${page.url()}`);
  if ((await heading(page)) !== "Editor's desk") problems.push(`${mode}: the login page says "${await heading(page)}"`);
  await check(page, `desk-login-${mode}`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await submit(page, page.getByRole('button', { name: 'Log in' }));
  if ((await heading(page)) !== 'Newsletters') problems.push(`${mode}: after logging in the page says "${await heading(page)}"`);
  for (const title of titles) {
    if ((await page.getByRole('heading', { name: title, exact: true }).count()) !== 1) {
      problems.push(`${mode}: the dashboard does not name ${title}`);
    }
  }
  const cookie = (await context.cookies()).find((c) => c.name === 'bulletin_desk');
  if (!cookie || !cookie.httpOnly || cookie.sameSite !== 'Strict') {
    problems.push(`${mode}: the session cookie is ${JSON.stringify(cookie)}`);
  }
  await check(page, `desk-dashboard-${mode}`);
  const report = page.getByRole('link', { name: 'Delivery report' }).first();
  if ((await report.count()) === 0) {
    problems.push(`${mode}: the dashboard links no delivery report`);
  } else {
    await submit(page, report);
    if ((await heading(page)) !== 'Delivery report') problems.push(`${mode}: the report page says "${await heading(page)}"`);
    await check(page, `desk-report-${mode}`);
    await page.goBack({ waitUntil: 'load' });
  }
  await submit(page, page.getByRole('button', { name: 'Log out' }));
  if ((await heading(page)) !== "Editor's desk") problems.push(`${mode}: after logging out the page says "${await heading(page)}"`);
  await page.goto(desk, { waitUntil: 'load' });
  if (!page.url().endsWith('/desk/login')) problems.push(`${mode}: after logging out /desk shows ${page.url()}`);
  await context.close();
}
for (const javaScriptEnabled of admin ? [false, true] : []) {
  const [adminEmail, adminPassword, search] = admin;
  const mode = javaScriptEnabled ? 'js' : 'nojs';
  const { context, page } = await deskPage(browser, javaScriptEnabled, problems, desk);
  await page.getByLabel('Email').fill(adminEmail);
  await page.getByLabel('Password').fill(adminPassword);
  await submit(page, page.getByRole('button', { name: 'Log in' }));
  await submit(page, page.getByRole('link', { name: 'Subscribers', exact: true }));
  if ((await heading(page)) !== 'Subscribers') problems.push(`${mode}: the subscribers page says "${await heading(page)}"`);
  await check(page, `desk-subscribers-${mode}`);
  await page.getByLabel('Address or name').fill(search);
  await submit(page, page.getByRole('button', { name: 'Search' }));
  const unsubscribe = page.getByRole('button', { name: /^Unsubscribe / }).first();
  if ((await unsubscribe.count()) === 0) {
    problems.push(`${mode}: searching for ${search} finds no one to unsubscribe`);
  } else {
    await check(page, `desk-subscribers-found-${mode}`);
    const named = await unsubscribe.getAttribute('aria-label');
    await submit(page, unsubscribe);
    const said = await page.getByRole('status').first().textContent();
    if (!said.includes('Unsubscribed from')) problems.push(`${mode}: after "${named}" the page says "${said}"`);
    if (page.url().includes('@')) problems.push(`${mode}: the answer's URL names the subscriber: ${page.url()}`);
    await submit(page, page.getByRole('link', { name: 'Log', exact: true }));
    if ((await heading(page)) !== 'Log') problems.push(`${mode}: the log says "${await heading(page)}"`);
    const first = await page.locator('ol.log li').first().textContent();
    if (!first.includes('unsubscribed from') || !first.includes(`by ${adminEmail}`)) {
      problems.push(`${mode}: the log's newest line is "${first}"`);
    }
    await check(page, `desk-log-${mode}`);
  }
  await submit(page, page.getByRole('button', { name: 'Log out' }));
  await context.close();
}
await browser.close();
console.log(JSON.stringify({ screenshots, problems }));
