use clap::Parser;

use keystone_web::cli::Cli;

// Under load, glibc's allocator took about a third of the server's CPU time on list pages,
// merging freed chunks as large response buffers grew. With mimalloc a page of 100 requests
// costs half the CPU time; docs/benchmarks.md has the profiles and numbers.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    keystone_web::commands::run(cli)
}
