// Registry of `fl` subcommands: one import and one line per command.
import type { Command } from 'commander';
import { register as synth } from './synth.js';
import { register as data } from './data.js';
import { register as provision } from './provision.js';
import { register as coordinator } from './coordinator.js';
import { register as site } from './site.js';
import { register as demo } from './demo.js';
import { register as audit } from './audit.js';
import { register as status } from './status.js';
import { register as study } from './study.js';
import { register as evaluate } from './evaluate.js';
import { register as radiomics } from './radiomics.js';
import { register as fit } from './fit.js';
import { register as init } from './init.js';

type Register = (program: Command) => void;

const commands: Register[] = [
  synth,
  data,
  provision,
  coordinator,
  site,
  demo,
  audit,
  status,
  study,
  evaluate,
  radiomics,
  fit,
  init,
];

export function registerAll(program: Command): void {
  for (const register of commands) register(program);
}
