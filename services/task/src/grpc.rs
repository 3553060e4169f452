//! The `Task` gRPC service: unpacks requests, calls [`Engine`] or the trace probes,
//! packs answers.

use crate::probes::Probes;
use cvat_engine::UploadFor;
use cvat_engine::{AnnotationAction, AnnotationSave, AnnotationTarget, Caller, DocumentPage, Engine};
use cvat_error::ApiError;
use cvat_error::ApiResult;
use cvat_listing::ListParams;
use cvat_proto::common::{Empty, ListQuery};
use cvat_proto::queue::{ExportDataset, ImportAnnotations, RestoreBackup};

/// What a TUS call's upload is for: a job's or a task's annotation file, a backup to
/// restore, a project's dataset (`task` carries the project), or task data.
fn upload_for(task: i64, job: i64, purpose: &str) -> UploadFor {
    match (job, purpose) {
        (0, "backup") => UploadFor::Backup,
        (0, "dataset") => UploadFor::Dataset(task),
        (0, "annotations") => UploadFor::Annotations(AnnotationTarget::Task(task)),
        (0, _) => UploadFor::Data(task),
        (job, _) => UploadFor::Annotations(AnnotationTarget::Job(job)),
    }
}
use cvat_proto::queue::{job::Work, Job};
use cvat_proto::task::task_internal_server::TaskInternal;
use cvat_proto::task::task_server::Task;
use cvat_proto::task::*;
use cvat_queue::Broker;
use cvat_runtime::grpc::{handle, Reply};
use prost::Message;
use std::sync::Arc;
use tonic::{Request, Streaming};

pub struct TaskService {
    pub engine: Arc<Engine>,
    pub probes: Probes,
    pub broker: Arc<Broker>,
    pub chunk_waits: crate::chunks::ChunkWaits,
}

fn list_params(query: Option<ListQuery>) -> ListParams {
    query.unwrap_or_default().into()
}

fn page(page: DocumentPage) -> cvat_proto::task::DocumentPage {
    cvat_proto::task::DocumentPage { count: page.count, results: page.results }
}

fn document(json: String) -> Document {
    Document { json }
}

/// Bytes per part of a streamed document: far below gRPC's 4 MiB message limit.
const DOCUMENT_PART_BYTES: usize = 1 << 20;

pub type DocumentParts =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<DocumentPart, tonic::Status>> + Send>>;

/// A rendered document as the parts of a streamed answer, each copied out only when
/// it is sent.
fn document_parts(json: String) -> DocumentParts {
    let count = json.len().div_ceil(DOCUMENT_PART_BYTES);
    let parts = (0..count).map(move |i| {
        let piece = &json.as_bytes()[i * DOCUMENT_PART_BYTES..json.len().min((i + 1) * DOCUMENT_PART_BYTES)];
        DocumentPart { json: piece.to_vec() }
    });
    Box::pin(futures_util::stream::iter(parts.map(Ok)))
}

impl TaskService {
    /// Hands a request's work to the export pool; a broker that cannot take it fails the
    /// request (so it can be asked for again) and the call (503).
    async fn queue_export_work(&self, rq_id: &str, work: Work) -> ApiResult<()> {
        let job = Job { id: format!("{rq_id}#{}", uuid::Uuid::new_v4()), work: Some(work) };
        if let Err(err) = self.broker.publish("export", &job.id, &job.encode_to_vec()).await {
            tracing::warn!(error = %err, request = rq_id, "publishing to the export pool failed");
            self.engine.fail_request(rq_id, "The message broker is unavailable; try again.").await?;
            return Err(ApiError::unavailable("The message broker"));
        }
        Ok(())
    }
}

fn annotation_target(query: AnnotationsQuery) -> ApiResult<(Caller, AnnotationTarget)> {
    let target = AnnotationTarget::from_name(&query.target, query.id)?;
    Ok((Caller::from_wire(query.caller)?, target))
}

/// A document a worker sends in parts: the request it belongs to and its bytes.
/// An import's or restore's parts: the first names the call, all carry body bytes.
fn broken_import(e: tonic::Status) -> ApiError {
    tracing::warn!(error = %e, "a document from a worker broke off");
    ApiError::bad_request("The document broke off.")
}

async fn collect_import(parts: &mut Streaming<ImportPart>) -> ApiResult<(ImportPart, Vec<u8>)> {
    let mut first = parts.message().await.map_err(broken_import)?.unwrap_or_default();
    let mut body = std::mem::take(&mut first.json);
    while let Some(part) = parts.message().await.map_err(broken_import)? {
        body.extend_from_slice(&part.json);
    }
    Ok((first, body))
}

/// A save's parts: the first names the call, all carry body bytes.
async fn collect_annotations(parts: &mut Streaming<AnnotationsPart>) -> ApiResult<(AnnotationsQuery, String, Vec<u8>)> {
    let broken = |e: tonic::Status| {
        tracing::warn!(error = %e, "annotation upload broke off");
        ApiError::bad_request("The request body broke off.")
    };
    let first = parts.message().await.map_err(broken)?.unwrap_or_default();
    let mut body = first.json;
    while let Some(part) = parts.message().await.map_err(broken)? {
        body.extend_from_slice(&part.json);
    }
    Ok((first.query.unwrap_or_default(), first.action, body))
}

/// A queue notice as tonic sends it (its item type is fixed by tonic).
#[allow(clippy::result_large_err)]
fn queue_event(category: cvat_models::RequestCategory) -> Result<QueueEvent, tonic::Status> {
    Ok(QueueEvent { category: category.name().to_string() })
}

/// A part of a streamed document as tonic sends it (its item type is fixed by tonic).
#[allow(clippy::result_large_err)]
fn wire_part(part: ApiResult<Vec<u8>>) -> Result<DocumentPart, tonic::Status> {
    part.map(|json| DocumentPart { json }).map_err(tonic::Status::from)
}

/// The caller and list parameters of a list request.
fn list_args(r: ListRequest) -> ApiResult<(Caller, ListParams)> {
    Ok((Caller::from_wire(r.caller)?, list_params(r.query)))
}

/// The plain document calls (list, get, create, update, delete) as `#[async_trait]`
/// would expand them: a macro can write these inside the trait's impl, where an
/// `async fn` it produced would no longer be rewritten.
macro_rules! rpc {
    (@method $name:ident, $method:literal, $req:ty => $reply:ty, |$this:ident, $r:ident| $body:expr) => {
        fn $name<'life0, 'async_trait>(
            &'life0 self,
            request: Request<$req>,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Reply<$reply>> + Send + 'async_trait>>
        where
            'life0: 'async_trait,
            Self: 'async_trait,
        {
            let $this = self;
            Box::pin(async move { handle(request, $method, |$r: $req| async move { $body }).await })
        }
    };
    (list $name:ident => $call:ident, $method:literal) => {
        rpc!(@method $name, $method, ListRequest => cvat_proto::task::DocumentPage, |this, r| {
            let (caller, params) = list_args(r)?;
            this.engine.$call(&caller, &params).await.map(page)
        });
    };
    (get $name:ident => $call:ident, $method:literal) => {
        rpc!(@method $name, $method, ObjectRef => Document, |this, r| {
            this.engine.$call(&Caller::from_wire(r.caller)?, r.id).await.map(document)
        });
    };
    (create $name:ident => $call:ident, $method:literal) => {
        rpc!(@method $name, $method, WriteRequest => Document, |this, r| {
            this.engine.$call(&Caller::from_wire(r.caller)?, &r.body_json).await.map(document)
        });
    };
    (update $name:ident => $call:ident, $method:literal) => {
        rpc!(@method $name, $method, WriteRequest => Document, |this, r| {
            this.engine.$call(&Caller::from_wire(r.caller)?, r.id, &r.body_json).await.map(document)
        });
    };
    (delete $name:ident => $call:ident, $method:literal) => {
        rpc!(@method $name, $method, ObjectRef => Empty, |this, r| {
            this.engine.$call(&Caller::from_wire(r.caller)?, r.id).await.map(|_| Empty {})
        });
    };
}

#[tonic::async_trait]
impl Task for TaskService {
    async fn start_trace_probe(&self, request: Request<StartTraceProbeRequest>) -> Reply<TraceProbe> {
        handle(request, "StartTraceProbe", |r| self.probes.start(r.gateway_trace_id)).await
    }

    async fn get_trace_probe(&self, request: Request<TraceProbeRef>) -> Reply<TraceProbe> {
        handle(request, "GetTraceProbe", |r| async move { self.probes.get(&r.id).await }).await
    }

    rpc!(list list_projects => list_projects, "ListProjects");

    rpc!(get get_project => get_project, "GetProject");

    rpc!(create create_project => create_project, "CreateProject");

    rpc!(update update_project => update_project, "UpdateProject");

    async fn delete_project(&self, request: Request<ObjectRef>) -> Reply<Empty> {
        handle(request, "DeleteProject", |r| async move {
            let tasks = self.engine.delete_project(&Caller::from_wire(r.caller)?, r.id).await?;
            crate::blobs::purge(&self.broker, tasks).await;
            Ok(Empty {})
        })
        .await
    }

    rpc!(list list_tasks => list_tasks, "ListTasks");

    rpc!(get get_task => get_task, "GetTask");

    rpc!(create create_task => create_task, "CreateTask");

    rpc!(update update_task => update_task, "UpdateTask");

    async fn delete_task(&self, request: Request<ObjectRef>) -> Reply<Empty> {
        handle(request, "DeleteTask", |r| async move {
            let tasks = self.engine.delete_task(&Caller::from_wire(r.caller)?, r.id).await?;
            crate::blobs::purge(&self.broker, tasks).await;
            Ok(Empty {})
        })
        .await
    }

    rpc!(list list_jobs => list_jobs, "ListJobs");

    rpc!(get get_job => get_job, "GetJob");

    rpc!(update update_job => update_job, "UpdateJob");

    rpc!(delete delete_job => delete_job, "DeleteJob");

    type GetAnnotationsStream = DocumentParts;

    async fn get_annotations(&self, request: Request<AnnotationsQuery>) -> Reply<DocumentParts> {
        handle(request, "GetAnnotations", |q| async move {
            let (caller, target) = annotation_target(q)?;
            let parts = self.engine.annotations(&caller, target).await?;
            use futures_util::StreamExt;
            Ok(Box::pin(parts.map(wire_part)) as DocumentParts)
        })
        .await
    }

    type SaveAnnotationsStream = DocumentParts;

    async fn save_annotations(&self, request: Request<Streaming<AnnotationsPart>>) -> Reply<DocumentParts> {
        handle(request, "SaveAnnotations", |mut parts| async move {
            let (query, action, body) = collect_annotations(&mut parts).await?;
            let (caller, target) = annotation_target(query)?;
            let save = match action.as_str() {
                "put" => AnnotationSave::Replace,
                action => AnnotationSave::Patch(AnnotationAction::parse(action)?),
            };
            let parts = self.engine.save_annotations(&caller, target, save, body).await?;
            use futures_util::StreamExt;
            Ok(Box::pin(parts.map(wire_part)) as DocumentParts)
        })
        .await
    }

    async fn delete_annotations(&self, request: Request<AnnotationsQuery>) -> Reply<Empty> {
        handle(request, "DeleteAnnotations", |q| async move {
            let (caller, target) = annotation_target(q)?;
            self.engine.delete_annotations(&caller, target).await.map(|_| Empty {})
        })
        .await
    }

    rpc!(list list_job_commits => list_job_commits, "ListJobCommits");
    rpc!(list list_issues => list_issues, "ListIssues");
    rpc!(get get_issue => get_issue, "GetIssue");
    rpc!(create create_issue => create_issue, "CreateIssue");
    rpc!(update update_issue => update_issue, "UpdateIssue");
    rpc!(delete delete_issue => delete_issue, "DeleteIssue");
    rpc!(list list_comments => list_comments, "ListComments");
    rpc!(get get_comment => get_comment, "GetComment");
    rpc!(create create_comment => create_comment, "CreateComment");
    rpc!(update update_comment => update_comment, "UpdateComment");
    rpc!(delete delete_comment => delete_comment, "DeleteComment");
    rpc!(list list_labels => list_labels, "ListLabels");

    rpc!(get get_label => get_label, "GetLabel");

    rpc!(update update_label => update_label, "UpdateLabel");

    rpc!(delete delete_label => delete_label, "DeleteLabel");

    async fn begin_upload(&self, request: Request<ObjectRef>) -> Reply<BlobKeys> {
        handle(request, "BeginUpload", |r| async move {
            let keys = self.engine.begin_upload(&Caller::from_wire(r.caller)?, r.id).await?;
            Ok(BlobKeys { keys })
        })
        .await
    }

    rpc!(delete check_upload => check_upload, "CheckUpload");

    async fn record_uploads(&self, request: Request<RecordUploadsRequest>) -> Reply<Empty> {
        handle(request, "RecordUploads", |r| async move {
            self.engine
                .record_uploads(&Caller::from_wire(r.caller)?, r.task_id, &r.files, &r.batch)
                .await
                .map(|_| Empty {})
        })
        .await
    }

    async fn create_tus_upload(&self, request: Request<TusCreate>) -> Reply<TusUpload> {
        handle(request, "CreateTusUpload", |r| async move {
            let upload = upload_for(r.task_id, r.job_id, &r.purpose);
            self.engine.create_tus_upload(&Caller::from_wire(r.caller)?, upload, &r.name, r.length).await
        })
        .await
    }

    async fn get_tus_upload(&self, request: Request<TusRef>) -> Reply<TusUpload> {
        handle(request, "GetTusUpload", |r| async move {
            let upload = upload_for(r.task_id, r.job_id, &r.purpose);
            self.engine.get_tus_upload(&Caller::from_wire(r.caller)?, upload, &r.id).await
        })
        .await
    }

    async fn append_tus_upload(&self, request: Request<TusAppend>) -> Reply<TusUpload> {
        handle(request, "AppendTusUpload", |r| async move {
            let caller = Caller::from_wire(r.caller)?;
            let upload = upload_for(r.task_id, r.job_id, &r.purpose);
            self.engine.append_tus_upload(&caller, upload, &r.id, r.offset, &r.part_key, r.size).await
        })
        .await
    }

    async fn start_data(&self, request: Request<WriteRequest>) -> Reply<RequestRef> {
        handle(request, "StartData", |r| async move {
            let work =
                self.engine.start_data(&Caller::from_wire(r.caller)?, r.id, &r.body_json, &r.upload_batch).await?;
            let rq_id = work.request_id.clone();
            let job = Job { id: rq_id.clone(), work: Some(Work::ProcessTaskData(work)) };
            if let Err(err) = self.broker.publish("media", &job.id, &job.encode_to_vec()).await {
                tracing::warn!(error = %err, "publishing data processing failed");
                self.engine.fail_request(&rq_id, "The message broker is unavailable; upload the data again.").await?;
                return Err(ApiError::unavailable("The message broker"));
            }
            Ok(RequestRef { rq_id })
        })
        .await
    }

    async fn locate_data(&self, request: Request<DataQuery>) -> Reply<DataLocation> {
        handle(request, "LocateData", |q| async move {
            let location = self.engine.locate_data(&q).await?;
            let Some(chunk) = location.unbuilt else { return Ok(location) };
            self.chunk_waits.wait_built(&self.engine, &self.broker, &chunk).await?;
            // Located again once built: the frame's byte range is known now.
            let location = self.engine.locate_data(&q).await?;
            match location.unbuilt {
                None => Ok(location),
                Some(_) => Err(ApiError::unavailable("The chunk")),
            }
        })
        .await
    }

    type GetDataMetaStream = DocumentParts;

    async fn get_data_meta(&self, request: Request<DataQuery>) -> Reply<DocumentParts> {
        handle(request, "GetDataMeta", |q| async move { self.engine.data_meta(&q).await.map(document_parts) }).await
    }

    type UpdateDataMetaStream = DocumentParts;

    async fn update_data_meta(&self, request: Request<DataMetaUpdate>) -> Reply<DocumentParts> {
        handle(request, "UpdateDataMeta", |r| async move {
            let query = r.query.unwrap_or_default();
            self.engine.update_data_meta(&query, &r.body_json).await.map(document_parts)
        })
        .await
    }

    async fn cancel_request(&self, request: Request<RequestQuery>) -> Reply<Empty> {
        handle(request, "CancelRequest", |q| async move {
            self.engine.cancel_request(&Caller::from_wire(q.caller)?, &q.id).await.map(|_| Empty {})
        })
        .await
    }

    async fn get_request(&self, request: Request<RequestQuery>) -> Reply<Document> {
        handle(request, "GetRequest", |q| async move {
            self.engine.get_request(&Caller::from_wire(q.caller)?, &q.id).await.map(document)
        })
        .await
    }

    rpc!(list list_requests => list_requests, "ListRequests");

    rpc!(list list_cloud_storages => list_cloud_storages, "ListCloudStorages");

    rpc!(get get_cloud_storage => get_cloud_storage, "GetCloudStorage");

    rpc!(create create_cloud_storage => create_cloud_storage, "CreateCloudStorage");

    rpc!(update update_cloud_storage => update_cloud_storage, "UpdateCloudStorage");

    rpc!(delete delete_cloud_storage => delete_cloud_storage, "DeleteCloudStorage");

    rpc!(get get_cloud_storage_status => cloud_storage_status, "GetCloudStorageStatus");

    rpc!(get get_cloud_storage_actions => cloud_storage_actions, "GetCloudStorageActions");

    async fn list_cloud_storage_content(&self, request: Request<CloudContentQuery>) -> Reply<Document> {
        handle(request, "ListCloudStorageContent", |r| async move {
            let caller = Caller::from_wire(r.caller)?;
            if r.flat {
                return self.engine.cloud_storage_files(&caller, r.id).await.map(document);
            }
            self.engine.cloud_storage_content(&caller, r.id, &r.prefix, &r.next_token, r.page_size).await.map(document)
        })
        .await
    }

    async fn get_cloud_storage_preview(&self, request: Request<ObjectRef>) -> Reply<Image> {
        handle(request, "GetCloudStoragePreview", |r| async move {
            let data = self.engine.cloud_storage_preview(&Caller::from_wire(r.caller)?, r.id).await?;
            Ok(Image { data, content_type: "image/jpeg".to_string() })
        })
        .await
    }

    async fn start_export(&self, request: Request<ExportStart>) -> Reply<ExportStarted> {
        handle(request, "StartExport", |r| async move {
            let start = cvat_engine::ExportStart {
                target: cvat_engine::ExportTarget::from_name(&r.target, r.id)?,
                format: r.format,
                save_images: r.save_images,
                location: r.location,
                cloud_storage_id: r.cloud_storage_id,
                filename: r.filename,
                backup: r.backup,
                lightweight: r.lightweight,
            };
            let (rq_id, queued) = self.engine.start_export(&Caller::from_wire(r.caller)?, &start).await?;
            if queued {
                let work = Work::ExportDataset(ExportDataset { request_id: rq_id.clone() });
                self.queue_export_work(&rq_id, work).await?;
            }
            Ok(ExportStarted { rq_id, queued })
        })
        .await
    }

    async fn start_import(&self, request: Request<ImportStart>) -> Reply<ExportStarted> {
        handle(request, "StartImport", |r| async move {
            if r.target == "project" {
                let caller = Caller::from_wire(r.caller)?;
                let file = cvat_engine::Location {
                    location: &r.location,
                    cloud_storage_id: r.cloud_storage_id,
                    filename: &r.filename,
                };
                let rq_id = self.engine.start_dataset_import(&caller, r.id, &r.format, file, &r.file_key).await?;
                let work = Work::RestoreBackup(RestoreBackup { request_id: rq_id.clone() });
                self.queue_export_work(&rq_id, work).await?;
                return Ok(ExportStarted { rq_id, queued: true });
            }
            let start = cvat_engine::ImportStart {
                target: AnnotationTarget::from_name(&r.target, r.id)?,
                format: r.format,
                filename: r.filename,
                file_key: r.file_key,
                append: match r.import_mode.as_str() {
                    "" | "replace" => false,
                    "append" => true,
                    other => return Err(ApiError::field("import_mode", format!("\"{other}\" is not a valid choice."))),
                },
                location: r.location,
                cloud_storage_id: r.cloud_storage_id,
                conv_mask_to_poly: r.conv_mask_to_poly,
            };
            let rq_id = self.engine.start_import(&Caller::from_wire(r.caller)?, &start).await?;
            let work = Work::ImportAnnotations(ImportAnnotations { request_id: rq_id.clone() });
            self.queue_export_work(&rq_id, work).await?;
            Ok(ExportStarted { rq_id, queued: true })
        })
        .await
    }

    async fn start_restore(&self, request: Request<ImportStart>) -> Reply<ExportStarted> {
        handle(request, "StartRestore", |r| async move {
            let caller = Caller::from_wire(r.caller)?;
            let file = cvat_engine::Location {
                location: &r.location,
                cloud_storage_id: r.cloud_storage_id,
                filename: &r.filename,
            };
            let rq_id = self.engine.start_restore(&caller, &r.target, file, &r.file_key).await?;
            let work = Work::RestoreBackup(RestoreBackup { request_id: rq_id.clone() });
            self.queue_export_work(&rq_id, work).await?;
            Ok(ExportStarted { rq_id, queued: true })
        })
        .await
    }

    async fn locate_export(&self, request: Request<ExportQuery>) -> Reply<ExportLocation> {
        handle(request, "LocateExport", |r| async move {
            let target = cvat_engine::ExportTarget::from_name(&r.target, r.id)?;
            let result = self.engine.export_result(&Caller::from_wire(r.caller)?, target, &r.rq_id).await?;
            Ok(ExportLocation { key: result.key, file_name: result.file_name })
        })
        .await
    }

    rpc!(create create_function => create_function, "CreateFunction");
    rpc!(get get_function => get_function, "GetFunction");
    rpc!(list list_functions => list_functions, "ListFunctions");
    rpc!(delete delete_function => delete_function, "DeleteFunction");

    async fn list_lambda_functions(&self, request: Request<cvat_proto::task::Caller>) -> Reply<Document> {
        handle(request, "ListLambdaFunctions", |r| async move {
            self.engine.list_lambda_functions(&Caller::from_wire(Some(r))?).await.map(document)
        })
        .await
    }

    async fn get_lambda_function(&self, request: Request<TextRef>) -> Reply<Document> {
        handle(request, "GetLambdaFunction", |r| async move {
            self.engine.get_lambda_function(&Caller::from_wire(r.caller)?, &r.id).await.map(document)
        })
        .await
    }

    async fn call_lambda_function(&self, request: Request<TextWrite>) -> Reply<Document> {
        handle(request, "CallLambdaFunction", |r| async move {
            self.engine.call_lambda_function(&Caller::from_wire(r.caller)?, &r.id, &r.body_json).await.map(document)
        })
        .await
    }

    rpc!(create create_lambda_request => create_lambda_request, "CreateLambdaRequest");

    async fn list_lambda_requests(&self, request: Request<cvat_proto::task::Caller>) -> Reply<Document> {
        handle(request, "ListLambdaRequests", |r| async move {
            self.engine.list_lambda_requests(&Caller::from_wire(Some(r))?).await.map(document)
        })
        .await
    }

    async fn get_lambda_request(&self, request: Request<TextRef>) -> Reply<Document> {
        handle(request, "GetLambdaRequest", |r| async move {
            self.engine.get_lambda_request(&Caller::from_wire(r.caller)?, &r.id).await.map(document)
        })
        .await
    }

    async fn cancel_lambda_request(&self, request: Request<TextRef>) -> Reply<Empty> {
        handle(request, "CancelLambdaRequest", |r| async move {
            self.engine.cancel_lambda_request(&Caller::from_wire(r.caller)?, &r.id).await.map(|_| Empty {})
        })
        .await
    }

    type WatchFunctionQueueStream =
        std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<QueueEvent, tonic::Status>> + Send>>;

    async fn watch_function_queue(&self, request: Request<AgentCall>) -> Reply<Self::WatchFunctionQueueStream> {
        handle(request, "WatchFunctionQueue", |r| async move {
            use futures_util::StreamExt;
            let events = self.engine.watch_function_queue(&Caller::from_wire(r.caller)?, r.function_id).await?;
            let events = events.map(queue_event);
            Ok(Box::pin(events) as Self::WatchFunctionQueueStream)
        })
        .await
    }

    async fn acquire_function_request(&self, request: Request<AgentCall>) -> Reply<Document> {
        handle(request, "AcquireFunctionRequest", |r| async move {
            let caller = Caller::from_wire(r.caller)?;
            self.engine.acquire_function_request(&caller, r.function_id, &r.json).await.map(document)
        })
        .await
    }

    async fn update_function_request(&self, request: Request<AgentCall>) -> Reply<Empty> {
        handle(request, "UpdateFunctionRequest", |r| async move {
            let caller = Caller::from_wire(r.caller)?;
            self.engine.update_function_request(&caller, r.function_id, &r.request_id, &r.json).await.map(|_| Empty {})
        })
        .await
    }

    async fn complete_function_request(&self, request: Request<Streaming<AgentCall>>) -> Reply<Empty> {
        handle(request, "CompleteFunctionRequest", |mut parts| async move {
            let broken = |e: tonic::Status| {
                tracing::warn!(error = %e, "a function result broke off");
                ApiError::bad_request("The request body broke off.")
            };
            let mut first = parts.message().await.map_err(broken)?.unwrap_or_default();
            let mut body = std::mem::take(&mut first.json);
            while let Some(part) = parts.message().await.map_err(broken)? {
                body.extend_from_slice(&part.json);
            }
            let caller = Caller::from_wire(first.caller)?;
            self.engine
                .complete_function_request(&caller, first.function_id, &first.request_id, body)
                .await
                .map(|_| Empty {})
        })
        .await
    }

    rpc!(list list_webhooks => list_webhooks, "ListWebhooks");
    rpc!(get get_webhook => get_webhook, "GetWebhook");
    rpc!(create create_webhook => create_webhook, "CreateWebhook");
    rpc!(get ping_webhook => ping_webhook, "PingWebhook");
    rpc!(delete delete_webhook => delete_webhook, "DeleteWebhook");
    rpc!(list list_webhook_deliveries => list_webhook_deliveries, "ListWebhookDeliveries");

    async fn update_webhook(&self, request: Request<WriteRequest>) -> Reply<Document> {
        handle(request, "UpdateWebhook", |r| async move {
            self.engine.update_webhook(&Caller::from_wire(r.caller)?, r.id, &r.body_json, false).await.map(document)
        })
        .await
    }

    async fn replace_webhook(&self, request: Request<WriteRequest>) -> Reply<Document> {
        handle(request, "ReplaceWebhook", |r| async move {
            self.engine.update_webhook(&Caller::from_wire(r.caller)?, r.id, &r.body_json, true).await.map(document)
        })
        .await
    }

    async fn get_webhook_delivery(&self, request: Request<DeliveryRef>) -> Reply<Document> {
        handle(request, "GetWebhookDelivery", |r| async move {
            self.engine.get_webhook_delivery(&Caller::from_wire(r.caller)?, r.webhook_id, r.id).await.map(document)
        })
        .await
    }

    async fn redeliver_webhook(&self, request: Request<DeliveryRef>) -> Reply<Empty> {
        handle(request, "RedeliverWebhook", |r| async move {
            self.engine.redeliver_webhook(&Caller::from_wire(r.caller)?, r.webhook_id, r.id).await.map(|_| Empty {})
        })
        .await
    }

    async fn record_events(&self, request: Request<TextWrite>) -> Reply<Document> {
        handle(request, "RecordEvents", |r| async move {
            self.engine.record_client_events(&Caller::from_wire(r.caller)?, &r.id, &r.body_json).await.map(document)
        })
        .await
    }

    async fn start_events_export(&self, request: Request<EventsExport>) -> Reply<ExportStarted> {
        handle(request, "StartEventsExport", |r| async move {
            let caller = Caller::from_wire(r.caller)?;
            let (rq_id, queued) =
                self.engine.start_events_export(&caller, &r.query_id, &r.filter_json, &r.filename).await?;
            if queued {
                let work = Work::ExportEvents(cvat_proto::queue::ExportEvents { request_id: rq_id.clone() });
                self.queue_export_work(&rq_id, work).await?;
            }
            Ok(ExportStarted { rq_id, queued })
        })
        .await
    }

    async fn get_events_export(&self, request: Request<TextRef>) -> Reply<Document> {
        handle(request, "GetEventsExport", |r| async move {
            self.engine.events_export_status(&Caller::from_wire(r.caller)?, &r.id).await.map(document)
        })
        .await
    }

    async fn locate_events_export(&self, request: Request<TextRef>) -> Reply<ExportLocation> {
        handle(request, "LocateEventsExport", |r| async move {
            let result = self.engine.events_export_result(&Caller::from_wire(r.caller)?, &r.id).await?;
            Ok(ExportLocation { key: result.key, file_name: result.file_name })
        })
        .await
    }

    rpc!(create create_guide => create_guide, "CreateGuide");
    rpc!(get get_guide => get_guide, "GetGuide");
    rpc!(update update_guide => update_guide, "UpdateGuide");

    async fn delete_guide(&self, request: Request<ObjectRef>) -> Reply<BlobKeys> {
        handle(request, "DeleteGuide", |r| async move {
            let keys = self.engine.delete_guide(&Caller::from_wire(r.caller)?, r.id).await?;
            Ok(BlobKeys { keys })
        })
        .await
    }

    async fn create_asset(&self, request: Request<TextWrite>) -> Reply<Document> {
        handle(request, "CreateAsset", |r| async move {
            self.engine.create_asset(&Caller::from_wire(r.caller)?, &r.body_json).await.map(document)
        })
        .await
    }

    async fn get_asset(&self, request: Request<TextRef>) -> Reply<AssetLocation> {
        handle(request, "GetAsset", |r| async move {
            let file = self.engine.get_asset(&Caller::from_wire(r.caller)?, &r.id).await?;
            Ok(AssetLocation { key: file.key, filename: file.filename, content_type: file.content_type })
        })
        .await
    }

    async fn delete_asset(&self, request: Request<TextRef>) -> Reply<BlobKeys> {
        handle(request, "DeleteAsset", |r| async move {
            let key = self.engine.delete_asset(&Caller::from_wire(r.caller)?, &r.id).await?;
            Ok(BlobKeys { keys: vec![key] })
        })
        .await
    }

    async fn record_change(&self, request: Request<ChangeReport>) -> Reply<Empty> {
        handle(request, "RecordChange", |r| async move {
            let caller = Caller::from_wire(r.caller)?;
            self.engine
                .record_reported_change(
                    &caller,
                    &r.action,
                    &r.resource,
                    r.organization_id,
                    r.id,
                    &r.document_json,
                    &r.before_json,
                )
                .await
                .map(|_| Empty {})
        })
        .await
    }

    async fn is_change_listened(&self, request: Request<ChangeReport>) -> Reply<Listened> {
        handle(request, "IsChangeListened", |r| async move {
            let event = format!("{}:{}", r.action, r.resource);
            let listened = self.engine.organization_change_listened(&event, r.organization_id).await?;
            Ok(Listened { listened })
        })
        .await
    }

    async fn fail_function_request(&self, request: Request<AgentCall>) -> Reply<Empty> {
        handle(request, "FailFunctionRequest", |r| async move {
            let caller = Caller::from_wire(r.caller)?;
            self.engine.fail_function_request(&caller, r.function_id, &r.request_id, &r.json).await.map(|_| Empty {})
        })
        .await
    }
}

/// The API only workers may call (see `proto/task.proto`, `TaskInternal`).
pub struct InternalService {
    pub engine: Arc<Engine>,
    pub probes: Probes,
    pub broker: Arc<Broker>,
}

#[tonic::async_trait]
impl TaskInternal for InternalService {
    async fn report_trace_probe(&self, request: Request<TraceProbeReport>) -> Reply<TraceProbe> {
        handle(request, "ReportTraceProbe", |r| async move {
            self.probes.record(&r.id, &r.service, &r.trace_id).await?;
            self.probes.get(&r.id).await
        })
        .await
    }

    type GetExportSourceStream = DocumentParts;
    type GetEventsSourceStream = DocumentParts;

    async fn get_events_source(&self, request: Request<RequestRef>) -> Reply<DocumentParts> {
        handle(request, "GetEventsSource", |r| async move {
            use futures_util::StreamExt;
            let csv = self.engine.events_csv(&r.rq_id).await?;
            Ok(Box::pin(csv.map(wire_part)) as DocumentParts)
        })
        .await
    }

    async fn take_webhook_delivery(&self, request: Request<DeliveryId>) -> Reply<WebhookDeliveryWork> {
        handle(request, "TakeWebhookDelivery", |r| async move {
            let work = self.engine.webhook_delivery_work(r.id).await?.ok_or_else(ApiError::not_found)?;
            Ok(WebhookDeliveryWork {
                target_url: work.target_url,
                secret: work.secret,
                enable_ssl: work.enable_ssl,
                payload_json: work.payload.to_string(),
            })
        })
        .await
    }

    async fn report_webhook_delivery(&self, request: Request<WebhookDeliveryReport>) -> Reply<Empty> {
        handle(request, "ReportWebhookDelivery", |r| async move {
            self.engine.report_webhook_delivery(r.id, r.status_code, &r.response, r.duration_ms).await.map(|_| Empty {})
        })
        .await
    }

    async fn get_export_source(&self, request: Request<RequestRef>) -> Reply<DocumentParts> {
        handle(request, "GetExportSource", |r| async move {
            let parts = self.engine.export_source(&r.rq_id).await?;
            use futures_util::StreamExt;
            Ok(Box::pin(parts.map(wire_part)) as DocumentParts)
        })
        .await
    }

    async fn get_import_source(&self, request: Request<RequestRef>) -> Reply<Document> {
        handle(request, "GetImportSource", |r| async move { self.engine.import_source(&r.rq_id).await.map(document) })
            .await
    }

    async fn complete_import(&self, request: Request<Streaming<ImportPart>>) -> Reply<Empty> {
        handle(request, "CompleteImport", |mut parts| async move {
            // The first part names the request; the objects stream on into the save, and
            // only a stream closed by a part marked `last` is whole.
            use futures_util::StreamExt;
            let mut first = parts.message().await.map_err(broken_import)?.unwrap_or_default();
            let request_id = std::mem::take(&mut first.request_id);
            let parts = futures_util::stream::once(async { Ok(first) }).chain(parts);
            let body = futures_util::stream::unfold((Box::pin(parts), false), |(mut parts, done)| async move {
                if done {
                    return None;
                }
                match parts.next().await {
                    Some(Ok(part)) => Some((Ok(part.json), (parts, part.last))),
                    None => Some((Err(ApiError::bad_request("The document broke off.")), (parts, true))),
                    Some(Err(e)) => Some((Err(broken_import(e)), (parts, true))),
                }
            });
            self.engine.complete_import(&request_id, Box::pin(body)).await.map(|_| Empty {})
        })
        .await
    }

    async fn restore_project(&self, request: Request<ImportPart>) -> Reply<Document> {
        handle(request, "RestoreProject", |r| async move {
            let json = String::from_utf8(r.json).map_err(|_| ApiError::bad_request("project.json is not UTF-8"))?;
            self.engine.restore_project(&r.request_id, &json).await.map(document)
        })
        .await
    }

    async fn get_restored_source(&self, request: Request<ImportPart>) -> Reply<Document> {
        handle(request, "GetRestoredSource", |r| async move {
            self.engine.restored_source(&r.request_id, r.slot).await.map(document)
        })
        .await
    }

    async fn restore_task(&self, request: Request<ImportPart>) -> Reply<Document> {
        handle(request, "RestoreTask", |r| async move {
            let task_json = String::from_utf8(r.json).map_err(|_| ApiError::bad_request("task.json is not UTF-8"))?;
            self.engine.restore_task(&r.request_id, r.slot, &task_json).await.map(document)
        })
        .await
    }

    async fn restore_data(&self, request: Request<RestoreDataRequest>) -> Reply<cvat_proto::queue::ProcessTaskData> {
        handle(request, "RestoreData", |r| async move {
            self.engine.restore_data(&r.request_id, r.task_id, &r.files, &r.data_json).await
        })
        .await
    }

    async fn complete_restore(&self, request: Request<Streaming<ImportPart>>) -> Reply<Empty> {
        handle(request, "CompleteRestore", |mut parts| async move {
            let (head, body) = collect_import(&mut parts).await?;
            let removed = self.engine.complete_restore(&head.request_id, head.slot, head.last, body).await?;
            if !removed.is_empty() {
                crate::blobs::purge(&self.broker, removed).await;
            }
            Ok(Empty {})
        })
        .await
    }

    async fn complete_export(&self, request: Request<ExportDone>) -> Reply<Empty> {
        handle(request, "CompleteExport", |r| async move {
            self.engine.complete_export(&r.request_id, &r.key).await.map(|_| Empty {})
        })
        .await
    }

    async fn report_data_progress(&self, request: Request<DataProgress>) -> Reply<Empty> {
        handle(request, "ReportDataProgress", |r| async move {
            self.engine.report_progress(&r.request_id, r.progress).await.map(|_| Empty {})
        })
        .await
    }

    async fn complete_data(&self, request: Request<Streaming<DataResult>>) -> Reply<Empty> {
        handle(request, "CompleteData", |mut parts| async move {
            let result = collect_result(&mut parts).await?;
            let ahead = self.engine.complete_data(&result).await?;
            crate::chunks::prebuild(self.broker.clone(), result.task_id, ahead);
            Ok(Empty {})
        })
        .await
    }

    async fn claim_chunk(&self, request: Request<ChunkClaimQuery>) -> Reply<ChunkClaim> {
        handle(request, "ClaimChunk", |r| async move { self.engine.claim_chunk(r.task_id, &r.key, &r.claimant).await })
            .await
    }

    async fn complete_chunk(&self, request: Request<ChunkBuilt>) -> Reply<Empty> {
        handle(request, "CompleteChunk", |r| async move { self.engine.complete_chunk(&r).await.map(|_| Empty {}) })
            .await
    }

    async fn fail_data(&self, request: Request<DataFailure>) -> Reply<Empty> {
        handle(request, "FailData", |r| async move {
            let removed = self.engine.fail_request(&r.request_id, &r.message).await?;
            if !removed.is_empty() {
                crate::blobs::purge(&self.broker, removed).await;
            }
            Ok(Empty {})
        })
        .await
    }

    async fn sweep_uploads(&self, request: Request<SweepUploadsRequest>) -> Reply<SweptUploads> {
        handle(request, "SweepUploads", |r| async move {
            let idle = std::time::Duration::from_secs(r.older_than_seconds.max(0) as u64);
            crate::blobs::sweep_uploads(&self.engine, &self.broker, idle).await.map(|keys| SweptUploads { keys })
        })
        .await
    }

    async fn get_cloud_access(&self, request: Request<CloudAccessQuery>) -> Reply<CloudAccess> {
        handle(request, "GetCloudAccess", |r| async move {
            let bucket = self.engine.cloud_access(r.cloud_storage_id).await?;
            let keys = bucket.access.keys.unwrap_or(cvat_blob::S3Keys {
                access_key: String::new(),
                secret_key: String::new(),
                session_token: None,
            });
            Ok(CloudAccess {
                endpoint: bucket.access.endpoint.unwrap_or_default(),
                region: bucket.access.region,
                bucket: bucket.access.bucket,
                access_key: keys.access_key,
                secret_key: keys.secret_key,
                session_token: keys.session_token.unwrap_or_default(),
                prefix: bucket.prefix,
            })
        })
        .await
    }
}

/// The parts of a data result as one: the frames of every part, in order, under the
/// first part's request; a part naming another request is refused.
async fn collect_result(parts: &mut Streaming<DataResult>) -> ApiResult<DataResult> {
    let broken = |status: tonic::Status| ApiError::from_status(&status);
    let mut result = parts.message().await.map_err(broken)?.ok_or_else(|| ApiError::invalid("No data result sent"))?;
    while let Some(part) = parts.message().await.map_err(broken)? {
        if part.request_id != result.request_id || part.task_id != result.task_id {
            return Err(ApiError::invalid("Every part of a data result names the same request and task"));
        }
        result.frames.extend(part.frames);
    }
    Ok(result)
}
