//! What changed in a plan between two points of its history: items added, removed and
//! moved, and every changed field with its old and new value.
//!
//! # Rule
//!
//! A plan is compared as a set of items keyed by kind and code: the plan's own header
//! (`plan`), its live `axis`, `strategy` and `action` items (a retired item counts as
//! removed). An item's parent is its axis (strategies) or strategy (actions); a changed
//! parent is a move. Every other field is compared as JSON: for actions these are the
//! definition, the status and the progress. Stream versions are left out (they change
//! with every event and say nothing of their own).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::ReadModels;

/// One item of a plan at a point, as [`ReadModels::plan_items`] lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub kind: &'static str,
    pub code: String,
    pub parent: String,
    pub fields: Map<String, Value>,
}

/// A resolved end of a diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DiffPoint {
    /// The global position the plan is read at.
    pub position: u64,
    /// The revision this point stands for, when it was given as one.
    pub revision: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DiffItem {
    /// `plan`, `axis`, `strategy` or `action`.
    pub kind: String,
    pub code: String,
    /// The axis of a strategy, the strategy of an action.
    pub parent: String,
    #[schema(value_type = Object)]
    pub fields: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MovedItem {
    pub kind: String,
    pub code: String,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FieldChange {
    pub field: String,
    #[schema(value_type = Object)]
    pub old: Value,
    #[schema(value_type = Object)]
    pub new: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChangedItem {
    pub kind: String,
    pub code: String,
    pub changes: Vec<FieldChange>,
}

/// `GET /api/v1/plans/{plan}/diff`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlanDiff {
    pub plan: String,
    pub from: DiffPoint,
    pub to: DiffPoint,
    pub added: Vec<DiffItem>,
    pub removed: Vec<DiffItem>,
    pub moved: Vec<MovedItem>,
    pub changed: Vec<ChangedItem>,
}

/// The diff of `plan` from `before` (read at `from`) to `after` (read at `to`); `None`
/// when the plan exists at neither point.
pub fn plan_diff(
    plan: &str,
    before: &ReadModels,
    from: DiffPoint,
    after: &ReadModels,
    to: DiffPoint,
) -> Option<PlanDiff> {
    let old = before.plan_items(plan);
    let new = after.plan_items(plan);
    if old.is_none() && new.is_none() {
        return None;
    }
    let key = |i: &Item| (kind_order(i.kind), code_key(&i.code), i.code.clone());
    let index = |items: Option<Vec<Item>>| -> BTreeMap<_, Item> {
        items
            .unwrap_or_default()
            .into_iter()
            .map(|i| (key(&i), i))
            .collect()
    };
    let (old, new) = (index(old), index(new));
    let mut diff = PlanDiff {
        plan: plan.to_owned(),
        from,
        to,
        added: Vec::new(),
        removed: Vec::new(),
        moved: Vec::new(),
        changed: Vec::new(),
    };
    for (k, item) in &new {
        match old.get(k) {
            None => diff.added.push(diff_item(item)),
            Some(was) => {
                if was.parent != item.parent {
                    diff.moved.push(MovedItem {
                        kind: item.kind.to_owned(),
                        code: item.code.clone(),
                        from: was.parent.clone(),
                        to: item.parent.clone(),
                    });
                }
                let changes = field_changes(&was.fields, &item.fields);
                if !changes.is_empty() {
                    diff.changed.push(ChangedItem {
                        kind: item.kind.to_owned(),
                        code: item.code.clone(),
                        changes,
                    });
                }
            }
        }
    }
    diff.removed = old
        .iter()
        .filter(|(k, _)| !new.contains_key(*k))
        .map(|(_, i)| diff_item(i))
        .collect();
    Some(diff)
}

fn diff_item(i: &Item) -> DiffItem {
    DiffItem {
        kind: i.kind.to_owned(),
        code: i.code.clone(),
        parent: i.parent.clone(),
        fields: i.fields.clone(),
    }
}

fn field_changes(old: &Map<String, Value>, new: &Map<String, Value>) -> Vec<FieldChange> {
    let mut names: Vec<&String> = old.keys().chain(new.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|name| {
            let (o, n) = (
                old.get(name).cloned().unwrap_or(Value::Null),
                new.get(name).cloned().unwrap_or(Value::Null),
            );
            (o != n).then(|| FieldChange {
                field: name.clone(),
                old: o,
                new: n,
            })
        })
        .collect()
}

fn kind_order(kind: &str) -> u8 {
    match kind {
        "plan" => 0,
        "axis" => 1,
        "strategy" => 2,
        _ => 3,
    }
}

/// Sort key for dotted codes: `1.10` after `1.9`.
fn code_key(code: &str) -> Vec<u32> {
    code.split('.')
        .map(|p| p.parse().unwrap_or(u32::MAX))
        .collect()
}
