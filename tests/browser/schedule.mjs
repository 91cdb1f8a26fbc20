// Drives headless Chromium through the desk's scheduled send, with
// JavaScript off and on (plain forms). Phase `schedule`: log in, schedule
// the approved edition on the dashboard (a datetime-local and its zone),
// see "Send scheduled" and the dashboard saying when; with JavaScript off
// the schedule is cleared again, so the second pass schedules it anew.
// Phase `report`: log in and read the edition's delivery report (after the
// test's `bulletin run` past the time). Each page is checked with axe-core
// (WCAG 2.0/2.1 A and AA, light and dark), for no sideways scrolling at
// 375 px, and screenshotted at 375 and 1280 px.
//
// Usage: node schedule.mjs DESK_URL EMAIL PASSWORD SCREENSHOT_DIR schedule SHOWN
//        node schedule.mjs DESK_URL EMAIL PASSWORD SCREENSHOT_DIR report COUNTS
// Prints one JSON object: { screenshots, problems: [...] }.
import { launch, watch } from './chromium.mjs';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const [desk, email, password, shots, phase, expected] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
const axe = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const browser = await launch();
const problems = [];
const screenshots = [];
const checker = await (await browser.newContext({ viewport: { width: 375, height: 812 } })).newPage();

async function check(page, name) {
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

async function submit(page, button) {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), button.click()]);
}

async function heading(page) {
  return (await page.locator('h1').textContent()).trim();
}

async function text(page) {
  return (await page.locator('main').textContent()).replace(/\s+/g, ' ');
}

async function logIn(page, mode) {
  await page.goto(desk, { waitUntil: 'load' });
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await submit(page, page.getByRole('button', { name: 'Log in' }));
  if ((await heading(page)) !== 'Newsletters') problems.push(`${mode}: after logging in the page says "${await heading(page)}"`);
}

async function schedule(page, mode) {
  await page.getByLabel('Not before (local time)').fill('2026-12-08T09:00');
  if ((await page.getByLabel('Time zone').inputValue()) !== 'Europe/Brussels') {
    problems.push(`${mode}: the zone shown is "${await page.getByLabel('Time zone').inputValue()}"`);
  }
  await submit(page, page.getByRole('button', { name: 'Schedule', exact: true }));
  if ((await heading(page)) !== 'Send scheduled') problems.push(`${mode}: after Schedule the page says "${await heading(page)}"`);
  if (!(await text(page)).includes(`not before ${expected}`)) problems.push(`${mode}: the answer does not say ${expected}: ${await text(page)}`);
  await check(page, `desk-scheduled-${mode}`);
  await submit(page, page.getByRole('link', { name: 'Back to the newsletters' }));
  const shown = await text(page);
  if (!shown.includes(`Scheduled: not before ${expected}`) || !shown.includes(`scheduled for ${expected}`)) {
    problems.push(`${mode}: the dashboard does not show the schedule: ${shown}`);
  }
  await check(page, `desk-dashboard-scheduled-${mode}`);
}

for (const javaScriptEnabled of phase === 'schedule' ? [false, true] : [true]) {
  const mode = javaScriptEnabled ? 'js' : 'nojs';
  const context = await browser.newContext({ viewport: { width: 375, height: 812 }, javaScriptEnabled });
  const page = await context.newPage();
  watch(page, problems);
  await logIn(page, mode);
  if (phase === 'schedule') {
    await schedule(page, mode);
    if (!javaScriptEnabled) {
      await submit(page, page.getByRole('button', { name: 'Clear schedule' }));
      if (!(await text(page)).includes('schedule cleared')) problems.push(`${mode}: Clear schedule said: ${await text(page)}`);
      await submit(page, page.getByRole('link', { name: 'Back to the newsletters' }));
      if ((await text(page)).includes('Scheduled: not before')) problems.push(`${mode}: the schedule is still shown after Clear`);
    }
  } else {
    await submit(page, page.getByRole('link', { name: 'Delivery report' }).first());
    if ((await heading(page)) !== 'Delivery report') problems.push(`report: the page says "${await heading(page)}"`);
    if (!(await text(page)).includes(expected)) problems.push(`report: no "${expected}" in: ${await text(page)}`);
    await check(page, 'desk-report-after-schedule');
  }
  await context.close();
}
await browser.close();
console.log(JSON.stringify({ screenshots, problems }));
