/**
 * The open commands (queued, sent) of each device, in seq order, with the device's last seq:
 * what every delivery, acknowledgement and enqueue needs, kept in memory so that the
 * round trip of a command reads the store once (wait()) instead of seven times (profile of
 * the platform bench at 10,000 devices: the per-device open-command query alone was 18% of
 * the broker's CPU).
 *
 * The store stays the source of truth: a window is loaded from it on a device's first use
 * (and again after it was dropped), and changed only after the write it mirrors resolved.
 * It is read and changed only on the device's line (KeyedSerial of the command service),
 * so it cannot race with itself; a write that fails drops the window (the next use reloads
 * what the store has). Device deletion drops it too (forget).
 *
 * Bounded: at most `maxDevices` windows and `maxCommands` cached records in all; beyond,
 * the least recently used windows are dropped (reloaded when their device is used again).
 * A window loaded full (`loadLimit` open commands: more may be in the store) is reloaded
 * once it has room again, so that no open command is missed.
 */
import type { CommandRecord, PlatformStore } from '../../ports/platform-store.js';
import { OPEN_STATES, isFinal } from './command-records.js';

export interface DeviceWindow {
  readonly deviceId: string;
  /** The highest seq of the device's commands, final ones included (0 if none). */
  lastSeq: number;
  /** Queued and sent commands, in seq order (sent ones first: they are sent in order). */
  readonly open: CommandRecord[];
  /** Loaded with loadLimit records: the store may hold more. */
  truncated: boolean;
}

export interface CommandWindowLimits {
  maxDevices: number;
  maxCommands: number;
  /** Open commands read per device (its queue bound). */
  loadLimit: number;
}

export class CommandWindows {
  private readonly byDevice = new Map<string, DeviceWindow>();
  private cached = 0;
  /** Windows dropped to stay within the bounds (for tests and metrics). */
  evictions = 0;

  constructor(
    private readonly store: PlatformStore,
    private readonly limits: CommandWindowLimits,
  ) {}

  get size(): number {
    return this.byDevice.size;
  }

  /** The device's window, loaded from the store if it is not cached. Only on the device's line. */
  async get(deviceId: string): Promise<DeviceWindow> {
    const w = this.byDevice.get(deviceId);
    if (w !== undefined && !(w.truncated && w.open.length < this.limits.loadLimit)) {
      this.byDevice.delete(deviceId); // most recently used last
      this.byDevice.set(deviceId, w);
      return w;
    }
    if (w !== undefined) this.forget(deviceId);
    const open = await this.store.commandsOf(deviceId, OPEN_STATES, this.limits.loadLimit);
    const lastSeq = await this.store.lastCommandSeq(deviceId);
    const loaded: DeviceWindow = { deviceId, lastSeq, open, truncated: open.length >= this.limits.loadLimit };
    this.forget(deviceId); // (nothing on the line can have loaded it meanwhile; kept exact anyway)
    this.byDevice.set(deviceId, loaded);
    this.cached += open.length;
    this.evict(deviceId);
    return loaded;
  }

  /** The cached window, without loading (undefined when not cached). */
  peek(deviceId: string): DeviceWindow | undefined {
    return this.byDevice.get(deviceId);
  }

  /** True when the cached window of `c.deviceId` holds `c.id` as open. */
  isOpen(deviceId: string, commandId: string): boolean {
    return this.byDevice.get(deviceId)?.open.some((c) => c.id === commandId) ?? false;
  }

  /** Mirrors a write of `c` that resolved: replaced, added in seq order, or removed once final. */
  apply(w: DeviceWindow, c: CommandRecord): void {
    const before = w.open.length;
    const i = w.open.findIndex((x) => x.id === c.id);
    if (isFinal(c.state)) {
      if (i >= 0) w.open.splice(i, 1);
    } else if (i >= 0) {
      w.open[i] = c;
    } else {
      let at = w.open.length;
      while (at > 0 && w.open[at - 1].seq > c.seq) at--;
      w.open.splice(at, 0, c);
    }
    if (c.seq > w.lastSeq) w.lastSeq = c.seq;
    if (this.byDevice.get(w.deviceId) === w) {
      this.cached += w.open.length - before;
      this.evict(w.deviceId);
    }
  }

  /** Drops the device's window (a failed write, the device deleted): the next use reloads it. */
  forget(deviceId: string): void {
    const w = this.byDevice.get(deviceId);
    if (w === undefined) return;
    this.byDevice.delete(deviceId);
    this.cached -= w.open.length;
  }

  private evict(keep: string): void {
    for (const [id, w] of this.byDevice) {
      if (this.byDevice.size <= this.limits.maxDevices && this.cached <= this.limits.maxCommands) return;
      if (id === keep) continue;
      this.byDevice.delete(id);
      this.cached -= w.open.length;
      this.evictions++;
    }
  }
}
