//! Cloud storages: `/api/cloudstorages` with `CloudStorageRead`, their status, actions,
//! content listing and preview. S3-compatible buckets only (`AWS_S3_BUCKET`, with a key
//! pair or anonymous access); Azure and Google answer a 400 until they are supported.
//!
//! A storage's endpoint (`endpoint_url` in `specific_attributes`) is the user's choice,
//! so it passes the same network policy as `remote_files` before any connection: an
//! internal address (the server's own object store, say) is refused. Keys are stored in
//! this schema and never rendered or logged.

use crate::access::{allow, list_scope, lock_row, recheck, Lock, Visibility};
use crate::render::{self, user_columns};
use crate::{parse_body, Caller, DocumentPage, Engine};
use cvat_blob::{BucketStatus, S3Access, S3Keys, S3Store};
use cvat_db::column;
use cvat_db::DbResultExt;
use cvat_db::GenericClient;
use cvat_error::{ApiError, ApiResult, ErrorKind, FieldErrors};
use cvat_listing::{Field, FieldType, ListParams, ListSpec};
use cvat_models::{CloudStorageRead, CloudStorageWriteRequest, PatchedCloudStorageWriteRequest};
use cvat_permissions::{Actor, CloudStorageFacts, CloudStorageScope, Role};
use serde_json::{json, Map, Value};
use std::time::Duration;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

const FIELDS: &[Field] = &[
    Field { name: "id", sql: "c.id", ty: FieldType::Int },
    Field { name: "provider_type", sql: "c.provider_type", ty: FieldType::Text },
    Field { name: "name", sql: "c.display_name", ty: FieldType::Text },
    Field { name: "resource", sql: "c.resource", ty: FieldType::Text },
    Field { name: "credentials_type", sql: "c.credentials_type", ty: FieldType::Text },
    Field { name: "owner", sql: "o.username", ty: FieldType::Text },
    Field { name: "description", sql: "c.description", ty: FieldType::Text },
];

pub const CLOUD_STORAGE_LIST: ListSpec = ListSpec {
    fields: FIELDS,
    search: &["provider_type", "name", "resource", "credentials_type", "owner", "description"],
    filter: &["provider_type", "name", "resource", "credentials_type", "owner", "description", "id"],
    equals: &["provider_type", "name", "resource", "credentials_type", "owner"],
    sort: &["provider_type", "name", "resource", "credentials_type", "owner", "description", "id"],
    default_sort: "-id",
    search_sql: None,
};

const FROM: &str = "cloud_storages c LEFT JOIN users o ON o.id = c.owner_id";

/// The columns a create or an update writes, as [`StorageSettings::values`] gives them.
const SETTINGS: &str =
    "provider_type, resource, display_name, credentials_type, credentials, specific_attributes, description, manifests";

/// Supervisors see every storage of their organization; others their own.
const VISIBILITY: Visibility =
    Visibility { org_column: "c.organization_id", relations: "c.owner_id = {user}", staff: Role::Supervisor };

/// The keys of `specific_attributes` an S3 storage understands.
const ATTRIBUTES: &[&str] = &["region", "endpoint_url", "prefix"];
/// How long a user's bucket may take to answer one request. A request that asks a
/// bucket also waits for pool connections and the auth service; all of it must end well
/// within the gateway's 30 s deadline, so a slow bucket is a clear 400, never a 503.
const BUCKET_TIMEOUT: Duration = Duration::from_secs(10);
/// The most objects a content page lists.
const MAX_PAGE_SIZE: i64 = 1000;
/// The most files the legacy flat listing answers.
const MAX_FLAT_FILES: usize = 10_000;
/// The largest object read for a preview.
const MAX_PREVIEW_SOURCE: u64 = 64 << 20;

fn columns() -> String {
    format!(
        "c.id, c.provider_type, c.resource, c.display_name, c.credentials_type, c.credentials, \
         c.specific_attributes, c.description, c.manifests, c.organization_id, c.created_date, c.updated_date, {}",
        user_columns("o", "owner")
    )
}

fn render_row(base: &str, r: &Row) -> ApiResult<String> {
    Ok(cvat_models::render(&CloudStorageRead {
        id: column(r, "id")?,
        provider_type: column(r, "provider_type")?,
        resource: column(r, "resource")?,
        display_name: column(r, "display_name")?,
        credentials_type: column(r, "credentials_type")?,
        owner: render::user(base, r, "owner")?,
        manifests: column(r, "manifests")?,
        created_date: render::moment(r, "created_date")?,
        updated_date: render::moment(r, "updated_date")?,
        specific_attributes: column(r, "specific_attributes")?,
        description: column(r, "description")?,
        organization: column(r, "organization_id")?,
    }))
}

/// A storage's settings, as stored (keys included).
#[derive(Debug, Clone)]
struct StorageSettings {
    provider_type: String,
    resource: String,
    display_name: String,
    credentials_type: String,
    keys: Option<S3Keys>,
    specific_attributes: String,
    description: String,
    manifests: Vec<String>,
}

impl StorageSettings {
    fn from_row(r: &Row) -> ApiResult<Self> {
        let credentials: Value = column(r, "credentials")?;
        let text = |k: &str| credentials[k].as_str().unwrap_or_default().to_string();
        let keys = (column::<_, String>(r, "credentials_type")? == "KEY_SECRET_KEY_PAIR").then(|| S3Keys {
            access_key: text("key"),
            secret_key: text("secret_key"),
            session_token: Some(text("session_token")).filter(|t| !t.is_empty()),
        });
        Ok(Self {
            provider_type: column(r, "provider_type")?,
            resource: column(r, "resource")?,
            display_name: column(r, "display_name")?,
            credentials_type: column(r, "credentials_type")?,
            keys,
            specific_attributes: column(r, "specific_attributes")?,
            description: column(r, "description")?,
            manifests: column(r, "manifests")?,
        })
    }

    /// Applies a create or PATCH body, then checks the whole. `body` is the raw JSON, for
    /// the fields this server refuses.
    fn apply(&mut self, body: &Map<String, Value>, request: PatchedCloudStorageWriteRequest) -> ApiResult<()> {
        let mut refused = FieldErrors::default();
        for unsupported in ["account_name", "connection_string", "key_file"] {
            if body.get(unsupported).is_some_and(|v| !v.is_null() && v != "") {
                refused.add(unsupported, "Only S3 key pairs and anonymous access are supported by this server.");
            }
        }
        refused.finish()?;
        let PatchedCloudStorageWriteRequest {
            provider_type,
            resource,
            display_name,
            credentials_type,
            key,
            secret_key,
            session_token,
            specific_attributes: attributes,
            description,
            manifests,
        } = request;
        if let Some(provider) = provider_type {
            self.provider_type = cvat_models::wire_name(&provider);
        }
        if let Some(resource) = resource {
            self.resource = resource.trim().to_string();
        }
        if let Some(name) = display_name {
            self.display_name = name;
        }
        if let Some(kind) = credentials_type {
            self.credentials_type = cvat_models::wire_name(&kind);
        }
        if let Some(attributes) = attributes {
            self.specific_attributes = attributes;
        }
        if let Some(description) = description {
            self.description = description;
        }
        if let Some(manifests) = manifests {
            self.manifests = manifests;
        }
        self.keys = match self.credentials_type.as_str() {
            "KEY_SECRET_KEY_PAIR" => {
                let old = self.keys.take();
                let keep = |given: Option<String>, old: Option<String>| given.or(old).unwrap_or_default();
                Some(S3Keys {
                    access_key: keep(key, old.as_ref().map(|k| k.access_key.clone())),
                    secret_key: keep(secret_key, old.as_ref().map(|k| k.secret_key.clone())),
                    session_token: session_token.or(old.and_then(|k| k.session_token)).filter(|t| !t.is_empty()),
                })
            }
            _ => None,
        };
        self.validate()
    }

    fn validate(&self) -> ApiResult<()> {
        self.check_keys()?;
        if self.provider_type != "AWS_S3_BUCKET" {
            return Err(ApiError::field(
                "provider_type",
                format!("{} is not supported by this server yet; attach an S3-compatible bucket.", self.provider_type),
            ));
        }
        match (self.credentials_type.as_str(), &self.keys) {
            ("ANONYMOUS_ACCESS", _) => {}
            ("KEY_SECRET_KEY_PAIR", Some(keys)) if !keys.access_key.is_empty() && !keys.secret_key.is_empty() => {}
            ("KEY_SECRET_KEY_PAIR", _) => {
                return Err(ApiError::field("secret_key", "A key pair needs both key and secret_key."));
            }
            (other, _) => {
                return Err(ApiError::field("credentials_type", format!("{other} is not supported for S3 buckets.")));
            }
        }
        let valid_bucket = self.resource.len() >= 3
            && self.resource.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-._".contains(c));
        if !valid_bucket {
            return Err(ApiError::field("resource", "Not a valid bucket name."));
        }
        let attributes = self.attributes()?;
        if let Some(endpoint) = attributes.endpoint.as_deref() {
            let parsed = url::Url::parse(endpoint).ok().filter(|u| matches!(u.scheme(), "http" | "https"));
            if parsed.is_none() {
                return Err(ApiError::field("specific_attributes", "endpoint_url must be an http(s) URL."));
            }
        }
        Ok(())
    }

    /// Keys that cannot be sent (the S3 client would fail on them) are the caller's error.
    fn check_keys(&self) -> ApiResult<()> {
        match self.keys.as_ref().and_then(S3Keys::unusable_field) {
            Some(field) => Err(ApiError::field(field, "Only visible ASCII characters (no spaces) are allowed.")),
            None => Ok(()),
        }
    }

    fn attributes(&self) -> ApiResult<Attributes> {
        let mut attributes = Attributes::default();
        for (key, value) in url::form_urlencoded::parse(self.specific_attributes.as_bytes()) {
            let value = Some(value.trim().to_string()).filter(|v| !v.is_empty());
            match key.as_ref() {
                "region" => attributes.region = value,
                "endpoint_url" => attributes.endpoint = value,
                "prefix" => attributes.prefix = value.unwrap_or_default(),
                other => {
                    return Err(ApiError::field(
                        "specific_attributes",
                        format!("Unknown attribute {other:?}; expected {}.", ATTRIBUTES.join(", ")),
                    ))
                }
            }
        }
        Ok(attributes)
    }

    /// The values of [`SETTINGS`], in that order (`credentials` from [`Self::credentials_json`]).
    fn values<'a>(&'a self, credentials: &'a Value) -> [&'a (dyn ToSql + Sync); 8] {
        [
            &self.provider_type,
            &self.resource,
            &self.display_name,
            &self.credentials_type,
            credentials,
            &self.specific_attributes,
            &self.description,
            &self.manifests,
        ]
    }

    fn credentials_json(&self) -> Value {
        match &self.keys {
            Some(keys) => json!({
                "key": keys.access_key,
                "secret_key": keys.secret_key,
                "session_token": keys.session_token.clone().unwrap_or_default(),
            }),
            None => json!({}),
        }
    }
}

#[derive(Debug, Default)]
struct Attributes {
    region: Option<String>,
    endpoint: Option<String>,
    prefix: String,
}

/// How the bucket of a storage is reached, and the prefix it is limited to.
pub struct Bucket {
    pub access: S3Access,
    pub prefix: String,
}

impl Engine {
    async fn cloud_storage_row(&self, client: &impl GenericClient, id: i64) -> ApiResult<Row> {
        let sql = format!("SELECT {} FROM {FROM} WHERE c.id = $1", columns());
        client.query_opt(&sql, &[&id]).await.db()?.ok_or_else(ApiError::not_found)
    }

    /// 404 when the storage does not exist, 403 when `scope` is denied.
    pub(crate) async fn check_cloud_storage(
        &self,
        client: &impl GenericClient,
        caller: &Caller,
        id: i64,
        scope: CloudStorageScope,
    ) -> ApiResult<(Row, Actor)> {
        let row = self.cloud_storage_row(client, id).await?;
        let (facts, org) = storage_facts(&row)?;
        let actor = self.actor(caller, org).await?;
        allow(cvat_permissions::cloud_storage(&actor, scope, &facts))?;
        Ok((row, actor))
    }

    /// In a storage write's transaction: locks the storage and checks `Update` again.
    async fn recheck_storage(&self, tx: &impl GenericClient, id: i64, checked: &Row, actor: &Actor) -> ApiResult<()> {
        lock_row(tx, "cloud_storages", id, Lock::Update).await?;
        let (_, org) = storage_facts(checked)?;
        let (locked, locked_org) = storage_facts(&self.cloud_storage_row(tx, id).await?)?;
        recheck(org, locked_org, cvat_permissions::cloud_storage(actor, CloudStorageScope::Update, &locked))
    }

    /// The bucket of a storage, after the endpoint passed the network policy.
    async fn bucket(&self, settings: &StorageSettings) -> ApiResult<Bucket> {
        settings.check_keys()?;
        let attributes = settings.attributes()?;
        if let Some(endpoint) = attributes.endpoint.as_deref() {
            self.network
                .check_endpoint(endpoint)
                .await
                .map_err(|e| ApiError::field("specific_attributes", e.to_string()))?;
        }
        let access = S3Access {
            endpoint: attributes.endpoint,
            region: attributes.region.unwrap_or_else(|| "us-east-1".to_string()),
            bucket: settings.resource.clone(),
            keys: settings.keys.clone(),
            timeout: Some(BUCKET_TIMEOUT),
        };
        Ok(Bucket { access, prefix: attributes.prefix })
    }

    /// The bucket's status; a bucket that cannot be reached is the user's problem (400).
    async fn bucket_status(&self, settings: &StorageSettings) -> ApiResult<BucketStatus> {
        let bucket = self.bucket(settings).await?;
        S3Store::connect(&bucket.access).status().await.map_err(bucket_error)
    }

    /// A storage is saved only when its bucket answers to its credentials.
    async fn check_available(&self, settings: &StorageSettings) -> ApiResult<()> {
        match self.bucket_status(settings).await? {
            BucketStatus::Available => Ok(()),
            BucketStatus::NotFound => {
                Err(ApiError::field("resource", format!("The bucket {} does not exist.", settings.resource)))
            }
            BucketStatus::Forbidden => Err(ApiError::field(
                "credentials_type",
                format!("The bucket {} does not accept these credentials.", settings.resource),
            )),
        }
    }

    #[tracing::instrument(skip_all)]
    pub async fn list_cloud_storages(&self, caller: &Caller, params: &ListParams) -> ApiResult<DocumentPage> {
        let actor = self.context_actor(caller).await?;
        let scope = list_scope(caller, &actor, &VISIBILITY)?;
        let client = self.client().await?;
        let cvat_listing::Page { count, rows, .. } =
            cvat_listing::fetch_page(client, &CLOUD_STORAGE_LIST, params, scope, &columns(), FROM, None).await?;
        Ok(DocumentPage {
            count,
            results: rows.iter().map(|r| render_row(&caller.base_url, r)).collect::<ApiResult<_>>()?,
        })
    }

    #[tracing::instrument(skip_all)]
    pub async fn get_cloud_storage(&self, caller: &Caller, id: i64) -> ApiResult<String> {
        let client = self.client().await?;
        let (row, _) = self.check_cloud_storage(&client, caller, id, CloudStorageScope::View).await?;
        render_row(&caller.base_url, &row)
    }

    #[tracing::instrument(skip_all)]
    pub async fn create_cloud_storage(&self, caller: &Caller, body: &str) -> ApiResult<String> {
        let body = parse_body(body)?;
        let actor = self.context_actor(caller).await?;
        let org = caller.context.org();
        allow(cvat_permissions::create_cloud_storage(&actor, org.is_some()))?;
        let request: CloudStorageWriteRequest = cvat_models::parse(&body)?;
        let mut settings = StorageSettings {
            provider_type: String::new(),
            resource: String::new(),
            display_name: String::new(),
            credentials_type: String::new(),
            keys: None,
            specific_attributes: String::new(),
            description: String::new(),
            manifests: Vec::new(),
        };
        settings.apply(&body, request.into())?;
        self.check_available(&settings).await?;
        let client = self.client().await?;
        self.remember_caller(&client, caller).await?;
        let credentials = settings.credentials_json();
        let owner = caller.id();
        let mut params = settings.values(&credentials).to_vec();
        params.extend([&owner as &(dyn ToSql + Sync), &org]);
        let sql = format!(
            "INSERT INTO cloud_storages ({SETTINGS}, owner_id, organization_id) VALUES ({}) RETURNING id",
            (1..=params.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
        );
        let row = client.query_one(&sql, &params).await.db()?;
        let row = self.cloud_storage_row(&client, column(&row, 0)?).await?;
        render_row(&caller.base_url, &row)
    }

    #[tracing::instrument(skip_all)]
    pub async fn update_cloud_storage(&self, caller: &Caller, id: i64, body: &str) -> ApiResult<String> {
        let body = parse_body(body)?;
        let (checked, actor) = {
            let client = self.client().await?;
            self.check_cloud_storage(&client, caller, id, CloudStorageScope::Update).await?
        };
        let mut settings = StorageSettings::from_row(&checked)?;
        settings.apply(&body, cvat_models::parse(&body)?)?;
        // Bucket I/O (seconds, at worst) with no database connection held.
        self.check_available(&settings).await?;
        let mut client = self.client().await?;
        let tx = client.transaction().await.db()?;
        self.recheck_storage(&tx, id, &checked, &actor).await?;
        let credentials = settings.credentials_json();
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&id];
        params.extend(settings.values(&credentials));
        let sql = format!(
            "UPDATE cloud_storages SET ({SETTINGS}, updated_date) = ($2, $3, $4, $5, $6, $7, $8, $9, now()) \
             WHERE id = $1"
        );
        tx.execute(&sql, &params).await.db()?;
        let row = self.cloud_storage_row(&tx, id).await?;
        tx.commit().await.db()?;
        render_row(&caller.base_url, &row)
    }

    #[tracing::instrument(skip_all)]
    pub async fn delete_cloud_storage(&self, caller: &Caller, id: i64) -> ApiResult<()> {
        let mut client = self.client().await?;
        let (checked, actor) = self.check_cloud_storage(&client, caller, id, CloudStorageScope::Update).await?;
        let tx = client.transaction().await.db()?;
        self.recheck_storage(&tx, id, &checked, &actor).await?;
        tx.execute("DELETE FROM cloud_storages WHERE id = $1", &[&id]).await.db()?;
        tx.commit().await.db()
    }

    /// A storage's settings after view, with the connection given back before any bucket
    /// I/O (which may take seconds) begins.
    async fn viewable_storage(&self, caller: &Caller, id: i64) -> ApiResult<StorageSettings> {
        let client = self.client().await?;
        let (row, _) = self.check_cloud_storage(&client, caller, id, CloudStorageScope::View).await?;
        StorageSettings::from_row(&row)
    }

    /// `AVAILABLE`, `NOT_FOUND` or `FORBIDDEN`.
    #[tracing::instrument(skip_all)]
    pub async fn cloud_storage_status(&self, caller: &Caller, id: i64) -> ApiResult<String> {
        let settings = self.viewable_storage(caller, id).await?;
        let status = self.bucket_status(&settings).await?;
        Ok(json!(status.as_str()).to_string())
    }

    /// What the storage can be used for: reading task data and writing exports.
    #[tracing::instrument(skip_all)]
    pub async fn cloud_storage_actions(&self, caller: &Caller, id: i64) -> ApiResult<String> {
        let client = self.client().await?;
        self.check_cloud_storage(&client, caller, id, CloudStorageScope::View).await?;
        Ok(json!(["read", "write"]).to_string())
    }

    /// One page of the bucket below `prefix` (within the storage's own prefix), as CVAT's
    /// `CloudStorageContent`: files first, then directories, by their last path part.
    #[tracing::instrument(skip_all)]
    pub async fn cloud_storage_content(
        &self,
        caller: &Caller,
        id: i64,
        prefix: &str,
        next_token: &str,
        page_size: Option<i32>,
    ) -> ApiResult<String> {
        let page_size = match page_size {
            None => MAX_PAGE_SIZE as i32,
            Some(n) if (1..=MAX_PAGE_SIZE as i32).contains(&n) => n,
            Some(_) => return Err(ApiError::field("page_size", format!("Expected 1..{MAX_PAGE_SIZE}."))),
        };
        let settings = self.viewable_storage(caller, id).await?;
        let bucket = self.bucket(&settings).await?;
        let prefix = prefix.trim_start_matches('/');
        let search = if bucket.prefix.starts_with(prefix) {
            bucket.prefix.clone()
        } else if prefix.starts_with(&bucket.prefix) {
            prefix.to_string()
        } else {
            return Ok(json!({"content": [], "next": null}).to_string());
        };
        let token = Some(next_token.to_string()).filter(|t| !t.is_empty());
        let store = S3Store::connect(&bucket.access);
        let page = store.list_page(&search, false, token, page_size).await.map_err(bucket_error)?;
        let cut = search.rfind('/').map_or(0, |i| i + 1);
        let entry = |key: &str, kind: &str| {
            let name = key[cut.min(key.len())..].trim_end_matches('/').to_string();
            let mime = cvat_codecs::media_kind(&name, kind == "DIR");
            json!({"name": name, "type": kind, "mime_type": mime})
        };
        let mut content: Vec<Value> = page.files.iter().map(|k| entry(k, "REG")).collect();
        content.extend(page.directories.iter().map(|d| entry(d, "DIR")));
        Ok(json!({"content": content, "next": page.next}).to_string())
    }

    /// The legacy `GET /api/cloudstorages/{id}/content` (CVAT before `content-v2`): the
    /// paths of the files below the storage's prefix, relative to it, as one JSON list.
    /// Beyond CVAT (which listed a manifest's entries): the bucket's files are listed,
    /// at most [`MAX_FLAT_FILES`] (a 400 says to use `content-v2` for more).
    #[tracing::instrument(skip_all)]
    pub async fn cloud_storage_files(&self, caller: &Caller, id: i64) -> ApiResult<String> {
        let settings = self.viewable_storage(caller, id).await?;
        let bucket = self.bucket(&settings).await?;
        let store = S3Store::connect(&bucket.access);
        let mut names = Vec::new();
        let mut token = None;
        loop {
            let page =
                store.list_page(&bucket.prefix, true, token, MAX_PAGE_SIZE as i32).await.map_err(bucket_error)?;
            names.extend(page.files.iter().map(|key| key[bucket.prefix.len().min(key.len())..].to_string()));
            if names.len() > MAX_FLAT_FILES {
                return Err(ApiError::bad_request(format!(
                    "The storage holds more than {MAX_FLAT_FILES} files: list them page by page with content-v2."
                )));
            }
            match page.next {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        Ok(Value::from(names).to_string())
    }

    /// A 256×256 preview of the first image in the storage (below its prefix).
    #[tracing::instrument(skip_all)]
    pub async fn cloud_storage_preview(&self, caller: &Caller, id: i64) -> ApiResult<Vec<u8>> {
        let settings = self.viewable_storage(caller, id).await?;
        let bucket = self.bucket(&settings).await?;
        let store = S3Store::connect(&bucket.access);
        let page = store.list_page(&bucket.prefix, true, None, 1000).await.map_err(bucket_error)?;
        let key = page
            .files
            .into_iter()
            .find(|k| cvat_codecs::is_image_name(k))
            .ok_or_else(|| ApiError::detail(ErrorKind::NotFound, "The cloud storage has no images to preview."))?;
        let bytes = read_capped(&store, &key, MAX_PREVIEW_SOURCE).await?;
        let name = key.clone();
        tokio::task::spawn_blocking(move || {
            cvat_codecs::process_image(&name, bytes, 70).map(|f| cvat_codecs::preview(&f.image))
        })
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|e| ApiError::invalid(e.to_string()))
    }

    /// The bucket of a storage for a media worker (service-to-service).
    #[tracing::instrument(skip_all)]
    pub async fn cloud_access(&self, id: i64) -> ApiResult<Bucket> {
        let client = self.client().await?;
        let row = self.cloud_storage_row(&client, id).await?;
        self.bucket(&StorageSettings::from_row(&row)?).await
    }

    /// Checks that the caller may read a storage's content (for task data from it).
    pub(crate) async fn check_cloud_storage_readable(
        &self,
        client: &impl GenericClient,
        caller: &Caller,
        id: i64,
    ) -> ApiResult<()> {
        match self.check_cloud_storage(client, caller, id, CloudStorageScope::View).await {
            Err(err) if err.kind == ErrorKind::NotFound => {
                Err(ApiError::invalid(format!("The specified cloud storage {id} does not exist.")))
            }
            other => other.map(|_| ()),
        }
    }
}

/// Reads an object, refusing one larger than `limit`.
async fn read_capped(store: &S3Store, key: &str, limit: u64) -> ApiResult<Vec<u8>> {
    use cvat_blob::BlobStore;
    use futures_util::StreamExt;
    let mut stream = store.get_stream(key).await.map_err(bucket_error)?;
    let mut out = Vec::new();
    while let Some(piece) = stream.next().await {
        out.extend_from_slice(&piece.map_err(bucket_error)?);
        if out.len() as u64 > limit {
            return Err(ApiError::invalid(format!("{key} is larger than {limit} bytes")));
        }
    }
    Ok(out)
}

fn bucket_error(err: cvat_blob::BlobError) -> ApiError {
    ApiError::invalid(format!("The cloud storage cannot be used: {err}"))
}

/// A storage's permission facts and organization, from its row.
fn storage_facts(row: &Row) -> ApiResult<(CloudStorageFacts, Option<i64>)> {
    let org: Option<i64> = column(row, "organization_id")?;
    Ok((CloudStorageFacts { in_org: org.is_some(), owner: column(row, "owner_id")? }, org))
}
