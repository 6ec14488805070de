//! Commands of the monitoring service (being written).
