//! Events: what the planner reports, recorded on the object it concerns.

use kube::Resource;
use kube::runtime::events::{Event as KubeEvent, EventType, Recorder};

/// The longest note an Event carries (the API server's limit is 1 KiB).
const NOTE_CHARS: usize = 1000;

/// Records `events` on `obj`. A failure to record is logged, never fatal: Events are a
/// report, and the status already holds what they say.
pub(crate) async fn publish<K, E>(recorder: &Recorder, obj: &K, action: &str, events: &[E])
where
    K: Resource<DynamicType = ()>,
    E: std::borrow::Borrow<weir_core::Event>,
{
    let reference = obj.object_ref(&());
    for e in events.iter().map(E::borrow) {
        let ev = KubeEvent {
            type_: if e.warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: e.reason.to_string(),
            note: Some(e.message.chars().take(NOTE_CHARS).collect()),
            action: action.into(),
            secondary: None,
        };
        if let Err(err) = recorder.publish(&ev, &reference).await {
            tracing::warn!(error = %err, "could not record an Event");
        }
    }
}

/// Records a reconcile's planned `events` on `obj`: warnings always, routine ones (a start,
/// a success) only when `normal` is set (`--normal-events`).
pub(crate) async fn publish_planned<K>(
    recorder: &Recorder,
    obj: &K,
    events: &[weir_core::Event],
    normal: bool,
) where
    K: Resource<DynamicType = ()>,
{
    let chosen: Vec<&weir_core::Event> = events
        .iter()
        .filter(|e| e.warning || normal || !e.reason.routine())
        .collect();
    publish(recorder, obj, "Reconcile", &chosen).await;
}
