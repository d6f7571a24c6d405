//! C ABI runtime (being written).
