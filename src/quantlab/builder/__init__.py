"""The visual strategy builder: graph tools over HTTP, drafts with autosave, node previews,
quick tests and saving a graph as a strategy (the pure part is quantlab.engine.builder)."""
