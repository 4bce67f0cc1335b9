// MCP elicitation forms: a requested JSON schema as form fields, their validation, and
// the answer's content. MCP limits the schema to a flat object of primitives: strings
// (with format, length bounds), numbers and integers (with bounds), booleans, and enums
// (`enum`, `enum` + `enumNames`, `oneOf`/`anyOf` of `{const, title}`, or arrays of those
// for a multiple choice).

const STRING_FORMATS = { email: "email", uri: "url", date: "date", "date-time": "datetime-local" };
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const RADIO_LIMIT = 4; // up to this many choices show as radio buttons, more as a select

function choicesOf(schema) {
  if (!schema || typeof schema !== "object") return null;
  const titled = schema.oneOf || schema.anyOf;
  if (Array.isArray(titled) && titled.every((c) => c && "const" in c)) {
    return titled.map((c) => ({ value: String(c.const), label: String(c.title ?? c.const) }));
  }
  if (Array.isArray(schema.enum)) {
    const names = Array.isArray(schema.enumNames) ? schema.enumNames : [];
    return schema.enum.map((value, i) => ({
      value: String(value),
      label: String(names[i] ?? value),
    }));
  }
  return null;
}

// The fields of a requested schema, in its order, each a plain description.
export function fieldsOf(schema) {
  const properties = (schema && schema.properties) || {};
  const required = new Set(Array.isArray(schema?.required) ? schema.required : []);
  return Object.entries(properties).map(([name, prop]) => {
    const p = prop || {};
    const field = {
      name,
      label: p.title || name,
      help: p.description || "",
      required: required.has(name),
      default: p.default,
    };
    if (p.type === "array") {
      return {
        ...field,
        kind: "multi",
        choices: choicesOf(p.items) || [],
        minItems: p.minItems,
        maxItems: p.maxItems,
      };
    }
    const choices = choicesOf(p);
    if (choices) return { ...field, kind: "choice", choices };
    if (p.type === "boolean") return { ...field, kind: "boolean" };
    if (p.type === "number" || p.type === "integer") {
      return { ...field, kind: p.type, minimum: p.minimum, maximum: p.maximum };
    }
    return {
      ...field,
      kind: "string",
      format: p.format || null,
      minLength: p.minLength,
      maxLength: p.maxLength,
    };
  });
}

function isEmpty(value) {
  return (
    value === undefined || value === null || value === "" || (Array.isArray(value) && !value.length)
  );
}

// One field's problem with a raw value (as read from the form), or "" when it is fine.
export function problemWith(field, raw) {
  if (field.kind === "boolean") return "";
  if (isEmpty(raw)) return field.required ? `${field.label} is required.` : "";
  if (field.kind === "number" || field.kind === "integer") {
    const value = Number(raw);
    if (typeof raw === "string" && !raw.trim()) return `${field.label} must be a number.`;
    if (!Number.isFinite(value)) return `${field.label} must be a number.`;
    if (field.kind === "integer" && !Number.isInteger(value)) {
      return `${field.label} must be a whole number.`;
    }
    if (field.minimum !== undefined && value < field.minimum) {
      return `${field.label} must be at least ${field.minimum}.`;
    }
    if (field.maximum !== undefined && value > field.maximum) {
      return `${field.label} must be at most ${field.maximum}.`;
    }
    return "";
  }
  if (field.kind === "choice") {
    return field.choices.some((c) => c.value === raw) ? "" : `Choose one of the options.`;
  }
  if (field.kind === "multi") {
    const known = new Set(field.choices.map((c) => c.value));
    if (!raw.every((v) => known.has(v))) return "Choose among the options.";
    if (field.minItems !== undefined && raw.length < field.minItems) {
      return `Choose at least ${field.minItems}.`;
    }
    if (field.maxItems !== undefined && raw.length > field.maxItems) {
      return `Choose at most ${field.maxItems}.`;
    }
    return "";
  }
  const text = String(raw);
  if (field.minLength !== undefined && text.length < field.minLength) {
    return `${field.label} needs at least ${field.minLength} characters.`;
  }
  if (field.maxLength !== undefined && text.length > field.maxLength) {
    return `${field.label} can have at most ${field.maxLength} characters.`;
  }
  if (field.format === "email" && !EMAIL.test(text)) return "Enter an email address.";
  if (field.format === "uri") {
    try {
      new URL(text);
    } catch {
      return "Enter a full address, such as https://example.com.";
    }
  }
  if (field.format === "date" && !/^\d{4}-\d{2}-\d{2}$/.test(text)) return "Enter a date.";
  return "";
}

function typed(field, raw) {
  if (field.kind === "number") return Number(raw);
  if (field.kind === "integer") return Number.parseInt(raw, 10);
  if (field.kind === "boolean") return Boolean(raw);
  return raw;
}

// Validate raw values by field name: `{content, errors}`; content only holds answered fields.
export function collect(fields, raw) {
  const errors = {};
  const content = {};
  for (const field of fields) {
    const value = raw[field.name];
    const problem = problemWith(field, value);
    if (problem) errors[field.name] = problem;
    else if (field.kind === "boolean" || !isEmpty(value)) content[field.name] = typed(field, value);
  }
  return { content, errors };
}

// ---- The form in the page ----------------------------------------------------------

function element(doc, tag, className, text) {
  const node = doc.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// A visible "*"; screen readers hear "required" from aria-required instead.
function requiredMark(doc) {
  const mark = element(doc, "span", "required", " *");
  mark.setAttribute("aria-hidden", "true");
  return mark;
}

function inputFor(doc, field, id) {
  if (field.kind === "boolean") {
    const box = element(doc, "input");
    box.type = "checkbox";
    box.id = id;
    box.checked = field.default === true;
    return box;
  }
  if (field.kind === "choice" && field.choices.length > RADIO_LIMIT) {
    const select = element(doc, "select");
    select.id = id;
    if (!field.required || field.default === undefined) {
      const none = element(doc, "option", "", "Choose…");
      none.value = "";
      select.append(none);
    }
    for (const choice of field.choices) {
      const option = element(doc, "option", "", choice.label);
      option.value = choice.value;
      if (String(field.default) === choice.value) option.selected = true;
      select.append(option);
    }
    return select;
  }
  if (field.kind === "choice" || field.kind === "multi") {
    const group = element(doc, "div", "choices");
    group.id = id;
    group.setAttribute("role", field.kind === "choice" ? "radiogroup" : "group");
    const defaults = new Set(
      (Array.isArray(field.default) ? field.default : [field.default]).map(String),
    );
    field.choices.forEach((choice, i) => {
      const label = element(doc, "label", "choice");
      const box = element(doc, "input");
      box.type = field.kind === "choice" ? "radio" : "checkbox";
      box.name = `${id}-choice`;
      box.value = choice.value;
      box.id = `${id}-${i}`;
      box.checked = defaults.has(choice.value);
      label.append(box, element(doc, "span", "", choice.label));
      group.append(label);
    });
    return group;
  }
  const input = element(doc, "input");
  input.id = id;
  if (field.kind === "number" || field.kind === "integer") {
    input.type = "number";
    input.step = field.kind === "integer" ? "1" : "any";
    if (field.minimum !== undefined) input.min = String(field.minimum);
    if (field.maximum !== undefined) input.max = String(field.maximum);
  } else {
    input.type = STRING_FORMATS[field.format] || "text";
    if (field.maxLength !== undefined) input.maxLength = field.maxLength;
  }
  if (field.default !== undefined && field.default !== null) input.value = String(field.default);
  return input;
}

function readValue(node, field) {
  if (field.kind === "boolean") return node.checked;
  if (field.kind === "choice" || field.kind === "multi") {
    if (node.tagName === "SELECT") return node.value;
    const checked = [...node.querySelectorAll("input:checked")].map((box) => box.value);
    return field.kind === "choice" ? (checked[0] ?? "") : checked;
  }
  return node.value.trim() === "" ? "" : node.value;
}

// A form for an `input.required` question; `onAnswer(action, content)` with MCP's
// action: "accept" (validated content), "decline" or "cancel".
export function renderSchemaForm(doc, question, onAnswer) {
  const fields = fieldsOf(question.schema || {});
  const form = element(doc, "form", "elicitation-form");
  form.noValidate = true; // our own messages, the same in every browser
  const prefix = `q-${question.id}`.replace(/[^A-Za-z0-9_-]/g, "");
  const nodes = new Map();
  for (const field of fields) {
    const id = `${prefix}-${field.name}`.replace(/[^A-Za-z0-9_-]/g, "_");
    const row = element(doc, "div", `field field-${field.kind}`);
    const input = inputFor(doc, field, id);
    const error = element(doc, "p", "field-error");
    error.id = `${id}-error`;
    error.hidden = true;
    const help = field.help ? element(doc, "p", "field-help", field.help) : null;
    if (help) help.id = `${id}-help`;
    const described = [help?.id, error.id].filter(Boolean).join(" ");
    if (field.kind === "boolean") {
      const label = element(doc, "label", "check");
      input.setAttribute("aria-describedby", described);
      label.append(input, element(doc, "span", "", field.label));
      row.append(label);
    } else if (input.tagName === "DIV") {
      const legend = element(doc, "span", "field-label", field.label);
      legend.id = `${id}-label`;
      input.setAttribute("aria-labelledby", legend.id);
      input.setAttribute("aria-describedby", described);
      if (field.required) {
        legend.append(requiredMark(doc));
        input.setAttribute("aria-required", "true");
      }
      row.append(legend, input);
    } else {
      const label = element(doc, "label", "field-label", field.label);
      label.htmlFor = id;
      if (field.required) {
        label.append(requiredMark(doc));
        input.setAttribute("aria-required", "true");
      }
      input.setAttribute("aria-describedby", described);
      row.append(label, input);
    }
    if (help) row.append(help);
    row.append(error);
    form.append(row);
    nodes.set(field.name, { field, input, error });
  }

  const actions = element(doc, "div", "elicitation-actions");
  const cancel = element(doc, "button", "button subtle", "Cancel");
  cancel.type = "button";
  cancel.dataset.action = "cancel";
  const decline = element(doc, "button", "button", "Decline");
  decline.type = "button";
  decline.dataset.action = "decline";
  const submit = element(doc, "button", "button primary", "Submit");
  submit.type = "submit";
  actions.append(cancel, decline, submit);
  form.append(actions);

  cancel.addEventListener("click", () => onAnswer("cancel"));
  decline.addEventListener("click", () => onAnswer("decline"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const raw = {};
    for (const [name, { field, input }] of nodes) raw[name] = readValue(input, field);
    const { content, errors } = collect(fields, raw);
    let first = null;
    for (const [name, { input, error }] of nodes) {
      const message = errors[name] || "";
      error.textContent = message;
      error.hidden = !message;
      const target = input.tagName === "DIV" ? input.querySelector("input") : input;
      if (message) {
        input.setAttribute("aria-invalid", "true");
        first = first || target;
      } else {
        input.removeAttribute("aria-invalid");
      }
    }
    if (first) {
      first.focus();
      return;
    }
    onAnswer("accept", content);
  });
  return form;
}
