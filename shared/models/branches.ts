// Per-modality feature extractors. Every layer gets an explicit name derived from the architecture
// (tfjs would otherwise number layers with process-global counters), so the tensor names of a
// model are the same in every process that builds it.
import * as tf from '@tensorflow/tfjs';

export function imageInput(modality: string, inputSize: number, channels: number): tf.SymbolicTensor {
  return tf.input({ shape: [inputSize, inputSize, channels], name: `${modality}_input`, dtype: 'float32' });
}

/**
 * DDFN branch: for each width, a 3x3 conv with ReLU followed by 2x2 max-pooling; then global
 * average pooling to one feature vector of length `widths[last]`.
 */
export function convBranch(x: tf.SymbolicTensor, prefix: string, widths: readonly number[]): tf.SymbolicTensor {
  let h = x;
  widths.forEach((filters, i) => {
    h = tf.layers
      .conv2d({ name: `${prefix}.conv${i + 1}`, filters, kernelSize: 3, padding: 'same', activation: 'relu' })
      .apply(h) as tf.SymbolicTensor;
    h = tf.layers.maxPooling2d({ name: `${prefix}.pool${i + 1}`, poolSize: 2, strides: 2 }).apply(h) as tf.SymbolicTensor;
  });
  return tf.layers.globalAveragePooling2d({ name: `${prefix}.gap` }).apply(h) as tf.SymbolicTensor;
}

/** Channel count scaled by the width multiplier, rounded to a multiple of 4 (at least 4). */
export function scaledChannels(channels: number, multiplier: number): number {
  return Math.max(4, Math.round((channels * multiplier) / 4) * 4);
}

/** Inverted residual settings (expansion t, output channels c, repeats n, first stride s). */
export interface InvertedResidualStage {
  readonly t: number;
  readonly c: number;
  readonly n: number;
  readonly s: number;
}

/** A compact MobileNetV2 schedule sized for CPU training of small ultrasound crops. */
export const MOBILENETV2_STAGES: readonly InvertedResidualStage[] = [
  { t: 1, c: 8, n: 1, s: 1 },
  { t: 4, c: 12, n: 2, s: 2 },
  { t: 4, c: 16, n: 2, s: 2 },
  { t: 4, c: 24, n: 2, s: 2 },
];
export const MOBILENETV2_STEM = 8;
export const MOBILENETV2_LAST = 64;

function convBnRelu6(
  x: tf.SymbolicTensor,
  name: string,
  filters: number,
  kernelSize: number,
  strides: number,
  activate: boolean,
): tf.SymbolicTensor {
  let h = tf.layers
    .conv2d({ name: `${name}.conv`, filters, kernelSize, strides, padding: 'same', useBias: false })
    .apply(x) as tf.SymbolicTensor;
  h = tf.layers.batchNormalization({ name: `${name}.bn`, momentum: 0.9 }).apply(h) as tf.SymbolicTensor;
  if (activate) h = tf.layers.reLU({ name: `${name}.relu6`, maxValue: 6 }).apply(h) as tf.SymbolicTensor;
  return h;
}

/** MobileNetV2 inverted residual block: 1x1 expansion, 3x3 depthwise, linear 1x1 projection, skip when shapes allow. */
function invertedResidual(
  x: tf.SymbolicTensor,
  name: string,
  inChannels: number,
  outChannels: number,
  stride: number,
  expansion: number,
): tf.SymbolicTensor {
  let h = x;
  if (expansion !== 1) h = convBnRelu6(h, `${name}.expand`, inChannels * expansion, 1, 1, true);
  h = tf.layers
    .depthwiseConv2d({ name: `${name}.dw.conv`, kernelSize: 3, strides: stride, padding: 'same', useBias: false })
    .apply(h) as tf.SymbolicTensor;
  h = tf.layers.batchNormalization({ name: `${name}.dw.bn`, momentum: 0.9 }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.reLU({ name: `${name}.dw.relu6`, maxValue: 6 }).apply(h) as tf.SymbolicTensor;
  h = convBnRelu6(h, `${name}.project`, outChannels, 1, 1, false);
  if (stride === 1 && inChannels === outChannels) {
    h = tf.layers.add({ name: `${name}.add` }).apply([x, h]) as tf.SymbolicTensor;
  }
  return h;
}

/** A MobileNetV2-style stream: stem conv (stride 2), inverted residual stages, 1x1 conv, global average pooling. */
export function mobileNetV2Stream(x: tf.SymbolicTensor, prefix: string, multiplier: number): tf.SymbolicTensor {
  let channels = scaledChannels(MOBILENETV2_STEM, multiplier);
  let h = convBnRelu6(x, `${prefix}.stem`, channels, 3, 2, true);
  MOBILENETV2_STAGES.forEach((stage, si) => {
    const out = scaledChannels(stage.c, multiplier);
    for (let r = 0; r < stage.n; r++) {
      h = invertedResidual(h, `${prefix}.ir${si + 1}_${r + 1}`, channels, out, r === 0 ? stage.s : 1, stage.t);
      channels = out;
    }
  });
  h = convBnRelu6(h, `${prefix}.last`, scaledChannels(MOBILENETV2_LAST, multiplier), 1, 1, true);
  return tf.layers.globalAveragePooling2d({ name: `${prefix}.gap` }).apply(h) as tf.SymbolicTensor;
}
