//! Shared helpers live in the e2e test binary itself; this library is empty on purpose.
