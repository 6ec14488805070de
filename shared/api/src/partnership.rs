//! Commands of the partnership service (being written).
