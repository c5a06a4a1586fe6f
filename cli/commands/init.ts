// `fl init coordinator|site [--out FILE]`: writes a commented example config that validates
// against the schema (shared/config/study.ts, shared/config/site.ts). Every key is shown with its
// default and what it does; edit the names, paths and the study's models.
import type { Command } from 'commander';
import { existsSync, writeFileSync } from 'node:fs';
import { CliError } from '../errors.js';

export const COORDINATOR_EXAMPLE = `# Coordinator config: the study (what is trained, by whom, how it is judged) and how to serve it.
# Check it with:  fl coordinator --config coordinator.yaml   (a mistake exits 2 and names the field)
study:
  id: sln-2026                      # letters, digits, ".", "_", "-"; the same in every kit (fl provision --study)
  title: SLN metastasis from CEUS + grayscale ultrasound
  rounds: 20                        # federated rounds
  min_sites: 2                      # a round (and each model in it) needs updates from at least this many sites
  sites: [hosp-a, hosp-b, hosp-c]   # only these may join; before the first round all get join_timeout_s to connect
  round_deadline_s: 900             # sites that have not uploaded by then are left out of the round
  reconnect_grace_s: 15             # a site that drops mid-round stays in it if back within this time
  join_timeout_s: 600               # wait this long for the sites before the first round
  models:                           # trained together, every round; architectures: ddfn, gsus_only, ceus_only, single_modality, dual_mobilenetv2
    - name: ddfn
      architecture: ddfn
      config:                       # model config keys (shared/models/config.ts), defaults shown
        modalities: [gsus, ceus]    # one image input per modality, in this order
        inputSize: 128              # square input side in pixels (16-1024)
        channels: 1                 # channels per modality (1 = grayscale)
        widths: [8, 16, 32, 48]     # filters of each conv stage of a branch (3x3 conv, ReLU, 2x2 max-pool)
        widthMultiplier: 1          # MobileNetV2 width multiplier (dual_mobilenetv2 only)
        headUnits: 16               # hidden units of the classification head
        dropout: 0.2
        seed: 0                     # deterministic initial weights (coordinator and sites build the same model)
    - name: gsus_only
      architecture: gsus_only
      config: { inputSize: 128 }
    - name: ceus_only
      architecture: ceus_only
      config: { inputSize: 128 }
  training:                         # local training at each site, per round
    epochs: 1
    batch_size: 16
    learning_rate: 0.001
    seed: 42
  cohorts:                          # which manifest cohorts train, validate and are held out
    train: [train]
    validation: [validation]
    held_out: [test, prospective]   # scored only by the frozen final models
  strategy:                         # fedavg | fedprox (proximal_mu) | fedadam | fedyogi (eta, beta1, beta2, tau)
    name: fedavg                    # | median | trimmed_mean | norm_bounding (max_norm)
  outlier_norm_factor: 10           # leave out an update whose L2 norm exceeds 10 x the round's median (0 = off)
  # dp:                             # differential privacy at the sites (optional)
  #   clip: 1.0                     # L2 norm each update is clipped to
  #   noise_multiplier: 1.1         # Gaussian noise sd = noise_multiplier x clip
  #   delta: 1.0e-5
  evaluation:                       # held-out evaluation after training (omit to train only)
    selection: final                # final | best_validation_auc
    threshold:
      rule: target_sensitivity      # youden | target_sensitivity | target_npv | fixed
      value: 0.9
    privacy: predictions            # predictions (pseudonymised per-case scores) | aggregate (counts only)
    deadline_s: 600
    bootstrap: 2000                 # paired bootstrap replicates for P-values
    reference_model: ddfn           # compared against the others (DeLong, bootstrap)

coordinator:
  listen: 0.0.0.0:7443              # gRPC port the sites and admins dial (mutual TLS)
  # bulk_port: 7444                 # bulk channel for model bytes (default any free port; behind a firewall set it and open it; off: all on gRPC)
  # bulk_advertised_port: 17444     # only behind a port forward that exposes bulk_port under another number
  data_dir: /var/lib/fl/coordinator # checkpoints, spooled updates, study log, state, report
  tls:                              # from the coordinator's startup kit (paths relative to this file)
    ca: ca.pem
    cert: cert.pem
    key: key.pem
  revoked_fingerprints: []          # sha256 fingerprints of revoked party certificates
  # audit_dir: /var/lib/fl/coordinator/audit   # default DATA_DIR/audit
  # nats_url: nats://127.0.0.1:4222            # study events + replicated study log (deploy/nats-server.conf)
  # http:                           # read-only dashboard, /api/status, /events, /metrics (or: fl coordinator --http)
  #   listen: 127.0.0.1:9464        # PORT alone = 127.0.0.1:PORT; another host exposes it: set a token
  #   token: change-me-to-a-long-random-string   # required as "Authorization: Bearer TOKEN" (or ?token=)
`;

export const SITE_EXAMPLE = `# Site agent config (site.yaml). fl provision writes one per site with study_id, site_id,
# coordinator, tls and a random pseudonym_secret; set manifest and work_dir. Check the data with
#   fl data check /srv/fl-data/hosp-a/manifest.csv
study_id: sln-2026                  # as provisioned
site_id: hosp-a                     # as provisioned (the certificate's name)
coordinator: fl.example.org:7443    # the host name the coordinator's certificate was issued for
manifest: /srv/fl-data/hosp-a/manifest.csv   # case_id, cohort, label, gsus, ceus, ... (site-agent/data/MANIFEST.md)
work_dir: /var/lib/fl/sites/hosp-a  # frozen-model records and co-signing state
backend: auto                       # auto | tensorflow-gpu | tensorflow | wasm | cpu
tls:                                # this site's startup kit (paths relative to this file)
  ca: ca.pem
  cert: cert.pem
  key: key.pem
pseudonym_secret: replace-with-the-provisioned-secret-0123456789   # HMAC key for case pseudonyms; keep it secret
backoff:                            # reconnect backoff
  initial_ms: 200
  max_ms: 10000
`;

export function register(program: Command): void {
  program
    .command('init')
    .description('write a commented example config: fl init coordinator|site [--out FILE]')
    .argument('<kind>', 'coordinator or site')
    .option('--out <file>', 'write to this file instead of stdout')
    .option('--force', 'overwrite an existing --out file')
    .action((kind: string, o: { out?: string; force?: boolean }) => {
      const text = kind === 'coordinator' ? COORDINATOR_EXAMPLE : kind === 'site' ? SITE_EXAMPLE : null;
      if (text === null) throw new CliError(`fl init ${kind}: expected "coordinator" or "site"`, 2);
      if (!o.out) {
        process.stdout.write(text);
        return;
      }
      if (existsSync(o.out) && !o.force) throw new CliError(`${o.out} exists; use --force to overwrite it`, 2);
      writeFileSync(o.out, text, { mode: 0o600 });
      process.stderr.write(`wrote ${o.out}: edit the names and paths, then ${kind === 'coordinator' ? 'fl coordinator --config' : 'fl site --config'} ${o.out}\n`);
    });
}
