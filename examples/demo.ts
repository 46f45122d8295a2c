/**
 * `npm run demo`: the README's main command. Audits examples/gitops the way a platform team would,
 * without an internet connection or a cloud account:
 *
 * - a real CNCF distribution registry (Debian `docker-registry`) on 127.0.0.1 plays ghcr.io and
 *   docker.io, behind a token server that behaves like GHCR (private packages are hidden from
 *   anonymous callers); it holds what "CI pushed" (examples/gitops/registry-seed.json);
 * - a loopback server speaking the GitHub Packages REST API answers for the demo token;
 * - `image-drift audit` runs with `--registry-endpoint` mappings and the embedded history store.
 *
 * The example repository reproduces the incident: the dev overlay asks for auth-api:dev-latest,
 * a tag CI never pushed. Exit code 0 when the demo ran (the audit finding drift is the point).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { main } from '../cli/main.js';
import { silenceNodeVersionSupportWarning } from '../cli/quiet-warnings.js';
import { startGitHubPackagesServer, type FakeOwner } from '../test/support/github-packages-server.js';
import { startLocalRegistry } from '../test/support/registry.js';

const SeedSchema = z.object({
  images: z.array(
    z.object({
      repository: z.string(),
      registry: z.string().default('ghcr.io'),
      tags: z.array(z.string()),
      platforms: z.array(z.string()).min(1),
      visibility: z.enum(['public', 'private']),
    }),
  ),
});

const exampleDir = resolve(import.meta.dirname, 'gitops');
const stateDir = resolve('.image-drift', 'demo');
const DEMO_TOKEN = 'ghp_demo_token_with_read_packages';

function ensureDockerRegistry(): void {
  if (spawnSync('docker-registry', ['--version'], { stdio: 'ignore' }).status === 0) return;
  const canInstall = process.getuid?.() === 0 && spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!canInstall) {
    console.error('The demo needs the CNCF distribution registry: sudo apt-get install docker-registry (Debian/Ubuntu).');
    process.exit(2);
  }
  console.error('demo: installing the Debian package docker-registry (the real CNCF registry the demo runs on 127.0.0.1)…');
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'docker-registry'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

async function run(): Promise<number> {
  silenceNodeVersionSupportWarning();
  ensureDockerRegistry();
  const seed = SeedSchema.parse(JSON.parse(readFileSync(join(exampleDir, 'registry-seed.json'), 'utf8')));
  const registry = await startLocalRegistry({
    privateRepositories: seed.images.filter((image) => image.visibility === 'private').map((image) => image.repository),
    tokens: [DEMO_TOKEN],
  });
  const owners = new Map<string, FakeOwner>();
  let versionId = 1;
  try {
    for (const image of seed.images) {
      const owner = image.repository.split('/')[0] ?? '';
      const entry = owners.get(owner) ?? { login: owner, type: 'Organization' as const, packages: [] };
      owners.set(owner, entry);
      const versions = [];
      for (const tag of image.tags) {
        const pushed =
          image.platforms.length > 1
            ? await registry.pushIndex(image.repository, tag, image.platforms)
            : await registry.pushImage(image.repository, tag, { platform: image.platforms[0] ?? 'linux/amd64' });
        versions.push({ id: versionId++, digest: pushed.digest, tags: [tag], updatedAt: '2026-11-20T08:00:00Z' });
      }
      entry.packages.push({ name: image.repository.slice(owner.length + 1), visibility: image.visibility, versions });
    }
    const packagesApi = await startGitHubPackagesServer({
      owners: [...owners.values()],
      tokens: [{ token: DEMO_TOKEN, scopes: ['read:packages'], sees: 'all' }],
    });
    try {
      // Isolate the demo from the user's own credentials: an empty Docker config, the demo token only.
      process.env.DOCKER_CONFIG = mkdtempSync(join(tmpdir(), 'image-drift-demo-docker-'));
      process.env.GITHUB_TOKEN = DEMO_TOKEN;
      delete process.env.GH_TOKEN;
      rmSync(stateDir, { recursive: true, force: true });

      console.log(`demo: registry ${registry.url} serves ghcr.io and docker.io; ${seed.images.length} repositories pushed (no dev-latest tag, as in the incident)\n`);
      const args = [
        'audit',
        '--dir',
        exampleDir,
        '--registry-endpoint',
        `ghcr.io=${registry.url}`,
        '--registry-endpoint',
        `docker.io=${registry.url}`,
        '--github-api-url',
        packagesApi.url,
        '--packages-token-sees-all',
        '--state-dir',
        stateDir,
        // The demo talks to its local servers only: the example's remote chart (kube-prometheus-stack) is not fetched.
        '--offline',
        ...process.argv.slice(2),
      ];
      console.log(`$ image-drift ${args.map((arg) => (arg.includes(' ') ? JSON.stringify(arg) : arg)).join(' ')}\n`);
      const code = await main(args);
      console.log(
        code === 1
          ? '\ndemo: exit code 1 — the audit found the drift the example plants (a pull-request gate would fail here).'
          : `\ndemo: exit code ${code}.`,
      );
      console.log('demo: try `npx image-drift history --state-dir .image-drift/demo` and `npx image-drift open --state-dir .image-drift/demo`.');
      return code === 0 || code === 1 ? 0 : code;
    } finally {
      await packagesApi.stop();
    }
  } finally {
    await registry.stop();
  }
}

process.exitCode = await run();
