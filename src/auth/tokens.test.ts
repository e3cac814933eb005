import { describe, expect, it } from "vitest";
import { secretMatcher } from "./tokens";

describe("secretMatcher", () => {
  it("accepts the secret alone, whatever the candidate's length", () => {
    const matches = secretMatcher("s3cret-token-of-some-length");
    expect(matches("s3cret-token-of-some-length")).toBe(true);
    expect(matches("s3cret-token-of-some-lengt")).toBe(false);
    expect(matches("s3cret-token-of-some-length-and-more")).toBe(false);
    expect(matches("")).toBe(false);
    expect(matches("S3cret-token-of-some-length")).toBe(false);
  });
});
