// Drives headless Chromium, with JavaScript on (the preview's reload
// script), on a newsletter's review page left open while the edition is
// approved elsewhere: runs the given command (`bulletin approve …`) once
// the page shows the draft's forms, then waits, without touching the
// page, until it shows the approval. Checks that the correction and
// approval forms are gone, and that nothing leaves 127.0.0.1.
//
// Usage: node follow.mjs REVIEW_URL COMMAND [ARGS…]
// Prints one JSON object: { before, state, buttons, problems: [...] }.
import { launch, watch } from './chromium.mjs';
import { execFileSync } from 'node:child_process';

const [review, command, ...args] = process.argv.slice(2);
const browser = await launch();
const problems = [];
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
watch(page, problems);

const opened = await page.goto(review, { waitUntil: 'load' });
if (!opened || opened.status() !== 200) problems.push(`${review}: status ${opened && opened.status()}`);
const before = await page.getByRole('button', { name: 'Drop' }).count();
execFileSync(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
let state = '';
try {
  await page.waitForFunction(
    () => (document.querySelector('#state')?.textContent ?? '').startsWith('Approved by'),
    null,
    { timeout: 15000, polling: 100 },
  );
} catch (e) {
  problems.push(`the open page never showed the approval: ${e.message.split('\n')[0]}`);
}
await page.waitForLoadState('load');
state = (await page.locator('#state').textContent()) ?? '';
const buttons = await page.getByRole('button', { name: /^(Drop|Move up|Move down|Move to section|Approve No\. .*)$/ }).count();
await browser.close();
console.log(JSON.stringify({ before, state, buttons, problems }));
