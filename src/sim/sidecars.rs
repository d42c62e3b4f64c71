//! The loop's side of mesh security: each sidecar's certificate agent and its timers,
//! connection pools and handshakes as attempts leave a proxy, authorization at the
//! callee's sidecar, the CA outage and authz-policy faults, and the counters.
//!
//! All of it hangs off `Sim::security`, `None` without a `security` block: then the loop
//! pays one branch where an attempt is sent, delivered and answered.

use super::*;
use crate::security::cert::{CertAgent, CertEvent};
use crate::security::pool::{Conn, Pool};
use crate::security::{self as sec, HandshakeFailure, RequestInfo, SecurityReport};

/// The connection an attempt holds while it is out.
#[derive(Clone, Copy)]
struct Held {
    /// The attempt's key generation (`u32::MAX`: this slot holds nothing).
    generation: u32,
    conn: Conn,
    proxy: u32,
    host: u32,
}

const NOTHING: Held = Held { generation: u32::MAX, conn: Conn::new(false, (0, 0)), proxy: 0, host: 0 };

pub(super) struct SecState {
    /// Per calling site (0 the gateway, 1 + instance): the certificate agent, the
    /// generation of its timer, and since when its certificate is expired (with the index
    /// of its open interval in the report), `SimTime::MAX` while it is not.
    agents: Vec<CertAgent>,
    agent_gen: Vec<u32>,
    expired_since: Vec<(SimTime, u32)>,
    /// CA outages in force.
    ca_down: u32,
    cert_rng: Stream,
    handshake_rng: Stream,
    /// Per proxy and host: idle connections.
    pools: Vec<Vec<Pool>>,
    /// The connection of each attempt in flight, by its slab index.
    held: Vec<Held>,
    /// The authz-policy faults in force, by fault index.
    fault_policies: Vec<u32>,
    report: SecurityReport,
}

impl SecState {
    pub(super) fn new(sc: &Scenario, seed: RootSeed, proxy_site: &[(u32, ServiceId)]) -> Self {
        let s = sc.security.as_ref().expect("security state only with a security block");
        let nsvc = sc.services.len();
        SecState {
            agents: vec![CertAgent::new(s.certificates); 1 + sc.instances.len()],
            agent_gen: vec![0; 1 + sc.instances.len()],
            expired_since: vec![(SimTime::MAX, 0); 1 + sc.instances.len()],
            ca_down: 0,
            cert_rng: seed.stream("security/certificates"),
            handshake_rng: seed.stream("security/handshakes"),
            pools: proxy_site
                .iter()
                .map(|&(_, dest)| vec![Pool::default(); sc.services[dest.idx()].instances.len()])
                .collect(),
            held: Vec::new(),
            fault_policies: Vec::new(),
            report: SecurityReport {
                denied_by_deny: vec![0; nsvc],
                denied_no_allow: vec![0; nsvc],
                ..SecurityReport::default()
            },
        }
    }

    /// The report at the end of the run (`end`): open expiry intervals count up to it.
    pub(super) fn finish(mut self, end: SimTime) -> SecurityReport {
        for &(since, _) in &self.expired_since {
            if since != SimTime::MAX {
                self.report.expired_s += end.since(since).as_secs_f64();
            }
        }
        self.report
    }
}

impl Sim<'_, '_> {
    fn sec(&mut self) -> &mut SecState {
        self.security.as_deref_mut().expect("called only with security on")
    }

    /// The run starts: the gateway and every running instance get their certificates.
    pub(super) fn start_security(&mut self) {
        self.cert_start(GATEWAY_SITE);
        for i in 0..self.sc.instances.len() {
            if self.sc.instances[i].initially_running {
                self.cert_start(1 + i);
            }
        }
    }

    /// A sidecar starts (the gateway at the run's start, an instance when it starts): its
    /// agent asks the CA for a certificate at once.
    pub(super) fn cert_start(&mut self, site: usize) {
        let now = self.now;
        let s = self.sec();
        let ca_up = s.ca_down == 0;
        s.agent_gen[site] += 1;
        let ev = s.agents[site].start(now, ca_up, &mut s.cert_rng);
        self.cert_event(site, ev);
        self.arm_cert(site);
    }

    fn arm_cert(&mut self, site: usize) {
        let s = self.sec();
        let (wake, generation) = (s.agents[site].wake(), s.agent_gen[site]);
        if wake != SimTime::MAX {
            self.events.push(wake, Event::Cert(site as u32, generation));
        }
    }

    /// A certificate agent's timer: expiry, rotation or a retry.
    #[cold]
    #[inline(never)]
    pub(super) fn on_cert(&mut self, site: u32, generation: u32) {
        let site = site as usize;
        let now = self.now;
        if self.sec().agent_gen[site] != generation {
            return;
        }
        if site != GATEWAY_SITE && matches!(self.stations.instances[site - 1].life, Life::Down { .. } | Life::Stopped) {
            // The pod is gone, and its agent with it; a restart starts a new one.
            let s = self.sec();
            s.agents[site].stop();
            s.agent_gen[site] += 1;
            return;
        }
        loop {
            let s = self.sec();
            let ca_up = s.ca_down == 0;
            let Some(ev) = s.agents[site].on_wake(now, ca_up, &mut s.cert_rng) else { break };
            self.cert_event(site, ev);
        }
        self.arm_cert(site);
    }

    /// Counts what an agent did and writes it to `events.csv`.
    fn cert_event(&mut self, site: usize, ev: CertEvent) {
        let now = self.now;
        let who = site_name(self.sc, site);
        let s = self.security.as_deref_mut().expect("called only with security on");
        let r = &mut s.report;
        let (event, detail) = match ev {
            CertEvent::Issued(until) | CertEvent::Rotated(until) => {
                if matches!(ev, CertEvent::Issued(_)) {
                    r.issued += 1;
                } else {
                    r.rotations += 1;
                }
                let (since, open) = s.expired_since[site];
                if since != SimTime::MAX {
                    r.expired_s += now.since(since).as_secs_f64();
                    if let Some(iv) = r.expired_intervals.get_mut(open as usize) {
                        iv.2 = Some(now);
                    }
                    s.expired_since[site] = (SimTime::MAX, 0);
                }
                let name = if matches!(ev, CertEvent::Issued(_)) { "cert-issued" } else { "cert-rotated" };
                (name, format!("valid until {:.3} s", until.as_secs_f64()))
            }
            CertEvent::RotationFailed(retry) => {
                r.failed_rotations += 1;
                ("cert-rotation-failed", format!("CA unavailable, retry at {:.3} s", retry.as_secs_f64()))
            }
            CertEvent::Expired => {
                r.expiries += 1;
                let open = r.expired_intervals.len() as u32;
                if r.expired_intervals.len() < sec::EXPIRED_INTERVALS_MAX {
                    r.expired_intervals.push((who.to_string(), now, None));
                }
                s.expired_since[site] = (now, open);
                ("cert-expired", String::new())
            }
        };
        let service = if site == GATEWAY_SITE {
            "gateway"
        } else {
            self.sc.services[self.sc.instances[site - 1].service.idx()].name.as_str()
        };
        self.event_row(who, service, event, &detail);
    }

    /// A CA outage or an authz-policy fault begins or ends.
    #[cold]
    #[inline(never)]
    pub(super) fn on_security_fault(&mut self, index: u32, starts: bool) {
        let is_ca = matches!(self.sc.faults[index as usize].kind, FaultKind::CaOutage);
        let s = self.sec();
        match (is_ca, starts) {
            (true, true) => s.ca_down += 1,
            (true, false) => s.ca_down = s.ca_down.saturating_sub(1),
            (false, true) => s.fault_policies.push(index),
            (false, false) => s.fault_policies.retain(|&f| f != index),
        }
    }

    /// The life (epoch) of a calling site's process: the gateway never restarts.
    fn site_epoch(&self, site: usize) -> u32 {
        if site == GATEWAY_SITE { 0 } else { self.stations.instances[site - 1].epoch }
    }

    /// Sends `attempt` from its proxy to its instance over a pooled connection, or over
    /// a new one after its handshake: TCP takes a round trip, TLS 1.3 one more, plus the
    /// handshake's CPU cost. A failed handshake answers the attempt after those round
    /// trips: a TLS failure (expired or missing certificate, mTLS to a plaintext-only
    /// server) as Envoy's upstream connect failure, plaintext to a STRICT server as a
    /// reset. Where meshsim simplifies: handshake messages are neither lost nor delayed by
    /// network faults (their latency is the links' own, from the stream
    /// `security/handshakes`).
    #[cold]
    #[inline(never)]
    pub(super) fn secure_send(&mut self, attempt: Key, from: ZoneId, to: ZoneId) {
        let sc = self.sc;
        let now = self.now;
        let security = sc.security.as_deref().expect("called only with security on");
        let a = self.live.attempts.get(attempt).expect("an attempt being sent is live");
        let (p, host, instance, service) = (a.proxy as usize, a.host as usize, a.instance, a.service);
        let caller_node = self.recorder.points[self.recorder.proxy_point[p] as usize].caller.idx();
        if self.network.faulted() && self.network.nodes_cut(caller_node, 1 + service.idx()) {
            return self.lose(attempt, from, to);
        }
        let site = self.proxies.proxy_site[p].0 as usize;
        let epochs = (self.site_epoch(site), self.stations.instances[instance.idx()].epoch);
        let s = self.security.as_deref_mut().expect("called only with security on");
        let mut setup = SimDuration::ZERO;
        let mut conn = match s.pools[p][host].take(now, security.idle_timeout, epochs) {
            Some(c) => {
                s.report.reused += 1;
                c
            }
            None => {
                s.report.handshakes += 1;
                let mode = security.modes[service.idx()];
                let tls = security.client_tls[caller_node * sc.services.len() + service.idx()];
                let mtls = sec::Security::client_sends_mtls(tls, mode);
                let client = s.agents[site].status(now);
                let server = s.agents[1 + instance.idx()].status(now);
                let verdict = sec::handshake(mtls, mode, client, server);
                // A failed handshake costs two round trips (TCP, then the TLS exchange or
                // the request and its reset); a good one one per protocol.
                let rtts = if verdict.is_err() || mtls { 2 } else { 1 };
                let (there, back) = (sc.network.link(from, to).idx(), sc.network.link(to, from).idx());
                for _ in 0..rtts {
                    setup += sc.network.links[there].latency.sample(&mut s.handshake_rng);
                    setup += sc.network.links[back].latency.sample(&mut s.handshake_rng);
                }
                if mtls {
                    setup += security.handshake.sample(&mut s.handshake_rng);
                }
                match verdict {
                    Ok(mtls) => Conn::new(mtls, epochs),
                    Err(why) => {
                        let k = HandshakeFailure::ALL.iter().position(|&f| f == why).expect("a known failure");
                        s.report.handshake_failures[k] += 1;
                        let outcome = if why == HandshakeFailure::MtlsMismatch && !mtls {
                            Outcome::Dropped
                        } else {
                            Outcome::Rejected
                        };
                        return self.events.push(now + setup, Event::Respond(attempt, outcome));
                    }
                }
            }
        };
        conn.uses += 1;
        let slot = attempt.index as usize;
        if s.held.len() <= slot {
            s.held.resize(slot + 1, NOTHING);
        }
        s.held[slot] = Held { generation: attempt.generation, conn, proxy: p as u32, host: host as u32 };
        match self.transit(from, to) {
            Some((d, _)) if (d + setup).is_zero() => self.deliver(attempt),
            Some((d, constant)) if setup.is_zero() => self.push_after(d, constant, Event::Deliver(attempt)),
            Some((d, _)) => self.events.push(now + setup + d, Event::Deliver(attempt)),
            None => self.lose(attempt, from, to),
        }
    }

    /// The attempt's connection is free again: back to its pool after an answer
    /// (`keep`), closed after a reset, a loss or a timeout (Envoy resets the stream, which
    /// closes an HTTP/1.1 connection).
    #[cold]
    #[inline(never)]
    pub(super) fn release_conn(&mut self, attempt: Key, keep: bool) {
        let now = self.now;
        let security = self.sc.security.as_deref().expect("called only with security on");
        let s = self.security.as_deref_mut().expect("called only with security on");
        let Some(h) = s.held.get_mut(attempt.index as usize) else { return };
        if h.generation != attempt.generation {
            return;
        }
        let h = std::mem::replace(h, NOTHING);
        if keep {
            let pool = &mut s.pools[h.proxy as usize][h.host as usize];
            pool.put(h.conn, now, security.idle_timeout, security.max_requests_per_connection);
        }
    }

    /// The callee's sidecar evaluates the authorization policies for `attempt`; a denied
    /// request is answered 403 at once, over the network, without reaching a worker.
    /// Returns whether it was denied.
    #[cold]
    #[inline(never)]
    pub(super) fn deny(&mut self, attempt: Key, instance: InstanceId, endpoint: EndpointId) -> bool {
        let sc = self.sc;
        if self.discovery.lifecycle_on && !self.is_running(instance) {
            // A process that is not running refuses the connection (see `accept`).
            return false;
        }
        let security = sc.security.as_deref().expect("called only with security on");
        let service = sc.instances[instance.idx()].service;
        let a = self.live.attempts.get(attempt).expect("a delivered attempt is live");
        let site = self.proxies.proxy_site[a.proxy as usize].0 as usize;
        let s = self.security.as_deref_mut().expect("called only with security on");
        let mtls =
            s.held.get(attempt.index as usize).is_some_and(|h| h.generation == attempt.generation && h.conn.mtls);
        let (principal, namespace) = match (mtls, site) {
            (false, _) => (None, None),
            (true, GATEWAY_SITE) => (Some(security.gateway_principal.as_str()), Some(sec::GATEWAY_NAMESPACE)),
            (true, _) => {
                let caller = sc.instances[site - 1].service;
                (Some(security.principals[caller.idx()].as_str()), Some(sec::NAMESPACE))
            }
        };
        let req = RequestInfo {
            principal,
            namespace,
            path: &security.paths[endpoint.idx()],
            method: &security.methods[endpoint.idx()],
        };
        let faults = &s.fault_policies;
        let policies =
            security.policies.iter().chain(faults.iter().filter_map(|&f| match &sc.faults[f as usize].kind {
                FaultKind::AuthzPolicy(p) => Some(&**p),
                _ => None,
            }));
        let applicable = policies.filter(|p| p.applies_to(service));
        let Err(denial) = sec::authorize(applicable.clone(), &req) else { return false };
        let r = &mut s.report;
        match denial {
            sec::Denial::Deny(i) => {
                r.denied_by_deny[service.idx()] += 1;
                let name = &applicable.clone().nth(i).expect("the denying policy applies").name;
                match r.denied_by_policy.iter_mut().find(|(n, _)| n == name) {
                    Some((_, n)) => *n += 1,
                    None => r.denied_by_policy.push((name.clone(), 1)),
                }
            }
            sec::Denial::NoAllowMatch => r.denied_no_allow[service.idx()] += 1,
        }
        self.respond(attempt, Outcome::Error(403), sc.instances[instance.idx()].zone);
        true
    }
}
