import { enabledDrivers, type DriverName } from "./drivers";

/** `describe.each` over the enabled drivers that pass `filter`; a skipped block when none do. */
export function eachDriver(filter: (driver: DriverName) => boolean = () => true, options: { mariadb?: boolean } = {}) {
  const drivers = enabledDrivers(options).filter(filter);
  return drivers.length > 0 ? describe.each(drivers) : describe.skip.each<DriverName>(["sqlite"]);
}
