//! The engine's integration tests, in one binary: the test environment (`env`), instant
//! restores (`clones`), named
//! regression tests for the races and crashes the engine must survive (`holes`), the
//! seeded model-based test (`model`), what refusals say (`messages`), the figures
//! operators are shown (`figures`), and TruncateCollection's commit and crash points
//! (`truncate`).

mod clones;
mod env;
mod figures;
mod golden;
mod holes;
mod messages;
mod model;
mod rollback;
mod schema_evolution;
mod truncate;
