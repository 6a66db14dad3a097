import effect from "@effect/eslint-plugin"
import js from "@eslint/js"
import tseslint from "typescript-eslint"

const dprintOptions = {
  indentWidth: 2,
  lineWidth: 120,
  semiColons: "asi",
  quoteStyle: "alwaysDouble",
  trailingCommas: "never",
  operatorPosition: "maintain",
  "arrowFunction.useParentheses": "force"
}

export default tseslint.config(
  {
    ignores: ["**/node_modules/**", "**/build/**", "**/out/**", "**/.tsbuildinfo/**", "**/coverage/**"]
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...effect.configs.dprint,
  {
    files: ["**/*.ts", "**/*.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module" },
    rules: {
      "@effect/dprint": ["error", { config: dprintOptions }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-namespace": "off",
      "@typescript-eslint/no-empty-object-type": "off",
      "no-console": "error"
    }
  },
  {
    // The core is pure: time and randomness come in as arguments, effects go out as data.
    files: ["packages/core/src/**/*.ts"],
    rules: {
      "no-restricted-properties": [
        "error",
        { object: "Date", property: "now", message: "core takes the time as an argument" },
        { object: "Math", property: "random", message: "core takes randomness as an argument" },
        { object: "performance", property: "now", message: "core takes the time as an argument" }
      ],
      "no-restricted-syntax": [
        "error",
        { selector: "NewExpression[callee.name='Date']", message: "core takes the time as an argument" }
      ],
      "no-restricted-globals": [
        "error",
        { name: "process", message: "core performs no I/O" },
        { name: "setTimeout", message: "core reads no clock" },
        { name: "setInterval", message: "core reads no clock" }
      ],
      "no-restricted-imports": ["error", { patterns: [{ group: ["node:*"], message: "core performs no I/O" }] }]
    }
  },
  {
    files: ["examples/**/bin/*", "**/*.js"],
    languageOptions: { globals: { process: "readonly", console: "readonly" } }
  }
)
