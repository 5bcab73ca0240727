export * from './backends';
export * from './plan';
export * from './probe';
