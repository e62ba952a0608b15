use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = cronport::cli::Cli::parse();
    cronport::logging::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cronport: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(cronport::cmd::dispatch(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("cronport: {failure}");
            failure.exit_code()
        }
    }
}
