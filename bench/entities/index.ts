import { occEntities } from "./occ";
import { plainEntities } from "./plain";

export * from "./occ";
export * from "./plain";

/** Every bench entity: both sets live side by side in one database, as in a real application. */
export const benchEntities = [...plainEntities, ...occEntities];
