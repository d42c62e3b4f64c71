//! The gateway (routes) and the workload (arrivals or users, and the mix).

use super::*;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GatewaySpec {
    pub zone: Option<String>,
    pub routes: Vec<RouteSpec>,
    /// A rate limit over all routes together.
    pub rate_limit: Option<Tagged<LimiterSpec>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouteSpec {
    pub name: String,
    #[serde(rename = "match")]
    pub match_: Option<MatchSpec>,
    pub destination: Option<DestinationSpec>,
    /// Weighted traffic shifting: the share of the route's requests each destination gets.
    pub destinations: Option<Vec<WeightedDestinationSpec>>,
    pub rate_limit: Option<Tagged<LimiterSpec>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WeightedDestinationSpec {
    pub service: String,
    pub endpoint: String,
    pub weight: u32,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MatchSpec {
    pub method: Option<String>,
    pub path_prefix: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DestinationSpec {
    pub service: String,
    pub endpoint: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkloadSpec {
    pub arrivals: Option<ArrivalsSpec>,
    pub users: Option<UsersSpec>,
    pub mix: Vec<MixSpec>,
    pub clients: Option<u64>,
    /// Request headers set per user: header name, then value -> percent of users.
    #[serde(default)]
    pub headers: UniqueMap<UniqueMap<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArrivalsSpec {
    pub process: Option<Process>,
    /// Requests per second, when the rate is constant over the run.
    pub rate: Option<f64>,
    /// Requests per second at the start of the first stage.
    pub start_rate: Option<f64>,
    pub stages: Option<Vec<StageSpec>>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Process {
    Poisson,
    Constant,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StageSpec {
    pub duration: Dur,
    pub target: f64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UsersSpec {
    pub count: u32,
    pub think_time: DistSpec,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MixSpec {
    pub route: Option<String>,
    pub method: Option<String>,
    pub path: Option<String>,
    pub weight: f64,
}
