// Shared by every kernel module: the JavaScript side places its typed arrays in linear memory
// above the static data, starting at this address (the stub runtime never allocates there).

/** First free byte of linear memory, 16-byte aligned. */
export function heapBase(): usize {
  return (__heap_base + 15) & ~(<usize>15);
}
