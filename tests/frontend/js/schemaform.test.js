// MCP elicitation schemas as form fields, their validation, and the form in a DOM.
import assert from "node:assert/strict";
import { test } from "node:test";

import { JSDOM } from "jsdom";

import {
  collect,
  fieldsOf,
  problemWith,
  renderSchemaForm,
} from "../../../frontend/static/js/schemaform.js";

// The form server-everything's trigger-elicitation-request sends (abridged).
const SCHEMA = {
  type: "object",
  properties: {
    name: { type: "string", title: "Name", description: "Your full name", minLength: 2 },
    email: { type: "string", format: "email", title: "Email" },
    homepage: { type: "string", format: "uri", title: "Homepage", maxLength: 40 },
    agree: { type: "boolean", title: "Agree", default: false },
    age: { type: "integer", title: "Age", minimum: 1, maximum: 120, default: 42 },
    score: { type: "number", title: "Score", minimum: 0, maximum: 10 },
    friend: { type: "string", title: "Friend", enum: ["Monica", "Joey"], default: "Joey" },
    pet: { type: "string", enum: ["p1", "p2"], enumNames: ["Cats", "Dogs"] },
    hero: {
      type: "string",
      title: "Hero",
      oneOf: [
        { const: "h1", title: "Superman" },
        { const: "h2", title: "Green Lantern" },
      ],
    },
    fish: {
      type: "array",
      title: "Fish",
      minItems: 1,
      maxItems: 2,
      items: {
        anyOf: [
          { const: "f1", title: "Tuna" },
          { const: "f2", title: "Salmon" },
          { const: "f3", title: "Trout" },
        ],
      },
      default: ["f1"],
    },
  },
  required: ["name", "hero"],
};

const byName = (fields) => Object.fromEntries(fields.map((f) => [f.name, f]));

test("each schema type becomes the right kind of field, in the schema's order", () => {
  const fields = fieldsOf(SCHEMA);
  assert.deepEqual(
    fields.map((f) => [f.name, f.kind]),
    [
      ["name", "string"],
      ["email", "string"],
      ["homepage", "string"],
      ["agree", "boolean"],
      ["age", "integer"],
      ["score", "number"],
      ["friend", "choice"],
      ["pet", "choice"],
      ["hero", "choice"],
      ["fish", "multi"],
    ],
  );
  const f = byName(fields);
  assert.equal(f.name.label, "Name");
  assert.equal(f.name.help, "Your full name");
  assert.equal(f.name.required, true);
  assert.equal(f.email.required, false);
  assert.equal(f.email.format, "email");
  assert.equal(f.pet.label, "pet"); // no title: the property's name
  assert.deepEqual(f.pet.choices, [
    { value: "p1", label: "Cats" },
    { value: "p2", label: "Dogs" },
  ]);
  assert.deepEqual(f.hero.choices[1], { value: "h2", label: "Green Lantern" });
  assert.deepEqual(
    f.fish.choices.map((c) => c.label),
    ["Tuna", "Salmon", "Trout"],
  );
  assert.equal(f.age.default, 42);
});

test("validation explains what is wrong, field by field", () => {
  const f = byName(fieldsOf(SCHEMA));
  assert.equal(problemWith(f.name, ""), "Name is required.");
  assert.equal(problemWith(f.name, "A"), "Name needs at least 2 characters.");
  assert.equal(problemWith(f.name, "Ada"), "");
  assert.equal(problemWith(f.email, ""), ""); // optional
  assert.equal(problemWith(f.email, "nope"), "Enter an email address.");
  assert.equal(problemWith(f.email, "ada@example.com"), "");
  assert.match(problemWith(f.homepage, "example"), /full address/);
  assert.match(problemWith(f.homepage, `https://example.com/${"x".repeat(40)}`), /at most 40/);
  assert.equal(problemWith(f.age, "0"), "Age must be at least 1.");
  assert.equal(problemWith(f.age, "121"), "Age must be at most 120.");
  assert.equal(problemWith(f.age, "4.5"), "Age must be a whole number.");
  assert.equal(problemWith(f.age, "abc"), "Age must be a number.");
  assert.equal(problemWith(f.score, "9.5"), "");
  assert.equal(problemWith(f.hero, ""), "Hero is required.");
  assert.equal(problemWith(f.hero, "h9"), "Choose one of the options.");
  assert.equal(problemWith(f.fish, ["f1", "f2", "f3"]), "Choose at most 2.");
  assert.equal(problemWith(f.fish, ["f9"]), "Choose among the options.");
  assert.equal(problemWith(f.agree, false), "");
});

test("collected content is typed and leaves out unanswered optional fields", () => {
  const fields = fieldsOf(SCHEMA);
  const raw = {
    name: "Ada",
    email: "",
    age: "36",
    score: "7.5",
    agree: true,
    hero: "h2",
    fish: ["f1", "f3"],
    friend: "Joey",
    pet: "",
  };
  const { content, errors } = collect(fields, raw);
  assert.deepEqual(errors, {});
  assert.deepEqual(content, {
    name: "Ada",
    age: 36,
    score: 7.5,
    agree: true,
    hero: "h2",
    fish: ["f1", "f3"],
    friend: "Joey",
  });
  const bad = collect(fields, { ...raw, name: "", age: "500" });
  assert.deepEqual(Object.keys(bad.errors), ["name", "age"]);
});

function form(schema, onAnswer) {
  const { window } = new JSDOM("<!doctype html><body></body>");
  const node = renderSchemaForm(window.document, { id: "q1", schema }, onAnswer);
  window.document.body.append(node);
  return { window, node };
}

test("the form shows labels, help, defaults and the right controls", () => {
  const { node } = form(SCHEMA, () => {});
  const label = [...node.querySelectorAll("label.field-label")].find((l) =>
    l.textContent.startsWith("Name"),
  );
  const input = node.querySelector(`#${label.htmlFor}`);
  assert.equal(input.type, "text");
  assert.equal(input.getAttribute("aria-required"), "true");
  assert.match(input.getAttribute("aria-describedby"), /help/);
  assert.equal(node.querySelector("input[type=email]") !== null, true);
  assert.equal(node.querySelector("input[type=url]").maxLength, 40);
  const age = node.querySelector("input[type=number][step='1']");
  assert.equal(age.value, "42");
  assert.equal(age.min, "1");
  assert.equal(age.max, "120");
  // Two choices: radio buttons, the default checked; a multiple choice: checkboxes.
  const friends = [...node.querySelectorAll("input[type=radio]")].filter((r) => r.value.length > 2);
  assert.deepEqual(
    friends.map((r) => [r.value, r.checked]),
    [
      ["Monica", false],
      ["Joey", true],
    ],
  );
  assert.equal(node.querySelectorAll("[role=group] input[type=checkbox]").length, 3);
  assert.equal(node.querySelector("[role=group] input[value=f1]").checked, true);
});

test("a long list of choices is a select", () => {
  const options = ["a", "b", "c", "d", "e", "f"];
  const { node } = form(
    { type: "object", properties: { pick: { type: "string", enum: options } } },
    () => {},
  );
  const select = node.querySelector("select");
  assert.deepEqual(
    [...select.options].map((o) => o.value),
    ["", ...options],
  );
});

test("submit validates, marks the fields in error and answers only when all is well", () => {
  const answers = [];
  const schema = {
    type: "object",
    properties: {
      name: { type: "string", title: "Name" },
      n: { type: "integer", title: "N", maximum: 3 },
    },
    required: ["name"],
  };
  const { window, node } = form(schema, (action, content) => answers.push([action, content]));
  const [name, n] = node.querySelectorAll("input");
  n.value = "9";
  node.dispatchEvent(new window.Event("submit", { cancelable: true }));
  assert.deepEqual(answers, []);
  const errors = [...node.querySelectorAll(".field-error")].map((e) => [e.hidden, e.textContent]);
  assert.deepEqual(errors, [
    [false, "Name is required."],
    [false, "N must be at most 3."],
  ]);
  assert.equal(name.getAttribute("aria-invalid"), "true");
  assert.equal(window.document.activeElement, name);
  name.value = "Ada";
  n.value = "2";
  node.dispatchEvent(new window.Event("submit", { cancelable: true }));
  assert.deepEqual(answers, [["accept", { name: "Ada", n: 2 }]]);
  assert.equal(name.hasAttribute("aria-invalid"), false);
});

test("decline and cancel answer without content", () => {
  const answers = [];
  const { node } = form(SCHEMA, (action, content) => answers.push([action, content]));
  node.querySelector("[data-action=decline]").click();
  node.querySelector("[data-action=cancel]").click();
  assert.deepEqual(answers, [
    ["decline", undefined],
    ["cancel", undefined],
  ]);
});
