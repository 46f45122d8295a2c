/**
 * The CI model over real-world workflow shapes: literal build-push-action tags, docker/metadata-action
 * rules, matrix + `run: docker push`, reusable workflows, dynamic matrices; and the verdict for a
 * desired tag: CI_NEVER_PUSHES_TAG only when no pattern can produce it, nothing when we cannot tell.
 */
import { describe, expect, it } from 'vitest';
import { extractCiModel } from '../../lambdas/engine/ci/index.js';
import { ciEvidenceFor } from '../../lambdas/engine/ci/verdict.js';
import { parseImageReference } from '../../lambdas/engine/reference/index.js';
import type { ImageReference } from '../../lambdas/engine/model.js';
import { INCIDENT_WORKFLOW } from '../support/incident-workflow.js';
import { memoryTree } from '../support/memory-tree.js';

function ref(text: string): ImageReference {
  const parsed = parseImageReference(text);
  if (!parsed.ok) throw new Error(`bad reference ${text}`);
  return parsed.ref;
}

function verdict(workflows: Record<string, string>, image: string, repository?: string) {
  const { model } = extractCiModel(memoryTree(workflows), { repository });
  return ciEvidenceFor(model, ref(image));
}

const LITERAL_BUILD_PUSH = `name: release
on:
  push:
    branches: [main]
jobs:
  docker:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: docker/login-action@v3
        with:
          registry: ghcr.io
          username: \${{ github.actor }}
          password: \${{ secrets.GITHUB_TOKEN }}
      - uses: docker/build-push-action@v6
        with:
          context: .
          push: true
          tags: |
            ghcr.io/acme/payments:\${{ github.sha }}
            ghcr.io/acme/payments:latest
`;

describe('docker/build-push-action with literal tags', () => {
  it('reports the workflow lines, job and tag patterns, and that `edge` is never pushed', () => {
    const evidence = verdict({ '.github/workflows/release.yml': LITERAL_BUILD_PUSH }, 'ghcr.io/acme/payments:edge');
    expect(evidence).toEqual({
      tagPushed: false,
      pushes: [
        {
          workflow: '.github/workflows/release.yml',
          startLine: 19,
          endLine: 21,
          job: 'docker',
          via: 'docker/build-push-action',
          name: 'ghcr.io/acme/payments',
          tags: ['<commit sha>', 'latest'],
          tagPushed: false,
        },
      ],
    });
  });

  it('accepts a full commit sha and latest (true negatives)', () => {
    const files = { '.github/workflows/release.yml': LITERAL_BUILD_PUSH };
    expect(verdict(files, 'ghcr.io/acme/payments:9f8e7d6c5b4a39281706f5e4d3c2b1a098765432')?.tagPushed).toBe(true);
    expect(verdict(files, 'ghcr.io/acme/payments:latest')?.tagPushed).toBe(true);
    // a short sha is not a full one: build-push-action was given github.sha
    expect(verdict(files, 'ghcr.io/acme/payments:9f8e7d6')?.tagPushed).toBe(false);
  });

  it('says nothing about a repository no workflow names', () => {
    expect(verdict({ '.github/workflows/release.yml': LITERAL_BUILD_PUSH }, 'ghcr.io/acme/other:edge')).toBeUndefined();
  });

  it('ignores a build that does not push (push: false or absent)', () => {
    const noPush = LITERAL_BUILD_PUSH.replace('push: true', 'push: false');
    expect(verdict({ '.github/workflows/release.yml': noPush }, 'ghcr.io/acme/payments:edge')).toBeUndefined();
    const absent = LITERAL_BUILD_PUSH.replace('          push: true\n', '');
    expect(verdict({ '.github/workflows/release.yml': absent }, 'ghcr.io/acme/payments:edge')).toBeUndefined();
  });

  it('treats `push: ${{ github.event_name != ... }}` as a push', () => {
    const conditional = LITERAL_BUILD_PUSH.replace('push: true', "push: ${{ github.event_name != 'pull_request' }}");
    expect(verdict({ '.github/workflows/release.yml': conditional }, 'ghcr.io/acme/payments:edge')?.tagPushed).toBe(false);
  });

  it('treats `outputs: ${{ steps.x.outputs.value }}` (type=image,push=true or a tarball, as dex chooses) as a push', () => {
    const chosen = LITERAL_BUILD_PUSH.replace('push: true', 'outputs: ${{ steps.build-output.outputs.value }}');
    expect(verdict({ '.github/workflows/release.yml': chosen }, 'ghcr.io/acme/payments:edge')?.tagPushed).toBe(false);
    const tarball = LITERAL_BUILD_PUSH.replace('push: true', 'outputs: type=oci,dest=image.tar');
    expect(verdict({ '.github/workflows/release.yml': tarball }, 'ghcr.io/acme/payments:edge')).toBeUndefined();
  });
});

const METADATA = `name: ci
on:
  push:
    branches: ['main', 'release/**']
    tags: ['v*']
  pull_request:
    branches: [main]
jobs:
  image:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: meta
        uses: docker/metadata-action@v5
        with:
          images: |
            ghcr.io/Acme/web
          tags: |
            type=ref,event=branch
            type=ref,event=pr
            type=sha
            type=semver,pattern={{version}}
            type=semver,pattern={{major}}.{{minor}}
      - uses: docker/build-push-action@v6
        with:
          push: \${{ github.event_name != 'pull_request' }}
          tags: \${{ steps.meta.outputs.tags }}
          labels: \${{ steps.meta.outputs.labels }}
`;

describe('docker/metadata-action rules wired through steps.<id>.outputs.tags', () => {
  const files = { '.github/workflows/ci.yml': METADATA };

  it.each([
    ['sha-9f8e7d6', 'type=sha (prefix sha-, 7 characters)'],
    ['main', 'a branch the push trigger allows'],
    ['release-2024.1', 'a release/** branch, `/` sanitised to `-`'],
    ['1.4.2', 'a semver release tag, v stripped'],
    ['1.4', '{{major}}.{{minor}}'],
    ['2.0.0-rc.1', 'a semver prerelease'],
    ['latest', 'flavor latest=auto with semver rules'],
  ])('can push %s (%s)', (tag) => {
    expect(verdict(files, `ghcr.io/acme/web:${tag}`)?.tagPushed).toBe(true);
  });

  it.each([['dev-latest'], ['edge'], ['develop'], ['sha-9f8e7d6c5b4a39281706f5e4d3c2b1a098765432'], ['pr-42']])('never pushes %s', (tag) => {
    const evidence = verdict(files, `ghcr.io/acme/web:${tag}`);
    expect(evidence?.tagPushed).toBe(false);
    // type=ref,event=pr yields pr-<n> only on pull requests, when `push: ${{ github.event_name != 'pull_request' }}` pushes nothing.
    expect(evidence?.pushes[0]?.tags).toEqual(['<branch>', 'sha-<short sha>', '<version>', '<major>.<minor>', 'latest']);
  });

  it('pushes pr-<n> when the push condition allows pull requests', () => {
    const always = { '.github/workflows/ci.yml': METADATA.replace("push: ${{ github.event_name != 'pull_request' }}", 'push: true') };
    expect(verdict(always, 'ghcr.io/acme/web:pr-42')?.tagPushed).toBe(true);
    const stepIf = { '.github/workflows/ci.yml': METADATA.replace("push: ${{ github.event_name != 'pull_request' }}", 'push: true').replace('      - uses: docker/build-push-action@v6\n', "      - uses: docker/build-push-action@v6\n        if: github.event_name == 'push'\n") };
    expect(verdict(stepIf, 'ghcr.io/acme/web:pr-42')?.tagPushed).toBe(false);
    expect(verdict(stepIf, 'ghcr.io/acme/web:main')?.tagPushed).toBe(true);
  });

  it('uses the default rules when `tags` is not given (branch, tag, pr; latest on tag events)', () => {
    const defaults = METADATA.replace(/ {10}tags: \|\n(?: {12}type=.*\n)+/, '');
    expect(verdict({ '.github/workflows/ci.yml': defaults }, 'ghcr.io/acme/web:v1.2.3')?.tagPushed).toBe(true);
    expect(verdict({ '.github/workflows/ci.yml': defaults }, 'ghcr.io/acme/web:sha-9f8e7d6')?.tagPushed).toBe(false);
  });

  it('a branch-only trigger bounds type=ref,event=branch and produces no semver tags', () => {
    const mainOnly = METADATA.replace("    tags: ['v*']\n", '');
    expect(verdict({ '.github/workflows/ci.yml': mainOnly }, 'ghcr.io/acme/web:1.4.2')?.tagPushed).toBe(false);
    expect(verdict({ '.github/workflows/ci.yml': mainOnly }, 'ghcr.io/acme/web:main')?.tagPushed).toBe(true);
  });

  it('workflow_dispatch allows any branch, so a branch-shaped tag cannot be ruled out', () => {
    const dispatch = METADATA.replace('on:\n', 'on:\n  workflow_dispatch:\n');
    expect(verdict({ '.github/workflows/ci.yml': dispatch }, 'ghcr.io/acme/web:develop')?.tagPushed).toBe(true);
  });

  it('applies flavor prefix/suffix and type=raw values with global expressions', () => {
    const raw = METADATA.replace(
      '            type=ref,event=branch\n',
      '            type=raw,value=nightly-{{date \'YYYYMMDD\'}}\n            type=raw,value=stable,enable=${{ github.ref == \'refs/heads/main\' }}\n',
    ).replace('      - uses: docker/build-push-action', '      - uses: docker/build-push-action').replace('          images: |', '          flavor: |\n            suffix=-alpine\n          images: |');
    const workflows = { '.github/workflows/ci.yml': raw };
    expect(verdict(workflows, 'ghcr.io/acme/web:stable')?.tagPushed).toBe(true);
    expect(verdict(workflows, 'ghcr.io/acme/web:stable-alpine')?.tagPushed).toBe(true);
    expect(verdict(workflows, 'ghcr.io/acme/web:nightly-20240101')?.tagPushed).toBe(true);
    expect(verdict(workflows, 'ghcr.io/acme/web:unstable')?.tagPushed).toBe(false);
  });
});

const MATRIX_RUN = `on:
  push:
    branches: [main]
env:
  REGISTRY: ghcr.io/acme
jobs:
  build:
    strategy:
      matrix:
        service: [auth-api, billing]
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Build and push
        env:
          IMAGE: \${{ env.REGISTRY }}/\${{ matrix.service }}
        run: |
          SHORT=\${GITHUB_SHA::7}
          docker build -t "$IMAGE:$SHORT" -t $IMAGE:main .
          docker push "$IMAGE:$SHORT"
          docker push $IMAGE:main
`;

describe('strategy.matrix and run: docker build/push with shell variables', () => {
  const files = { '.github/workflows/build.yml': MATRIX_RUN };

  it('expands the static matrix and the shell variables', () => {
    const evidence = verdict(files, 'ghcr.io/acme/billing:dev-latest');
    expect(evidence?.tagPushed).toBe(false);
    expect(evidence?.pushes.map((p) => [p.startLine, p.via, p.name, p.tags])).toEqual([
      [20, 'docker push', 'ghcr.io/acme/<matrix.service>', ['<short sha>']],
      [21, 'docker push', 'ghcr.io/acme/<matrix.service>', ['main']],
    ]);
  });

  it('accepts the short sha and the branch tag (true negatives)', () => {
    expect(verdict(files, 'ghcr.io/acme/auth-api:9f8e7d6')?.tagPushed).toBe(true);
    expect(verdict(files, 'ghcr.io/acme/auth-api:main')?.tagPushed).toBe(true);
  });

  it('says nothing about a service outside the matrix', () => {
    expect(verdict(files, 'ghcr.io/acme/web:dev-latest')).toBeUndefined();
  });

  it('docker push --all-tags pushes the tags the job built', () => {
    const allTags = MATRIX_RUN.replace('docker push "$IMAGE:$SHORT"\n          docker push $IMAGE:main', 'docker push --all-tags "$IMAGE"');
    const evidence = verdict({ '.github/workflows/build.yml': allTags }, 'ghcr.io/acme/billing:dev-latest');
    expect(evidence?.pushes[0]?.tags).toEqual(['<short sha>', 'main']);
    expect(evidence?.tagPushed).toBe(false);
  });

  it('a tag from a variable we cannot read may be anything: no verdict against it', () => {
    const unknown = MATRIX_RUN.replace('docker push $IMAGE:main', 'docker push $IMAGE:$(cat VERSION)');
    expect(verdict({ '.github/workflows/build.yml': unknown }, 'ghcr.io/acme/billing:dev-latest')?.tagPushed).toBe(true);
  });

  it('an unmodelled publisher (make push) in the same repository silences every verdict', () => {
    const make = MATRIX_RUN.replace('docker push $IMAGE:main', 'make docker-push');
    expect(verdict({ '.github/workflows/build.yml': make }, 'ghcr.io/acme/billing:dev-latest')?.tagPushed).toBe(true);
  });
});


describe('a dynamic matrix (fromJson) becomes a wildcard', () => {
  it('every service under the literal prefix is judged against <commit sha> and latest', () => {
    for (const service of ['auth-api', 'billing', 'web']) {
      const evidence = verdict({ '.github/workflows/build.yml': INCIDENT_WORKFLOW }, `ghcr.io/acme/${service}:dev-latest`);
      expect(evidence?.tagPushed).toBe(false);
      expect(evidence?.pushes[0]).toMatchObject({ startLine: 24, endLine: 26, name: 'ghcr.io/acme/<matrix.service>', tags: ['<commit sha>', 'latest'] });
    }
    expect(verdict({ '.github/workflows/build.yml': INCIDENT_WORKFLOW }, 'ghcr.io/acme/web:latest')?.tagPushed).toBe(true);
  });

  it('an image name that is entirely an expression claims nothing', () => {
    const dynamicName = INCIDENT_WORKFLOW.replace(/ghcr\.io\/acme\/\$\{\{ matrix\.service \}\}/g, '${{ matrix.image }}');
    expect(verdict({ '.github/workflows/build.yml': dynamicName }, 'ghcr.io/acme/web:dev-latest')).toBeUndefined();
  });
});

describe('reusable workflows in the same repository', () => {
  const caller = `on:
  push:
    branches: [main]
    tags: ['v*']
jobs:
  api:
    uses: ./.github/workflows/docker.yml
    with:
      image: ghcr.io/acme/api
  worker:
    uses: ./.github/workflows/docker.yml
    with:
      image: ghcr.io/acme/worker
      suffix: -worker
`;
  const called = `on:
  workflow_call:
    inputs:
      image:
        type: string
        required: true
      suffix:
        type: string
        default: ''
jobs:
  push:
    runs-on: ubuntu-latest
    steps:
      - id: meta
        uses: docker/metadata-action@v5
        with:
          images: \${{ inputs.image }}
          tags: |
            type=semver,pattern={{version}}\${{ inputs.suffix }}
            type=sha,format=long
      - uses: docker/build-push-action@v6
        with:
          push: true
          tags: \${{ steps.meta.outputs.tags }}
`;
  const files = { '.github/workflows/release.yml': caller, '.github/workflows/docker.yml': called };

  it('reads the called workflow with the caller inputs and triggers', () => {
    const api = verdict(files, 'ghcr.io/acme/api:dev');
    expect(api?.tagPushed).toBe(false);
    expect(api?.pushes).toHaveLength(1);
    expect(api?.pushes[0]).toMatchObject({ workflow: '.github/workflows/docker.yml', job: 'api → push', tags: ['<version>', 'sha-<commit sha>', 'latest'] });
    expect(verdict(files, 'ghcr.io/acme/api:1.2.0')?.tagPushed).toBe(true);
    expect(verdict(files, 'ghcr.io/acme/worker:1.2.0-worker')?.tagPushed).toBe(true);
    expect(verdict(files, 'ghcr.io/acme/worker:1.2.0')?.pushes[0]?.tags).toEqual(['<version>-worker', 'sha-<commit sha>', 'latest']);
  });

  it('a reusable workflow from another repository may push anything', () => {
    const remote = caller.replace('uses: ./.github/workflows/docker.yml\n    with:\n      image: ghcr.io/acme/api', 'uses: acme/ci/.github/workflows/docker.yml@v1\n    with:\n      image: ghcr.io/acme/api');
    expect(verdict({ ...files, '.github/workflows/release.yml': remote }, 'ghcr.io/acme/worker:dev')?.tagPushed).toBe(true);
  });
});

describe('github context values', () => {
  it('github.repository is known when the repository is', () => {
    const workflow = LITERAL_BUILD_PUSH.replace(/ghcr\.io\/acme\/payments/g, 'ghcr.io/${{ github.repository }}');
    expect(verdict({ '.github/workflows/r.yml': workflow }, 'ghcr.io/acme/payments:edge', 'acme/payments')?.tagPushed).toBe(false);
    expect(verdict({ '.github/workflows/r.yml': workflow }, 'ghcr.io/acme/payments:edge')).toBeUndefined();
  });

  it('ko build --bare with KO_DOCKER_REPO and --tags', () => {
    const ko = `on: { push: { tags: ['v*'] } }
jobs:
  ko:
    runs-on: ubuntu-latest
    env:
      KO_DOCKER_REPO: ghcr.io/acme/controller
    steps:
      - run: ko build --bare --tags \${{ github.ref_name }},latest ./cmd/controller
`;
    expect(verdict({ '.github/workflows/ko.yml': ko }, 'ghcr.io/acme/controller:v0.3.1')?.tagPushed).toBe(true);
    expect(verdict({ '.github/workflows/ko.yml': ko }, 'ghcr.io/acme/controller:main')?.tagPushed).toBe(false);
  });
});

describe('shapes measured on public repositories (podinfo, Reloader, opentelemetry-demo)', () => {
  const release = (run: string) => `on:
  push:
    tags: ['v*']
jobs:
  release:
    runs-on: ubuntu-latest
    steps:
      - run: |
${run
  .split('\n')
  .map((line) => `          ${line}`)
  .join('\n')}
`;

  it('a name lower-cased with tr and a tag from ${GITHUB_REF#refs/*/} (Reloader)', () => {
    const workflow = release('IMAGE=ghcr.io/$(echo ${{ github.repository }} | tr \'[:upper:]\' \'[:lower:]\')\ndocker buildx build --push -t $IMAGE:${GITHUB_REF#refs/*/} .');
    expect(verdict({ '.github/workflows/release.yaml': workflow }, 'ghcr.io/stakater/reloader:v1.4.14', 'stakater/Reloader')?.tagPushed).toBe(true);
    expect(verdict({ '.github/workflows/release.yaml': workflow }, 'ghcr.io/stakater/reloader:main', 'stakater/Reloader')?.tagPushed).toBe(false);
  });

  it('helm push / flux push artifact to oci:// only cover their own repositories (podinfo)', () => {
    const workflow = release('docker push ghcr.io/acme/app:${GITHUB_REF_NAME}\nhelm push app-1.0.0.tgz oci://ghcr.io/acme/charts\nflux push artifact oci://ghcr.io/acme/manifests/app:${GITHUB_REF_NAME} --path=./kustomize');
    expect(verdict({ '.github/workflows/release.yml': workflow }, 'ghcr.io/acme/app:main')?.tagPushed).toBe(false);
    expect(verdict({ '.github/workflows/release.yml': workflow }, 'ghcr.io/acme/charts/app:anything')?.tagPushed).toBe(true);
  });

  it('case labels and [[ tests that mention push are not publishers (opentelemetry-demo)', () => {
    const workflow = release('case "$EVENT_NAME" in\n  push) echo main ;;\nesac\nif [[ "$EVENT_NAME" == "push" ]]; then echo yes; fi\ndocker push ghcr.io/acme/app:${GITHUB_REF_NAME}');
    expect(verdict({ '.github/workflows/release.yml': workflow }, 'ghcr.io/acme/app:main')?.tagPushed).toBe(false);
  });

  it('goreleaser pushes the images its config names, with any tag; without a config anything', () => {
    const workflow = release('goreleaser release --clean\ndocker push ghcr.io/acme/other:${GITHUB_REF_NAME}');
    const config = 'dockers:\n  - image_templates:\n      - "ghcr.io/acme/cli:{{ .Version }}-amd64"\n';
    const files = { '.github/workflows/release.yml': workflow, '.goreleaser.yaml': config };
    expect(verdict(files, 'ghcr.io/acme/cli:1.0.0-amd64')?.tagPushed).toBe(true);
    expect(verdict(files, 'ghcr.io/acme/other:main')?.tagPushed).toBe(false);
    expect(verdict({ '.github/workflows/release.yml': workflow }, 'ghcr.io/acme/other:main')?.tagPushed).toBe(true);
  });
});
