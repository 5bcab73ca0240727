import { run } from './cli/main';

/**
 * `flannel-mtu synth` as a function, for scripts: `main([environmentsDir, outDir])` writes every
 * environment to `<outDir>/<env>/<env>.k8s.yaml` (defaults: environments, $CDK8S_OUTDIR or dist)
 * and returns the exit code. `npm run synth` and the cdk8s CLI (cdk8s.yaml) run the same command.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const [environments, out] = argv;
  return run(['synth', ...(environments ? ['--environments', environments] : []), ...(out ? ['--out', out] : [])]);
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
