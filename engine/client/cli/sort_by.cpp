#include "engine/client/cli/sort_by.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "engine/api/quantity.h"
#include "engine/client/cli/jsonpath.h"

namespace kd::cli {

namespace {

// A key: absent, or the first value the field selects.
using Key = std::optional<json>;

// -1, 0, 1 as a is before, level with or after b.
Result<int> compareValues(const json& a, const json& b, const std::string& field) {
  if (a.is_number() && b.is_number()) {
    const double x = a.get<double>(), y = b.get<double>();
    return x < y ? -1 : (y < x ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    const std::string& x = a.get_ref<const std::string&>();
    const std::string& y = b.get_ref<const std::string&>();
    auto qx = api::Quantity::parse(x), qy = api::Quantity::parse(y);
    if (qx.ok() && qy.ok()) {
      const long double vx = qx->approximate(), vy = qy->approximate();
      return vx < vy ? -1 : (vy < vx ? 1 : 0);
    }
    return x.compare(y) < 0 ? -1 : (x == y ? 0 : 1);
  }
  if (a.is_boolean() && b.is_boolean()) return int(a.get<bool>()) - int(b.get<bool>());
  if (a.is_null() && b.is_null()) return 0;
  return Status::badRequest("field " + field + " is an unsortable type: " +
                            std::string(a.type_name()) + " and " + std::string(b.type_name()));
}

}  // namespace

Result<std::string> relaxedSortField(std::string_view flag) {
  std::string field(flag);
  if (field.size() >= 2 && field.front() == '{' && field.back() == '}') {
    field = field.substr(1, field.size() - 2);
  }
  if (field.starts_with(".")) field.erase(0, 1);
  if (field.empty()) return Status::badRequest("--sort-by needs a field, e.g. .metadata.name");
  return "{." + field + "}";
}

Status sortByField(json& list, const std::string& field, bool inTableRows) {
  if (!list.is_array() || list.empty()) return {};
  const std::string expression = field.substr(1, field.size() - 2);  // without the braces
  if (auto syntax = jsonPathValues(expression, json::object()); !syntax.ok()) {
    return syntax.status();
  }
  std::vector<std::pair<Key, json>> keyed;
  bool found = false;
  for (json& element : list) {
    const json& object = inTableRows ? element.value("object", json::object()) : element;
    auto values = jsonPathValues(expression, object);
    if (!values.ok()) return values.status();
    Key key;
    if (!values->empty()) key = std::move(values->front());
    found |= key.has_value();
    keyed.emplace_back(std::move(key), std::move(element));
  }
  if (!found) {
    return Status::badRequest("couldn't find any field with path \"" + field +
                              "\" in the list of objects");
  }
  Status failed;
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
    if (!x.first || !y.first) return !x.first && y.first;  // absent first
    auto order = compareValues(*x.first, *y.first, field);
    if (!order.ok()) {
      failed = order.status();
      return false;
    }
    return *order < 0;
  });
  if (!failed.isOk()) return failed;
  json sorted = json::array();
  for (auto& [key, element] : keyed) sorted.push_back(std::move(element));
  list = std::move(sorted);
  return {};
}

}  // namespace kd::cli
