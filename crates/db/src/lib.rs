//! PostgreSQL access shared by the services: a connection pool and versioned migrations.
//!
//! Each service owns one schema and ships its migrations as `(version, sql)` pairs
//! (`include_str!` of files under the service's `migrations/`). [`migrate`] applies the
//! missing ones in order, each in its own transaction, under an advisory lock so that
//! replicas starting together do not race.

mod notices;

pub use notices::{announced, Notice, Notices};

use cvat_error::{ApiError, ErrorKind};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

pub use deadpool_postgres::{GenericClient, Object as Client, Pool as PgPool, PoolError, Transaction};
pub use tokio_postgres::{Error as PgError, Row};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("invalid database url: {0}")]
    Config(#[source] tokio_postgres::Error),
    #[error("database unavailable: {0}")]
    Pool(#[from] PoolError),
    #[error("database error: {0}")]
    Query(#[from] tokio_postgres::Error),
    #[error("pool build failed: {0}")]
    Build(String),
}

/// One migration: applied once, in `version` order.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Builds a pool; connections are made lazily, so a database that is down at start-up
/// only fails the requests that need it, and the service recovers when it returns.
/// Every connection's `search_path` is the service's own schema, and no statement runs
/// longer than `statement_timeout_ms` (0: no limit), so one client's costly query cannot
/// hold a connection others need. Statements start no parallel workers unless run
/// through [`scan_in_parallel`]: a page of ten rows whose filter PostgreSQL cannot
/// estimate was planned with two workers, and starting them cost more than the page
/// (job search, 1M jobs: 11 ms instead of under 1).
pub fn pool(url: &str, schema: &str, max_size: usize, statement_timeout_ms: u64) -> Result<Pool, DbError> {
    let mut config: tokio_postgres::Config = url.parse().map_err(DbError::Config)?;
    config.options(format!(
        "-csearch_path={schema} -cstatement_timeout={statement_timeout_ms} -cmax_parallel_workers_per_gather=0"
    ));
    let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
    Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(std::time::Duration::from_secs(5)))
        .create_timeout(Some(std::time::Duration::from_secs(5)))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .map_err(|e| DbError::Build(e.to_string()))
}

/// The rows of a prepared `statement` run with the setting `name` at `value` for it alone.
/// The `SET`, the statement and the `RESET` travel in one pipeline (a prepared statement
/// is sent at once, so the server runs the three in that order: a statement that must be
/// prepared first would be sent after the `RESET`), and the session's own value comes back
/// whether the statement succeeds or not.
pub async fn query_with_setting(
    client: &tokio_postgres::Client,
    name: &str,
    value: &str,
    statement: &tokio_postgres::Statement,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<Row>, tokio_postgres::Error> {
    let (set, rows, reset) = futures_util::future::join3(
        client.batch_execute(&format!("SET {name} = {value}")),
        client.query(statement, params),
        client.batch_execute(&format!("RESET {name}")),
    )
    .await;
    set?;
    reset?;
    rows
}

/// The rows of a prepared `statement` that scans a whole table (a list's count), run with
/// PostgreSQL's default of two parallel workers (1M jobs counted in 0.29 s instead of 0.46).
pub async fn scan_in_parallel(
    client: &tokio_postgres::Client,
    statement: &tokio_postgres::Statement,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<Row>, tokio_postgres::Error> {
    query_with_setting(client, "max_parallel_workers_per_gather", "2", statement, params).await
}

static POOL_CONNECTIONS: std::sync::LazyLock<prometheus::IntGaugeVec> = std::sync::LazyLock::new(|| {
    prometheus::register_int_gauge_vec!(
        "cvat_db_pool_connections",
        "Database pool connections by pool and state (in_use, idle; waiting: callers waiting for one)",
        &["pool", "state"]
    )
    .expect("metric registers once")
});

/// Reports `pool`'s usage as `cvat_db_pool_connections{pool=name}` every few seconds, for
/// as long as the process runs.
pub fn export_pool_usage(pool: Pool, name: &'static str) {
    tokio::spawn(async move {
        loop {
            let status = pool.status();
            let in_use = status.size.saturating_sub(status.available);
            for (state, value) in [("in_use", in_use), ("idle", status.available), ("waiting", status.waiting)] {
                POOL_CONNECTIONS.with_label_values(&[name, state]).set(value as i64);
            }
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        }
    });
}

/// Applies the migrations of `schema` that are not yet recorded.
pub async fn migrate(pool: &Pool, schema: &str, migrations: &[Migration]) -> Result<Vec<i64>, DbError> {
    let mut client = pool.get().await?;
    // The lock key is derived from the schema name so services migrate independently.
    let lock_key: i64 = schema.bytes().fold(7i64, |h, b| h.wrapping_mul(31).wrapping_add(b as i64));
    client.execute("SELECT pg_advisory_lock($1)", &[&lock_key]).await?;
    let result = apply_missing(&mut client, schema, migrations).await;
    client.execute("SELECT pg_advisory_unlock($1)", &[&lock_key]).await?;
    result
}

async fn apply_missing(client: &mut Client, schema: &str, migrations: &[Migration]) -> Result<Vec<i64>, DbError> {
    client
        .batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {schema};
             CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
                 version bigint PRIMARY KEY,
                 name text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now())"
        ))
        .await?;
    let rows = client.query(&format!("SELECT version FROM {schema}.schema_migrations"), &[]).await?;
    let applied: Vec<i64> = rows.iter().map(|row| row.try_get(0)).collect::<Result<_, _>>()?;
    let mut pending: Vec<&Migration> = migrations.iter().filter(|m| !applied.contains(&m.version)).collect();
    pending.sort_by_key(|m| m.version);
    let mut done = Vec::new();
    for migration in pending {
        let tx = client.transaction().await?;
        // A migration may take as long as it needs.
        let prelude = format!("SET LOCAL search_path TO {schema}, public;\nSET LOCAL statement_timeout = 0;");
        tx.batch_execute(&format!("{prelude}\n{}", migration.sql)).await?;
        tx.execute(
            &format!("INSERT INTO {schema}.schema_migrations (version, name) VALUES ($1, $2)"),
            &[&migration.version, &migration.name],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(schema, version = migration.version, name = migration.name, "migration applied");
        done.push(migration.version);
    }
    Ok(done)
}

/// A pooled connection whose running statement is cancelled when the future using it is
/// dropped, as a service's handler is when the caller goes away: PostgreSQL would
/// otherwise finish an abandoned query while the connection stays busy. Statements sent
/// together (a list's count and page) run one after the other, and a cancel stops only
/// the running one, so cancels go on until the connection answers a trivial query: then
/// none is left (closing the socket would not stop a statement waiting on a lock). A
/// cancelled connection leaves the pool and is closed, so a cancel that lands late can
/// never stop another request's statement.
pub struct CancelOnDrop {
    client: Option<Client>,
}

impl CancelOnDrop {
    pub fn new(client: Client) -> Self {
        Self { client: Some(client) }
    }

    pub fn client(&self) -> &Client {
        self.client.as_ref().expect("present until finish or drop")
    }

    /// The work ended (well or not): the connection goes back to the pool as usual.
    pub fn finish(mut self) -> Client {
        self.client.take().expect("present until finish or drop")
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else { return };
        let token = client.cancel_token();
        let connection = Client::take(client);
        // Outside a runtime (shutdown) there is nobody left to wait for the answer.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        runtime.spawn(async move {
            for _ in 0..CANCEL_ATTEMPTS {
                if let Err(err) = token.cancel_query(NoTls).await {
                    tracing::warn!(error = %err, "cancelling an abandoned statement failed");
                    break;
                }
                let idle = tokio::time::timeout(CANCEL_SETTLE, connection.simple_query("SELECT 1")).await;
                if idle.is_ok() {
                    tracing::info!("statement of an abandoned request cancelled");
                    break;
                }
            }
            drop(connection);
        });
    }
}

/// How often an abandoned connection is cancelled at most, and how long it is given to
/// answer after each cancel.
const CANCEL_ATTEMPTS: usize = 10;
const CANCEL_SETTLE: std::time::Duration = std::time::Duration::from_secs(1);

/// True when a query can run: used by readiness checks.
pub async fn ping(pool: &Pool) -> bool {
    match pool.get().await {
        Ok(client) => client.simple_query("SELECT 1").await.is_ok(),
        Err(_) => false,
    }
}

/// Maps a database failure to the client's view: 503 when unreachable, 409 for a unique
/// violation (the object exists already), else 500. The cause and `at` (the caller's
/// source location) are logged here and never sent.
fn classify(err: DbError, at: &'static std::panic::Location<'static>) -> ApiError {
    if is_unavailable(&err) {
        tracing::warn!(error = %err, %at, "database unavailable");
        return ApiError::unavailable("The database");
    }
    if let DbError::Query(e) = &err {
        use tokio_postgres::error::SqlState;
        let code = e.code();
        if code == Some(&SqlState::UNIQUE_VIOLATION) {
            tracing::info!(error = %err, %at, "unique violation");
            return ApiError::detail(ErrorKind::Conflict, "An object with these values already exists.");
        }
        if code == Some(&SqlState::QUERY_CANCELED) {
            tracing::warn!(error = %err, sqlstate = SqlState::QUERY_CANCELED.code(), %at, "statement timed out");
            return ApiError::unavailable("The query took too long; the database");
        }
        // Text PostgreSQL cannot store (a NUL character, `\u0000` in JSON) is the client's.
        if code == Some(&SqlState::CHARACTER_NOT_IN_REPERTOIRE) || code == Some(&SqlState::UNTRANSLATABLE_CHARACTER) {
            tracing::info!(error = %err, %at, "unstorable text");
            return ApiError::bad_request("The data contains a character that cannot be stored (such as \\u0000).");
        }
    }
    // The server's message says what failed (its detail may quote data: not logged).
    let (message, sqlstate) = match &err {
        DbError::Query(e) => (e.as_db_error().map(|d| d.message().to_string()), e.code().map(|c| c.code().to_string())),
        _ => (None, None),
    };
    tracing::error!(
        error = %err,
        message = message.unwrap_or_default(),
        sqlstate = sqlstate.unwrap_or_default(),
        %at,
        "database error"
    );
    ApiError::internal()
}

/// [`classify`] at the caller's location, for `.map_err(api_error)` where no method
/// call is possible.
#[track_caller]
pub fn api_error(err: impl Into<DbError>) -> ApiError {
    classify(err.into(), std::panic::Location::caller())
}

/// `.db()` on a database result: the error classified by [`api_error`], logged with the
/// source location of the `.db()` call.
pub trait DbResultExt<T> {
    fn db(self) -> Result<T, ApiError>;
}

impl<T, E: Into<DbError>> DbResultExt<T> for Result<T, E> {
    #[track_caller]
    fn db(self) -> Result<T, ApiError> {
        let at = std::panic::Location::caller();
        self.map_err(|e| classify(e.into(), at))
    }
}

/// Column `index` of every row, in order, checked like [`column`].
#[track_caller]
pub fn column_values<'a, I, T>(rows: &'a [Row], index: I) -> Result<Vec<T>, ApiError>
where
    I: tokio_postgres::row::RowIndex + std::fmt::Display + Copy,
    T: tokio_postgres::types::FromSql<'a>,
{
    rows.iter().map(|row| column(row, index)).collect()
}

/// Column `index` of `row` as `T`: a wrong column name or type is an internal error
/// logged with the caller's location, never a panic of the service.
#[track_caller]
pub fn column<'a, I, T>(row: &'a Row, index: I) -> Result<T, ApiError>
where
    I: tokio_postgres::row::RowIndex + std::fmt::Display,
    T: tokio_postgres::types::FromSql<'a>,
{
    let at = std::panic::Location::caller();
    row.try_get(&index).map_err(|err| {
        tracing::error!(error = %err, column = %index, %at, "unreadable column");
        ApiError::internal()
    })
}

/// True for errors caused by the database being unreachable rather than by the query.
pub fn is_unavailable(err: &DbError) -> bool {
    match err {
        DbError::Pool(_) | DbError::Build(_) => true,
        DbError::Query(e) => {
            // Connection-class errors (08…) and server shutdown/restart (57P01–57P03).
            let code = e.code().map(|c| c.code()).unwrap_or("");
            e.is_closed() || e.as_db_error().is_none() || code.starts_with("08") || code.starts_with("57P")
        }
        DbError::Config(_) => false,
    }
}
