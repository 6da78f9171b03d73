/**
 * How steps write their outputs. A step writes to temporary paths the engine gave it; the engine then stores
 * those files in the cache and publishes them (temp + fsync + rename), so a step's own fsync would only repeat
 * that work. The write is still temp + rename, so a half-written file never has its final name.
 */
import type { WriteFileOptions } from '../fits/index.js';

export const STEP_OUTPUT: WriteFileOptions = { durable: false };
