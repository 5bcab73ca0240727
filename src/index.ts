// The public API of flannel-mtu as a library: typed environments, the pure MTU plan, the constructs
// that read it, the chart that composes them, and the synthesis entry points.
export * from './model';
export * from './config';
/** Reads and validates an environment file: `{ file, environment, locate }` (same as loadEnvironmentFile). */
export { loadEnvironmentFile as loadEnvironment } from './config/load';
export * from './mtu';
export * from './constructs';
export { FlannelChart } from './charts/flannel-chart';
export type { FlannelChartProps } from './charts/flannel-chart';
export { planFile, planText, synthEnvironments, synthFiles } from './synth';
export type { Manifest, PlannedFile } from './synth';
export { synth } from './cli/synth';
export type { SynthOptions } from './cli/synth';
export { checkOutput, writeOutput, MARKER_FILE } from './synth-write';
export type { OutputFile, StaleFile, WriteResult } from './synth-write';
export { argocdApplication, fluxKustomization } from './synth-gitops';
export type { GitOpsTool, GitOpsOptions } from './synth-gitops';
export { validateObjects } from './validation/kubernetes-schema';
export type { SchemaViolation } from './validation/kubernetes-schema';
export * from './report';
