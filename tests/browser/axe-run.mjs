// axe-core (WCAG 2.0 A and AA, 2.1 A and AA) on an open page: its violations,
// each with its impact and the first few nodes. Shared by axe.mjs and signup.mjs.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const axe = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/// The page's context must bypass its CSP (`bypassCSP: true`): the pages
/// allow only their own scripts, and axe is injected.
export async function violations(page) {
  await page.addScriptTag({ content: axe });
  return page.evaluate(async () => {
    const run = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
      iframes: false,
    });
    return run.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => `${n.target.join(' ')}: ${n.failureSummary}`),
    }));
  });
}
