// The query engine; see docs/architecture.md.
