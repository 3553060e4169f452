//! CVAT's list semantics compiled to SQL: `page`/`page_size`, the JSON-Logic `filter`,
//! `sort`, `search` and simple equality filters.
//!
//! Each resource declares a [`ListSpec`] (its public field names and the SQL behind them);
//! [`compile`] turns the query parameters into a parameterised `WHERE`/`ORDER BY`/`LIMIT`
//! that repositories append to their own scope conditions. Values are always bound as
//! parameters, never spliced into SQL.
//!
//! Where this differs from CVAT, on purpose: an unknown `sort` or filter field, and a
//! `page_size` outside `1..=MAX_PAGE_SIZE`, are rejected with a 400 naming the problem
//! instead of being silently dropped or replaced.

mod filter;
mod sql;

pub use cvat_list_params::{parse_paging, ListParams, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use sql::{SqlParam, SqlWhere};

use cvat_error::{ApiError, ApiResult, ErrorKind, FieldErrors};
use std::collections::HashMap;
use std::sync::Arc;

/// Prepared list statements kept per database connection.
const STATEMENT_CACHE_LIMIT: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Int,
    Text,
    Bool,
    Timestamp,
}

/// A public field name and the SQL expression it reads.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub sql: &'static str,
    pub ty: FieldType,
}

/// What a resource lets clients filter, search and sort on.
#[derive(Debug, Clone, Copy)]
pub struct ListSpec {
    pub fields: &'static [Field],
    pub search: &'static [&'static str],
    pub filter: &'static [&'static str],
    pub equals: &'static [&'static str],
    pub sort: &'static [&'static str],
    /// e.g. `-id`
    pub default_sort: &'static str,
    /// The condition one `search` term must meet, when the resource has a faster form than
    /// an ILIKE per search field; each `{}` stands for the term's LIKE pattern (`%term%`,
    /// escaped, not lower-cased). It must select exactly the rows where one of the
    /// `search` fields contains the term, ignoring case.
    pub search_sql: Option<&'static str>,
}

impl ListSpec {
    fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    fn allowed(&self, names: &[&str], name: &str) -> Option<&'static Field> {
        names.contains(&name).then(|| self.field(name)).flatten()
    }
}

/// A compiled list query: conditions, ordering and paging.
#[derive(Debug)]
pub struct CompiledList {
    pub conditions: SqlWhere,
    pub order_by: String,
    pub limit: i64,
    pub offset: i64,
    /// Some `search` term is among the conditions: see [`page_rows`].
    pub searched: bool,
}

/// Compiles `params` against `spec`, appending to `conditions` (the caller's scope).
pub fn compile(spec: &ListSpec, params: &ListParams, mut conditions: SqlWhere) -> ApiResult<CompiledList> {
    equality_filters(spec, &params.equals, &mut conditions)?;
    if params.filter.len() > MAX_FILTER_BYTES {
        return Err(ApiError::field("filter", format!("A filter is at most {MAX_FILTER_BYTES} bytes.")));
    }
    if !params.filter.trim().is_empty() {
        filter::apply(spec, &params.filter, &mut conditions)?;
    }
    let searched = search(spec, &params.search, &mut conditions)?;
    let page = params.page.max(1);
    let page_size = if params.page_size <= 0 { DEFAULT_PAGE_SIZE } else { params.page_size.min(MAX_PAGE_SIZE) };
    Ok(CompiledList {
        conditions,
        order_by: order_by(spec, &params.sort)?,
        limit: page_size,
        offset: (page - 1).saturating_mul(page_size),
        searched,
    })
}

/// One page of a list, the total count, and the connection back for more queries.
pub struct Page {
    pub count: i64,
    pub rows: Vec<tokio_postgres::Row>,
    pub client: cvat_db::Client,
}

/// One page of a list and the total count: `params` compiled against `spec` on top of the
/// caller's `scope`, selecting `columns` from `from`. The count and the page are two
/// statements sent together, so the page can stop at its `LIMIT` (an index walk) instead
/// of numbering every match. A page past the end is a 404, as in CVAT. Lists are what a
/// client may give up on (a costly search): if this future is dropped, the statements are
/// cancelled ([`cvat_db::CancelOnDrop`]). With `counts` (lists whose tables bump a
/// generation with every write) the count is kept between writes: see [`CountCache`].
pub async fn fetch_page(
    client: cvat_db::Client,
    spec: &ListSpec,
    params: &ListParams,
    scope: SqlWhere,
    columns: &str,
    from: &str,
    counts: Option<&CountCache>,
) -> ApiResult<Page> {
    let list = compile(spec, params, scope)?;
    let guard = cvat_db::CancelOnDrop::new(client);
    let fetched = match counts {
        None => run_page(guard.client(), &list, columns, from).await,
        Some(counts) => run_counted_page(guard.client(), &list, columns, from, counts).await,
    };
    let client = guard.finish();
    let (count, rows) = fetched?;
    if rows.is_empty() && list.offset > 0 {
        return Err(ApiError::detail(ErrorKind::NotFound, "Invalid page."));
    }
    Ok(Page { count, rows, client })
}

/// A statement through the connection's statement cache (bounded: filters give many shapes).
async fn prepared(client: &cvat_db::Client, sql: &str) -> ApiResult<tokio_postgres::Statement> {
    if client.statement_cache.size() > STATEMENT_CACHE_LIMIT {
        client.statement_cache.clear();
    }
    client.prepare_cached(sql).await.map_err(cvat_db::api_error)
}

/// A page's rows. A searched page goes through its prepared statement's generic plan:
/// pages are index walks that stop at their `LIMIT`, so planning costs more than running
/// them, but PostgreSQL plans anew for every execution when it cannot tell a generic
/// plan's cost from the custom ones' (ILIKEs over joined rows): a job search page spent
/// 3–4 ms planning for 0.3 ms of work (2,955 instead of 728 pages/s at 32 connections).
/// Other pages settle on the generic plan by themselves.
async fn page_rows(
    client: &cvat_db::Client,
    list: &CompiledList,
    statement: &tokio_postgres::Statement,
    values: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<tokio_postgres::Row>, tokio_postgres::Error> {
    if list.searched {
        cvat_db::query_with_setting(client, "plan_cache_mode", "force_generic_plan", statement, values).await
    } else {
        client.query(statement, values).await
    }
}

fn page_sql(list: &CompiledList, columns: &str, from: &str) -> String {
    format!(
        "SELECT {columns} FROM {from} {} ORDER BY {} LIMIT {} OFFSET {}",
        list.conditions.to_sql(),
        list.order_by,
        list.limit,
        list.offset
    )
}

async fn run_page(
    client: &cvat_db::Client,
    list: &CompiledList,
    columns: &str,
    from: &str,
) -> ApiResult<(i64, Vec<tokio_postgres::Row>)> {
    let count_sql = format!("SELECT count(*) FROM {from} {}", list.conditions.to_sql());
    let values = list.conditions.params();
    // Planning costs more than running these index-backed queries, so statements are
    // kept per connection.
    let (count_statement, page_statement) =
        futures_util::future::try_join(prepared(client, &count_sql), prepared(client, &page_sql(list, columns, from)))
            .await?;
    let (count, rows) = futures_util::future::try_join(
        client.query_one(&count_statement, &values),
        page_rows(client, list, &page_statement, &values),
    )
    .await
    .map_err(cvat_db::api_error)?;
    Ok((cvat_db::column(&count, 0)?, rows))
}

/// Exact counts of lists kept between writes. The tables a list reads bump a generation
/// in every writing transaction (the engine's `list_generations`); a count is kept with
/// the generation it was taken at, in the same snapshot, and used for a page read (in one
/// statement) at that same generation: no committed write can lie between them, so the
/// count is exact for that page. Anything else is counted again, one count at a time per
/// list query (requests arriving meanwhile wait for it rather than all scanning). Bounded
/// in entries and age; correct with any number of replicas, each keeping its own.
pub struct CountCache {
    /// A scalar SQL expression of the current generation.
    generation: &'static str,
    counts: cvat_cache::BoundedCache<String, (i64, i64)>,
    counting: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl CountCache {
    const TTL: std::time::Duration = std::time::Duration::from_secs(300);

    /// At most `entries` counts (0: count every time).
    pub fn new(generation: &'static str, entries: usize) -> Self {
        let counts = cvat_cache::BoundedCache::new(entries, Self::TTL).named("list_counts");
        Self { generation, counts, counting: Default::default() }
    }

    /// The count kept for `key` if it was taken at `generation`.
    fn at(&self, key: &String, generation: Option<i64>) -> Option<i64> {
        self.counts.get(key).filter(|(kept, _)| Some(*kept) == generation).map(|(_, count)| count)
    }

    /// Waits for any count of `key` under way; the count is this caller's until the
    /// answer is dropped.
    async fn one_at_a_time<'a>(&'a self, key: &'a String) -> Counting<'a> {
        let slot = self.slots().entry(key.clone()).or_default().clone();
        let turn = Some(slot.clone().lock_owned().await);
        Counting { cache: self, key, slot, turn }
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<tokio::sync::Mutex<()>>>> {
        self.counting.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

struct Counting<'a> {
    cache: &'a CountCache,
    key: &'a String,
    slot: Arc<tokio::sync::Mutex<()>>,
    turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Drop for Counting<'_> {
    fn drop(&mut self) {
        self.turn.take();
        let mut slots = self.cache.slots();
        // Nobody else holds or waits for this key's turn (the map's handle and ours).
        if Arc::strong_count(&self.slot) == 2 {
            slots.remove(self.key);
        }
    }
}

/// The column of a counted page that carries the generation it was read at.
const GENERATION_COLUMN: &str = "list_generation";

async fn run_counted_page(
    client: &cvat_db::Client,
    list: &CompiledList,
    columns: &str,
    from: &str,
    counts: &CountCache,
) -> ApiResult<(i64, Vec<tokio_postgres::Row>)> {
    let conditions = list.conditions.to_sql();
    let key = format!("{from} {conditions}\u{0}{:?}", list.conditions.param_values());
    let values = list.conditions.params();
    let generation = counts.generation;
    let page_sql = page_sql(list, &format!("{columns}, {generation} AS {GENERATION_COLUMN}"), from);
    let statement = prepared(client, &page_sql).await?;
    let rows = page_rows(client, list, &statement, &values).await.map_err(cvat_db::api_error)?;
    let Some(first) = rows.first() else {
        // Nothing matched in the page's own snapshot (a first page; a later one is a 404):
        // the count is 0 for that page, without counting.
        return Ok((0, rows));
    };
    let read_at = Some(cvat_db::column::<_, i64>(first, GENERATION_COLUMN)?);
    if let Some(count) = counts.at(&key, read_at) {
        return Ok((count, rows));
    }
    let _turn = counts.one_at_a_time(&key).await;
    if let Some(count) = counts.at(&key, read_at) {
        return Ok((count, rows));
    }
    // Counted in one snapshot with the generation, and the pair kept.
    let statement =
        prepared(client, &format!("SELECT {generation}, (SELECT count(*) FROM {from} {conditions})")).await?;
    let counted = cvat_db::scan_in_parallel(client, &statement, &values).await.map_err(cvat_db::api_error)?;
    let row = counted.first().ok_or_else(ApiError::internal)?;
    let (generation, count): (i64, i64) = (cvat_db::column(row, 0)?, cvat_db::column(row, 1)?);
    counts.counts.insert(key.clone(), (generation, count), 1);
    Ok((count, rows))
}

fn equality_filters(spec: &ListSpec, equals: &HashMap<String, String>, out: &mut SqlWhere) -> ApiResult<()> {
    let mut errors = FieldErrors::default();
    let mut names: Vec<&String> = equals.keys().collect();
    names.sort();
    for name in names {
        let Some(field) = spec.allowed(spec.equals, name) else {
            continue;
        };
        let raw = &equals[name];
        match sql::typed_param(field.ty, &serde_json::Value::String(raw.clone())) {
            Some(value) => out.push(&format!("{} = {}", field.sql, "{}"), value),
            None => errors.add(name, expected_message(field.ty)),
        }
    }
    errors.finish()
}

fn expected_message(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Int => "Enter a number.",
        FieldType::Bool => "Enter a valid boolean.",
        FieldType::Timestamp => "Enter a valid date/time.",
        FieldType::Text => "Enter a valid value.",
    }
}

/// The longest JSON-Logic `filter` accepted (CVAT's UI writes filters of a few hundred).
pub const MAX_FILTER_BYTES: usize = 4096;

/// At most this many search terms: each one is a condition on every search field, so
/// thousands of them would cost seconds per request (a repeated term counts once).
pub const MAX_SEARCH_TERMS: usize = 16;

/// Every whitespace- or comma-separated term must match one of the search fields; true
/// when some term was added.
fn search(spec: &ListSpec, query: &str, out: &mut SqlWhere) -> ApiResult<bool> {
    let fields: Vec<&Field> = spec.search.iter().filter_map(|n| spec.field(n)).collect();
    if fields.is_empty() {
        return Ok(false);
    }
    let mut terms: Vec<&str> = query.split(|c: char| c.is_whitespace() || c == ',').filter(|t| !t.is_empty()).collect();
    terms.sort_unstable();
    terms.dedup();
    if terms.len() > MAX_SEARCH_TERMS {
        return Err(ApiError::field("search", format!("Search for at most {MAX_SEARCH_TERMS} different terms.")));
    }
    let condition = match spec.search_sql {
        Some(sql) => format!("({sql})"),
        None => {
            let alternatives: Vec<String> = fields.iter().map(|f| format!("({})::text ILIKE {{}}", f.sql)).collect();
            format!("({})", alternatives.join(" OR "))
        }
    };
    let placeholders = condition.matches("{}").count();
    let searched = !terms.is_empty();
    for term in terms {
        let pattern = format!("%{}%", escape_like(term));
        out.push_many(&condition, vec![SqlParam::Text(pattern); placeholders]);
    }
    Ok(searched)
}

fn escape_like(term: &str) -> String {
    term.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

fn order_by(spec: &ListSpec, sort: &str) -> ApiResult<String> {
    let requested: Vec<&str> = sort.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    let keys = if requested.is_empty() { vec![spec.default_sort] } else { requested };
    let mut parts = Vec::with_capacity(keys.len() + 1);
    for key in keys {
        let (name, descending) = key.strip_prefix('-').map_or((key, false), |n| (n, true));
        let field =
            spec.allowed(spec.sort, name).ok_or_else(|| ApiError::invalid(format!("sort: unknown field '{name}'")))?;
        parts.push(format!("{} {}", field.sql, if descending { "DESC" } else { "ASC" }));
    }
    Ok(parts.join(", "))
}

#[cfg(test)]
mod tests;
