/**
 * Batches writes: every connection that was sent packets during this turn of the event
 * loop is flushed once, after the current I/O callback, as one write. Routing 800
 * publishes from one 64 KiB chunk to a subscriber becomes one syscall, not 800.
 */
interface Flushable {
  flush(): void;
}

let dirty: Flushable[] = [];
let scheduled = false;

function flushAll(): void {
  scheduled = false;
  const list = dirty;
  dirty = [];
  for (let i = 0; i < list.length; i++) list[i].flush();
}

export function scheduleFlush(c: Flushable): void {
  dirty.push(c);
  if (!scheduled) {
    scheduled = true;
    process.nextTick(flushAll);
  }
}
