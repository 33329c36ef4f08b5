// The fixture's webpack config, as a plain object: the test adds the absolute paths (context,
// output.path) and runs webpack from the project's root node_modules.
export default {
  mode: "production",
  entry: "./main.js",
  output: { filename: "main.js", publicPath: "auto", clean: true },
  performance: { hints: false },
};
