#pragma once
// Kubernetes resource quantities ("100m", "64Mi", "1.5", "2e3") as numbers, so that a request
// above its limit is refused when rendering rather than by the API server after `kubectl apply`.

#include <optional>
#include <string_view>

namespace shfn::k8s {

// The quantity's value in base units (cores, bytes); nullopt when it is not a quantity.
std::optional<long double> quantity_value(std::string_view q);

}  // namespace shfn::k8s
