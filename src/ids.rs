//! The small integer ids every name in a scenario is resolved to.
//!
//! **Architecture invariant:** this module imports nothing from the crate. Everything
//! else may use the ids; hot paths index `Vec`s by them instead of hashing names.

macro_rules! id_type {
    ($($name:ident),*) => {$(
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u32);
        impl $name {
            #[inline]
            pub fn idx(self) -> usize { self.0 as usize }
        }
    )*};
}
id_type!(ServiceId, EndpointId, InstanceId, RouteId, ZoneId, LinkId);

/// Who makes a call: the gateway or an instance of a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Caller {
    Gateway,
    Service(ServiceId),
}

impl Caller {
    /// Dense index: 0 for the gateway, 1 + service id for services.
    #[inline]
    pub fn idx(self) -> usize {
        match self {
            Caller::Gateway => 0,
            Caller::Service(s) => 1 + s.idx(),
        }
    }
}
