// The public API of flannel-mtu as a library: typed environments, the pure MTU plan, the constructs
// that read it, the chart that composes them, and the synthesis entry points.
export * from './model';
export * from './config';
export * from './mtu';
export * from './constructs';
export { FlannelChart } from './charts/flannel-chart';
export type { FlannelChartProps } from './charts/flannel-chart';
export { planFile, planText, synthEnvironments, synthFiles } from './synth';
export type { Manifest } from './synth';
export { validateObjects } from './validation/kubernetes-schema';
export type { SchemaViolation } from './validation/kubernetes-schema';
export * from './report';
