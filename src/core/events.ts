// The event registry and in-process bus: events are declared once and every subscriber hears them.
import { z } from "zod";

export interface EventDef<N extends string = string, S extends z.ZodType = z.ZodType> {
  readonly type: N;
  readonly schema: S;
}

const registry = new Map<string, EventDef>();

/** Declares an event type. Names read `domain.past_tense_verb`. */
export function defineEvent<N extends string, S extends z.ZodType>(type: N, schema: S): EventDef<N, S> {
  if (!/^[a-z]+\.[a-z_]+$/.test(type)) throw new Error(`event type "${type}" must read domain.past_tense_verb`);
  const existing = registry.get(type);
  if (existing) return existing as EventDef<N, S>;
  const def = { type, schema };
  registry.set(type, def);
  return def;
}

export function registeredEvents(): EventDef[] {
  return [...registry.values()];
}

/** An event that a unit of work will store; it becomes a StoredEvent once it has a sequence. */
export interface PendingEvent {
  type: string;
  sessionId: string | null;
  data: unknown;
}

export function event<S extends z.ZodType>(
  def: EventDef<string, S>,
  sessionId: string | null,
  data: z.input<S>,
): PendingEvent {
  return { type: def.type, sessionId, data: def.schema.parse(data) };
}

export const StoredEventSchema = z.object({
  seq: z.number().int().positive(),
  id: z.string(),
  type: z.string(),
  sessionId: z.string().nullable(),
  time: z.string(),
  data: z.unknown(),
});
export type StoredEvent = z.infer<typeof StoredEventSchema>;

export type EventListener = (event: StoredEvent) => void;

/** Post-commit fan-out. Listeners must not throw or block; slow consumers keep their own queues. */
export class EventBus {
  private readonly listeners = new Set<EventListener>();

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(events: readonly StoredEvent[]): void {
    for (const e of events) {
      for (const l of this.listeners) l(e);
    }
  }

  get size(): number {
    return this.listeners.size;
  }
}
