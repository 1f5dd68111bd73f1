//! Errors of the controllers, named after the action that failed, with a bounded category
//! for metric labels and Event reasons.

/// A failed reconcile.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Server-side apply of a child failed.
    #[error("apply {kind} {name}: {source}")]
    ApplyChild {
        /// The child's kind.
        kind: String,
        /// The child's name.
        name: String,
        /// What the API server said.
        #[source]
        source: kube::Error,
    },
    /// Deleting a child failed.
    #[error("delete {kind} {name}: {source}")]
    DeleteChild {
        /// The child's kind.
        kind: String,
        /// The child's name.
        name: String,
        /// What the API server said.
        #[source]
        source: kube::Error,
    },
    /// Patching a status failed (a conflict means the cache was stale: retried at once).
    #[error("patch status of {name}: {source}")]
    PatchStatus {
        /// The object's name.
        name: String,
        /// What the API server said.
        #[source]
        source: kube::Error,
    },
    /// Reading an object the plan needs failed.
    #[error("read {what}: {source}")]
    Read {
        /// What was read.
        what: String,
        /// What the API server said.
        #[source]
        source: kube::Error,
    },
    /// A child's kind is not served by the API server.
    #[error("kind {0} is not served by the API server")]
    UnknownKind(String),
    /// A child's kind is cluster-scoped, and those are not allowed.
    #[error(
        "kind {0} is cluster-scoped: a run's children are namespaced unless the controller runs with --allow-cluster-scoped-kinds"
    )]
    ClusterScoped(String),
    /// Deleting an expired or surplus run failed.
    #[error("delete run {name}: {source}")]
    DeleteRun {
        /// The run's name.
        name: String,
        /// What the API server said.
        #[source]
        source: kube::Error,
    },
    /// Creating a run (a trigger's) failed.
    #[error("create run {name}: {source}")]
    CreateRun {
        /// The run's name.
        name: String,
        /// What the API server said.
        #[source]
        source: kube::Error,
    },
    /// The client could not be built (kubeconfig, in-cluster config).
    #[error("kubernetes client: {0}")]
    Client(#[source] kube::Error),
    /// The webhook could not be set up.
    #[error("webhook: {0}")]
    Webhook(String),
    /// Leader election failed or the lease was lost.
    #[error("leader election: {0}")]
    Leader(String),
    /// An object without namespace or name reached a namespaced reconcile.
    #[error("object has no {0}")]
    MissingField(&'static str),
    /// A write refused: this replica's lease is not known to be unexpired (see `fence`).
    #[error(
        "not writing: this replica's lease is not confirmed (paused, or the API server is silent)"
    )]
    NotLeading,
}

impl Error {
    /// A bounded name for metrics and Event reasons.
    pub fn category(&self) -> &'static str {
        match self {
            Error::ApplyChild { .. } => "ApplyChild",
            Error::DeleteChild { .. } => "DeleteChild",
            Error::PatchStatus { source, .. } if is_conflict(source) => "Conflict",
            Error::PatchStatus { .. } => "PatchStatus",
            Error::Read { .. } => "Read",
            Error::UnknownKind(_) => "UnknownKind",
            Error::ClusterScoped(_) => "ClusterScoped",
            Error::DeleteRun { .. } => "DeleteRun",
            Error::CreateRun { .. } => "CreateRun",
            Error::MissingField(_) => "MissingField",
            Error::Client(_) => "Client",
            Error::Webhook(_) => "Webhook",
            Error::Leader(_) => "Leader",
            Error::NotLeading => "NotLeading",
        }
    }

    /// A stale cache, not a failure: try again right away.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::PatchStatus { source, .. } if is_conflict(source))
    }
}

fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409)
}

/// Whether the API server refused a write as too large (the request body, or the object
/// in etcd).
pub(crate) fn is_too_large(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 413 || s.message.contains("too large"))
}

/// Whether an API error is a 404.
pub(crate) fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}
