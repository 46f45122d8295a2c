/**
 * The construct as another CDK app gets it: `npm pack` (which runs `prepare`, the build), the tarball unpacked into
 * the app's node_modules with its dependencies and peers linked from this project's install (the tests reach no
 * registry), and a plain-JavaScript app without a lock file, esbuild or TypeScript loader that synthesizes it.
 * Before the package shipped a compiled construct and a prebuilt Lambda bundle, NodejsFunction failed at synth
 * (`LockFileDoesnTExist`: no package-lock.json in a packed package) or the TypeScript sources could not be loaded.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  /** npm installs these by default; the construct's helm layer comes from one. */
  optionalDependencies?: Record<string, string>;
};

const APP = `import { App, Stack } from 'aws-cdk-lib';
import { ImageDriftAuditor } from 'image-drift-auditor/construct';

const app = new App({ outdir: 'cdk.out' });
const stack = new Stack(app, 'Consumer', { env: { account: '123456789012', region: 'eu-west-1' } });
const repositories = Array.from({ length: 100 }, (_, i) => ({ repo: \`acme/gitops-\${i}\` }));
new ImageDriftAuditor(stack, 'Auditor', { config: { repositories, notificationEmails: ['ops@example.com', 'oncall@example.com'] } });
app.synth();
`;

describe('the construct installed from the packed package into another CDK app', () => {
  let work: string;
  let app: string;
  let synth: ReturnType<typeof spawnSync>;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'idr-construct-'));
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const [packed] = JSON.parse(out) as Array<{ filename: string }>;
    if (!packed) throw new Error('npm pack reported no tarball');
    app = join(work, 'app');
    const modules = join(app, 'node_modules');
    const installed = join(modules, 'image-drift-auditor');
    mkdirSync(installed, { recursive: true });
    execFileSync('tar', ['xzf', join(work, packed.filename), '-C', installed, '--strip-components=1']);
    for (const dep of Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies, ...manifest.optionalDependencies })) {
      mkdirSync(join(modules, dep, '..'), { recursive: true });
      symlinkSync(join(ROOT, 'node_modules', dep), join(modules, dep), 'dir');
    }
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    writeFileSync(join(app, 'app.mjs'), APP);
    // A PATH without this project's node_modules/.bin: no esbuild to fall back on.
    synth = spawnSync(process.execPath, ['app.mjs'], { cwd: app, encoding: 'utf8', env: { PATH: '/usr/bin:/bin', HOME: process.env.HOME } });
  }, 240_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('synthesizes with 100 repositories, no lock file and no bundler in the app', () => {
    expect(existsSync(join(app, 'package-lock.json'))).toBe(false);
    expect(synth.stderr).not.toMatch(/LockFileDoesnTExist|Error/);
    expect(synth.status).toBe(0);
  });

  it('deploys the prebuilt Lambda bundle and the config layer, and the state machine maps over the repositories', () => {
    const template = JSON.parse(readFileSync(join(app, 'cdk.out', 'Consumer.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
    };
    const resources = Object.values(template.Resources);
    const fn = resources.find((r) => r.Type === 'AWS::Lambda::Function');
    expect(fn?.Properties).toMatchObject({ Handler: 'handler.handler', Runtime: 'nodejs24.x', Architectures: ['x86_64'] });
    const asset = (fn?.Properties.Code as { S3Key: string }).S3Key.replace(/\.zip$/, '');
    const bundle = readFileSync(join(app, 'cdk.out', `asset.${asset}`, 'handler.mjs'), 'utf8');
    expect(bundle.length).toBeGreaterThan(100_000);
    // Two layers: the config file, and helm + kubectl (KubectlV35Layer, x86_64 only: hence the architecture).
    expect(resources.filter((r) => r.Type === 'AWS::Lambda::LayerVersion')).toHaveLength(2);
    const machine = resources.find((r) => r.Type === 'AWS::StepFunctions::StateMachine');
    const definition = JSON.stringify(machine?.Properties.DefinitionString);
    expect(definition).toContain('acme/gitops-99');
    expect(definition).toContain('\\"Type\\":\\"Map\\"');
  });
});
