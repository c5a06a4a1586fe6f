// Runs `fl` subcommands in-process (for CLI unit tests) and returns what they printed with console.log.
import { Command } from 'commander';
import { vi } from 'vitest';

export async function runCli(registers: readonly ((program: Command) => void)[], args: readonly string[]): Promise<string> {
  const program = new Command().exitOverride();
  for (const register of registers) register(program);
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  try {
    await program.parseAsync(['node', 'fl', ...args]);
  } finally {
    spy.mockRestore();
  }
  return lines.join('\n');
}
