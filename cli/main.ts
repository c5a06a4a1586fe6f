// The single `fl` command-line entry. Each subcommand lives in its own file under
// cli/commands/ and is added to the program by one line in cli/commands/index.ts.
import { Command, CommanderError } from 'commander';
import { registerAll } from './commands/index.js';
import { CliError } from './errors.js';
import { isUserError } from '../shared/errors/index.js';


const program = new Command();
program
  .name('fl')
  .description('Multicenter federated learning for medical imaging (coordinator, site agents, statistics, audit)')
  .showHelpAfterError()
  .exitOverride();

registerAll(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode;
  } else if (err instanceof CliError) {
    console.error(`fl: ${err.message}`);
    process.exitCode = err.exitCode;
  } else if (isUserError(err)) {
    // Expected failures caused by the input (a config field, a manifest row, a certificate):
    // their message names the problem; a stack trace would only hide it.
    console.error(`fl: ${err.message}`);
    process.exitCode = 2;
  } else {
    console.error(`fl: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
  }
}
