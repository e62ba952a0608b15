//! `cronport check`: the config is already checked by loading it; here every
//! source and destination is contacted.

use super::{Context, Failure};

pub(super) async fn run(ctx: &Context) -> Result<(), Failure> {
    let config = &ctx.config;
    match &config.path {
        Some(path) => println!(
            "ok   config {} ({} job(s))",
            path.display(),
            config.jobs.len()
        ),
        None => println!("ok   no config file; using built-in defaults"),
    }
    let mut failures = 0;
    match ctx.store().await {
        Ok(store) => println!("ok   store {}", store.display_url()),
        Err(e) => {
            failures += 1;
            println!("FAIL store: {e}");
        }
    }
    let pipeline = ctx.pipeline();
    for name in config.sources.keys() {
        match pipeline.connections().check(name).await {
            Ok(()) => println!("ok   source {name}"),
            Err(e) => {
                failures += 1;
                println!("FAIL source {name}: {e}");
            }
        }
    }
    pipeline.connections().close().await;
    let mut destinations: Vec<_> = pipeline.destinations().iter().collect();
    destinations.sort_by(|a, b| a.0.cmp(b.0));
    for (name, destination) in destinations {
        match destination.check().await {
            Ok(detail) => println!("ok   destination {name}: {detail}"),
            Err(e) => {
                failures += 1;
                println!("FAIL destination {name}: {e}");
            }
        }
    }
    if failures > 0 {
        return Err(Failure::Failed(format!("{failures} check(s) failed")));
    }
    Ok(())
}
