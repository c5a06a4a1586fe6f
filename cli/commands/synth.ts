// `fl synth`: synthetic multicenter SLN ultrasound data (one folder per site, manifest.csv + PNGs).
import type { Command } from 'commander';
import { generateSites } from '../../shared/synth/generate.js';
import { STUDY_NAMES, STUDY_PROFILES, type StudyName } from '../../shared/synth/clinical.js';
import { CliError } from '../errors.js';

function integer(flag: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new CliError(`${flag} ${value}: expected an integer >= ${min}`, 2);
    return n;
  };
}

export function register(program: Command): void {
  program
    .command('synth')
    .description('generate synthetic multicenter grayscale + contrast-enhanced ultrasound data of sentinel lymph nodes')
    .requiredOption('--out <dir>', 'output directory (site-1/, site-2/, ... are created inside)')
    .option('--sites <n>', 'number of sites', integer('--sites', 1), 3)
    .option('--cases-per-site <m>', 'cases per site (train 60%, validation 10%, test 20%, prospective 10%)', integer('--cases-per-site', 4), 300)
    .option('--seed <s>', 'random seed (same seed, same files)', integer('--seed', 0), 1)
    .option('--image-size <px>', 'side of the square images', integer('--image-size', 32), 128)
    .option('--separation <d>', 'class separation of each modality’s evidence (default 1.6)', (v: string) => Number(v))
    .option('--pair <pair>', 'image pair per case: gsus-ceus (grey + contrast, default) or bmus-cdus (grey B-mode + RGB colour Doppler)')
    .option('--study <name>', `data shaped like a seed study (${STUDY_NAMES.join(', ')}): its clinical variables, outcome prevalence and image pair`)
    .option('--json', 'print the result as JSON')
    .action((o: { out: string; sites: number; casesPerSite: number; seed: number; imageSize: number; separation?: number; pair?: string; study?: string; json?: boolean }) => {
      if (o.study !== undefined && !(STUDY_NAMES as readonly string[]).includes(o.study)) throw new CliError(`--study ${o.study}: expected one of ${STUDY_NAMES.join(', ')}`, 2);
      if (o.pair !== undefined && o.pair !== 'gsus-ceus' && o.pair !== 'bmus-cdus') throw new CliError(`--pair ${o.pair}: expected gsus-ceus or bmus-cdus`, 2);
      const started = performance.now();
      let result;
      try {
        result = generateSites({
          out: o.out,
          sites: o.sites,
          casesPerSite: o.casesPerSite,
          seed: o.seed,
          imageSize: o.imageSize,
          ...(o.separation !== undefined ? { separation: o.separation } : {}),
          ...(o.pair !== undefined ? { pair: o.pair as 'gsus-ceus' | 'bmus-cdus' } : {}),
          ...(o.study !== undefined ? { study: o.study as StudyName } : {}),
        });
      } catch (err) {
        if (err instanceof Error && /options are invalid/.test(err.message)) throw new CliError(err.message, 2, { cause: err });
        throw err;
      }
      if (o.json) {
        console.log(JSON.stringify(result, null, 2));
        return;
      }
      if (o.study) console.log(`study ${o.study} (seed ${STUDY_PROFILES[o.study as StudyName].seed}): ${STUDY_PROFILES[o.study as StudyName].title}`);
      for (const s of result.sites) {
        const c = s.cases;
        const cohorts = (Object.keys(c) as (keyof typeof c)[]).map((k) => `${k} ${c[k].n} (${c[k].positives}+)`).join(', ');
        console.log(`${s.site}: ${s.manifest}`);
        console.log(`  ${cohorts}; ${o.study ? `outcome per the study profile` : `prevalence ${s.profile.prevalence.toFixed(2)}`}, gain ${s.profile.scanner.gain.toFixed(2)}, speckle ${s.profile.scanner.speckle.toFixed(2)}, blur ${s.profile.scanner.blur}px`);
      }
      console.log(`generated ${result.sites.length} sites × ${o.casesPerSite} cases at ${result.imageSize}px in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    });
}
