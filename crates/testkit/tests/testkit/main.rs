//! The testkit's own tests: every action of both faulty stores, the power switch, rule
//! matching, counters, the object store conformance suite on every backend we use, and
//! the seeded generator.

mod conformance;
mod meta;
mod objects;
mod rng;
