use clap::Parser;

use keystone_web::cli::Cli;

mod allocator;

fn main() -> std::process::ExitCode {
    allocator::configure();
    let cli = Cli::parse();
    keystone_web::commands::run(cli)
}
