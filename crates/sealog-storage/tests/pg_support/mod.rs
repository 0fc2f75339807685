//! A PostgreSQL database of its own for each test: created on the server at
//! 127.0.0.1:5432 (user `postgres`, or `SEALOG_TEST_PG`'s URL of its `postgres` database),
//! dropped when the test ends.

#![allow(dead_code)] // each test file uses a different subset

use sealog_storage::{EngineOptions, PgOptions};
use std::time::Duration;

/// A database that lives as long as this value (unless it was only borrowed).
pub struct TestDb {
    /// Its name, `sealog_test_<random>`.
    pub name: String,
    admin: String,
    /// Whether this value made it, and drops it at the end.
    owned: bool,
}

impl TestDb {
    /// Creates a fresh, empty database.
    pub fn create() -> TestDb {
        let mut random = [0u8; 6];
        getrandom::fill(&mut random).unwrap();
        TestDb::create_named(format!("sealog_test_{}", sealog_core::hex::encode(&random)))
    }

    /// Creates a fresh, empty database named for this process, so that
    /// [`TestDb::drop_stale`] can drop it if the process ends before dropping it.
    pub fn create_for_process() -> TestDb {
        let mut random = [0u8; 6];
        getrandom::fill(&mut random).unwrap();
        let pid = std::process::id();
        TestDb::create_named(format!(
            "sealog_test_p{pid}_{}",
            sealog_core::hex::encode(&random)
        ))
    }

    /// Drops the databases [`TestDb::create_for_process`] made for processes that ended.
    pub fn drop_stale() {
        let probe = TestDb::create();
        for name in
            probe.column("SELECT datname FROM pg_database WHERE datname LIKE 'sealog_test_p%'")
        {
            let pid = name
                .trim_start_matches("sealog_test_p")
                .split('_')
                .next()
                .unwrap_or("");
            if !pid.is_empty() && !std::path::Path::new("/proc").join(pid).exists() {
                sql(
                    &probe.admin,
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                );
            }
        }
    }

    fn create_named(name: String) -> TestDb {
        let admin = std::env::var("SEALOG_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        sql(&admin, &format!("CREATE DATABASE {name}"));
        TestDb {
            name,
            admin,
            owned: true,
        }
    }

    /// The database another [`TestDb`] made, at `url`, for another thread; left in place.
    pub fn existing(url: &str) -> TestDb {
        let (admin, name) = url.rsplit_once('/').expect("a URL with a database");
        TestDb {
            name: name.to_owned(),
            admin: format!("{admin}/postgres"),
            owned: false,
        }
    }

    /// Its URL.
    pub fn url(&self) -> String {
        let (base, _) = self.admin.rsplit_once('/').expect("a URL with a database");
        format!("{base}/{}", self.name)
    }

    /// Runs `statements` in it.
    pub fn execute(&self, statements: &str) {
        sql(&self.url(), statements);
    }

    /// The first column of every row `query` returns, as text.
    pub fn column(&self, query: &str) -> Vec<String> {
        let url = self.url();
        let query = query.to_owned();
        run(async move {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .expect("connect to the test database");
            tokio::spawn(conn);
            let rows = client.simple_query(&query).await.expect("query");
            rows.into_iter()
                .filter_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(r) => {
                        Some(r.get(0).unwrap_or("").to_owned())
                    }
                    _ => None,
                })
                .collect()
        })
    }

    /// Engine options keeping the logs in this database under `key`, with a short lease.
    pub fn options(&self, key: [u8; 32], lease: Duration) -> EngineOptions {
        EngineOptions {
            checkpoint_interval: Duration::from_millis(50),
            postgres: Some(PgOptions {
                url: self.url(),
                store_key: key.into(),
                lease,
                ca_file: None,
                advertise_url: None,
            }),
            ..EngineOptions::default()
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        sql(
            &self.admin,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// Runs the test's own `query` to completion on a runtime of its own, on a thread of its
/// own, so that async tests may call it too.
fn run<T: Send>(query: impl std::future::Future<Output = T> + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(query)
        })
        .join()
        .unwrap()
    })
}

/// Runs `statements` on the database at `url`.
fn sql(url: &str, statements: &str) {
    let (url, statements) = (url.to_owned(), statements.to_owned());
    run(async move {
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {url} (start it, see .ci/run): {e}"));
        tokio::spawn(conn);
        client
            .batch_execute(&statements)
            .await
            .unwrap_or_else(|e| panic!("{statements}: {e}"));
    });
}
