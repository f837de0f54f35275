/**
 * A real NestJS app for the filter test, run as its own (compiled) process: Nest 12 ships as ES
 * modules, which Jest's CommonJS runtime cannot load, while Node itself can. It prints
 * `{"port": N}` once it listens on 127.0.0.1.
 *
 * Env: NEST_DB_TYPE ("postgres" | "better-sqlite3"), NEST_DB (URL or SQLite file).
 */
import "reflect-metadata";
import { Body, Controller, Headers, Inject, Module, Param, ParseIntPipe, Post, Put } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { DataSource, type DataSourceOptions } from "typeorm";
import { parseVersion } from "typeorm-occ";
import { etagFor, parseIfMatch } from "typeorm-occ/http";
import { StaleDataExceptionFilter } from "typeorm-occ/nest";
import { NestDoc } from "./nest-doc.entity";

@Controller("docs")
class DocsController {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  @Post()
  async create(@Body() body: { title: string }): Promise<NestDoc> {
    const docs = this.dataSource.getRepository(NestDoc);
    return docs.save(docs.create({ title: String(body.title) }));
  }

  /** The expected version comes from If-Match when sent, else from the body. */
  @Put(":id")
  async update(
    @Param("id", ParseIntPipe) id: number,
    @Headers("if-match") ifMatch: string | undefined,
    @Body() body: { title: string; version?: unknown },
  ): Promise<{ doc: NestDoc; etag: string }> {
    const docs = this.dataSource.getRepository(NestDoc);
    const doc = await docs.findOneByOrFail({ id });
    doc.version = ifMatch === undefined ? parseVersion(body.version) : parseIfMatch(ifMatch);
    doc.title = String(body.title);
    await docs.save(doc);
    return { doc, etag: etagFor(doc) };
  }
}

async function main(): Promise<void> {
  const type = process.env.NEST_DB_TYPE === "postgres" ? "postgres" : "better-sqlite3";
  const options = (
    type === "postgres" ? { type, url: process.env.NEST_DB } : { type, database: process.env.NEST_DB, enableWAL: true, timeout: 10000 }
  ) as DataSourceOptions;
  const dataSource = await new DataSource({ ...options, entities: [NestDoc] } as DataSourceOptions).initialize();

  @Module({ controllers: [DocsController], providers: [{ provide: DataSource, useValue: dataSource }] })
  class AppModule {}

  const app = await NestFactory.create(AppModule, { logger: false });
  app.useGlobalFilters(new StaleDataExceptionFilter());
  await app.listen(0, "127.0.0.1");
  const address = app.getHttpServer().address() as { port: number };
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
  const stop = async () => {
    await app.close();
    await dataSource.destroy();
  };
  process.once("SIGTERM", () => void stop());
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
