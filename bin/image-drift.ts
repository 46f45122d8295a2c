// CLI entry: `image-drift <command>`. All behaviour lives in cli/ and lambdas/engine/.
import { main } from '../cli/main.js';
import { silenceNodeVersionSupportWarning } from '../cli/quiet-warnings.js';

silenceNodeVersionSupportWarning();
process.exitCode = await main(process.argv.slice(2));
