import { describe, expect, it } from "vitest";
import type { RuntimeHandle } from "../runtime/types";
import { newLive } from "./context";
import { earlyCutPoint, holdModelCalls } from "./early-send";

const live = (o: { gated?: boolean; handle?: boolean; keepPoint?: string | null } = {}) => {
  const l = newLive({ id: "ses_1", tenant: "default", ownerKeyId: null, kind: "managed" });
  l.gated = o.gated ?? true;
  if (o.handle ?? true) l.handle = {} as RuntimeHandle;
  l.keepPoint = o.keepPoint === undefined ? "entry-1" : o.keepPoint;
  return l;
};

describe("early send", () => {
  it("applies when the gateway sees every model request and the conversation can be cut back, never to a slash command", () => {
    expect(earlyCutPoint(live(), "fix the build")).toBe("entry-1");
    expect(earlyCutPoint(live({ gated: false }), "fix the build")).toBeNull();
    expect(earlyCutPoint(live({ handle: false }), "fix the build")).toBeNull();
    // The first prompt, or one after a turn that failed: nothing to cut back to.
    expect(earlyCutPoint(live({ keepPoint: null }), "fix the build")).toBeNull();
    expect(earlyCutPoint(live(), "/compact")).toBeNull();
    expect(earlyCutPoint(live(), "  /my-command with args")).toBeNull();
  });

  it("holds model requests until the prompt is recorded, and keeps refusing if it never is", async () => {
    const ok = live();
    const recorded = holdModelCalls(ok);
    const waiting = ok.recording;
    recorded(true);
    expect(await waiting).toBe(true);
    expect(ok.recording).toBeNull();

    const lost = live();
    holdModelCalls(lost)(false);
    expect(await lost.recording).toBe(false);
  });
});
