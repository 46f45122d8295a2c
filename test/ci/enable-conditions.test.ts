/**
 * docker/metadata-action `enable=` conditions, decided against the refs the workflow's `on:` allows:
 * a decidable condition narrows or disables the rule; an undecidable one keeps it (no verdict is
 * stricter than what the workflow proves). Shapes as public workflows write them.
 */
import { describe, expect, it } from 'vitest';
import { extractCiModel } from '../../lambdas/engine/ci/index.js';
import { ciEvidenceFor } from '../../lambdas/engine/ci/verdict.js';
import { parseImageReference } from '../../lambdas/engine/reference/index.js';
import { memoryTree } from '../support/memory-tree.js';
import { imageWorkflow } from '../support/image-workflow.js';

/** A build-push workflow whose tags come from metadata-action with these rules, started by this `on:`. */
function workflow(on: string, rules: string[], flavor?: string): string {
  return imageWorkflow(
    `
      - id: meta
        uses: docker/metadata-action@v5
        with:
          images: ghcr.io/acme/web
${flavor ? `          flavor: ${flavor}\n` : ''}          tags: |
${rules.map((rule) => `            ${rule}`).join('\n')}
      - uses: docker/build-push-action@v6
        with:
          push: true
          tags: \${{ steps.meta.outputs.tags }}
`,
    `${on}\n`,
  );
}

function tagPushed(on: string, rules: string[], tag: string, flavor?: string): boolean | undefined {
  const { model } = extractCiModel(memoryTree({ '.github/workflows/image.yml': workflow(on, rules, flavor) }));
  const parsed = parseImageReference(`ghcr.io/acme/web:${tag}`);
  if (!parsed.ok) throw new Error('bad reference');
  return ciEvidenceFor(model, parsed.ref)?.tagPushed;
}

const MAIN_AND_TAGS = "  push:\n    branches: [main]\n    tags: ['v*']\n  pull_request:";
const TAGS_ONLY = "  push:\n    tags: ['v*']";
const DEVELOP_ONLY = '  push:\n    branches: [develop]';

describe('enable={{is_default_branch}}', () => {
  const latestOnDefault = ['type=semver,pattern={{version}}', 'type=raw,value=latest,enable={{is_default_branch}}'];

  it('keeps the rule when the workflow runs on branches (the default branch may be one of them)', () => {
    expect(tagPushed(MAIN_AND_TAGS, latestOnDefault, 'latest', 'latest=false')).toBe(true);
  });

  it('drops it when the workflow only runs for pushed tags (the action reads false there)', () => {
    expect(tagPushed(TAGS_ONLY, latestOnDefault, 'latest', 'latest=false')).toBe(false);
    expect(tagPushed(TAGS_ONLY, latestOnDefault, '1.4.2', 'latest=false')).toBe(true);
  });

  it('keeps it for tags when `create` starts the workflow (the action reads true for that event)', () => {
    expect(tagPushed("  create:\n  push:\n    tags: ['v*']", latestOnDefault, 'latest', 'latest=false')).toBe(true);
  });
});

describe("enable=${{ github.ref == 'refs/heads/main' }}", () => {
  const rule = "type=raw,value=stable,enable=${{ github.ref == 'refs/heads/main' }}";

  it('is never true when the workflow never runs on main', () => {
    expect(tagPushed(DEVELOP_ONLY, ['type=sha', rule], 'stable')).toBe(false);
    expect(tagPushed(DEVELOP_ONLY, ['type=sha', rule], 'sha-9f8e7d6')).toBe(true);
  });

  it('holds when main is allowed, also through a glob or any branch (workflow_dispatch)', () => {
    expect(tagPushed(MAIN_AND_TAGS, ['type=sha', rule], 'stable')).toBe(true);
    expect(tagPushed("  push:\n    branches: ['ma*']", ['type=sha', rule], 'stable')).toBe(true);
    expect(tagPushed('  workflow_dispatch:', ['type=sha', rule], 'stable')).toBe(true);
  });

  it('narrows type=ref,event=branch to the branch it names', () => {
    const on = '  push:\n    branches: [main, develop]';
    const branchOnMain = "type=ref,event=branch,enable=${{ github.ref == 'refs/heads/main' }}";
    expect(tagPushed(on, ['type=sha', branchOnMain], 'main')).toBe(true);
    expect(tagPushed(on, ['type=sha', branchOnMain], 'develop')).toBe(false);
  });

  it('a tag rule gated on a branch ref never runs (the rule needs a tag ref)', () => {
    const semverOnMain = "type=semver,pattern={{version}},enable=${{ github.ref == 'refs/heads/main' }}";
    expect(tagPushed(MAIN_AND_TAGS, ['type=sha', semverOnMain], '1.4.2')).toBe(false);
  });
});

describe('github.event_name and startsWith(github.ref, …)', () => {
  it("type=ref,event=pr with enable=${{ github.event_name != 'pull_request' }} never pushes pr-N", () => {
    const rules = ['type=ref,event=branch', "type=ref,event=pr,enable=${{ github.event_name != 'pull_request' }}"];
    expect(tagPushed(MAIN_AND_TAGS, rules, 'pr-42')).toBe(false);
    expect(tagPushed(MAIN_AND_TAGS, rules, 'main')).toBe(true);
  });

  it('type=sha on push events only: pushed when a push starts the workflow, never without one', () => {
    const rules = ['type=ref,event=pr', "type=sha,enable=${{ github.event_name == 'push' }}"];
    expect(tagPushed(MAIN_AND_TAGS, rules, 'sha-9f8e7d6')).toBe(true);
    expect(tagPushed('  pull_request:\n  workflow_dispatch:', rules, 'sha-9f8e7d6')).toBe(false);
  });

  it("startsWith(github.ref, 'refs/tags/') keeps tag-event rules and drops branch ones", () => {
    const rules = ['type=sha', "type=raw,value=release,enable=${{ startsWith(github.ref, 'refs/tags/') }}"];
    expect(tagPushed(MAIN_AND_TAGS, rules, 'release')).toBe(true);
    expect(tagPushed(DEVELOP_ONLY, rules, 'release')).toBe(false);
  });

  it("startsWith(github.ref, 'refs/tags/v') with tag filters that cannot start with v", () => {
    const rules = ['type=sha', "type=raw,value=release,enable=${{ startsWith(github.ref, 'refs/tags/v') }}"];
    expect(tagPushed("  push:\n    tags: ['release-*']", rules, 'release')).toBe(false);
    expect(tagPushed("  push:\n    tags: ['*']", rules, 'release')).toBe(true);
  });

  it('a disjunction holds when either side can', () => {
    const rule = "type=raw,value=stable,enable=${{ github.ref == 'refs/heads/main' || startsWith(github.ref, 'refs/tags/') }}";
    expect(tagPushed(DEVELOP_ONLY, ['type=sha', rule], 'stable')).toBe(false);
    expect(tagPushed(TAGS_ONLY, ['type=sha', rule], 'stable')).toBe(true);
  });

  it('a conjunction needs both sides', () => {
    const rule = "type=raw,value=stable,enable=${{ github.event_name == 'push' && github.ref == 'refs/heads/main' }}";
    expect(tagPushed('  push:\n    branches: [main]', ['type=sha', rule], 'stable')).toBe(true);
    expect(tagPushed('  pull_request:\n    branches: [main]\n  push:\n    branches: [develop]', ['type=sha', rule], 'stable')).toBe(false);
  });
});

describe('literal and undecidable conditions', () => {
  it('enable=false drops the rule, enable=true keeps it', () => {
    expect(tagPushed(MAIN_AND_TAGS, ['type=sha', 'type=raw,value=edge,enable=false'], 'edge')).toBe(false);
    expect(tagPushed(MAIN_AND_TAGS, ['type=sha', 'type=raw,value=edge,enable=true'], 'edge')).toBe(true);
  });

  it.each([
    ["${{ matrix.dist == 'debian' }}", 'a matrix value'],
    ['${{ inputs.publish }}', 'a dispatch input'],
    ["${{ github.ref == format('refs/heads/{0}', github.event.repository.default_branch) }}", 'format() against the default branch'],
    ["${{ !startsWith(github.ref, 'refs/tags/') }}", 'a negation'],
    ['${{ vars.PUBLISH_EDGE == \'true\' }}', 'a repository variable'],
  ])('keeps the rule when the condition is %s (%s)', (condition) => {
    expect(tagPushed(DEVELOP_ONLY, ['type=sha', `type=raw,value=edge,enable=${condition}`], 'edge')).toBe(true);
  });

  it('flavor latest= with a condition no run satisfies adds no latest', () => {
    const flavor = "latest=${{ github.ref == 'refs/heads/main' }}";
    expect(tagPushed(DEVELOP_ONLY, ['type=sha'], 'latest', flavor)).toBe(false);
    expect(tagPushed('  push:\n    branches: [main]', ['type=sha'], 'latest', flavor)).toBe(true);
  });

  it('an image entry disabled for every run the workflow allows names no push', () => {
    const wf = workflow(DEVELOP_ONLY, ['type=sha']).replace(
      '          images: ghcr.io/acme/web',
      "          images: |\n            ghcr.io/acme/web\n            name=ghcr.io/acme/web-mirror,enable=${{ github.ref == 'refs/heads/main' }}",
    );
    const { model } = extractCiModel(memoryTree({ '.github/workflows/image.yml': wf }));
    const mirror = parseImageReference('ghcr.io/acme/web-mirror:sha-9f8e7d6');
    if (!mirror.ok) throw new Error('bad reference');
    expect(ciEvidenceFor(model, mirror.ref)).toBeUndefined();
  });
});
