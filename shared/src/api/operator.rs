//! Bodies of the operators' console API (`/operator/api/v1/...`).

use serde::{Deserialize, Serialize};

/// `GET /operator/api/v1/me`: the signed-in operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorMe {
    /// The operator's id (`sub`) in the operators' user pool.
    pub id: String,
    /// The email the operator signs in with; absent for a bearer token, which carries none.
    pub email: Option<String>,
}
