#include "engine/api/status.h"

namespace kd {

Status Status::badRequest(std::string m) {
  return {400, "BadRequest", std::move(m)};
}
Status Status::unauthorized(std::string m) {
  return {401, "Unauthorized", std::move(m)};
}
Status Status::forbidden(std::string m) {
  return {403, "Forbidden", std::move(m)};
}
Status Status::notFound(std::string m) {
  return {404, "NotFound", std::move(m)};
}
Status Status::methodNotAllowed(std::string m) {
  return {405, "MethodNotAllowed", std::move(m)};
}
Status Status::notAcceptable(std::string m) {
  return {406, "NotAcceptable", std::move(m)};
}
Status Status::alreadyExists(std::string m) {
  return {409, "AlreadyExists", std::move(m)};
}
Status Status::conflict(std::string m) {
  return {409, "Conflict", std::move(m)};
}
Status Status::gone(std::string m) {
  return {410, "Expired", std::move(m)};
}
Status Status::requestEntityTooLarge(std::string m) {
  return {413, "RequestEntityTooLarge", std::move(m)};
}
Status Status::unsupportedMediaType(std::string m) {
  return {415, "UnsupportedMediaType", std::move(m)};
}
Status Status::invalid(std::string m, std::vector<StatusCause> causes) {
  Status s{422, "Invalid", std::move(m)};
  s.causes_ = std::move(causes);
  return s;
}
Status Status::tooManyRequests(std::string m) {
  return {429, "TooManyRequests", std::move(m)};
}
Status Status::internal(std::string m) {
  return {500, "InternalError", std::move(m)};
}
Status Status::serviceUnavailable(std::string m) {
  return {503, "ServiceUnavailable", std::move(m)};
}
Status Status::timeout(std::string m) {
  return {504, "Timeout", std::move(m)};
}

Status& Status::withDetails(std::string name, std::string group, std::string kind) {
  detailName_ = std::move(name);
  detailGroup_ = std::move(group);
  detailKind_ = std::move(kind);
  return *this;
}

json Status::toJson() const {
  json j = {{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", json::object()}};
  if (isOk()) {
    j["status"] = "Success";
    j["code"] = 200;
    return j;
  }
  j["status"] = "Failure";
  j["message"] = message_;
  j["reason"] = reason_;
  json details = json::object();
  if (!detailName_.empty()) details["name"] = detailName_;
  if (!detailGroup_.empty()) details["group"] = detailGroup_;
  if (!detailKind_.empty()) details["kind"] = detailKind_;
  if (!causes_.empty()) {
    json causes = json::array();
    for (const auto& c : causes_) {
      json cj = {{"reason", c.reason}, {"message", c.message}};
      if (!c.field.empty()) cj["field"] = c.field;
      causes.push_back(std::move(cj));
    }
    details["causes"] = std::move(causes);
  }
  if (!details.empty()) j["details"] = std::move(details);
  j["code"] = code_;
  return j;
}

}  // namespace kd
