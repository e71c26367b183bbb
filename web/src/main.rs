use clap::Parser;

use keystone_web::cli::Cli;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    keystone_web::commands::run(cli)
}
