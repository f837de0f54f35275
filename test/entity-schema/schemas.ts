import { EntitySchema } from "typeorm";
import { occSchema } from "typeorm-occ";

/** Entities defined with EntitySchema (no decorators), made versioned and aggregated with occSchema(). */

export interface Wallet {
  id: number;
  owner: string;
  balance: number;
  version: number;
}

export const WalletSchema = occSchema(
  new EntitySchema<Wallet>({
    name: "schema_wallet",
    columns: {
      id: { type: "integer", primary: true, generated: true },
      owner: { type: "varchar" },
      balance: { type: "integer" },
      version: { type: "integer" },
    },
  }),
  { versionColumn: "version" },
);

export interface Basket {
  id: number;
  customer: string;
  version: number;
  items: BasketItem[];
}

export interface BasketItem {
  id: number;
  product: string;
  quantity: number;
  basket: Basket;
}

/** A root whose members are reached through its cascading one-to-many relation. */
export const BasketSchema = occSchema(
  new EntitySchema<Basket>({
    name: "schema_basket",
    columns: {
      id: { type: "integer", primary: true, generated: true },
      customer: { type: "varchar" },
      version: { type: "integer" },
    },
    relations: {
      items: { type: "one-to-many", target: "schema_basket_item", inverseSide: "basket", cascade: true },
    },
  }),
  { versionColumn: "version", aggregateRoot: true },
);

export const BasketItemSchema = new EntitySchema<BasketItem>({
  name: "schema_basket_item",
  columns: {
    id: { type: "integer", primary: true, generated: true },
    product: { type: "varchar" },
    quantity: { type: "integer" },
  },
  relations: {
    basket: { type: "many-to-one", target: "schema_basket", inverseSide: "items", onDelete: "CASCADE" },
  },
});

export interface Delivery {
  id: number;
  address: string;
  basket: Basket;
}

/** A member the inference cannot see (the root has no relation to it): declared explicitly. */
export const DeliverySchema = occSchema(
  new EntitySchema<Delivery>({
    name: "schema_delivery",
    columns: {
      id: { type: "integer", primary: true, generated: true },
      address: { type: "varchar" },
    },
    relations: {
      basket: { type: "many-to-one", target: "schema_basket", onDelete: "CASCADE" },
    },
  }),
  { aggregateMember: "basket" },
);

/** An EntitySchema with a target class: its metadata is keyed by the class, its rows are instances of it. */
export class Note {
  id!: number;
  text!: string;
  revision!: number;
}

export const NoteSchema = occSchema(
  new EntitySchema<Note>({
    name: "schema_note",
    target: Note,
    columns: {
      id: { type: "integer", primary: true, generated: true },
      text: { type: "varchar" },
      revision: { type: Number },
    },
  }),
  { versionColumn: "revision" },
);

export const schemaEntities = [WalletSchema, BasketSchema, BasketItemSchema, DeliverySchema, NoteSchema];
