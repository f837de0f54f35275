import { Column, Entity, JoinColumn, ManyToOne, OneToMany, PrimaryGeneratedColumn } from "typeorm";
import { AggregateMember, AggregateRoot, VersionColumn } from "typeorm-occ";

/** A root whose members expose their foreign key as a column too (moves by the key alone). */
@AggregateRoot()
@Entity()
export class Board {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") name!: string;
  @VersionColumn() version!: number;
  @OneToMany(() => Task, (task) => task.board, { cascade: true })
  tasks!: Task[];
}

@Entity()
export class Task {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") title!: string;
  @Column("integer", { default: 0 }) points!: number;
  @Column("integer", { nullable: true }) boardId!: number | null;
  @ManyToOne(() => Board, (board) => board.tasks, { nullable: true, onDelete: "CASCADE" })
  @JoinColumn({ name: "boardId" })
  board!: Board | null;
}

/** A root with a reply chain of any depth: only the first reply links to the thread. */
@AggregateRoot()
@Entity()
export class Thread {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") title!: string;
  @VersionColumn() version!: number;
  @OneToMany(() => Reply, (reply) => reply.thread, { cascade: true })
  replies!: Reply[];
}

@Entity()
export class Reply {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") text!: string;
  @ManyToOne(() => Thread, (thread) => thread.replies, { nullable: true, onDelete: "CASCADE" })
  thread!: Thread | null;
  @AggregateMember()
  @ManyToOne(() => Reply, (reply) => reply.answers, { nullable: true, onDelete: "CASCADE" })
  parent!: Reply | null;
  @OneToMany(() => Reply, (reply) => reply.parent)
  answers!: Reply[];
}

export const guaranteeEntities = [Board, Task, Thread, Reply];
