/**
 * Real NestJS apps for the filter tests, run as their own (compiled) process: Nest 12 ships as ES
 * modules, which Jest's CommonJS runtime cannot load, while Node itself can (require(esm)).
 *
 * One app per way of registering the filter, all on one DataSource; prints
 * `{"ports": {"<way>": N, …}, "failures": {"<way>": "error", …}}` once every app listens on 127.0.0.1
 * or failed to start.
 *
 * Env: NEST_DB_TYPE ("postgres" | "mariadb" | "better-sqlite3"), NEST_DB (URL or SQLite file);
 * NEST_DB_REPLICA (PostgreSQL): a replica's URL, for `replication: { master: NEST_DB, slaves: [it] }`.
 */
import "reflect-metadata";
import {
  Body,
  Controller,
  Get,
  Headers,
  Inject,
  Module,
  NotFoundException,
  Param,
  ParseIntPipe,
  Post,
  Put,
  UseFilters,
  type DynamicModule,
  type INestApplication,
  type Provider,
  type Type,
} from "@nestjs/common";
import { APP_FILTER, NestFactory } from "@nestjs/core";
import { DataSource, type DataSourceOptions } from "typeorm";
import { TransactionRequiredError, parseVersion } from "typeorm-occ";
import { etagFor, parseIfMatch } from "typeorm-occ/http";
import { OccExceptionFilter, OccModule } from "typeorm-occ/nest";
import { NestDoc } from "./nest-doc.entity";
import { REGISTRATIONS, TYPE_BASE, type Registration } from "./registrations";

/** A fresh controller class per app, so a class decorator applied to one app does not leak into another. */
function docsController(decorate: ClassDecorator = () => undefined): Type<unknown> {
  @decorate
  @Controller("docs")
  class DocsController {
    constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

    @Post()
    async create(@Body() body: { title: string }): Promise<NestDoc> {
      const docs = this.dataSource.getRepository(NestDoc);
      return docs.save(docs.create({ title: String(body.title) }));
    }

    /** The expected version comes from If-Match, which is required. */
    @Put(":id")
    async update(
      @Param("id", ParseIntPipe) id: number,
      @Headers("if-match") ifMatch: string | undefined,
      @Body() body: { title: string },
    ): Promise<{ doc: NestDoc; etag: string }> {
      const docs = this.dataSource.getRepository(NestDoc);
      const doc = await docs.findOneByOrFail({ id });
      doc.version = parseIfMatch(ifMatch);
      doc.title = String(body.title);
      await docs.save(doc);
      return { doc, etag: etagFor(doc) };
    }

    /** The expected version comes from the body, converted with parseVersion(). */
    @Post(":id/title")
    async retitle(@Param("id", ParseIntPipe) id: number, @Body() body: { title: string; version?: unknown }): Promise<NestDoc> {
      const docs = this.dataSource.getRepository(NestDoc);
      const doc = await docs.findOneByOrFail({ id });
      doc.version = parseVersion(body.version);
      doc.title = String(body.title);
      return docs.save(doc);
    }

    /** Saves the row without any version: MissingVersionError. */
    @Post(":id/blind")
    async blind(@Param("id", ParseIntPipe) id: number, @Body() body: { title: string }): Promise<NestDoc> {
      return this.dataSource.getRepository(NestDoc).save({ id, title: String(body.title) });
    }

    /** Which server a read through the DataSource reaches (PostgreSQL): a replica answers true. */
    @Get("read-from")
    readFromOnGet(): Promise<unknown> {
      return this.readFrom();
    }

    @Post("read-from")
    readFromOnPost(): Promise<unknown> {
      return this.readFrom();
    }

    private readFrom(): Promise<unknown> {
      return this.dataSource.createQueryBuilder().select("pg_is_in_recovery()", "replica").from("pg_database", "d").limit(1).getRawOne();
    }

    /** A programming error of the library's: must stay a 500, as Nest answers any unknown error. */
    @Get("programming-error")
    programmingError(): never {
      throw new TransactionRequiredError("NestDoc", "this write needs a transaction");
    }

    /** Nest's own exceptions must keep their usual answers. */
    @Get("not-found")
    notFound(): never {
      throw new NotFoundException("no such doc");
    }
  }
  return DocsController;
}

function appModule(registration: Registration, dataSource: DataSource): Type<unknown> | DynamicModule {
  const dataSourceProvider: Provider = { provide: DataSource, useValue: dataSource };
  const controllers = [
    registration === "UseFilters class"
      ? docsController(UseFilters(OccExceptionFilter))
      : registration === "UseFilters instance"
        ? docsController(UseFilters(new OccExceptionFilter()))
        : docsController(),
  ];
  const providers: Provider[] = [dataSourceProvider];
  if (registration === "APP_FILTER") providers.push({ provide: APP_FILTER, useClass: OccExceptionFilter });
  const imports = registration === "OccModule.forRoot" ? [OccModule.forRoot({ typeBase: TYPE_BASE })] : [];

  @Module({ imports, controllers, providers })
  class AppModule {}
  return AppModule;
}

async function main(): Promise<void> {
  const type = process.env.NEST_DB_TYPE ?? "better-sqlite3";
  const options = (
    type === "better-sqlite3"
      ? { type, database: process.env.NEST_DB, enableWAL: true, timeout: 10000 }
      : process.env.NEST_DB_REPLICA
        ? { type, replication: { master: { url: process.env.NEST_DB }, slaves: [{ url: process.env.NEST_DB_REPLICA }] } }
        : { type, url: process.env.NEST_DB }
  ) as DataSourceOptions;
  const dataSource = await new DataSource({ ...options, entities: [NestDoc] } as DataSourceOptions).initialize();

  const apps: INestApplication[] = [];
  const ports: Record<string, number> = {};
  // A way that fails at bootstrap is reported by name, and the other apps still start.
  const failures: Record<string, string> = {};
  for (const registration of REGISTRATIONS) {
    try {
      const app = await NestFactory.create(appModule(registration, dataSource), { logger: false, abortOnError: false });
      apps.push(app);
      if (registration === "useGlobalFilters") app.useGlobalFilters(new OccExceptionFilter());
      await app.listen(0, "127.0.0.1");
      ports[registration] = (app.getHttpServer().address() as { port: number }).port;
    } catch (error) {
      failures[registration] = String(error);
    }
  }
  process.stdout.write(`${JSON.stringify({ ports, failures })}\n`);

  process.once("SIGTERM", () => {
    void (async () => {
      for (const app of apps) await app.close();
      await dataSource.destroy();
    })();
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
