/**
 * The commented starter written by `image-drift init`. It must parse and validate as is
 * (test/cdk/config-schema.test.ts checks it), so every example below is a real value.
 */
export const STARTER_CONFIG_YAML = `# image-drift.config.yaml — read by the image-drift CLI and by \`cdk deploy\`.
# Every key is optional except what deploying needs (one repository).
# Editor completion: docs/config.schema.json (JSON Schema).

# GitOps repositories to audit (GitHub). Deploying needs at least one.
repositories:
  - repo: my-org/gitops          # owner/name
    # ref: main                  # branch, tag or commit; default: the default branch
    # paths: [apps, clusters]    # default: the whole repository

# When the deployed auditor runs (EventBridge Scheduler).
# rate(N minutes|hours|days) or cron(min hour day-of-month month day-of-week year).
schedule: rate(1 hour)
# scheduleTimeZone: Europe/Berlin  # IANA zone the cron fields are read in; default UTC

# Who gets alerts. Each address receives a confirmation e-mail from AWS first.
notificationEmails: []
#  - platform-team@example.com

# Registry credentials are named here, never written here.
# Deployed: they come from the Secrets Manager secret (see docs/deploy.md).
# CLI: from the environment variable named by "env".
registries:
  ghcr.io:
    credential:
      type: github-token         # a classic PAT with read:packages (fine-grained PATs do not work for packages)
      env: GITHUB_TOKEN
  # docker.io:
  #   credential: { type: dockerhub, secretKey: docker.io, env: DOCKERHUB_CREDENTIALS }  # env holds "user:token"

# Platforms your nodes run; a multi-arch image lacking one is PLATFORM_MISSING.
platforms: [linux/amd64]

# Remind about alerts still open every N hours, in the run's one digest message (0 = never).
reminderIntervalHours: 168

# Runs without a verdict (rate limited, unreachable) before an image is UNVERIFIED.
unverifiedAfterRuns: 3

# Verdicts and drift states that fail the CLI (exit 1). Alerts are chosen by alertOn below.
failOn: [NEVER_PUSHED, DISAPPEARED, TAG_MISSING, REPO_MISSING, INVALID_REFERENCE]

# Verdicts and drift states that alert (e-mail). PRIVATE is not listed: a private image is fine while every
# workload pulls it with an imagePullSecret (pod spec or ServiceAccount); one that has none is PULL_SECRET_MISSING.
alertOn: [NEVER_PUSHED, DISAPPEARED, TAG_MISSING, REPO_MISSING, INVALID_REFERENCE, PLATFORM_MISSING, AUTH_FAILED, PULL_SECRET_MISSING, UNVERIFIED]

# NOT_VISIBLE_ANONYMOUSLY (no credential could see the image) alerts after this many runs (0 = never).
notVisibleAlertAfterRuns: 3

# Images that never alert, with the reason and an optional last day.
ignore: []
#  - image: "ghcr.io/my-org/legacy-*"   # glob; "*" stays within one path segment, "**" crosses them
#    app: legacy                        # optional glob over the app name
#    path: "clusters/dev/**"            # optional glob over the file that writes the image
#    reason: retired in Q1, see OPS-123
#    until: "2027-03-31"                # after this day the image alerts again and every run warns

# Paths no audit reads (like Renovate's ignorePaths): a glob matching a file or one of its directories.
# Excluded files are never loaded; a note counts them. The CLI adds --exclude GLOB.
exclude: []
#  - test/                          # a directory and everything under it
#  - "**/docker-compose.test.yml"   # a file name at any depth

# github:
#   baseUrl: https://github.example.com/api/v3   # GitHub Enterprise Server
#   packagesTokenSeesAllPackages: false          # true only for an org-owner token

# Days run summaries and drift events are kept in DynamoDB (current states are kept).
historyRetentionDays: 90

# lambda: { memoryMb: 512, timeoutSeconds: 300 }
`;
