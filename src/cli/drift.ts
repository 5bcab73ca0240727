import { Command, CommanderError, Option } from 'commander';
import * as fs from 'fs';
import * as path from 'path';
import { editLinkMtus, LinkMtuEdit, TextEdit } from '../config/edit';
import { readEnvironmentText } from '../config/load';
import { InputError } from '../model/errors';
import { decideDrift, diffPlans, diffReport, DiffSide, DriftDecision, LinkFamilyDrift, parseProbeLog, markdownTable, renderDiffMarkdown, rolloutNamespaces, unifiedDiff } from '../report';
import { planText } from '../synth';
import { synthesized } from './diff';

/** Exit code of `drift` when a measurement differs from the declaration (0: none, 1: errors). */
export const EXIT_DRIFT = 2;

export interface DriftResult {
  readonly file: string;
  readonly decision: DriftDecision;
  /** The probe results read and the other lines skipped. */
  readonly results: number;
  readonly skipped: number;
  /** The changes to the file, and the file as it should be (equal to the input when there are none). */
  readonly edits: readonly TextEdit[];
  readonly text: string;
  /** `diff -u` of the file, empty when nothing changes. */
  readonly patch: string;
  /** The PR report of the change (Markdown), or null when nothing changes. */
  readonly report: string | null;
  readonly written: boolean;
}

/**
 * Reads the probe log, decides per link and family, and rewrites the environment file's path MTUs
 * in place (saved only with `write`). Every failure is an InputError before anything is written.
 */
export function drift(file: string, logText: string, logName: string, opts: { allowRaise?: boolean; write?: boolean } = {}): DriftResult {
  const text = readEnvironmentText(file);
  const before = planText(text, file);
  const log = parseProbeLog(logText, logName);
  const decision = decideDrift(before.loaded.environment, log, { allowRaise: opts.allowRaise });
  if (decision.foreign.length === log.results.length) {
    const links = [...new Set(decision.foreign.map((r) => r.link))].join(', ');
    throw new InputError([{ file: logName, message: `none of the ${log.results.length} probe results is for a link of ${file} (they name ${links}): is it the right cluster's log?` }]);
  }

  const changed = (r: LinkFamilyDrift | undefined) => r !== undefined && (r.verdict === 'lower' || r.verdict === 'raise');
  const edits: LinkMtuEdit[] = [];
  for (const index of [...new Set(decision.links.map((l) => l.index))]) {
    const v4 = decision.links.find((l) => l.index === index && l.family === 'ipv4');
    const v6 = decision.links.find((l) => l.index === index && l.family === 'ipv6' && l.verdict !== 'unmeasured');
    if (!changed(v4) && !changed(v6)) continue;
    edits.push({ index, v4: v4?.value ?? before.loaded.environment.links[index].pathMtu, ...(v6 !== undefined && { v6: v6.value }) });
  }
  const edited = editLinkMtus(text, file, edits);
  let report: string | null = null;
  if (edited.text !== text) {
    const after = planText(edited.text, `${file} (with the measured path MTUs)`);
    const side = (p: typeof before, source: string): DiffSide => ({
      plan: p.plan,
      source,
      rolloutNamespaces: rolloutNamespaces(p.loaded.environment),
      output: synthesized(p.loaded.environment, p.plan, file, source),
    });
    report = renderDiffMarkdown(diffReport(null, [diffPlans(side(before, file), side(after, `${file} (measured)`))]));
  }
  let written = false;
  if (opts.write && edited.text !== text) {
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.drift-${process.pid}.tmp`);
    fs.writeFileSync(tmp, edited.text);
    fs.renameSync(tmp, file);
    written = true;
  }
  return {
    file,
    decision,
    results: log.results.length,
    skipped: log.skipped,
    edits: edited.edits,
    text: edited.text,
    patch: unifiedDiff(text, edited.text, `a/${file}`, `b/${file}`),
    report,
    written,
  };
}

/** The drift as Markdown: the measurements, the edit as a diff, and the PR report of that edit. */
export function renderDrift(r: DriftResult, logName: string): string {
  const d = r.decision;
  const out = [
    `## flannel-mtu drift: \`${d.environment}\``,
    '',
    `${r.results} probe result${r.results === 1 ? '' : 's'} from ${logName === '-' ? 'standard input' : `\`${logName}\``}${r.skipped > 0 ? ` (${r.skipped} other line${r.skipped === 1 ? '' : 's'} skipped)` : ''}, checked against \`${r.file}\`:`,
    '',
  ];
  const dir = (x: LinkFamilyDrift, k: number) => {
    const m = x.directions[k];
    if (m === undefined) return '-';
    const rounds = `${m.rounds} round${m.rounds === 1 ? '' : 's'}${m.unreachable > 0 ? `, ${m.unreachable} unreachable` : ''}`;
    return `${m.from} -> ${m.to}: ${m.smallest ?? 'none'} (${rounds})`;
  };
  const decisionText: Record<LinkFamilyDrift['verdict'], (x: LinkFamilyDrift) => string> = {
    'ok': () => 'no drift',
    'unmeasured': () => 'not measured',
    'lower': (x) => `**lower to ${x.value}**`,
    'raise': (x) => `**raise to ${x.value}**`,
    'raise-refused': (x) => `not raised to ${x.measured} (needs --allow-raise)`,
  };
  out.push(
    ...markdownTable(
      ['link', 'family', 'declared', 'smallest per direction', 'measured', 'decision', 'why'],
      d.links.map((x) => [`\`${x.link}\``, x.family === 'ipv4' ? 'IPv4' : 'IPv6', String(x.declared), `${dir(x, 0)}; ${dir(x, 1)}`, x.measured === null ? '-' : String(x.measured), decisionText[x.verdict](x), x.why]),
    ),
    '',
  );
  if (d.foreign.length > 0) out.push(`> ${d.foreign.length} result${d.foreign.length === 1 ? '' : 's'} for links this environment does not declare (${[...new Set(d.foreign.map((f) => f.link))].join(', ')}) ignored.`, '');
  if (r.patch === '') {
    out.push(d.drift ? 'The file stays as it is: every difference found needs --allow-raise.' : 'No drift: the file stays as it is.');
    return `${out.join('\n')}\n`;
  }
  out.push(
    `The edit to \`${r.file}\` (${r.written ? 'written' : 'not written: pass --write to save it'}):`,
    '',
    ...r.edits.filter((e) => e.why !== undefined).map((e) => `- \`${e.path}\`: ${e.why}`),
    ...(r.edits.some((e) => e.why !== undefined) ? [''] : []),
    '```diff',
    r.patch.trimEnd(),
    '```',
    '',
    r.report!.trimEnd(),
  );
  return `${out.join('\n')}\n`;
}

export function driftCommand(): Command {
  return new Command('drift')
    .description('turn the path-MTU probe\'s measurements into the edit of an environment file, with its PR report')
    .argument('<env-file>', 'the environment file the probed cluster was generated from')
    .addOption(new Option('--logs <file>', 'the probe\'s log lines, as `kubectl logs -n kube-flannel -l app=flannel-mtu-probe --tail=-1 --prefix` prints them; - for standard input').default('-'))
    .option('--write', 'save the edited environment file')
    .option('--allow-raise', 'raise a declared path MTU when the path carries more (the risky direction)')
    .option('--json', 'print one JSON object for machines')
    .addHelpText('after', '\nExit codes: 0 when every measurement agrees with the file, 2 when one does not (drift), 1 on errors.')
    .action((file: string, opts: { logs: string; write?: boolean; allowRaise?: boolean; json?: boolean }) => {
      const logText = readLog(opts.logs);
      const r = drift(file, logText, opts.logs, { allowRaise: opts.allowRaise, write: opts.write });
      process.stdout.write(opts.json ? `${JSON.stringify(r, null, 2)}\n` : renderDrift(r, opts.logs));
      if (r.decision.drift) throw new CommanderError(EXIT_DRIFT, 'flannel-mtu.drift.found', 'drift found');
    });
}

function readLog(name: string): string {
  if (name === '-') {
    if (process.stdin.isTTY) throw new InputError([{ message: '--logs: standard input is a terminal; pipe `kubectl logs -n kube-flannel -l app=flannel-mtu-probe --tail=-1` into it, or give --logs FILE' }]);
    return fs.readFileSync(0, 'utf8');
  }
  try {
    return fs.readFileSync(name, 'utf8');
  } catch (e) {
    throw new InputError([{ file: name, message: `cannot read the probe log: ${(e as NodeJS.ErrnoException).code ?? e}` }]);
  }
}
