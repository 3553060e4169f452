//! Changes the auth service makes (organizations, memberships, invitations) reported to
//! the task service, which records their events and webhook deliveries as it records its
//! own. The objects are rendered here, as their GETs render them; the one before an
//! update or a delete is read only when a webhook listens. A report is made after the
//! auth service committed the change: one that fails is logged, and the change stands.

use super::documents;
use crate::identity::Auth;
use crate::state::AppState;
use actix_web::HttpRequest;
use cvat_proto::task::ChangeReport;
use serde_json::Value;

/// A change of `resource` (organization, membership or invitation) `id` (0: none) in
/// organization `org`.
pub struct Reported {
    pub action: &'static str,
    pub resource: &'static str,
    pub org: i64,
    pub id: i64,
}

impl Reported {
    fn wire(&self, req: &HttpRequest, auth: &Auth, document: Option<&Value>, before: Option<&Value>) -> ChangeReport {
        ChangeReport {
            caller: Some(documents::caller(req, auth.clone())),
            action: self.action.to_string(),
            resource: self.resource.to_string(),
            organization_id: self.org,
            id: self.id,
            document_json: document.map(Value::to_string).unwrap_or_default(),
            before_json: before.map(Value::to_string).unwrap_or_default(),
        }
    }

    /// Whether a webhook listens (a failure to ask counts as no).
    pub async fn listened(&self, req: &HttpRequest, auth: &Auth, state: &AppState) -> bool {
        match state.task().is_change_listened(self.wire(req, auth, None, None)).await {
            Ok(answer) => answer.into_inner().listened,
            Err(status) => {
                tracing::warn!(error = %status, "could not ask whether a webhook listens");
                false
            }
        }
    }

    pub async fn report(
        &self,
        req: &HttpRequest,
        auth: &Auth,
        state: &AppState,
        document: Option<&Value>,
        before: Option<&Value>,
    ) {
        if let Err(status) = state.task().record_change(self.wire(req, auth, document, before)).await {
            tracing::warn!(error = %status, action = self.action, resource = self.resource, "change not recorded");
        }
    }
}
