//! Linking the object with the runtime into an executable. (Being written.)
