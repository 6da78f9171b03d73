import { describe, expect, it } from 'vitest';
import { unownedFiles } from '../src/schedule/task-temp.js';

describe('unownedFiles', () => {
  // Found by a review: a Slurm job killed for its memory left its '.pipe-tmp-<build>-<task>-a1' folder beside the
  // outputs, and the build warned that the task had written it.
  it("leaves out pipe's own names (task temporaries and Slurm jobs' output folders), names the rest", () => {
    expect(
      unownedFiles([
        'out.txt~0123456789abcdef~tmp',
        '.pipe-tmp-20261205-114158-699-b4fda4-hog2-caf4a06d1b-a1',
        'stray.txt',
        'x.bam.bai',
        'a.pipe-tmp-looks-alike',
      ]),
    ).toEqual(['a.pipe-tmp-looks-alike', 'stray.txt', 'x.bam.bai']);
  });
});
