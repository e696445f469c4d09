#pragma once
// kdctl get --sort-by, ordered as kubectl orders: the field is a JSONPath expression, relaxed
// ("{.metadata.name}", ".metadata.name" and "metadata.name" are the same); the first value it
// selects in each object is compared: numbers as numbers, two strings that both parse as
// resource quantities as quantities ("500m" < "1" < "2Gi"), other strings bytewise ("a-10" <
// "a-9", as kubectl 1.31+ orders them; 1.27-1.30 used a natural order). Objects without the
// field come first, in the server's order (kubectl's unstable sort scrambles them); the sort
// is stable, so equal keys keep the server's order too. One deliberate difference: a table
// in which no object has the field is an error here, as it is for kubectl's other outputs
// (kubectl 1.32 prints no rows and exits 0).

#include <string>
#include <string_view>

#include "engine/api/status.h"

namespace kd::cli {

// "{.a.b}" for "{.a.b}", ".a.b" or "a.b"; 400 for an empty field.
Result<std::string> relaxedSortField(std::string_view flag);

// Sorts the objects of `list` (a JSON array): each element itself, or with `inTableRows` a
// meta/v1 Table's rows by their "object" (requested with includeObject=Object). 400 when no
// object has the field ("couldn't find any field with path ... in the list of objects", as
// kubectl says) or when a value cannot be ordered (an object or a list).
Status sortByField(json& list, const std::string& field, bool inTableRows);

}  // namespace kd::cli
