//! The tests of `serve_api.rs` with every server over the PostgreSQL store (the support
//! module does that for the binaries named `*_on_postgres`): first start, receipts, scoped
//! keys, errors, and a restart that keeps every event. `SEALOG_TEST_STORE=postgres` runs
//! every test binary that way.

#[path = "serve_api.rs"]
mod cases;
