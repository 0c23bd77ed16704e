//! The engine's integration tests, in one binary: the test environment (`env`), named
//! regression tests for the races and crashes the engine must survive (`holes`), and
//! the seeded model-based test (`model`), and what refusals say (`messages`).

mod env;
mod golden;
mod holes;
mod messages;
mod model;
mod schema_evolution;
