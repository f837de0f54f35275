/**
 * A NestJS consumer of the packed typeorm-occ (see test/packaging/packed-package.test.ts):
 * `OccModule.forRoot()` in a real app, a stale If-Match and a missing one over HTTP.
 * Prints one JSON line of what it saw.
 */
import "reflect-metadata";
import { Body, Controller, Headers, Module, Param, ParseIntPipe, Put } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { etagFor, parseIfMatch } from "typeorm-occ/http";
import { OccModule } from "typeorm-occ/nest";
import { Note, openNotes } from "./note.js";

async function main(): Promise<void> {
  const dataSource = await openNotes();
  const notes = dataSource.getRepository(Note);
  const { id } = await notes.save(notes.create({ text: "first" }));
  await notes.save({ id, text: "moved on", version: 1 });

  @Controller("notes")
  class NotesController {
    @Put(":id")
    async put(@Param("id", ParseIntPipe) noteId: number, @Headers("if-match") ifMatch: string | undefined, @Body() body: { text: string }) {
      const note = await notes.findOneByOrFail({ id: noteId });
      note.version = parseIfMatch(ifMatch);
      note.text = String(body.text);
      await notes.save(note);
      return { etag: etagFor(note) };
    }
  }
  @Module({ imports: [OccModule.forRoot()], controllers: [NotesController] })
  class AppModule {}

  const app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, "127.0.0.1");
  const { port } = app.getHttpServer().address() as { port: number };
  const put = (ifMatch?: string) =>
    fetch(`http://127.0.0.1:${port}/notes/${id}`, {
      method: "PUT",
      headers: { "content-type": "application/json", ...(ifMatch === undefined ? {} : { "if-match": ifMatch }) },
      body: JSON.stringify({ text: "over http" }),
    });
  const stale = await put('"1"');
  const missing = await put();
  const fresh = await put('"2"');
  await app.close();
  const final = await notes.findOneByOrFail({ id });
  await dataSource.destroy();
  console.log(
    JSON.stringify({
      stale: [stale.status, stale.headers.get("content-type"), ((await stale.json()) as { code: string }).code],
      missing: missing.status,
      fresh: [fresh.status, await fresh.json()],
      final: { text: final.text, version: final.version },
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
