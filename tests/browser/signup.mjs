// Drives headless Chromium at 375 px, as a reader on a phone, through the
// sign-up of `bulletin serve`, one step per run (the test reads the mails
// from the file transport in between):
//   form URL SHOTS EMAIL   fills in the form and sends it; expects "Check your mailbox"
//   refused URL SHOTS EMAIL
//                          fills in the form as an individual choosing an EU-only
//                          newsletter; expects the form again (400) with the reason
//   scan LINK SHOTS        opens the confirmation link with JavaScript on, as a mail
//                          gateway's link scanner running scripts does, waits, and leaves:
//                          the page must post nothing (it asks for a person's click)
//   confirm LINK SHOTS HEADING NAME [STATUS]
//                          opens the confirmation link, expects its button and no POST
//                          on its own, clicks the button and expects HEADING (its POST
//                          answered with STATUS, default 200); the screenshot is NAME
//   unsubscribe LINK SHOTS opens a newsletter's unsubscribe link and clicks its button
// Checks that the page fits 375 px, that nothing leaves 127.0.0.1, that no
// request fails and the console stays clean, and runs axe-core on each page
// (a serious or critical violation is a problem). Saves a screenshot of each page.
// Prints one JSON object: { screenshots, posted, problems: [...] }.
import { launch } from './chromium.mjs';
import { mkdirSync } from 'node:fs';
import { violations } from './axe-run.mjs';

const [step, url, shots, ...rest] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
const browser = await launch();
const problems = [];
const screenshots = [];
const posts = [];
// bypassCSP: for axe, injected; the pages' own script is served by serve.
const context = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, bypassCSP: true });
const page = await context.newPage();
// The one answer expected to be an error: the form refused, a link expired or forged.
const expected = { refused: '400', confirm: rest[2] }[step];
page.on('console', (message) => {
  // Chromium reports an error status in the console too: the expected one is no problem.
  const answered = expected && message.text().includes(`status of ${expected}`);
  if (message.type() === 'error' && !answered) problems.push(`console error: ${message.text()}`);
});
page.on('response', (r) => {
  const answered = r.request().method() === 'POST' && String(r.status()) === expected;
  if (r.status() >= 400 && !answered) problems.push(`${r.request().method()} ${r.url()}: ${r.status()}`);
});

page.on('request', (request) => {
  const host = new URL(request.url()).hostname;
  if (host !== '127.0.0.1') problems.push(`a request left 127.0.0.1: ${request.url()}`);
  if (request.method() === 'POST') posts.push(new URL(request.url()).pathname);
});

async function shoot(name) {
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  if (wide > 375) problems.push(`${name}: ${wide} px wide at 375 px`);
  for (const v of await violations(page)) {
    if (v.impact === 'serious' || v.impact === 'critical') problems.push(`${name}: axe: ${v.id}: ${v.help}: ${v.nodes.join('; ')}`);
  }
  const file = `${shots}/${name}.png`;
  await page.screenshot({ path: file, fullPage: true });
  screenshots.push(file);
}

async function expectHeading(text, what) {
  try {
    await page.getByRole('heading', { name: text }).waitFor({ timeout: 15000 });
  } catch {
    problems.push(`${what}: no heading "${text}"; the page says: ${(await page.textContent('main')) || ''}`);
  }
}

/// Fills in the form as `as` (company or individual) and sends it.
async function fillIn(email, as) {
  const opened = await page.goto(url, { waitUntil: 'load' });
  if (!opened || opened.status() !== 200) problems.push(`${url}: status ${opened && opened.status()}`);
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Name', { exact: true }).fill('Reader Example');
  await page.getByLabel('Organisation', { exact: true }).fill('Example GmbH');
  await page.getByLabel('You subscribe as').selectOption(as);
  await page.getByLabel(/^Country/).fill('DE');
  await page.getByLabel('EU-Japan NEWS').check();
  await page.getByLabel('"About Japan" e-News').check();
  if (as === 'company') await shoot('signup-form-375');
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.getByRole('button', { name: 'Subscribe' }).click()]);
}

if (step === 'form') {
  await fillIn(rest[0], 'company');
  await expectHeading('Check your mailbox', 'after sending the form');
  await shoot('signup-check-mailbox-375');
} else if (step === 'refused') {
  await fillIn(rest[0], 'individual');
  await expectHeading('Subscribe to our newsletters', 'the form refused');
  const error = await page.locator('#error').textContent().catch(() => '');
  if (!/EU-27 only, not for individuals/.test(error)) problems.push(`the refusal says: ${error}`);
  await shoot('signup-refused-eu-only-375');
} else if (step === 'scan') {
  await page.goto(url, { waitUntil: 'networkidle' });
  await page.waitForTimeout(2000);
  await expectHeading('Confirm your subscription', 'the confirmation link, opened');
  if (posts.length) problems.push(`the page posted on its own: ${posts.join(', ')}`);
} else if (step === 'confirm') {
  await page.goto(url, { waitUntil: 'networkidle' });
  const [heading, name] = rest;
  await expectHeading('Confirm your subscription', 'the confirmation link, opened');
  if (posts.length) problems.push(`the page posted before the click: ${posts.join(', ')}`);
  await shoot('signup-confirm-375');
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.getByRole('button', { name: 'Confirm my subscription' }).click()]);
  await expectHeading(heading, 'the confirmation button');
  await shoot(name);
} else if (step === 'unsubscribe') {
  await page.goto(url, { waitUntil: 'load' });
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.getByRole('button', { name: 'Unsubscribe' }).click()]);
  await expectHeading('You are unsubscribed', 'the unsubscribe link');
  await shoot('signup-unsubscribed-375');
} else {
  problems.push(`unknown step ${step}`);
}
await browser.close();
console.log(JSON.stringify({ screenshots, posted: posts, problems }));
