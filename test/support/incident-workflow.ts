/**
 * The motivating incident's build workflow: a dynamic service matrix (fromJson of a job output) whose
 * docker/build-push-action pushes only `<commit sha>` and `latest`. Shared by the CI-model unit tests and the
 * pull-request gate test.
 */
export const INCIDENT_WORKFLOW = `name: build
on:
  push:
    branches: [main]
jobs:
  changes:
    runs-on: ubuntu-latest
    outputs:
      services: \${{ steps.list.outputs.services }}
    steps:
      - id: list
        run: echo "services=$(ls services | jq -R -s -c 'split("\\n")[:-1]')" >> "$GITHUB_OUTPUT"
  image:
    needs: changes
    strategy:
      matrix:
        service: \${{ fromJson(needs.changes.outputs.services) }}
    runs-on: ubuntu-latest
    steps:
      - uses: docker/build-push-action@v6
        with:
          context: services/\${{ matrix.service }}
          push: true
          tags: |
            ghcr.io/acme/\${{ matrix.service }}:\${{ github.sha }}
            ghcr.io/acme/\${{ matrix.service }}:latest
`;
