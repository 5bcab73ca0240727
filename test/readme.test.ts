import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';
import { planToText } from '../src/cli/plan';
import { planFile } from '../src/synth';
import { fixtureFile, REPO } from './support/dist';

const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');

// (documentation of the example environment: skipped in a fork that deleted environments/)
(fs.existsSync(path.join(REPO, 'environments', 'seed-dev.yaml')) ? test : test.skip)('the README shows what `flannel-mtu plan environments/seed-dev.yaml` prints today', () => {
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
  for (const command of ['npm ci', 'npm run synth', 'npm test', 'npm run test:package', 'npm run test:root', 'npm run bench:node']) expect(ci).toContain(command);
});

describe('the README\'s TypeScript library example', () => {
  // Compiled against the built package (lib/, through package.json's exports, as a consumer
  // resolves 'flannel-mtu') with the strictest settings a consumer may use, then run by node.
  test('compiles under strict, exactOptionalPropertyTypes, noUncheckedIndexedAccess, skipLibCheck false and prints what the README says', () => {
    const block = /<!-- readme-example -->\s*```ts\n([\s\S]*?)```\n\nprints\n\n```\n([\s\S]*?)```/.exec(readme);
    expect(block).not.toBeNull();
    const [, code, printed] = block!;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `flannel-mtu-readme-${process.pid}-`));
    try {
      fs.mkdirSync(path.join(dir, 'node_modules'));
      fs.symlinkSync(REPO, path.join(dir, 'node_modules', 'flannel-mtu'));
      // the consumer's own cdk8s, as its app has them (peer dependencies)
      for (const peer of ['cdk8s', 'cdk8s-plus-27', 'constructs']) fs.symlinkSync(path.join(REPO, 'node_modules', peer), path.join(dir, 'node_modules', peer));
      fs.mkdirSync(path.join(dir, 'environments'));
      fs.copyFileSync(fixtureFile('seed-dev'), path.join(dir, 'environments', 'seed-dev.yaml'));
      fs.writeFileSync(path.join(dir, 'example.ts'), code!);
      const options: ts.CompilerOptions = {
        target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10,
        strict: true, exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true, skipLibCheck: false,
        types: ['node'], typeRoots: [path.join(REPO, 'node_modules', '@types')], outDir: path.join(dir, 'out'),
      };
      const program = ts.createProgram([path.join(dir, 'example.ts')], options);
      const diagnostics = ts.getPreEmitDiagnostics(program).concat(program.emit().diagnostics);
      expect(diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual([]);
      const run = spawnSync(process.execPath, [path.join(dir, 'out', 'example.js')], { cwd: dir, encoding: 'utf8' });
      expect(run.stderr).toBe('');
      // seed: SD-WAN 1380 - vxlan 50 = 1330, Backend.MTU 1330 + 50, MSS 1330 - 40; staging: link 1400 - 50 = 1350
      expect(run.stdout).toBe(printed);
      expect(fs.readFileSync(path.join(dir, 'dist-lib', 'staging.k8s.yaml'), 'utf8')).toContain('team: platform');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
