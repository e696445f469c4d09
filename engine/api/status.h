#pragma once
// Errors as values across module boundaries. A Status is either OK or one Kubernetes API failure:
// an HTTP code, a machine-readable reason ("NotFound", "Conflict", "Invalid", ...), a message a
// person can act on, and optional details. toJson() renders the meta/v1 Status object that kubectl
// and client libraries print.

#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace kd {

using json = nlohmann::json;

// One cause of an Invalid error: kubectl prints "<field>: <message>".
struct StatusCause {
  std::string reason;   // FieldValueInvalid, FieldValueRequired, FieldValueNotSupported, ...
  std::string message;  // e.g. "Invalid value: -1: must be greater than or equal to 0"
  std::string field;    // e.g. "spec.replicas"
};

class Status {
 public:
  Status() = default;  // OK

  static Status ok() { return {}; }
  static Status badRequest(std::string message);
  static Status unauthorized(std::string message);
  static Status forbidden(std::string message);
  static Status notFound(std::string message);
  static Status methodNotAllowed(std::string message);
  static Status notAcceptable(std::string message);
  static Status alreadyExists(std::string message);
  static Status conflict(std::string message);
  static Status gone(std::string message);  // reason "Expired": a watch/list revision was compacted
  static Status requestEntityTooLarge(std::string message);
  static Status unsupportedMediaType(std::string message);
  static Status invalid(std::string message, std::vector<StatusCause> causes = {});
  static Status tooManyRequests(std::string message);
  static Status internal(std::string message);
  static Status serviceUnavailable(std::string message);
  static Status timeout(std::string message);

  bool isOk() const { return code_ == 0; }
  explicit operator bool() const { return isOk(); }
  int code() const { return code_ == 0 ? 200 : code_; }
  const std::string& reason() const { return reason_; }
  const std::string& message() const { return message_; }
  const std::vector<StatusCause>& causes() const { return causes_; }

  // Details name the object the failure is about (meta/v1 StatusDetails).
  Status& withDetails(std::string name, std::string group, std::string kind);
  const std::string& detailName() const { return detailName_; }

  // The meta/v1 Status object; a success renders status "Success".
  json toJson() const;

 private:
  Status(int code, std::string reason, std::string message)
      : code_(code), reason_(std::move(reason)), message_(std::move(message)) {}

  int code_ = 0;
  std::string reason_;
  std::string message_;
  std::vector<StatusCause> causes_;
  std::string detailName_, detailGroup_, detailKind_;
};

// A value or the Status that explains why there is none.
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace kd
