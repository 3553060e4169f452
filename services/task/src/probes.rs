//! Trace probes: the gateway starts one, the task service records its own hop and
//! publishes a job to every worker pool; each worker reports the trace id it ran under.

use cvat_db::column;
use cvat_db::DbResultExt;
use cvat_db::PgPool;
use cvat_error::{ApiError, ApiResult};
use cvat_proto::queue::{job::Work, Job, TraceProbeJob};
use cvat_proto::task::{TraceHop, TraceProbe};
use cvat_queue::{Broker, POOLS};
use cvat_runtime::telemetry::current_trace_id;
use prost::Message;
use std::sync::Arc;

#[derive(Clone)]
pub struct Probes {
    db: PgPool,
    broker: Arc<Broker>,
}

impl Probes {
    pub fn new(db: PgPool, broker: Arc<Broker>) -> Self {
        Self { db, broker }
    }

    pub async fn start(&self, gateway_trace_id: String) -> ApiResult<TraceProbe> {
        let id = uuid::Uuid::new_v4().to_string();
        {
            let client = self.db.get().await.db()?;
            client.execute("INSERT INTO trace_probes (id) VALUES ($1)", &[&id]).await.db()?;
        }
        self.record(&id, "gateway", &gateway_trace_id).await?;
        self.record(&id, "task", &current_trace_id()).await?;
        let job =
            Job { id: format!("probe-{id}"), work: Some(Work::TraceProbe(TraceProbeJob { probe_id: id.clone() })) };
        for pool in POOLS {
            self.broker.publish(pool, &job.id, &job.encode_to_vec()).await.map_err(|err| {
                tracing::warn!(error = %err, "publishing failed");
                ApiError::unavailable("The message broker")
            })?;
        }
        self.get(&id).await
    }

    /// Idempotent: a redelivered report changes nothing.
    pub async fn record(&self, id: &str, service: &str, trace_id: &str) -> ApiResult<()> {
        let client = self.db.get().await.db()?;
        let inserted = client
            .execute(
                "INSERT INTO trace_probe_hops (probe_id, service, trace_id) SELECT id, $2, $3 FROM trace_probes \
                 WHERE id = $1 ON CONFLICT DO NOTHING",
                &[&id, &service, &trace_id],
            )
            .await
            .db()?;
        if inserted == 0 && !self.exists(id).await? {
            return Err(ApiError::not_found());
        }
        Ok(())
    }

    async fn exists(&self, id: &str) -> ApiResult<bool> {
        let client = self.db.get().await.db()?;
        let row = client.query_opt("SELECT 1 FROM trace_probes WHERE id = $1", &[&id]).await.db()?;
        Ok(row.is_some())
    }

    pub async fn get(&self, id: &str) -> ApiResult<TraceProbe> {
        if !self.exists(id).await? {
            return Err(ApiError::not_found());
        }
        let client = self.db.get().await.db()?;
        let rows = client
            .query(
                "SELECT service, trace_id FROM trace_probe_hops WHERE probe_id = $1 ORDER BY seen_at, service",
                &[&id],
            )
            .await
            .db()?;
        let hops = rows
            .iter()
            .map(|r| Ok(TraceHop { service: column(r, 0)?, trace_id: column(r, 1)? }))
            .collect::<ApiResult<_>>()?;
        Ok(TraceProbe { id: id.to_string(), hops })
    }
}
