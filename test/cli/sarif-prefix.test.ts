import { describe, expect, it } from 'vitest';
import { prefixSarifUris } from '../../scripts/sarif-prefix.mjs';

const log = () => ({
  runs: [
    {
      results: [
        { locations: [{ physicalLocation: { artifactLocation: { uri: 'apps/web/kustomization.yaml', uriBaseId: '%SRCROOT%' }, region: { startLine: 3 } } }] },
        { locations: [{ physicalLocation: { artifactLocation: { uri: 'https://example.com/x' } } }] },
      ],
    },
  ],
});

describe('SARIF paths for the action when path is not "."', () => {
  it('prefixes relative artifact URIs with the audited directory, percent-encoded', () => {
    const out = prefixSarifUris(log(), './deploy/my gitops/');
    expect(out.runs[0]?.results[0]?.locations[0]?.physicalLocation.artifactLocation.uri).toBe('deploy/my%20gitops/apps/web/kustomization.yaml');
    expect(out.runs[0]?.results[1]?.locations[0]?.physicalLocation.artifactLocation.uri).toBe('https://example.com/x');
  });

  it('leaves the log alone for "."', () => {
    expect(prefixSarifUris(log(), '.')).toEqual(log());
  });
});
