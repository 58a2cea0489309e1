// VecDBImport: filled in by the architecture clean-up (issue 10).
