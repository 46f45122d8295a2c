/**
 * A GitHub Actions workflow with one job, `image`, on ubuntu-latest: its `on:` block (default: a push to main) and
 * its steps, as YAML lines indented for a step list (six spaces before `- `; one leading line break is dropped, so a
 * template literal can open on its own line). The CI-model tests vary only those.
 */
export const PUSH_TO_MAIN = '  push:\n    branches: [main]\n';

export function imageWorkflow(steps: string, on: string = PUSH_TO_MAIN): string {
  return `on:\n${on}jobs:\n  image:\n    runs-on: ubuntu-latest\n    steps:\n${steps.replace(/^\n/, '')}`;
}
