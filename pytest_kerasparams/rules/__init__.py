"""Built-in layer rules, one module per Keras layer family, each registered as a plugin."""
