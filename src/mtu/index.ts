export * from './backends';
export * from './plan';
