//! Commands of the plan service (being written).
