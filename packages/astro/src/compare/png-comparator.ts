/**
 * The PNG comparator for `pipe compare`: quick-looks are compared on their decoded pixels, not their bytes. A PNG
 * written again by another encoder (same pixels) is identical; a map that moved within its tolerance may move a few
 * of its pixels by a colour level (its colour scale follows the map's range), which is within tolerance; anything
 * more is a difference. The numbers are the FITS maps' to check: this only keeps a quick-look from failing a
 * regression run that its map passes.
 */
import { readFile } from 'node:fs/promises';
import type { ComparatorOutcome, DiffDetail, FileComparator } from '@pipe/core';
import { PNG } from 'pngjs';

/** Files the PNG comparator takes. */
export const PNG_PATH = /\.png$/i;

/** Most pixels (fraction) that may change colour for the images to be within tolerance. */
const MAX_CHANGED_FRACTION = 0.01;
/** Largest change of one channel (of 255) within tolerance: a step or two along a colour map. */
const MAX_CHANNEL_STEP = 32;

/** A FileComparator for PNG images. */
export function pngComparator(): FileComparator {
  return {
    name: 'png',
    handles: (relPath) => PNG_PATH.test(relPath),
    compare: (refPath, newPath) => comparePngFiles(refPath, newPath),
  };
}

async function comparePngFiles(refPath: string, newPath: string): Promise<ComparatorOutcome> {
  let ref: PNG;
  let neu: PNG;
  try {
    ref = PNG.sync.read(await readFile(refPath));
    neu = PNG.sync.read(await readFile(newPath));
  } catch (error) {
    return { ok: false, error: `not a readable PNG: ${(error as Error).message}` };
  }
  return { ok: true, details: [comparePixels(ref, neu)] };
}

/** The pixel comparison of two decoded images (RGBA, 8 bits per channel). */
export function comparePixels(
  ref: { width: number; height: number; data: Uint8Array },
  neu: { width: number; height: number; data: Uint8Array },
): DiffDetail {
  const pixels = ref.width * ref.height;
  if (ref.width !== neu.width || ref.height !== neu.height)
    return {
      item: 'image',
      kind: 'data',
      status: 'different',
      message: `size ${ref.width}×${ref.height} in the reference, ${neu.width}×${neu.height} in the new image`,
    };
  let changed = 0;
  let maxStep = 0;
  let first = -1;
  for (let p = 0; p < pixels; p++) {
    let step = 0;
    for (let c = 0; c < 4; c++) step = Math.max(step, Math.abs(ref.data[4 * p + c]! - neu.data[4 * p + c]!));
    if (step === 0) continue;
    changed++;
    if (first < 0) first = p;
    maxStep = Math.max(maxStep, step);
  }
  const status =
    changed === 0
      ? 'identical'
      : changed <= MAX_CHANGED_FRACTION * pixels && maxStep <= MAX_CHANNEL_STEP
        ? 'within-tolerance'
        : 'different';
  return {
    item: 'image pixels',
    kind: 'data',
    status,
    elements: pixels,
    differing: status === 'different' ? changed : 0,
    maxAbsDiff: maxStep,
    maxRelDiff: maxStep / 255,
    ...(first >= 0 ? { where: `[x=${first % ref.width}, y=${Math.floor(first / ref.width)}]` } : {}),
    ...(changed > 0
      ? {
          message: `${changed} of ${pixels} pixels changed colour (by up to ${maxStep} of 255 in a channel; within tolerance: at most ${MAX_CHANGED_FRACTION * 100}% of the pixels, by up to ${MAX_CHANNEL_STEP})`,
        }
      : {}),
  };
}
