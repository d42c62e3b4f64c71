//! The scenario loader never panics: any bytes give an error or a valid model, and a
//! valid model runs (briefly) to an end that accounts for every request.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(sc) = meshsim::load_str(text, "fuzz.json") {
        // Keep each input cheap: a few hundred requests at most.
        let opts = meshsim::RunOptions { requests: Some(200), ..meshsim::RunOptions::default() };
        if let Ok(r) = meshsim::run(&sc, &opts, meshsim::Hooks::default()) {
            assert!(r.total.counts.total() + r.in_flight_measured == r.requests_measured);
        }
    }
});
