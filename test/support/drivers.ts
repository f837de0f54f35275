/** The real databases the suite runs on; narrow with OCC_DRIVERS=postgres or OCC_DRIVERS=sqlite. */
export type DriverName = "postgres" | "sqlite" | "mariadb";

export const ALL_DRIVERS: DriverName[] = ["postgres", "sqlite"];

export function enabledDrivers(): DriverName[] {
  const wanted = process.env.OCC_DRIVERS?.split(",").map((name) => name.trim()).filter(Boolean);
  const drivers: DriverName[] = [...ALL_DRIVERS];
  if (process.env.MARIADB_URL) drivers.push("mariadb");
  return wanted ? drivers.filter((driver) => wanted.includes(driver)) : drivers;
}

