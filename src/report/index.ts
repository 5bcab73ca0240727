export * from './plan-diff';
export * from './mermaid';
export * from './markdown';
export * from './output-diff';
export * from './drift';
export * from './unified-diff';
