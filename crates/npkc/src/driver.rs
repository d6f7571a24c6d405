//! The driver: runs the pipeline for the CLI. (Being written.)
