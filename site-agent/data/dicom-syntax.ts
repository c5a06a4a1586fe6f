// DICOM transfer syntaxes: names (for messages) and how we read each one.

export type PixelEncoding = 'native' | 'jpeg' | 'jpeg-lossless' | 'jpeg-ls' | 'jpeg2000' | 'rle' | 'unsupported';

export interface TransferSyntax {
  readonly uid: string;
  readonly name: string;
  readonly encoding: PixelEncoding;
  readonly bigEndian?: boolean;
  readonly implicit?: boolean;
}

const TABLE: readonly TransferSyntax[] = [
  { uid: '1.2.840.10008.1.2', name: 'Implicit VR Little Endian', encoding: 'native', implicit: true },
  { uid: '1.2.840.10008.1.2.1', name: 'Explicit VR Little Endian', encoding: 'native' },
  { uid: '1.2.840.10008.1.2.1.99', name: 'Deflated Explicit VR Little Endian', encoding: 'native' },
  { uid: '1.2.840.10008.1.2.2', name: 'Explicit VR Big Endian', encoding: 'native', bigEndian: true },
  { uid: '1.2.840.10008.1.2.4.50', name: 'JPEG Baseline (Process 1)', encoding: 'jpeg' },
  { uid: '1.2.840.10008.1.2.4.51', name: 'JPEG Extended (Process 2 & 4)', encoding: 'jpeg' },
  { uid: '1.2.840.10008.1.2.4.57', name: 'JPEG Lossless, Non-Hierarchical (Process 14)', encoding: 'jpeg-lossless' },
  { uid: '1.2.840.10008.1.2.4.70', name: 'JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 SV1)', encoding: 'jpeg-lossless' },
  { uid: '1.2.840.10008.1.2.4.80', name: 'JPEG-LS Lossless', encoding: 'jpeg-ls' },
  { uid: '1.2.840.10008.1.2.4.81', name: 'JPEG-LS Lossy (Near-Lossless)', encoding: 'jpeg-ls' },
  { uid: '1.2.840.10008.1.2.4.90', name: 'JPEG 2000 Image Compression (Lossless Only)', encoding: 'jpeg2000' },
  { uid: '1.2.840.10008.1.2.4.91', name: 'JPEG 2000 Image Compression', encoding: 'jpeg2000' },
  { uid: '1.2.840.10008.1.2.5', name: 'RLE Lossless', encoding: 'rle' },
  { uid: '1.2.840.10008.1.2.4.52', name: 'JPEG Extended (Process 3 & 5, retired)', encoding: 'unsupported' },
  { uid: '1.2.840.10008.1.2.4.53', name: 'JPEG Spectral Selection, Non-Hierarchical (retired)', encoding: 'unsupported' },
  { uid: '1.2.840.10008.1.2.4.55', name: 'JPEG Full Progression, Non-Hierarchical (retired)', encoding: 'unsupported' },
  { uid: '1.2.840.10008.1.2.4.92', name: 'JPEG 2000 Part 2 Multi-component (Lossless Only)', encoding: 'unsupported' },
  { uid: '1.2.840.10008.1.2.4.93', name: 'JPEG 2000 Part 2 Multi-component', encoding: 'unsupported' },
  { uid: '1.2.840.10008.1.2.4.94', name: 'JPIP Referenced', encoding: 'unsupported' },
  { uid: '1.2.840.10008.1.2.4.95', name: 'JPIP Referenced Deflate', encoding: 'unsupported' },
  { uid: '1.2.840.10008.1.2.4.100', name: 'MPEG2 Main Profile / Main Level', encoding: 'unsupported' },
  { uid: '1.2.840.10008.1.2.4.101', name: 'MPEG2 Main Profile / High Level', encoding: 'unsupported' },
  { uid: '1.2.840.10008.1.2.4.102', name: 'MPEG-4 AVC/H.264 High Profile / Level 4.1', encoding: 'unsupported' },
  { uid: '1.2.840.10008.1.2.4.103', name: 'MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1', encoding: 'unsupported' },
  { uid: '1.2.840.10008.1.2.4.104', name: 'MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video', encoding: 'unsupported' },
  { uid: '1.2.840.10008.1.2.4.105', name: 'MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video', encoding: 'unsupported' },
  { uid: '1.2.840.10008.1.2.4.106', name: 'MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2', encoding: 'unsupported' },
  { uid: '1.2.840.10008.1.2.4.107', name: 'HEVC/H.265 Main Profile / Level 5.1', encoding: 'unsupported' },
  { uid: '1.2.840.10008.1.2.4.108', name: 'HEVC/H.265 Main 10 Profile / Level 5.1', encoding: 'unsupported' },
  { uid: '1.2.840.10008.1.2.4.201', name: 'High-Throughput JPEG 2000 (Lossless Only)', encoding: 'unsupported' },
  { uid: '1.2.840.10008.1.2.4.202', name: 'High-Throughput JPEG 2000 with RPCL Options (Lossless Only)', encoding: 'unsupported' },
  { uid: '1.2.840.10008.1.2.4.203', name: 'High-Throughput JPEG 2000', encoding: 'unsupported' },
];

const BY_UID = new Map(TABLE.map((t) => [t.uid, t]));

export function transferSyntax(uid: string | undefined): TransferSyntax {
  const u = (uid ?? '1.2.840.10008.1.2').replace(/\0/g, '').trim();
  return BY_UID.get(u) ?? { uid: u, name: 'unknown transfer syntax', encoding: 'unsupported' };
}

/** The way out for a file we cannot read: which tool converts it to something we can. */
export function wayOut(ts: TransferSyntax): string {
  if (/MPEG|HEVC/.test(ts.name)) {
    return 'video transfer syntaxes are not read; export the cine as uncompressed or JPEG frames from the scanner or PACS (or extract frames with ffmpeg and save them as PNG)';
  }
  return 'convert it to uncompressed with `gdcmconv --raw IN OUT` (GDCM) or `dcmdjpeg`/`dcmdjpls`/`dcmdrle IN OUT` (DCMTK), or export uncompressed (Explicit VR Little Endian) from the PACS';
}
