import type { Repository } from "typeorm";
import { deleteVersioned, updateVersioned, type VersionedKey } from "typeorm-occ";

/**
 * Compile-time checks of VersionedKey (issue 17): the keys of updateVersioned / deleteVersioned need
 * the whole primary key and the version. Every `@ts-expect-error` below must stay an error: tsc
 * (`npm run typecheck`, and ts-jest when this file runs) fails on an unused one.
 */

interface Product {
  id: number;
  name: string;
  version: number;
}
interface Invoice {
  id: number;
  number: string;
  version: number;
  lines: InvoiceLine[];
}
interface InvoiceLine {
  id: number;
  amount: number;
  version: number;
  invoice: Invoice;
}
/** A composite primary key, no `id`. */
interface Stock {
  tenant: string;
  sku: string;
  quantity: number;
  version: number;
}
/** The version under another name. */
interface Document {
  id: number;
  revision: number;
}

// Never called: only compiled.
export function compileOnly(
  products: Repository<Product>,
  lines: Repository<InvoiceLine>,
  stocks: Repository<Stock>,
  documents: Repository<Document>,
): void {
  const id = 7;
  // Common code names no type arguments.
  void updateVersioned(products, { id, version: 3 }, { name: "x" });
  void deleteVersioned(products, { id, version: 3 });
  // @ts-expect-error no primary key
  void updateVersioned(products, { version: 1 }, { name: "x" });
  // @ts-expect-error no version
  void updateVersioned(products, { id }, { name: "x" });
  // @ts-expect-error no version
  void deleteVersioned(products, { id });
  // @ts-expect-error a change in the key instead of in changes
  void updateVersioned(products, { id, version: 1, name: "x" }, { name: "y" });
  // @ts-expect-error the version may be undefined here: a key needs a number
  void updateVersioned(products, { id, version: undefined }, { name: "x" });

  // A member may carry its root's whole key and version; a partial root key does not compile.
  void updateVersioned(lines, { id, version: 1, invoice: { id: 2, version: 4 } }, { amount: 9 });
  // @ts-expect-error the root's version is missing
  void updateVersioned(lines, { id, version: 1, invoice: { id: 2 } }, { amount: 9 });
  // @ts-expect-error the root's primary key is missing
  void deleteVersioned(lines, { id, version: 1, invoice: { version: 4 } });

  // A composite key is named once, and then required in full.
  void updateVersioned<Stock, "tenant" | "sku" | "version">(stocks, { tenant: "acme", sku: "A-1", version: 2 }, { quantity: 1 });
  // @ts-expect-error part of the composite key is missing
  void updateVersioned<Stock, "tenant" | "sku" | "version">(stocks, { tenant: "acme", version: 2 }, { quantity: 1 });
  // @ts-expect-error without id and version nothing can be guessed: the key's properties must be named
  void updateVersioned(stocks, { tenant: "acme", sku: "A-1", version: 2 }, { quantity: 1 });
  const stockKey: VersionedKey<Stock, "tenant" | "sku" | "version"> = { tenant: "acme", sku: "A-1", version: 2 };
  void deleteVersioned<Stock, "tenant" | "sku" | "version">(stocks, stockKey);

  // A version property with another name is named too.
  void updateVersioned<Document, "id" | "revision">(documents, { id, revision: 5 }, {});
  // @ts-expect-error the renamed version is missing
  void deleteVersioned<Document, "id" | "revision">(documents, { id });

  // The exported type on its own, as an API's handler would build a key.
  const key: VersionedKey<Product> = { id, version: 1 };
  // @ts-expect-error no version
  const partial: VersionedKey<Product> = { id };
  void [key, partial];
}

it("compiles only the keys that name a whole row and its version (the checks are the @ts-expect-error lines above)", () => {
  expect(typeof compileOnly).toBe("function");
});
