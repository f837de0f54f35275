/** The real databases the suite runs on; narrow with OCC_DRIVERS=postgres or OCC_DRIVERS=sqlite. */
export type DriverName = "postgres" | "sqlite" | "mariadb";

export const ALL_DRIVERS: DriverName[] = ["postgres", "sqlite"];

/**
 * PostgreSQL and SQLite are first-class and run everywhere. MariaDB follows: suites that support it
 * opt in with `{ mariadb: true }`, and it runs when MARIADB_URL is set.
 */
export function enabledDrivers(options: { mariadb?: boolean } = {}): DriverName[] {
  const wanted = process.env.OCC_DRIVERS?.split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  const drivers: DriverName[] = [...ALL_DRIVERS];
  if (options.mariadb && process.env.MARIADB_URL) drivers.push("mariadb");
  return wanted ? drivers.filter((driver) => wanted.includes(driver)) : drivers;
}
