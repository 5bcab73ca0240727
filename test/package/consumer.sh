#!/usr/bin/env bash
# npm run test:package: flannel-mtu as a platform team gets it. `npm pack`, then in a fresh directory
# outside the repository (no access to its node_modules), install the tarball with cdk8s, cdk8s-plus-27
# and constructs from the registry, scaffold a GitOps repository with `flannel-mtu init`, synthesize
# with `flannel-mtu synth` and with the cdk8s CLI, check --check, and use the library from a strict
# TypeScript app (the consumer's own tsc 5.x, skipLibCheck false), plain CommonJS and ESM.
# The seed's manifest must be byte-identical to what this repository's synth writes.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/flannel-mtu-consumer-$$-XXXXXX")"
trap 'rm -rf "$work"' EXIT
step() { printf '== %s\n' "$*"; }
fail() { printf 'test:package: FAILED: %s\n' "$*" >&2; exit 1; }
version() { node -p "require('$repo/package.json').devDependencies['$1']"; }

step "npm pack"
cd "$repo"
tarball="$work/$(npm pack --silent --pack-destination "$work" | tail -n 1)"
[ -f "$tarball" ] || fail "npm pack wrote no tarball"
tar -tzf "$tarball" | sort > "$work/files.txt"
for f in package/package.json package/README.md package/LICENSE package/bin/flannel-mtu \
         package/lib/src/index.js package/lib/src/index.d.ts package/lib/src/cli/main.js \
         package/lib/src/node/scripts/tcp-mss-clamp.sh package/lib/src/jobs/scripts/rollout-restart.sh \
         package/templates/gitops-repo/package.json package/validators/kubernetes-schema/index.js; do
  grep -qx "$f" "$work/files.txt" || fail "the tarball lacks $f"
done
if grep -E '^package/(test|lab|bench|\.ci|examples|dist|environments|src|tools|imports)/|\.test\.|\.tsbuildinfo$' "$work/files.txt"; then
  fail "the tarball ships test, lab, bench, CI, example or source files (listed above)"
fi
echo "$(wc -l < "$work/files.txt") files, none of test/ lab/ bench/ .ci/ examples/ dist/ environments/ src/"

# The reference: this repository's synth of the seed, named as a consumer names it.
mkdir -p "$work/ref/environments"
cp "$repo/test/fixtures/environments/seed-dev.yaml" "$work/ref/environments/seed-dev.yaml"
(cd "$work/ref" && node "$repo/bin/flannel-mtu" synth > /dev/null)
if [ -f "$repo/environments/seed-dev.yaml" ] && cmp -s "$repo/environments/seed-dev.yaml" "$repo/test/fixtures/environments/seed-dev.yaml"; then
  cmp "$repo/dist/seed-dev/seed-dev.k8s.yaml" "$work/ref/dist/seed-dev/seed-dev.k8s.yaml" || fail "the committed dist/seed-dev differs from a fresh synth"
fi

step "npm install <tarball> cdk8s cdk8s-plus-27 constructs cdk8s-cli typescript@5 @types/node, in $work/app"
mkdir "$work/app"
cd "$work/app"
export NODE_PATH=
npm install --no-audit --no-fund --loglevel=error "$tarball" \
  "cdk8s@$(version cdk8s)" "cdk8s-plus-27@$(version cdk8s-plus-27)" "constructs@$(version constructs)" \
  "cdk8s-cli@$(version cdk8s-cli)" "typescript@5" "@types/node@20" > /dev/null
[ -z "$(find node_modules/flannel-mtu -name 'tsx' -o -name 'esbuild' | head -n 1)" ] || fail "tsx or esbuild came with the package"
[ ! -d node_modules/tsx ] && [ ! -d node_modules/esbuild ] || fail "tsx or esbuild was installed: it must not be a runtime dependency"

step "npx flannel-mtu --version, init"
[ "$(npx flannel-mtu --version)" = "$(node -p "require('$repo/package.json').version")" ] || fail "--version"
npx flannel-mtu init
for f in package.json cdk8s.yaml README.md .gitignore environments/dev.yaml .github/workflows/flannel-mtu-pr.yml; do
  [ -f "$f" ] || fail "init did not write $f"
done
node -e "const p = require('./package.json'); if (p.scripts.synth !== 'flannel-mtu synth' || !p.dependencies['flannel-mtu'].startsWith('file:')) process.exit(1)" \
  || fail "init did not merge its scripts into the existing package.json (or replaced the installed flannel-mtu)"
if npx flannel-mtu init > "$work/init.out" 2>&1; then fail "a second init overwrote the scaffold"; fi
grep -q "cdk8s.yaml exists" "$work/init.out" || fail "init's refusal does not name the existing files"
cp "$repo/test/fixtures/environments/seed-dev.yaml" environments/seed-dev.yaml

step "npx flannel-mtu synth (the scaffold's npm run synth), byte-identical seed"
npm run --silent synth
cmp dist/seed-dev/seed-dev.k8s.yaml "$work/ref/dist/seed-dev/seed-dev.k8s.yaml" || fail "the consumer's seed manifest differs from this repository's"
[ -f dist/dev/dev.k8s.yaml ] || fail "the scaffold's example environment did not synthesize"
npx flannel-mtu plan environments/seed-dev.yaml environments/dev.yaml > /dev/null

step "npx cdk8s synth --check-upgrade=false (the scaffold's cdk8s.yaml, with the schema validation plugin)"
npx cdk8s synth --check-upgrade=false > "$work/cdk8s.out" 2>&1 || { cat "$work/cdk8s.out"; fail "cdk8s synth"; }
cmp dist/seed-dev/seed-dev.k8s.yaml "$work/ref/dist/seed-dev/seed-dev.k8s.yaml" || fail "cdk8s synth wrote another seed manifest"

step "npx flannel-mtu synth --check and npm test: 0 when up to date, non-zero after an edit"
npx flannel-mtu synth --check
npm test --silent > /dev/null
sed -i 's/pathMtu: 1380/pathMtu: 1360/' environments/seed-dev.yaml
set +e
npx flannel-mtu synth --check 2> "$work/check.err"
code=$?
npm test --silent > /dev/null 2>&1
test_code=$?
set -e
[ "$code" -eq 2 ] || fail "synth --check exited $code after an edit, want 2"
[ "$test_code" -ne 0 ] || fail "npm test passed with a stale dist/"
grep -q "stale: dist/seed-dev/seed-dev.k8s.yaml: differs" "$work/check.err" || fail "--check does not name the stale file"
cp "$repo/test/fixtures/environments/seed-dev.yaml" environments/seed-dev.yaml

step "a strict TypeScript app (tsc $(npx tsc --version | cut -d' ' -f2), skipLibCheck false) run by plain node"
# The README's library example, compiled with the app below.
node -e "
const text = require('fs').readFileSync(require.resolve('flannel-mtu/package.json').replace(/package.json$/, 'README.md'), 'utf8');
const block = /<!-- readme-example -->\s*\`\`\`ts\n([\s\S]*?)\`\`\`/.exec(text);
if (!block) { console.error('no readme-example block in the README'); process.exit(1); }
require('fs').writeFileSync('readme-example.ts', block[1]);"
cat > tsconfig.json <<'EOF'
{
  "compilerOptions": {
    "target": "ES2020", "module": "commonjs", "moduleResolution": "node", "lib": ["ES2020"],
    "strict": true, "exactOptionalPropertyTypes": true, "noUncheckedIndexedAccess": true,
    "skipLibCheck": false, "types": ["node"], "outDir": "out"
  },
  "files": ["app.ts", "readme-example.ts"]
}
EOF
cat > app.ts <<'EOF'
import { App } from 'cdk8s';
import { Environment, FlannelChart, loadEnvironment, planMtu } from 'flannel-mtu';

// A typed environment with only what has no default.
const typed: Environment = {
  name: 'typed',
  flannel: { podNetwork: '10.244.0.0/16' },
  clouds: [{ name: 'a', nicMtu: 1500 }, { name: 'b', nicMtu: 1500 }],
  links: [{ between: ['a', 'b'], pathMtu: 1400 }],
};
const plan = planMtu(typed);
const { environment } = loadEnvironment('environments/seed-dev.yaml');
const app = new App({ outdir: 'ts-out' });
new FlannelChart(app, 'seed-dev', { environment, labels: { 'team': 'platform' } });
new FlannelChart(app, 'typed', { environment: typed, plan });
app.synth();
process.stdout.write(`typed: pod MTU ${plan.podMtu}\n`);
EOF
npx tsc -p . || fail "the consumer's tsc refused the public API"
# the same app through package.json's exports (moduleResolution node16), as newer projects resolve it
npx tsc -p . --module node16 --moduleResolution node16 --outDir out16 || fail "tsc with node16 resolution (exports map) refused the public API"
node out/app.js > "$work/app.out"
grep -qx "typed: pod MTU 1350" "$work/app.out" || fail "typed plan: $(cat "$work/app.out")"
grep -q '"MTU": 1380' ts-out/seed-dev.k8s.yaml || fail "the app's seed chart has no Backend.MTU 1380"
grep -q 'team: platform' ts-out/seed-dev.k8s.yaml || fail "FlannelChart ignored ChartProps labels"

step "the README's TypeScript example, compiled by the same tsc, run by node"
node out/readme-example.js > "$work/readme.out" || fail "the README example failed"
cat "$work/readme.out"


step "plain CommonJS require and ESM import"
cat > app.cjs <<'EOF'
const { parseEnvironment, planMtu } = require('flannel-mtu');
const fs = require('fs');
const { environment } = parseEnvironment(fs.readFileSync('environments/seed-dev.yaml', 'utf8'), 'environments/seed-dev.yaml');
console.log(`cjs: ${planMtu(environment).podMtu}`);
EOF
cat > app.mjs <<'EOF'
import { readFileSync } from 'node:fs';
import { parseEnvironment, planMtu, FlannelChart } from 'flannel-mtu';
const { environment } = parseEnvironment(readFileSync('environments/seed-dev.yaml', 'utf8'), 'environments/seed-dev.yaml');
console.log(`esm: ${planMtu(environment).podMtu} ${typeof FlannelChart}`);
EOF
[ "$(node app.cjs)" = "cjs: 1330" ] || fail "require('flannel-mtu')"
[ "$(node app.mjs)" = "esm: 1330 function" ] || fail "import from 'flannel-mtu'"

step "flannel-mtu plan loads no cdk8s"
node -e "
require('flannel-mtu/package.json');
const main = require.resolve('flannel-mtu').replace(/index\.js$/, 'cli/main.js');
require(main).run(['plan', 'environments/seed-dev.yaml']).then(() => {
  const heavy = Object.keys(require.cache).filter((k) => /node_modules\/(cdk8s|cdk8s-plus-27|constructs|kubernetes-models)\//.test(k));
  if (heavy.length) { console.error('plan loaded', heavy[0]); process.exit(1); }
});" > /dev/null

echo "test:package: passed"
