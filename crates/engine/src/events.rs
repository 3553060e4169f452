//! Events (`/api/events`): the batches CVAT's UI and the SDK send, and the server's own
//! records of every change (written by [`Engine::publish_change`]), in one table
//! partitioned by month. Clients' clocks are corrected as CVAT corrects them (by the
//! difference between the batch's `timestamp` and its arrival), and who sent an event is
//! the server's to say, not the client's. An export (`POST /api/events/export`, or the
//! legacy `GET /api/events`) is a background request: the export pool writes the CSV
//! (the columns of CVAT's ClickHouse table) that PostgreSQL's COPY streams out.

use crate::requests::NewRequest;
use crate::{parse_body, Caller, Engine};
use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use cvat_db::{column, DbResultExt, GenericClient};
use cvat_error::{ApiError, ApiResult, ErrorKind};
use cvat_models::{ClientEvents, ClientEventsRequest, EventRequest, Timestamp};
use cvat_permissions::{Privilege, Role};
use serde_json::{json, Value};

/// The scopes a client may send (CVAT's `ClientEventsSerializer.ALLOWED_SCOPES`).
const CLIENT_SCOPES: &[&str] = &[
    "load:cvat",
    "load:job",
    "save:job",
    "restore:job",
    "upload:annotations",
    "send:exception",
    "send:task_info",
    "draw:object",
    "paste:object",
    "copy:object",
    "propagate:object",
    "drag:object",
    "resize:object",
    "delete:object",
    "lock:object",
    "merge:objects",
    "split:objects",
    "group:objects",
    "slice:object",
    "join:objects",
    "change:attribute",
    "change:label",
    "change:frame",
    "zoom:image",
    "fit:image",
    "rotate:image",
    "action:undo",
    "action:redo",
    "debug:info",
    "run:annotations_action",
    "click:element",
];

/// The most events one batch may carry (a 413 beyond).
pub const MAX_BATCH: usize = 10_000;
/// How far from the server's clock a corrected event may lie.
const MAX_AGE_DAYS: i64 = 30;
const MAX_AHEAD_MINUTES: i64 = 60;

/// The columns of an export, in CVAT's order.
const CSV_COLUMNS: &str = "scope, obj_name, obj_id, obj_val, source, \
     to_char(timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') AS timestamp, count, duration, project_id, \
     task_id, job_id, user_id, user_name, user_email, org_id, org_slug, payload";

/// What an export selects: the caller's filters, narrowed by what they may see.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct EventFilter {
    pub org_id: Option<i64>,
    pub project_id: Option<i64>,
    pub task_id: Option<i64>,
    pub job_id: Option<i64>,
    pub user_id: Option<i64>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl EventFilter {
    /// The WHERE clause: integers and timestamps only, so they are written into the
    /// statement (COPY takes no parameters).
    fn condition(&self) -> String {
        let mut parts = Vec::new();
        for (name, value) in [
            ("org_id", self.org_id),
            ("project_id", self.project_id),
            ("task_id", self.task_id),
            ("job_id", self.job_id),
            ("user_id", self.user_id),
        ] {
            if let Some(value) = value {
                parts.push(format!("{name} = {value}"));
            }
        }
        if let Some(from) = self.from {
            parts.push(format!("timestamp >= '{}'", from.to_rfc3339()));
        }
        if let Some(to) = self.to {
            parts.push(format!("timestamp <= '{}'", to.to_rfc3339()));
        }
        match parts.is_empty() {
            true => "true".to_string(),
            false => parts.join(" AND "),
        }
    }
}

/// The first day of the month `months` after the one of `moment`.
fn month_start(moment: DateTime<Utc>, months: i32) -> DateTime<Utc> {
    let index = moment.year() * 12 + moment.month0() as i32 + months;
    Utc.with_ymd_and_hms(index.div_euclid(12), index.rem_euclid(12) as u32 + 1, 1, 0, 0, 0).single().unwrap_or(moment)
}

/// The request id of an events export (as CVAT renders it, with the query id).
pub fn export_request_id(query_id: &str, user: i64) -> String {
    format!("action=export&target=events&id={query_id}&user_id={user}")
}

impl Engine {
    /// Makes the partitions of this month and the next (the default partition keeps
    /// anything else). Run at start and now and then; a month whose rows already went to
    /// the default partition keeps them there.
    #[tracing::instrument(skip_all)]
    pub async fn ensure_event_partitions(&self) -> ApiResult<()> {
        let client = self.client().await?;
        let now = Utc::now();
        for months in 0..2 {
            let (start, end) = (month_start(now, months), month_start(now, months + 1));
            let name = format!("events_{}_{:02}", start.year(), start.month());
            let sql = format!(
                "CREATE TABLE IF NOT EXISTS {name} PARTITION OF events FOR VALUES FROM ('{}') TO ('{}')",
                start.to_rfc3339(),
                end.to_rfc3339()
            );
            if let Err(err) = client.batch_execute(&sql).await {
                tracing::warn!(error = %err, partition = name, "an events partition could not be made");
            }
        }
        Ok(())
    }

    /// `POST /api/events`: stores a client's batch; answers it as stored.
    #[tracing::instrument(skip_all)]
    pub async fn record_client_events(&self, caller: &Caller, org_slug: &str, body: &str) -> ApiResult<String> {
        let batch: ClientEventsRequest = cvat_models::parse(&parse_body(body)?)?;
        let mut events = batch.events.unwrap_or_default();
        if events.len() > MAX_BATCH {
            return Err(ApiError::detail(
                ErrorKind::PayloadTooLarge,
                format!("A batch holds at most {MAX_BATCH} events."),
            ));
        }
        let now = Utc::now();
        let correction = now - batch.timestamp;
        let org_slug = Some(org_slug.to_string()).filter(|s| !s.is_empty());
        for event in &mut events {
            if !CLIENT_SCOPES.contains(&event.scope.as_str()) {
                return Err(ApiError::field(
                    "scope",
                    format!("Event scope **{}** is not allowed from client", event.scope),
                ));
            }
            let payload: Value = match event.payload.as_deref() {
                None => json!({}),
                Some(text) => serde_json::from_str(text)
                    .map_err(|_| ApiError::field("payload", "JSON payload is not valid in passed event"))?,
            };
            event.timestamp += correction;
            if event.timestamp < now - Duration::days(MAX_AGE_DAYS)
                || event.timestamp > now + Duration::minutes(MAX_AHEAD_MINUTES)
            {
                return Err(ApiError::field(
                    "timestamp",
                    format!("An event lies more than {MAX_AGE_DAYS} days before the batch was sent."),
                ));
            }
            event.source = Some("client".into());
            event.org_id = caller.context.org();
            event.org_slug = org_slug.clone();
            event.user_id = Some(caller.id());
            event.user_name = Some(caller.user.username.clone());
            event.user_email = Some(caller.user.email.clone()).filter(|e| !e.is_empty());
            event.payload = Some(payload.to_string());
            event.duration = Some(event.duration.unwrap_or(0));
        }
        let client = self.client().await?;
        insert_events(&client, &events).await?;
        Ok(cvat_models::render(&ClientEvents { timestamp: Timestamp(batch.timestamp), events }))
    }

    /// What an export of the caller may select (CVAT's events.rego): everything for an
    /// admin outside organizations; an organization's events for its maintainers (and
    /// admins there); otherwise the caller's own.
    async fn event_scope(&self, caller: &Caller, mut filter: EventFilter) -> ApiResult<EventFilter> {
        let actor = self.context_actor(caller).await?;
        let org = caller.context.org();
        if actor.privilege < Privilege::Worker || (org.is_some() && actor.role.is_none() && !caller.is_admin()) {
            return Err(ApiError::forbidden());
        }
        match org {
            None if caller.is_admin() => {}
            None => filter.user_id = Some(caller.id()),
            Some(org) => {
                filter.org_id = Some(org);
                let manager = caller.is_admin()
                    || (actor.privilege >= Privilege::User && actor.role.is_some_and(|r| r >= Role::Maintainer));
                if !manager {
                    filter.user_id = Some(caller.id());
                }
            }
        }
        if let (Some(from), Some(to)) = (filter.from, filter.to) {
            if from > to {
                return Err(ApiError::bad_request("'from' must be before than 'to'"));
            }
        }
        if filter.from.is_none() && filter.to.is_none() {
            let now = Utc::now();
            (filter.from, filter.to) = (Some(now - Duration::days(30)), Some(now));
        }
        Ok(filter)
    }

    /// Starts an export of events (`query_id` names it; the legacy GET asks by it).
    /// Answers the request id, and whether it was queued now (else it existed).
    #[tracing::instrument(skip_all)]
    pub async fn start_events_export(
        &self,
        caller: &Caller,
        query_id: &str,
        filter_json: &str,
        filename: &str,
    ) -> ApiResult<(String, bool)> {
        let filter: EventFilter = serde_json::from_str(filter_json)
            .map_err(|e| ApiError::bad_request(format!("Unreadable event filter: {e}")))?;
        let plain = |c: char| !c.is_control() && !"/\\\"".contains(c);
        if filename.len() > 255 || !filename.chars().all(plain) {
            return Err(ApiError::field(
                "filename",
                "A plain file name is expected (no path, quotes or control characters).",
            ));
        }
        let filter = self.event_scope(caller, filter).await?;
        let id = export_request_id(query_id, caller.id());
        let client = self.client().await?;
        let existing = client.query_opt("SELECT status FROM requests WHERE id = $1", &[&id]).await.db()?;
        if existing.is_some_and(|row| column::<_, String>(&row, 0).is_ok_and(|s| s != "failed")) {
            return Ok((id, false));
        }
        let params = json!({"filter": filter, "filename": filename, "query_id": query_id});
        crate::users::remember_all(&client, &[Some(&caller.user)]).await?;
        self.create_request(
            &client,
            &NewRequest {
                id: &id,
                kind: "export:events",
                target: "events",
                project_id: None,
                task_id: None,
                owner_id: caller.id(),
                organization_id: caller.context.org(),
                params: &params,
            },
        )
        .await?;
        Ok((id, true))
    }

    /// The state of the caller's events export for the legacy GET: `{"status", "message"}`
    /// (404 when there is none).
    #[tracing::instrument(skip_all)]
    pub async fn events_export_status(&self, caller: &Caller, query_id: &str) -> ApiResult<String> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT status, message FROM requests WHERE id = $1",
                &[&export_request_id(query_id, caller.id())],
            )
            .await
            .db()?;
        let row = row.ok_or_else(ApiError::not_found)?;
        let (status, message): (String, String) = (column(&row, 0)?, column(&row, 1)?);
        Ok(json!({"status": status, "message": message}).to_string())
    }

    /// For the export pool: the CSV of the request's events, as COPY writes it.
    #[tracing::instrument(skip_all)]
    pub async fn events_csv(
        &self,
        request_id: &str,
    ) -> ApiResult<impl futures_util::Stream<Item = ApiResult<Vec<u8>>> + Send + 'static> {
        use futures_util::StreamExt;
        let client = self.client().await?;
        let row = client
            .query_opt(
                "UPDATE requests SET status = 'started', started_date = coalesce(started_date, now()) \
                 WHERE id = $1 AND type = 'export:events' AND status IN ('queued', 'started') RETURNING params",
                &[&request_id],
            )
            .await
            .db()?
            .ok_or_else(ApiError::not_found)?;
        let params: Value = column(&row, 0)?;
        let filter: EventFilter = serde_json::from_value(params["filter"].clone()).map_err(|_| ApiError::internal())?;
        let sql = format!(
            "COPY (SELECT {CSV_COLUMNS} FROM events WHERE {} ORDER BY events.timestamp) TO STDOUT WITH (FORMAT csv, HEADER)",
            filter.condition()
        );
        let copy = client.copy_out(&sql).await.db()?;
        // The stream keeps the connection until it ends.
        Ok(copy.map(move |piece| {
            let _held = &client;
            piece.map(|bytes| bytes.to_vec()).db()
        }))
    }

    /// The file name of a finished events export, from its request's parameters.
    pub(crate) async fn events_file_name(&self, client: &impl GenericClient, request_id: &str) -> ApiResult<String> {
        let row = client.query_one("SELECT params FROM requests WHERE id = $1", &[&request_id]).await.db()?;
        let params: Value = column(&row, 0)?;
        Ok(match params["filename"].as_str().filter(|f| !f.is_empty()) {
            Some(name) => name.to_string(),
            None => format!("logs_{}.csv", Utc::now().format("%Y_%m_%d_%H_%M_%S")),
        })
    }
}

/// Inserts events in one statement.
async fn insert_events(client: &impl GenericClient, events: &[EventRequest]) -> ApiResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let texts = |f: fn(&EventRequest) -> Option<&String>| events.iter().map(|e| f(e).cloned()).collect::<Vec<_>>();
    let ints = |f: fn(&EventRequest) -> Option<i64>| events.iter().map(f).collect::<Vec<_>>();
    let scopes: Vec<&str> = events.iter().map(|e| e.scope.as_str()).collect();
    let timestamps: Vec<DateTime<Utc>> = events.iter().map(|e| e.timestamp).collect();
    let counts: Vec<Option<i32>> = events.iter().map(|e| e.count).collect();
    let durations: Vec<i32> = events.iter().map(|e| e.duration.unwrap_or(0)).collect();
    client
        .execute(
            "INSERT INTO events (scope, obj_name, obj_id, obj_val, source, timestamp, count, duration, project_id, \
             task_id, job_id, user_id, user_name, user_email, org_id, org_slug, payload) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], $4::text[], $5::text[], $6::timestamptz[], \
             $7::int4[], $8::int4[], $9::int8[], $10::int8[], $11::int8[], $12::int8[], $13::text[], $14::text[], \
             $15::int8[], $16::text[], $17::text[])",
            &[
                &scopes,
                &texts(|e| e.obj_name.as_ref()),
                &ints(|e| e.obj_id),
                &texts(|e| e.obj_val.as_ref()),
                &texts(|e| e.source.as_ref()),
                &timestamps,
                &counts,
                &durations,
                &ints(|e| e.project_id),
                &ints(|e| e.task_id),
                &ints(|e| e.job_id),
                &ints(|e| e.user_id),
                &texts(|e| e.user_name.as_ref()),
                &texts(|e| e.user_email.as_ref()),
                &ints(|e| e.org_id),
                &texts(|e| e.org_slug.as_ref()),
                &texts(|e| e.payload.as_ref()),
            ],
        )
        .await
        .db()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_roll_over_years() {
        let moment = Utc.with_ymd_and_hms(2026, 12, 6, 14, 0, 0).unwrap();
        assert_eq!(month_start(moment, 0), Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap());
        assert_eq!(month_start(moment, 1), Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap());
        assert_eq!(month_start(moment, 2), Utc.with_ymd_and_hms(2027, 2, 1, 0, 0, 0).unwrap());
    }

    #[test]
    fn filters_are_numbers_and_moments() {
        let filter = EventFilter {
            org_id: Some(3),
            user_id: Some(7),
            from: Some(Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()),
            ..Default::default()
        };
        assert_eq!(filter.condition(), "org_id = 3 AND user_id = 7 AND timestamp >= '2026-01-02T03:04:05+00:00'");
        assert_eq!(EventFilter::default().condition(), "true");
    }
}
