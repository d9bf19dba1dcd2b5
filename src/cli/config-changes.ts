import { formatChange, type ConfigChange } from '../api/config-diff.js';
import { out } from './output.js';

/**
 * After a comparison's tables (stdout): for each compared run or group after the base, where its resolved config
 * differs from the base's, or that it does not. `whose` says whose config was compared (a run's, a group member's).
 */
export function printConfigChanges(
  compared: readonly { id: string; configChanges?: ConfigChange[] }[],
  whose: { same: string; differs: string },
): void {
  const base = compared[0];
  for (const item of compared.slice(1)) {
    if (!item.configChanges) continue;
    out();
    if (item.configChanges.length === 0) out(`${item.id}: same resolved config as ${base?.id}${whose.same}`);
    else {
      out(`${item.id} vs ${base?.id} (${whose.differs}):`);
      for (const change of item.configChanges) out(`  ${formatChange(change)}`);
    }
  }
}
