import * as fs from 'fs';
import * as path from 'path';
import { parse } from 'yaml';
import { diffPlans, diffReport, DIFF_COMMENT_MARKER, renderDiffMarkdown } from '../../src/report';
import { REPO } from '../support/dist';
import { expectGolden, side } from './scenarios';

const EXAMPLES = path.join(REPO, 'examples');

describe('examples/pr-comment.md', () => {
  // The README's example comment is a real diff: environments/seed-dev.yaml with the SD-WAN
  // measured at 1360 instead of 1380 (pod MTU 1330 -> 1310, Backend.MTU 1380 -> 1360, MSS
  // 1290 -> 1270). When this fails, the code or the seed changed: regenerate it with
  // `UPDATE_GOLDEN=1 npx jest test/report/examples.test.ts`, read the change and commit it.
  test('is exactly what flannel-mtu diff renders for the seed with the SD-WAN at 1360', () => {
    const seed = fs.readFileSync(path.join(REPO, 'environments', 'seed-dev.yaml'), 'utf8');
    const lowered = seed.replace(/^(\s+)pathMtu: 1380\b/m, '$1pathMtu: 1360');
    expect(lowered).not.toBe(seed);
    const diff = diffPlans(side(seed, 'origin/main:environments/seed-dev.yaml'), side(lowered, 'environments/seed-dev.yaml'));
    expect(diff.numbers.find((n) => n.key === 'podMtu')).toMatchObject({ old: 1330, new: 1310 });
    expectGolden(path.join(EXAMPLES, 'pr-comment.md'), renderDiffMarkdown(diffReport('origin/main', [diff])));
  });
});

describe('examples/github-actions/flannel-mtu-pr.yml', () => {
  const text = fs.readFileSync(path.join(EXAMPLES, 'github-actions', 'flannel-mtu-pr.yml'), 'utf8');
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const workflow: any = parse(text);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const steps: any[] = Object.values(workflow.jobs).flatMap((j: any) => j.steps);
  const index = (pred: (s: { uses?: string; run?: string; with?: Record<string, unknown> }) => boolean) => {
    const i = steps.findIndex(pred);
    expect(i).toBeGreaterThanOrEqual(0);
    return i;
  };

  test('runs on pull requests with the permission to comment and nothing more', () => {
    expect(Object.keys(workflow.on)).toEqual(['pull_request']);
    expect(workflow.permissions).toEqual({ 'contents': 'read', 'pull-requests': 'write' });
  });

  test('checks out full history, sets up node 20, installs, synthesizes, checks dist/, diffs, comments, in that order', () => {
    const checkout = index((s) => /^actions\/checkout@/.test(s.uses ?? ''));
    expect(steps[checkout].with).toMatchObject({ 'fetch-depth': 0 });
    const node = index((s) => /^actions\/setup-node@/.test(s.uses ?? ''));
    expect(steps[node].with['node-version']).toBe(20);
    const install = index((s) => s.run?.trim() === 'npm ci');
    const synth = index((s) => s.run?.trim() === 'npm run synth');
    const distCheck = index((s) => /git diff --exit-code dist\//.test(s.run ?? ''));
    const diff = index((s) => /npx flannel-mtu diff --base "origin\/\$BASE_REF" > flannel-mtu-diff\.md/.test(s.run ?? ''));
    expect(steps[diff].env).toEqual({ BASE_REF: '${{ github.base_ref }}' });
    // Exit 2 (changed) must not fail the step; 1 (error) must.
    expect(steps[diff].run).toContain('if [ "$code" -ne 0 ] && [ "$code" -ne 2 ]; then exit "$code"; fi');
    const comment = index((s) => /^actions\/github-script@/.test(s.uses ?? ''));
    const script = String(steps[comment].with.script);
    expect(script).toContain("readFileSync('flannel-mtu-diff.md'");
    expect(script).toContain(`'${DIFF_COMMENT_MARKER}'`);
    expect(script).toMatch(/updateComment[\s\S]*createComment/);
    expect([checkout, node, install, synth, distCheck, diff, comment]).toEqual([...[checkout, node, install, synth, distCheck, diff, comment]].sort((a, b) => a - b));
  });
});
