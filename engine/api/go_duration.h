#pragma once
// Durations printed as Go's time.Duration.String() prints them, the form Kubernetes puts in
// event messages, metrics windows and kubectl's texts: "0s", "523ms", "1.5µs", "10.069s",
// "1m0.5s", "2h3m4s".

#include <chrono>
#include <string>

namespace kd::api {

std::string goDuration(std::chrono::nanoseconds d);

}  // namespace kd::api
