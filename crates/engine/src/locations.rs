//! Where exports go and imports come from: this server (`local`), or a cloud storage
//! the caller may see, named by `location=cloud_storage&cloud_storage_id=N` or, without a
//! `location`, by the object's `target_storage` (exports) or `source_storage` (imports),
//! as in CVAT. In a cloud storage the file is the object `filename` (below the storage's
//! prefix when it has one); the export workers read and write it themselves.

use crate::{Caller, Engine};
use cvat_db::{column, DbResultExt, GenericClient};
use cvat_error::{ApiError, ApiResult};
use serde_json::{json, Value};

/// A file in a cloud storage, as requests record it for their worker.
#[derive(Debug, Clone)]
pub(crate) struct CloudFile {
    pub storage: i64,
    pub key: String,
}

impl CloudFile {
    pub fn to_json(&self) -> Value {
        json!({"storage_id": self.storage, "key": self.key})
    }
}

/// Where a request asks its file to be: `location` (`local`, `cloud_storage` or empty),
/// `cloud_storage_id` and `filename`, as the query carries them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Location<'a> {
    pub location: &'a str,
    pub cloud_storage_id: Option<i64>,
    pub filename: &'a str,
}

/// Which storage column of an object gives the default.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Direction {
    /// Exports: `target_storage`.
    Export,
    /// Imports: `source_storage`.
    Import,
}

/// The object whose storage default applies: a task (a job uses its task's) or a project.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Owner {
    Task(i64),
    Project(i64),
}

impl Engine {
    /// The cloud file a request uses, or `None` for this server. `filename` names the
    /// object (required for imports; exports fall back to `default_name`); `owner` gives
    /// the default (none for restores, which make their object).
    pub(crate) async fn cloud_file(
        &self,
        client: &impl GenericClient,
        caller: &Caller,
        wanted: Location<'_>,
        owner: Option<Owner>,
        direction: Direction,
        default_name: &str,
    ) -> ApiResult<Option<CloudFile>> {
        let Location { location, cloud_storage_id, filename } = wanted;
        let storage = match location {
            "local" => return Ok(None),
            "cloud_storage" => {
                cloud_storage_id.ok_or_else(|| ApiError::field("cloud_storage_id", "This field is required."))?
            }
            "" => match owner {
                Some(owner) => match self.default_storage(client, owner, direction).await? {
                    Some(storage) => cloud_storage_id.unwrap_or(storage),
                    None => return Ok(None),
                },
                None => return Ok(None),
            },
            other => return Err(ApiError::field("location", format!("\"{other}\" is not a valid choice."))),
        };
        self.check_cloud_storage_readable(client, caller, storage).await?;
        let key = if filename.is_empty() { default_name } else { filename };
        if key.is_empty() {
            return Err(ApiError::field("filename", "This field is required."));
        }
        let safe = !key.starts_with('/')
            && key.len() <= 1024
            && !key.split('/').any(|part| part.is_empty() || part == "." || part == "..")
            && !key.chars().any(char::is_control);
        if !safe {
            return Err(ApiError::field("filename", "Expected a plain object key (no empty, \".\" or \"..\" parts)."));
        }
        Ok(Some(CloudFile { storage, key: key.to_string() }))
    }

    /// The cloud storage an object names for `direction`, if it names one.
    async fn default_storage(
        &self,
        client: &impl GenericClient,
        owner: Owner,
        direction: Direction,
    ) -> ApiResult<Option<i64>> {
        let column_name = match direction {
            Direction::Export => "target_storage",
            Direction::Import => "source_storage",
        };
        let (table, id) = match owner {
            Owner::Task(id) => ("tasks", id),
            Owner::Project(id) => ("projects", id),
        };
        let row = client.query_opt(&format!("SELECT {column_name} FROM {table} WHERE id = $1"), &[&id]).await.db()?;
        let storage: Option<Value> = match row {
            Some(row) => column(&row, 0)?,
            None => None,
        };
        Ok(storage.filter(|s| s["location"] == "cloud_storage").and_then(|s| s["cloud_storage_id"].as_i64()))
    }
}
