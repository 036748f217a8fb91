/**
 * Packet identifier allocation (MQTT-2.2.1-3: non-zero; MQTT-2.2.1-4: not reused while
 * the exchange that uses it is in progress). Cycles 1..65535 and skips ids in use.
 */
export class PacketIdAllocator {
  private next = 1;

  /** Returns a free id, or 0 when all 65535 are in use. */
  allocate(inUse: { has(id: number): boolean }): number {
    for (let i = 0; i < 65535; i++) {
      const id = this.next;
      this.next = id === 65535 ? 1 : id + 1;
      if (!inUse.has(id)) return id;
    }
    return 0;
  }
}
