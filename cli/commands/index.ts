// Registry of `fl` subcommands: one import and one line per command.
import type { Command } from 'commander';
import { register as provision } from './provision.js';

type Register = (program: Command) => void;

const commands: Register[] = [
  provision,
];

export function registerAll(program: Command): void {
  for (const register of commands) register(program);
}
