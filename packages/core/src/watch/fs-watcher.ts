/**
 * The file-system seam of watch mode: chokidar over the watch set's directories (depth 0), with
 * everything that is not an input ignored before chokidar stats or watches it, so the number of
 * inotify watches is the number of input folders plus input files, not the size of those folders.
 * `poll` switches to stat polling (network file systems, containers without inotify); running out
 * of inotify watches (ENOSPC) is reported and falls back to polling by itself.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { type FSWatcher, watch } from 'chokidar';
import { isWatchedPath, type WatchSet } from './watch-set.js';

export interface FsWatcherOptions {
  poll: boolean;
  /** Polling interval in ms (default 100). */
  interval?: number;
  /** A watched path was added, changed, removed, or a folder that may hold inputs appeared. */
  onPath(file: string): void;
  /** A problem of the watcher itself (e.g. out of inotify watches). */
  onProblem(message: string): void;
}

export interface FsWatcher {
  /**
   * Watch exactly the directories of `set`; resolves once armed, with true when the folders changed
   * (the watcher was re-armed, so the caller should sweep for changes made meanwhile).
   */
  update(set: WatchSet): Promise<boolean>;
  readonly polling: boolean;
  close(): Promise<void>;
}

export function createFsWatcher(options: FsWatcherOptions): FsWatcher {
  let set: WatchSet | undefined;
  let polling = options.poll;
  let watcher: FSWatcher | undefined;
  let watched = new Set<string>();
  /** Each watched folder's inode when it was armed: a folder deleted and made again is another one to watch. */
  let inodes = new Map<string, string | undefined>();

  const ignored = (file: string) => {
    if (!set) return true;
    const abs = path.resolve(file);
    return !isWatchedPath(set, abs) && !set.dirs.has(abs);
  };

  const start = () => {
    const w = watch([], {
      ignoreInitial: true,
      depth: 0,
      usePolling: polling,
      interval: options.interval ?? 100,
      binaryInterval: options.interval ?? 100,
      ignored,
      // Atomic saves (write temp + rename) arrive as unlink+add; the queue coalesces them anyway.
      atomic: false,
      followSymlinks: true,
    });
    // A watched folder deleted and made again (`rm -rf data && cp -r backup data`): inotify's watch went with the
    // old folder, and nothing would be heard of the new one. An event in or of a watched folder whose inode is no
    // longer the one armed arms the folders again.
    const emit = (file: string) => {
      const abs = path.resolve(file);
      options.onPath(abs);
      for (const dir of [abs, path.dirname(abs)])
        if (watched.has(dir) && inodes.get(dir) !== inodeOf(dir)) {
          scheduleRearm();
          break;
        }
    };
    w.on('add', emit).on('change', emit).on('unlink', emit).on('addDir', emit).on('unlinkDir', emit);
    w.on('error', (error: unknown) => {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' && !polling) {
        options.onProblem(
          'out of inotify watches (raise fs.inotify.max_user_watches); falling back to polling',
        );
        polling = true;
        void restart();
      } else {
        options.onProblem(`file watcher: ${(error as Error).message}`);
      }
    });
    return w;
  };

  /** Waits for an instance's 'ready', ended early when the instance is closed first (it would never come). */
  const pendingReady = new Map<FSWatcher, () => void>();
  const arm = async (w: FSWatcher, dirs: string[]) => {
    if (dirs.length === 0) return;
    const ready = new Promise<void>((resolve) => {
      pendingReady.set(w, resolve);
      w.once('ready', () => resolve());
    });
    w.add(dirs);
    await ready;
    pendingReady.delete(w);
  };
  const closeWatcher = async (w: FSWatcher | undefined) => {
    if (!w) return;
    pendingReady.get(w)?.();
    pendingReady.delete(w);
    await w.close();
  };
  /**
   * One re-arming at a time: a re-arm timer firing while update() waited for its new instance's 'ready' closed that
   * instance, and update() waited for ever (found by helper-113: a deleted product folder, then no edit was heard).
   */
  let serial: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = serial.then(fn, fn);
    serial = run.catch(() => undefined);
    return run;
  };

  const restart = () =>
    exclusive(async () => {
      await closeWatcher(watcher);
      watcher = start();
      inodes = new Map([...watched].map((d) => [d, inodeOf(d)]));
      await arm(watcher, [...watched]);
    });

  // inotify may say nothing at all of a watched folder deleted or moved away with its parent (`mv data elsewhere`):
  // its inode is looked at every 2 s too (a stat per folder), a new one armed, and the folder told as a change (the
  // files in it are gone, or others).
  const inodeCheck = setInterval(() => {
    if (polling || !watcher || rearmTimer) return;
    const changed = [...watched].filter((dir) => inodes.get(dir) !== inodeOf(dir));
    if (changed.length === 0) return;
    scheduleRearm();
    // Its watched files too: each is then compared with its record, once (not again when the folders are re-armed).
    const told = new Set(changed);
    for (const file of set?.files.keys() ?? []) if (told.has(path.dirname(file))) options.onPath(file);
    for (const dir of changed) options.onPath(dir);
  }, 2000);
  inodeCheck.unref();

  let rearmTimer: NodeJS.Timeout | undefined;
  const scheduleRearm = () => {
    clearTimeout(rearmTimer);
    rearmTimer = setTimeout(() => {
      rearmTimer = undefined;
      if (watcher) void restart();
    }, 200);
    rearmTimer.unref();
  };

  return {
    get polling() {
      return polling;
    },
    update(next) {
      return exclusive(async () => {
        set = next;
        const same =
          watcher &&
          watched.size === next.dirs.size &&
          [...next.dirs].every((d) => watched.has(d) && inodes.get(d) === inodeOf(d));
        if (same) return false;
        // This re-arms every folder: a re-arm still pending is done by it.
        clearTimeout(rearmTimer);
        rearmTimer = undefined;
        // chokidar signals 'ready' once per instance: a changed set of folders gets a fresh instance.
        await closeWatcher(watcher);
        watched = new Set(next.dirs);
        inodes = new Map([...watched].map((d) => [d, inodeOf(d)]));
        watcher = start();
        await arm(watcher, [...watched]);
        return true;
      });
    },
    async close() {
      clearTimeout(rearmTimer);
      clearInterval(inodeCheck);
      const w = watcher;
      watcher = undefined;
      await closeWatcher(w);
    },
  };
}

/**
 * A folder's identity now, inode and birth time (undefined when it is gone): a folder made again at once often
 * gets the inode number the deleted one had.
 */
function inodeOf(dir: string): string | undefined {
  const st = statSync(dir, { throwIfNoEntry: false });
  return st ? `${st.ino}:${st.birthtimeMs}` : undefined;
}
