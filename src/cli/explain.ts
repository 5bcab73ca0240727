import { Command } from 'commander';
import { renderExplainMarkdown } from '../report';
import { planFile } from '../synth-plan';

export function explainCommand(): Command {
  return new Command('explain')
    .description('draw the topology of an environment (a Mermaid diagram, binding constraint in red) and explain its MTU plan, as Markdown')
    .argument('<file>', 'environment YAML file')
    .action((file: string) => {
      process.stdout.write(renderExplainMarkdown(planFile(file).plan));
    });
}
