//! fanout's AWS Lambda target: ESM-compatible Kafka events, sync and async invocation.
