//! incidentbot library
