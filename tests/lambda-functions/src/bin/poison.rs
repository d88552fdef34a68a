//! The `poison` test function: see the library docs.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    fanout_test_functions::run(fanout_test_functions::Behavior::Poison).await
}
