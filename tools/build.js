#!/usr/bin/env node
// `npm run build`: tsc (tsconfig.build.json) to lib/, then the shell scripts the constructs read at
// synth time (src/**/scripts/*.sh) copied next to the compiled code, so lib/ finds them from an
// installed package exactly as src/ does in this repository. `--clean` (npm's prepare, so `npm ci`
// and `npm pack`) starts from an empty lib/, so no file of a deleted source is ever shipped.
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
if (process.argv.includes('--clean')) fs.rmSync(path.join(root, 'lib'), { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });

function copyScripts(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const from = path.join(dir, entry.name);
    if (entry.isDirectory()) copyScripts(from);
    else if (entry.name.endsWith('.sh')) {
      const to = path.join(root, 'lib', path.relative(root, from));
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.copyFileSync(from, to);
    }
  }
}
copyScripts(path.join(root, 'src'));
