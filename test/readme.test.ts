import * as fs from 'fs';
import * as path from 'path';
import { planToText } from '../src/cli/plan';
import { planFile } from '../src/synth';
import { REPO } from './support/dist';

const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');

test('the README shows what `flannel-mtu plan environments/seed-dev.yaml` prints today', () => {
  const cwd = process.cwd();
  process.chdir(REPO);
  try {
    const shown = /\$ npx flannel-mtu plan environments\/seed-dev\.yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(shown).toBe(planToText(planFile('environments/seed-dev.yaml').plan));
  } finally {
    process.chdir(cwd);
  }
});

test('the README names the two commands CI runs', () => {
  expect(readme).toContain('npm ci && npm run synth');
  expect(readme).toContain('npm test');
  const ci = fs.readFileSync(path.join(REPO, '.ci', 'run'), 'utf8');
  for (const command of ['npm ci', 'npm run synth', 'npm test', 'npm run test:root', 'npm run bench:node']) expect(ci).toContain(command);
});
