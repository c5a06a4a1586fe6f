import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSites } from '../../shared/synth/generate.js';
import { ALL_FEATURES } from '../../shared/radiomics/registry.js';
import { runCli } from '../../test/helpers/cli.js';
import { register } from './radiomics.js';

const dir = mkdtempSync(join(tmpdir(), 'fl-radiomics-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const site = generateSites({ out: dir, sites: 1, casesPerSite: 8, seed: 4, imageSize: 64 }).sites[0]!;

describe('fl radiomics', () => {
  it('extracts lesion and peri-lesional features of a synthetic site into one row per case, with the settings beside', async () => {
    const out = join(dir, 'f.csv');
    const json = JSON.parse(await runCli([register], ['radiomics', 'extract', '--manifest', site.manifest, '--modality', 'gsus', '--region', 'lesion', '--region', 'peri:1mm', '--bin-count', '16', '--texture-aggregation', 'merge', '--out', out, '--json']));
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    const header = lines[0]!.split(',');
    expect(lines.length).toBe(9);
    expect(header.slice(0, 2)).toEqual(['case_id', 'cohort']);
    expect(header).toContain('gsus.lesion.cm_contrast');
    expect(header).toContain('gsus.peri:1mm.morph2d_area');
    expect(header.length).toBe(2 + 2 * ALL_FEATURES.length);
    expect(json.cases).toBe(8);
    const settings = JSON.parse(readFileSync(join(dir, 'f.settings.json'), 'utf8'));
    expect(settings.discretisation.binCount).toBe(16);
    expect(settings.textureAggregation).toMatch(/^merge/);
    expect(settings.pixelSpacing[0]).toMatch(/gsus_spacing_mm/);
    // Lesion area from the mask agrees with the pixel count times the spacing.
    const row = lines[1]!.split(',');
    expect(Number(row[header.indexOf('gsus.lesion.morph2d_pixel_area')])).toBeGreaterThan(0);
  });

  it('refuses a ring in mm without a pixel spacing, naming the row', async () => {
    const text = readFileSync(site.manifest, 'utf8').split('\n');
    const col = text[0]!.split(',').indexOf('gsus_spacing_mm');
    const edited = text.map((l, k) => (k === 2 ? l.split(',').map((f, j) => (j === col ? '' : f)).join(',') : l)).join('\n');
    const manifest = join(site.dir, 'no-spacing.csv');
    writeFileSync(manifest, edited);
    await expect(runCli([register], ['radiomics', 'extract', '--manifest', manifest, '--modality', 'gsus', '--region', 'peri:2mm', '--out', join(dir, 'g.csv')])).rejects.toThrow(/row 3 \(case S1-0002\): region peri:2mm is in mm but the pixel spacing is unknown/);
  });

  it('lists every feature with its IBSI identifier', async () => {
    const text = await runCli([register], ['radiomics', 'features']);
    expect(text).toMatch(/cm_joint_max\s+GYBY\s+joint maximum/);
    expect(text).toContain(`${ALL_FEATURES.length} features`);
  });
});
