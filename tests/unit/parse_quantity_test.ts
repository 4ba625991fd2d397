import assert from "node:assert/strict";
import { compareQuantities, parseQuantity } from "../../shared/plan/parse_quantity.ts";

Deno.test("parses binary suffixes", () => {
  assert.equal(parseQuantity("1Ki"), 1024);
  assert.equal(parseQuantity("5Mi"), 5 * 1024 ** 2);
  assert.equal(parseQuantity("10Gi"), 10 * 1024 ** 3);
  assert.equal(parseQuantity("1.5Ti"), 1.5 * 1024 ** 4);
  assert.equal(parseQuantity("2Pi"), 2 * 1024 ** 5);
});

Deno.test("parses decimal suffixes, plain numbers and milli-units", () => {
  assert.equal(parseQuantity("1k"), 1000);
  assert.equal(parseQuantity("500M"), 500e6);
  assert.equal(parseQuantity("20G"), 20e9);
  assert.equal(parseQuantity("3T"), 3e12);
  assert.equal(parseQuantity("1073741824"), 1024 ** 3);
  assert.equal(parseQuantity("250m"), 0.25);
  assert.equal(parseQuantity(".5"), 0.5);
});

Deno.test("parses decimal exponents", () => {
  assert.equal(parseQuantity("1e3"), 1000);
  assert.equal(parseQuantity("1.5E6"), 1.5e6);
  assert.equal(parseQuantity("12e-3"), 0.012);
});

Deno.test("rejects what is not a quantity", () => {
  for (const bad of ["", "Gi", "10 Gi", "10GB", "ten", "1.2.3", "1e", "5Kb", "1e999"]) {
    assert.throws(() => parseQuantity(bad), SyntaxError, bad);
  }
  assert.throws(() => parseQuantity("10GB"), { message: 'Cannot parse quantity "10GB"' });
});

Deno.test("compares quantities across units, exactly", () => {
  assert.equal(compareQuantities("1Gi", "1024Mi"), 0);
  assert.equal(compareQuantities("1Gi", "1073741824"), 0);
  assert.equal(compareQuantities("1G", "1Gi"), -1);
  assert.equal(compareQuantities("5Gi", "5G"), 1);
  assert.equal(compareQuantities("500m", "1"), -1);
  assert.equal(compareQuantities("1.1Gi", "1181116006.4"), 0);
  assert.equal(compareQuantities("0.1", "100m"), 0);
  assert.equal(compareQuantities("2e3", "2k"), 0);
});
