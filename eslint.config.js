// Lint for the front end's own JavaScript (ES modules in the browser, tests in Node).
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["node_modules/", ".tools/", "data/", "tests/frontend/artifacts/"] },
  js.configs.recommended,
  {
    files: ["frontend/static/js/**/*.js"],
    languageOptions: { sourceType: "module", globals: globals.browser },
  },
  {
    files: ["frontend/static/js/theme.js"],
    languageOptions: { sourceType: "script", globals: globals.browser },
  },
  {
    files: ["tests/frontend/js/**/*.js", "eslint.config.js"],
    languageOptions: { sourceType: "module", globals: globals.node },
  },
];
