//! The `telemetry-alerts` demo function (`scripts/demo.sh`), behind the `telemetry-alerts`
//! route (`routes/iot-telemetry.yaml`: `format: record`, `invocation: async`, so each call
//! carries one record view `{"topic","partition","offset","key","headers","value",...}`).
//!
//! It prints one alert line per reading: why the reading matched (overheating on a factory
//! network, low battery, strong vibration).

use fanout_test_functions::{demo_records, function_error, is_esm_event, run_demo};
use lambda_runtime::Diagnostic;
use serde_json::{Value, json};

fn handle(call: u64, payload: Value) -> Result<Value, Diagnostic> {
    if is_esm_event(&payload) {
        return Err(function_error(
            "UnexpectedEvent",
            "telemetry-alerts expects fanout's record view (format: record), not an ESM event",
        ));
    }
    let mut alerts = Vec::new();
    for r in demo_records(&payload)? {
        let v = &r.value;
        let device = v["device_id"].as_str().unwrap_or("?");
        let ip = v["source_ip"].as_str().unwrap_or("?");
        let mut reasons = Vec::new();
        if let Some(t) = v["temperature_c"].as_f64().filter(|t| *t >= 85.0) {
            reasons.push(format!("overheating {t:.1}°C"));
        }
        if let Some(b) = v["battery"]["level"].as_f64().filter(|b| *b < 10.0) {
            reasons.push(format!("battery {b:.0}%"));
        }
        for reading in v["readings"].as_array().into_iter().flatten() {
            if reading["kind"] == "vibration" && reading["rms"].as_f64().unwrap_or(0.0) > 4.5 {
                reasons.push(format!(
                    "vibration rms {:.2}",
                    reading["rms"].as_f64().unwrap_or(0.0)
                ));
            }
        }
        let reasons = if reasons.is_empty() {
            "matched".to_owned()
        } else {
            reasons.join(", ")
        };
        println!(
            "telemetry-alerts call {call}: ALERT {device} ({ip}) {reasons} [{}-{}@{}]",
            r.topic, r.partition, r.offset
        );
        alerts.push(json!({"device": device, "reasons": reasons}));
    }
    Ok(json!({ "alerts": alerts }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    run_demo(handle).await
}
