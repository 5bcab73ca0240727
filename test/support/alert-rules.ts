// The README's example PrometheusRule, evaluated by Prometheus's own promtool against series made
// from a textfile the shipped probe wrote: which alerts would fire, with which labels.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseAllDocuments, stringify } from 'yaml';
import { findBinary } from '../../lab/host';
import { REPO } from './dist';

/** Prometheus's promtool, looked up when first needed (the README extraction alone needs none). */
function promtool(): string {
  try {
    return findBinary('promtool');
  } catch {
    throw new Error('promtool not found: the alert-rule checks need it (Debian: apt-get install prometheus; .ci/run installs it)');
  }
}

/** The rule groups of the README's PrometheusRule (its `spec.groups`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function readmeRuleGroups(): any[] {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const block = /```yaml\n(apiVersion: monitoring\.coreos\.com\/v1\nkind: PrometheusRule\n[\s\S]*?)```/.exec(readme);
  if (block === null) throw new Error('README.md has no PrometheusRule block');
  return parseAllDocuments(block[1])[0].toJS().spec.groups;
}

export type Firing = Record<string, Array<Record<string, string>>>;

/**
 * The alerts firing at `evalTime` (a promtool duration) when Prometheus has scraped `prom` (a
 * node-exporter textfile) from `instance` once a minute since time 0, unchanged. The last-round
 * timestamps move with the clock (a probe that keeps running), unless `stale`: then they stay at 0.
 */
export function firingAlerts(prom: string, instance: string, evalTime: string, opts: { stale?: boolean } = {}): Firing {
  const samples = 8 * 60; // 8 h of minutes: longer than the longest `for` (6 h)
  const series = prom
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const m = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(l);
      if (m === null) throw new Error(`not a sample line of the textfile: ${l}`);
      const clock = m[1] === 'flannel_mtu_probe_last_round_timestamp_seconds';
      return { series: `${m[1]}{${m[2]},instance="${instance}"}`, values: clock ? (opts.stale ? `0+0x${samples}` : `0+60x${samples}`) : `${m[3]}+0x${samples}` };
    });
  const groups: Array<{ rules: Array<{ alert: string }> }> = readmeRuleGroups();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fmtu-promtool-'));
  try {
    fs.writeFileSync(path.join(dir, 'rules.yml'), stringify({ groups }));
    const check = spawnSync(promtool(), ['check', 'rules', 'rules.yml'], { cwd: dir, encoding: 'utf8' });
    if (check.status !== 0) throw new Error(`promtool check rules: ${check.stdout}${check.stderr}`);
    const alertnames = groups.flatMap((g) => g.rules.map((r) => r.alert));
    const test = {
      rule_files: ['rules.yml'],
      evaluation_interval: '1m',
      tests: [{ interval: '1m', input_series: series, alert_rule_test: alertnames.map((alertname) => ({ eval_time: evalTime, alertname, exp_alerts: [] })) }],
    };
    fs.writeFileSync(path.join(dir, 'test.yml'), stringify(test));
    const r = spawnSync(promtool(), ['test', 'rules', 'test.yml'], { cwd: dir, encoding: 'utf8' });
    const out = `${r.stdout}${r.stderr}`;
    // every alert was expected silent: each one that fires is a FAILED block with what it got
    const firing: Firing = {};
    for (const block of out.split(/\n\s*alertname: /).slice(1)) {
      const name = /^([A-Za-z]+), time: /.exec(block)?.[1];
      if (name === undefined) throw new Error(`promtool test rules: cannot read\n${out}`);
      firing[name] = [...block.matchAll(/Labels:\{([^}]*)\}/g)].map((m) => Object.fromEntries([...m[1].matchAll(/([a-z_]+)="([^"]*)"/g)].map((l) => [l[1], l[2]])));
    }
    if ((r.status === 0) !== (Object.keys(firing).length === 0)) throw new Error(`promtool test rules exited ${r.status}:\n${out}`);
    return firing;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
