/**
 * The SQL of one device list page (PlatformStore.listDevices). A page is read through an
 * index that already yields ids in order, so `LIMIT` stops the scan early and a page costs
 * O(limit + skipped rows), never a sort of the whole table:
 * - with a label filter: the first label drives (device_labels_kv: key, value, device_id);
 * - else with a presence state filter (not 'never'): presence_state (state, device_id);
 * - else: the devices table, through devices_type (type, id) when filtering by type, its
 *   primary key otherwise.
 * The other filters are checked per row (EXISTS on the label/presence primary keys).
 * CROSS JOIN pins the driving table (SQLite never reorders a CROSS JOIN).
 */
import type { DeviceQuery } from '../../../ports/platform-store.js';

export interface DeviceListSql {
  /** Identifies the statement shape (the parameters differ, the SQL does not). */
  key: string;
  sql: string;
  params: (string | number)[];
}

const COLUMNS = 'd.id, d.type, d.labels, d.metadata, d.enabled, d.created_at, d.updated_at';

export function deviceListSql(q: DeviceQuery, fetch: number): DeviceListSql {
  const labels = Object.entries(q.labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const where: string[] = [];
  const params: (string | number)[] = [];
  let from: string;
  let orderBy: string;
  let firstLabel = 0;
  let presenceDriven = false;

  if (labels.length > 0) {
    from = 'device_labels l0 CROSS JOIN devices d ON d.id = l0.device_id';
    orderBy = 'l0.device_id';
    where.push('l0.key = ?', 'l0.value = ?');
    params.push(labels[0][0], labels[0][1]);
    if (q.after !== undefined) {
      where.push('l0.device_id > ?');
      params.push(q.after);
    }
    firstLabel = 1;
  } else if (q.presence !== undefined && q.presence !== 'never') {
    from = 'presence p0 CROSS JOIN devices d ON d.id = p0.device_id';
    orderBy = 'p0.device_id';
    where.push('p0.state = ?');
    params.push(q.presence);
    if (q.after !== undefined) {
      where.push('p0.device_id > ?');
      params.push(q.after);
    }
    presenceDriven = true;
  } else {
    from = 'devices d';
    orderBy = 'd.id';
    if (q.after !== undefined) {
      where.push('d.id > ?');
      params.push(q.after);
    }
  }
  if (q.type !== undefined) {
    where.push('d.type = ?');
    params.push(q.type);
  }
  if (q.enabled !== undefined) {
    where.push('d.enabled = ?');
    params.push(q.enabled ? 1 : 0);
  }
  for (const [k, v] of labels.slice(firstLabel)) {
    where.push('EXISTS (SELECT 1 FROM device_labels l WHERE l.device_id = d.id AND l.key = ? AND l.value = ?)');
    params.push(k, v);
  }
  if (q.presence === 'never') {
    where.push('NOT EXISTS (SELECT 1 FROM presence p WHERE p.device_id = d.id)');
  } else if (q.presence !== undefined && !presenceDriven) {
    where.push('EXISTS (SELECT 1 FROM presence p WHERE p.device_id = d.id AND p.state = ?)');
    params.push(q.presence);
  }
  params.push(fetch);
  const sql =
    `SELECT ${COLUMNS} FROM ${from}` + (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') + ` ORDER BY ${orderBy} LIMIT ?`;
  return { key: sql, sql, params };
}
